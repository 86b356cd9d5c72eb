//! The SmolLM2 (llama architecture) forward pass over quantised GGUF weights.
//!
//! Per layer (pre-norm decoder block):
//! ```text
//! x -> RMSNorm -> W_query, W_key, W_value -> RoPE(q, k) -> causal GQA attention -> W_out -> + x
//!   -> RMSNorm -> W_down(silu(W_gate x) * W_up x) -> + x
//! ```
//! then a final RMSNorm and logits against the (tied) token embedding.

use crate::numeric::float_kernels::softmax_in_place;
use crate::numeric::quant::{self, dequantize_row, matmul_t, matmul_t_rows, QMatrix};
use crate::smollm2::{
    FFN_DIM, HEAD_DIM, HIDDEN, KV_DIM, MAX_POSITIONS, NUM_HEADS, NUM_KV_HEADS, NUM_LAYERS, VOCAB_SIZE,
};
use crate::source::gguf::{GgmlType, Gguf};
use crate::tokenizer::bpe::{Encoding, Tokenizer};
use crate::{Matrix, ModelError};

/// What one transformer block saw and computed.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTrace {
    /// `[n, HIDDEN]` residual stream entering the block.
    pub layer_input: Matrix,
    /// `[n, NUM_HEADS * HEAD_DIM]` queries after RoPE; head `h` is columns `h*64..(h+1)*64`. Within a head
    /// the dimensions are in the GGUF (llama.cpp) order, where RoPE rotates adjacent pairs (2i, 2i+1);
    /// HF's order puts pair i at (i, i+32). Dot products, and so attention, are the same in both.
    pub queries: Matrix,
    /// `[n, NUM_KV_HEADS * HEAD_DIM]` keys after RoPE, same layout as `queries`.
    pub keys: Matrix,
    /// `[n, NUM_KV_HEADS * HEAD_DIM]` values.
    pub values: Matrix,
    /// `NUM_HEADS` matrices `[n, n]`: `attn_weights[h].get(i, j)` is how much query token i attends to key
    /// token j (softmax probability; each row sums to 1; `j > i` is exactly 0).
    pub attn_weights: Vec<Matrix>,
}

/// A token with its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenProb {
    pub id: u32,
    /// Readable text of the token (e.g. " cat").
    pub token: String,
    pub prob: f32,
}

/// Everything `forward` returns for `n` input tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct SmolOutput {
    /// `NUM_LAYERS` entries, first block first.
    pub layers: Vec<LayerTrace>,
    /// `[n, HIDDEN]` the final-normed hidden states that the logits are computed from.
    pub final_hidden: Matrix,
    /// The five likeliest tokens after the last input token, likeliest first.
    pub top5_next: Vec<TokenProb>,
    /// For every position, the model's likeliest next token (its guess for token i + 1).
    pub argmax_next_per_position: Vec<TokenProb>,
    /// `n - 1` values: natural-log probability the model gave to the token that actually came next.
    pub logprob_of_actual_next_token: Vec<f32>,
    /// `n` values: log of the softmax denominator of each position's logits.
    pub logsumexp_per_position: Vec<f32>,
}

/// The weights of one block, as views into the file bytes.
#[derive(Debug, Clone)]
struct Block {
    attn_norm: Vec<f32>,
    w_query: QMatrix,
    w_key: QMatrix,
    w_value: QMatrix,
    w_out: QMatrix,
    ffn_norm: Vec<f32>,
    w_gate: QMatrix,
    w_up: QMatrix,
    w_down: QMatrix,
}

/// SmolLM2-135M(-Instruct) loaded from GGUF bytes. The bytes are owned once; the quantised matrices are
/// offsets into them (only the small RMSNorm vectors are copied out as f32).
#[derive(Debug, Clone)]
pub struct SmolLm2 {
    bytes: Vec<u8>,
    token_embd: QMatrix,
    /// The unembedding: `output.weight` if the file has one, else the tied `token_embd.weight`.
    output: QMatrix,
    output_norm: Vec<f32>,
    blocks: Vec<Block>,
    tokenizer: Tokenizer,
    rope_base: f32,
    rms_eps: f32,
}

fn meta_u64(g: &Gguf, key: &str) -> Result<u64, ModelError> {
    g.get(key).and_then(|v| v.as_u64()).ok_or_else(|| ModelError::Metadata(format!("missing integer '{key}'")))
}

fn expect_meta(g: &Gguf, key: &str, want: usize) -> Result<(), ModelError> {
    let got = meta_u64(g, key)?;
    if got != want as u64 {
        return Err(ModelError::Metadata(format!("'{key}' is {got}, but SmolLM2-135M has {want}")));
    }
    Ok(())
}

fn matrix(g: &Gguf, name: &str, rows: usize, cols: usize) -> Result<QMatrix, ModelError> {
    let t = g.tensor(name).ok_or_else(|| ModelError::MissingTensor(name.into()))?;
    // ggml dims are [cols, rows] (innermost first).
    if t.dims != [cols as u64, rows as u64] {
        return Err(ModelError::BadTensor {
            name: name.into(),
            reason: format!("shape {:?}, expected [{cols}, {rows}] (ggml order)", t.dims),
        });
    }
    if !t.ggml_type.has_kernel() {
        return Err(ModelError::BadTensor {
            name: name.into(),
            reason: format!(
                "element type {} is not supported (supported: {})",
                t.ggml_type.name(),
                GgmlType::supported_list()
            ),
        });
    }
    let row_bytes = quant::row_bytes(t.ggml_type, cols)
        .ok_or_else(|| ModelError::BadTensor { name: name.into(), reason: "rows are not whole blocks".into() })?;
    // `Gguf::parse` checked that start + len lies inside the file, and len == rows * row_bytes here.
    Ok(QMatrix { rows, cols, ggml_type: t.ggml_type, start: t.start, row_bytes })
}

fn vector(g: &Gguf, bytes: &[u8], name: &str, len: usize) -> Result<Vec<f32>, ModelError> {
    let t = g.tensor(name).ok_or_else(|| ModelError::MissingTensor(name.into()))?;
    if t.dims != [len as u64] || !t.ggml_type.has_kernel() {
        return Err(ModelError::BadTensor {
            name: name.into(),
            reason: format!("expected a vector of {len} floats, found {:?} of {}", t.dims, t.ggml_type.name()),
        });
    }
    let mut v = vec![0.0; len];
    dequantize_row(t.ggml_type, &bytes[t.start..t.start + t.len], &mut v);
    Ok(v)
}

impl SmolLm2 {
    /// Load from the bytes of a GGUF file (e.g. `SmolLM2-135M-Instruct.Q4_1.gguf`), keeping them as the
    /// weight storage.
    pub fn from_gguf(bytes: Vec<u8>) -> Result<Self, ModelError> {
        let g = Gguf::parse(&bytes)?;
        let arch = g.get("general.architecture").and_then(|v| v.as_str()).unwrap_or("");
        if arch != "llama" {
            return Err(ModelError::Metadata(format!("architecture is '{arch}', expected 'llama'")));
        }
        expect_meta(&g, "llama.block_count", NUM_LAYERS)?;
        expect_meta(&g, "llama.embedding_length", HIDDEN)?;
        expect_meta(&g, "llama.feed_forward_length", FFN_DIM)?;
        expect_meta(&g, "llama.attention.head_count", NUM_HEADS)?;
        expect_meta(&g, "llama.attention.head_count_kv", NUM_KV_HEADS)?;
        if let Some(d) = g.get("llama.rope.dimension_count").and_then(|v| v.as_u64()) {
            if d != HEAD_DIM as u64 {
                return Err(ModelError::Metadata(format!("RoPE over {d} dims, expected {HEAD_DIM}")));
            }
        }
        // llama.cpp's defaults when the keys are absent.
        let rope_base = g.get("llama.rope.freq_base").and_then(|v| v.as_f64()).unwrap_or(10000.0) as f32;
        let rms_eps = g.get("llama.attention.layer_norm_rms_epsilon").and_then(|v| v.as_f64()).unwrap_or(1e-5) as f32;
        if !(rope_base.is_finite() && rope_base > 1.0 && rms_eps.is_finite() && rms_eps >= 0.0) {
            return Err(ModelError::Metadata(format!("bad RoPE base {rope_base} or RMSNorm eps {rms_eps}")));
        }

        let tokenizer = build_tokenizer(&g)?;
        if tokenizer.vocab_size() != VOCAB_SIZE {
            return Err(ModelError::Metadata(format!(
                "vocabulary has {} tokens, expected {VOCAB_SIZE}",
                tokenizer.vocab_size()
            )));
        }

        let token_embd = matrix(&g, "token_embd.weight", VOCAB_SIZE, HIDDEN)?;
        let output = if g.tensor("output.weight").is_some() {
            matrix(&g, "output.weight", VOCAB_SIZE, HIDDEN)?
        } else {
            token_embd
        };
        let output_norm = vector(&g, &bytes, "output_norm.weight", HIDDEN)?;
        let mut blocks = Vec::with_capacity(NUM_LAYERS);
        for l in 0..NUM_LAYERS {
            let name = |s: &str| format!("blk.{l}.{s}.weight");
            blocks.push(Block {
                attn_norm: vector(&g, &bytes, &name("attn_norm"), HIDDEN)?,
                w_query: matrix(&g, &name("attn_q"), HIDDEN, HIDDEN)?,
                w_key: matrix(&g, &name("attn_k"), KV_DIM, HIDDEN)?,
                w_value: matrix(&g, &name("attn_v"), KV_DIM, HIDDEN)?,
                w_out: matrix(&g, &name("attn_output"), HIDDEN, HIDDEN)?,
                ffn_norm: vector(&g, &bytes, &name("ffn_norm"), HIDDEN)?,
                w_gate: matrix(&g, &name("ffn_gate"), FFN_DIM, HIDDEN)?,
                w_up: matrix(&g, &name("ffn_up"), FFN_DIM, HIDDEN)?,
                w_down: matrix(&g, &name("ffn_down"), HIDDEN, FFN_DIM)?,
            });
        }
        Ok(SmolLm2 { bytes, token_embd, output, output_norm, blocks, tokenizer, rope_base, rms_eps })
    }

    /// Split text into tokens exactly as the reference tokenizer does (no BOS is added; special tokens such
    /// as `<|im_start|>` written in the text become their single ids).
    pub fn tokenize(&self, text: &str) -> Result<Encoding, ModelError> {
        Ok(self.tokenizer.encode(text))
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Readable text of a token id (e.g. " cat").
    pub fn token_text(&self, id: u32) -> String {
        self.tokenizer.token_text(id)
    }

    /// Run the model over `ids` (at most [`MAX_POSITIONS`]) and return every layer's attention and the
    /// next-token predictions.
    pub fn forward(&self, ids: &[u32]) -> Result<SmolOutput, ModelError> {
        let n = ids.len();
        if n == 0 {
            return Err(ModelError::EmptyInput);
        }
        if n > MAX_POSITIONS {
            return Err(ModelError::TooLong { tokens: n, max: MAX_POSITIONS });
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= VOCAB_SIZE) {
            return Err(ModelError::InvalidTokenId { id, vocab_size: VOCAB_SIZE });
        }
        let bytes = &self.bytes[..];

        // x: [n, HIDDEN], one dequantised embedding row per token.
        let mut x = Matrix::zeros(n, HIDDEN);
        for (i, &id) in ids.iter().enumerate() {
            dequantize_row(self.token_embd.ggml_type, self.token_embd.row(bytes, id as usize), x.row_mut(i));
        }

        let rope = Rope::new(n, self.rope_base);
        let mut layers = Vec::with_capacity(NUM_LAYERS);
        for block in &self.blocks {
            let layer_input = x.clone();

            // --- attention sub-block ---
            let xn = rms_norm(&x, &block.attn_norm, self.rms_eps);
            let mut queries = matmul_t(&xn, &block.w_query, bytes); // [n, NUM_HEADS * HEAD_DIM]
            let mut keys = matmul_t(&xn, &block.w_key, bytes); // [n, NUM_KV_HEADS * HEAD_DIM]
            let values = matmul_t(&xn, &block.w_value, bytes); // [n, NUM_KV_HEADS * HEAD_DIM]
            rope.apply(&mut queries);
            rope.apply(&mut keys);
            let (attn_weights, context_vec) = causal_gqa_attention(&queries, &keys, &values);
            let attn_out = matmul_t(&context_vec, &block.w_out, bytes); // [n, HIDDEN]
            add_in_place(&mut x, &attn_out);

            // --- feed-forward sub-block (SwiGLU) ---
            let xn = rms_norm(&x, &block.ffn_norm, self.rms_eps);
            let mut gate = matmul_t(&xn, &block.w_gate, bytes); // [n, FFN_DIM]
            let up = matmul_t(&xn, &block.w_up, bytes); // [n, FFN_DIM]
            for (g, u) in gate.data_mut().iter_mut().zip(up.data()) {
                *g = silu(*g) * u;
            }
            let ffn_out = matmul_t(&gate, &block.w_down, bytes); // [n, HIDDEN]
            add_in_place(&mut x, &ffn_out);

            layers.push(LayerTrace { layer_input, queries, keys, values, attn_weights });
        }

        let final_hidden = rms_norm(&x, &self.output_norm, self.rms_eps);
        let stats = self.logit_stats(&final_hidden, ids);
        Ok(SmolOutput {
            layers,
            final_hidden,
            top5_next: stats.top5_last,
            argmax_next_per_position: stats.argmax,
            logprob_of_actual_next_token: stats.logprob_next,
            logsumexp_per_position: stats.lse,
        })
    }

    /// The logit lens: at every layer and position, the five likeliest next tokens if the residual
    /// stream after that block went straight to the final norm and the unembedding, `[layer][position]`.
    /// The last layer's is the model's own output, computed from `out.final_hidden` by the same code,
    /// so it equals `out.top5_next` (last position) bit for bit.
    pub fn logit_lens(&self, out: &SmolOutput, ids: &[u32]) -> Vec<Vec<Vec<TokenProb>>> {
        (0..out.layers.len())
            .map(|l| match out.layers.get(l + 1) {
                Some(next) => {
                    let h = rms_norm(&next.layer_input, &self.output_norm, self.rms_eps);
                    self.logit_stats(&h, ids).top5
                }
                None => self.logit_stats(&out.final_hidden, ids).top5,
            })
            .collect()
    }

    /// The attention output projection of `layer` in f32, torch layout `(HIDDEN, NUM_HEADS * HEAD_DIM)`
    /// as `(rows, cols, row-major data)`; `None` past the last layer.
    pub fn out_proj(&self, layer: usize) -> Option<(usize, usize, Vec<f32>)> {
        let w = &self.blocks.get(layer)?.w_out;
        let mut data = vec![0.0; w.rows * w.cols];
        for (r, row) in data.chunks_exact_mut(w.cols).enumerate() {
            dequantize_row(w.ggml_type, w.row(&self.bytes, r), row);
        }
        Some((w.rows, w.cols, data))
    }

    /// Logits for every position (`[n, VOCAB_SIZE]`) reduced on the fly, one vocabulary chunk at a time, so
    /// the full logit matrix (n * 192 KB) is never held.
    fn logit_stats(&self, h: &Matrix, ids: &[u32]) -> LogitStats {
        let n = h.rows();
        const CHUNK: usize = 1024;
        let mut max = vec![f32::NEG_INFINITY; n];
        // Sum of exp(logit - max[i]), in f64 so 49152 terms add without drift.
        let mut sum = vec![0.0f64; n];
        let mut best = vec![(0u32, f32::NEG_INFINITY); n];
        let mut actual_next = vec![f32::NAN; n];
        // (logit, id) of the five best logits at each position, best first.
        let mut top: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(6); n];
        let mut block = Vec::new();
        let mut v0 = 0;
        while v0 < VOCAB_SIZE {
            let width = CHUNK.min(VOCAB_SIZE - v0);
            matmul_t_rows(h, &self.output, &self.bytes, v0..v0 + width, &mut block); // [n, width]
            for i in 0..n {
                let row = &block[i * width..(i + 1) * width];
                let (mut cmax, mut carg) = (f32::NEG_INFINITY, 0);
                for (c, &l) in row.iter().enumerate() {
                    // Strict '>' keeps the first index on ties, like torch.argmax.
                    if l > cmax {
                        cmax = l;
                        carg = c;
                    }
                }
                if cmax > best[i].1 {
                    best[i] = ((v0 + carg) as u32, cmax);
                }
                if cmax > max[i] {
                    sum[i] *= ((max[i] - cmax) as f64).exp();
                    max[i] = cmax;
                }
                let m = max[i];
                let s: f32 = row.iter().map(|&l| crate::numeric::int_kernels::exp(l - m)).sum();
                sum[i] += s as f64;
                if let Some(&next) = ids.get(i + 1) {
                    let next = next as usize;
                    if (v0..v0 + width).contains(&next) {
                        actual_next[i] = row[next - v0];
                    }
                }
                let top = &mut top[i];
                for (c, &l) in row.iter().enumerate() {
                    if top.len() < 5 || l > top[top.len() - 1].0 {
                        let at = top.iter().position(|&(t, _)| l > t).unwrap_or(top.len());
                        top.insert(at, (l, (v0 + c) as u32));
                        top.truncate(5);
                    }
                }
            }
            v0 += width;
        }
        let lse: Vec<f32> = (0..n).map(|i| (max[i] as f64 + sum[i].ln()) as f32).collect();
        let prob = |logit: f32, i: usize| ((logit as f64 - lse[i] as f64).exp()) as f32;
        let top5: Vec<Vec<TokenProb>> = top
            .iter()
            .enumerate()
            .map(|(i, top)| {
                top.iter().map(|&(l, id)| TokenProb { id, token: self.token_text(id), prob: prob(l, i) }).collect()
            })
            .collect();
        LogitStats {
            top5_last: top5.last().cloned().unwrap_or_default(),
            top5,
            argmax: best
                .iter()
                .enumerate()
                .map(|(i, &(id, l))| TokenProb { id, token: self.token_text(id), prob: prob(l, i) })
                .collect(),
            logprob_next: (0..n.saturating_sub(1)).map(|i| actual_next[i] - lse[i]).collect(),
            lse,
        }
    }
}

struct LogitStats {
    top5_last: Vec<TokenProb>,
    /// The five likeliest next tokens at every position.
    top5: Vec<Vec<TokenProb>>,
    argmax: Vec<TokenProb>,
    logprob_next: Vec<f32>,
    lse: Vec<f32>,
}

fn build_tokenizer(g: &Gguf) -> Result<Tokenizer, ModelError> {
    let model = g.get("tokenizer.ggml.model").and_then(|v| v.as_str()).unwrap_or("");
    if model != "gpt2" {
        return Err(ModelError::Metadata(format!("tokenizer model is '{model}', expected byte-level BPE 'gpt2'")));
    }
    let strings = |key: &str| -> Result<Vec<&str>, ModelError> {
        let arr =
            g.get(key).and_then(|v| v.as_array()).ok_or_else(|| ModelError::Metadata(format!("missing '{key}'")))?;
        arr.iter()
            .map(|v| v.as_str().ok_or_else(|| ModelError::Metadata(format!("'{key}' holds a non-string"))))
            .collect()
    };
    let tokens: Vec<String> = strings("tokenizer.ggml.tokens")?.into_iter().map(String::from).collect();
    let merges = strings("tokenizer.ggml.merges")?;
    let types: Option<Vec<i64>> = g
        .get("tokenizer.ggml.token_type")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().map(|v| v.as_i64().unwrap_or(1)).collect());
    Ok(Tokenizer::new(tokens, &merges, types.as_deref())?)
}

/// RMSNorm: `x / sqrt(mean(x^2) + eps) * weight`, row by row (as HF's LlamaRMSNorm, in f32).
fn rms_norm(x: &Matrix, weight: &[f32], eps: f32) -> Matrix {
    let mut out = Matrix::zeros(x.rows(), x.cols());
    for i in 0..x.rows() {
        let row = x.row(i);
        let mean_sq = quant::dot(row, row) / x.cols() as f32;
        let inv = 1.0 / (mean_sq + eps).sqrt();
        for ((o, &v), &w) in out.row_mut(i).iter_mut().zip(row).zip(weight) {
            *o = w * (v * inv);
        }
    }
    out
}

fn silu(v: f32) -> f32 {
    v / (1.0 + crate::numeric::int_kernels::exp(-v))
}

fn add_in_place(x: &mut Matrix, y: &Matrix) {
    for (a, b) in x.data_mut().iter_mut().zip(y.data()) {
        *a += b;
    }
}

/// Rotary position embedding tables: `cos/sin[pos * HALF + i]` for frequency `i`.
struct Rope {
    cos: Vec<f32>,
    sin: Vec<f32>,
}

const HALF: usize = HEAD_DIM / 2;

impl Rope {
    fn new(n: usize, base: f32) -> Rope {
        let mut cos = Vec::with_capacity(n * HALF);
        let mut sin = Vec::with_capacity(n * HALF);
        // HF computes inv_freq and pos * inv_freq in f32; doing the same keeps long positions in step with it.
        let inv_freq: Vec<f32> = (0..HALF).map(|i| 1.0 / base.powf((2 * i) as f32 / HEAD_DIM as f32)).collect();
        for p in 0..n {
            for &f in &inv_freq {
                let angle = (p as f32 * f) as f64;
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        Rope { cos, sin }
    }

    /// Rotate every head of `m` (`[n, heads * HEAD_DIM]`) in place. The GGUF rows of W_query/W_key are
    /// permuted (by llama.cpp's converter) so that HF's rotate_half pairs (i, i + 32) sit side by side at
    /// (2i, 2i + 1); rotating adjacent pairs here is therefore exactly HF's RoPE.
    fn apply(&self, m: &mut Matrix) {
        for p in 0..m.rows() {
            let (cos, sin) = (&self.cos[p * HALF..(p + 1) * HALF], &self.sin[p * HALF..(p + 1) * HALF]);
            for head in m.row_mut(p).chunks_exact_mut(HEAD_DIM) {
                for (i, pair) in head.chunks_exact_mut(2).enumerate() {
                    let (a, b) = (pair[0], pair[1]);
                    pair[0] = a * cos[i] - b * sin[i];
                    pair[1] = a * sin[i] + b * cos[i];
                }
            }
        }
    }
}

/// Copy head `h` out of `[n, heads * HEAD_DIM]` into a contiguous `[n, HEAD_DIM]` block.
fn head_slice(m: &Matrix, h: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(m.rows() * HEAD_DIM);
    for i in 0..m.rows() {
        out.extend_from_slice(&m.row(i)[h * HEAD_DIM..(h + 1) * HEAD_DIM]);
    }
    out
}

/// Causal grouped-query attention. Returns the attention weights (`NUM_HEADS` x `[n, n]`) and the context
/// vectors `[n, NUM_HEADS * HEAD_DIM]` (heads concatenated, ready for W_out).
fn causal_gqa_attention(queries: &Matrix, keys: &Matrix, values: &Matrix) -> (Vec<Matrix>, Matrix) {
    let n = queries.rows();
    let group = NUM_HEADS / NUM_KV_HEADS; // query heads per KV head
    let scale = 1.0 / (HEAD_DIM as f32).sqrt();
    let mut context_vec = Matrix::zeros(n, HIDDEN);
    let mut all_weights = Vec::with_capacity(NUM_HEADS);
    // Per-KV-head contiguous copies, shared by the `group` query heads that read them.
    let kv: Vec<(Vec<f32>, Vec<f32>)> =
        (0..NUM_KV_HEADS).map(|g| (head_slice(keys, g), head_slice(values, g))).collect();
    for h in 0..NUM_HEADS {
        let (k, v) = &kv[h / group];
        let q = head_slice(queries, h); // [n, HEAD_DIM]
        let mut attn_weights = Matrix::zeros(n, n);
        for i in 0..n {
            let qi = &q[i * HEAD_DIM..(i + 1) * HEAD_DIM];
            // attn_scores for keys 0..=i only: the causal mask leaves later keys at exactly 0 weight.
            let row = &mut attn_weights.row_mut(i)[..=i];
            for (j, s) in row.iter_mut().enumerate() {
                *s = quant::dot(qi, &k[j * HEAD_DIM..(j + 1) * HEAD_DIM]) * scale;
            }
            softmax_in_place(row);
            // context_vec[i, head h] = sum_j attn_weights[i, j] * v_j
            let ctx = &mut context_vec.row_mut(i)[h * HEAD_DIM..(h + 1) * HEAD_DIM];
            for (j, &w) in row.iter().enumerate() {
                for (c, &vv) in ctx.iter_mut().zip(&v[j * HEAD_DIM..(j + 1) * HEAD_DIM]) {
                    *c += w * vv;
                }
            }
        }
        all_weights.push(attn_weights);
    }
    (all_weights, context_vec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tensor_of_an_unsupported_type_is_refused_by_name_and_type() {
        use crate::source::gguf::build::GgufBuilder;
        let mut b = GgufBuilder::new();
        // One row of 256 IQ2_XXS values (66 bytes), a type llama.cpp writes that this crate cannot decode.
        b.tensor("blk.0.attn_q.weight", &[256, 1], 16, &[0u8; 66]);
        let g = Gguf::parse(&b.build()).expect("valid GGUF");
        let e = matrix(&g, "blk.0.attn_q.weight", 1, 256).expect_err("IQ2_XXS has no kernel").to_string();
        assert!(e.contains("blk.0.attn_q.weight") && e.contains("IQ2_XXS"), "{e}");
        assert!(e.contains("Q4_K") && e.contains("Q6_K"), "the message lists what is supported: {e}");
        // The same tensor as Q4_K (144 bytes a block) is accepted.
        let mut b = GgufBuilder::new();
        b.tensor("blk.0.attn_q.weight", &[256, 1], 12, &[0u8; 144]);
        let g = Gguf::parse(&b.build()).expect("valid GGUF");
        assert!(matrix(&g, "blk.0.attn_q.weight", 1, 256).is_ok());
    }

    #[test]
    fn rope_matches_hf_rotate_half_after_permutation() {
        // HF: out[i] = q[i] cos_i - q[i+32] sin_i, out[i+32] = q[i+32] cos_i + q[i] sin_i.
        // GGUF layout puts HF dim i at 2i and dim i+32 at 2i+1.
        let n = 5;
        let rope = Rope::new(n, 100000.0);
        let hf: Vec<f32> = (0..HEAD_DIM).map(|d| (d as f32 * 0.37).sin()).collect();
        let mut gguf = Matrix::zeros(n, HEAD_DIM);
        for p in 0..n {
            for i in 0..HALF {
                gguf.row_mut(p)[2 * i] = hf[i];
                gguf.row_mut(p)[2 * i + 1] = hf[i + HALF];
            }
        }
        rope.apply(&mut gguf);
        for p in 0..n {
            for i in 0..HALF {
                let theta = p as f64 / 100000f64.powf(2.0 * i as f64 / 64.0);
                let (c, s) = (theta.cos(), theta.sin());
                let want_lo = hf[i] as f64 * c - hf[i + HALF] as f64 * s;
                let want_hi = hf[i + HALF] as f64 * c + hf[i] as f64 * s;
                assert!((gguf.get(p, 2 * i) as f64 - want_lo).abs() < 1e-5);
                assert!((gguf.get(p, 2 * i + 1) as f64 - want_hi).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn attention_is_causal_and_normalised() {
        let n = 4;
        let mk = |cols: usize, seed: f32| {
            Matrix::from_parts(n, cols, (0..n * cols).map(|i| (i as f32 * seed).sin()).collect())
        };
        let (q, k, v) = (mk(HIDDEN, 0.7), mk(KV_DIM, 1.3), mk(KV_DIM, 0.9));
        let (w, ctx) = causal_gqa_attention(&q, &k, &v);
        assert_eq!(w.len(), NUM_HEADS);
        for (h, wh) in w.iter().enumerate() {
            for i in 0..n {
                let s: f32 = wh.row(i).iter().sum();
                assert!((s - 1.0).abs() < 1e-6);
                for j in i + 1..n {
                    assert_eq!(wh.get(i, j), 0.0);
                }
                // Naive check of one score-softmax-context chain against the KV head h / 3.
                let g = h / 3;
                let scores: Vec<f64> = (0..=i)
                    .map(|j| {
                        (0..HEAD_DIM).map(|d| q.get(i, h * 64 + d) as f64 * k.get(j, g * 64 + d) as f64).sum::<f64>()
                            / 8.0
                    })
                    .collect();
                let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = scores.iter().map(|s| (s - m).exp()).sum();
                for (j, s) in scores.iter().enumerate() {
                    assert!((wh.get(i, j) as f64 - (s - m).exp() / z).abs() < 1e-5);
                }
                for d in 0..HEAD_DIM {
                    let want: f64 = (0..=i).map(|j| (scores[j] - m).exp() / z * v.get(j, g * 64 + d) as f64).sum();
                    assert!((ctx.get(i, h * 64 + d) as f64 - want).abs() < 1e-5);
                }
            }
        }
    }
}
