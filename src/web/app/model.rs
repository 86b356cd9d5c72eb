//! Real-model panels: the model switch with its loading state, layer/head pickers, the layers x heads
//! overview, "which head links these words?" and the next-word guesses.

use super::heatmap::MiniCanvas;
use super::open_model::{FileStatus, OpenButton};
use super::Shared;
use crate::model_state::Status;
use crate::models::{ModelKind, ModelRun, OpenedInfo, Shape};
use crate::state::{Action, ViewState};
use crate::text;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ModelBarProps {
    pub view: ViewState,
    pub status: Status,
    /// An error of the last forward pass (too many tokens, ...).
    pub run_error: Option<String>,
    pub forward_ms: Option<f64>,
    /// The shape of the newest pass (an opened model's comes only with its passes).
    pub shape: Option<Shape>,
    /// The worker owes an answer and has been silent for a long time.
    pub stalled: bool,
    /// How far a long pass is (layers done, layers), while it runs.
    pub working: Option<(usize, usize)>,
    pub ondispatch: Callback<Action>,
    pub onretry: Callback<()>,
    pub onrestart: Callback<()>,
    /// The model opened from the user's files, and how to open one.
    pub opened: Option<Rc<OpenedInfo>>,
    pub onopen: Callback<Vec<web_sys::File>>,
    /// The opened model's status, shown while a file is read or after it failed even when the view is
    /// elsewhere.
    pub file_status: Status,
    pub oncontinue: Callback<()>,
    /// Stop reading the files being opened.
    pub oncancel: Callback<()>,
}

fn select_value(e: &Event) -> Option<String> {
    e.target().and_then(|t| t.dyn_into::<HtmlSelectElement>().ok()).map(|s| s.value())
}

/// The model switch, and for a real model its layer/head pickers and loading state.
#[component]
pub fn ModelBar(props: &ModelBarProps) -> Html {
    let v = &props.view;
    let d = props.ondispatch.clone();
    let button = |m: Option<ModelKind>, label: &str| {
        let d = d.clone();
        let on = v.model.kind == m;
        html! {
            <button class={classes!("model", on.then_some("on"))} data-model={m.map_or("toy", |m| m.as_str())} aria-pressed={on.to_string()}
                    onclick={move |_: MouseEvent| d.emit(Action::SetModel(m))}>{ label.to_string() }</button>
        }
    };
    let pickers = match (v.model.kind, v.model.kind.and_then(|m| m.shape()).or(props.shape)) {
        (Some(_), Some(shape)) => {
            let d1 = d.clone();
            let d2 = d.clone();
            let d3 = d.clone();
            let d4 = d.clone();
            let on_layer = Callback::from(move |e: Event| {
                if let Some(l) = select_value(&e).and_then(|s| s.parse().ok()) {
                    d1.emit(Action::SetLayer(l));
                }
            });
            let on_head = Callback::from(move |e: Event| {
                if let Some(h) = select_value(&e).and_then(|s| s.parse().ok()) {
                    d2.emit(Action::SetHead(h));
                }
            });
            let special = if shape.causal { text::HIDE_SINK } else { text::HIDE_CLS_SEP };
            html! {
                <div class="options">
                    <label class="field"><span>{ "layer" }</span>
                        <select data-testid="layer" onchange={on_layer}>
                            { for (0..shape.layers).map(|l| html! { <option value={l.to_string()} selected={l == v.model.layer}>{ l.to_string() }</option> }) }
                        </select>
                    </label>
                    <label class="field"><span>{ "head" }</span>
                        <select data-testid="head" onchange={on_head}>
                            { for (0..shape.heads).map(|h| html! { <option value={h.to_string()} selected={h == v.model.head}>{ h.to_string() }</option> }) }
                        </select>
                    </label>
                    <label class="field check">
                        <input type="checkbox" data-testid="hide-special" checked={v.model.hide_special}
                               onchange={move |e: Event| if let Some(t) = e.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) { d3.emit(Action::SetHideSpecial(t.checked())) }} />
                        <span>{ special }</span>
                    </label>
                    if !shape.causal {
                        <label class="field check">
                            <input type="checkbox" data-testid="join-pieces" checked={v.display.join_pieces}
                                   onchange={move |e: Event| if let Some(t) = e.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) { d4.emit(Action::SetJoinPieces(t.checked())) }} />
                            <span>{ text::JOIN_PIECES }</span>
                        </label>
                    }
                </div>
            }
        }
        _ => Html::default(),
    };
    let file_busy = matches!(props.file_status, Status::Loading { .. } | Status::Failed(_));
    let status = if v.model.kind == Some(ModelKind::File) || file_busy {
        html! {
            <FileStatus status={props.file_status.clone()} opened={props.opened.clone()} wanted={v.model.file.clone()}
                        forward_ms={props.forward_ms} onopen={props.onopen.clone()} oncontinue={props.oncontinue.clone()} oncancel={props.oncancel.clone()} />
        }
    } else {
        match (&v.model.kind, &props.status) {
            (None, _) => Html::default(),
            (Some(m), Status::Idle) => {
                html! { <p class="model-status" data-testid="model-status">{ text::model_idle(m.label()) }</p> }
            }
            (Some(m), Status::Loading { stage, loaded, total }) => {
                let pct = if *total > 0 { (*loaded as f64 / *total as f64 * 100.0).min(100.0) } else { 0.0 };
                html! {
                    // The bar lies on the panel's bottom edge and the note runs on in the same text, so the
                    // status takes the lines the ready message will: nothing below moves when it arrives.
                    <div class="model-status" data-testid="model-status" role="status" aria-live="polite">
                        <progress class="load-bar" max="100" value={format!("{pct:.0}")} aria-label={text::model_loading_label(m.label())}></progress>
                        <span>{ text::model_loading(m.label(), stage, *loaded, *total) }<span class="note">{ text::TOY_STAYS_USABLE }</span></span>
                    </div>
                }
            }
            (Some(m), Status::Ready { load_ms, bytes, from_cache }) => html! {
                <p class="model-status ready" data-testid="model-status" data-ready="true">
                    { text::model_ready(m.label(), *bytes, *from_cache, *load_ms) }
                    if let Some(ms) = props.forward_ms { { text::last_forward(ms) } }
                    if let Some((done, layers)) = props.working {
                        <span class="pass-progress" data-testid="pass-progress" data-done={done.to_string()} data-layers={layers.to_string()}>
                            <progress max={layers.to_string()} value={done.to_string()} aria-hidden="true"></progress>
                            { text::pass_progress(done, layers) }
                        </span>
                    }
                </p>
            },
            (Some(m), Status::Failed(msg)) => {
                let retry = props.onretry.clone();
                html! {
                    <div class="error" role="alert" data-testid="model-error">
                        { text::model_failed(m.label(), msg) }
                        <button onclick={move |_: MouseEvent| retry.emit(())}>{ text::RETRY }</button>
                        <span class="note">{ text::TOY_WORKS_WITHOUT }</span>
                    </div>
                }
            }
        }
    };
    let stalled = if props.stalled {
        let restart = props.onrestart.clone();
        html! {
            <div class="notice" role="alert" data-testid="model-stalled">
                { text::WORKER_SILENT }
                <button onclick={move |_: MouseEvent| restart.emit(())}>{ text::RESTART_WORKER }</button>
            </div>
        }
    } else {
        Html::default()
    };
    let run_error = props
        .run_error
        .as_ref()
        .map_or(Html::default(), |e| html! { <div class="error" role="alert" data-testid="error">{ e.clone() }</div> });
    html! {
        <div class="model-bar">
            <div class="models" role="group" aria-label="Model">
                { button(None, text::TOY_MODEL) }
                { button(Some(ModelKind::MiniLm), ModelKind::MiniLm.label()) }
                { button(Some(ModelKind::SmolLm2), ModelKind::SmolLm2.label()) }
                if let Some(info) = &props.opened {
                    { button(Some(ModelKind::File), &info.name) }
                }
                <OpenButton onopen={props.onopen.clone()} />
            </div>
            { pickers }
            { status }
            { stalled }
            { run_error }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct ModelPanelsProps {
    pub run: Shared<ModelRun>,
    pub view: ViewState,
    pub dark: bool,
    pub ondispatch: Callback<Action>,
}

/// Panels that only a real model has.
#[component]
pub fn ModelPanels(props: &ModelPanelsProps) -> Html {
    let run = &props.run;
    let v = &props.view;
    let d = props.ondispatch.clone();
    let shape = run.shape;

    let layer_only = if run.layer_only {
        let note = text::layer_only_note(run.num_tokens(), crate::models::MAX_ALL_LAYERS_TOKENS);
        html! { <p class="note" data-testid="layer-only">{ note }</p> }
    } else {
        Html::default()
    };
    let gqa = if shape.group_size() > 1 {
        html! { <p class="note">{ text::grouped_query(shape.group_size(), v.model.head) }</p> }
    } else if !shape.causal {
        html! { <p class="note">{ text::ENCODER_BOTH_WAYS }</p> }
    } else {
        Html::default()
    };

    let next = if run.top5_next.is_empty() {
        Html::default()
    } else {
        let top: Html = run
            .top5_next
            .iter()
            .map(|g| {
                html! { <li data-testid="next-token" data-id={g.id.to_string()} data-prob={g.prob.to_string()}><span class="bar" style={format!("width:{:.0}%", g.prob * 100.0)}></span>
                    <code>{ format!("{:?}", g.token) }</code><span class="pct">{ format!(" {:.1}%", g.prob * 100.0) }</span></li> }
            })
            .collect();
        let at = v.focus.token.filter(|&f| f < run.next_per_position.len()).map_or(Html::default(), |i| {
            let g = &run.next_per_position[i];
            let actual = run.tokens.get(i + 1).map_or("(end)".to_string(), |t| format!("{t:?}"));
            html! { <p data-testid="guess-at" data-id={g.id.to_string()} data-prob={g.prob.to_string()}>{ text::guess_lead(&run.tokens[i]) }<code>{ format!("{:?}", g.token) }</code>
                { text::guess_tail(g.prob, &actual) }</p> }
        });
        html! {
            <section class="panel next" aria-label={text::NEXT_WORD} data-testid="next-word">
                <h3>{ text::NEXT_WORD }</h3>
                <p class="note">{ text::NEXT_WORD_WHY }</p>
                <ol>{ top }</ol>
                { at }
                if v.focus.token.is_none() { <p class="hint">{ text::NEXT_WORD_HINT }</p> }
            </section>
        }
    };

    html! {
        <div class="model-panels">
            { layer_only }
            { gqa }
            <super::head_roles::HeadRoles run={props.run.clone()} view={v.without_focus()} dark={props.dark} ondispatch={d.clone()} />
            <super::logit_lens::LogitLens run={props.run.clone()} view={v.without_focus()} dark={props.dark} ondispatch={d.clone()} />
            { next }
            <WhichHead run={props.run.clone()} ondispatch={d.clone()} />
            <Overview run={props.run.clone()} layer={v.model.layer} head={v.model.head} dark={props.dark} ondispatch={d.clone()} />
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct WhichHeadProps {
    run: Shared<ModelRun>,
    ondispatch: Callback<Action>,
}

/// "Which head links these words?": its own component, so hovering tokens (which re-renders the panels
/// around it) never rebuilds its two lists of every token.
#[component]
fn WhichHead(props: &WhichHeadProps) -> Html {
    let run = &props.run;
    let d = props.ondispatch.clone();
    let n = run.num_tokens();
    let query = use_state(|| None::<usize>);
    let key = use_state(|| None::<usize>);
    // "Which head links these words?"
    let pick = |state: UseStateHandle<Option<usize>>, label: &str, testid: &str| {
        let onchange = Callback::from(move |e: Event| state.set(select_value(&e).and_then(|s| s.parse().ok())));
        html! {
            <label class="field"><span>{ label.to_string() }</span>
                <select data-testid={testid.to_string()} {onchange}>
                    <option value="">{ "—" }</option>
                    { for run.tokens.iter().enumerate().map(|(i, t)| html! { <option value={i.to_string()}>{ format!("{i}: {t}") }</option> }) }
                </select>
            </label>
        }
    };
    let ranking = match (*query, *key) {
        (Some(q), Some(k)) if q < n && k < n => {
            let list: Html = run
                .rank_heads(q, k)
                .into_iter()
                .take(8)
                .enumerate()
                .map(|(rank, (l, h, w))| {
                    let d = d.clone();
                    // The rank is text in the entry's own box (a list marker would sit outside it, over
                    // the previous entry when they wrap side by side).
                    html! { <li><span class="rank-n" aria-hidden="true">{ format!("{}.", rank + 1) }</span><button class="chip" data-testid="rank" data-layer={l.to_string()} data-head={h.to_string()} data-weight={w.to_string()}
                                        onclick={move |_: MouseEvent| d.emit(Action::OpenHead { layer: l, head: h })}>
                        { text::rank_entry(l, h, w) }</button></li> }
                })
                .collect();
            html! { <ol class="ranking">{ list }</ol> }
        }
        _ => html! { <p class="hint">{ "Pick a query token and a key token." }</p> },
    };

    html! {
        <section class="panel" aria-label={text::WHICH_HEAD}>
            <h3>{ text::WHICH_HEAD }</h3>
            <div class="options">{ pick(query.clone(), "from (query)", "rank-query") }{ pick(key.clone(), "to (key)", "rank-key") }</div>
            { ranking }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct OverviewProps {
    run: Shared<ModelRun>,
    layer: usize,
    head: usize,
    dark: bool,
    ondispatch: Callback<Action>,
}

/// Every layer and head at a glance, re-rendered only when the pass or the open head changes.
#[component]
fn Overview(props: &OverviewProps) -> Html {
    let shape = props.run.shape;
    let d = props.ondispatch.clone();
    // The whole model at a glance: one small grid per layer and head; click to open that head. The
    // matrices are cut out once per pass, not on every hover (at 512 tokens that is 72 copies of
    // 262 144 weights).
    let thumbs = use_memo(props.run.clone(), |r| {
        let heads = r.shape.heads;
        (0..r.shape.layers * heads)
            .map(|k| {
                // A long pass sent pooled thumbnails instead of every layer (the shown one's too: the
                // same picture whichever layer is open).
                let m = match &r.thumbnails {
                    Some(t) => t.get(heads, k / heads, k % heads),
                    None => r.attention(k / heads, k % heads),
                };
                Shared(std::rc::Rc::new(m))
            })
            .collect::<Vec<_>>()
    });
    let overview: Html = (0..shape.layers)
        .map(|l| {
            let cells: Html = (0..shape.heads)
                .map(|h| {
                    let d = d.clone();
                    let on = l == props.layer && h == props.head;
                    html! {
                        <button class={classes!("cell", on.then_some("on"))} data-testid="overview-cell" data-layer={l.to_string()} data-head={h.to_string()}
                                title={text::head_name(l, h)} aria-label={text::open_head(l, h)}
                                onclick={move |_: MouseEvent| d.emit(Action::OpenHead { layer: l, head: h })}>
                            <MiniCanvas weights={thumbs[l * shape.heads + h].clone()} size={36} dark={props.dark} />
                        </button>
                    }
                })
                .collect();
            html! { <div class="overview-row"><span class="row-label">{ format!("L{l}") }</span>{ cells }</div> }
        })
        .collect();

    html! {
        <section class="panel" aria-label={text::EVERY_HEAD_LABEL}>
            <h3>{ text::every_head(shape.layers, shape.heads) }</h3>
            <div class="overview" data-testid="overview">{ overview }</div>
        </section>
    }
}
