//! Any bytes as the browser's MiniLM bundle: an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = arcs_models::minilm::MiniLm::from_bundle(data);
});
