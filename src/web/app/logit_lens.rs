//! The logit lens (decoders): a layers x positions grid whose cells are the token the model would
//! predict next if the residual stream after that layer went straight to the final norm and the
//! unembedding. Hover or move with the arrow keys for a cell's top five, click or Enter to pin it. The
//! worker computes the lens from the kept pass (`models::logit_lens_of`).

use super::Shared;
use crate::layout::{heat_colour, heat_text_colour};
use crate::models::{Lens, ModelRun};
use crate::state::{Action, ViewState};
use crate::text;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LogitLensProps {
    pub run: Shared<ModelRun>,
    pub view: ViewState,
    pub dark: bool,
    pub ondispatch: Callback<Action>,
}

/// Characters of a token a cell shows (the title and the top-five list have it whole).
const CELL_CHARS: usize = 7;

/// A token as a cell shows it: spaces and line breaks made visible, cut to [`CELL_CHARS`].
fn cell_text(token: &str) -> String {
    let shown: String = token.replace(' ', "·").replace('\n', "↵");
    let mut out: String = shown.chars().take(CELL_CHARS).collect();
    if shown.chars().count() > CELL_CHARS {
        out.push('…');
    }
    out
}

/// The `(layer, position)` of the grid cell an event happened in.
fn cell_of(e: &Event) -> Option<(usize, usize)> {
    let el = e.target()?.dyn_into::<web_sys::Element>().ok()?.closest("td[data-layer]").ok()??;
    let num = |name: &str| el.get_attribute(name)?.parse().ok();
    Some((num("data-layer")?, num("data-pos")?))
}

#[component]
pub fn LogitLens(props: &LogitLensProps) -> Html {
    let d = props.ondispatch.clone();
    let run = &props.run;
    let hovered = use_state(|| None::<(usize, usize)>);
    // The grid's data, made once per pass (its props compare by identity).
    let grid_data = use_memo(props.run.clone(), |r| {
        r.logit_lens.clone().map(|l| (Shared(Rc::new(l)), Shared(Rc::new(r.tokens.clone()))))
    });
    let Some(lens_view) = props.view.display.lens else {
        if !run.shape.causal {
            return Html::default();
        }
        return html! {
            <section class="panel" aria-label={text::LENS_TITLE}>
                <button data-testid="lens-open" onclick={move |_: MouseEvent| d.emit(Action::SetLens(true))}>{ text::LENS_OPEN }</button>
            </section>
        };
    };
    let close = {
        let d = d.clone();
        move |_: MouseEvent| d.emit(Action::SetLens(false))
    };
    let body = match (grid_data.as_ref(), run.shape.causal) {
        (_, false) => html! { <p class="note">{ text::LENS_FOR_DECODERS }</p> },
        (None, true) if run.layer_only => {
            let note = text::lens_too_long(run.num_tokens(), crate::models::MAX_ALL_LAYERS_TOKENS);
            html! { <p class="note" data-testid="lens-too-long">{ note }</p> }
        }
        (None, true) => html! { <p class="hint" data-testid="lens-wait">{ text::LENS_WAIT }</p> },
        (Some((lens, tokens)), true) => {
            let onhover = {
                let hovered = hovered.clone();
                Callback::from(move |c: Option<(usize, usize)>| hovered.set(c))
            };
            let shown = (*hovered).or(lens_view.pin);
            let detail = shown.and_then(|(l, p)| Some((l, p, lens.get(l)?.get(p)?))).map_or_else(
                || html! { <p class="hint">{ text::LENS_HINT }</p> },
                |(l, p, top)| {
                    let items: Html = top
                        .iter()
                        .map(|g| {
                            html! { <li data-testid="lens-guess" data-id={g.id.to_string()} data-prob={g.prob.to_string()}>
                                <span class="bar" style={format!("width:{:.0}%", g.prob * 100.0)}></span>
                                <code>{ format!("{:?}", g.token) }</code><span class="pct">{ format!(" {:.1}%", g.prob * 100.0) }</span></li> }
                        })
                        .collect();
                    let token = run.tokens.get(p).map_or("", String::as_str);
                    let pinned = lens_view.pin == Some((l, p));
                    html! { <div class="lens-detail" data-testid="lens-top5" data-layer={l.to_string()} data-pos={p.to_string()}>
                        <h4>{ text::lens_top5_title(l, token, pinned) }</h4><ol>{ items }</ol></div> }
                },
            );
            html! {
                <>
                    <LensGrid lens={lens.clone()} tokens={tokens.clone()} dark={props.dark}
                              pin={lens_view.pin} onhover={onhover} ondispatch={d.clone()} />
                    { detail }
                </>
            }
        }
    };
    html! {
        <section class="panel lens" aria-label={text::LENS_TITLE} data-testid="logit-lens">
            <h3>{ text::LENS_TITLE }<button class="link" onclick={close}>{ text::ROLES_CLOSE }</button></h3>
            <p class="note" data-testid="lens-definition">{ text::LENS_DEFINITION }</p>
            { body }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct LensGridProps {
    lens: Shared<Lens>,
    tokens: Shared<Vec<String>>,
    dark: bool,
    pin: Option<(usize, usize)>,
    onhover: Callback<Option<(usize, usize)>>,
    ondispatch: Callback<Action>,
}

/// The grid. A component of its own whose props do not change on hover, so moving over thousands of
/// cells re-renders only the top-five list; one handler per event on the table, not one per cell.
#[component]
fn LensGrid(props: &LensGridProps) -> Html {
    let lens = &props.lens;
    let layers = lens.len();
    let n = props.tokens.len();
    // The one cell reached by Tab (a roving tab stop): the pinned one, else the first.
    let stop = props.pin.unwrap_or((0, 0));
    let table = use_node_ref();
    let onmouseover = {
        let h = props.onhover.clone();
        Callback::from(move |e: MouseEvent| h.emit(cell_of(&e)))
    };
    let onmouseleave = {
        let h = props.onhover.clone();
        Callback::from(move |_: MouseEvent| h.emit(None))
    };
    let onfocusin = {
        let h = props.onhover.clone();
        Callback::from(move |e: FocusEvent| h.emit(cell_of(&e)))
    };
    let onclick = {
        let (d, pin) = (props.ondispatch.clone(), props.pin);
        Callback::from(move |e: MouseEvent| {
            if let Some(c) = cell_of(&e) {
                d.emit(Action::PinLens(if pin == Some(c) { None } else { Some(c) }));
            }
        })
    };
    let onkeydown = {
        let (d, table) = (props.ondispatch.clone(), table.clone());
        Callback::from(move |e: KeyboardEvent| {
            let Some((l, p)) = cell_of(&e) else { return };
            let next = match e.key().as_str() {
                "ArrowUp" => (l.saturating_sub(1), p),
                "ArrowDown" => ((l + 1).min(layers.saturating_sub(1)), p),
                "ArrowLeft" => (l, p.saturating_sub(1)),
                "ArrowRight" => (l, (p + 1).min(n.saturating_sub(1))),
                "Home" => (l, 0),
                "End" => (l, n.saturating_sub(1)),
                "Enter" | " " => {
                    e.prevent_default();
                    d.emit(Action::PinLens(Some((l, p))));
                    return;
                }
                "Escape" => {
                    d.emit(Action::PinLens(None));
                    return;
                }
                _ => return,
            };
            e.prevent_default();
            let sel = format!("td[data-layer=\"{}\"][data-pos=\"{}\"]", next.0, next.1);
            let cell = table.cast::<web_sys::Element>().and_then(|t| t.query_selector(&sel).ok().flatten());
            if let Some(el) = cell.and_then(|c| c.dyn_into::<web_sys::HtmlElement>().ok()) {
                let _ = el.focus();
            }
        })
    };
    let head: Html = props.tokens.iter().map(|t| html! { <th scope="col">{ cell_text(t) }</th> }).collect();
    let rows: Html = lens
        .iter()
        .enumerate()
        .map(|(l, row)| {
            let last = l + 1 == layers;
            let cells: Html = row
                .iter()
                .enumerate()
                .map(|(p, top)| {
                    let Some(g) = top.first() else { return html! { <td></td> } };
                    let token = props.tokens.get(p).map_or("", String::as_str);
                    let label = text::lens_cell(l, last, token, &g.token, g.prob);
                    let style = format!("background:{};color:{}", heat_colour(g.prob, props.dark), heat_text_colour(g.prob, props.dark));
                    let pinned = props.pin == Some((l, p));
                    html! { <td role="gridcell" data-testid="lens-cell" data-layer={l.to_string()} data-pos={p.to_string()}
                                data-id={g.id.to_string()} data-prob={g.prob.to_string()} class={classes!(pinned.then_some("pinned"))}
                                aria-selected={pinned.to_string()} tabindex={if (l, p) == stop { "0" } else { "-1" }}
                                title={label.clone()} aria-label={label} {style}>{ cell_text(&g.token) }</td> }
                })
                .collect();
            let label = if last { format!("L{l} {}", text::LENS_OUTPUT_ROW) } else { format!("L{l}") };
            html! { <tr class={classes!(last.then_some("output"))}><th scope="row">{ label }</th>{ cells }</tr> }
        })
        .collect();
    html! {
        <div class="lens-scroll">
            <table class="lens-grid" role="grid" aria-label={text::LENS_GRID_LABEL} data-testid="lens-grid" ref={table}
                   {onmouseover} {onmouseleave} {onfocusin} {onclick} {onkeydown}>
                <thead><tr><th></th>{ head }</tr></thead>
                <tbody>{ rows }</tbody>
            </table>
        </div>
    }
}
