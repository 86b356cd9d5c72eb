//! The model worker's entry point (built by trunk as a web worker; see index.html).

#[cfg(target_arch = "wasm32")]
fn main() {
    use yew_agent::Registrable;
    // A bug in the worker should say what it was on the console, not only "unreachable".
    console_error_panic_hook::set_once();
    attention_arcs::agent::ModelWorker::registrar().register();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the model worker runs in the browser");
}
