//! The root's small hooks: window and document listeners, the theme, the share link following the view,
//! and the typing debounce.

use crate::state::{Action, ViewState};
use crate::url;
use crate::web::dom;
use gloo_timers::callback::Timeout;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Debounce for recomputing while typing: long enough to skip the middle of a word, short enough to
/// feel live.
const TYPING_DEBOUNCE_MS: u32 = 120;
/// Browsers throttle history updates, and hovering across a sentence changes the view many times a
/// second: the link is written a moment after the last change.
const LINK_DEBOUNCE_MS: u32 = 250;

/// Calls `handler` for every `event` on `target` while the component is mounted.
#[hook]
fn use_listener<E: JsCast + 'static>(
    target: Option<web_sys::EventTarget>,
    event: &'static str,
    handler: impl Fn(E) + 'static,
) {
    use_effect_with((), move |_| {
        let cb = Closure::<dyn Fn(web_sys::Event)>::new(move |e: web_sys::Event| {
            if let Ok(e) = e.dyn_into::<E>() {
                handler(e);
            }
        });
        if let Some(t) = &target {
            let _ = t.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
        }
        move || {
            if let Some(t) = target {
                let _ = t.remove_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
            }
        }
    });
}

/// The window's width in CSS pixels, following resizes (1280 where there is no window).
#[hook]
pub fn use_window_width() -> f64 {
    let read = || dom::window().ok().and_then(|w| w.inner_width().ok()).and_then(|v| v.as_f64()).unwrap_or(1280.0);
    let width = use_state(read);
    let window = dom::window().ok().map(web_sys::EventTarget::from);
    {
        let width = width.clone();
        use_listener(window, "resize", move |_: web_sys::Event| width.set(read()));
    }
    *width
}

/// A link pasted into the address bar of an open page replaces the view (with the link's notices).
#[hook]
pub fn use_hash_changes(dispatch: Callback<Action>, notices: UseStateHandle<Vec<String>>) {
    let window = dom::window().ok().map(web_sys::EventTarget::from);
    use_listener(window, "hashchange", move |_: web_sys::Event| {
        let (s, notes) = url::decode(&dom::location_hash());
        notices.set(notes);
        dispatch.emit(Action::Replace(Box::new(s)));
    });
}

/// Esc unpins wherever the keyboard focus is.
#[hook]
pub fn use_escape_unpins(dispatch: Callback<Action>) {
    let document = dom::document().ok().map(web_sys::EventTarget::from);
    use_listener(document, "keydown", move |e: web_sys::KeyboardEvent| {
        if e.key() == "Escape" {
            dispatch.emit(Action::Unpin);
        }
    });
}

/// Files dropped anywhere on the page go to `onopen`; returns whether files are being dragged over it
/// (for the drop hint).
#[hook]
pub fn use_file_drop(onopen: Callback<Vec<web_sys::File>>) -> bool {
    let latest = use_mut_ref(|| onopen.clone());
    *latest.borrow_mut() = onopen;
    let dragging = use_state(|| false);
    let window = || dom::window().ok().map(web_sys::EventTarget::from);
    let carries_files = |e: &web_sys::DragEvent| {
        e.data_transfer().is_some_and(|t| t.types().iter().any(|k| k.as_string().as_deref() == Some("Files")))
    };
    {
        let d = dragging.setter();
        use_listener(window(), "dragover", move |e: web_sys::DragEvent| {
            if carries_files(&e) {
                // Without this the browser opens the file itself, leaving the page.
                e.prevent_default();
                d.set(true);
            }
        });
    }
    {
        let d = dragging.setter();
        use_listener(window(), "dragleave", move |e: web_sys::DragEvent| {
            if e.related_target().is_none() {
                d.set(false);
            }
        });
    }
    {
        let d = dragging.setter();
        use_listener(window(), "drop", move |e: web_sys::DragEvent| {
            d.set(false);
            let files = super::open_model::file_list(e.data_transfer().and_then(|t| t.files()));
            if !files.is_empty() {
                e.prevent_default();
                latest.borrow().emit(files);
            }
        });
    }
    *dragging
}

/// The share link follows the view.
#[hook]
pub fn use_link_follows(view: &ViewState) {
    let timer = use_mut_ref(|| None::<Timeout>);
    use_effect_with(view.clone(), move |v| {
        let fragment = url::encode(v);
        *timer.borrow_mut() = Some(Timeout::new(LINK_DEBOUNCE_MS, move || drop(dom::replace_hash(&fragment))));
    });
}

/// Dark or light: the user's choice (kept in localStorage, not in links), else the system's. Returns
/// whether the page is dark and the toggle.
#[hook]
pub fn use_theme() -> (bool, Callback<MouseEvent>) {
    let choice = use_state(dom::stored_theme);
    let dark = match choice.as_deref() {
        Some("dark") => true,
        Some("light") => false,
        _ => dom::prefers_dark(),
    };
    use_effect_with(dark, |&dark| dom::set_root_theme(dark));
    let toggle = Callback::from(move |_: MouseEvent| {
        let next = if dark { "light" } else { "dark" };
        dom::store_theme(Some(next));
        choice.set(Some(next.to_string()));
    });
    (dark, toggle)
}

/// The request the engine runs: at once for option changes, a moment after the last keystroke while
/// only the sentence changes.
#[hook]
pub fn use_settled_request(request: arcs_core::Request) -> arcs_core::Request {
    let settled = use_state(|| request.clone());
    let timer = use_mut_ref(|| None::<Timeout>);
    {
        let settled = settled.clone();
        use_effect_with(request, move |req| {
            let only_text = std::mem::discriminant(&req.source) == std::mem::discriminant(&settled.source)
                && req.source != settled.source
                && arcs_core::Request { source: settled.source.clone(), ..req.clone() } == *settled;
            if only_text {
                let req = req.clone();
                let settled = settled.clone();
                *timer.borrow_mut() = Some(Timeout::new(TYPING_DEBOUNCE_MS, move || settled.set(req)));
            } else {
                timer.borrow_mut().take();
                settled.set(req.clone());
            }
        });
    }
    (*settled).clone()
}

/// `value` once it has held still for the typing pause (a second sentence box follows the first's
/// rhythm); opening or closing (`None` <-> `Some`) passes at once.
#[hook]
pub fn use_settled_text(value: Option<String>) -> Option<String> {
    let settled = use_state(|| value.clone());
    let timer = use_mut_ref(|| None::<Timeout>);
    {
        let settled = settled.clone();
        use_effect_with(value, move |v| {
            if v.is_some() && settled.is_some() && *v != *settled {
                let (v, settled) = (v.clone(), settled.clone());
                *timer.borrow_mut() = Some(Timeout::new(TYPING_DEBOUNCE_MS, move || settled.set(v)));
            } else {
                timer.borrow_mut().take();
                settled.set(v.clone());
            }
        });
    }
    (*settled).clone()
}
