//! Byte-level BPE (GPT-2 style), built from the GGUF tokenizer metadata.
//!
//! Pipeline, matching llama.cpp and HF `tokenizers`:
//! 1. special (control) tokens such as `<|im_start|>` are cut out of the text first and map to their ids;
//! 2. the rest is split into pre-tokens by the model's pre-tokenizer ([`PreTokenizer`], GGUF
//!    `tokenizer.ggml.pre`): SmolLM2's digits one by one and then the GPT-2 regex, GPT-2's regex alone, or
//!    Llama 3's and Qwen2's regexes; all hand-coded below;
//! 3. each piece's UTF-8 bytes are mapped to GPT-2's printable byte alphabet (space -> 'Ġ') and merged
//!    pairwise by merge rank until no ranked pair is left.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// How text is split before BPE (GGUF `tokenizer.ggml.pre`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PreTokenizer {
    /// `smollm`: every digit alone, then the GPT-2 regex (HF: `Digits(individual_digits)` + `ByteLevel`).
    #[default]
    Smollm,
    /// `default` / `gpt-2`: the GPT-2 regex
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    Gpt2,
    /// `llama-bpe` (Llama 3): `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    Llama3,
    /// `qwen2`: Llama 3's regex with single digits (`\p{N}` instead of `\p{N}{1,3}`).
    Qwen2,
}

impl PreTokenizer {
    /// GGUF names accepted for each, as llama.cpp spells them.
    pub const NAMES: [(&'static str, PreTokenizer); 7] = [
        ("smollm", PreTokenizer::Smollm),
        ("default", PreTokenizer::Gpt2),
        ("gpt-2", PreTokenizer::Gpt2),
        ("gpt2", PreTokenizer::Gpt2),
        ("llama-bpe", PreTokenizer::Llama3),
        ("llama3", PreTokenizer::Llama3),
        ("qwen2", PreTokenizer::Qwen2),
    ];

    /// The pre-tokenizer a GGUF names (`None` if absent: llama.cpp's `default`).
    pub fn from_gguf_name(name: Option<&str>) -> Result<PreTokenizer, TokenizerError> {
        let Some(name) = name else { return Ok(PreTokenizer::Gpt2) };
        PreTokenizer::NAMES.iter().find(|(n, _)| *n == name).map(|(_, p)| *p).ok_or_else(|| {
            let known: Vec<&str> = PreTokenizer::NAMES.iter().map(|(n, _)| *n).collect();
            TokenizerError::Metadata(format!(
                "pre-tokenizer '{name}' is not supported yet (supported: {})",
                known.join(", ")
            ))
        })
    }

    /// Byte ranges of the pre-tokens of `text[start..end]`.
    pub fn split(self, text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        match self {
            PreTokenizer::Smollm => return pre_tokenize(text, start, end),
            PreTokenizer::Gpt2 => gpt2_split(text, start, end, &mut out),
            PreTokenizer::Llama3 => llama3_split(text, start, end, 3, &mut out),
            PreTokenizer::Qwen2 => llama3_split(text, start, end, 1, &mut out),
        }
        out
    }
}

/// Why a tokenizer could not be built from the metadata.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenizerError {
    /// A required metadata key is missing or has the wrong type.
    Metadata(String),
}

impl fmt::Display for TokenizerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenizerError::Metadata(m) => write!(f, "tokenizer metadata: {m}"),
        }
    }
}

impl std::error::Error for TokenizerError {}

/// The tokens of a text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encoding {
    /// Readable text of each token (GPT-2 byte alphabet decoded: 'Ġcat' -> " cat"). A token that holds only
    /// part of a multi-byte character shows U+FFFD.
    pub tokens: Vec<String>,
    pub ids: Vec<u32>,
    /// Byte span `[start, end)` of each token in the input text. Spans are in order and cover the text
    /// without gaps, except for bytes the vocabulary cannot represent (SmolLM2 has no token for a few control
    /// characters such as U+0004): those are dropped, as the reference tokenizer drops them. A leading space
    /// belongs to the token that carries it. A span may split a multi-byte character when BPE did (e.g. emoji).
    pub offsets: Vec<(usize, usize)>,
}

/// GPT-2's reversible map from bytes to printable chars: printable Latin-1 bytes map to themselves, the
/// rest to U+0100.. in byte order.
fn byte_to_unicode() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        let code = if printable {
            b as u32
        } else {
            let c = next;
            next += 1;
            c
        };
        // All codes are < 324, valid scalar values.
        table[b as usize] = char::from_u32(code).unwrap_or('\u{fffd}');
    }
    table
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tokenizer {
    /// Raw vocabulary strings in the GPT-2 byte alphabet.
    pieces: Vec<String>,
    /// Whether a token is a control/user-defined token whose piece is literal text, not byte-mapped.
    special: Vec<bool>,
    /// Token of each single byte; SmolLM2 lacks a few (bytes that never occur in UTF-8, some controls).
    byte_ids: [Option<u32>; 256],
    /// (left id, right id) -> (rank, merged id).
    merges: HashMap<(u32, u32), (u32, u32)>,
    /// Special tokens matched literally in the input, longest first.
    specials: Vec<(String, u32)>,
    unicode_to_byte: HashMap<char, u8>,
    pre: PreTokenizer,
    /// `ignore_merges` (Llama 3): a pre-token that is itself in the vocabulary is that token, merges or not.
    whole: Option<HashMap<String, u32>>,
    /// SentencePiece-style BPE (Llama 2, TinyLlama, Mistral v0.1) instead of byte-level.
    spm: Option<Spm>,
    /// Unicode NFC first (Qwen2.5's `tokenizer.json` normalizer).
    nfc: bool,
}

/// SentencePiece-style BPE: symbols are characters with spaces as '▁' (U+2581), one '▁' put before the
/// text, and characters the vocabulary lacks spelled as byte tokens `<0xXX>`.
#[derive(Debug, Clone, PartialEq)]
struct Spm {
    /// Token of each single character.
    char_ids: HashMap<char, u32>,
    /// `<0xXX>` tokens, by byte.
    byte_tokens: [Option<u32>; 256],
    /// Put '▁' before the text (`add_space_prefix`, HF's `Prepend("▁")`).
    space_prefix: bool,
    /// ... but not when the text already starts with a space (HF's `Metaspace` pre-tokenizer).
    prefix_unless_space: bool,
}

/// SentencePiece's stand-in for a space.
const SPM_SPACE: char = '\u{2581}';

impl Tokenizer {
    /// Build from `tokenizer.ggml.tokens`, `tokenizer.ggml.merges` ("left right" strings, best first) and
    /// the optional `tokenizer.ggml.token_type` (3 = control, 4 = user-defined: matched literally).
    pub fn new(tokens: Vec<String>, merges: &[&str], token_types: Option<&[i64]>) -> Result<Self, TokenizerError> {
        if tokens.is_empty() {
            return Err(TokenizerError::Metadata("empty vocabulary".into()));
        }
        if u32::try_from(tokens.len()).is_err() {
            return Err(TokenizerError::Metadata("vocabulary too large".into()));
        }
        let mut vocab: HashMap<&str, u32> = HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            // First occurrence wins, as in HF when a vocab lists a string twice.
            vocab.entry(t.as_str()).or_insert(i as u32);
        }
        let b2u = byte_to_unicode();
        let mut byte_ids = [None; 256];
        for b in 0..256 {
            byte_ids[b] = vocab.get(b2u[b].to_string().as_str()).copied();
        }
        let mut merge_map = HashMap::with_capacity(merges.len());
        for (rank, m) in merges.iter().enumerate() {
            let Some((l, r)) = m.split_once(' ') else {
                return Err(TokenizerError::Metadata(format!("merge {rank} ({m:?}) is not 'left right'")));
            };
            let merged = format!("{l}{r}");
            // A merge whose parts or result are not in the vocabulary can never fire.
            if let (Some(&a), Some(&b), Some(&c)) = (vocab.get(l), vocab.get(r), vocab.get(merged.as_str())) {
                merge_map.entry((a, b)).or_insert((rank as u32, c));
            }
        }
        let mut special = vec![false; tokens.len()];
        let mut specials = Vec::new();
        if let Some(types) = token_types {
            for (i, &t) in types.iter().enumerate().take(tokens.len()) {
                if (t == 3 || t == 4) && !tokens[i].is_empty() {
                    special[i] = true;
                    specials.push((tokens[i].clone(), i as u32));
                }
            }
        }
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        let unicode_to_byte = b2u.iter().enumerate().map(|(b, &c)| (c, b as u8)).collect();
        Ok(Tokenizer {
            pieces: tokens,
            special,
            byte_ids,
            merges: merge_map,
            specials,
            unicode_to_byte,
            pre: PreTokenizer::default(),
            whole: None,
            spm: None,
            nfc: false,
        })
    }

    /// A SentencePiece-style tokenizer from GGUF `tokenizer.ggml.model = llama` metadata: tokens, their
    /// scores and types (2 unknown, 3 control, 4 user-defined, 6 byte). As llama.cpp does, two adjacent
    /// symbols merge when their concatenation is a token, the highest-scoring first.
    pub fn sentencepiece(
        tokens: Vec<String>,
        scores: &[f32],
        types: &[i64],
        space_prefix: bool,
    ) -> Result<Self, TokenizerError> {
        let table = {
            let vocab: HashMap<&str, u32> =
                tokens.iter().enumerate().rev().map(|(i, t)| (t.as_str(), i as u32)).collect();
            // Every normal token that splits into two tokens is a merge; its rank is its place by score
            // (the splits of one token share it, so the leftmost such pair goes first).
            let mut by_score: Vec<(f32, u32)> =
                (0..tokens.len()).map(|i| (scores.get(i).copied().unwrap_or(0.0), i as u32)).collect();
            by_score.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut table: HashMap<(u32, u32), (u32, u32)> = HashMap::new();
            for (rank, &(_, id)) in by_score.iter().enumerate() {
                let t = &tokens[id as usize];
                if types.get(id as usize).is_some_and(|&ty| ty != 1) {
                    continue;
                }
                for (at, _) in t.char_indices().skip(1) {
                    let (a, b) = t.split_at(at);
                    if let (Some(&ia), Some(&ib)) = (vocab.get(a), vocab.get(b)) {
                        table.entry((ia, ib)).or_insert((rank as u32, id));
                    }
                }
            }
            table
        };
        let mut tok = Tokenizer::new(tokens, &[], Some(types))?;
        tok.merges = table;
        tok.enable_spm(types, space_prefix);
        Ok(tok)
    }

    /// Switch to SentencePiece-style symbols (characters, '▁' for spaces, byte fallback).
    fn enable_spm(&mut self, types: &[i64], space_prefix: bool) {
        let mut char_ids = HashMap::new();
        let mut byte_tokens = [None; 256];
        for (i, p) in self.pieces.iter().enumerate() {
            let ty = types.get(i).copied().unwrap_or(1);
            if let Some(hex) = p.strip_prefix("<0x").and_then(|h| h.strip_suffix('>')) {
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    if hex.len() == 2 {
                        byte_tokens[b as usize].get_or_insert(i as u32);
                        continue;
                    }
                }
            }
            let mut chars = p.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                if ty == 1 || ty == 4 {
                    char_ids.entry(c).or_insert(i as u32);
                }
            }
        }
        // Control and user-defined pieces print as themselves; byte tokens as their byte.
        self.spm = Some(Spm { char_ids, byte_tokens, space_prefix, prefix_unless_space: false });
    }

    /// Take a pre-token that is in the vocabulary whole, before any merge (HF's `ignore_merges`, which
    /// Llama 3's tokenizer sets and llama.cpp applies to `llama-bpe`).
    pub fn with_ignore_merges(mut self, on: bool) -> Self {
        self.whole = on.then(|| {
            self.pieces
                .iter()
                .enumerate()
                .filter(|(i, _)| !self.special[*i])
                .map(|(i, p)| (p.clone(), i as u32))
                .collect()
        });
        self
    }

    /// Build from a Hugging Face `tokenizer.json` with a byte-level BPE model; returns the tokenizer and
    /// the BOS id its post-processor puts first, if any.
    pub fn from_hf_json(text: &str) -> Result<(Tokenizer, Option<u32>), TokenizerError> {
        let bad = |m: String| TokenizerError::Metadata(format!("tokenizer.json: {m}"));
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON ({e})")))?;
        let model = v.get("model").ok_or_else(|| bad("no 'model'".into()))?;
        let kind = model.get("type").and_then(|t| t.as_str()).unwrap_or("");
        if kind != "BPE" {
            return Err(bad(format!("a '{kind}' model; byte-level BPE is supported")));
        }
        let null = serde_json::Value::Null;
        let spm_prefix = if model.get("byte_fallback").and_then(|b| b.as_bool()).unwrap_or(false) {
            Some(
                sentencepiece_prefix(v.get("normalizer").unwrap_or(&null), v.get("pre_tokenizer").unwrap_or(&null))
                    .map_err(bad)?,
            )
        } else {
            let n = v.get("normalizer").filter(|n| !n.is_null());
            if let Some(ty) = n.map(|n| n.get("type").and_then(|t| t.as_str()).unwrap_or("")).filter(|t| *t != "NFC") {
                return Err(bad(format!("a '{ty}' normalizer is not supported yet (none, or NFC, is)")));
            }
            None
        };
        let nfc = v.get("normalizer").and_then(|n| n.get("type")).and_then(|t| t.as_str()) == Some("NFC");
        let pre = match spm_prefix {
            Some(_) => PreTokenizer::default(),
            None => pre_tokenizer_of(v.get("pre_tokenizer").unwrap_or(&null)).map_err(bad)?,
        };
        // Tokens by id: the model's vocabulary and the added tokens (which may extend it).
        let vocab = model.get("vocab").and_then(|m| m.as_object()).ok_or_else(|| bad("no 'model.vocab'".into()))?;
        let mut by_id: HashMap<u32, (String, i64)> = HashMap::new();
        for (t, id) in vocab {
            let id = id.as_u64().and_then(|i| u32::try_from(i).ok()).ok_or_else(|| bad(format!("bad id of {t:?}")))?;
            by_id.insert(id, (t.clone(), 1));
        }
        for a in v.get("added_tokens").and_then(|a| a.as_array()).into_iter().flatten() {
            let (Some(id), Some(content)) =
                (a.get("id").and_then(|i| i.as_u64()), a.get("content").and_then(|c| c.as_str()))
            else {
                return Err(bad("an added token without id or content".into()));
            };
            let special = a.get("special").and_then(|s| s.as_bool()).unwrap_or(false);
            let id = u32::try_from(id).map_err(|_| bad(format!("bad id of {content:?}")))?;
            by_id.insert(id, (content.to_string(), if special { 3 } else { 4 }));
        }
        let n = by_id.keys().max().map_or(0, |&m| m as usize + 1);
        let mut tokens = Vec::with_capacity(n);
        let mut types = Vec::with_capacity(n);
        for id in 0..n as u32 {
            let (t, ty) = by_id.remove(&id).ok_or_else(|| bad(format!("no token has id {id}")))?;
            tokens.push(t);
            types.push(ty);
        }
        let merges: Vec<String> = model
            .get("merges")
            .and_then(|m| m.as_array())
            .ok_or_else(|| bad("no 'model.merges'".into()))?
            .iter()
            .map(|m| match m {
                serde_json::Value::String(s) => Ok(s.clone()),
                serde_json::Value::Array(pair) => {
                    match (pair.first().and_then(|a| a.as_str()), pair.get(1).and_then(|b| b.as_str())) {
                        (Some(a), Some(b)) => Ok(format!("{a} {b}")),
                        _ => Err(bad("a merge that is not two strings".into())),
                    }
                }
                _ => Err(bad("a merge that is not a string or a pair".into())),
            })
            .collect::<Result<_, _>>()?;
        let merges: Vec<&str> = merges.iter().map(String::as_str).collect();
        let ignore_merges = model.get("ignore_merges").and_then(|b| b.as_bool()).unwrap_or(false);
        let mut tok =
            Tokenizer::new(tokens, &merges, Some(&types))?.with_pre_tokenizer(pre).with_ignore_merges(ignore_merges);
        if let Some((prefix, unless_space)) = spm_prefix {
            tok.enable_spm(&types, prefix);
            if let Some(spm) = tok.spm.as_mut() {
                spm.prefix_unless_space = unless_space;
            }
        }
        tok.nfc = nfc;
        let bos = v
            .get("post_processor")
            .and_then(template_bos)
            .and_then(|t| tok.specials.iter().find(|(s, _)| *s == t).map(|(_, id)| *id));
        Ok((tok, bos))
    }

    /// The same vocabulary with another pre-tokenizer.
    pub fn with_pre_tokenizer(mut self, pre: PreTokenizer) -> Self {
        self.pre = pre;
        self
    }

    pub fn pre_tokenizer(&self) -> PreTokenizer {
        self.pre
    }

    pub fn vocab_size(&self) -> usize {
        self.pieces.len()
    }

    /// The raw vocabulary string of a token (GPT-2 byte alphabet, e.g. "Ġcat").
    pub fn piece(&self, id: u32) -> Option<&str> {
        self.pieces.get(id as usize).map(|s| s.as_str())
    }

    /// The bytes a token stands for.
    pub fn token_bytes(&self, id: u32) -> Vec<u8> {
        let Some(p) = self.pieces.get(id as usize) else {
            return Vec::new();
        };
        if self.special[id as usize] {
            return p.as_bytes().to_vec();
        }
        if let Some(spm) = &self.spm {
            if let Some(b) = spm.byte_tokens.iter().position(|&t| t == Some(id)) {
                return vec![b as u8];
            }
            return p.replace(SPM_SPACE, " ").into_bytes();
        }
        let mut out = Vec::with_capacity(p.len());
        for c in p.chars() {
            match self.unicode_to_byte.get(&c) {
                Some(&b) => out.push(b),
                // Not from the byte alphabet: keep the char itself.
                None => out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes()),
            }
        }
        out
    }

    /// Readable text of one token (lossy for partial UTF-8).
    pub fn token_text(&self, id: u32) -> String {
        String::from_utf8_lossy(&self.token_bytes(id)).into_owned()
    }

    /// Text of a sequence of tokens (bytes joined before UTF-8 decoding, so split characters reassemble).
    pub fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids.iter().flat_map(|&id| self.token_bytes(id)).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    pub fn encode(&self, text: &str) -> Encoding {
        // NFC first where the tokenizer asks for it; text that is already NFC (nearly all) keeps its
        // offsets, other text is tokenised as normalised and its offsets point into that form.
        if self.nfc {
            use unicode_normalization::UnicodeNormalization;
            let normal: String = text.nfc().collect();
            if normal != text {
                return self.encode_plain(&normal);
            }
        }
        self.encode_plain(text)
    }

    fn encode_plain(&self, text: &str) -> Encoding {
        let mut enc = Encoding::default();
        let mut pos = 0;
        while pos < text.len() {
            // Cut at the next special token, if any.
            let next = self
                .specials
                .iter()
                .filter_map(|(s, id)| text[pos..].find(s.as_str()).map(|at| (pos + at, s.len(), *id)))
                // Earliest start; among equal starts the longest (specials are sorted longest first).
                .min_by_key(|&(at, _, _)| at);
            let plain_end = next.map_or(text.len(), |(at, _, _)| at);
            if let Some(spm) = &self.spm {
                // One piece: the whole text between special tokens; the '▁' prefix only at the start.
                if plain_end > pos {
                    self.spm_encode(spm, text, pos, plain_end, pos == 0, &mut enc);
                }
            } else {
                for (s, e) in self.pre.split(text, pos, plain_end) {
                    self.bpe(text, s, e, &mut enc);
                }
            }
            match next {
                Some((at, len, id)) => {
                    enc.ids.push(id);
                    enc.tokens.push(text[at..at + len].to_string());
                    enc.offsets.push((at, at + len));
                    pos = at + len;
                }
                None => pos = text.len(),
            }
        }
        enc
    }

    /// SentencePiece-style BPE over `text[start..end]`: characters (spaces as '▁'), unknown ones as their
    /// bytes' tokens, then merges.
    fn spm_encode(&self, spm: &Spm, text: &str, start: usize, end: usize, first: bool, enc: &mut Encoding) {
        let mut ids = Vec::with_capacity(end - start + 1);
        let mut spans = Vec::with_capacity(end - start + 1);
        if first && spm.space_prefix && !(spm.prefix_unless_space && text[start..end].starts_with(' ')) {
            if let Some(&id) = spm.char_ids.get(&SPM_SPACE) {
                ids.push(id);
                spans.push((start, start));
            }
        }
        for (i, c) in text[start..end].char_indices() {
            let (s, e) = (start + i, start + i + c.len_utf8());
            let c = if c == ' ' { SPM_SPACE } else { c };
            match spm.char_ids.get(&c) {
                Some(&id) => {
                    ids.push(id);
                    spans.push((s, e));
                }
                None => {
                    for (k, b) in c.encode_utf8(&mut [0u8; 4]).bytes().enumerate() {
                        // A byte without its token is dropped (a vocabulary without byte fallback).
                        if let Some(id) = spm.byte_tokens[b as usize] {
                            ids.push(id);
                            spans.push(if k == 0 { (s, e) } else { (e, e) });
                        }
                    }
                }
            }
        }
        self.merge(ids, spans, enc);
    }

    /// BPE-encode the piece `text[start..end]`.
    fn bpe(&self, text: &str, start: usize, end: usize, enc: &mut Encoding) {
        if let Some(whole) = &self.whole {
            let b2u = byte_to_unicode();
            let mapped: String = text.as_bytes()[start..end].iter().map(|&b| b2u[b as usize]).collect();
            if let Some(&id) = whole.get(&mapped) {
                enc.ids.push(id);
                enc.tokens.push(self.token_text(id));
                enc.offsets.push((start, end));
                return;
            }
        }
        // One symbol per byte with its byte span. Bytes the vocabulary lacks are dropped, as HF's BPE does
        // without an unknown token, so their neighbours become adjacent and may merge.
        let mut ids = Vec::with_capacity(end - start);
        let mut spans = Vec::with_capacity(end - start);
        for (i, &b) in text.as_bytes()[start..end].iter().enumerate() {
            if let Some(id) = self.byte_ids[b as usize] {
                ids.push(id);
                spans.push((start + i, start + i + 1));
            }
        }
        self.merge(ids, spans, enc);
    }

    /// Merge symbols by rank and append the tokens to `enc`.
    fn merge(&self, mut ids: Vec<u32>, mut spans: Vec<(usize, usize)>, enc: &mut Encoding) {
        // Merge the best-ranked adjacent pair first, leftmost among equals, until no ranked pair is left: a
        // min-heap of candidate pairs over a linked list of symbols, as HF's BPE does (O(L log L), so long
        // unbroken strings such as URLs or base64 stay fast). Heap entries go stale when a neighbour
        // merges; they are checked when popped.
        let n = ids.len();
        let mut next: Vec<usize> = (1..=n).collect(); // n = none
        let mut prev: Vec<usize> = (0..n).map(|i| i.wrapping_sub(1)).collect(); // usize::MAX = none
        let mut alive = vec![true; n];
        let mut heap = BinaryHeap::new();
        let push = |heap: &mut BinaryHeap<Reverse<(u32, usize, u32, u32)>>, ids: &[u32], i: usize, j: usize| {
            if let Some(&(rank, _)) = self.merges.get(&(ids[i], ids[j])) {
                heap.push(Reverse((rank, i, ids[i], ids[j])));
            }
        };
        for i in 1..n {
            push(&mut heap, &ids, i - 1, i);
        }
        while let Some(Reverse((_, i, a, b))) = heap.pop() {
            let j = next[i];
            if !alive[i] || j >= n || ids[i] != a || ids[j] != b {
                continue; // stale
            }
            let Some(&(_, merged)) = self.merges.get(&(a, b)) else {
                continue;
            };
            ids[i] = merged;
            spans[i].1 = spans[j].1;
            alive[j] = false;
            next[i] = next[j];
            if next[i] < n {
                prev[next[i]] = i;
                push(&mut heap, &ids, i, next[i]);
            }
            if prev[i] < n {
                push(&mut heap, &ids, prev[i], i);
            }
        }
        let (ids, spans): (Vec<u32>, Vec<(usize, usize)>) =
            (0..n).filter(|&i| alive[i]).map(|i| (ids[i], spans[i])).unzip();
        for (&id, &span) in ids.iter().zip(&spans) {
            enc.ids.push(id);
            enc.tokens.push(self.token_text(id));
            enc.offsets.push(span);
        }
    }
}

fn is_letter(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Letter
}

fn is_number(c: char) -> bool {
    c.general_category_group() == GeneralCategoryGroup::Number
}

/// Byte ranges of the pre-tokens of `text[start..end]`: digits one by one, everything between them split
/// by the GPT-2 regex (which sees each between-digits run as a whole string, so its lookahead stops there).
pub fn pre_tokenize(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut run_start = start;
    for (i, c) in text[start..end].char_indices() {
        let i = start + i;
        // HF's Digits pre-tokenizer tests `char::is_numeric`.
        if c.is_numeric() {
            gpt2_split(text, run_start, i, &mut out);
            out.push((i, i + c.len_utf8()));
            run_start = i + c.len_utf8();
        }
    }
    gpt2_split(text, run_start, end, &mut out);
    out
}

/// The GPT-2 regex, alternatives tried in order at each position (leftmost-first, greedy):
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
fn gpt2_split(text: &str, start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
    let s = &text[start..end];
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let n = chars.len();
    let byte_at = |ci: usize| if ci < n { start + chars[ci].0 } else { end };
    let is_other = |c: char| !c.is_whitespace() && !is_letter(c) && !is_number(c);
    let mut i = 0;
    while i < n {
        let c = chars[i].1;
        // 'contractions (case-sensitive, as in the pattern).
        if c == '\'' {
            let rest = &s[chars[i].0 + 1..];
            let hit = ["re", "ve", "ll", "s", "t", "m", "d"].iter().find(|suf| rest.starts_with(**suf));
            if let Some(suf) = hit {
                let j = i + 1 + suf.len(); // the suffixes are ASCII: one char per byte
                out.push((byte_at(i), byte_at(j)));
                i = j;
                continue;
            }
        }
        // ` ?X+` for X in letters, numbers, others: an optional single U+0020, then a run of one class. A
        // space is in none of the classes, so the space-less branch can only start at a non-space.
        let mut matched = false;
        for class in [is_letter as fn(char) -> bool, is_number, is_other] {
            let first = if c == ' ' && i + 1 < n && class(chars[i + 1].1) {
                i + 1
            } else if class(c) {
                i
            } else {
                continue;
            };
            let mut j = first + 1;
            while j < n && class(chars[j].1) {
                j += 1;
            }
            out.push((byte_at(i), byte_at(j)));
            i = j;
            matched = true;
            break;
        }
        if matched {
            continue;
        }
        // Whitespace: `\s+(?!\S)` keeps the last blank for the next word when a word follows; `\s+` otherwise.
        let mut j = i;
        while j < n && chars[j].1.is_whitespace() {
            j += 1;
        }
        let stop = if j == n || j - i == 1 { j } else { j - 1 };
        // `j > i` always holds here: a char that is no letter, number or other is whitespace.
        let stop = stop.max(i + 1);
        out.push((byte_at(i), byte_at(stop)));
        i = stop;
    }
}

/// Llama 3's and Qwen2's split patterns as their `tokenizer.json` spell them.
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2_PATTERN: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The pre-tokenizer a `tokenizer.json` describes, if it is one of ours.
fn pre_tokenizer_of(p: &serde_json::Value) -> Result<PreTokenizer, String> {
    let ty = |v: &serde_json::Value| v.get("type").and_then(|t| t.as_str()).unwrap_or("").to_string();
    let flag = |v: &serde_json::Value, k: &str, d: bool| v.get(k).and_then(|b| b.as_bool()).unwrap_or(d);
    let byte_level = |v: &serde_json::Value, regex: bool| {
        ty(v) == "ByteLevel" && !flag(v, "add_prefix_space", false) && flag(v, "use_regex", true) == regex
    };
    if byte_level(p, true) {
        return Ok(PreTokenizer::Gpt2);
    }
    let parts = p.get("pretokenizers").and_then(|a| a.as_array()).map(Vec::as_slice).unwrap_or(&[]);
    if let [first, second] = parts {
        if ty(first) == "Digits" && flag(first, "individual_digits", false) && byte_level(second, true) {
            return Ok(PreTokenizer::Smollm);
        }
        let pattern = first.get("pattern").and_then(|q| q.get("Regex")).and_then(|r| r.as_str()).unwrap_or("");
        let isolated =
            first.get("behavior").and_then(|b| b.as_str()) == Some("Isolated") && !flag(first, "invert", false);
        if ty(first) == "Split" && isolated && byte_level(second, false) {
            if pattern == LLAMA3_PATTERN {
                return Ok(PreTokenizer::Llama3);
            }
            if pattern == QWEN2_PATTERN {
                return Ok(PreTokenizer::Qwen2);
            }
        }
    }
    Err(format!(
        "this pre-tokenizer is not supported yet (supported: GPT-2's byte-level regex, SmolLM2's digits + byte level, \
         Llama 3's and Qwen2's split patterns): {}",
        p.to_string().chars().take(160).collect::<String>()
    ))
}

/// Whether a SentencePiece-style `tokenizer.json` puts '▁' before the text: Llama 2's
/// `Sequence[Prepend("▁"), Replace(" ", "▁")]` normalizer, or a `Metaspace` pre-tokenizer that does not
/// split; `Replace` alone (Gemma) puts none.
fn sentencepiece_prefix(normalizer: &serde_json::Value, pre: &serde_json::Value) -> Result<(bool, bool), String> {
    let ty = |v: &serde_json::Value| v.get("type").and_then(|t| t.as_str()).unwrap_or("").to_string();
    let is_replace = |v: &serde_json::Value| {
        ty(v) == "Replace"
            && v.get("pattern").and_then(|p| p.get("String")).and_then(|s| s.as_str()) == Some(" ")
            && v.get("content").and_then(|c| c.as_str()) == Some("\u{2581}")
    };
    let is_prepend =
        |v: &serde_json::Value| ty(v) == "Prepend" && v.get("prepend").and_then(|c| c.as_str()) == Some("\u{2581}");
    let parts: Vec<&serde_json::Value> = match normalizer.get("normalizers").and_then(|n| n.as_array()) {
        Some(list) => list.iter().collect(),
        None if normalizer.is_null() => Vec::new(),
        None => vec![normalizer],
    };
    match (parts.as_slice(), pre.is_null()) {
        ([p, r], true) if is_prepend(p) && is_replace(r) => Ok((true, false)),
        ([r], true) if is_replace(r) => Ok((false, false)),
        ([], false) if ty(pre) == "Metaspace" && !pre.get("split").and_then(|s| s.as_bool()).unwrap_or(true) => {
            Ok((pre.get("prepend_scheme").and_then(|s| s.as_str()).unwrap_or("always") != "never", true))
        }
        _ => Err(format!(
            "this SentencePiece-style normalizer / pre-tokenizer is not supported yet: {} / {}",
            normalizer.to_string().chars().take(120).collect::<String>(),
            pre.to_string().chars().take(120).collect::<String>()
        )),
    }
}

/// The special token a post-processor's template puts before the text (a BOS), found in a
/// `TemplateProcessing` itself or inside a `Sequence`.
fn template_bos(p: &serde_json::Value) -> Option<String> {
    if let Some(parts) = p.get("processors").and_then(|a| a.as_array()) {
        return parts.iter().find_map(template_bos);
    }
    let first = p.get("single")?.as_array()?.first()?;
    first.get("SpecialToken")?.get("id")?.as_str().map(String::from)
}

/// Llama 3's regex (Qwen2's with `max_digits` 1), alternatives tried in order at each position:
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}| ?[^\s\p{L}\p{N}]+[\r\n]*|
/// \s*[\r\n]+|\s+(?!\S)|\s+`.
fn llama3_split(text: &str, start: usize, end: usize, max_digits: usize, out: &mut Vec<(usize, usize)>) {
    let s = &text[start..end];
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let n = chars.len();
    let byte_at = |ci: usize| if ci < n { start + chars[ci].0 } else { end };
    let newline = |c: char| c == '\r' || c == '\n';
    let is_other = |c: char| !c.is_whitespace() && !is_letter(c) && !is_number(c);
    let mut i = 0;
    while i < n {
        let c = chars[i].1;
        // 'contractions, case-insensitive.
        if c == '\'' {
            let rest: String = s[chars[i].0 + 1..].chars().take(2).collect::<String>().to_lowercase();
            let hit = ["s", "t", "re", "ve", "m", "ll", "d"].iter().find(|suf| rest.starts_with(**suf));
            if let Some(suf) = hit {
                let j = i + 1 + suf.len(); // lower-casing ASCII keeps one char per letter
                out.push((byte_at(i), byte_at(j)));
                i = j;
                continue;
            }
        }
        // `[^\r\n\p{L}\p{N}]?\p{L}+`: letters, maybe led by one char that is no newline, letter or number.
        let lead = !newline(c) && !is_letter(c) && !is_number(c) && i + 1 < n && is_letter(chars[i + 1].1);
        if is_letter(c) || lead {
            let mut j = i + 1;
            while j < n && is_letter(chars[j].1) {
                j += 1;
            }
            out.push((byte_at(i), byte_at(j)));
            i = j;
            continue;
        }
        // `\p{N}{1,k}`.
        if is_number(c) {
            let mut j = i + 1;
            while j < n && j - i < max_digits && is_number(chars[j].1) {
                j += 1;
            }
            out.push((byte_at(i), byte_at(j)));
            i = j;
            continue;
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`.
        let first = if c == ' ' && i + 1 < n && is_other(chars[i + 1].1) { i + 1 } else { i };
        if is_other(chars[first].1) {
            let mut j = first + 1;
            while j < n && is_other(chars[j].1) {
                j += 1;
            }
            while j < n && newline(chars[j].1) {
                j += 1;
            }
            out.push((byte_at(i), byte_at(j)));
            i = j;
            continue;
        }
        // Whitespace from here on (a char that is no letter, number or other).
        let mut j = i;
        while j < n && chars[j].1.is_whitespace() {
            j += 1;
        }
        let j = j.max(i + 1);
        // `\s*[\r\n]+`: up to the last newline of the run.
        if let Some(last_nl) = (i..j).rev().find(|&k| newline(chars[k].1)) {
            out.push((byte_at(i), byte_at(last_nl + 1)));
            i = last_nl + 1;
            continue;
        }
        // `\s+(?!\S)` keeps the last blank for the next word when one follows; `\s+` otherwise.
        let stop = if j == n || j - i == 1 { j } else { j - 1 };
        out.push((byte_at(i), byte_at(stop)));
        i = stop;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        pre_tokenize(text, 0, text.len()).into_iter().map(|(s, e)| &text[s..e]).collect()
    }

    #[test]
    fn byte_alphabet() {
        let t = byte_to_unicode();
        assert_eq!(t[b' ' as usize], 'Ġ');
        assert_eq!(t[b'\n' as usize], 'Ċ');
        assert_eq!(t[b'a' as usize], 'a');
        assert_eq!(t[0xA0], 'ł');
        assert_eq!(t[0xAD], 'Ń');
        let mut seen: Vec<char> = t.to_vec();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 256);
    }

    #[test]
    fn gpt2_regex_cases() {
        assert_eq!(split("Hello world"), ["Hello", " world"]);
        assert_eq!(split("didn't"), ["didn", "'t"]);
        assert_eq!(split("I'LL"), ["I", "'", "LL"]); // contractions are case-sensitive
        assert_eq!(split("we're ok"), ["we", "'re", " ok"]);
        assert_eq!(split("a  b"), ["a", " ", " b"]);
        assert_eq!(split("a   "), ["a", "   "]);
        assert_eq!(split("a\nb"), ["a", "\n", "b"]);
        assert_eq!(split("a \n\n b"), ["a", " \n\n", " b"]);
        assert_eq!(split("x, y!!"), ["x", ",", " y", "!!"]);
        assert_eq!(split(" ?!"), [" ?!"]);
        assert_eq!(split("3/4."), ["3", "/", "4", "."]);
        assert_eq!(split("number 9 3/4."), ["number", " ", "9", " ", "3", "/", "4", "."]);
        assert_eq!(split("abc123def"), ["abc", "1", "2", "3", "def"]);
        assert_eq!(split("héllo wörld"), ["héllo", " wörld"]);
        assert_eq!(split("  "), ["  "]);
        assert_eq!(split(" "), [" "]);
        assert_eq!(split(""), Vec::<&str>::new());
        // \p{L} is the Letter category, narrower than `is_alphabetic`: a combining mark is "other".
        assert_eq!(split("नमस्ते"), ["नमस", "्", "त", "े"]);
    }

    fn toy() -> Tokenizer {
        let b2u = byte_to_unicode();
        let mut tokens: Vec<String> = vec!["<|s|>".into()];
        tokens.extend((0..=255u8).map(|b| b2u[b as usize].to_string()));
        tokens.extend(["Ġc", "at", "Ġcat", "aa"].map(String::from));
        let mut types = vec![1i64; tokens.len()];
        types[0] = 3;
        Tokenizer::new(tokens, &["a t", "Ġ c", "Ġc at", "a a"], Some(&types)).unwrap()
    }

    #[test]
    fn bpe_merges_by_rank_and_reports_spans() {
        let t = toy();
        let e = t.encode("a cat<|s|>aaa");
        let ids_of = |s: &str| t.pieces.iter().position(|p| p == s).unwrap() as u32;
        assert_eq!(e.ids, [ids_of("a"), ids_of("Ġcat"), 0, ids_of("aa"), ids_of("a")]);
        assert_eq!(e.tokens, ["a", " cat", "<|s|>", "aa", "a"]);
        assert_eq!(e.offsets, [(0, 1), (1, 5), (5, 10), (10, 12), (12, 13)]);
        assert_eq!(t.decode(&e.ids), "a cat<|s|>aaa");
    }

    #[test]
    fn bytes_missing_from_the_vocab_are_dropped() {
        // Like SmolLM2, which has no token for byte 0x04: the pre-token "!\x04?" encodes as "!" "?", which
        // are then adjacent and merge.
        let b2u = byte_to_unicode();
        let mut tokens: Vec<String> = (0..=255u8).filter(|&b| b != 4).map(|b| b2u[b as usize].to_string()).collect();
        tokens.push("!?".into());
        let t = Tokenizer::new(tokens, &["! ?"], None).unwrap();
        let e = t.encode("!\u{4}?");
        assert_eq!(e.tokens, ["!?"]);
        assert_eq!(e.offsets, [(0, 3)]);
        let e = t.encode("\u{4}");
        assert!(e.ids.is_empty());
    }

    #[test]
    fn long_unbroken_strings_stay_fast() {
        let t = toy();
        let text = "a".repeat(200_000);
        let e = t.encode(&text);
        assert_eq!(e.ids.len(), 100_000);
        assert!(e.tokens.iter().all(|s| s == "aa"));
    }

    #[test]
    fn multibyte_chars_fall_back_to_bytes() {
        let t = toy();
        let e = t.encode("é");
        assert_eq!(e.ids.len(), 2);
        assert_eq!(e.offsets, [(0, 1), (1, 2)]);
        assert_eq!(e.tokens, ["\u{fffd}", "\u{fffd}"]);
        assert_eq!(t.decode(&e.ids), "é");
    }
}
