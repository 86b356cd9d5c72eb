//! The browser entry point: mount the Yew app on <body>.

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<attention_arcs::web::app::App>::new().render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the app runs in the browser: use `./x serve` (see README.md)");
}
