//! The neuron view (BertViz's, here on any head the page shows, real or toy): for the focused query
//! token and a chosen key token, the query vector, the key vector (after RoPE where the model rotates
//! them), their elementwise product, its sum = the score, then scaled, masked and softmaxed over the
//! row. The numbers come from `arcs_core::analysis::neuron` on the head's own Q and K.

use super::Shared;
use crate::layout::diverging_colour;
use crate::models::ModelRun;
use crate::state::{Action, ViewState};
use crate::text;
use arcs_core::analysis::{neuron, NeuronTrace};
use arcs_core::attention::{Attention, Mode};
use wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct NeuronProps {
    pub attention: Shared<Attention>,
    /// The real model's pass behind `attention`, for its own weight and head numbering.
    pub run: Option<Shared<ModelRun>>,
    pub view: ViewState,
    pub dark: bool,
    pub ondispatch: Callback<Action>,
}

/// Which of the attention's heads the view shows, and its name.
fn chosen_head(a: &Attention, v: &ViewState, real: bool) -> (usize, String) {
    if real {
        let name = text::compare_head(v.model.layer, v.model.head);
        let idx = if a.heads.len() > 1 { v.model.head.min(a.heads.len() - 1) } else { 0 };
        return (idx, name);
    }
    let idx = if a.heads.len() > 1 { (0..a.heads.len()).find(|&h| v.head_visible(h)).unwrap_or(0) } else { 0 };
    (idx, format!("head {idx}"))
}

/// One vector as a strip of coloured cells (blue below zero, red above, scaled to the row's largest
/// magnitude); the exact numbers are in each cell's title and in the table below.
fn strip(values: &[f32], dark: bool, label: &str, testid: &str) -> Html {
    let max = values.iter().fold(f32::MIN_POSITIVE, |m, x| m.max(x.abs()));
    let cells: Html = values
        .iter()
        .enumerate()
        .map(|(d, &x)| {
            html! { <span class="v" style={format!("background:{}", diverging_colour(x / max, dark))} title={format!("d{d}: {x:.4}")}></span> }
        })
        .collect();
    html! {
        <div class="neuron-row"><span class="row-label">{ label.to_string() }</span>
            <div class="vec" data-testid={testid.to_string()} data-dims={values.len().to_string()} aria-hidden="true">{ cells }</div></div>
    }
}

fn numbers_table(t: &NeuronTrace) -> Html {
    let rows: Html = (0..t.query.len())
        .map(|d| {
            html! { <tr><th scope="row">{ format!("d{d}") }</th><td>{ format!("{:.4}", t.query[d]) }</td>
            <td>{ format!("{:.4}", t.key[d]) }</td><td>{ format!("{:.4}", t.product[d]) }</td></tr> }
        })
        .collect();
    html! {
        <details class="neuron-numbers"><summary>{ text::neuron_dims(t.query.len(), t.query.len()) }</summary>
            <table><thead><tr><th></th><th>{ "q" }</th><th>{ "k" }</th><th>{ "q × k" }</th></tr></thead><tbody>{ rows }</tbody></table>
        </details>
    }
}

#[component]
pub fn Neuron(props: &NeuronProps) -> Html {
    let d = props.ondispatch.clone();
    let a = &props.attention;
    let v = &props.view;
    let n = a.num_tokens();
    let focus = v.focus.token.filter(|&i| i < n);
    let Some(key) = v.display.neuron else {
        let (h, _) = chosen_head(a, v, props.run.is_some());
        // Open on the key the focused query attends to most (the first token without a focus).
        let strongest = focus.and_then(|i| {
            let w = &a.heads.get(h)?.attn_weights;
            (0..w.ncols()).max_by(|&x, &y| w[(i, x)].total_cmp(&w[(i, y)]))
        });
        return html! {
            <section class="panel" aria-label={text::NEURON_TITLE}>
                <button data-testid="neuron-open" onclick={move |_: MouseEvent| d.emit(Action::SetNeuron(Some(strongest.unwrap_or(0))))}>
                    { text::NEURON_OPEN }</button>
            </section>
        };
    };
    let key = key.min(n.saturating_sub(1));
    let (h, head_name) = chosen_head(a, v, props.run.is_some());
    let close = {
        let d = d.clone();
        move |_: MouseEvent| d.emit(Action::SetNeuron(None))
    };
    let on_key = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let value = e.target().and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok()).map(|s| s.value());
            if let Some(k) = value.and_then(|s| s.parse().ok()) {
                d.emit(Action::SetNeuron(Some(k)));
            }
        })
    };
    let hs = a.heads.get(h);
    let causal = hs.is_some_and(|hs| hs.mask.is_some());
    let key_options: Html = a
        .tokens
        .iter()
        .enumerate()
        .map(|(j, t)| {
            let future = causal && focus.is_some_and(|i| j > i);
            let label = if future { format!("{j}: {t} (future)") } else { format!("{j}: {t}") };
            html! { <option value={j.to_string()} selected={j == key}>{ label }</option> }
        })
        .collect();
    let body = match (focus, hs) {
        (Some(i), Some(hs)) => match neuron(&hs.queries, &hs.keys, i, key, hs.scale, causal) {
            Some(t) => {
                // The model's own weight, where the view computes what the model computed.
                let own = props
                    .run
                    .as_ref()
                    .filter(|r| a.mode != Mode::Simplified && (a.mode != Mode::Causal || r.shape.causal));
                let model_weight = own.map(|r| r.weight(v.model.layer, v.model.head, i, key));
                html! {
                    <>
                        <p class="neuron-heading">{ text::neuron_heading(&a.tokens[i], &a.tokens[key], &head_name) }</p>
                        { strip(&t.query, props.dark, text::NEURON_QUERY_ROW, "neuron-q") }
                        { strip(&t.key, props.dark, text::NEURON_KEY_ROW, "neuron-k") }
                        { strip(&t.product, props.dark, text::NEURON_PRODUCT_ROW, "neuron-qk") }
                        <ol class="neuron-steps">
                            <li data-testid="neuron-score" data-value={t.score.to_string()}>{ text::neuron_score(t.score) }</li>
                            if a.mode != Mode::Simplified {
                                <li data-testid="neuron-scaled" data-value={t.scaled.to_string()}>{ text::neuron_scaled(t.scale, t.scaled) }</li>
                            }
                            <li data-testid="neuron-mask" data-masked={t.masked.to_string()}>{ text::neuron_masked(t.masked) }</li>
                            <li data-testid="neuron-weight" data-value={t.weight.to_string()}>{ text::neuron_weight(t.weight) }</li>
                            if let Some(w) = model_weight {
                                <li data-testid="neuron-model-weight" data-value={w.to_string()}>{ text::neuron_model_weight(w) }</li>
                            }
                        </ol>
                        { numbers_table(&t) }
                    </>
                }
            }
            None => Html::default(),
        },
        _ => html! { <p class="hint" data-testid="neuron-needs-query">{ text::NEURON_NEEDS_QUERY }</p> },
    };
    let note = if a.mode == Mode::Simplified { text::NEURON_SIMPLIFIED } else { text::NEURON_ROPE };
    html! {
        <section class="panel neuron" aria-label={text::NEURON_TITLE} data-testid="neuron">
            <h3>{ text::NEURON_TITLE }<button class="link" onclick={close}>{ text::NEURON_CLOSE }</button></h3>
            <p class="note">{ note }</p>
            <label class="field"><span>{ text::NEURON_KEY }</span>
                <select data-testid="neuron-key" onchange={on_key}>{ key_options }</select></label>
            { body }
        </section>
    }
}
