//! SmolLM2-135M-Instruct, read from a Q4_1 GGUF, as an instance of the Llama-family decoder in
//! [`crate::arch::llama`]: the model's real attention probabilities and next-token guesses (checked
//! against Hugging Face transformers).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use arcs_models::smollm2::SmolLm2;
//! let bytes = std::fs::read("models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")?;
//! let model = SmolLm2::from_gguf(bytes)?;
//! let enc = model.tokenize("Your journey starts with one step")?;
//! let out = model.forward(&enc.ids)?;
//! // How much query token 5 ("step") attends to token 0 in layer 0, head 0:
//! let w = out.layers[0].attn_weights[0].get(5, 0);
//! println!("{w:.3}; next token: {:?}", out.top5_next[0].token);
//! # Ok(()) }
//! ```

pub use crate::arch::llama::{LayerTrace, Llama, LlamaConfig, LlamaOutput, TokenProb};
pub use crate::source::gguf::{GgmlType, Gguf, GgufError, GgufValue, TensorInfo};
pub use crate::tokenizer::bpe::{Encoding, Tokenizer, TokenizerError};
pub use crate::{Matrix, ModelError};

/// SmolLM2 is a Llama-family decoder; its shape comes from the file like any other's.
pub type SmolLm2 = Llama;
/// What [`SmolLm2::forward`] returns.
pub type SmolOutput = LlamaOutput;

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
/// Positions SmolLM2-135M was trained on at least (its file says how many `forward` accepts, see
/// [`LlamaConfig::max_positions`]). Memory grows with the square of the length because every layer's
/// attention is returned: about 270 * n^2 * 4 bytes (n = 256: 71 MB; n = 2048: 4.5 GB).
pub const MAX_POSITIONS: usize = 2048;
