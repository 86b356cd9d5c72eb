//! The centre of the page: arcs between tokens (or the heatmap), head controls and small multiples.
//!
//! Test hooks (a contract): tokens carry `data-token-index`; arcs are `path` elements with `data-from`,
//! `data-to`, `data-weight` and, in multi-head mode, `data-head` (a head number, or `mean` / `max`).
//! Arcs of the focused token also carry `data-focused="true"`.

use super::heatmap::{Heatmap, SmallMultiples};
use super::token::TokenView;
use super::view_options::ViewOptions;
use super::Shared;
use crate::layout::drawn_weights;
use crate::layout::{self, arc_path, arc_style, head_colour, layout_tokens, select_arcs};
use crate::state::{Action, HeadView, View, ViewState, PRUNE_ABOVE};
use crate::text;
use arcs_core::attention::{Attention, Mode};
use arcs_core::tensor::Mat;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct VisualProps {
    pub attention: Shared<Attention>,
    pub view: ViewState,
    pub dark: bool,
    pub ondispatch: Callback<Action>,
    pub svg_ref: NodeRef,
    /// A key token whose arc from the focused token is being read in the steps panel.
    pub term: Option<usize>,
}

/// Vertical geometry of the arc view.
pub const BASELINE: f32 = 250.0;
const HEIGHT: f32 = 330.0;
/// Short sentences are spread to this width so their arcs are readable, or to the room the screen has
/// if that is less: a phone scrolls a sentence at full size rather than shrinking it to illegible text.
const MIN_WIDTH: f32 = 860.0;
/// The page's margins and the panel's padding around the arc view on a narrow screen.
const SIDE_ROOM: f64 = 60.0;
/// Colour of the focused token's arcs when heads are not coloured.
const FOCUS_LIGHT: &str = "#c45a00";
const FOCUS_DARK: &str = "#ffb000";

fn head_attr(head: Option<usize>, hv: HeadView, mode: Mode) -> Option<AttrValue> {
    if mode != Mode::MultiHead {
        return None;
    }
    Some(match head {
        Some(h) => AttrValue::from(h.to_string()),
        None => AttrValue::from(hv.as_str()),
    })
}

/// One arc, ready to draw: every attribute precomputed once per result, so re-rendering is cloning.
#[derive(Clone, PartialEq)]
struct ArcDraw {
    key: AttrValue,
    from: usize,
    d: AttrValue,
    stroke: &'static str,
    width: AttrValue,
    opacity: AttrValue,
    data_from: AttrValue,
    data_to: AttrValue,
    data_weight: AttrValue,
    data_head: Option<AttrValue>,
}

/// A base arc (not the focused token's: those are markup, see [`push_arc_markup`]).
fn arc_html(a: &ArcDraw) -> Html {
    html! {
        <path key={a.key.as_str()} d={a.d.clone()} fill="none" stroke={a.stroke} stroke-width={a.width.clone()}
              stroke-opacity={a.opacity.clone()} stroke-linecap="round"
              data-from={a.data_from.clone()} data-to={a.data_to.clone()} data-weight={a.data_weight.clone()}
              data-head={a.data_head.clone()} />
    }
}

/// A focused arc as markup: a base arc's attributes and `data-focused` (and `data-term` while the steps
/// panel reads its term), the test hooks' contract.
fn push_arc_markup(out: &mut String, a: &ArcDraw, term: bool) {
    // `fill` and `stroke-linecap` come from the focus layer's group: two attributes fewer to parse and
    // style per arc.
    let mut attrs = vec![
        ("d", a.d.as_str()),
        ("stroke", a.stroke),
        ("stroke-width", a.width.as_str()),
        ("stroke-opacity", a.opacity.as_str()),
        ("data-from", a.data_from.as_str()),
        ("data-to", a.data_to.as_str()),
        ("data-weight", a.data_weight.as_str()),
    ];
    if let Some(head) = &a.data_head {
        attrs.push(("data-head", head.as_str()));
    }
    attrs.push(("data-focused", "true"));
    if term {
        attrs.push(("data-term", "true"));
    }
    layout::push_path_markup(out, &attrs);
}

#[derive(Properties, PartialEq)]
struct ArcRowProps {
    arcs: Shared<Vec<ArcDraw>>,
    start: usize,
    end: usize,
}

#[derive(Properties, PartialEq)]
struct BaseArcsProps {
    arcs: Shared<Vec<ArcDraw>>,
    /// Each query token's `start..end` in `arcs`.
    rows: Shared<Vec<(usize, usize)>>,
}

/// Every query token's base arcs, a row each.
#[component]
fn BaseArcs(props: &BaseArcsProps) -> Html {
    props
        .rows
        .iter()
        .enumerate()
        .map(|(i, &(start, end))| html! { <ArcRow key={i} arcs={props.arcs.clone()} start={start} end={end} /> })
        .collect()
}

/// The base arcs of one query token. A component so that a new result re-renders only the rows that
/// changed, and a hover none.
#[component]
fn ArcRow(props: &ArcRowProps) -> Html {
    props.arcs[props.start..props.end].iter().map(arc_html).collect()
}

#[component]
pub fn Visual(props: &VisualProps) -> Html {
    let a = &props.attention;
    let v = &props.view;
    let d = props.ondispatch.clone();
    let n = a.num_tokens();
    let focus = v.focus.token.filter(|&f| f < n);

    let weights = {
        let key = (props.attention.clone(), v.display.hidden_heads, v.display.head_view);
        let view = v.clone();
        use_memo(key, move |(a, _, _)| drawn_weights(a, view.display.head_view, |h| view.head_visible(h)))
    };
    let window_width = super::hooks::use_window_width();
    let min_width = ((window_width - SIDE_ROOM) as f32).clamp(280.0, MIN_WIDTH);
    let tlayout =
        use_memo((props.attention.clone(), min_width.to_bits()), move |(a, _)| layout_tokens(&a.tokens, min_width));
    // The base layer of arcs depends on the numbers and pruning, not on hover: computed once per result.
    // Many heads at once: one head leads, the others show only from the focused token.
    let lead = layout::lead_head(&weights, v.model.head, v.display.every_head);
    let base = {
        let key = (
            props.attention.clone(),
            v.display.hidden_heads,
            v.display.head_view,
            v.display.top_k,
            v.display.threshold.to_bits(),
            lead,
        );
        let weights = weights.clone();
        let top_k = v.display.top_k;
        let threshold = v.display.threshold;
        use_memo(key, move |_| {
            let refs: Vec<(Option<usize>, &Mat)> =
                weights.iter().filter(|(h, _)| lead.is_none() || *h == lead).map(|(h, m)| (*h, m.as_ref())).collect();
            select_arcs(&refs, None, top_k, threshold)
        })
    };
    let (base_arcs, pruned) = (&base.0, base.1);
    let colour_of = |head: Option<usize>| -> &'static str {
        match head {
            Some(h) => head_colour(h),
            None if props.dark => "#7fb8ff",
            None => "#2160b0",
        }
    };
    let lift = |head: Option<usize>| head.map_or(0.0, |h| h as f32 * 3.0);

    let draw = |arc: &layout::Arc, focused: bool| -> ArcDraw {
        let (mut w, o) = arc_style(arc.weight, if focused { Some(true) } else { None });
        if focused && props.term == Some(arc.to) {
            w += 4.0;
        }
        let stroke = match (focused, arc.head) {
            (true, None) => {
                if props.dark {
                    FOCUS_DARK
                } else {
                    FOCUS_LIGHT
                }
            }
            _ => colour_of(arc.head),
        };
        ArcDraw {
            key: AttrValue::from(format!("{}-{}-{}", arc.from, arc.to, arc.head.map_or(-1, |h| h as i64))),
            from: arc.from,
            d: AttrValue::from(arc_path(&tlayout, arc.from, arc.to, BASELINE, lift(arc.head))),
            stroke,
            width: AttrValue::from(format!("{w:.2}")),
            opacity: AttrValue::from(format!("{o:.3}")),
            data_from: AttrValue::from(arc.from.to_string()),
            data_to: AttrValue::from(arc.to.to_string()),
            data_weight: AttrValue::from(arc.weight.to_string()),
            data_head: head_attr(arc.head, v.display.head_view, a.mode),
        }
    };
    // Base arcs grouped by query token (strongest last within a row, so they paint on top), each row
    // a component: hovering re-renders two rows, not every arc.
    let base_draw = {
        let key = (base.clone(), tlayout.clone(), props.dark);
        use_memo(key, |_| {
            let mut arcs: Vec<&layout::Arc> = base_arcs.iter().collect();
            arcs.sort_by(|x, y| x.from.cmp(&y.from).then(x.weight.total_cmp(&y.weight)));
            let draws: Vec<ArcDraw> = arcs.into_iter().map(|arc| draw(arc, false)).collect();
            let mut rows = vec![(0usize, 0usize); n];
            let mut k = 0;
            for (i, row) in rows.iter_mut().enumerate() {
                let start = k;
                while k < draws.len() && draws[k].from == i {
                    k += 1;
                }
                *row = (start, k);
            }
            (Shared(std::rc::Rc::new(draws)), Shared(std::rc::Rc::new(rows)))
        })
    };
    // The base stays as it is while a token is focused (the veil dims it, the focused arcs are drawn over
    // it): one component whose props a hover does not change.
    let base_nodes = html! { <BaseArcs arcs={base_draw.0.clone()} rows={base_draw.1.clone()} /> };
    // The focused token's arcs are drawn whole (never pruned) on top of the rest, written as one piece
    // of markup (see `layout::push_path_markup`); not while the heatmap hides the arcs.
    let focus_nodes: Html = match focus.filter(|_| v.display.view == View::Arcs) {
        Some(i) => {
            let refs: Vec<(Option<usize>, &Mat)> = weights.iter().map(|(h, m)| (*h, m.as_ref())).collect();
            let arcs =
                layout::focus_arcs(&refs, i, v.display.threshold, |h| layout::focus_limit(lead, h, n, refs.len()));
            // One group around them: a hover then removes and inserts one node, not hundreds.
            let mut markup = String::with_capacity(arcs.len() * 200 + 7);
            markup.push_str("<g>");
            for arc in &arcs {
                push_arc_markup(&mut markup, &draw(arc, true), props.term == Some(arc.to));
            }
            markup.push_str("</g>");
            Html::from_html_unchecked(AttrValue::from(markup))
        }
        None => Html::default(),
    };

    // Weight labels under the keys of the focused token (one head or the combined view only).
    let labels: Html = match (focus, weights.len()) {
        (Some(i), 1) if n <= 40 => {
            let m = &weights[0].1;
            (0..n)
                .filter(|&j| m[(i, j)] > 0.0)
                .map(|j| {
                    html! { <text x={format!("{:.1}", tlayout.x[j])} y={format!("{:.1}", BASELINE + 44.0)} text-anchor="middle"
                                  font-size="11" font-family="system-ui, sans-serif" fill={if props.dark { "#ffd27a" } else { "#8a4b00" }}>
                                { format!("{:.2}", m[(i, j)]) }</text> }
                })
                .collect()
        }
        _ => Html::default(),
    };

    let text_fill = if props.dark { "#e8e8e8" } else { "#1a1a1a" };
    // WordPieces joined into the words that were typed, drawn as brackets under the tokens.
    let joined: Html = if v.display.join_pieces {
        layout::piece_groups(&a.tokens)
            .into_iter()
            .map(|(i, j, word)| {
                let (x0, x1) = (tlayout.x[i] - tlayout.w[i] / 2.0, tlayout.x[j] + tlayout.w[j] / 2.0);
                let y = BASELINE + 54.0;
                html! { <g data-testid="joined-word">
                    <path d={format!("M{x0:.1} {:.1}V{y:.1}H{x1:.1}V{:.1}", y - 6.0, y - 6.0)} fill="none" stroke={text_fill} stroke-width="1.2" />
                    <text x={format!("{:.1}", (x0 + x1) / 2.0)} y={format!("{:.1}", y + 14.0)} text-anchor="middle" font-size="13"
                          font-family="system-ui, sans-serif" fill={text_fill}>{ word }</text>
                </g> }
            })
            .collect()
    } else {
        Html::default()
    };
    // Each token's label and spoken name, made once per result (a hover re-renders every token's
    // node: a thousand of them at 1 024 tokens).
    let token_text = use_memo(props.attention.clone(), |a| {
        a.tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (AttrValue::from(t.chars().take(24).collect::<String>()), AttrValue::from(text::token_aria(i, t)))
            })
            .collect::<Vec<_>>()
    });
    let token_nodes: Html = token_text
        .iter()
        .enumerate()
        .map(|(i, (label, aria))| {
            html! {
                <TokenView key={i} index={i} label={label.clone()}
                           aria={aria.clone()} x={tlayout.x[i]} w={tlayout.w[i]}
                           focused={focus == Some(i)} pinned={v.focus.pinned} dark={props.dark} count={n} ondispatch={d.clone()} />
            }
        })
        .collect();

    // Keyboard focus follows the focused token (arrow keys move it).
    {
        let svg_ref = props.svg_ref.clone();
        use_effect_with(focus, move |focus| {
            let Some(f) = *focus else { return };
            let Some(svg) = svg_ref.cast::<web_sys::Element>() else { return };
            let active_is_token = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|doc| doc.active_element())
                .is_some_and(|el| el.has_attribute("data-token-index") && svg.contains(Some(&el)));
            if active_is_token {
                if let Ok(Some(el)) = svg.query_selector(&format!("[data-token-index=\"{f}\"]")) {
                    if let Ok(el) = el.dyn_into::<web_sys::SvgElement>() {
                        let _ = el.focus();
                    }
                }
            }
        });
    }

    // A pinned token (from a link, a click or the keyboard) is brought into the scrolling arc box: it is
    // what the view is about. Hovered tokens are under the pointer already.
    let arcbox_ref = use_node_ref();
    {
        let arcbox_ref = arcbox_ref.clone();
        let pinned_x = focus.filter(|_| v.focus.pinned).and_then(|f| Some((tlayout.x.get(f)?, tlayout.w.get(f)?)));
        // The view too: the box has no width while the heatmap is shown, so switching back scrolls again.
        let pinned_x = pinned_x.filter(|_| v.display.view == View::Arcs).map(|(x, w)| (x.to_bits(), w.to_bits()));
        use_effect_with(pinned_x, move |px| {
            let Some((x, w)) = *px else { return };
            let (x, w) = (f32::from_bits(x) as f64, f32::from_bits(w) as f64);
            let Some(boxed) = arcbox_ref.cast::<web_sys::Element>() else { return };
            let (left, width) = (boxed.scroll_left() as f64, boxed.client_width() as f64);
            if x - w / 2.0 < left || x + w / 2.0 > left + width {
                boxed.set_scroll_left((x - width / 2.0).max(0.0) as i32);
            }
        });
    }

    // Screen readers hear what the focused token attends to.
    let announce = match focus {
        Some(i) => weights
            .iter()
            .map(|(h, m)| {
                let row: Vec<(usize, f32)> = (0..n).map(|j| (j, m[(i, j)])).collect();
                let prefix = match h {
                    Some(h) => text::announce_head(*h),
                    None => String::new(),
                };
                format!("{prefix}{}", text::attends_sentence(&a.tokens, i, &row, 5))
            })
            .collect::<Vec<_>>()
            .join(". "),
        None => String::new(),
    };

    let width = tlayout.width.max(320.0);
    let fit = width <= min_width + 1.0;
    let view_box = AttrValue::from(format!("0 0 {width:.0} {HEIGHT:.0}"));
    let heat: Vec<(Option<usize>, Rc<Mat>)> = weights.as_ref().clone();
    let bg = if props.dark { "#161a22" } else { "#ffffff" };
    html! {
        <section class="visual" aria-label={text::VISUAL_LABEL}>
            <ViewOptions view={v.without_focus()} heads={if a.mode == Mode::MultiHead { a.heads.len() } else { 0 }} {lead}
                         many={weights.iter().filter(|(h, _)| h.is_some()).count() > layout::MANY_HEADS}
                         show_pruning={n > PRUNE_ABOVE || pruned} {pruned}
                         focus_strongest={layout::focus_limit(lead, lead, n, weights.len())}
                         ondispatch={d.clone()} />
            <div class="arcbox" ref={arcbox_ref} hidden={v.display.view != View::Arcs}>
                <div class={classes!("arcstack", fit.then_some("fit"))}>
                <svg ref={props.svg_ref.clone()} xmlns="http://www.w3.org/2000/svg" class={classes!("arcs", fit.then_some("fit"))} data-testid="arc-view"
                     width={format!("{width:.0}")} height={format!("{HEIGHT:.0}")} viewBox={view_box.clone()}
                     role="group" aria-label={text::ARCS_LABEL}
                     onmouseleave={{ let d = d.clone(); move |_: MouseEvent| d.emit(Action::Unhover) }}>
                    <rect x="0" y="0" width={format!("{width:.0}")} height={format!("{HEIGHT:.0}")} fill={bg} pointer-events="none" />
                    // Arcs take no pointer events: hit-testing hundreds of curved strokes on every mouse
                    // move costs more than drawing them.
                    <g class="base" pointer-events="none">{ base_nodes }</g>
                    <g pointer-events="none">{ joined }</g>
                    { token_nodes }
                </svg>
                // What a hover changes lives in a second drawing over the first, a layer of its own: a
                // hover lays out and repaints a few hundred elements, never the thousands below (the
                // SVG export puts the two back together).
                <svg xmlns="http://www.w3.org/2000/svg" class="arcs-over" data-testid="arc-overlay" aria-hidden="true"
                     width={format!("{width:.0}")} height={format!("{HEIGHT:.0}")} viewBox={view_box} pointer-events="none">
                    // A veil dims the other arcs while a token is focused: one element appears, instead of
                    // an opacity change that would restyle every arc.
                    if focus.is_some() {
                        <rect x="0" y="0" width={format!("{width:.0}")} height={format!("{BASELINE:.0}")} fill={bg} fill-opacity="0.6" />
                    }
                    <g class="focus" fill="none" stroke-linecap="round">{ focus_nodes }</g>
                    <g>{ labels }</g>
                </svg>
                </div>
            </div>
            if v.display.view == View::Heatmap {
                <Heatmap tokens={Shared(Rc::new(a.tokens.clone()))} weights={Shared(Rc::new(heat.clone()))} focus={focus} dark={props.dark}
                         causal={a.heads.iter().any(|h| h.mask.is_some())} ondispatch={d.clone()} />
            }
            if a.mode == Mode::MultiHead {
                <SmallMultiples attention={props.attention.clone()} focus={focus} dark={props.dark} ondispatch={d.clone()}
                                combined={v.rolled_out(a.heads.len()).then_some(text::ROLLOUT_CHIP)} />
            }
            <p class="visually-hidden" aria-live="polite" data-testid="announce">{ announce }</p>
        </section>
    }
}
