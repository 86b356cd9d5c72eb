//! A weights file never panics the reader, and accepted weights are finite and consistently shaped.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(w) = arcs_core::weights::CustomWeights::from_json(text) {
        assert!(w.qkv.W_query.weight.iter().all(|x| x.is_finite()));
        assert_eq!(w.qkv.W_key.weight.shape(), w.qkv.W_query.weight.shape());
    }
});
