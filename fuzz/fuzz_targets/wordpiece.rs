//! WordPiece never panics; ids are in the vocabulary and spans lie inside the text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const VOCAB: &str = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nc\nthe\ncat\n##s\n##at\nsit\n##ting\n.\n,\n!\n?\n'\n東\n京\ncafe\n##e\ne\n";

fuzz_target!(|text: &str| {
    static WP: OnceLock<arcs_models::minilm::WordPiece> = OnceLock::new();
    let wp = WP.get_or_init(|| arcs_models::minilm::WordPiece::from_vocab(VOCAB).expect("vocab"));
    let enc = wp.encode(text);
    assert_eq!(enc.ids.len(), enc.tokens.len());
    assert_eq!(enc.offsets.len(), enc.tokens.len());
    for &id in &enc.ids {
        assert!((id as usize) < wp.vocab_size());
    }
    for (s, e) in enc.offsets.iter().flatten() {
        assert!(s <= e && *e <= text.len());
    }
});
