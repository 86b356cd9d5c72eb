//! The model manifest the worker downloads by: refused or sane, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(m) = attention_arcs::protocol::Manifest::parse(text) {
        for model in [&m.minilm, &m.smollm2].into_iter().flatten() {
            assert!(model.files.iter().all(|f| !f.name.contains('/') && f.sha256.len() == 64));
        }
    }
});
