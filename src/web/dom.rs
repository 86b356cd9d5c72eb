//! The few browser calls the app makes, each returning a `Result` so a refusal (no clipboard, blocked
//! download) becomes a message instead of a panic.

use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, BlobPropertyBag, CanvasRenderingContext2d, HtmlAnchorElement, HtmlCanvasElement, HtmlImageElement, Url,
};

pub fn window() -> Result<web_sys::Window, String> {
    web_sys::window().ok_or_else(|| "no window".to_string())
}

pub fn document() -> Result<web_sys::Document, String> {
    window()?.document().ok_or_else(|| "no document".to_string())
}

fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::Reflect::get(&e, &JsValue::from_str("message")).ok().and_then(|m| m.as_string()))
        .unwrap_or_else(|| "the browser refused".to_string())
}

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

pub fn location_hash() -> String {
    web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

/// Writes the fragment without adding a history entry (and without firing `hashchange`).
pub fn replace_hash(fragment: &str) -> Result<(), String> {
    let w = window()?;
    let history = w.history().map_err(js_err)?;
    let url = format!("#{fragment}");
    history.replace_state_with_url(&JsValue::NULL, "", Some(&url)).map_err(js_err)
}

pub fn href() -> String {
    web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default()
}

fn blob(parts: &js_sys::Array, mime: &str) -> Result<Blob, String> {
    let bag = BlobPropertyBag::new();
    bag.set_type(mime);
    Blob::new_with_str_sequence_and_options(parts, &bag).map_err(js_err)
}

fn click_download(url: &str, name: &str) -> Result<(), String> {
    let doc = document()?;
    let a: HtmlAnchorElement =
        doc.create_element("a").map_err(js_err)?.dyn_into().map_err(|_| "no anchor".to_string())?;
    a.set_href(url);
    a.set_download(name);
    let body = doc.body().ok_or("no body")?;
    body.append_child(&a).map_err(js_err)?;
    a.click();
    a.remove();
    Ok(())
}

/// Offers `text` as a file download.
pub fn download_text(name: &str, text: &str, mime: &str) -> Result<(), String> {
    let parts: js_sys::Array = js_sys::Array::new();
    parts.push(&JsValue::from_str(text));
    let b = blob(&parts, mime)?;
    let url = Url::create_object_url_with_blob(&b).map_err(js_err)?;
    let r = click_download(&url, name);
    let _ = Url::revoke_object_url(&url);
    r
}

/// The markup of an SVG element, standalone (namespace declared).
pub fn serialize_svg(svg: &web_sys::Element) -> Result<String, String> {
    let xml = web_sys::XmlSerializer::new().map_err(js_err)?.serialize_to_string(svg).map_err(js_err)?;
    Ok(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{xml}"))
}

/// The arc view as one SVG: a copy of the drawing `svg` with the hover overlay that follows it (the
/// veil and the focused token's arcs) put back in, before the tokens, as the page shows them.
pub fn serialize_arcs(svg: &web_sys::Element) -> Result<String, String> {
    let copy: web_sys::Element =
        svg.clone_node_with_deep(true).map_err(js_err)?.dyn_into().map_err(|_| "not an element")?;
    if let Some(over) = svg.next_element_sibling() {
        let first_token = copy.query_selector("[data-token-index]").map_err(js_err)?;
        let children = over.children();
        for k in 0..children.length() {
            let Some(child) = children.item(k) else { continue };
            let node = child.clone_node_with_deep(true).map_err(js_err)?;
            let at = first_token.as_ref().map(|t| t.unchecked_ref::<web_sys::Node>());
            copy.insert_before(&node, at).map_err(js_err)?;
        }
    }
    serialize_svg(&copy)
}

/// Renders SVG markup to a PNG at `scale` times its size and offers it as a download.
pub async fn download_png(name: &str, svg_markup: &str, width: f64, height: f64, scale: f64) -> Result<(), String> {
    let parts: js_sys::Array = js_sys::Array::new();
    parts.push(&JsValue::from_str(svg_markup));
    let b = blob(&parts, "image/svg+xml;charset=utf-8")?;
    let url = Url::create_object_url_with_blob(&b).map_err(js_err)?;
    let img = HtmlImageElement::new().map_err(js_err)?;
    img.set_src(&url);
    let decoded = JsFuture::from(img.decode()).await;
    let _ = Url::revoke_object_url(&url);
    decoded.map_err(js_err)?;
    let doc = document()?;
    let canvas: HtmlCanvasElement =
        doc.create_element("canvas").map_err(js_err)?.dyn_into().map_err(|_| "no canvas".to_string())?;
    canvas.set_width((width * scale).ceil() as u32);
    canvas.set_height((height * scale).ceil() as u32);
    let ctx: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(js_err)?
        .ok_or("no 2d context")?
        .dyn_into()
        .map_err(|_| "no 2d context".to_string())?;
    ctx.draw_image_with_html_image_element_and_dw_and_dh(&img, 0.0, 0.0, width * scale, height * scale)
        .map_err(js_err)?;
    let data_url = canvas.to_data_url_with_type("image/png").map_err(js_err)?;
    click_download(&data_url, name)
}

/// Copies text to the clipboard (only available on https or localhost).
pub async fn copy_text(text: &str) -> Result<(), String> {
    let w = window()?;
    if !w.is_secure_context() {
        return Err("the clipboard needs https; select the link below and copy it".into());
    }
    JsFuture::from(w.navigator().clipboard().write_text(text)).await.map(|_| ()).map_err(js_err)
}

pub fn prefers_dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

pub fn stored_theme() -> Option<String> {
    web_sys::window()?.local_storage().ok()??.get_item("arcs-theme").ok()?
}

pub fn store_theme(theme: Option<&str>) {
    if let Some(s) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = match theme {
            Some(t) => s.set_item("arcs-theme", t),
            None => s.remove_item("arcs-theme"),
        };
    }
}

pub fn set_root_theme(dark: bool) {
    if let Some(el) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = el.set_attribute("data-theme", if dark { "dark" } else { "light" });
    }
}

/// Whether this browser runs WebAssembly SIMD (128-bit). The model worker exists in two builds: one
/// compiled with SIMD (several times faster on the models' matrix products) and a plain one for
/// browsers without it; a module with SIMD instructions anywhere would not even load there, so the
/// choice has to be made before the worker starts.
pub fn wasm_simd_supported() -> bool {
    // The smallest module using SIMD: one function `() -> v128` computing
    // `i8x16.popcnt(i8x16.splat(i32.const 0))`.
    const PROBE: [u8; 31] =
        [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11];
    js_sys::WebAssembly::validate(&js_sys::Uint8Array::from(&PROBE[..]).into()).unwrap_or(false)
}

/// Publishes measurements on `window.__arcsPerf` for the browser benchmark script (nothing is sent
/// anywhere; the script reads it from the page).
pub fn publish_perf<T: Serialize>(perf: &T) {
    // JSON-compatible: maps become plain objects the script can JSON.stringify.
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    if let (Some(w), Ok(v)) = (web_sys::window(), perf.serialize(&ser)) {
        let _ = js_sys::Reflect::set(&w, &JsValue::from_str("__arcsPerf"), &v);
    }
}

/// Registers the service worker that keeps the app (and opened models) available offline. Only where
/// browsers allow it (https or localhost); elsewhere the app simply stays online-only.
pub fn register_service_worker() {
    let Some(w) = web_sys::window() else { return };
    if !w.is_secure_context() {
        return;
    }
    let sw = w.navigator().service_worker();
    // A relative URL: the worker's scope is the folder the app is served from, whatever the sub-path.
    let promise = sw.register("sw.js");
    wasm_bindgen_futures::spawn_local(async move {
        let _ = JsFuture::from(promise).await;
    });
}

/// Size of this module's WebAssembly memory (it only grows, so it is the peak so far).
pub fn wasm_memory_bytes() -> u64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0, |b| b.byte_length() as u64)
}
