//! Compare two sentences (minimal pairs) through one real model: the same layer and head for both side
//! by side, B − A on the tokens they share (diverging colours), and the heads where the focused token's
//! attention moves most. The alignment, difference and ranking are `crate::compare`'s.

use super::heatmap::{grid_focus, grid_keys, Heatmap};
use super::Shared;
use crate::compare::{align, difference, moved_most};
use crate::layout::diverging_colour;
use crate::models::ModelRun;
use crate::state::{Action, ViewState};
use crate::text;
use arcs_core::tensor::Mat;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct CompareProps {
    pub run: Shared<ModelRun>,
    /// The compared sentence's pass, once it came.
    pub other: Option<Shared<ModelRun>>,
    pub error: Option<String>,
    pub view: ViewState,
    pub dark: bool,
    pub ondispatch: Callback<Action>,
}

/// Shared tokens past which the difference is drawn for the focused row only (an SVG cell each).
const DIFF_GRID_MAX: usize = 64;
/// Width of each of the two side-by-side grids' cells, so both fit next to each other on a laptop.
const SIDE_WIDTH: f32 = 330.0;
/// Heads listed in "moves most".
const RANK_ROWS: usize = 8;

/// What the panel draws for one layer and head, computed once per pair of passes.
struct Pair {
    pairs: Vec<(usize, usize)>,
    a: Rc<Mat>,
    b: Rc<Mat>,
    diff: Mat,
}

#[component]
pub fn Compare(props: &CompareProps) -> Html {
    let v = &props.view;
    let (layer, head) = (v.model.layer, v.model.head);
    let pair = use_memo((props.run.clone(), props.other.clone(), layer, head), |(run, other, layer, head)| {
        let other = other.as_ref()?;
        let (l, h) = ((*layer).min(run.shape.layers - 1), (*head).min(run.shape.heads - 1));
        let pairs = align(&run.tokens, &other.tokens);
        let (a, b) = (run.attention(l, h), other.attention(l, h));
        let diff = difference(&a, &b, &pairs);
        Some(Pair { pairs, a: Rc::new(a), b: Rc::new(b), diff })
    });
    let focus_pair = v.focus.token.and_then(|i| pair.as_ref().as_ref()?.pairs.iter().position(|&(a, _)| a == i));
    let ranking = use_memo((props.run.clone(), props.other.clone(), focus_pair), |(run, other, p)| {
        let (other, p) = (other.as_ref()?, (*p)?);
        Some(moved_most(run, other, &align(&run.tokens, &other.tokens), p))
    });
    let a_text = props.run.text.clone();
    let b_text = v.engine.compare.clone().unwrap_or_default();
    let heading = html! {
        <>
            <h3>{ text::COMPARE_TITLE }<span class="note">{ format!(" — {}", text::compare_head(layer, head)) }</span></h3>
            <p class="compare-texts"><span data-testid="compare-a-text">{ text::compare_side("A", &a_text) }</span><br />
                <span data-testid="compare-b-text">{ text::compare_side("B", &b_text) }</span></p>
        </>
    };
    let body = match (pair.as_ref(), &props.other, &props.error) {
        (_, _, Some(e)) => {
            html! { <p class="error" role="alert" data-testid="compare-error">{ text::compare_failed(e) }</p> }
        }
        _ if b_text.trim().is_empty() => html! { <p class="hint">{ text::COMPARE_EMPTY }</p> },
        (Some(p), Some(other), None) => side_by_side(props, p, other, focus_pair, ranking.as_ref().as_deref()),
        _ => html! { <p class="hint" data-testid="compare-wait">{ text::COMPARE_WAIT }</p> },
    };
    html! {
        <section class="panel compare" aria-label={text::COMPARE_TITLE} data-testid="compare">
            { heading }
            { body }
        </section>
    }
}

fn side_by_side(
    props: &CompareProps,
    p: &Pair,
    other: &Shared<ModelRun>,
    focus_pair: Option<usize>,
    ranking: Option<&[(usize, usize, f32)]>,
) -> Html {
    let v = &props.view;
    let d = props.ondispatch.clone();
    let causal = props.run.shape.causal;
    // B's tokens stand for A's where they are aligned: hovering one hovers the other.
    let to_a: Rc<Vec<Option<usize>>> = Rc::new({
        let mut m = vec![None; other.num_tokens()];
        for &(a, b) in &p.pairs {
            m[b] = Some(a);
        }
        m
    });
    let b_dispatch = {
        let (d, to_a) = (d.clone(), to_a.clone());
        Callback::from(move |act: Action| match act {
            Action::Hover(b) => d.emit(to_a.get(b).copied().flatten().map_or(Action::Unhover, Action::Hover)),
            other => d.emit(other),
        })
    };
    let b_focus = focus_pair.map(|k| p.pairs[k].1);
    let side = |label: &str,
                testid: &str,
                tokens: &[String],
                m: &Rc<Mat>,
                focus: Option<usize>,
                ondispatch: Callback<Action>| {
        html! {
            <figure class="compare-side" data-testid={testid.to_string()}>
                <figcaption>{ label.to_string() }</figcaption>
                <Heatmap tokens={Shared(Rc::new(tokens.to_vec()))} weights={Shared(Rc::new(vec![(None, m.clone())]))}
                         focus={focus} dark={props.dark} causal={causal} ondispatch={ondispatch} size={SIDE_WIDTH}
                         keys={label == "A"} />
            </figure>
        }
    };
    let shared_tokens: Vec<String> = p.pairs.iter().map(|&(a, _)| props.run.tokens[a].clone()).collect();
    let diff = if p.pairs.is_empty() {
        html! { <p class="note">{ text::COMPARE_NO_SHARED }</p> }
    } else {
        let n = props.run.tokens.len();
        html! {
            <div class="diff-keys" data-testid="diff-keys" tabindex="0" role="group" aria-label={text::DIFF_KEYS}
                 onkeydown={grid_keys(n, v.focus.token, &d)} onfocus={grid_focus(v.focus.token, &d)}>
                { diff_grid(&p.diff, &shared_tokens, &p.a, &p.b, &p.pairs, focus_pair, props.dark, &d) }
            </div>
        }
    };
    let rank = match (ranking, focus_pair) {
        (Some(list), Some(k)) => {
            let items: Html = list
                .iter()
                .take(RANK_ROWS)
                .map(|&(l, h, moved)| {
                    let d = d.clone();
                    html! { <li><button class="chip" data-testid="compare-rank" data-layer={l.to_string()} data-head={h.to_string()} data-moved={moved.to_string()}
                                        onclick={move |_: MouseEvent| d.emit(Action::OpenHead { layer: l, head: h })}>
                        { text::compare_rank_entry(l, h, moved) }</button></li> }
                })
                .collect();
            // A decoder's token before the first changed word sees the same tokens in both: nothing moves.
            let unmoved = causal && list.first().is_none_or(|&(_, _, m)| m == 0.0);
            html! { <><h4>{ text::compare_rank_title(&shared_tokens[k]) }</h4>
            if unmoved { <p class="note" data-testid="compare-unmoved">{ text::COMPARE_CAUSAL_SAME }</p> }
            <ol class="ranking">{ items }</ol></> }
        }
        _ => html! { <p class="hint">{ text::COMPARE_RANK_HINT }</p> },
    };
    html! {
        <>
            <div class="compare-sides">
                { side("A", "compare-a", &props.run.tokens, &p.a, v.focus.token, d.clone()) }
                { side("B", "compare-b", &other.tokens, &p.b, b_focus, b_dispatch) }
            </div>
            <p class="note">{ text::COMPARE_DIFF_NOTE }</p>
            { diff }
            { rank }
        </>
    }
}

/// B − A as an SVG grid over the shared tokens (or the focused row alone when there are many), one
/// `<title>` per cell with both numbers; hovering a row focuses its token.
#[allow(clippy::too_many_arguments)]
fn diff_grid(
    diff: &Mat,
    tokens: &[String],
    a: &Mat,
    b: &Mat,
    pairs: &[(usize, usize)],
    focus_pair: Option<usize>,
    dark: bool,
    d: &Callback<Action>,
) -> Html {
    let k = tokens.len();
    let rows: Vec<usize> = if k <= DIFF_GRID_MAX { (0..k).collect() } else { focus_pair.into_iter().collect() };
    let cell = (480.0 / k as f32).clamp(4.0, 36.0);
    let pad = 90.0;
    let max = (0..diff.nrows())
        .flat_map(|i| (0..diff.ncols()).map(move |j| (i, j)))
        .map(|(i, j)| diff[(i, j)].abs())
        .filter(|x| x.is_finite())
        .fold(1e-6f32, f32::max);
    let text_fill = if dark { "#e8e8e8" } else { "#1a1a1a" };
    let cells: Html = rows
        .iter()
        .enumerate()
        .flat_map(|(r, &i)| (0..k).map(move |j| (r, i, j)))
        .map(|(r, i, j)| {
            let x = diff[(i, j)];
            let ((ai, bi), (aj, bj)) = (pairs[i], pairs[j]);
            let title = text::compare_cell(&tokens[i], &tokens[j], a[(ai, aj)], b[(bi, bj)]);
            let on_enter = {
                let d = d.clone();
                move |_: MouseEvent| d.emit(Action::Hover(ai))
            };
            html! {
                <rect data-testid="diff-cell" data-q={ai.to_string()} data-k={aj.to_string()} data-diff={x.to_string()}
                      x={format!("{:.1}", pad + cell * j as f32)} y={format!("{:.1}", pad + cell * r as f32)}
                      width={format!("{:.1}", cell - 1.0)} height={format!("{:.1}", cell - 1.0)}
                      fill={diverging_colour(x / max, dark)} stroke={if focus_pair == Some(i) { "#e69f00" } else { "none" }}
                      onmouseenter={on_enter}><title>{ title }</title></rect>
            }
        })
        .collect();
    let labels: Html = tokens
        .iter()
        .enumerate()
        .map(|(j, t)| {
            let t: String = t.chars().take(12).collect();
            let c = pad + cell * j as f32 + cell / 2.0;
            html! { <text transform={format!("translate({c:.1},{:.1}) rotate(-60)", pad - 6.0)} font-size="11"
                          font-family="system-ui, sans-serif" fill={text_fill}>{ t }</text> }
        })
        .chain(rows.iter().enumerate().map(|(r, &i)| {
            let t: String = tokens[i].chars().take(12).collect();
            html! { <text x={format!("{:.1}", pad - 6.0)} y={format!("{:.1}", pad + cell * r as f32 + cell / 2.0 + 4.0)} text-anchor="end"
                          font-size="11" font-family="system-ui, sans-serif" fill={text_fill}>{ t }</text> }
        }))
        .collect();
    let (w, h) = (pad + cell * k as f32 + 2.0, pad + cell * rows.len() as f32 + 2.0);
    html! {
        <>
            if k > DIFF_GRID_MAX { <p class="note">{ text::COMPARE_DIFF_LONG }</p> }
            <svg xmlns="http://www.w3.org/2000/svg" class="diff" data-testid="compare-diff" width={format!("{w:.0}")} height={format!("{h:.0}")}
                 viewBox={format!("0 0 {w:.0} {h:.0}")} role="img" aria-label={text::COMPARE_DIFF_NOTE}>{ labels }{ cells }</svg>
        </>
    }
}
