//! The sentence box, the mode switch and each mode's options.

use crate::state::{Action, ViewState};
use crate::text;
use arcs_core::attention::{MaskStyle, Mode, Normalization};
use arcs_core::request::MAX_CHARS;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    pub view: ViewState,
    pub ondispatch: Callback<Action>,
    /// Tokens in the current result (for the budget line); `None` while a model has not yet counted them.
    pub tokens: Option<usize>,
    /// The most tokens the current model takes.
    pub max_tokens: usize,
}

fn input_value(e: &Event) -> Option<String> {
    e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()).map(|i| i.value())
}

fn select_value(e: &Event) -> Option<String> {
    e.target().and_then(|t| t.dyn_into::<HtmlSelectElement>().ok()).map(|i| i.value())
}

/// A labelled number field that dispatches only values that parse.
fn number_field(
    label: &str,
    testid: &str,
    value: String,
    min: &str,
    max: &str,
    step: &str,
    on: Callback<String>,
) -> Html {
    let onchange = Callback::from(move |e: Event| {
        if let Some(v) = input_value(&e) {
            on.emit(v);
        }
    });
    html! {
        <label class="field">
            <span>{ label.to_string() }</span>
            <input type="number" data-testid={testid.to_string()} value={value} min={min.to_string()} max={max.to_string()} step={step.to_string()} {onchange} />
        </label>
    }
}

/// The second sentence of the compare view: a button that opens it (real models), or its box.
fn compare_row(v: &ViewState, d: &Callback<Action>) -> Html {
    let close = {
        let d = d.clone();
        Callback::from(move |_: MouseEvent| d.emit(Action::SetCompare(None)))
    };
    match (&v.engine.compare, v.model.kind.is_some()) {
        (None, false) => Html::default(),
        (None, true) => {
            let d = d.clone();
            html! { <div class="sentence-row"><button class="link" data-testid="compare-open"
            onclick={move |_: MouseEvent| d.emit(Action::SetCompare(Some(String::new())))}>{ text::COMPARE_OPEN }</button></div> }
        }
        (Some(_), false) => html! {
            <div class="sentence-row"><p class="note">{ text::COMPARE_FOR_MODELS }</p>
                <button class="link" data-testid="compare-close" onclick={close}>{ text::COMPARE_CLOSE }</button></div>
        },
        (Some(other), true) => {
            let d = d.clone();
            let oninput = Callback::from(move |e: InputEvent| {
                if let Some(t) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) {
                    d.emit(Action::SetCompare(Some(t.value())));
                }
            });
            html! {
                <div class="sentence-row compare-row">
                    <label for="compare" class="visually-hidden">{ text::COMPARE_LABEL }</label>
                    <span class="compare-tag" aria-hidden="true">{ "B" }</span>
                    <input id="compare" type="text" data-testid="compare-input" value={other.clone()} {oninput}
                           placeholder={text::COMPARE_PLACEHOLDER} autocomplete="off" spellcheck="false" maxlength="20000" />
                    <button class="link" data-testid="compare-close" onclick={close}>{ text::COMPARE_CLOSE }</button>
                </div>
            }
        }
    }
}

#[component]
pub fn Controls(props: &ControlsProps) -> Html {
    let v = &props.view;
    let d = props.ondispatch.clone();
    let oninput = {
        let d = d.clone();
        Callback::from(move |e: InputEvent| {
            if let Some(t) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) {
                d.emit(Action::SetSentence(t.value()));
            }
        })
    };
    let mode_button = |m: Mode| {
        let d = d.clone();
        let pressed = v.engine.mode == m;
        html! {
            <button class={classes!("mode", pressed.then_some("on"))} data-mode={m.as_str()} aria-pressed={pressed.to_string()}
                    onclick={move |_: MouseEvent| d.emit(Action::SetMode(m))}>
                { text::mode_label(m) }
            </button>
        }
    };
    let emit_parsed = |f: fn(&str) -> Option<Action>| {
        let d = d.clone();
        Callback::from(move |s: String| {
            if let Some(a) = f(s.trim()) {
                d.emit(a);
            }
        })
    };
    let toy = !v.is_book();
    let chars = v.engine.sentence.chars().count();
    let tokens = props.tokens.unwrap_or(0);
    let budget_class = if tokens > 64 || chars > MAX_CHARS { "budget warn" } else { "budget" };

    let seed = number_field(
        text::SEED,
        "seed",
        v.engine.seed.to_string(),
        "0",
        "18446744073709551615",
        "1",
        emit_parsed(|s| s.parse().ok().map(Action::SetSeed)),
    );
    let d_in = number_field(
        text::D_IN,
        "d-in",
        v.engine.d_in.to_string(),
        "1",
        "256",
        "1",
        emit_parsed(|s| s.parse().ok().map(Action::SetDIn)),
    );
    let d_out = number_field(
        text::D_OUT,
        "d-out",
        v.engine.d_out.to_string(),
        "1",
        "256",
        "1",
        emit_parsed(|s| s.parse().ok().map(Action::SetDOut)),
    );
    let heads = number_field(
        text::HEADS,
        "heads",
        v.engine.heads.to_string(),
        "1",
        "64",
        "1",
        emit_parsed(|s| s.parse().ok().map(Action::SetHeads)),
    );
    let dropout = number_field(
        text::DROPOUT,
        "dropout",
        v.engine.dropout.to_string(),
        "0",
        "0.95",
        "0.05",
        emit_parsed(|s| s.parse().ok().map(Action::SetDropout)),
    );
    let on_mask = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            if let Some(m) = select_value(&e).and_then(|s| MaskStyle::parse(&s)) {
                d.emit(Action::SetMask(m));
            }
        })
    };
    let on_norm = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            if let Some(n) = select_value(&e).and_then(|s| Normalization::parse(&s)) {
                d.emit(Action::SetNormalization(n));
            }
        })
    };
    let check = |label: &str, testid: &str, on: bool, act: fn(bool) -> Action| {
        let d = d.clone();
        html! {
            <label class="field check">
                <input type="checkbox" data-testid={testid.to_string()} checked={on}
                       onchange={move |e: Event| if let Some(t) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) { d.emit(act(t.checked())) }} />
                <span>{ label.to_string() }</span>
            </label>
        }
    };
    let book = {
        let d = d.clone();
        Callback::from(move |_: MouseEvent| d.emit(Action::UseBookExample))
    };
    let compare = compare_row(v, &d);

    html! {
        <section class="controls" aria-label="Sentence and mode">
            <div class="sentence-row">
                <label for="sentence" class="visually-hidden">{ "Sentence" }</label>
                <input id="sentence" type="text" data-testid="sentence-input" value={v.engine.sentence.clone()} {oninput}
                       placeholder={text::SENTENCE_PLACEHOLDER} autocomplete="off" spellcheck="false" maxlength="20000" />
                if !v.is_book() { <button class="link" onclick={book}>{ text::BOOK_EXAMPLE }</button> }
            </div>
            { compare }
            <p class={budget_class} data-testid="token-budget">
                { text::token_budget(props.tokens, props.max_tokens) }
                if tokens > 64 { { text::LONG_INPUT_PRUNED } }
            </p>
            <div class="modes" role="group" aria-label="Attention mode">
                { for Mode::ALL.into_iter().map(mode_button) }
            </div>
            if props.view.model.kind.is_none() {
            <div class="options">
                if toy { { seed } }
                if toy && v.engine.mode != Mode::Simplified { { d_in } }
                if toy && v.engine.mode != Mode::Simplified { { d_out } }
                if v.engine.mode == Mode::MultiHead { { heads } }
                if matches!(v.engine.mode, Mode::Causal | Mode::MultiHead) {
                    <label class="field">
                        <span>{ text::MASKING }</span>
                        <select data-testid="mask" onchange={on_mask}>
                            <option value="neg-inf" selected={v.engine.mask == MaskStyle::NegInf}>{ text::MASK_NEG_INF }</option>
                            <option value="renormalize" selected={v.engine.mask == MaskStyle::Renormalize}>{ text::MASK_RENORMALIZE }</option>
                        </select>
                    </label>
                    { dropout }
                }
                if v.engine.mode == Mode::MultiHead { { check(text::CAUSAL_HEADS, "causal-heads", v.engine.causal_heads, Action::SetCausalHeads) } }
                if v.engine.mode != Mode::Simplified { { check(text::SCALE, "scale", v.engine.scale, Action::SetScale) } }
                if v.engine.mode == Mode::Simplified {
                    <label class="field">
                        <span>{ text::NORMALISATION }</span>
                        <select data-testid="normalization" onchange={on_norm}>
                            <option value="softmax" selected={v.engine.normalization == Normalization::Softmax}>{ text::NORM_SOFTMAX }</option>
                            <option value="sum" selected={v.engine.normalization == Normalization::SumNormalized}>{ text::NORM_SUM }</option>
                            <option value="naive-softmax" selected={v.engine.normalization == Normalization::NaiveSoftmax}>{ text::NORM_NAIVE }</option>
                        </select>
                    </label>
                }
            </div>
            }
        </section>
    }
}
