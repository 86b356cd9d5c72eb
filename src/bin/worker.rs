//! The model worker's entry point (built by trunk as a web worker; see index.html).

#[cfg(target_arch = "wasm32")]
fn main() {
    use yew_agent::Registrable;
    attention_arcs::agent::ModelWorker::registrar().register();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the model worker runs in the browser");
}
