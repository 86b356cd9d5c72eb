//! Uncased BERT WordPiece tokenizer, reproducing Hugging Face `tokenizers`' `BertNormalizer`
//! (clean_text, handle_chinese_chars, strip_accents, lowercase) + `BertPreTokenizer` + `WordPiece`
//! (`##` continuation prefix, 100 chars per word max) + the `[CLS] ... [SEP]` template, including
//! the offset mapping back to the original text.
//!
//! Offsets are tracked by tagging every normalised character with the byte span of the original
//! character it came from; a token's span runs from its first character's start to its last
//! character's end. That is exactly what `tokenizers` reports (there in code points, here in UTF-8
//! bytes; the reference file's `offsets_utf8` is the same mapping expressed in bytes).

use std::collections::HashMap;

use unicode_general_category::{get_general_category, GeneralCategory as Gc};
use unicode_normalization::char::{canonical_combining_class, decompose_canonical};

use crate::ModelError;

const UNK: &str = "[UNK]";
const CLS: &str = "[CLS]";
const SEP: &str = "[SEP]";
const CONTINUATION: &str = "##";
const MAX_CHARS_PER_WORD: usize = 100;

/// The tokenizer output for one text: `[CLS]`, the WordPieces, `[SEP]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encoding {
    /// Token strings; `##` marks a piece that continues the previous word.
    pub tokens: Vec<String>,
    /// Vocabulary ids, what [`crate::minilm::MiniLm::forward`] takes.
    pub ids: Vec<u32>,
    /// For each token, the `[start, end)` byte range in the original text it came from
    /// (`&text[start..end]` is always valid UTF-8); `None` for `[CLS]` and `[SEP]`. An `[UNK]`
    /// covers its whole word. Pieces of one word have adjacent spans. As in Hugging Face's
    /// `tokenizers`, characters the normaliser drops (control characters, and combining accents
    /// typed as separate code points, e.g. `e` + U+0301) belong to no token, so a span can stop
    /// just before such a mark; a precomposed `é` is covered whole.
    pub offsets: Vec<Option<(usize, usize)>>,
}

impl Encoding {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// WordPiece vocabulary plus the BERT uncased normalisation rules.
#[derive(Debug, Clone, PartialEq)]
pub struct WordPiece {
    token_to_id: HashMap<String, u32>,
    id_to_token: Vec<String>,
    unk_id: u32,
    cls_id: u32,
    sep_id: u32,
    /// BertNormalizer's switches: uncased models (the default) lower-case and strip accents.
    lowercase: bool,
    strip_accents: bool,
}

/// A normalised character and the byte span of the original character it came from.
#[derive(Debug, Clone, Copy)]
struct NormChar {
    c: char,
    start: usize,
    end: usize,
}

impl WordPiece {
    /// Builds the tokenizer from the text of `vocab.txt`: one token per line, id = line number.
    /// Requires `[UNK]`, `[CLS]` and `[SEP]`.
    pub fn from_vocab(vocab_txt: &str) -> Result<Self, ModelError> {
        let mut id_to_token = Vec::new();
        let mut token_to_id = HashMap::new();
        for line in vocab_txt.lines() {
            let id = u32::try_from(id_to_token.len()).map_err(|_| ModelError::Vocab("more than 2^32 tokens".into()))?;
            // Like `tokenizers`' WordPiece::read_file: trailing whitespace is not part of a token,
            // and a repeated token keeps its last id.
            let token = line.trim_end();
            token_to_id.insert(token.to_owned(), id);
            id_to_token.push(token.to_owned());
        }
        if id_to_token.is_empty() {
            return Err(ModelError::Vocab("vocab.txt is empty".into()));
        }
        let special = |name: &str| {
            token_to_id.get(name).copied().ok_or_else(|| ModelError::Vocab(format!("special token {name} is missing")))
        };
        let (unk_id, cls_id, sep_id) = (special(UNK)?, special(CLS)?, special(SEP)?);
        Ok(WordPiece { token_to_id, id_to_token, unk_id, cls_id, sep_id, lowercase: true, strip_accents: true })
    }

    /// The same vocabulary with BertNormalizer's `lowercase` and `strip_accents` as a cased model sets
    /// them (HF: `strip_accents` unset follows `lowercase`).
    pub fn with_case(mut self, lowercase: bool, strip_accents: bool) -> Self {
        self.lowercase = lowercase;
        self.strip_accents = strip_accents;
        self
    }

    /// Number of tokens (lines of vocab.txt).
    pub fn vocab_size(&self) -> usize {
        self.id_to_token.len()
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.token_to_id.get(token).copied()
    }

    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        self.id_to_token.get(id as usize).map(String::as_str)
    }

    /// The vocabulary back as `vocab.txt` text (one token per line, trailing newline).
    pub fn vocab_txt(&self) -> String {
        let mut s = String::with_capacity(self.id_to_token.iter().map(|t| t.len() + 1).sum());
        for t in &self.id_to_token {
            s.push_str(t);
            s.push('\n');
        }
        s
    }

    /// Tokenizes `text` into `[CLS] pieces... [SEP]`. Never fails: unknown words become `[UNK]`.
    /// No truncation happens here; [`crate::minilm::MiniLm::forward`] rejects more than 512 tokens.
    pub fn encode(&self, text: &str) -> Encoding {
        let normalized = normalize(text, self.lowercase, self.strip_accents);
        let mut enc = Encoding::default();
        self.push_special(&mut enc, CLS, self.cls_id);
        let mut piece = String::new();
        for word in pre_tokenize(&normalized) {
            self.word_piece(word, &mut enc, &mut piece);
        }
        self.push_special(&mut enc, SEP, self.sep_id);
        enc
    }

    fn push_special(&self, enc: &mut Encoding, token: &str, id: u32) {
        enc.tokens.push(token.to_owned());
        enc.ids.push(id);
        enc.offsets.push(None);
    }

    /// Greedy longest-match-first split of one pre-tokenized word; the whole word becomes a single
    /// `[UNK]` if it is too long or any part of it cannot be matched.
    fn word_piece(&self, word: &[NormChar], enc: &mut Encoding, piece: &mut String) {
        let span = |from: usize, to: usize| Some((word[from].start, word[to - 1].end));
        if word.len() > MAX_CHARS_PER_WORD {
            enc.tokens.push(UNK.to_owned());
            enc.ids.push(self.unk_id);
            enc.offsets.push(span(0, word.len()));
            return;
        }
        let first_new = enc.ids.len();
        let mut start = 0;
        while start < word.len() {
            let mut end = word.len();
            let mut found = None;
            while start < end {
                piece.clear();
                if start > 0 {
                    piece.push_str(CONTINUATION);
                }
                piece.extend(word[start..end].iter().map(|nc| nc.c));
                if let Some(&id) = self.token_to_id.get(piece.as_str()) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => {
                    enc.tokens.push(piece.clone());
                    enc.ids.push(id);
                    enc.offsets.push(span(start, end));
                    start = end;
                }
                None => {
                    enc.tokens.truncate(first_new);
                    enc.ids.truncate(first_new);
                    enc.offsets.truncate(first_new);
                    enc.tokens.push(UNK.to_owned());
                    enc.ids.push(self.unk_id);
                    enc.offsets.push(span(0, word.len()));
                    return;
                }
            }
        }
    }
}

/// BertNormalizer, in `tokenizers`' order: clean text, space out CJK ideographs, strip accents
/// (NFD, then drop non-spacing marks), lower-case.
fn normalize(text: &str, lowercase: bool, strip_accents: bool) -> Vec<NormChar> {
    let mut decomposed = Vec::with_capacity(text.len());
    for (start, c) in text.char_indices() {
        let end = start + c.len_utf8();
        if c == '\0' || c == '\u{FFFD}' || is_control(c) {
            continue;
        }
        let c = if is_whitespace(c) { ' ' } else { c };
        let chinese = is_chinese_char(c);
        if chinese {
            decomposed.push(NormChar { c: ' ', start, end });
        }
        if strip_accents {
            decompose_canonical(c, |d| decomposed.push(NormChar { c: d, start, end }));
        } else {
            decomposed.push(NormChar { c, start, end });
        }
        if chinese {
            decomposed.push(NormChar { c: ' ', start, end });
        }
    }
    if strip_accents {
        canonical_reorder(&mut decomposed);
    }
    let mut out = Vec::with_capacity(decomposed.len());
    for nc in decomposed {
        if strip_accents && get_general_category(nc.c) == Gc::NonspacingMark {
            continue;
        }
        if lowercase {
            for lc in nc.c.to_lowercase() {
                out.push(NormChar { c: lc, ..nc });
            }
        } else {
            out.push(nc);
        }
    }
    out
}

/// NFD's canonical ordering step: within each run of combining characters (non-zero combining
/// class), stable-sort by class. Per-character decomposition alone does not do it across the
/// boundary between two original characters.
fn canonical_reorder(chars: &mut [NormChar]) {
    let mut i = 0;
    while i < chars.len() {
        if canonical_combining_class(chars[i].c) == 0 {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < chars.len() && canonical_combining_class(chars[i].c) != 0 {
            i += 1;
        }
        chars[run_start..i].sort_by_key(|nc| canonical_combining_class(nc.c));
    }
}

/// BertPreTokenizer: split on whitespace (dropped) and on punctuation (each mark its own word).
fn pre_tokenize(chars: &[NormChar]) -> Vec<&[NormChar]> {
    let mut words = Vec::new();
    let mut word_start = 0;
    for (i, nc) in chars.iter().enumerate() {
        let space = nc.c.is_whitespace();
        if space || is_punctuation(nc.c) {
            if word_start < i {
                words.push(&chars[word_start..i]);
            }
            if !space {
                words.push(&chars[i..i + 1]);
            }
            word_start = i + 1;
        }
    }
    if word_start < chars.len() {
        words.push(&chars[word_start..]);
    }
    words
}

/// Tab, newline and carriage return count as whitespace, not control characters.
fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// Any "Other" general category (Cc, Cf, Cs, Co, Cn) except tab, newline, carriage return.
fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    matches!(get_general_category(c), Gc::Control | Gc::Format | Gc::Surrogate | Gc::PrivateUse | Gc::Unassigned)
}

/// BERT's punctuation: all non-alphanumeric printable ASCII (so `$`, `+`, `^`, ... count) plus
/// every Unicode P* category.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            get_general_category(c),
            Gc::ConnectorPunctuation
                | Gc::DashPunctuation
                | Gc::ClosePunctuation
                | Gc::FinalPunctuation
                | Gc::InitialPunctuation
                | Gc::OtherPunctuation
                | Gc::OpenPunctuation
        )
}

/// The CJK Unified Ideograph blocks of the original BERT `_is_chinese_char` (Hangul, kana etc.
/// are deliberately not included).
fn is_chinese_char(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B820..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}
