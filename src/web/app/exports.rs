//! The share bar: copy the link, export the arcs as SVG or PNG and the numbers as JSON.

use super::Shared;
use crate::models::ModelRun;
use crate::state::ViewState;
use crate::text;
use crate::url;
use crate::web::dom;
use arcs_core::attention::Attention;
use arcs_core::Report;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ShareBarProps {
    pub view: ViewState,
    /// What is on screen; `None` while a model loads.
    pub attention: Option<Shared<Attention>>,
    /// The real model's pass behind `attention`, whose export carries every layer and head.
    pub model_run: Option<Shared<ModelRun>>,
    /// The compared sentence's pass (compare view), exported next to the first.
    pub compare_run: Option<Shared<ModelRun>>,
    /// The arc view's SVG element.
    pub svg_ref: NodeRef,
}

/// Width and height of an SVG element from its attributes (the PNG is drawn at that size).
fn svg_size(el: &web_sys::Element) -> (f64, f64) {
    let size = |name: &str| el.get_attribute(name).and_then(|v| v.parse::<f64>().ok()).unwrap_or(800.0);
    (size("width"), size("height"))
}

#[component]
pub fn ShareBar(props: &ShareBarProps) -> Html {
    let status = use_state(String::new);
    let on_copy = {
        let status = status.clone();
        let v = props.view.clone();
        Callback::from(move |_: MouseEvent| {
            let status = status.clone();
            // The link of the view as it is now (the address bar catches up a moment later).
            let _ = dom::replace_hash(&url::encode(&v));
            let link = dom::href();
            wasm_bindgen_futures::spawn_local(async move {
                status.set(match dom::copy_text(&link).await {
                    Ok(()) => text::LINK_COPIED.to_string(),
                    Err(e) => text::link_not_copied(&e),
                });
            });
        })
    };
    let on_json = {
        let status = status.clone();
        let (attention, run, other) = (props.attention.clone(), props.model_run.clone(), props.compare_run.clone());
        let v = props.view.clone();
        Callback::from(move |_: MouseEvent| {
            let Some(a) = &attention else { return };
            let json = match (&run, &other) {
                (Some(run), other) => crate::cli_models::export(run, other.as_deref(), &url::encode(&v)),
                (None, _) => Report::from_attention(a, true).to_json(),
            };
            status.set(match dom::download_text("attention.json", &json, "application/json") {
                Ok(()) => text::exported("attention.json"),
                Err(e) => text::export_failed(&e),
            });
        })
    };
    let on_svg = {
        let status = status.clone();
        let svg_ref = props.svg_ref.clone();
        Callback::from(move |_: MouseEvent| {
            let r = svg_ref.cast::<web_sys::Element>().ok_or_else(|| text::ARCS_NOT_ON_SCREEN.to_string());
            let r = r.and_then(|el| dom::serialize_arcs(&el));
            let r = r.and_then(|svg| dom::download_text("attention-arcs.svg", &svg, "image/svg+xml"));
            status.set(match r {
                Ok(()) => text::exported("attention-arcs.svg"),
                Err(e) => text::export_failed(&e),
            });
        })
    };
    let on_png = {
        let status = status.clone();
        let svg_ref = props.svg_ref.clone();
        Callback::from(move |_: MouseEvent| {
            let Some(el) = svg_ref.cast::<web_sys::Element>() else {
                status.set(text::export_failed(text::ARCS_NOT_ON_SCREEN));
                return;
            };
            let (w, h) = svg_size(&el);
            let status = status.clone();
            match dom::serialize_arcs(&el) {
                Ok(svg) => wasm_bindgen_futures::spawn_local(async move {
                    status.set(match dom::download_png("attention-arcs.png", &svg, w, h, 2.0).await {
                        Ok(()) => text::exported("attention-arcs.png"),
                        Err(e) => text::export_failed(&e),
                    });
                }),
                Err(e) => status.set(text::export_failed(&e)),
            }
        })
    };
    html! {
        <footer class="share">
            <button data-testid="copy-link" onclick={on_copy}>{ text::COPY_LINK }</button>
            <button data-testid="export-svg" onclick={on_svg}>{ text::EXPORT_SVG }</button>
            <button data-testid="export-png" onclick={on_png}>{ text::EXPORT_PNG }</button>
            <button data-testid="export-json" onclick={on_json}>{ text::EXPORT_JSON }</button>
            <span class="status" role="status" aria-live="polite" data-testid="status">{ (*status).clone() }</span>
            <p class="privacy">{ text::PRIVACY }</p>
        </footer>
    }
}
