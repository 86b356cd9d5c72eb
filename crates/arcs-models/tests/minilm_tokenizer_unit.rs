//! WordPiece tokenizer behaviour on a tiny hand-made vocabulary (no model files needed).

use arcs_models::minilm::{Encoding, ModelError, WordPiece};

const VOCAB: &str = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\ncafe\nnaive\nresume\nun\n##aff\n##able\n,\n.\n!\n$\n\u{2014}\n\u{ab}\n\u{bb}\n\u{6771}\n\u{4eac}\nhello\nworld\n##s\na\n##a\nzurich\n";

fn tok() -> WordPiece {
    WordPiece::from_vocab(VOCAB).expect("tiny vocab loads")
}

/// Tokens without [CLS]/[SEP], and the original text each covers.
fn pieces(text: &str) -> Vec<(String, String)> {
    let enc = tok().encode(text);
    check_invariants(text, &enc);
    enc.tokens[1..enc.len() - 1]
        .iter()
        .zip(&enc.offsets[1..enc.len() - 1])
        .map(|(t, o)| {
            let (s, e) = o.expect("word pieces have offsets");
            (t.clone(), text[s..e].to_owned())
        })
        .collect()
}

fn check_invariants(text: &str, enc: &Encoding) {
    let t = tok();
    assert_eq!(enc.tokens.len(), enc.ids.len());
    assert_eq!(enc.tokens.len(), enc.offsets.len());
    assert_eq!(enc.tokens.first().map(String::as_str), Some("[CLS]"));
    assert_eq!(enc.tokens.last().map(String::as_str), Some("[SEP]"));
    assert_eq!((enc.offsets[0], enc.offsets[enc.len() - 1]), (None, None));
    for (token, &id) in enc.tokens.iter().zip(&enc.ids) {
        assert_eq!(t.id_to_token(id), Some(token.as_str()));
    }
    let mut last_end = 0;
    for &(s, e) in enc.offsets[1..enc.len() - 1].iter().flatten() {
        assert!(s < e && e <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(e));
        assert!(s >= last_end, "offsets go forward");
        last_end = e;
    }
}

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn special_tokens_and_ids() {
    let enc = tok().encode("the cafe");
    assert_eq!(enc.tokens, ["[CLS]", "the", "cafe", "[SEP]"]);
    assert_eq!(enc.ids, [2, 4, 5, 3]);
    assert_eq!(enc.offsets, [None, Some((0, 3)), Some((4, 8)), None]);
}

#[test]
fn lower_cases_and_strips_accents_keeping_original_spans() {
    assert_eq!(pieces("Café NAÏVE Résumé"), p(&[("cafe", "Café"), ("naive", "NAÏVE"), ("resume", "Résumé")]));
    // Already-decomposed input: like `tokenizers`, a dropped combining mark typed as its own
    // character takes its bytes with it, so the span ends before it.
    assert_eq!(pieces("Cafe\u{301}!"), p(&[("cafe", "Cafe"), ("!", "!")]));
    // A lone combining mark between words vanishes entirely.
    assert_eq!(pieces("the \u{301} cafe"), p(&[("the", "the"), ("cafe", "cafe")]));
    // Zürich: precomposed ü (2 bytes) maps to one 'u'.
    assert_eq!(pieces("Zürich"), p(&[("zurich", "Zürich")]));
}

#[test]
fn cjk_ideographs_are_words_of_their_own() {
    assert_eq!(
        pieces("hello東京world"),
        p(&[("hello", "hello"), ("\u{6771}", "\u{6771}"), ("\u{4eac}", "\u{4eac}"), ("world", "world")])
    );
}

#[test]
fn splits_on_ascii_and_unicode_punctuation() {
    assert_eq!(
        pieces("hello,world!$a"),
        p(&[("hello", "hello"), (",", ","), ("world", "world"), ("!", "!"), ("$", "$"), ("a", "a")])
    );
    // Em dash (Pd) and guillemets (Pi/Pf) are punctuation even without spaces.
    assert_eq!(
        pieces("\u{ab}hello\u{2014}world\u{bb}"),
        p(&[
            ("\u{ab}", "\u{ab}"),
            ("hello", "hello"),
            ("\u{2014}", "\u{2014}"),
            ("world", "world"),
            ("\u{bb}", "\u{bb}")
        ])
    );
}

#[test]
fn greedy_longest_match_first_with_continuations() {
    assert_eq!(pieces("unaffable"), p(&[("un", "un"), ("##aff", "aff"), ("##able", "able")]));
    assert_eq!(pieces("worlds"), p(&[("world", "world"), ("##s", "s")]));
    assert_eq!(pieces("aaa"), p(&[("a", "a"), ("##a", "a"), ("##a", "a")]));
}

#[test]
fn unknown_words_become_one_unk_over_the_whole_word() {
    assert_eq!(pieces("hello xyzzy"), p(&[("hello", "hello"), ("[UNK]", "xyzzy")]));
    // The prefix matches but the rest does not: the whole word is [UNK], no partial pieces.
    assert_eq!(pieces("unaffablez."), p(&[("[UNK]", "unaffablez"), (".", ".")]));
    // Emoji are neither in the vocab nor punctuation.
    assert_eq!(pieces("a \u{1F680} a"), p(&[("a", "a"), ("[UNK]", "\u{1F680}"), ("a", "a")]));
    assert_eq!(tok().encode("xyzzy").ids, [2, 1, 3]);
}

#[test]
fn words_over_100_chars_are_unk() {
    let ok = "a".repeat(100);
    let enc = tok().encode(&ok);
    assert_eq!(enc.len(), 102, "100 chars still go through WordPiece");
    assert!(!enc.tokens.contains(&"[UNK]".to_string()));
    let long = "a".repeat(101);
    assert_eq!(pieces(&long), vec![("[UNK]".to_string(), long.clone())]);
}

#[test]
fn empty_and_blank_input_give_only_specials() {
    for text in ["", "   ", "\t\n\r ", "\u{0}\u{7}\u{FFFD}"] {
        let enc = tok().encode(text);
        assert_eq!(enc.tokens, ["[CLS]", "[SEP]"], "{text:?}");
        assert_eq!(enc.offsets, [None, None]);
    }
}

#[test]
fn control_characters_are_dropped_and_whitespace_splits() {
    // NUL, BEL, zero-width space (Cf) and U+FFFD vanish without splitting the word.
    assert_eq!(pieces("hel\u{0}l\u{7}o\u{200B}\u{FFFD}"), p(&[("hello", "hel\u{0}l\u{7}o")]));
    assert_eq!(
        pieces("hello\tworld\nthe\r\ncafe\u{3000}a\u{a0}a"),
        p(&[("hello", "hello"), ("world", "world"), ("the", "the"), ("cafe", "cafe"), ("a", "a"), ("a", "a")])
    );
}

#[test]
fn vocab_errors_are_reported() {
    assert!(matches!(WordPiece::from_vocab(""), Err(ModelError::Vocab(_))));
    assert!(matches!(WordPiece::from_vocab("[CLS]\n[SEP]\nthe\n"), Err(ModelError::Vocab(m)) if m.contains("[UNK]")));
    // CRLF line endings are tolerated.
    let crlf = VOCAB.replace('\n', "\r\n");
    assert_eq!(WordPiece::from_vocab(&crlf).unwrap().encode("the cafe").ids, [2, 4, 5, 3]);
    assert_eq!(tok().vocab_txt(), VOCAB);
}
