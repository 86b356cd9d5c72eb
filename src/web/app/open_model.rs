//! "Open a model…": the file chooser, the card of an opened model, and what a share link made with an
//! opened model asks for when the file is not open here.

use crate::model_state::Status;
use crate::models::{FileIdentity, OpenedInfo};
use crate::text;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// The files of a file input or a drop, as a list.
pub fn file_list(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

#[derive(Properties, PartialEq)]
pub struct OpenButtonProps {
    pub onopen: Callback<Vec<web_sys::File>>,
    #[prop_or_default]
    pub label: Option<AttrValue>,
}

/// A button that opens the browser's file chooser (several files at once: a Hugging Face folder's).
#[component]
pub fn OpenButton(props: &OpenButtonProps) -> Html {
    let input = use_node_ref();
    let onclick = {
        let input = input.clone();
        move |_: MouseEvent| {
            if let Some(i) = input.cast::<HtmlInputElement>() {
                i.click();
            }
        }
    };
    let onchange = {
        let onopen = props.onopen.clone();
        move |e: Event| {
            let Some(i) = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
            let files = file_list(i.files());
            // The same file chosen again must fire again.
            i.set_value("");
            if !files.is_empty() {
                onopen.emit(files);
            }
        }
    };
    let label = props.label.clone().unwrap_or_else(|| text::OPEN_MODEL.into());
    html! {
        <>
            <button class="model open-model" data-testid="open-model" title={text::OPEN_MODEL_TITLE} {onclick}>{ label }</button>
            <input ref={input} type="file" multiple=true class="visually-hidden" tabindex="-1" aria-hidden="true"
                   accept=".gguf,.json,.safetensors,.txt" data-testid="open-model-input" {onchange} />
        </>
    }
}

#[derive(Properties, PartialEq)]
pub struct FileStatusProps {
    pub status: Status,
    pub opened: Option<Rc<OpenedInfo>>,
    /// The file a share link names (when the view came from one).
    pub wanted: Option<FileIdentity>,
    pub forward_ms: Option<f64>,
    pub onopen: Callback<Vec<web_sys::File>>,
    /// "Continue with the toy model".
    pub oncontinue: Callback<()>,
    pub oncancel: Callback<()>,
}

/// What the model bar shows for a model opened from the user's files.
#[component]
pub fn FileStatus(props: &FileStatusProps) -> Html {
    let toy = {
        let c = props.oncontinue.clone();
        move |_: MouseEvent| c.emit(())
    };
    let continue_toy = html! {
        <button data-testid="continue-toy" onclick={toy}>{ text::CONTINUE_WITH_TOY }</button>
    };
    match (&props.status, &props.opened) {
        (Status::Ready { load_ms, .. }, Some(info)) => card(info, *load_ms, props.forward_ms),
        (Status::Loading { stage, loaded, total }, _) => {
            let pct = if *total > 0 { (*loaded as f64 / *total as f64 * 100.0).min(100.0) } else { 0.0 };
            html! {
                <div class="model-status" data-testid="model-status" role="status" aria-live="polite">
                    <progress class="load-bar" max="100" value={format!("{pct:.0}")} aria-label={text::READING_YOUR_MODEL}></progress>
                    <span>{ text::model_loading(text::YOUR_MODEL, stage, *loaded, *total) }<span class="note">{ text::NOTHING_UPLOADED }</span></span>
                    <button data-testid="cancel-open" onclick={let c = props.oncancel.clone(); move |_: MouseEvent| c.emit(())}>{ text::CANCEL }</button>
                </div>
            }
        }
        (Status::Failed(msg), _) => html! {
            <div class="error" role="alert" data-testid="model-error">
                { text::open_failed(msg) }
                <OpenButton onopen={props.onopen.clone()} label={AttrValue::from(text::OPEN_ANOTHER)} />
                { continue_toy }
            </div>
        },
        _ => match &props.wanted {
            Some(w) => html! {
                <div class="notice needs-file" role="status" data-testid="needs-file">
                    <p>{ text::link_needs_file(&w.name, w.bytes, &w.arch) }</p>
                    <p class="note mono">{ text::sha256_line(&w.sha256) }</p>
                    <OpenButton onopen={props.onopen.clone()} label={AttrValue::from(text::open_named(&w.name))} />
                    { continue_toy }
                </div>
            },
            None => html! {
                <div class="notice" data-testid="needs-file">
                    <p>{ text::OPEN_A_FILE_FIRST }</p>
                    <OpenButton onopen={props.onopen.clone()} />
                    { continue_toy }
                </div>
            },
        },
    }
}

/// The opened model at a glance.
fn card(info: &OpenedInfo, load_ms: f64, forward_ms: Option<f64>) -> Html {
    let s = info.shape;
    let heads = if s.kv_heads == s.heads { s.heads.to_string() } else { text::heads_with_kv(s.heads, s.kv_heads) };
    let row = |k: &'static str, v: String| html! { <><dt>{ k }</dt><dd>{ v }</dd></> };
    html! {
        <section class="model-card" data-testid="model-card" aria-label={text::MODEL_CARD_LABEL} data-ready="true">
            <h3>{ info.name.clone() }</h3>
            <dl>
                { row(text::CARD_ARCH, info.architecture.clone()) }
                { row(text::CARD_PARAMS, text::parameters(info.parameters)) }
                { row(text::CARD_TYPES, info.tensor_types.join(", ")) }
                { row(text::CARD_SHAPE, text::layers_by_heads(s.layers, &heads, s.head_dim)) }
                { row(text::CARD_VOCAB, info.vocab_size.to_string()) }
                { row(text::CARD_CONTEXT, info.max_positions.to_string()) }
                { row(text::CARD_FILE, text::file_line(&info.identity.name, info.identity.bytes)) }
            </dl>
            <p class="note">{ text::opened_in(load_ms) }
                if let Some(ms) = forward_ms { { text::last_forward(ms) } }
                { " · " }{ text::NOTHING_UPLOADED }</p>
        </section>
    }
}
