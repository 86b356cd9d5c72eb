//! Any bytes as a GGUF file: an error, never a panic (the reader and the model loader).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = arcs_models::smollm2::Gguf::parse(data);
    if data.len() < 1 << 16 {
        let _ = arcs_models::smollm2::SmolLm2::from_gguf(data.to_vec());
    }
});
