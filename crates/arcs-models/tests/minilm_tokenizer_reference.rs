//! The tokenizer against Hugging Face's output for every reference sentence.

#[path = "common_minilm/mod.rs"]
mod common;

use arcs_models::minilm::WordPiece;

#[test]
fn tokens_ids_and_offsets_match_hugging_face() {
    if !common::vocab_present("tokens_ids_and_offsets_match_hugging_face") {
        return;
    }
    let tok = WordPiece::from_vocab(&common::vocab_txt()).expect("vocab.txt loads");
    assert_eq!(tok.vocab_size(), arcs_models::minilm::VOCAB_SIZE);
    let sentences = common::reference();
    assert!(sentences.len() >= 6);
    for s in sentences {
        let enc = tok.encode(&s.text);
        assert_eq!(enc.tokens, s.tokens, "{}: tokens", s.id);
        assert_eq!(enc.ids, s.input_ids, "{}: ids", s.id);
        // The reference's `offsets_utf8` is HF's offset mapping in UTF-8 bytes, [0, 0] for specials.
        let ours: Vec<(usize, usize)> = enc.offsets.iter().map(|o| o.unwrap_or((0, 0))).collect();
        assert_eq!(ours, s.offsets_utf8, "{}: byte offsets", s.id);
        assert_eq!((enc.offsets[0], enc.offsets[enc.len() - 1]), (None, None));
    }
}
