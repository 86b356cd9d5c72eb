//! The Yew shell: a reducer at the root holding the [`ViewState`], callbacks down, and components that
//! only draw what `arcs-core` computed. Nothing here does attention math.

mod arcs;
mod controls;
pub mod dom;
mod heatmap;
mod lesson;
mod model;
mod steps;

use crate::web::model_worker::ModelWorker;
use crate::models::{self as real, ModelKind, ModelRun};
use crate::protocol::{WorkerIn, WorkerOut};
use crate::state::{Action, HeadView, ViewState};
use crate::text;
use crate::url;
use arcs_core::attention::{Attention, Mode};
use arcs_core::tensor::Mat;
use arcs_core::{Report, RequestError};
use gloo_timers::callback::Timeout;
use model::Status;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;
use yew_agent::reactor::{use_reactor_bridge, ReactorEvent, ReactorProvider};

/// Shared, cheaply compared data for props: equality is identity, so a component re-renders only when
/// the data was recomputed, never because comparing two big matrices was needed.
pub struct Shared<T>(pub Rc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The reducer's state: the view, plus what is not part of a link.
#[derive(Clone, PartialEq)]
pub struct AppState {
    pub view: ViewState,
}

impl Reducible for AppState {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let next = self.view.apply(action);
        if next == self.view {
            self
        } else {
            Rc::new(AppState { view: next })
        }
    }
}

/// The matrices the arc view and heatmap draw: one per visible head, or their mean or max.
pub fn drawn_weights(a: &Attention, v: &ViewState) -> Vec<(Option<usize>, Rc<Mat>)> {
    if a.mode != Mode::MultiHead {
        return vec![(None, Rc::new(a.heads[0].attn_weights.clone()))];
    }
    let visible: Vec<usize> = (0..a.heads.len()).filter(|&h| v.head_visible(h)).collect();
    match v.head_view {
        HeadView::All => visible.iter().map(|&h| (Some(h), Rc::new(a.heads[h].attn_weights.clone()))).collect(),
        HeadView::Mean | HeadView::Max if !visible.is_empty() => {
            let n = a.num_tokens();
            let mut acc = Mat::zeros(n, n);
            for &h in &visible {
                let w = &a.heads[h].attn_weights;
                if v.head_view == HeadView::Mean {
                    acc += w;
                } else {
                    acc.zip_apply(w, |x, y| *x = x.max(y));
                }
            }
            if v.head_view == HeadView::Mean {
                acc /= visible.len() as f32;
            }
            vec![(None, Rc::new(acc))]
        }
        _ => Vec::new(),
    }
}

/// The real models' side of the page: load status per model and the newest forward pass.
#[derive(Clone, PartialEq, Default)]
pub struct ModelState {
    pub status: HashMap<ModelKind, Status>,
    pub run: Option<Rc<ModelRun>>,
    pub run_error: Option<String>,
    pub forward_ms: Option<f64>,
    /// The id of the newest request; answers to older ones are dropped (no stale result is drawn).
    pub latest: u64,
    /// A request is waiting for the worker, which was last heard from at `last_heard` (ms).
    pub pending: bool,
    pub last_heard: f64,
    /// When the newest request was sent (ms).
    pub sent_at: f64,
    /// The worker has said nothing for [`STALL_MS`] while a request waits: it may have crashed.
    pub stalled: bool,
}

/// Silence from the worker, while it owes an answer, after which the page offers to restart it.
/// Progress arrives at least every megabyte while loading, so only a stuck or crashed worker (or a
/// forward pass far longer than any here) stays silent this long.
pub const STALL_MS: f64 = 20_000.0;

pub enum ModelMsg {
    Sent(u64, ModelKind),
    Out(WorkerOut),
    /// The watchdog's clock.
    Tick(f64),
}

impl Reducible for ModelState {
    type Action = ModelMsg;
    fn reduce(self: Rc<Self>, msg: ModelMsg) -> Rc<Self> {
        if let ModelMsg::Tick(now) = msg {
            if self.pending && !self.stalled && now - self.last_heard > STALL_MS {
                let mut s = (*self).clone();
                s.stalled = true;
                return Rc::new(s);
            }
            return self;
        }
        let mut s = (*self).clone();
        s.last_heard = dom::now_ms();
        s.stalled = false;
        match msg {
            ModelMsg::Tick(_) => {}
            ModelMsg::Sent(id, kind) => {
                s.pending = true;
                s.latest = id;
                s.sent_at = s.last_heard;
                if matches!(s.status.get(&kind), None | Some(Status::Idle) | Some(Status::Failed(_))) {
                    s.status.insert(kind, Status::Loading { stage: "starting".into(), loaded: 0, total: 0 });
                }
            }
            ModelMsg::Out(WorkerOut::Progress { model, stage, loaded, total }) => {
                s.status.insert(model, Status::Loading { stage, loaded, total });
            }
            ModelMsg::Out(WorkerOut::Ready { model, load_ms, bytes, from_cache }) => {
                s.status.insert(model, Status::Ready { load_ms, bytes, from_cache });
                PERF.with(|p| {
                    let mut p = p.borrow_mut();
                    p.model_ready_ms.insert(model.as_str().to_string(), load_ms);
                    p.model_from_cache.insert(model.as_str().to_string(), from_cache);
                    p.model_bytes.insert(model.as_str().to_string(), bytes);
                    dom::publish_perf(&*p);
                });
            }
            ModelMsg::Out(WorkerOut::LoadFailed { model, message }) => {
                s.pending = false;
                s.status.insert(model, Status::Failed(message));
            }
            ModelMsg::Out(WorkerOut::Done { id, run, forward_ms, wasm_memory_bytes, helped }) => {
                if id != s.latest {
                    return Rc::new(s);
                }
                s.pending = false;
                PERF.with(|p| {
                    let mut p = p.borrow_mut();
                    p.last_forward_ms = forward_ms;
                    p.last_forward_helped = helped;
                    p.last_roundtrip_ms = s.last_heard - s.sent_at;
                    p.last_forward_tokens = run.num_tokens();
                    p.forwards += 1;
                    p.worker_wasm_memory_bytes = p.worker_wasm_memory_bytes.max(wasm_memory_bytes);
                    dom::publish_perf(&*p);
                });
                s.run = Some(Rc::new(*run));
                s.run_error = None;
                s.forward_ms = Some(forward_ms);
            }
            ModelMsg::Out(WorkerOut::Failed { id, message }) => {
                if id != s.latest {
                    return Rc::new(s);
                }
                s.pending = false;
                s.run_error = Some(message);
            }
        }
        Rc::new(s)
    }
}

/// What the browser benchmark reads from `window.__arcsPerf`.
#[derive(Serialize, Default, Clone)]
struct Perf {
    /// performance.now() when the first arcs were in the DOM.
    first_arcs_ms: Option<f64>,
    /// Engine time of the last recompute and its token count.
    last_compute_ms: f64,
    last_tokens: usize,
    computes: u32,
    /// Real models: time from request to ready, whether it came from the cache, and the last forward.
    model_ready_ms: HashMap<String, f64>,
    model_from_cache: HashMap<String, bool>,
    /// Size of each model as published (what a cold load downloads).
    model_bytes: HashMap<String, u64>,
    last_forward_ms: f64,
    last_forward_tokens: usize,
    /// Whether the helper worker took half of the tokens of the last forward pass.
    last_forward_helped: bool,
    forwards: u32,
    /// Request to result in the page (the worker's forward pass plus handing the result over).
    last_roundtrip_ms: f64,
    /// Which model worker build runs: "simd" or "plain" (see [`dom::wasm_simd_supported`]).
    worker_build: &'static str,
    /// Peak WebAssembly memory of the model worker (it never shrinks).
    worker_wasm_memory_bytes: u64,
    /// The page's own WebAssembly memory after the last recompute.
    app_wasm_memory_bytes: u64,
}

thread_local! {
    static PERF: RefCell<Perf> = RefCell::new(Perf::default());
}

fn compute(req: &arcs_core::Request) -> Result<Rc<Attention>, RequestError> {
    let t0 = dom::now_ms();
    let r = req.run().map(Rc::new);
    let dt = dom::now_ms() - t0;
    PERF.with(|p| {
        let mut p = p.borrow_mut();
        p.last_compute_ms = dt;
        p.last_tokens = r.as_ref().map_or(0, |a| a.num_tokens());
        p.app_wasm_memory_bytes = dom::wasm_memory_bytes();
        p.computes += 1;
        dom::publish_perf(&*p);
    });
    r
}

/// Debounce for recomputing while typing: long enough to skip the middle of a word, short enough to
/// feel live.
const TYPING_DEBOUNCE_MS: u32 = 120;
const URL_DEBOUNCE_MS: u32 = 250;

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
        PERF.with(|p| p.borrow_mut().worker_build = if simd { "simd" } else { "plain" });
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

/// Logical cores below which the model worker does not start a helper: with two, the page's own
/// rendering competes with the two workers for the cores, and a pass measured slower with the
/// helper than without (README, "Measured").
const HELPER_MIN_CORES: f64 = 4.0;

/// The worker script the model worker may start a helper from (the build the page chose), as an
/// absolute URL; `None` on machines with few cores, or if the page was told to do without
/// (`window.__arcsNoHelper`, for measuring one worker alone).
fn helper_script_url() -> Option<String> {
    let window = web_sys::window()?;
    let off = js_sys::Reflect::get(&window, &"__arcsNoHelper".into()).is_ok_and(|v| v.is_truthy());
    if off || window.navigator().hardware_concurrency() < HELPER_MIN_CORES {
        return None;
    }
    let script = PERF.with(|p| if p.borrow().worker_build == "plain" { "worker.js" } else { "worker-simd.js" });
    web_sys::Url::new_with_base(script, &dom::href()).ok().map(|u| u.href())
}

fn models_base_url() -> String {
    let href = dom::href();
    web_sys::Url::new_with_base("models/", &href).map(|u| u.href()).unwrap_or_else(|_| "models/".to_string())
}

#[component]
fn Main(props: &MainProps) -> Html {
    let (initial, initial_notes) = use_memo((), |_| url::decode(&dom::location_hash())).as_ref().clone();
    let state = use_reducer(move || AppState { view: initial });
    let notices = use_state(move || initial_notes);
    // One callback for the app's lifetime: components compare it in their props, so a new closure on
    // every render would re-render them all.
    let dispatch: Callback<Action> = {
        let d = state.dispatcher();
        (*use_memo((), move |_| Callback::from(move |a: Action| d.dispatch(a)))).clone()
    };
    let v = &state.view;

    // Theme: the user's choice (kept in localStorage, not in links), else the system's.
    let theme_choice = use_state(dom::stored_theme);
    let dark = match theme_choice.as_deref() {
        Some("dark") => true,
        Some("light") => false,
        _ => dom::prefers_dark(),
    };
    use_effect_with(dark, |&dark| dom::set_root_theme(dark));
    let toggle_theme = {
        let theme_choice = theme_choice.clone();
        Callback::from(move |_: MouseEvent| {
            let next = if dark { "light" } else { "dark" };
            dom::store_theme(Some(next));
            theme_choice.set(Some(next.to_string()));
        })
    };

    use_effect_with((), |_| dom::register_service_worker());
    // The share link follows the view.
    // Written a moment after the last change: browsers throttle history updates, and hovering across a
    // sentence changes the view many times a second.
    let hash_timer = use_mut_ref(|| None::<Timeout>);
    use_effect_with(v.clone(), move |v| {
        let fragment = url::encode(v);
        *hash_timer.borrow_mut() = Some(Timeout::new(URL_DEBOUNCE_MS, move || {
            let _ = dom::replace_hash(&fragment);
        }));
    });
    // A link pasted into the address bar of an open page.
    {
        let dispatch = dispatch.clone();
        let notices = notices.clone();
        use_effect_with((), move |_| {
            let cb = Closure::<dyn Fn()>::new(move || {
                let (s, notes) = url::decode(&dom::location_hash());
                notices.set(notes);
                dispatch.emit(Action::Replace(Box::new(s)));
            });
            let win = web_sys::window();
            if let Some(w) = &win {
                let _ = w.add_event_listener_with_callback("hashchange", cb.as_ref().unchecked_ref());
            }
            move || {
                if let Some(w) = win {
                    let _ = w.remove_event_listener_with_callback("hashchange", cb.as_ref().unchecked_ref());
                }
            }
        });
    }
    // Esc unpins wherever the keyboard focus is.
    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            let cb = Closure::<dyn Fn(web_sys::KeyboardEvent)>::new(move |e: web_sys::KeyboardEvent| {
                if e.key() == "Escape" {
                    dispatch.emit(Action::Unpin);
                }
            });
            let doc = web_sys::window().and_then(|w| w.document());
            if let Some(d) = &doc {
                let _ = d.add_event_listener_with_callback("keydown", cb.as_ref().unchecked_ref());
            }
            move || {
                if let Some(d) = doc {
                    let _ = d.remove_event_listener_with_callback("keydown", cb.as_ref().unchecked_ref());
                }
            }
        });
    }

    // Recompute: at once for option changes, debounced while typing.
    let request = v.request();
    let settled = use_state(|| request.clone());
    let timer = use_mut_ref(|| None::<Timeout>);
    {
        let settled = settled.clone();
        let timer = timer.clone();
        use_effect_with(request.clone(), move |req| {
            let only_text = std::mem::discriminant(&req.source) == std::mem::discriminant(&settled.source)
                && req.source != settled.source
                && arcs_core::Request { source: settled.source.clone(), ..req.clone() } == *settled;
            if only_text {
                let req = req.clone();
                let settled = settled.clone();
                *timer.borrow_mut() = Some(Timeout::new(TYPING_DEBOUNCE_MS, move || settled.set(req)));
            } else {
                timer.borrow_mut().take();
                settled.set(req.clone());
            }
        });
    }
    let result = use_memo((*settled).clone(), compute);

    // Real models: ask the worker whenever the model, the (settled) sentence or the layer changes.
    let models = use_reducer(ModelState::default);
    let bridge = {
        let models = models.clone();
        use_reactor_bridge::<ModelWorker, _>(move |ev| {
            if let ReactorEvent::Output(out) = ev {
                models.dispatch(ModelMsg::Out(out));
            }
        })
    };
    {
        let models = models.clone();
        use_effect_with((), move |_| {
            let watchdog =
                gloo_timers::callback::Interval::new(2_000, move || models.dispatch(ModelMsg::Tick(dom::now_ms())));
            move || drop(watchdog)
        });
    }
    let on_restart = {
        let v = v.clone();
        let restart = props.onrestart.clone();
        Callback::from(move |_| {
            let _ = dom::replace_hash(&url::encode(&v));
            restart.emit(());
        })
    };
    let next_id = use_mut_ref(|| 0u64);
    let retry_tick = use_state(|| 0u32);
    {
        let text = match &settled.source {
            arcs_core::Source::Sentence(t) => t.clone(),
            arcs_core::Source::Book => arcs_core::book::SENTENCE.to_string(),
        };
        let bridge = bridge.clone();
        let models = models.clone();
        let next_id = next_id.clone();
        use_effect_with((v.model, text, v.layer, *retry_tick), move |(model, text, layer, _)| {
            if let Some(model) = *model {
                let id = {
                    let mut n = next_id.borrow_mut();
                    *n += 1;
                    *n
                };
                models.dispatch(ModelMsg::Sent(id, model));
                bridge.send(WorkerIn::Run {
                    id,
                    model,
                    base: models_base_url(),
                    text: text.clone(),
                    layer: *layer,
                    helper: helper_script_url(),
                });
            }
        });
    }
    let on_retry = {
        let retry_tick = retry_tick.clone();
        Callback::from(move |_| retry_tick.set(*retry_tick + 1))
    };
    let model_run: Option<Rc<ModelRun>> = match (v.model, &models.run) {
        (Some(m), Some(run)) if run.model == m => Some(run.clone()),
        _ => None,
    };
    let model_view = {
        let key = (model_run.clone().map(Shared), v.mode, v.head, v.hide_special);
        use_memo(key, |(run, mode, head, hide)| {
            run.as_ref().map(|r| Rc::new(real::to_attention(r, *mode, *head, *hide)))
        })
    };

    let svg_ref = use_node_ref();
    let status = use_state(String::new);
    let term = use_state(|| None::<usize>);
    let on_term = {
        let term = term.clone();
        Callback::from(move |t: Option<usize>| term.set(t))
    };

    // Keep the last good result on screen while an error is shown, so a typo never blanks the page.
    let last_good = use_mut_ref(|| None::<Rc<Attention>>);
    let (attention, error) = if v.model.is_some() {
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

    {
        let has_arcs = attention.is_some();
        use_effect_with(has_arcs, move |&has| {
            if has {
                PERF.with(|p| {
                    let mut p = p.borrow_mut();
                    if p.first_arcs_ms.is_none() {
                        p.first_arcs_ms = Some(dom::now_ms());
                        dom::publish_perf(&*p);
                    }
                });
            }
        });
    }

    let on_copy = {
        let status = status.clone();
        let v = v.clone();
        Callback::from(move |_: MouseEvent| {
            let status = status.clone();
            // The link of the view as it is now (the address bar catches up a moment later).
            let fragment = url::encode(&v);
            let _ = dom::replace_hash(&fragment);
            let link = dom::href();
            wasm_bindgen_futures::spawn_local(async move {
                match dom::copy_text(&link).await {
                    Ok(()) => status.set("Link copied.".into()),
                    Err(e) => status.set(format!("Could not copy the link ({e}).")),
                }
            });
        })
    };
    let on_export_json = {
        let status = status.clone();
        let attention = attention.clone();
        let model_run = model_run.clone();
        Callback::from(move |_: MouseEvent| {
            let Some(a) = &attention else { return };
            let json = match &model_run {
                Some(run) => crate::cli_models::report(run, None).to_json(),
                None => Report::from_attention(a, true).to_json(),
            };
            match dom::download_text("attention.json", &json, "application/json") {
                Ok(()) => status.set("Exported attention.json.".into()),
                Err(e) => status.set(format!("Export failed: {e}")),
            }
        })
    };
    let on_export_svg = {
        let status = status.clone();
        let svg_ref = svg_ref.clone();
        Callback::from(move |_: MouseEvent| {
            let r = svg_ref.cast::<web_sys::Element>().ok_or("the arc view is not on screen".to_string());
            let r = r
                .and_then(|el| dom::serialize_svg(&el))
                .and_then(|svg| dom::download_text("attention-arcs.svg", &svg, "image/svg+xml"));
            status.set(match r {
                Ok(()) => "Exported attention-arcs.svg.".into(),
                Err(e) => format!("Export failed: {e}"),
            });
        })
    };
    let on_export_png = {
        let status = status.clone();
        let svg_ref = svg_ref.clone();
        Callback::from(move |_: MouseEvent| {
            let Some(el) = svg_ref.cast::<web_sys::Element>() else {
                status.set("Export failed: the arc view is not on screen".into());
                return;
            };
            let size = |name: &str| el.get_attribute(name).and_then(|v| v.parse::<f64>().ok()).unwrap_or(800.0);
            let (w, h) = (size("width"), size("height"));
            let status = status.clone();
            match dom::serialize_svg(&el) {
                Ok(svg) => wasm_bindgen_futures::spawn_local(async move {
                    match dom::download_png("attention-arcs.png", &svg, w, h, 2.0).await {
                        Ok(()) => status.set("Exported attention-arcs.png.".into()),
                        Err(e) => status.set(format!("PNG export failed: {e}")),
                    }
                }),
                Err(e) => status.set(format!("Export failed: {e}")),
            }
        })
    };
    let dismiss = {
        let notices = notices.clone();
        Callback::from(move |_: MouseEvent| notices.set(Vec::new()))
    };

    let n_tokens = attention.as_ref().map_or(0, |a| a.num_tokens());
    // Lesson steps with a widget of their own (the RNN, cross-attention) show only the lesson.
    let lesson_widget_only = v.lesson.is_some_and(|n| {
        !matches!(crate::lesson::STEPS.get(n).map(|s| s.widget), Some(crate::lesson::Widget::View(_)))
    });
    html! {
        <div class="app">
            <header class="top">
                <h1>{ "Attention Arcs" }</h1>
                <p class="tagline">{ "How transformers pay attention — chapter 3 of Build a Large Language Model (From Scratch), live." }</p>
                if v.lesson.is_none() {
                    <button class="lesson-open" data-testid="lesson-open" onclick={{ let d = dispatch.clone(); move |_: MouseEvent| d.emit(Action::OpenLesson(0)) }}>{ "Lesson" }</button>
                }
                <button class="theme" onclick={toggle_theme} aria-label="Toggle dark mode">{ if dark { "☀ Light" } else { "☾ Dark" } }</button>
            </header>
            if !notices.is_empty() {
                <div class="notice" role="status" data-testid="link-notice">
                    <ul>{ for notices.iter().map(|n| html! { <li>{ n.clone() }</li> }) }</ul>
                    <button onclick={dismiss} aria-label="Dismiss">{ "×" }</button>
                </div>
            }
            if let Some(step) = v.lesson {
                <lesson::LessonPanel step={step} view={v.clone()} attention={attention.clone().map(Shared)} ondispatch={dispatch.clone()} />
            }
            if lesson_widget_only { <></> } else {
            <controls::Controls view={v.without_focus()} ondispatch={dispatch.clone()} tokens={n_tokens} />
            <model::ModelBar view={v.without_focus()} status={v.model.and_then(|m| models.status.get(&m).cloned()).unwrap_or(Status::Idle)}
                             run_error={if v.model.is_some() { models.run_error.clone() } else { None }} forward_ms={models.forward_ms}
                             stalled={v.model.is_some() && models.stalled}
                             ondispatch={dispatch.clone()} onretry={on_retry} onrestart={on_restart} />
            if let Some(e) = &error {
                <div class="error" role="alert" data-testid="error">{ e.clone() }
                    if attention.is_some() { <span class="stale">{ " Showing the last sentence that worked." }</span> }
                </div>
            }
            <main class="stage">
                <section class="explain" aria-label="What this mode shows">
                    <h2>{ text::mode_label(v.mode) }</h2>
                    <p>{ text::mode_why(v.mode) }</p>
                    if let Some(m) = v.model {
                        <p class="source">{ format!("{}: layer {}, {}.", m.label(), v.layer, if v.mode == Mode::MultiHead { "all heads".to_string() } else { format!("head {}", v.head) }) }</p>
                        if v.mode == Mode::Causal && !m.is_causal() {
                            <p class="source">{ "This encoder was trained to look both ways: the mask here is applied for comparison, it is not what the model computes." }</p>
                        }
                        if v.mode == Mode::Simplified {
                            <p class="source">{ "Simplified: softmax(X Xᵀ) on the hidden states entering this layer." }</p>
                        }
                    } else if v.is_book() {
                        <p class="source">{ "Book example: the chapter's embeddings and weights." }</p>
                    } else {
                        <p class="source">{ format!("Toy model: seeded embeddings and weights (seed {}).", v.seed) }</p>
                    }
                </section>
                <div class="main-col">
                if let Some(a) = &attention {
                    <arcs::Visual attention={Shared(a.clone())} view={v.clone()} dark={dark} ondispatch={dispatch.clone()} svg_ref={svg_ref.clone()} term={*term} />
                    if let Some(run) = &model_run {
                        <model::ModelPanels run={Shared(run.clone())} view={v.clone()} dark={dark} ondispatch={dispatch.clone()} />
                    }
                    <steps::Steps attention={Shared(a.clone())} view={v.clone()} ondispatch={dispatch.clone()} onterm={on_term.clone()} />
                } else if v.model.is_some() {
                    <p class="hint" data-testid="model-wait">{ "The model's attention appears here once it has loaded." }</p>
                }
                </div>
            </main>
            <footer class="share">
                <button data-testid="copy-link" onclick={on_copy}>{ "Copy link" }</button>
                <button data-testid="export-svg" onclick={on_export_svg}>{ "Export SVG" }</button>
                <button data-testid="export-png" onclick={on_export_png}>{ "Export PNG" }</button>
                <button data-testid="export-json" onclick={on_export_json}>{ "Export JSON" }</button>
                <span class="status" role="status" aria-live="polite" data-testid="status">{ (*status).clone() }</span>
                <p class="privacy">{ "Everything is computed in your browser; nothing you type is sent anywhere." }</p>
            </footer>
            }
        </div>
    }
}
