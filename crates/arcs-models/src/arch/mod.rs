//! Architectures: BERT-style encoders (BERT, RoBERTa, DistilBERT) and decoders (the Llama family, Gemma 3,
//! GPT-2).

pub mod bert;
pub mod llama;

use crate::{Matrix, ModelError};

/// What one block saw and computed, encoder or decoder. `n` = number of tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTrace {
    /// `[n, hidden]` residual stream entering the block (for an encoder's layer 0, the normed embeddings).
    pub layer_input: Matrix,
    /// `[n, num_heads * head_dim]` queries (after RoPE where the model rotates); head `h` is columns
    /// `h*head_dim..(h+1)*head_dim`. In a llama GGUF the dimensions inside a head are in llama.cpp's
    /// permuted order, where RoPE rotates adjacent pairs (2i, 2i+1) and HF's puts pair i at
    /// (i, i + head_dim/2); dot products, and so attention, are the same in both.
    pub queries: Matrix,
    /// `[n, num_kv_heads * head_dim]` keys, laid out like `queries`.
    pub keys: Matrix,
    /// `[n, num_kv_heads * head_dim]` values.
    pub values: Matrix,
    /// `num_heads` matrices `[n, n]`: `attn_weights[h].get(i, j)` is how much query token i attends to key
    /// token j (softmax probability; each row sums to 1; in a decoder `j > i` is exactly 0).
    pub attn_weights: Vec<Matrix>,
}

/// A positive integer of a Hugging Face `config.json` (at most 2^24: no shape is larger), or an error
/// naming the key.
pub(crate) fn config_int(config: &serde_json::Value, key: &str) -> Result<usize, ModelError> {
    config
        .get(key)
        .and_then(|x| x.as_u64())
        .and_then(|x| usize::try_from(x).ok())
        .filter(|&x| x > 0 && x <= 1 << 24)
        .ok_or_else(|| ModelError::Metadata(format!("config.json: '{key}' is missing or not a positive integer")))
}
