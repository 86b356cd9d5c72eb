//! The steps panel: every intermediate as a small labelled matrix with its shape and formula, the
//! focused token's row highlighted in each, and its context vector spelled out as a weighted sum.

use super::Shared;
use crate::state::{Action, ViewState};
use crate::text;
use arcs_core::attention::{Attention, HeadSteps, Mode};
use arcs_core::tensor::Mat;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct StepsProps {
    pub attention: Shared<Attention>,
    pub view: ViewState,
    pub ondispatch: Callback<Action>,
    /// Hovering a term of the weighted sum names its key token (the arc view highlights that arc).
    pub onterm: Callback<Option<usize>>,
}

/// Rows shown around the focused one in a long matrix.
const ROW_WINDOW: usize = 2;
const MAX_COLS: usize = 10;

fn fmt(x: f32) -> String {
    if x == f32::NEG_INFINITY {
        "−∞".into()
    } else if x.is_nan() {
        "NaN".into()
    } else if x.abs() >= 1000.0 {
        format!("{x:.1e}")
    } else {
        format!("{x:.3}")
    }
}

/// The rows to print: all of a short matrix; the first and last rows and a window around the focus
/// of a long one (`None` marks an ellipsis).
fn visible_rows(n: usize, focus: Option<usize>) -> Vec<Option<usize>> {
    if n <= 12 {
        return (0..n).map(Some).collect();
    }
    let f = focus.unwrap_or(0).min(n - 1);
    let mut keep: Vec<usize> = vec![0, 1, n - 1];
    keep.extend(f.saturating_sub(ROW_WINDOW)..=(f + ROW_WINDOW).min(n - 1));
    keep.sort_unstable();
    keep.dedup();
    let mut out = Vec::new();
    for (k, &r) in keep.iter().enumerate() {
        if k > 0 && r > keep[k - 1] + 1 {
            out.push(None);
        }
        out.push(Some(r));
    }
    out
}

fn matrix(name: &str, m: &Mat, row_labels: &[String], focus: Option<usize>) -> Html {
    matrix_with(name, text::step_formula(name), m, row_labels, focus)
}

fn matrix_with(name: &str, formula: &str, m: &Mat, row_labels: &[String], focus: Option<usize>) -> Html {
    let formula = formula.to_string();
    let (rows, cols) = m.shape();
    let shown_cols = cols.min(MAX_COLS);
    let body: Html = visible_rows(rows, focus)
        .into_iter()
        .map(|r| match r {
            None => html! { <tr class="gap"><th>{ "⋮" }</th><td colspan={(shown_cols + 1).to_string()}></td></tr> },
            Some(i) => {
                let label: String = row_labels.get(i).map_or_else(|| i.to_string(), |t| t.chars().take(10).collect());
                html! {
                    <tr class={classes!((focus == Some(i)).then_some("focus"))}>
                        <th scope="row">{ label }</th>
                        { for (0..shown_cols).map(|j| html! { <td>{ fmt(m[(i, j)]) }</td> }) }
                        if cols > shown_cols { <td class="more">{ format!("… +{}", cols - shown_cols) }</td> }
                    </tr>
                }
            }
        })
        .collect();
    html! {
        <figure class="matrix" data-step={name.to_string()}>
            <figcaption><code>{ name.to_string() }</code><span class="shape">{ format!("{rows} × {cols}") }</span>
                <span class="formula">{ formula }</span></figcaption>
            <table><tbody>{ body }</tbody></table>
        </figure>
    }
}

fn head_steps(h: &HeadSteps, tokens: &[String], focus: Option<usize>, simplified: bool) -> Html {
    let mut out: Vec<Html> = Vec::new();
    if !simplified {
        out.push(matrix("queries", &h.queries, tokens, focus));
        out.push(matrix("keys", &h.keys, tokens, focus));
        out.push(matrix("values", &h.values, tokens, focus));
    }
    out.push(matrix("attn_scores", &h.attn_scores, tokens, focus));
    if !simplified {
        out.push(matrix("scaled_scores", &h.scaled_scores, tokens, focus));
    }
    for (name, m) in [
        ("masked_scores", &h.masked_scores),
        ("attn_weights_unmasked", &h.attn_weights_unmasked),
        ("masked_unnormalized", &h.masked_unnormalized),
    ] {
        if let Some(m) = m {
            out.push(matrix(name, m, tokens, focus));
        }
    }
    let weights_formula = match (simplified, h.mask.is_some()) {
        (true, _) => "attn_weights = softmax(attn_scores)",
        (false, false) => "attn_weights = softmax(scaled)",
        (false, true) => text::step_formula("attn_weights"),
    };
    out.push(matrix_with("attn_weights", weights_formula, &h.attn_weights, tokens, focus));
    if let Some(k) = &h.keep_mask {
        out.push(matrix("keep_mask", k, tokens, focus));
    }
    if let Some(w) = &h.attn_weights_dropout {
        out.push(matrix("attn_weights_dropout", w, tokens, focus));
    }
    out.push(matrix("context_vec", &h.context_vec, tokens, focus));
    out.into_iter().collect()
}

/// z_i = Σ_j a_ij v_j for the focused token, term by term; hovering a term highlights its key token.
fn weighted_sum(h: &HeadSteps, tokens: &[String], i: usize, onterm: &Callback<Option<usize>>) -> Html {
    let n = h.attn_weights.ncols();
    let used = h.attn_weights_dropout.as_ref().unwrap_or(&h.attn_weights);
    let dims = h.values.ncols().min(4);
    let vec_str = |m: &Mat, r: usize| {
        let mut s: Vec<String> = (0..dims).map(|c| format!("{:.3}", m[(r, c)])).collect();
        if h.values.ncols() > dims {
            s.push("…".into());
        }
        format!("[{}]", s.join(", "))
    };
    let terms: Html = (0..n)
        .filter(|&j| used[(i, j)] != 0.0)
        .map(|j| {
            let (enter, leave) = (onterm.clone(), onterm.clone());
            html! {
                <li data-to={j.to_string()} data-testid="sum-term" onmouseenter={move |_: MouseEvent| enter.emit(Some(j))}
                    onmouseleave={move |_: MouseEvent| leave.emit(None)}>
                    <span class="w">{ format!("{:.3}", used[(i, j)]) }</span>{ " × v(" }<b>{ tokens[j].clone() }</b>{ ") = " }
                    <code>{ vec_str(&h.values.map(|x| x * used[(i, j)]), j) }</code>
                </li>
            }
        })
        .collect();
    html! {
        <div class="sum">
            <h3>{ format!("context vector of “{}”: z = Σ a·v", tokens[i]) }</h3>
            <ol>{ terms }</ol>
            <p>{ "= " }<code>{ vec_str(&h.context_vec, i) }</code></p>
        </div>
    }
}

#[component]
pub fn Steps(props: &StepsProps) -> Html {
    let a = &props.attention;
    let n = a.num_tokens();
    let focus = props.view.focus.filter(|&f| f < n);
    let simplified = a.mode == Mode::Simplified;
    let first = &a.heads[0];
    let per_head: Html = if a.mode == Mode::MultiHead {
        a.heads
            .iter()
            .enumerate()
            .filter(|(h, _)| props.view.head_visible(*h))
            .map(|(h, hs)| html! {
                <details class="head-steps" open={h == 0}>
                    <summary>{ format!("head {h} (head_dim = {})", hs.values.ncols()) }</summary>
                    <div class="matrices">{ head_steps(hs, &a.tokens, focus, false) }</div>
                </details>
            })
            .collect()
    } else {
        html! { <div class="matrices">{ head_steps(first, &a.tokens, focus, simplified) }</div> }
    };
    let variants = match (&a.sum_normalized, &a.naive_softmax) {
        (Some(s), Some(nv)) => html! { <div class="matrices">
            { matrix("sum-normalised", s, &a.tokens, focus) }{ matrix("naive softmax", nv, &a.tokens, focus) }
        </div> },
        _ => Html::default(),
    };
    let tail = match (&a.concat, a.mode) {
        (Some(c), Mode::MultiHead) => html! { <div class="matrices">
            { matrix("concat", c, &a.tokens, focus) }{ matrix("output", &a.context, &a.tokens, focus) }
        </div> },
        _ => Html::default(),
    };
    let sum = match (focus, a.mode) {
        (Some(i), m) if m != Mode::MultiHead => weighted_sum(first, &a.tokens, i, &props.onterm),
        (Some(i), _) => a.heads.iter().enumerate().find(|(h, _)| props.view.head_visible(*h)).map_or(Html::default(), |(_, hs)| {
            html! { <>{ weighted_sum(hs, &a.tokens, i, &props.onterm) }<p class="note">{ "(first visible head)" }</p></> }
        }),
        (None, _) => html! { <p class="hint">{ "Hover or tab to a token to see its context vector built term by term." }</p> },
    };
    html! {
        <section class="steps" aria-label="Steps" data-testid="steps">
            <h2>{ "Step by step" }</h2>
            { sum }
            { matrix("inputs", &a.inputs, &a.tokens, focus) }
            { per_head }
            { variants }
            { tail }
        </section>
    }
}
