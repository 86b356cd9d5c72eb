//! The controls above the arc view: arcs or heatmap, which heads (multi-head), and pruning on long inputs.

use crate::layout::head_colour;
use crate::state::{Action, HeadView, View, ViewState, Weighting};
use crate::text;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ViewOptionsProps {
    pub view: ViewState,
    /// Heads to offer chips for (0 outside multi-head mode).
    pub heads: usize,
    /// Long input or pruned arcs: offer top-k and threshold.
    pub show_pruning: bool,
    pub pruned: bool,
    /// How many of its strongest arcs per head a hovered token shows, if not all (long inputs).
    pub focus_strongest: Option<usize>,
    /// More heads drawn than `layout::MANY_HEADS`, and the one drawn in full if only one is.
    pub many: bool,
    pub lead: Option<usize>,
    pub ondispatch: Callback<Action>,
}

#[component]
pub fn ViewOptions(props: &ViewOptionsProps) -> Html {
    let v = &props.view;
    let d = props.ondispatch.clone();
    // Rolled-out arcs are one matrix for the layer, not a head.
    let rolled = v.rolled_out(props.heads);
    let head_chips = if props.heads > 0 {
        let chips: Html = (0..props.heads)
            .map(|h| {
                let on = v.head_visible(h);
                let d = d.clone();
                html! {
                    <button class="chip" data-testid="head-toggle" data-head={h.to_string()} aria-pressed={on.to_string()}
                            onclick={move |_: MouseEvent| d.emit(Action::ToggleHead(h))}>
                        <span class="swatch" style={format!("background:{}", head_colour(h))}></span>
                        { if rolled { text::ROLLOUT_CHIP.to_string() } else { text::head_chip(h) } }
                    </button>
                }
            })
            .collect();
        let hv_button = |hv: HeadView, label: &str| {
            let d = d.clone();
            html! { <button class="chip" data-head-view={hv.as_str()} aria-pressed={(v.display.head_view == hv).to_string()}
            onclick={move |_: MouseEvent| d.emit(Action::SetHeadView(hv))}>{ label.to_string() }</button> }
        };
        html! {
            <div class="heads" role="group" aria-label={text::HEADS_LABEL}>
                { chips }
                <span class="sep"></span>
                { hv_button(HeadView::All, text::EACH_HEAD) }{ hv_button(HeadView::Mean, text::MEAN) }{ hv_button(HeadView::Max, text::MAX) }
            </div>
        }
    } else {
        Html::default()
    };
    let view_button = |vw: View, label: &str| {
        let d = d.clone();
        html! { <button class="chip" data-view={vw.as_str()} aria-pressed={(v.display.view == vw).to_string()}
        onclick={move |_: MouseEvent| d.emit(Action::SetView(vw))}>{ label.to_string() }</button> }
    };
    let prune_controls = if props.show_pruning {
        let d1 = d.clone();
        let d2 = d.clone();
        html! {
            <div class="prune">
                <label class="field"><span>{ text::ARCS_PER_TOKEN }</span>
                    <input type="number" min="1" max="64" value={v.display.top_k.to_string()} data-testid="top-k"
                           onchange={move |e: Event| if let Some(k) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()).and_then(|i| i.value().parse().ok()) { d1.emit(Action::SetTopK(k)) }} />
                </label>
                <label class="field"><span>{ text::HIDE_BELOW }</span>
                    <input type="number" min="0" max="1" step="0.01" value={v.display.threshold.to_string()} data-testid="threshold"
                           onchange={move |e: Event| if let Some(t) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()).and_then(|i| i.value().parse().ok()) { d2.emit(Action::SetThreshold(t)) }} />
                </label>
                if props.pruned { <span class="note">{ text::pruned_note(v.display.top_k, props.focus_strongest) }</span> }
            </div>
        }
    } else {
        Html::default()
    };

    // Many heads: which one is drawn in full, and the one click to every head's arcs (and back).
    let many_heads = if props.many && v.display.view == View::Arcs {
        let every = props.lead.is_none();
        let d = d.clone();
        html! {
            <p class="lead-note" data-testid="lead-note">
                { text::lead_note(props.lead, v.model.kind.is_some()) }
                <button class="chip" data-testid="every-head" aria-pressed={every.to_string()}
                        onclick={move |_: MouseEvent| d.emit(Action::SetEveryHead(!every))}>{ text::EVERY_HEAD_BUTTON }</button>
            </p>
        }
    } else {
        Html::default()
    };
    // Real models: the weights as they are, weighted by what each value moves, or rolled out.
    let weighting = if v.model.kind.is_some() && v.engine.mode != arcs_core::Mode::Simplified {
        let button = |w: Weighting| {
            let d = d.clone();
            html! { <button class="chip" data-weighting={w.as_str()} aria-pressed={(v.display.weighting == w).to_string()}
            onclick={move |_: MouseEvent| d.emit(Action::SetWeighting(w))}>{ text::weighting_label(w) }</button> }
        };
        html! {
            <div class="weighting" role="group" aria-label={text::WEIGHTING_LABEL} data-testid="weighting">
                { for Weighting::ALL.into_iter().map(button) }
                if let Some(note) = text::weighting_note(v.display.weighting) {
                    <p class="note" data-testid="weighting-note">{ note }</p>
                }
            </div>
        }
    } else {
        Html::default()
    };
    html! {
        <>
            <div class="view-switch" role="group" aria-label={text::VIEW_LABEL}>
                { view_button(View::Arcs, text::ARCS) }{ view_button(View::Heatmap, text::HEATMAP) }
            </div>
            { weighting }
            { head_chips }
            { many_heads }
            { prune_controls }
        </>
    }
}
