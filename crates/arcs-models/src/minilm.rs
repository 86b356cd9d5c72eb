//! sentence-transformers/all-MiniLM-L6-v2 (a 6-layer, 12-head BERT encoder) as an instance of the
//! BERT-style architecture in [`crate::arch::bert`], with its uncased WordPiece tokenizer.
//!
//! * [`MiniLm::from_safetensors`] reads Hugging Face's `model.safetensors` (f32) plus `vocab.txt`
//!   and reproduces `BertModel` (eager attention, f32) to within about 1e-6 on attention weights.
//! * [`MiniLm::from_bundle`] reads the compact browser bundle written by [`encode_bundle`]
//!   (quantised, entropy-coded weights plus vocabulary, 22.9 MB; see [`crate::source::bundle`]).
//!
//! ```no_run
//! # fn demo(safetensors: &[u8], vocab_txt: &str) -> Result<(), arcs_models::ModelError> {
//! let model = arcs_models::minilm::MiniLm::from_safetensors(safetensors, vocab_txt)?;
//! let encoding = model.tokenizer().encode("The cat sat on the mat.");
//! let out = model.forward(&encoding.ids)?;
//! // Attention of layer 0, head 3: row = query token, column = key token.
//! let weights = &out.layers[0].attn_weights[3];
//! assert_eq!(weights.rows(), encoding.ids.len());
//! # Ok(()) }
//! ```

pub use crate::arch::bert::{Bert, BertOutput, Config, LayerOutput, RowPass, WeightFormat};
pub use crate::source::bundle::encode_bundle;
pub use crate::tokenizer::wordpiece::{Encoding, WordPiece};
pub use crate::{Matrix, ModelError};

/// MiniLM is a BERT-style encoder; [`Config::MINILM_L6_V2`] is its shape.
pub type MiniLm = Bert;
/// What [`MiniLm::forward`] returns.
pub type MiniLmOutput = BertOutput;

/// Encoder layers in all-MiniLM-L6-v2.
pub const NUM_LAYERS: usize = 6;
/// Attention heads per layer.
pub const NUM_HEADS: usize = 12;
/// Width of one head's query/key/value slice (`HIDDEN_SIZE / NUM_HEADS`).
pub const HEAD_DIM: usize = 32;
/// Width of the residual stream.
pub const HIDDEN_SIZE: usize = NUM_HEADS * HEAD_DIM;
/// Width of the feed-forward block's hidden layer.
pub const INTERMEDIATE_SIZE: usize = 1536;
/// WordPiece vocabulary size (rows of the word-embedding table).
pub const VOCAB_SIZE: usize = 30522;
/// Learned absolute positions: the longest sequence the model accepts, `[CLS]` and `[SEP]` included.
pub const MAX_POSITIONS: usize = 512;
/// LayerNorm epsilon used by every LayerNorm in the model.
pub const LAYER_NORM_EPS: f32 = 1e-12;

impl Config {
    /// sentence-transformers/all-MiniLM-L6-v2.
    pub const MINILM_L6_V2: Config = Config {
        vocab_size: VOCAB_SIZE,
        hidden_size: HIDDEN_SIZE,
        num_layers: NUM_LAYERS,
        num_heads: NUM_HEADS,
        head_dim: HEAD_DIM,
        intermediate_size: INTERMEDIATE_SIZE,
        max_position_embeddings: MAX_POSITIONS,
        layer_norm_eps: LAYER_NORM_EPS,
    };
}

impl Default for Config {
    fn default() -> Self {
        Config::MINILM_L6_V2
    }
}
