//! The steps panel: every intermediate as a small labelled matrix with its shape and formula, the
//! focused token's row highlighted in each, and its context vector spelled out as a weighted sum.

use super::Shared;
use crate::state::{Action, ViewState};
use crate::text;
use arcs_core::attention::{Attention, HeadSteps, Mode};
use arcs_core::tensor::Mat;
use wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct StepsProps {
    pub attention: Shared<Attention>,
    pub view: ViewState,
    pub ondispatch: Callback<Action>,
    /// Hovering a term of the weighted sum names its key token (the arc view highlights that arc).
    pub onterm: Callback<Option<usize>>,
}

/// How long the panel waits for the pointer to settle before following the focus. The arcs answer a
/// hover in the same frame; this panel re-lays out hundreds of table cells, so a sweep across many
/// tokens should cost one update, and a pause still shows the focused token's numbers well within a
/// glance (the same idea as React's deferred values).
const FOLLOW_FOCUS_MS: u32 = 50;
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

/// Which matrix of an [`Attention`] a [`MatrixView`] shows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sel {
    Inputs,
    Head(usize, Step),
    Concat,
    Output,
    SumNormalized,
    NaiveSoftmax,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    Queries,
    Keys,
    Values,
    Scores,
    Scaled,
    Masked,
    Unmasked,
    MaskedUnnormalized,
    Weights,
    KeepMask,
    Dropout,
    Context,
}

impl Sel {
    fn get(self, a: &Attention) -> Option<&Mat> {
        Some(match self {
            Sel::Inputs => &a.inputs,
            Sel::Concat => a.concat.as_ref()?,
            Sel::Output => &a.context,
            Sel::SumNormalized => a.sum_normalized.as_ref()?,
            Sel::NaiveSoftmax => a.naive_softmax.as_ref()?,
            Sel::Head(h, step) => {
                let hs = a.heads.get(h)?;
                match step {
                    Step::Queries => &hs.queries,
                    Step::Keys => &hs.keys,
                    Step::Values => &hs.values,
                    Step::Scores => &hs.attn_scores,
                    Step::Scaled => &hs.scaled_scores,
                    Step::Masked => hs.masked_scores.as_ref()?,
                    Step::Unmasked => hs.attn_weights_unmasked.as_ref()?,
                    Step::MaskedUnnormalized => hs.masked_unnormalized.as_ref()?,
                    Step::Weights => &hs.attn_weights,
                    Step::KeepMask => hs.keep_mask.as_ref()?,
                    Step::Dropout => hs.attn_weights_dropout.as_ref()?,
                    Step::Context => &hs.context_vec,
                }
            }
        })
    }
}

#[derive(Properties, PartialEq)]
struct MatrixProps {
    attention: Shared<Attention>,
    sel: Sel,
    name: AttrValue,
    formula: AttrValue,
    /// The focused row, only for matrices too long to show whole (short ones highlight it with CSS, so
    /// hovering re-renders none of them).
    window: Option<usize>,
}

/// One labelled matrix. A component so that hovering, which changes only the highlighted row, skips
/// re-rendering every matrix that shows all its rows.
#[component]
fn MatrixView(props: &MatrixProps) -> Html {
    let a = &props.attention;
    let Some(m) = props.sel.get(a) else { return Html::default() };
    let (rows, cols) = m.shape();
    let shown_cols = cols.min(MAX_COLS);
    let body: Html = crate::layout::visible_rows(rows, props.window)
        .into_iter()
        .map(|r| match r {
            None => html! { <tr class="gap"><th>{ "⋮" }</th><td colspan={(shown_cols + 1).to_string()}></td></tr> },
            Some(i) => {
                let label: String = a.tokens.get(i).map_or_else(|| i.to_string(), |t| t.chars().take(10).collect());
                html! {
                    <tr data-row={i.to_string()}>
                        <th scope="row">{ label }</th>
                        { for (0..shown_cols).map(|j| html! { <td>{ fmt(m[(i, j)]) }</td> }) }
                        if cols > shown_cols { <td class="more">{ format!("… +{}", cols - shown_cols) }</td> }
                    </tr>
                }
            }
        })
        .collect();
    html! {
        <figure class="matrix" data-step={props.name.clone()}>
            <figcaption><code>{ props.name.clone() }</code><span class="shape">{ format!("{rows} × {cols}") }</span>
                <span class="formula">{ props.formula.clone() }</span></figcaption>
            <table><tbody>{ body }</tbody></table>
        </figure>
    }
}

fn matrix(a: &Shared<Attention>, sel: Sel, name: &'static str, formula: &str, focus: Option<usize>) -> Html {
    let rows = sel.get(a).map_or(0, |m| m.nrows());
    let window = if rows > 12 { focus } else { None };
    html! { <MatrixView attention={a.clone()} sel={sel} name={name} formula={AttrValue::from(formula.to_string())} window={window} /> }
}

fn head_steps(a: &Shared<Attention>, h: usize, focus: Option<usize>, simplified: bool) -> Html {
    let hs = &a.heads[h];
    let f = text::step_formula;
    let mut out: Vec<Html> = Vec::new();
    if !simplified {
        out.push(matrix(a, Sel::Head(h, Step::Queries), "queries", f("queries"), focus));
        out.push(matrix(a, Sel::Head(h, Step::Keys), "keys", f("keys"), focus));
        out.push(matrix(a, Sel::Head(h, Step::Values), "values", f("values"), focus));
    }
    // Simplified attention has no projections: Q = K = V = X, and the formulas say so.
    let scores_formula = if simplified { f("attn_scores (simplified)") } else { f("attn_scores") };
    out.push(matrix(a, Sel::Head(h, Step::Scores), "attn_scores", scores_formula, focus));
    if !simplified {
        out.push(matrix(a, Sel::Head(h, Step::Scaled), "scaled_scores", f("scaled_scores"), focus));
    }
    for (present, step, name) in [
        (hs.masked_scores.is_some(), Step::Masked, "masked_scores"),
        (hs.attn_weights_unmasked.is_some(), Step::Unmasked, "attn_weights_unmasked"),
        (hs.masked_unnormalized.is_some(), Step::MaskedUnnormalized, "masked_unnormalized"),
    ] {
        if present {
            out.push(matrix(a, Sel::Head(h, step), name, f(name), focus));
        }
    }
    let weights_formula = match (simplified, hs.mask.is_some()) {
        (true, _) => f("attn_weights (simplified)"),
        (false, false) => f("attn_weights (no mask)"),
        (false, true) => f("attn_weights"),
    };
    out.push(matrix(a, Sel::Head(h, Step::Weights), "attn_weights", weights_formula, focus));
    if hs.keep_mask.is_some() {
        out.push(matrix(a, Sel::Head(h, Step::KeepMask), "keep_mask", f("keep_mask"), focus));
    }
    if hs.attn_weights_dropout.is_some() {
        out.push(matrix(a, Sel::Head(h, Step::Dropout), "attn_weights_dropout", f("attn_weights_dropout"), focus));
    }
    let context_formula = if simplified { f("context_vec (simplified)") } else { f("context_vec") };
    out.push(matrix(a, Sel::Head(h, Step::Context), "context_vec", context_formula, focus));
    out.into_iter().collect()
}

/// Terms of the weighted sum listed one by one; the rest are summed in one line.
const MAX_TERMS: usize = 24;

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
    // A long input's row has hundreds of terms: the strongest are listed (in token order), the rest
    // summed in one line.
    let mut keys: Vec<usize> = (0..n).filter(|&j| used[(i, j)] != 0.0).collect();
    let (mut rest, mut rest_weight) = (0, 0.0f32);
    if keys.len() > MAX_TERMS {
        keys.sort_by(|&x, &y| used[(i, y)].total_cmp(&used[(i, x)]));
        for &j in &keys[MAX_TERMS..] {
            rest += 1;
            rest_weight += used[(i, j)];
        }
        keys.truncate(MAX_TERMS);
        keys.sort_unstable();
    }
    let more = (rest > 0)
        .then(|| html! { <li class="note" data-testid="sum-rest">{ text::more_terms(rest, rest_weight) }</li> });
    let terms: Html = keys
        .into_iter()
        .map(|j| {
            let (enter, leave) = (onterm.clone(), onterm.clone());
            html! {
                <li data-to={j.to_string()} data-testid="sum-term" onmouseenter={move |_: MouseEvent| enter.emit(Some(j))}
                    onmouseleave={move |_: MouseEvent| leave.emit(None)}>
                    <span class="w">{ format!("{:.3}", used[(i, j)]) }</span>{ " × v(" }<b>{ tokens[j].clone() }</b>{ ") = " }
                    <code>{ vec_str(&h.values.rows(j, 1).map(|x| x * used[(i, j)]), 0) }</code>
                </li>
            }
        })
        .collect();
    html! {
        <div class="sum">
            <h3>{ text::context_of(&tokens[i]) }</h3>
            <ol>{ terms }{ for more }</ol>
            <p>{ "= " }<code>{ vec_str(&h.context_vec, i) }</code></p>
        </div>
    }
}

#[component]
pub fn Steps(props: &StepsProps) -> Html {
    let a = &props.attention;
    let n = a.num_tokens();
    // The focus this panel shows: the view's, once it has held still for FOLLOW_FOCUS_MS.
    let shown = use_state(|| props.view.focus.token);
    {
        let shown = shown.clone();
        let timer = use_mut_ref(|| None::<gloo_timers::callback::Timeout>);
        use_effect_with(props.view.focus.token, move |&focus| {
            // A newer focus replaces (and so cancels) the pending one.
            *timer.borrow_mut() = (*shown != focus)
                .then(|| gloo_timers::callback::Timeout::new(FOLLOW_FOCUS_MS, move || shown.set(focus)));
        });
    }
    let focus = shown.filter(|&f| f < n);
    let simplified = a.mode == Mode::Simplified;
    let first = &a.heads[0];
    let shared = &props.attention;
    let per_head: Html = if a.mode == Mode::MultiHead {
        a.heads
            .iter()
            .enumerate()
            .filter(|(h, _)| props.view.head_visible(*h))
            .map(|(h, hs)| {
                html! {
                    <details class="head-steps" open={h == 0} aria-label={text::head_steps_title(h, hs.values.ncols())}>
                        <summary>{ text::head_steps_title(h, hs.values.ncols()) }</summary>
                        <div class="matrices">{ head_steps(shared, h, focus, false) }</div>
                    </details>
                }
            })
            .collect()
    } else {
        html! { <div class="matrices">{ head_steps(shared, 0, focus, simplified) }</div> }
    };
    let variants = if a.sum_normalized.is_some() {
        html! { <div class="matrices">
            { matrix(shared, Sel::SumNormalized, "sum-normalised", text::step_formula("sum-normalised"), focus) }
            { matrix(shared, Sel::NaiveSoftmax, "naive softmax", text::step_formula("naive softmax"), focus) }
        </div> }
    } else {
        Html::default()
    };
    let tail = if a.concat.is_some() && a.mode == Mode::MultiHead {
        html! { <div class="matrices">
            { matrix(shared, Sel::Concat, "concat", text::step_formula("concat"), focus) }
            { matrix(shared, Sel::Output, "output", text::step_formula("output"), focus) }
        </div> }
    } else {
        Html::default()
    };
    // The focused row is marked by toggling a class on its few <tr>s after rendering: no matrix
    // re-renders and the browser restyles only those rows.
    let section = use_node_ref();
    {
        let section = section.clone();
        use_effect_with((focus, props.attention.clone()), move |(focus, _)| {
            let Some(root) = section.cast::<web_sys::Element>() else { return };
            if let Ok(old) = root.query_selector_all("tr.focus") {
                for k in 0..old.length() {
                    if let Some(el) = old.item(k).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
                        let _ = el.class_list().remove_1("focus");
                    }
                }
            }
            if let Some(i) = focus {
                if let Ok(rows) = root.query_selector_all(&format!("tr[data-row=\"{i}\"]")) {
                    for k in 0..rows.length() {
                        if let Some(el) = rows.item(k).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
                            let _ = el.class_list().add_1("focus");
                        }
                    }
                }
            }
        });
    }
    let sum = match (focus, a.mode) {
        (Some(i), m) if m != Mode::MultiHead => weighted_sum(first, &a.tokens, i, &props.onterm),
        (Some(i), _) => a.heads.iter().enumerate().find(|(h, _)| props.view.head_visible(*h)).map_or(Html::default(), |(_, hs)| {
            html! { <>{ weighted_sum(hs, &a.tokens, i, &props.onterm) }<p class="note">{ "(first visible head)" }</p></> }
        }),
        (None, _) => html! { <p class="hint">{ "Hover or tab to a token to see its context vector built term by term." }</p> },
    };
    html! {
        <section class="steps" aria-label="Steps" data-testid="steps" ref={section}>
            <h2>{ text::STEP_BY_STEP }</h2>
            { sum }
            { matrix(shared, Sel::Inputs, "inputs", text::step_formula("inputs"), focus) }
            { per_head }
            { variants }
            { tail }
        </section>
    }
}
