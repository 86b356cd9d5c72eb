//! The Yew page: a reducer at the root holding the [`ViewState`], callbacks down, and components that
//! only draw what `arcs-core` or the model worker computed. Nothing here does attention math.

mod arcs;
mod compare;
mod controls;
mod explain;
mod exports;
mod head_roles;
mod heatmap;
mod hooks;
mod lesson;
mod logit_lens;
mod model;
mod neuron;
mod open_model;
mod perf;
mod shared;
mod steps;
mod token;
mod view_options;
mod worker_bridge;

pub use shared::Shared;

use crate::model_state::Status;
use crate::models::{self as real, ModelKind, ModelRun};
use crate::state::{Action, ViewState};
use crate::text;
use crate::url;
use crate::web::dom;
use crate::web::model_worker::ModelWorker;
use arcs_core::attention::Attention;
use std::rc::Rc;
use yew::prelude::*;
use yew_agent::reactor::ReactorProvider;

/// Yew's side of the pure reducer.
#[derive(Clone, PartialEq)]
struct View(ViewState);

impl Reducible for View {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let next = self.0.apply(action);
        if next == self.0 {
            self
        } else {
            Rc::new(View(next))
        }
    }
}

/// The app: the model worker's provider around the page. The worker (and with it the model code) is
/// started only when a real model is first asked for, so the toy modes never wait for it.
#[component]
pub fn App() -> Html {
    // Restarting the model worker remounts the provider (a new worker) and the page under it, which
    // restores the view from the link it just wrote.
    let epoch = use_state(|| 0u32);
    let onrestart = {
        let epoch = epoch.clone();
        Callback::from(move |_| epoch.set(*epoch + 1))
    };
    let path = use_memo((), |_| {
        let simd = dom::wasm_simd_supported();
        perf::set_worker_build(simd);
        if simd {
            "worker-simd.js"
        } else {
            "worker.js"
        }
    });
    html! {
        <ReactorProvider<ModelWorker> key={*epoch} path={*path}>
            <Main {onrestart} />
        </ReactorProvider<ModelWorker>>
    }
}

#[derive(Properties, PartialEq)]
struct MainProps {
    onrestart: Callback<()>,
}

#[component]
fn Main(props: &MainProps) -> Html {
    let (initial, initial_notes) = use_memo((), |_| url::decode(&dom::location_hash())).as_ref().clone();
    let state = use_reducer(move || View(initial));
    let notices = use_state(move || initial_notes);
    // One callback for the app's lifetime: components compare it in their props, so a new closure on
    // every render would re-render them all.
    let dispatch: Callback<Action> = {
        let d = state.dispatcher();
        (*use_memo((), move |_| Callback::from(move |a: Action| d.dispatch(a)))).clone()
    };
    let v = &state.0;

    let (dark, toggle_theme) = hooks::use_theme();
    use_effect_with((), |_| dom::register_service_worker());
    hooks::use_link_follows(v);
    hooks::use_hash_changes(dispatch.clone(), notices.clone());
    hooks::use_escape_unpins(dispatch.clone());

    let settled = hooks::use_settled_request(v.request());
    let result = use_memo(settled.clone(), perf::compute);

    // Real models: the worker answers for the model, the settled sentence and the layer.
    let text = match &settled.source {
        arcs_core::Source::Sentence(t) => t.clone(),
        arcs_core::Source::Book => arcs_core::book::SENTENCE.to_string(),
    };
    let compare_text = hooks::use_settled_text(v.engine.compare.clone());
    let wants = worker_bridge::Wants {
        roles: v.display.roles.is_some(),
        value_norms: v.display.weighting == crate::state::Weighting::ValueNorm,
        lens: v.display.lens.is_some(),
        compare: compare_text.clone().filter(|t| !t.trim().is_empty()),
    };
    let (models_handle, on_retry, open_files, on_cancel_open) =
        worker_bridge::use_model_worker(v.model.kind, text, v.model.layer, wants);
    let on_continue = {
        let (d, m) = (dispatch.clone(), models_handle.clone());
        Callback::from(move |_| {
            m.dispatch(crate::model_state::ModelMsg::FileDismissed);
            d.emit(Action::SetModel(None));
        })
    };
    let models = &models_handle.0;
    // A link made with an opened model asks for that file, unless it is the one last opened in this
    // tab; otherwise any model may be opened.
    let on_open = {
        let wanted = models.link_wants(v.model.file.as_ref()).cloned();
        Callback::from(move |files: Vec<web_sys::File>| open_files.emit((files, wanted.clone())))
    };
    let dragging = hooks::use_file_drop(on_open.clone());
    {
        let d = dispatch.clone();
        let identity = models.opened.as_ref().map(|o| o.identity.clone());
        use_effect_with(identity, move |id| {
            if let Some(id) = id {
                d.emit(Action::ModelOpened(id.clone()));
            }
        });
    }
    perf::use_model_figures(models);
    let on_restart = {
        let v = v.clone();
        let restart = props.onrestart.clone();
        Callback::from(move |_| {
            let _ = dom::replace_hash(&url::encode(&v));
            restart.emit(());
        })
    };
    let model_run: Option<Rc<ModelRun>> = match (v.model.kind, &models.run) {
        (Some(m), Some(run)) if run.model == m => Some(run.clone()),
        _ => None,
    };
    // The compared sentence's pass, once it is the one in the box.
    let compare_run: Option<Rc<ModelRun>> = match (&model_run, &models.compare, &compare_text) {
        (Some(a), Some(b), Some(t)) if b.model == a.model && b.text == *t => Some(b.clone()),
        _ => None,
    };
    let model_view = {
        let key =
            (model_run.clone().map(Shared), v.engine.mode, v.model.head, v.model.hide_special, v.display.weighting);
        use_memo(key, |(run, mode, head, hide, weighting)| {
            run.as_ref().map(|r| Rc::new(real::to_attention(r, *mode, *head, *hide, *weighting)))
        })
    };

    let svg_ref = use_node_ref();
    let term = use_state(|| None::<usize>);
    let on_term = {
        let term = term.clone();
        Callback::from(move |t: Option<usize>| term.set(t))
    };

    // Keep the last good result on screen while an error is shown, so a typo never blanks the page.
    let last_good = use_mut_ref(|| None::<Rc<Attention>>);
    let (attention, error) = if v.model.kind.is_some() {
        ((*model_view).clone(), None)
    } else {
        match result.as_ref() {
            Ok(a) => {
                *last_good.borrow_mut() = Some(a.clone());
                (Some(a.clone()), None)
            }
            Err(e) => (last_good.borrow().clone(), Some(e.to_string())),
        }
    };
    perf::use_first_arcs(attention.is_some());

    let dismiss = {
        let notices = notices.clone();
        Callback::from(move |_: MouseEvent| notices.set(Vec::new()))
    };
    let open_lesson = {
        let d = dispatch.clone();
        Callback::from(move |_: MouseEvent| d.emit(Action::OpenLesson(0)))
    };
    // A real model's tokens are counted by its worker: unknown until its first pass of this sentence.
    let n_tokens = match &attention {
        Some(a) => Some(a.num_tokens()),
        None if v.model.kind.is_some() => None,
        None => Some(0),
    };
    let max_tokens = v
        .model
        .kind
        .map_or(Some(arcs_core::request::MAX_TOKENS), |k| real::model_max_tokens(k, models.opened.as_deref()));
    let max_tokens = max_tokens.unwrap_or(real::MAX_DECODER_TOKENS);
    // Lesson steps with a widget of their own (the RNN, cross-attention) show only the lesson.
    let lesson_widget_only = v.lesson.is_some_and(|n| {
        !matches!(crate::lesson::STEPS.get(n).map(|s| s.widget), Some(crate::lesson::Widget::View(_)))
    });
    let status = v.model.kind.and_then(|m| models.status.get(&m).cloned()).unwrap_or(Status::Idle);
    let run_error = if v.model.kind.is_some() { models.run_error.clone() } else { None };
    let stalled = v.model.kind.is_some() && models.stalled;
    let model_loaded = matches!(status, Status::Ready { .. });
    html! {
        <div class="app">
            <header class="top">
                <h1>{ text::TITLE }</h1>
                <p class="tagline">{ text::TAGLINE }</p>
                if v.lesson.is_none() {
                    <button class="lesson-open" data-testid="lesson-open" onclick={open_lesson}>{ text::OPEN_LESSON }</button>
                }
                <button class="theme" onclick={toggle_theme} aria-label={text::THEME_LABEL}>{ text::theme_button(dark) }</button>
            </header>
            if !notices.is_empty() {
                <div class="notice" role="status" data-testid="link-notice">
                    <ul>{ for notices.iter().map(|n| html! { <li>{ n.clone() }</li> }) }</ul>
                    <button onclick={dismiss} aria-label={text::DISMISS}>{ "×" }</button>
                </div>
            }
            if let Some(step) = v.lesson {
                <lesson::LessonPanel step={step} view={v.clone()} {dark} attention={attention.clone().map(Shared)} ondispatch={dispatch.clone()} />
            }
            if lesson_widget_only { <></> } else {
            <controls::Controls view={v.without_focus()} ondispatch={dispatch.clone()} tokens={n_tokens} {max_tokens} />
            <model::ModelBar view={v.without_focus()} {status} {run_error} forward_ms={models.forward_ms()} shape={models.run.as_ref().map(|r| r.shape)} {stalled}
                             working={models.working.filter(|_| v.model.kind.is_some())}
                             ondispatch={dispatch.clone()} onretry={on_retry} onrestart={on_restart}
                             opened={models.opened.clone()} onopen={on_open.clone()} oncontinue={on_continue} oncancel={on_cancel_open}
                             file_status={models.status.get(&ModelKind::File).cloned().unwrap_or(Status::Idle)} />
            if dragging {
                <div class="drop-hint" data-testid="drop-hint" aria-hidden="true">{ text::DROP_HERE }</div>
            }
            if let Some(e) = &error {
                <div class="error" role="alert" data-testid="error">{ e.clone() }
                    if attention.is_some() { <span class="stale">{ text::SHOWING_LAST_GOOD }</span> }
                </div>
            }
            <main class="stage">
                <explain::Explain view={v.without_focus()} />
                <div class="main-col">
                if let Some(a) = &attention {
                    <arcs::Visual attention={Shared(a.clone())} view={v.clone()} dark={dark} ondispatch={dispatch.clone()} svg_ref={svg_ref.clone()} term={*term} />
                    if let (Some(run), Some(_)) = (&model_run, &v.engine.compare) {
                        <compare::Compare run={Shared(run.clone())} other={compare_run.clone().map(Shared)} error={models.compare_error.clone()}
                                          view={v.clone()} dark={dark} ondispatch={dispatch.clone()} />
                    }
                    <neuron::Neuron attention={Shared(a.clone())} run={model_run.clone().map(Shared)} view={v.clone()} dark={dark} ondispatch={dispatch.clone()} />
                    if let Some(run) = &model_run {
                        <model::ModelPanels run={Shared(run.clone())} view={v.clone()} dark={dark} ondispatch={dispatch.clone()} />
                    }
                    <steps::Steps attention={Shared(a.clone())} view={v.clone()} ondispatch={dispatch.clone()} onterm={on_term.clone()} />
                } else if v.model.kind.is_some() {
                    <p class="hint model-wait" data-testid="model-wait">{ text::model_wait(model_loaded) }</p>
                }
                </div>
            </main>
            <exports::ShareBar view={v.clone()} attention={attention.clone().map(Shared)} model_run={model_run.clone().map(Shared)}
                               compare_run={compare_run.clone().map(Shared)} svg_ref={svg_ref.clone()} />
            }
        </div>
    }
}
