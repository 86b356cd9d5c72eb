//! The toy tokenizer never panics and every token points at exactly its text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for t in arcs_core::tokenize::tokenize(text) {
        assert_eq!(&text[t.start..t.end], t.text);
        assert!(!t.text.chars().any(char::is_whitespace) || t.text.chars().all(|c| !c.is_whitespace()));
    }
});
