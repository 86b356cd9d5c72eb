use std::fmt;

use crate::source::gguf::GgufError;
use crate::tokenizer::bpe::TokenizerError;

/// Everything that can go wrong loading weights or running the model. Loaders never panic on
/// malformed input: a fetched file that is cut short or corrupted ends up here.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelError {
    /// The safetensors container itself could not be parsed (bad header, truncated data, ...).
    SafeTensors(String),
    /// A tensor the model needs is absent.
    MissingTensor(String),
    /// A tensor is stored with an element type the loader does not accept.
    WrongDtype { name: String, expected: &'static str, found: String },
    /// The files given are not one model this crate can open (what is missing or wrong is named).
    Open(String),
    /// The file is not a readable GGUF.
    Gguf(GgufError),
    /// The BPE tokenizer's metadata is unusable.
    Tokenizer(TokenizerError),
    /// A metadata or configuration key is missing or wrong (e.g. an architecture without a forward pass here).
    Metadata(String),
    /// A GGUF tensor has the wrong shape or an element type without a kernel here.
    BadTensor { name: String, reason: String },
    /// A tensor has the wrong shape for the model's configuration.
    WrongShape { name: String, expected: Vec<usize>, found: Vec<usize> },
    /// A weight is NaN or infinite.
    NonFinite(String),
    /// `vocab.txt` is unusable (empty, missing a special token, ...).
    Vocab(String),
    /// The vocabulary and the word-embedding table disagree on the number of tokens.
    VocabSizeMismatch { vocab: usize, embeddings: usize },
    /// The bytes do not start with the bundle magic `ARCSMLM1`.
    BadMagic,
    /// The bundle was written by a format version this build cannot read.
    UnsupportedVersion(u32),
    /// The bundle is shorter or longer than its header says.
    Truncated { expected: u64, found: u64 },
    /// The bundle's payload does not match its checksum (corrupted download).
    ChecksumMismatch { expected: u64, found: u64 },
    /// The bundle header is malformed or describes a different model.
    BadBundle(String),
    /// No token ids were given.
    EmptyInput,
    /// A part of a split forward pass that does not fit (rows out of range, wrong shapes).
    BadPart(String),
    /// More tokens than the model's positions (learned positions, or the context it was trained for).
    TooLong { tokens: usize, max: usize },
    /// A token id outside the vocabulary.
    InvalidTokenId { id: u32, vocab_size: usize },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::SafeTensors(msg) => write!(f, "invalid safetensors file: {msg}"),
            ModelError::Open(m) => write!(f, "{m}"),
            ModelError::Gguf(e) => write!(f, "{e}"),
            ModelError::Tokenizer(e) => write!(f, "{e}"),
            ModelError::Metadata(m) => write!(f, "model metadata: {m}"),
            ModelError::BadTensor { name, reason } => write!(f, "tensor '{name}': {reason}"),
            ModelError::MissingTensor(name) => write!(f, "tensor `{name}` is missing"),
            ModelError::WrongDtype { name, expected, found } => {
                write!(f, "tensor `{name}` has dtype {found}, expected {expected}")
            }
            ModelError::WrongShape { name, expected, found } => {
                write!(f, "tensor `{name}` has shape {found:?}, expected {expected:?}")
            }
            ModelError::NonFinite(name) => write!(f, "tensor `{name}` contains NaN or infinity"),
            ModelError::Vocab(msg) => write!(f, "invalid vocabulary: {msg}"),
            ModelError::VocabSizeMismatch { vocab, embeddings } => {
                write!(f, "vocabulary has {vocab} tokens but the word-embedding table has {embeddings} rows")
            }
            ModelError::BadMagic => write!(f, "not an Attention Arcs MiniLM bundle (bad magic)"),
            ModelError::UnsupportedVersion(v) => write!(f, "unsupported bundle version {v}"),
            ModelError::Truncated { expected, found } => write!(
                f,
                "bundle is {found} bytes but its header announces {expected} bytes (truncated or corrupted download?)"
            ),
            ModelError::ChecksumMismatch { expected, found } => write!(
                f,
                "bundle checksum mismatch (expected {expected:#018x}, computed {found:#018x}): corrupted download?"
            ),
            ModelError::BadBundle(msg) => write!(f, "invalid bundle: {msg}"),
            ModelError::EmptyInput => write!(f, "no tokens to run the model on"),
            ModelError::BadPart(msg) => write!(f, "invalid part of a forward pass: {msg}"),
            ModelError::TooLong { tokens, max } => {
                write!(f, "{tokens} tokens is more than the {max} positions this model runs on (special tokens included); shorten the text")
            }
            ModelError::InvalidTokenId { id, vocab_size } => {
                write!(f, "token id {id} is outside the vocabulary (size {vocab_size})")
            }
        }
    }
}

impl std::error::Error for ModelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ModelError::Gguf(e) => Some(e),
            ModelError::Tokenizer(e) => Some(e),
            _ => None,
        }
    }
}

impl From<GgufError> for ModelError {
    fn from(e: GgufError) -> Self {
        ModelError::Gguf(e)
    }
}

impl From<TokenizerError> for ModelError {
    fn from(e: TokenizerError) -> Self {
        ModelError::Tokenizer(e)
    }
}
