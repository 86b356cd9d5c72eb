//! The attention matrix as a grid of cells, and one small grid per head in multi-head mode.
//!
//! Up to [`SVG_MAX`] tokens the grid is SVG (crisp, exportable, one `<title>` per cell for the exact
//! number); beyond that a canvas, since tens of thousands of SVG cells would stall the page.

use super::Shared;
use crate::layout::{head_colour, heat_colour, heat_rgb, heat_text_colour, max_pool};
use crate::state::Action;
use crate::text;
use arcs_core::attention::Attention;
use arcs_core::tensor::Mat;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::prelude::*;

const SVG_MAX: usize = 64;
/// Largest side of a thumbnail's image (the overview draws them 36 px wide).
const MINI_MAX: usize = 64;

#[derive(Properties, PartialEq)]
pub struct HeatmapProps {
    pub tokens: Shared<Vec<String>>,
    pub weights: Shared<Vec<(Option<usize>, Rc<Mat>)>>,
    pub focus: Option<usize>,
    pub dark: bool,
    pub causal: bool,
    pub ondispatch: Callback<Action>,
    /// Width in pixels the cells of one grid share (two side by side take less each).
    #[prop_or(560.0)]
    pub size: f32,
    /// The grid takes keyboard focus and moves the focused row with the arrows (B's side of a comparison
    /// does not: the focus is on A's tokens).
    #[prop_or(true)]
    pub keys: bool,
}

#[allow(clippy::too_many_arguments)]
fn grid(
    tokens: &[String],
    m: &Mat,
    cell: f32,
    focus: Option<usize>,
    dark: bool,
    causal: bool,
    labels: bool,
    d: &Callback<Action>,
) -> Html {
    let n = m.nrows();
    let pad = if labels { 90.0 } else { 2.0 };
    let size = pad + cell * n as f32 + 2.0;
    let show_numbers = cell >= 34.0;
    let hatch = if dark { "#3a3f4a" } else { "#d9dde3" };
    let cells: Html = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .map(|(i, j)| {
            let w = m[(i, j)];
            let masked = causal && j > i;
            let (x, y) = (pad + cell * j as f32, pad + cell * i as f32);
            let fill = if masked { "url(#hatch)".to_string() } else { heat_colour(w, dark) };
            let title = if masked {
                format!("{} → {}: masked (future)", tokens[i], tokens[j])
            } else {
                format!("{} → {}: {w:.4}", tokens[i], tokens[j])
            };
            let on_enter = {
                let d = d.clone();
                move |_: MouseEvent| d.emit(Action::Hover(i))
            };
            html! {
                <g data-row={i.to_string()} data-col={j.to_string()} data-weight={w.to_string()} data-masked={masked.then_some("true")} onmouseenter={on_enter}>
                    <rect x={format!("{x:.1}")} y={format!("{y:.1}")} width={format!("{:.1}", cell - 1.0)} height={format!("{:.1}", cell - 1.0)} fill={fill}
                          stroke={if focus == Some(i) { "#e69f00" } else { "none" }} stroke-width="1.5"><title>{ title }</title></rect>
                    if show_numbers && !masked {
                        <text x={format!("{:.1}", x + cell / 2.0)} y={format!("{:.1}", y + cell / 2.0 + 4.0)} text-anchor="middle" font-size="11"
                              font-family="system-ui, sans-serif" fill={heat_text_colour(w, dark)} pointer-events="none">{ format!("{w:.2}") }</text>
                    }
                </g>
            }
        })
        .collect();
    let text_fill = if dark { "#e8e8e8" } else { "#1a1a1a" };
    let axis: Html = if labels {
        tokens
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let t: String = t.chars().take(12).collect();
                let c = pad + cell * k as f32 + cell / 2.0;
                let weight = if focus == Some(k) { "bold" } else { "normal" };
                html! { <>
                    <text x={format!("{:.1}", pad - 6.0)} y={format!("{:.1}", c + 4.0)} text-anchor="end" font-size="12" font-weight={weight} font-family="system-ui, sans-serif" fill={text_fill}>{ t.clone() }</text>
                    <text transform={format!("translate({c:.1},{:.1}) rotate(-60)", pad - 6.0)} font-size="12" font-family="system-ui, sans-serif" fill={text_fill}>{ t }</text>
                </> }
            })
            .collect()
    } else {
        Html::default()
    };
    html! {
        <svg xmlns="http://www.w3.org/2000/svg" width={format!("{size:.0}")} height={format!("{size:.0}")} class="heat"
             role="img" aria-label={text::HEATMAP_LABEL}>
            <defs>
                <pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
                    <rect width="6" height="6" fill={if dark { "#1d2129" } else { "#f4f5f7" }} />
                    <line x1="0" y1="0" x2="0" y2="6" stroke={hatch} stroke-width="3" />
                </pattern>
            </defs>
            { axis }
            { cells }
        </svg>
    }
}

#[derive(Properties, PartialEq)]
struct CanvasGridProps {
    weights: Shared<Mat>,
    px: u32,
    dark: bool,
    causal: bool,
    focus: Option<usize>,
    ondispatch: Callback<Action>,
}

/// Large grids: one pixel block per cell on a canvas, repainted only when the numbers change.
#[component]
fn CanvasGrid(props: &CanvasGridProps) -> Html {
    let canvas = use_node_ref();
    let n = props.weights.nrows();
    let px = props.px.max(1);
    {
        let canvas = canvas.clone();
        use_effect_with((props.weights.clone(), props.dark, props.causal), move |(m, dark, causal)| {
            let Some(c) = canvas.cast::<HtmlCanvasElement>() else { return };
            let Some(ctx) =
                c.get_context("2d").ok().flatten().and_then(|x| x.dyn_into::<CanvasRenderingContext2d>().ok())
            else {
                return;
            };
            // One pixel per cell, painted in one putImageData and scaled up crisply by CSS: a
            // fillRect per cell took seconds at 512 tokens.
            let n = m.nrows();
            let masked = if *dark { [0x2a, 0x2f, 0x3a] } else { [0xe6, 0xe8, 0xec] };
            let mut rgba = Vec::with_capacity(n * n * 4);
            for i in 0..n {
                for j in 0..n {
                    let c = if *causal && j > i { masked } else { heat_rgb(m[(i, j)], *dark) };
                    rgba.extend_from_slice(&[c[0], c[1], c[2], 255]);
                }
            }
            if let Ok(img) =
                web_sys::ImageData::new_with_u8_clamped_array_and_sh(wasm_bindgen::Clamped(&rgba), n as u32, n as u32)
            {
                let _ = ctx.put_image_data(&img, 0.0, 0.0);
            }
        });
    }
    let onmousemove = {
        let d = props.ondispatch.clone();
        move |e: MouseEvent| {
            let row = (e.offset_y().max(0) as u32 / px) as usize;
            if row < n {
                d.emit(Action::Hover(row));
            }
        }
    };
    let size = n as u32 * px;
    html! {
        <div class="canvas-grid">
            <canvas ref={canvas} class="pixel-canvas" width={n.to_string()} height={n.to_string()} {onmousemove}
                    style={format!("width:{size}px;height:{size}px")} aria-label={text::HEATMAP_CANVAS_LABEL} role="img"></canvas>
            if let Some(f) = props.focus {
                <div class="row-marker" style={format!("top:{}px;height:{}px", f as u32 * px, px)}></div>
            }
        </div>
    }
}

/// Keys on a grid of `n` query rows, as on the arc view's tokens: arrows move the focused row, Home and
/// End go to the ends, Enter or Space pins (the row in focus, else the first). Screen readers hear the
/// row through the page's announcements.
pub fn grid_keys(n: usize, focus: Option<usize>, d: &Callback<Action>) -> Callback<KeyboardEvent> {
    let d = d.clone();
    Callback::from(move |e: KeyboardEvent| {
        let action = match e.key().as_str() {
            "ArrowDown" | "ArrowRight" => Action::MoveFocus(1, n),
            "ArrowUp" | "ArrowLeft" => Action::MoveFocus(-1, n),
            "Home" => Action::MoveFocus(-(n as isize), n),
            "End" => Action::MoveFocus(n as isize, n),
            "Enter" | " " => Action::TogglePin(focus.unwrap_or(0).min(n.saturating_sub(1))),
            _ => return,
        };
        e.prevent_default();
        d.emit(action);
    })
}

/// Focus arriving on a grid shows its first row if no row is shown yet.
pub fn grid_focus(focus: Option<usize>, d: &Callback<Action>) -> Callback<FocusEvent> {
    let d = d.clone();
    Callback::from(move |_: FocusEvent| {
        if focus.is_none() {
            d.emit(Action::Hover(0));
        }
    })
}

#[component]
pub fn Heatmap(props: &HeatmapProps) -> Html {
    let d = &props.ondispatch;
    let panels: Html = props
        .weights
        .iter()
        .map(|(h, m)| {
            let title = match h {
                Some(h) => html! { <h3><span class="swatch" style={format!("background:{}", head_colour(*h))}></span>{ format!("head {h}") }</h3> },
                None => Html::default(),
            };
            let n = m.nrows();
            let body = if n <= SVG_MAX {
                let cell = (props.size / n as f32).clamp(8.0, 44.0);
                grid(&props.tokens, m, cell, props.focus, props.dark, props.causal, true, d)
            } else {
                let px = (640 / n as u32).max(2);
                html! { <CanvasGrid weights={Shared(m.clone())} px={px} dark={props.dark} causal={props.causal} focus={props.focus} ondispatch={d.clone()} /> }
            };
            html! { <figure class="heat-panel" data-testid="heatmap">{ title }{ body }</figure> }
        })
        .collect();
    if !props.keys {
        return html! { <div class="heatmaps">{ panels }</div> };
    }
    let n = props.tokens.len();
    html! {
        <div class="heatmaps" data-testid="heatmaps" tabindex="0" role="group" aria-label={text::HEATMAP_KEYS}
             onkeydown={grid_keys(n, props.focus, d)} onfocus={grid_focus(props.focus, d)}>{ panels }</div>
    }
}

#[derive(Properties, PartialEq)]
pub struct SmallMultiplesProps {
    pub attention: Shared<Attention>,
    /// The one matrix is not a head but every head combined (rollout): its label, and no mean or max
    /// of one matrix.
    pub combined: Option<&'static str>,
    pub focus: Option<usize>,
    pub dark: bool,
    pub ondispatch: Callback<Action>,
}

/// One small grid per head plus the mean and max over heads; hovering any of them moves the shared
/// focus, so every grid and the arcs highlight the same query row.
#[component]
pub fn SmallMultiples(props: &SmallMultiplesProps) -> Html {
    let a = &props.attention;
    let extra = use_memo(props.attention.clone(), |a| (Rc::new(a.mean_weights()), Rc::new(a.max_weights())));
    // Each head's weights behind an Rc made once per pass, so a hover (which moves only the row marker)
    // does not repaint every canvas.
    let per_head = use_memo(props.attention.clone(), |a| {
        a.heads.iter().map(|h| Rc::new(h.attn_weights.clone())).collect::<Vec<_>>()
    });
    let n = a.num_tokens();
    let causal = a.heads.iter().any(|h| h.mask.is_some());
    let mini = |label: Html, m: &Rc<Mat>, testid: &str| {
        let body = if n <= 32 {
            let cell = (96.0 / n as f32).clamp(3.0, 16.0);
            grid(&a.tokens, m, cell, props.focus, props.dark, causal, false, &props.ondispatch)
        } else {
            let px = (128 / n as u32).max(1);
            html! { <CanvasGrid weights={Shared(m.clone())} px={px} dark={props.dark} causal={causal} focus={props.focus} ondispatch={props.ondispatch.clone()} /> }
        };
        html! { <figure class="mini" data-testid={testid.to_string()}><figcaption>{ label }</figcaption>{ body }</figure> }
    };
    let heads: Html = per_head
        .iter()
        .enumerate()
        .map(|(h, m)| {
            let name = props.combined.map_or_else(|| text::head_chip(h), str::to_string);
            let label =
                html! { <><span class="swatch" style={format!("background:{}", head_colour(h))}></span>{ name }</> };
            mini(label, m, "mini-head")
        })
        .collect();
    html! {
        <div class="multiples" role="group" aria-label={text::MULTIPLES_LABEL}>
            { heads }
            if props.combined.is_none() {
                { mini(html! { {"mean"} }, &extra.0, "mini-mean") }
                { mini(html! { {"max"} }, &extra.1, "mini-max") }
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct MiniCanvasProps {
    pub weights: Shared<Mat>,
    /// CSS size in pixels (the canvas holds one pixel per cell and is scaled up crisply).
    pub size: u32,
    pub dark: bool,
}

/// A thumbnail of one attention matrix: one pixel per cell, painted in a single `putImageData`.
#[component]
pub fn MiniCanvas(props: &MiniCanvasProps) -> Html {
    let canvas = use_node_ref();
    // Thumbnails are 36 px: past 64 tokens the matrix is pooled (largest weight of each block), so a
    // 512-token pass paints 72 small images, not 72 of 512 x 512.
    let pooled = use_memo(props.weights.clone(), |m| {
        let m = &m.0;
        max_pool(m.nrows(), |i, j| m[(i, j)], MINI_MAX)
    });
    let n = pooled.0.max(1) as u32;
    {
        let canvas = canvas.clone();
        use_effect_with((pooled.clone(), props.dark), move |(pooled, dark)| {
            let Some(c) = canvas.cast::<HtmlCanvasElement>() else { return };
            let Some(ctx) =
                c.get_context("2d").ok().flatten().and_then(|x| x.dyn_into::<CanvasRenderingContext2d>().ok())
            else {
                return;
            };
            let (side, values) = &**pooled;
            let mut rgba = Vec::with_capacity(values.len() * 4);
            for &w in values {
                let c = heat_rgb(w, *dark);
                rgba.extend_from_slice(&[c[0], c[1], c[2], 255]);
            }
            if let Ok(img) = web_sys::ImageData::new_with_u8_clamped_array_and_sh(
                wasm_bindgen::Clamped(&rgba),
                *side as u32,
                *side as u32,
            ) {
                let _ = ctx.put_image_data(&img, 0.0, 0.0);
            }
        });
    }
    html! {
        <canvas ref={canvas} class="mini-canvas" width={n.to_string()} height={n.to_string()}
                style={format!("width:{0}px;height:{0}px", props.size)} aria-hidden="true"></canvas>
    }
}
