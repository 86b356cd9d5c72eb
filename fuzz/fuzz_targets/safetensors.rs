//! Any bytes as model.safetensors: an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = arcs_models::minilm::MiniLm::from_safetensors(data, "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n");
});
