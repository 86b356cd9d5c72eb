//! One token of the arc view: hover shows its arcs, click or Enter pins, arrows move along the sentence.

use super::arcs::BASELINE;
use crate::state::Action;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct TokenProps {
    pub index: usize,
    pub label: AttrValue,
    pub aria: AttrValue,
    pub x: f32,
    pub w: f32,
    pub focused: bool,
    pub pinned: bool,
    pub dark: bool,
    pub count: usize,
    pub ondispatch: Callback<Action>,
}

/// One token box: hover shows its arcs, click or Enter pins, arrows move along the sentence.
#[component]
pub fn TokenView(props: &TokenProps) -> Html {
    let (i, n, d) = (props.index, props.count, props.ondispatch.clone());
    let on_enter = {
        let d = d.clone();
        move |_: MouseEvent| d.emit(Action::Hover(i))
    };
    let on_leave = {
        let d = d.clone();
        move |_: MouseEvent| d.emit(Action::Unhover)
    };
    let on_click = {
        let d = d.clone();
        move |_: MouseEvent| d.emit(Action::TogglePin(i))
    };
    let on_focus = {
        let d = d.clone();
        move |_: FocusEvent| d.emit(Action::Hover(i))
    };
    let on_key = move |e: KeyboardEvent| match e.key().as_str() {
        "ArrowRight" | "ArrowDown" => {
            e.prevent_default();
            d.emit(Action::MoveFocus(1, n));
        }
        "ArrowLeft" | "ArrowUp" => {
            e.prevent_default();
            d.emit(Action::MoveFocus(-1, n));
        }
        "Home" => d.emit(Action::MoveFocus(-(n as isize), n)),
        "End" => d.emit(Action::MoveFocus(n as isize, n)),
        "Enter" | " " => {
            e.prevent_default();
            d.emit(Action::TogglePin(i));
        }
        _ => {}
    };
    let (x, w) = (props.x, props.w);
    let bg = match (props.focused, props.dark) {
        (true, false) => "#ffe2b3",
        (true, true) => "#6a4a10",
        (false, false) => "#f1f3f6",
        (false, true) => "#2a2f3a",
    };
    let text_fill = if props.dark { "#e8e8e8" } else { "#1a1a1a" };
    html! {
        <g class="token" data-token-index={i.to_string()} tabindex="0" role="button"
           aria-pressed={(props.focused && props.pinned).to_string()} aria-label={props.aria.clone()}
           onmouseenter={on_enter} onmouseleave={on_leave} onclick={on_click} onfocus={on_focus} onkeydown={on_key}>
            <rect x={format!("{:.1}", x - w / 2.0)} y={format!("{:.1}", BASELINE + 4.0)} width={format!("{w:.1}")} height="26" rx="5"
                  fill={bg} stroke={if props.focused { "#e69f00" } else { "none" }} stroke-width="2" />
            <text x={format!("{x:.1}")} y={format!("{:.1}", BASELINE + 22.0)} text-anchor="middle" font-size="14"
                  font-family="system-ui, sans-serif" fill={text_fill}>{ props.label.clone() }</text>
        </g>
    }
}
