//! The panel beside the arcs: what the mode shows and where the numbers come from.

use crate::state::ViewState;
use crate::text;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ExplainProps {
    pub view: ViewState,
}

#[component]
pub fn Explain(props: &ExplainProps) -> Html {
    let v = &props.view;
    let mode = v.engine.mode;
    let source = match v.model.kind {
        Some(m) => html! {
            <>
                <p class="source">{ text::model_source(m, v.model.file.as_ref().map(|f| f.name.as_str()), v.model.layer, mode, v.model.head) }</p>
                if let Some(caveat) = text::model_mode_caveat(m, mode) {
                    <p class="source">{ caveat }</p>
                }
            </>
        },
        None if v.is_book() => html! { <p class="source">{ text::SOURCE_BOOK }</p> },
        None => html! { <p class="source">{ text::toy_source(v.engine.seed) }</p> },
    };
    html! {
        <section class="explain" aria-label={text::EXPLAIN_LABEL}>
            <h2>{ text::mode_label(mode) }</h2>
            <p>{ text::mode_why(mode) }</p>
            { source }
        </section>
    }
}
