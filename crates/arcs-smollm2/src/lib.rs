//! SmolLM2-135M-Instruct in pure Rust, read from a Q4_1 GGUF, returning the model's real attention
//! probabilities and next-token guesses (checked against Hugging Face transformers).
//!
//! No threads, no file system, no web dependencies: the same code runs natively and on
//! `wasm32-unknown-unknown`. The caller reads the file and hands over its bytes:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use arcs_smollm2::SmolLm2;
//! let bytes = std::fs::read("models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")?;
//! let model = SmolLm2::from_gguf(bytes)?;
//! let enc = model.tokenize("Your journey starts with one step")?;
//! let out = model.forward(&enc.ids)?;
//! // How much query token 5 ("step") attends to token 0 in layer 0, head 0:
//! let w = out.layers[0].attn_weights[0].get(5, 0);
//! println!("{w:.3}; next token: {:?}", out.top5_next[0].token);
//! # Ok(()) }
//! ```

mod blocks;
pub mod gguf;
mod model;
pub mod quant;
pub mod tokenizer;

use std::fmt;

pub use gguf::{GgmlType, Gguf, GgufError, GgufValue, TensorInfo};
pub use model::{LayerTrace, SmolLm2, SmolOutput, TokenProb};
pub use tokenizer::{Encoding, Tokenizer, TokenizerError};

/// Transformer blocks.
pub const NUM_LAYERS: usize = 30;
/// Query heads per layer.
pub const NUM_HEADS: usize = 9;
/// Key/value heads per layer; query head `h` reads KV head `h / (NUM_HEADS / NUM_KV_HEADS)`.
pub const NUM_KV_HEADS: usize = 3;
/// Width of one head.
pub const HEAD_DIM: usize = 64;
/// Width of the residual stream (d_model): `NUM_HEADS * HEAD_DIM`.
pub const HIDDEN: usize = NUM_HEADS * HEAD_DIM;
/// Width of keys and values: `NUM_KV_HEADS * HEAD_DIM`.
pub const KV_DIM: usize = NUM_KV_HEADS * HEAD_DIM;
/// Inner width of the SwiGLU feed-forward block.
pub const FFN_DIM: usize = 1536;
/// Vocabulary size.
pub const VOCAB_SIZE: usize = 49152;
/// Longest input `forward` accepts. Memory grows with the square of the length because every layer's
/// attention is returned: about 270 * n^2 * 4 bytes (n = 256: 71 MB; n = 2048: 4.5 GB).
pub const MAX_POSITIONS: usize = 2048;

/// A row-major f32 matrix.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    /// `rows * cols` values, row after row.
    pub data: Vec<f32>,
}

impl Matrix {
    pub fn zeros(rows: usize, cols: usize) -> Matrix {
        Matrix { rows, cols, data: vec![0.0; rows * cols] }
    }

    #[inline]
    pub fn get(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.cols + c]
    }

    #[inline]
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    #[inline]
    pub fn row_mut(&mut self, r: usize) -> &mut [f32] {
        &mut self.data[r * self.cols..(r + 1) * self.cols]
    }
}

/// Why a model could not be loaded or run.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelError {
    /// The file is not a readable GGUF.
    Gguf(GgufError),
    /// The tokenizer metadata is unusable.
    Tokenizer(TokenizerError),
    /// A metadata key is missing or wrong (e.g. not a llama model, or not SmolLM2-135M's shape).
    Metadata(String),
    /// A tensor the model needs is absent.
    MissingTensor(String),
    /// A tensor has the wrong shape or an element type without a kernel here.
    BadTensor { name: String, reason: String },
    /// `forward` was given no tokens.
    EmptyInput,
    /// `forward` was given more tokens than [`MAX_POSITIONS`].
    TooManyTokens { n: usize, max: usize },
    /// A token id outside the vocabulary.
    TokenOutOfRange { id: u32, vocab: usize },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Gguf(e) => write!(f, "{e}"),
            ModelError::Tokenizer(e) => write!(f, "{e}"),
            ModelError::Metadata(m) => write!(f, "model metadata: {m}"),
            ModelError::MissingTensor(t) => write!(f, "model file lacks tensor '{t}'"),
            ModelError::BadTensor { name, reason } => write!(f, "tensor '{name}': {reason}"),
            ModelError::EmptyInput => write!(f, "no tokens to run the model on"),
            ModelError::TooManyTokens { n, max } => {
                write!(f, "{n} tokens is more than the {max} positions this model runs on; shorten the text")
            }
            ModelError::TokenOutOfRange { id, vocab } => {
                write!(f, "token id {id} is outside the vocabulary of {vocab} tokens")
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
