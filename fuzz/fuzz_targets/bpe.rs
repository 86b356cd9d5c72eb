//! Byte-level BPE never panics, and decoding the ids gives back the text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn tokenizer() -> arcs_models::smollm2::Tokenizer {
    // The 256 byte symbols of GPT-2's byte-to-unicode map, and a few merges.
    let mut byte_symbols: Vec<char> = Vec::new();
    let printable: Vec<u32> = (b'!' as u32..=b'~' as u32).chain(0xA1..=0xAC).chain(0xAE..=0xFF).collect();
    let mut extra = 0u32;
    for b in 0u32..256 {
        if printable.contains(&b) {
            byte_symbols.push(char::from_u32(b).unwrap_or('?'));
        } else {
            byte_symbols.push(char::from_u32(256 + extra).unwrap_or('?'));
            extra += 1;
        }
    }
    let mut tokens: Vec<String> = byte_symbols.iter().map(|c| c.to_string()).collect();
    tokens.extend(["th", "the", "Ġt", "Ġthe", "at", "ca", "cat"].iter().map(|s| s.to_string()));
    let merges = ["t h", "th e", "Ġ t", "Ġt he", "a t", "c a", "ca t"];
    arcs_models::smollm2::Tokenizer::new(tokens, &merges, None).expect("tokenizer")
}

fuzz_target!(|text: &str| {
    static TOK: OnceLock<arcs_models::smollm2::Tokenizer> = OnceLock::new();
    let tok = TOK.get_or_init(tokenizer);
    let enc = tok.encode(text);
    assert_eq!(tok.decode(&enc.ids), text);
});
