//! The toy model's tokenizer: words and punctuation, the way chapter 2 starts.
//!
//! A word is a run of letters and digits (apostrophes inside a word stay, so "didn't" is one token).
//! Any other visible character is a token of its own, together with the marks that modify it (combining
//! accents, variation selectors, skin tones, and characters joined by a zero-width joiner), so an emoji
//! family stays one token. Whitespace and control characters separate tokens and never appear in one.
//! Every token keeps its byte span in the original text so the UI can point back at what was typed.

/// One token and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    /// Byte offsets `start..end` in the original text.
    pub start: usize,
    pub end: usize,
}

fn is_extender(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A | 0x064B..=0x065F
        | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E
        | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x200C | 0x200D | 0x20D0..=0x20FF
        | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F | 0xE0100..=0xE01EF)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c as u32, 0x200B | 0x2060 | 0xFEFF)
}

/// Splits text into words and punctuation.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens: Vec<Token> = Vec::new();
    // Whether the current token may absorb the next character, and whether it is a word.
    let mut open: Option<bool> = None;
    let mut after_joiner = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = i + c.len_utf8();
        if is_separator(c) {
            open = None;
            after_joiner = false;
            continue;
        }
        let joins = after_joiner || is_extender(c);
        let continues_word = open == Some(true)
            && (is_word_char(c)
                || (c == '\'' || c == '\u{2019}') && chars.peek().is_some_and(|&(_, n)| is_word_char(n)));
        match (open, tokens.last_mut()) {
            (Some(_), Some(last)) if joins || continues_word => {
                last.text.push(c);
                last.end = end;
            }
            _ => {
                tokens.push(Token { text: c.to_string(), start: i, end });
                open = Some(is_word_char(c));
            }
        }
        after_joiner = c == '\u{200D}';
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokenize(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn words_and_punctuation() {
        assert_eq!(texts("Your journey starts with one step"), ["Your", "journey", "starts", "with", "one", "step"]);
        assert_eq!(texts("Hello, world!"), ["Hello", ",", "world", "!"]);
        assert_eq!(texts("The animal didn't cross."), ["The", "animal", "didn't", "cross", "."]);
        assert_eq!(texts("'quoted'"), ["'", "quoted", "'"]);
        assert_eq!(texts("9 3/4"), ["9", "3", "/", "4"]);
        assert_eq!(texts("--"), ["-", "-"]);
    }

    #[test]
    fn spans_point_back_into_the_text() {
        let s = "  Café  au lait ";
        for t in tokenize(s) {
            assert_eq!(&s[t.start..t.end], t.text);
        }
        assert_eq!(texts(s), ["Café", "au", "lait"]);
    }

    #[test]
    fn marks_and_emoji_stay_with_their_base() {
        assert_eq!(texts("e\u{301}te\u{301}"), ["e\u{301}te\u{301}"]);
        assert_eq!(texts("hi 👩\u{200D}👩\u{200D}👧 👍🏽!"), ["hi", "👩\u{200D}👩\u{200D}👧", "👍🏽", "!"]);
        assert_eq!(texts("שלום עולם"), ["שלום", "עולם"]);
    }

    #[test]
    fn empty_whitespace_and_control_give_nothing() {
        assert!(tokenize("").is_empty());
        assert!(tokenize(" \t\n ").is_empty());
        assert_eq!(texts("a\u{0}b\u{7}c"), ["a", "b", "c"]);
        assert_eq!(texts("a\u{200B}b"), ["a", "b"]);
    }
}
