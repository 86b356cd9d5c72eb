//! The share-link decoder never panics, and whatever it accepts encodes back to the same view.
#![no_main]
use attention_arcs::url::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (view, _notes) = decode(&text);
    let (again, notes) = decode(&encode(&view));
    assert!(notes.is_empty(), "a link we wrote has problems: {notes:?}");
    assert_eq!(again, view);
});
