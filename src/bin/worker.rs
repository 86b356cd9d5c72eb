//! The model worker's entry point (built by trunk as a web worker; see index.html).

#[cfg(target_arch = "wasm32")]
fn main() {
    use yew_agent::Registrable;
    // A bug in the worker should say what it was on the console, not only "unreachable".
    console_error_panic_hook::set_once();
    // The same script runs the model worker and, started again by it, its helper (see web/helper_worker.rs).
    let name = {
        use wasm_bindgen::JsCast;
        js_sys::global().dyn_into::<web_sys::DedicatedWorkerGlobalScope>().map(|s| s.name()).unwrap_or_default()
    };
    if name == attention_arcs::web::helper_worker::HELPER_NAME {
        attention_arcs::web::helper_worker::run_helper();
    } else {
        attention_arcs::web::model_worker::ModelWorker::registrar().register();
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the model worker runs in the browser");
}
