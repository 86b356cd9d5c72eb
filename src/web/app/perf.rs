//! Telemetry for the browser benchmark (`bench/browser.mjs`): figures the page publishes on
//! `window.__arcsPerf`. Only effects and the engine timer write here; reducers never do.

use crate::model_state::{ModelState, Status};
use crate::web::dom;
use arcs_core::attention::Attention;
use arcs_core::RequestError;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use yew::prelude::*;

/// What the browser benchmark reads from `window.__arcsPerf`.
#[derive(Serialize, Default, Clone)]
struct Perf {
    /// performance.now() when the first arcs were in the DOM.
    first_arcs_ms: Option<f64>,
    /// Engine time of the last recompute and its token count.
    last_compute_ms: f64,
    last_tokens: usize,
    computes: u32,
    /// Real models: time from request to ready, whether it came from the cache, and the last forward.
    model_ready_ms: HashMap<String, f64>,
    model_from_cache: HashMap<String, bool>,
    /// Size of each model as published (what a cold load downloads).
    model_bytes: HashMap<String, u64>,
    last_forward_ms: f64,
    last_forward_tokens: usize,
    /// Whether the helper worker took half of the tokens of the last forward pass.
    last_forward_helped: bool,
    forwards: u32,
    /// Request to result in the page (the worker's forward pass plus handing the result over).
    last_roundtrip_ms: f64,
    /// Which model worker build runs: "simd" or "plain" (see [`dom::wasm_simd_supported`]).
    worker_build: &'static str,
    /// Peak WebAssembly memory of the model worker (it never shrinks).
    worker_wasm_memory_bytes: u64,
    /// The page's own WebAssembly memory after the last recompute.
    app_wasm_memory_bytes: u64,
}

thread_local! {
    static PERF: RefCell<Perf> = RefCell::new(Perf::default());
}

fn update(f: impl FnOnce(&mut Perf)) {
    PERF.with(|p| {
        let mut p = p.borrow_mut();
        f(&mut p);
        dom::publish_perf(&*p);
    });
}

/// Runs the engine on `req`, timing it.
pub fn compute(req: &arcs_core::Request) -> Result<Rc<Attention>, RequestError> {
    let t0 = dom::now_ms();
    let r = req.run().map(Rc::new);
    let dt = dom::now_ms() - t0;
    update(|p| {
        p.last_compute_ms = dt;
        p.last_tokens = r.as_ref().map_or(0, |a| a.num_tokens());
        p.app_wasm_memory_bytes = dom::wasm_memory_bytes();
        p.computes += 1;
    });
    r
}

/// Records which model worker build the page starts ("simd" or "plain").
pub fn set_worker_build(simd: bool) {
    update(|p| p.worker_build = if simd { "simd" } else { "plain" });
}

pub fn worker_build_is_plain() -> bool {
    PERF.with(|p| p.borrow().worker_build == "plain")
}

/// Publishes each model's load figures and the newest forward pass's whenever they change.
#[hook]
pub fn use_model_figures(models: &ModelState) {
    let ready: Vec<(String, f64, bool, u64)> = models
        .status
        .iter()
        .filter_map(|(m, s)| match s {
            Status::Ready { load_ms, bytes, from_cache } => {
                Some((m.as_str().to_string(), *load_ms, *from_cache, *bytes))
            }
            _ => None,
        })
        .collect();
    use_effect_with(ready, |ready| {
        update(|p| {
            for (m, load_ms, from_cache, bytes) in ready {
                p.model_ready_ms.insert(m.clone(), *load_ms);
                p.model_from_cache.insert(m.clone(), *from_cache);
                p.model_bytes.insert(m.clone(), *bytes);
            }
        })
    });
    use_effect_with((models.passes, models.last_pass), |(passes, pass)| {
        if let Some(pass) = pass {
            update(|p| {
                p.forwards = *passes;
                p.last_forward_ms = pass.forward_ms;
                p.last_forward_helped = pass.helped;
                p.last_roundtrip_ms = pass.roundtrip_ms;
                p.last_forward_tokens = pass.tokens;
                p.worker_wasm_memory_bytes = p.worker_wasm_memory_bytes.max(pass.wasm_memory_bytes);
            });
        }
    });
}

/// Records when arcs were first on screen.
#[hook]
pub fn use_first_arcs(has_arcs: bool) {
    use_effect_with(has_arcs, |&has| {
        if has {
            update(|p| {
                p.first_arcs_ms.get_or_insert_with(dom::now_ms);
            });
        }
    });
}
