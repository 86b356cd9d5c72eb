//! The four kinds of attention from chapter 3, returning every intermediate a learner might look at.
//!
//! Shapes use the book's names: `n` tokens, `d_in` input features, `d_out` output features, `num_heads`
//! heads of `head_dim = d_out / num_heads`. Weights are right multipliers (`x @ W`), as
//! `nn.Parameter(torch.rand(d_in, d_out))` in the book; an `nn.Linear` weight is its transpose.
#![allow(non_snake_case)] // W_query, W_key, W_value: the book's names

use crate::prng::SplitMix64;
use crate::tensor::{matmul, matmul_t, softmax_naive_rows, softmax_rows, sum_normalize_rows, Mat};
use nalgebra::DVector;

/// The four modes the app switches between. Their names are part of the CLI and URL contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Simplified,
    SelfAttention,
    Causal,
    MultiHead,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Simplified, Mode::SelfAttention, Mode::Causal, Mode::MultiHead];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Simplified => "simplified",
            Mode::SelfAttention => "self",
            Mode::Causal => "causal",
            Mode::MultiHead => "multi-head",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// How the causal mask hides the future. Both give the same weights; the app shows why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MaskStyle {
    /// Set future scores to -inf before the softmax (what `CausalAttention` does).
    NegInf,
    /// Softmax first, zero the upper triangle, divide each row by its new sum (the book's first try).
    Renormalize,
}

impl MaskStyle {
    pub fn as_str(self) -> &'static str {
        match self {
            MaskStyle::NegInf => "neg-inf",
            MaskStyle::Renormalize => "renormalize",
        }
    }

    pub fn parse(s: &str) -> Option<MaskStyle> {
        match s {
            "neg-inf" => Some(MaskStyle::NegInf),
            "renormalize" => Some(MaskStyle::Renormalize),
            _ => None,
        }
    }
}

/// Turning simplified scores into weights: the softmax, and the two teaching variants of section 3.3.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Normalization {
    Softmax,
    SumNormalized,
    NaiveSoftmax,
}

impl Normalization {
    pub fn as_str(self) -> &'static str {
        match self {
            Normalization::Softmax => "softmax",
            Normalization::SumNormalized => "sum",
            Normalization::NaiveSoftmax => "naive-softmax",
        }
    }

    pub fn parse(s: &str) -> Option<Normalization> {
        match s {
            "softmax" => Some(Normalization::Softmax),
            "sum" => Some(Normalization::SumNormalized),
            "naive-softmax" => Some(Normalization::NaiveSoftmax),
            _ => None,
        }
    }

    pub fn apply(self, scores: &Mat) -> Mat {
        match self {
            Normalization::Softmax => softmax_rows(scores),
            Normalization::SumNormalized => sum_normalize_rows(scores),
            Normalization::NaiveSoftmax => softmax_naive_rows(scores),
        }
    }
}

/// `y = x @ weight + bias`, with `weight` of shape (d_in, d_out).
#[derive(Clone, Debug, PartialEq)]
pub struct Linear {
    pub weight: Mat,
    pub bias: Option<DVector<f32>>,
}

impl Linear {
    pub fn new(weight: Mat) -> Self {
        Self { weight, bias: None }
    }

    pub fn with_bias(weight: Mat, bias: DVector<f32>) -> Self {
        Self { weight, bias: Some(bias) }
    }

    pub fn d_in(&self) -> usize {
        self.weight.nrows()
    }

    pub fn d_out(&self) -> usize {
        self.weight.ncols()
    }

    pub fn forward(&self, x: &Mat) -> Mat {
        let mut y = matmul(x, &self.weight);
        if let Some(b) = &self.bias {
            for mut row in y.row_iter_mut() {
                for (v, bj) in row.iter_mut().zip(b.iter()) {
                    *v += bj;
                }
            }
        }
        y
    }

    /// Trainable numbers: weight plus bias.
    pub fn param_count(&self) -> usize {
        self.weight.len() + self.bias.as_ref().map_or(0, |b| b.len())
    }

    /// Columns `start..start + len` of the output: one head's slice of a fused projection.
    pub fn columns(&self, start: usize, len: usize) -> Linear {
        Linear {
            weight: self.weight.columns(start, len).into_owned(),
            bias: self.bias.as_ref().map(|b| b.rows(start, len).into_owned()),
        }
    }
}

/// One head's projections.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadWeights {
    pub W_query: Linear,
    pub W_key: Linear,
    pub W_value: Linear,
}

impl HeadWeights {
    pub fn d_in(&self) -> usize {
        self.W_query.d_in()
    }

    pub fn head_dim(&self) -> usize {
        self.W_query.d_out()
    }
}

/// Multi-head weights: heads side by side, and the output projection that mixes them (absent in the
/// book's `MultiHeadAttentionWrapper`).
#[derive(Clone, Debug, PartialEq)]
pub struct MultiHeadWeights {
    pub heads: Vec<HeadWeights>,
    pub out_proj: Option<Linear>,
}

impl MultiHeadWeights {
    /// Splits fused (d_in, d_out) projections into `num_heads` heads: head h owns output columns
    /// `h*head_dim .. (h+1)*head_dim`, exactly the book's `.view(b, n, num_heads, head_dim)`.
    /// The caller checks that `num_heads` divides `d_out`.
    pub fn split(fused: &HeadWeights, out_proj: Option<Linear>, num_heads: usize) -> Self {
        let head_dim = fused.head_dim() / num_heads;
        let heads = (0..num_heads)
            .map(|h| {
                // (d_in, d_out) -> (d_in, head_dim) for head h
                let start = h * head_dim;
                HeadWeights {
                    W_query: fused.W_query.columns(start, head_dim),
                    W_key: fused.W_key.columns(start, head_dim),
                    W_value: fused.W_value.columns(start, head_dim),
                }
            })
            .collect();
        Self { heads, out_proj }
    }

    /// Trainable numbers, as exercise 3.3 counts them.
    pub fn param_count(&self) -> usize {
        let heads: usize =
            self.heads.iter().map(|h| h.W_query.param_count() + h.W_key.param_count() + h.W_value.param_count()).sum();
        heads + self.out_proj.as_ref().map_or(0, Linear::param_count)
    }
}

/// Dropout on the attention weights, as `nn.Dropout` in training mode: each weight is kept with
/// probability 1 - p and kept weights are scaled by 1 / (1 - p).
#[derive(Clone, Debug, PartialEq)]
pub enum Dropout {
    /// Keep-mask drawn from the seeded generator (one stream per head).
    Seeded { p: f32, seed: u64 },
    /// A given keep-mask (1 = kept), e.g. torch's, to reproduce a notebook run exactly.
    Mask { p: f32, keep: Mat },
}

impl Dropout {
    pub fn p(&self) -> f32 {
        match self {
            Dropout::Seeded { p, .. } | Dropout::Mask { p, .. } => *p,
        }
    }
}

/// A keep-mask for an (n x m) matrix: 1.0 where kept.
pub fn dropout_keep_mask(n: usize, m: usize, p: f32, seed: u64, head: usize) -> Mat {
    let mut rng = SplitMix64::stream(seed, "dropout", &head.to_string());
    // Row-major draw order, so the mask reads like the printed tensor.
    let mut keep = Mat::zeros(n, m);
    for i in 0..n {
        for j in 0..m {
            keep[(i, j)] = if rng.next_f32() >= p { 1.0 } else { 0.0 };
        }
    }
    keep
}

/// `weights * keep / (1 - p)`.
pub fn apply_dropout(attn_weights: &Mat, keep: &Mat, p: f32) -> Mat {
    let scale = 1.0 / (1.0 - p);
    attn_weights.zip_map(keep, |w, k| if k != 0.0 { w * scale } else { 0.0 })
}

/// The causal mask as the book draws it: 1 on and below the diagonal (visible), 0 above (future).
pub fn causal_visible(n: usize) -> Mat {
    Mat::from_fn(n, n, |i, j| if j <= i { 1.0 } else { 0.0 })
}

/// Options for one attention head.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadOptions {
    pub causal: bool,
    pub mask_style: MaskStyle,
    /// Divide scores by sqrt(head_dim); off shows why the book scales.
    pub scale: bool,
    pub dropout: Option<Dropout>,
}

impl Default for HeadOptions {
    fn default() -> Self {
        Self { causal: false, mask_style: MaskStyle::NegInf, scale: true, dropout: None }
    }
}

/// Everything one head computes, in the order the steps panel shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadSteps {
    /// Q = X W_query, shape (n, head_dim). In simplified mode Q = K = V = X.
    pub queries: Mat,
    pub keys: Mat,
    pub values: Mat,
    /// Q Kᵀ, shape (n, n).
    pub attn_scores: Mat,
    /// The factor applied to the scores: 1 / sqrt(head_dim), or 1 when scaling is off.
    pub scale: f32,
    /// attn_scores * scale.
    pub scaled_scores: Mat,
    /// The causal mask (1 = visible), when causal.
    pub mask: Option<Mat>,
    /// Scaled scores with -inf in the future (the neg-inf convention), when causal.
    pub masked_scores: Option<Mat>,
    /// Softmax before masking (the renormalize convention), when causal.
    pub attn_weights_unmasked: Option<Mat>,
    /// The renormalize convention's middle step: unmasked weights times the mask, rows not yet summing
    /// to 1.
    pub masked_unnormalized: Option<Mat>,
    /// The attention weights, post-softmax and post-mask (future entries exactly 0), before dropout.
    pub attn_weights: Mat,
    pub keep_mask: Option<Mat>,
    /// Weights after dropout (what multiplies V when dropout is on).
    pub attn_weights_dropout: Option<Mat>,
    /// context_vec = weights @ V, shape (n, head_dim).
    pub context_vec: Mat,
}

/// Simplified self-attention (section 3.3): no weights, Q = K = V = X, unscaled.
pub fn simplified(x: &Mat, normalization: Normalization) -> HeadSteps {
    let attn_scores = matmul_t(x, x); // (n, d_in) @ (d_in, n) -> (n, n)
    let attn_weights = normalization.apply(&attn_scores);
    let context_vec = matmul(&attn_weights, x); // (n, n) @ (n, d_in) -> (n, d_in)
    HeadSteps {
        queries: x.clone(),
        keys: x.clone(),
        values: x.clone(),
        scaled_scores: attn_scores.clone(),
        attn_scores,
        scale: 1.0,
        mask: None,
        masked_scores: None,
        attn_weights_unmasked: None,
        masked_unnormalized: None,
        attn_weights,
        keep_mask: None,
        attn_weights_dropout: None,
        context_vec,
    }
}

/// Self-attention with trainable weights (section 3.4), optionally causal with dropout (section 3.5).
/// `head` picks the dropout stream so heads do not share a mask.
pub fn head_attention(x: &Mat, w: &HeadWeights, opts: &HeadOptions, head: usize) -> HeadSteps {
    let queries = w.W_query.forward(x); // (n, d_in) -> (n, head_dim)
    let keys = w.W_key.forward(x);
    let values = w.W_value.forward(x);
    attend(queries, keys, values, opts, head)
}

/// The book's head from the scores on, given Q, K and V. A trained model computes those with its own
/// projections (and RoPE, and grouped-query sharing); from here on every transformer does the same.
pub fn attend(queries: Mat, keys: Mat, values: Mat, opts: &HeadOptions, head: usize) -> HeadSteps {
    let attn_scores = matmul_t(&queries, &keys); // (n, head_dim) @ (head_dim, n) -> (n, n)
    let head_dim = keys.ncols();
    let scale = if opts.scale { 1.0 / (head_dim as f32).sqrt() } else { 1.0 };
    let scaled_scores = attn_scores.map(|s| s * scale);
    let n = queries.nrows();

    let (mask, masked_scores, attn_weights_unmasked, masked_unnormalized, attn_weights) = if opts.causal {
        let visible = causal_visible(n);
        match opts.mask_style {
            MaskStyle::NegInf => {
                let masked = scaled_scores.zip_map(&visible, |s, v| if v != 0.0 { s } else { f32::NEG_INFINITY });
                let weights = softmax_rows(&masked);
                (Some(visible), Some(masked), None, None, weights)
            }
            MaskStyle::Renormalize => {
                let unmasked = softmax_rows(&scaled_scores);
                let masked = unmasked.component_mul(&visible);
                let weights = sum_normalize_rows(&masked);
                (Some(visible), None, Some(unmasked), Some(masked), weights)
            }
        }
    } else {
        (None, None, None, None, softmax_rows(&scaled_scores))
    };

    let (keep_mask, attn_weights_dropout) = match &opts.dropout {
        Some(d) => {
            let keep = match d {
                Dropout::Seeded { p, seed } => dropout_keep_mask(n, n, *p, *seed, head),
                Dropout::Mask { keep, .. } => keep.clone(),
            };
            let dropped = apply_dropout(&attn_weights, &keep, d.p());
            (Some(keep), Some(dropped))
        }
        None => (None, None),
    };
    let used = attn_weights_dropout.as_ref().unwrap_or(&attn_weights);
    let context_vec = matmul(used, &values); // (n, n) @ (n, head_dim) -> (n, head_dim)

    HeadSteps {
        queries,
        keys,
        values,
        attn_scores,
        scale,
        scaled_scores,
        mask,
        masked_scores,
        attn_weights_unmasked,
        masked_unnormalized,
        attn_weights,
        keep_mask,
        attn_weights_dropout,
        context_vec,
    }
}

/// Cross-attention (Bahdanau-style, the decoder looking back at the encoder): queries come from one
/// sequence (`x_q`, e.g. the words being written), keys and values from another (`x_kv`, the sentence
/// being translated). Weights have shape (n_q, n_kv); nothing is masked.
pub fn cross_attention(x_q: &Mat, x_kv: &Mat, w: &HeadWeights, opts: &HeadOptions) -> HeadSteps {
    let queries = w.W_query.forward(x_q); // (n_q, d_in) -> (n_q, head_dim)
    let keys = w.W_key.forward(x_kv); // (n_kv, d_in) -> (n_kv, head_dim)
    let values = w.W_value.forward(x_kv);
    attend(queries, keys, values, &HeadOptions { causal: false, ..opts.clone() }, 0)
}

/// How much of an RNN encoder's single final state comes from each input token, for the simplest
/// recurrent cell h_t = decay * h_(t-1) + (1 - decay) * x_t: token i contributes
/// (1 - decay) * decay^(n-1-i). An illustration of the bottleneck attention removes: early words fade.
pub fn rnn_final_state_share(n: usize, decay: f32) -> Vec<f32> {
    let raw: Vec<f32> = (0..n).map(|i| (1.0 - decay) * decay.powi((n - 1 - i) as i32)).collect();
    let total: f32 = raw.iter().sum();
    raw.into_iter().map(|r| if total > 0.0 { r / total } else { 0.0 }).collect()
}

/// Multi-head attention (section 3.6): every head on the same input, contexts concatenated, then the
/// output projection if there is one.
pub fn multi_head(x: &Mat, w: &MultiHeadWeights, opts: &HeadOptions) -> (Vec<HeadSteps>, Mat, Mat) {
    let heads: Vec<HeadSteps> = w.heads.iter().enumerate().map(|(h, hw)| head_attention(x, hw, opts, h)).collect();
    let concat = concat_columns(heads.iter().map(|h| &h.context_vec)); // num_heads x (n, head_dim) -> (n, d_out)
    let output = match &w.out_proj {
        Some(p) => p.forward(&concat),
        None => concat.clone(),
    };
    (heads, concat, output)
}

fn concat_columns<'a>(parts: impl Iterator<Item = &'a Mat> + Clone) -> Mat {
    let n = parts.clone().next().map_or(0, |m| m.nrows());
    let width: usize = parts.clone().map(|m| m.ncols()).sum();
    let mut out = Mat::zeros(n, width);
    let mut col = 0;
    for m in parts {
        out.columns_mut(col, m.ncols()).copy_from(m);
        col += m.ncols();
    }
    out
}

/// The result of one request: what the app draws and the CLI prints.
#[derive(Clone, Debug, PartialEq)]
pub struct Attention {
    pub mode: Mode,
    pub tokens: Vec<String>,
    /// X, shape (n, d_in).
    pub inputs: Mat,
    /// One entry per head (a single one except in multi-head mode).
    pub heads: Vec<HeadSteps>,
    /// Multi-head only: the heads' contexts side by side, shape (n, d_out).
    pub concat: Option<Mat>,
    /// The final context vectors: per-head context, or out_proj(concat) in multi-head mode.
    pub context: Mat,
    /// Simplified only: the section 3.3.1 teaching variants of the same scores.
    pub sum_normalized: Option<Mat>,
    pub naive_softmax: Option<Mat>,
}

impl Attention {
    pub fn num_tokens(&self) -> usize {
        self.inputs.nrows()
    }

    /// Mean over heads of the attention weights (the app's "mean" view).
    pub fn mean_weights(&self) -> Mat {
        self.mean_weights_over(&(0..self.heads.len()).collect::<Vec<_>>())
    }

    /// Element-wise max over heads (the app's "max" view).
    pub fn max_weights(&self) -> Mat {
        self.max_weights_over(&(0..self.heads.len()).collect::<Vec<_>>())
    }

    /// Mean of the attention weights of `heads` (those out of range are skipped; none: zeros).
    pub fn mean_weights_over(&self, heads: &[usize]) -> Mat {
        let n = self.num_tokens();
        let mut acc = Mat::zeros(n, n);
        let chosen: Vec<&Mat> = heads.iter().filter_map(|&h| self.heads.get(h)).map(|s| &s.attn_weights).collect();
        for w in &chosen {
            acc += *w;
        }
        acc / chosen.len().max(1) as f32
    }

    /// Element-wise max of the attention weights of `heads` (those out of range are skipped; none: zeros).
    pub fn max_weights_over(&self, heads: &[usize]) -> Mat {
        let n = self.num_tokens();
        let mut acc = Mat::zeros(n, n);
        for s in heads.iter().filter_map(|&h| self.heads.get(h)) {
            acc.zip_apply(&s.attn_weights, |a, b| *a = a.max(b));
        }
        acc
    }
}
