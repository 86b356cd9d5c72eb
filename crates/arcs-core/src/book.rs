//! The book preset: "Your journey starts with one step" with chapter 3's embeddings and weights.
//!
//! These are the chapter's inputs, not its answers: the 6x3 embeddings are literals in the notebook, and
//! the weights are what `torch.manual_seed(123)` drew there (torch's generator cannot be reproduced, so
//! they are stored). Every output is computed by the engine; `tests/book.rs` checks both these inputs and
//! the engine's outputs against `reference/book_ch03.json`. Embedding them here is what lets the
//! app open on the book example with nothing to download.
#![allow(non_snake_case)]

use crate::attention::{HeadWeights, Linear, MultiHeadWeights};
use crate::tensor::Mat;
use nalgebra::DVector;

pub const SENTENCE: &str = "Your journey starts with one step";
pub const TOKENS: [&str; 6] = ["Your", "journey", "starts", "with", "one", "step"];
pub const D_IN: usize = 3;
/// d_out of every trainable example in the chapter.
pub const D_OUT: usize = 2;
/// The chapter's MultiHeadAttention uses two heads of head_dim 1.
pub const NUM_HEADS: usize = 2;

const INPUTS: [[f32; 3]; 6] = [
    [0.43, 0.15, 0.89], // Your     (x^1)
    [0.55, 0.87, 0.66], // journey  (x^2)
    [0.57, 0.85, 0.64], // starts   (x^3)
    [0.22, 0.58, 0.33], // with     (x^4)
    [0.77, 0.25, 0.1],  // one      (x^5)
    [0.05, 0.8, 0.55],  // step     (x^6)
];

// SelfAttention_v1, torch.manual_seed(123): nn.Parameter(torch.rand(d_in, d_out)), right multipliers.
const SA_V1_QUERY: [[f32; 2]; 3] = [[0.29611194, 0.5165623], [0.25167072, 0.6885568], [0.07397246, 0.86652195]];
const SA_V1_KEY: [[f32; 2]; 3] = [[0.13657987, 0.10247904], [0.18405646, 0.72644675], [0.3152539, 0.68710667]];
const SA_V1_VALUE: [[f32; 2]; 3] = [[0.075635314, 0.19663817], [0.31641197, 0.40174013], [0.1185683, 0.8273954]];

// CausalAttention and MultiHeadAttention, torch.manual_seed(123): nn.Linear(d_in, d_out, bias=False),
// drawn in the order W_query, W_key, W_value, so both classes get the same three matrices. Stored here
// transposed (weight.T) to be right multipliers.
const LINEAR_123_QUERY: [[f32; 2]; 3] =
    [[-0.23542964, 0.21772662], [0.019124476, -0.4919342], [-0.28674594, 0.42322308]];
const LINEAR_123_KEY: [[f32; 2]; 3] = [[-0.4196414, 0.2614782], [-0.45901766, -0.2133264], [-0.36482018, 0.21605217]];
const LINEAR_123_VALUE: [[f32; 2]; 3] =
    [[-0.49001414, -0.11346072], [-0.35029206, -0.44043937], [-0.2119892, 0.37804362]];
// MultiHeadAttention.out_proj = nn.Linear(d_out, d_out) with bias, drawn after the three above.
const MHA_OUT_PROJ: [[f32; 2]; 2] = [[-0.16675779, 0.500026], [0.22697258, 0.13173823]];
const MHA_OUT_PROJ_BIAS: [f32; 2] = [0.19335887, 0.68254095];

fn mat<const R: usize, const C: usize>(rows: &[[f32; C]; R]) -> Mat {
    Mat::from_fn(R, C, |i, j| rows[i][j])
}

pub fn tokens() -> Vec<String> {
    TOKENS.iter().map(|t| t.to_string()).collect()
}

/// The chapter's 6x3 input embeddings.
pub fn inputs() -> Mat {
    mat(&INPUTS)
}

/// `SelfAttention_v1` (seed 123): the preset's weights for the "self" mode.
pub fn self_attention_v1() -> HeadWeights {
    HeadWeights {
        W_query: Linear::new(mat(&SA_V1_QUERY)),
        W_key: Linear::new(mat(&SA_V1_KEY)),
        W_value: Linear::new(mat(&SA_V1_VALUE)),
    }
}

/// `CausalAttention` (seed 123): the preset's weights for the "causal" mode.
pub fn causal_attention() -> HeadWeights {
    HeadWeights {
        W_query: Linear::new(mat(&LINEAR_123_QUERY)),
        W_key: Linear::new(mat(&LINEAR_123_KEY)),
        W_value: Linear::new(mat(&LINEAR_123_VALUE)),
    }
}

/// `MultiHeadAttention` (seed 123): fused projections and out_proj; split into heads by the caller.
pub fn multi_head_attention() -> (HeadWeights, Linear) {
    let out_proj = Linear::with_bias(mat(&MHA_OUT_PROJ), DVector::from_row_slice(&MHA_OUT_PROJ_BIAS));
    (causal_attention(), out_proj)
}

/// The chapter's MultiHeadAttention split into `num_heads` heads (1 or 2: d_out is 2).
pub fn multi_head_weights(num_heads: usize) -> MultiHeadWeights {
    let (fused, out_proj) = multi_head_attention();
    MultiHeadWeights::split(&fused, Some(out_proj), num_heads)
}
