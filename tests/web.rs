//! Components in a real browser (wasm-bindgen-test in headless Chromium): the right arcs for every mode,
//! the share link round trip, and the engine's numbers bit-identical to native.
#![cfg(target_arch = "wasm32")]

use arcs_core::attention::Mode;
use attention_arcs::state::{Action, ViewState};
use attention_arcs::url;
use attention_arcs::web::app::App;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().and_then(|w| w.document()).expect("document")
}

async fn mount(fragment: &str) -> web_sys::Element {
    let w = web_sys::window().expect("window");
    w.history()
        .expect("history")
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("#{fragment}")))
        .expect("hash");
    let root = document().create_element("div").expect("div");
    document().body().expect("body").append_child(&root).expect("append");
    yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    root
}

fn count(root: &web_sys::Element, selector: &str) -> u32 {
    root.query_selector_all(selector).expect("selector").length()
}

async fn click(root: &web_sys::Element, selector: &str) {
    let el = root.query_selector(selector).expect("selector").expect("element exists");
    el.dyn_into::<web_sys::HtmlElement>().expect("html element").click();
    yew::scheduler::flush().await;
}

#[wasm_bindgen_test]
async fn each_mode_draws_the_right_arcs() {
    let root = mount("").await;
    // The book example: 6 tokens, every weight non-zero except the causal future.
    assert_eq!(count(&root, "[data-token-index]"), 6);
    for (mode, arcs) in [("simplified", 36), ("self", 36), ("causal", 21), ("multi-head", 42)] {
        click(&root, &format!("button[data-mode=\"{mode}\"]")).await;
        assert_eq!(count(&root, "button[aria-pressed=\"true\"][data-mode]"), 1);
        assert!(root
            .query_selector(&format!("button[data-mode=\"{mode}\"][aria-pressed=\"true\"]"))
            .expect("sel")
            .is_some());
        assert_eq!(count(&root, "path[data-from]"), arcs, "{mode}");
    }
    // Multi-head arcs say which head they belong to; hiding head 1 halves them.
    assert_eq!(count(&root, "path[data-head=\"0\"]"), 21);
    click(&root, "button[data-testid=\"head-toggle\"][data-head=\"1\"]").await;
    assert_eq!(count(&root, "path[data-from]"), 21);
    root.remove();
}

#[wasm_bindgen_test]
async fn a_link_restores_the_view_and_the_view_writes_the_link() {
    let s = ViewState::default()
        .apply(Action::SetSentence("The cat sat on the mat".into()))
        .apply(Action::SetMode(Mode::Causal))
        .apply(Action::TogglePin(2));
    let root = mount(&url::encode(&s)).await;
    assert_eq!(count(&root, "[data-token-index]"), 6);
    assert_eq!(count(&root, "path[data-focused=\"true\"]"), 3, "token 2 attends to 3 tokens causally");
    let hash = web_sys::window().expect("w").location().hash().expect("hash");
    let (back, notes) = url::decode(&hash);
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(back, s);
    root.remove();
}

#[wasm_bindgen_test]
async fn a_broken_link_shows_a_notice_and_a_working_page() {
    let root = mount("m=sideways&s=%3Cscript%3Ealert(1)%3C%2Fscript%3E&zz=%ZZ").await;
    assert!(count(&root, "[data-testid=\"link-notice\"] li") >= 2);
    assert_eq!(count(&root, "script"), 0, "the sentence is text, not markup");
    let input: web_sys::HtmlInputElement = root
        .query_selector("[data-testid=\"sentence-input\"]")
        .expect("sel")
        .expect("input")
        .dyn_into()
        .expect("input");
    assert_eq!(input.value(), "<script>alert(1)</script>");
    assert!(count(&root, "path[data-from]") > 0);
    root.remove();
}

#[wasm_bindgen_test]
fn seeded_numbers_are_bit_identical_to_native() {
    assert_eq!(arcs_core::request::determinism_digest(), arcs_core::request::DETERMINISM_DIGEST);
}
