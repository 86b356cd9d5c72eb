//! Real models behind one shape: what a forward pass gives the app (and the CLI), whichever model ran.
//!
//! Platform-agnostic: the web worker and the native CLI both call [`run_minilm`] / [`run_smollm2`], and
//! the app turns a [`ModelRun`] into the book's steps with `arcs_core::attention::attend`.

use crate::state::{Role, Weighting};
use arcs_core::analysis;
use arcs_core::attention::{attend, simplified, Attention, HeadOptions, HeadSteps, Mode, Normalization};
use arcs_core::tensor::{matmul, Mat};
use serde::{Deserialize, Serialize};

/// The real models the app knows: the two built in, and one the user opened from their own files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ModelKind {
    MiniLm,
    SmolLm2,
    /// A model opened from the user's files (GGUF or a Hugging Face folder); its shape comes with it.
    File,
}

/// What the views need to slice a pass: layers, heads, and how heads share keys and values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shape {
    pub layers: usize,
    pub heads: usize,
    /// Key/value heads; query head `h` reads K/V head `h / group_size()`.
    pub kv_heads: usize,
    pub head_dim: usize,
    /// Trained with the causal mask (a decoder): its attention never looks right.
    pub causal: bool,
}

impl Shape {
    /// Query heads per key/value head (grouped-query attention); 1 for classic multi-head attention.
    pub fn group_size(&self) -> usize {
        (self.heads / self.kv_heads.max(1)).max(1)
    }
}

impl ModelKind {
    /// The built-in models (the switch's buttons).
    pub const BUILT_IN: [ModelKind; 2] = [ModelKind::MiniLm, ModelKind::SmolLm2];

    /// The name in links and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::MiniLm => "minilm",
            ModelKind::SmolLm2 => "smollm2",
            ModelKind::File => "file",
        }
    }

    /// A built-in model's name (an opened model is named by its file, not by a word).
    pub fn parse(s: &str) -> Option<ModelKind> {
        ModelKind::BUILT_IN.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            ModelKind::MiniLm => "MiniLM-L6 (real encoder)",
            ModelKind::SmolLm2 => "SmolLM2-135M (causal LLM)",
            ModelKind::File => "your model",
        }
    }

    /// A built-in model's shape; `None` for an opened model, whose shape comes with its passes.
    pub fn shape(self) -> Option<Shape> {
        use arcs_models::{minilm, smollm2};
        match self {
            ModelKind::MiniLm => Some(Shape {
                layers: minilm::NUM_LAYERS,
                heads: minilm::NUM_HEADS,
                kv_heads: minilm::NUM_HEADS,
                head_dim: minilm::HEAD_DIM,
                causal: false,
            }),
            ModelKind::SmolLm2 => Some(Shape {
                layers: smollm2::NUM_LAYERS,
                heads: smollm2::NUM_HEADS,
                kv_heads: smollm2::NUM_KV_HEADS,
                head_dim: smollm2::HEAD_DIM,
                causal: true,
            }),
            ModelKind::File => None,
        }
    }
}

/// Most tokens the app sends to an encoder: MiniLM's 512 positions. Every layer's attention is kept
/// (MiniLM at 512 tokens: 6 x 12 x 512² floats, 75 MB), and the overview's thumbnails are pooled down.
pub const MAX_ENCODER_TOKENS: usize = 512;
/// Most tokens the app sends to a decoder (or its own context, if shorter).
pub const MAX_DECODER_TOKENS: usize = 1024;
/// Up to this many tokens a pass keeps every layer's attention, and the page gets them all (SmolLM2 at
/// 256 tokens: 71 MB). Above it, a decoder's pass keeps none (at 1 024 tokens every layer's would take
/// 1.1 GB): the worker keeps each layer's queries and keys, recomputes the shown layer's weights from them
/// with the model's own code (the same bits), and sends that layer alone with every head's pooled
/// thumbnail ([`ModelRun::layer_only`]).
pub const MAX_ALL_LAYERS_TOKENS: usize = 256;
/// Cells per side of a head's thumbnail (larger matrices are max-pooled down to it).
pub const THUMBNAIL_CELLS: usize = 64;

/// The most tokens the app sends to `kind` (an opened model's from its card); `None` while an opened
/// model's card has not come.
pub fn model_max_tokens(kind: ModelKind, opened: Option<&OpenedInfo>) -> Option<usize> {
    match (kind.shape(), opened) {
        (Some(shape), _) => Some(max_tokens(shape.causal, usize::MAX)),
        (None, Some(o)) => Some(max_tokens(o.shape.causal, o.max_positions)),
        (None, None) => None,
    }
}

/// The most tokens the app sends to a model of this shape (and its own context, if smaller).
pub fn max_tokens(causal: bool, max_positions: usize) -> usize {
    max_positions.min(if causal { MAX_DECODER_TOKENS } else { MAX_ENCODER_TOKENS })
}

/// Which file an opened model came from: enough for a share link to ask for the same file again and
/// to refuse another one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct FileIdentity {
    /// The file's name, or for a Hugging Face folder its weights file's name.
    pub name: String,
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the weights file.
    pub sha256: String,
    /// The architecture its files declare (`llama`, `qwen3`, `bert`, ...).
    pub arch: String,
}

/// What the model card shows about an opened model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenedInfo {
    pub name: String,
    pub architecture: String,
    pub parameters: u64,
    pub tensor_types: Vec<String>,
    pub shape: Shape,
    pub vocab_size: usize,
    pub max_positions: usize,
    pub identity: FileIdentity,
}

/// WebAssembly's address space: all a page's worker can hold.
pub const WASM_MEMORY_BYTES: u64 = 4 << 30;

/// Room an opened model needs besides its weights: every layer's attention at 256 tokens and the
/// activations of a pass, generously (SmolLM2-135M peaks at 264 MB with 98 MB of weights).
pub const OPEN_OVERHEAD_BYTES: u64 = 400_000_000;

/// Whether files of `total` bytes can be opened in a worker that already uses `in_use` bytes; else the
/// message with the numbers (file size, memory needed, memory available).
pub fn check_open_size(total: u64, in_use: u64) -> Result<(), String> {
    let needed = total.saturating_add(OPEN_OVERHEAD_BYTES);
    let available = WASM_MEMORY_BYTES.saturating_sub(in_use);
    if needed > available {
        return Err(crate::text::model_too_large(total, needed, available));
    }
    Ok(())
}

/// A next-token guess.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Guess {
    pub id: u32,
    pub token: String,
    pub prob: f32,
}

/// A row-major block of f32 numbers, sent between worker and page as raw little-endian bytes (one
/// typed array instead of a JS array of numbers).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Floats(pub Vec<f32>);

impl Serialize for Floats {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut bytes = Vec::with_capacity(self.0.len() * 4);
        for x in &self.0 {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        s.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for Floats {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Floats;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("little-endian f32 bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<Floats, E> {
                if !b.len().is_multiple_of(4) {
                    return Err(E::custom("float block length is not a multiple of 4"));
                }
                Ok(Floats(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, b: Vec<u8>) -> Result<Floats, E> {
                self.visit_bytes(&b)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Floats, A::Error> {
                let mut bytes = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    bytes.push(b);
                }
                self.visit_bytes(&bytes)
            }
        }
        d.deserialize_bytes(V)
    }
}

/// A matrix in transit: shape plus row-major numbers.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Block {
    pub rows: usize,
    pub cols: usize,
    pub data: Floats,
}

impl Block {
    pub fn from_row_major(rows: usize, cols: usize, data: Vec<f32>) -> Self {
        Block { rows, cols, data: Floats(data) }
    }

    /// Columns `start..start+len` as a matrix (one head's slice of Q, K or V).
    pub fn columns(&self, start: usize, len: usize) -> Mat {
        Mat::from_fn(self.rows, len, |i, j| self.data.0.get(i * self.cols + start + j).copied().unwrap_or(f32::NAN))
    }

    pub fn to_mat(&self) -> Mat {
        self.columns(0, self.cols)
    }
}

/// One forward pass, as the app needs it: every layer's attention, and the details of one layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRun {
    pub model: ModelKind,
    pub shape: Shape,
    pub text: String,
    pub tokens: Vec<String>,
    /// Byte span of each token in `text` (None for added tokens such as [CLS]).
    pub offsets: Vec<Option<(usize, usize)>>,
    /// `[layer][head]` attention, each `n x n`, flattened layer-major then head then row.
    pub attention: Floats,
    /// The layer whose inputs and Q/K/V are included.
    pub layer: usize,
    /// The hidden state entering `layer`, `n x hidden`.
    pub layer_input: Block,
    /// Q (`n x heads*head_dim`), K and V (`n x kv_heads*head_dim`) of `layer`; head h is columns
    /// `h*head_dim..`, and query head h reads key/value head `h / group_size`.
    pub queries: Block,
    pub keys: Block,
    pub values: Block,
    /// Causal LLMs: the five likeliest next tokens after the text, and the guess after every position.
    pub top5_next: Vec<Guess>,
    pub next_per_position: Vec<Guess>,
    /// Every head's role scores, when the page asked for them.
    #[serde(default)]
    pub roles: Option<Roles>,
    /// `||v_j W_O^h||` of every head h and token j at `layer`, `[head * n + token]`, when the page asked
    /// for value-weighted arcs (`arcs_core::analysis::value_norms`).
    #[serde(default)]
    pub value_norms: Option<Floats>,
    /// Decoders, when the page asked for it: the logit lens, `[layer][position]` top-5.
    #[serde(default)]
    pub logit_lens: Option<Lens>,
    /// `attention` holds `layer`'s heads only (`[head]`, each `n x n`): a pass longer than
    /// [`MAX_ALL_LAYERS_TOKENS`]. Another layer is another request.
    #[serde(default)]
    pub layer_only: bool,
    /// Every head's max-pooled thumbnail, when `layer_only`.
    #[serde(default)]
    pub thumbnails: Option<Thumbnails>,
}

/// Every head's attention max-pooled to `side x side` cells, `[layer][head]` row-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Thumbnails {
    pub side: usize,
    pub data: Floats,
}

impl Thumbnails {
    /// The thumbnail of one layer and head (NaN where it is missing).
    pub fn get(&self, heads: usize, layer: usize, head: usize) -> Mat {
        let (side, start) = (self.side, (layer * heads + head) * self.side * self.side);
        Mat::from_fn(side, side, |i, j| self.data.0.get(start + i * side + j).copied().unwrap_or(f32::NAN))
    }
}

/// The logit lens of a pass: `[layer][position]`, the five likeliest next tokens if the residual stream
/// after block `layer` went straight to the final norm and the unembedding.
pub type Lens = Vec<Vec<Vec<Guess>>>;

impl ModelRun {
    /// A run of `tokens` with `attention` and nothing else: what tests build theirs from.
    #[cfg(test)]
    pub(crate) fn bare(model: ModelKind, shape: Shape, tokens: Vec<String>, attention: Vec<f32>) -> ModelRun {
        ModelRun {
            model,
            shape,
            text: tokens.concat(),
            offsets: vec![None; tokens.len()],
            tokens,
            attention: Floats(attention),
            layer: 0,
            layer_input: Block::default(),
            queries: Block::default(),
            keys: Block::default(),
            values: Block::default(),
            top5_next: Vec::new(),
            next_per_position: Vec::new(),
            roles: None,
            value_norms: None,
            logit_lens: None,
            layer_only: false,
            thumbnails: None,
        }
    }

    pub fn num_tokens(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the run has `layer`'s attention (all layers', unless [`ModelRun::layer_only`]).
    pub fn has_layer(&self, layer: usize) -> bool {
        layer < self.shape.layers && (!self.layer_only || layer == self.layer)
    }

    /// Where head `head` of `layer` starts in `attention`; `None` for a layer the run does not have.
    fn head_start(&self, layer: usize, head: usize) -> Option<usize> {
        let n = self.num_tokens();
        let heads = self.shape.heads;
        if !self.has_layer(layer) || head >= heads {
            return None;
        }
        Some(if self.layer_only { head * n * n } else { (layer * heads + head) * n * n })
    }

    /// Attention of one layer and head (NaN for a layer the run does not have).
    pub fn attention(&self, layer: usize, head: usize) -> Mat {
        let n = self.num_tokens();
        let d = &self.attention.0;
        match self.head_start(layer, head) {
            Some(start) => Mat::from_fn(n, n, |i, j| d.get(start + i * n + j).copied().unwrap_or(f32::NAN)),
            None => Mat::from_element(n, n, f32::NAN),
        }
    }

    /// One weight without building a matrix (for ranking heads).
    pub fn weight(&self, layer: usize, head: usize, query: usize, key: usize) -> f32 {
        let n = self.num_tokens();
        match self.head_start(layer, head) {
            Some(start) if query < n && key < n => {
                self.attention.0.get(start + query * n + key).copied().unwrap_or(f32::NAN)
            }
            _ => f32::NAN,
        }
    }

    /// Heads ranked by how much `query` attends to `key`, strongest first: "which head links these words?"
    /// (only the run's own layer's heads when it has no other).
    pub fn rank_heads(&self, query: usize, key: usize) -> Vec<(usize, usize, f32)> {
        let heads = self.shape.heads;
        let mut all: Vec<(usize, usize, f32)> = (0..self.shape.layers)
            .filter(|&l| self.has_layer(l))
            .flat_map(|l| (0..heads).map(move |h| (l, h)))
            .map(|(l, h)| (l, h, self.weight(l, h, query, key)))
            .collect();
        all.sort_by(|a, b| b.2.total_cmp(&a.2));
        all
    }
}

/// Removes the columns of `hidden` keys from an attention matrix and renormalises each row over what is
/// left: "hide [CLS]/[SEP]" or "hide the first-token sink". Rows that put everything on hidden keys become
/// all zero rather than dividing by zero.
pub fn hide_and_renormalize(m: &Mat, hidden: &[usize]) -> Mat {
    let mut out = m.clone();
    for i in 0..out.nrows() {
        for &j in hidden {
            if j < out.ncols() {
                out[(i, j)] = 0.0;
            }
        }
        let sum: f32 = out.row(i).iter().sum();
        if sum > 0.0 {
            for j in 0..out.ncols() {
                out[(i, j)] /= sum;
            }
        }
    }
    out
}

fn flatten_heads<'a>(n: usize, heads: impl Iterator<Item = &'a [f32]>, out: &mut Vec<f32>) {
    for h in heads {
        debug_assert_eq!(h.len(), n * n);
        out.extend_from_slice(h);
    }
}

/// Token positions "hide special tokens" removes: the added [CLS] and [SEP] (or `<s>`, `</s>`) for an
/// encoder, the first token (the attention sink most heads park on) for a causal LLM.
pub fn special_positions(run: &ModelRun) -> Vec<usize> {
    let n = run.num_tokens();
    if run.shape.causal {
        return (0..n.min(1)).collect();
    }
    let special = |i: usize| run.offsets.get(i).is_some_and(|o| o.is_none());
    (0..n).filter(|&i| special(i) && matches!(run.tokens[i].as_str(), "[CLS]" | "[SEP]" | "<s>" | "</s>")).collect()
}

/// A model run seen through one of the book's four modes, as the app draws it:
/// - multi-head: every head of the run's layer, with the model's own attention weights;
/// - self: one head, with its real Q, K and V (query head `head` reads key/value head `head / group`);
/// - causal: the same head with the causal mask applied to its scores (for the encoder this is not what
///   it computes: it was trained to look both ways);
/// - simplified: softmax(X Xᵀ) on the layer's input.
///
/// `hide` removes [`special_positions`] from every row and renormalises what is left. `weighting` (not for
/// simplified): the model's weights as they are, each weight times its value's norm with rows
/// renormalised (so arcs stay on one scale), or attention rolled out through layers 0..=layer (one matrix
/// for every head: shown as a single head).
pub fn to_attention(run: &ModelRun, mode: Mode, head: usize, hide: bool, weighting: Weighting) -> Attention {
    // Rollout multiplies every layer's matrices, which a long pass did not send.
    let weighting = if run.layer_only && weighting == Weighting::Rollout { Weighting::Attention } else { weighting };
    let shape = run.shape;
    let (hd, group) = (shape.head_dim, shape.group_size());
    let layer = run.layer;
    let inputs = run.layer_input.to_mat();
    let hidden = if hide { special_positions(run) } else { Vec::new() };
    let n = run.num_tokens();
    // Rollout through layers 0..=layer, one matrix (computed only when shown).
    let rolled = match weighting {
        Weighting::Rollout => {
            let layers: Vec<Vec<Mat>> =
                (0..=layer).map(|l| (0..shape.heads).map(|h| run.attention(l, h)).collect()).collect();
            analysis::rollout(&layers).pop().unwrap_or_else(|| Mat::zeros(n, n))
        }
        _ => Mat::zeros(0, 0),
    };
    let head_steps = |h: usize, causal: bool, model_weights: bool| {
        let q = run.queries.columns(h * hd, hd); // (n, heads*head_dim) -> (n, head_dim) of head h
        let k = run.keys.columns((h / group) * hd, hd);
        let v = run.values.columns((h / group) * hd, hd);
        let opts = HeadOptions { causal, ..HeadOptions::default() };
        let mut steps = attend(q, k, v, &opts, h);
        if model_weights {
            // Show the model's own numbers (equal to ours within float rounding).
            steps.attn_weights = run.attention(layer, h);
            match weighting {
                Weighting::ValueNorm => {
                    if let Some(norms) = run.value_norms.as_ref().and_then(|v| v.0.get(h * n..(h + 1) * n)) {
                        steps.attn_weights = value_weighted_rows(&steps.attn_weights, norms);
                    }
                }
                Weighting::Rollout => steps.attn_weights = rolled.clone(),
                Weighting::Attention => {}
            }
            if weighting != Weighting::Attention {
                steps.context_vec = matmul(&steps.attn_weights, &steps.values); // (n, n) @ (n, head_dim)
            }
        }
        if !hidden.is_empty() {
            steps.attn_weights = hide_and_renormalize(&steps.attn_weights, &hidden);
            steps.context_vec = matmul(&steps.attn_weights, &steps.values); // (n, n) @ (n, head_dim)
        }
        steps
    };
    let head = head.min(shape.heads.saturating_sub(1));
    let (heads, concat) = match mode {
        Mode::Simplified => {
            let mut s = simplified(&inputs, Normalization::Softmax);
            if !hidden.is_empty() {
                s.attn_weights = hide_and_renormalize(&s.attn_weights, &hidden);
                s.context_vec = matmul(&s.attn_weights, &inputs);
            }
            (vec![s], None)
        }
        Mode::SelfAttention => (vec![head_steps(head, shape.causal, true)], None),
        Mode::Causal => (vec![head_steps(head, true, shape.causal)], None),
        // Rollout is one matrix for the whole layer: one head's worth of arcs.
        Mode::MultiHead if weighting == Weighting::Rollout => (vec![head_steps(0, shape.causal, true)], None),
        Mode::MultiHead => {
            let heads: Vec<HeadSteps> = (0..shape.heads).map(|h| head_steps(h, shape.causal, true)).collect();
            let n = run.num_tokens();
            let mut concat = Mat::zeros(n, heads.len() * hd);
            for (h, s) in heads.iter().enumerate() {
                concat.columns_mut(h * hd, hd).copy_from(&s.context_vec); // num_heads x (n, head_dim) -> (n, d)
            }
            (heads, Some(concat))
        }
    };
    let context = concat.clone().unwrap_or_else(|| heads[0].context_vec.clone());
    Attention {
        mode,
        tokens: run.tokens.clone(),
        inputs,
        heads,
        concat: None,
        context,
        sum_normalized: None,
        naive_softmax: None,
    }
}

/// `||v_j W_O^h||` of every head and token of the run's layer, `[head * n + token]`, from the layer's output
/// projection (torch layout `(rows, cols, row-major data)`); `None` without one.
pub fn value_norms_of(run: &ModelRun, out_proj: Option<(usize, usize, Vec<f32>)>) -> Option<Floats> {
    let (rows, cols, data) = out_proj?;
    let w_out = Mat::from_row_slice(rows, cols, &data);
    let norms = analysis::value_norms(&run.values.to_mat(), &w_out, run.shape.heads, run.shape.head_dim);
    Some(Floats(norms.into_iter().flatten().collect()))
}

/// `A[i][j] * norms[j]`, each row renormalised to sum 1 (a row of zeros stays zeros).
fn value_weighted_rows(a: &Mat, norms: &[f32]) -> Mat {
    let mut out = Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)] * norms.get(j).copied().unwrap_or(0.0));
    for i in 0..out.nrows() {
        let sum: f32 = out.row(i).iter().sum();
        if sum > 0.0 {
            for j in 0..out.ncols() {
                out[(i, j)] /= sum;
            }
        }
    }
    out
}

/// One layer's hidden input and Q, K, V.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerBlocks {
    pub layer_input: Block,
    pub queries: Block,
    pub keys: Block,
    pub values: Block,
}

/// A whole forward pass, kept by the worker so that another layer of the same sentence is a slice,
/// not a second pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Forward {
    pub model: ModelKind,
    pub shape: Shape,
    pub text: String,
    /// The input's token ids (duplicate-token scores compare them).
    pub ids: Vec<u32>,
    pub tokens: Vec<String>,
    pub offsets: Vec<Option<(usize, usize)>>,
    pub attention: Floats,
    pub layers: Vec<LayerBlocks>,
    pub top5_next: Vec<Guess>,
    pub next_per_position: Vec<Guess>,
    /// Decoders: the last block's output through the final norm (`n x hidden`), what the next-word
    /// guesses come from; the logit lens's last row is read from it.
    pub final_hidden: Option<Block>,
    /// The logit lens, once asked for (kept with the pass, so another layer does not recompute it).
    pub logit_lens: Option<Lens>,
    /// `attention` has every layer's heads; false for a pass longer than [`MAX_ALL_LAYERS_TOKENS`],
    /// which kept none (see [`layer_attention_of`]).
    pub all_layers: bool,
    /// Every head's thumbnail of such a pass, once computed.
    pub thumbnails: Option<Thumbnails>,
    /// The head-role scores, once asked for (see [`Forward::roles_kept`]).
    pub kept_roles: Option<Roles>,
}

impl Forward {
    /// The run the app needs for `layer` (clamped to the model).
    pub fn run(&self, layer: usize) -> ModelRun {
        let layer = layer.min(self.layers.len().saturating_sub(1));
        let l = self.layers[layer].clone();
        ModelRun {
            model: self.model,
            shape: self.shape,
            text: self.text.clone(),
            tokens: self.tokens.clone(),
            offsets: self.offsets.clone(),
            // A pass without every layer's attention: the worker puts the layer's in (`run_of`).
            attention: if self.all_layers { self.attention.clone() } else { Floats::default() },
            layer,
            layer_input: l.layer_input,
            queries: l.queries,
            keys: l.keys,
            values: l.values,
            top5_next: self.top5_next.clone(),
            next_per_position: self.next_per_position.clone(),
            roles: None,
            value_norms: None,
            logit_lens: None,
            layer_only: !self.all_layers,
            thumbnails: if self.all_layers { None } else { self.thumbnails.clone() },
        }
    }

    /// The head-role scores of every head on this pass; `induction` from [`induction_scores`] (empty for
    /// encoders).
    pub fn roles(&self, induction: Vec<f32>) -> Roles {
        let by_layer = self.roles_by_layer(induction.clone(), |l| Ok(self.stored_layer(l)));
        by_layer.unwrap_or_else(|_| Roles { induction, ..Roles::default() })
    }

    /// The head-role scores of this pass, computed on the first call and kept with it, so that another
    /// layer or another request with the roles map open costs nothing (a long decoder pass recomputes
    /// every layer for them: about a second at 1 000 tokens). `llama`: the model, for a pass that kept
    /// no attention; `induction` as for [`Forward::roles`], the same on every call for one model.
    pub fn roles_kept(
        &mut self,
        induction: Vec<f32>,
        llama: Option<&arcs_models::arch::llama::Llama>,
    ) -> Result<Roles, String> {
        if let Some(r) = &self.kept_roles {
            return Ok(r.clone());
        }
        let roles = match llama.filter(|_| !self.all_layers) {
            // One layer recomputed at a time: a long pass's every layer would not fit.
            Some(l) => self.roles_by_layer(induction, |layer| layer_mats_of(l, self, layer))?,
            None => self.roles(induction),
        };
        self.kept_roles = Some(roles.clone());
        Ok(roles)
    }

    /// The head-role scores with each layer's matrices from `layer_mats` (for a pass that kept no
    /// attention: recomputed one layer at a time, so only one layer's are ever held).
    pub fn roles_by_layer(
        &self,
        induction: Vec<f32>,
        layer_mats: impl Fn(usize) -> Result<Vec<Mat>, String>,
    ) -> Result<Roles, String> {
        let mut roles = Roles { induction, ..Roles::default() };
        for l in 0..self.shape.layers {
            let r = analysis::HeadRoles::of(&[layer_mats(l)?], &self.ids, None);
            let flat = |v: Vec<Vec<f32>>| v.into_iter().flatten();
            roles.previous_token.extend(flat(r.previous_token));
            roles.first_token.extend(flat(r.first_token));
            roles.self_score.extend(flat(r.self_score));
            roles.entropy_bits.extend(flat(r.entropy_bits));
            roles.mean_distance.extend(flat(r.mean_distance));
            roles.duplicate_token.extend(r.duplicate_token.into_iter().flatten().map(|x| x.unwrap_or(f32::NAN)));
        }
        Ok(roles)
    }

    /// Every head of `layer` from the pass's stored attention.
    fn stored_layer(&self, l: usize) -> Vec<Mat> {
        let (heads, n) = (self.shape.heads, self.tokens.len());
        let d = &self.attention.0;
        (0..heads)
            .map(|h| {
                let start = (l * heads + h) * n * n;
                Mat::from_fn(n, n, |i, j| d.get(start + i * n + j).copied().unwrap_or(f32::NAN))
            })
            .collect()
    }
}

/// Length of the random token sequence repeated twice for the app's induction scores.
pub const INDUCTION_R: usize = 25;

/// `INDUCTION_R` seeded random token ids, ordinary vocabulary entries (for SmolLM2 and any vocabulary of
/// 41 000 or more: ids 1000 to 40 999, past the special and byte tokens; for smaller ones the upper
/// three quarters), the same on every run: the app's induction input, repeated twice.
pub fn induction_tokens(vocab_size: usize) -> Vec<u32> {
    let mut rng = arcs_core::prng::SplitMix64::new(0x1d0c7105);
    let (lo, span) =
        if vocab_size >= 41_000 { (1000, 40_000) } else { (vocab_size as u64 / 4, (vocab_size as u64 * 3 / 4).max(1)) };
    (0..INDUCTION_R).map(|_| (lo + rng.next_u64() % span) as u32).collect()
}

/// A decoder's induction score of every head, `[layer][head]`: one pass over `once` repeated twice,
/// preceded by one BOS where the model's tokenizer adds one (SmolLM2's does not). The app passes
/// [`induction_tokens`], the CLI the sentence's ids without any BOS.
pub fn induction_scores(model: &arcs_models::arch::llama::Llama, once: &[u32]) -> Result<Vec<Vec<f32>>, String> {
    let bos = model.bos_token();
    let once: Vec<u32> = once.iter().copied().skip_while(|&id| Some(id) == bos).collect();
    let offset = usize::from(bos.is_some());
    let twice: Vec<u32> = bos.into_iter().chain(once.iter().copied()).chain(once.iter().copied()).collect();
    let out = model.forward(&twice).map_err(|e| e.to_string())?;
    Ok(out
        .layers
        .iter()
        .map(|l| {
            l.attn_weights
                .iter()
                .map(|a| analysis::induction(&Mat::from_row_slice(a.rows(), a.cols(), a.data()), once.len(), offset))
                .collect()
        })
        .collect())
}

/// Head-role scores of every head, each `[layer * heads + head]` (definitions: `arcs_core::analysis`).
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Roles {
    pub previous_token: Vec<f32>,
    pub first_token: Vec<f32>,
    pub self_score: Vec<f32>,
    pub entropy_bits: Vec<f32>,
    pub mean_distance: Vec<f32>,
    /// NaN where no token of the sentence repeats.
    pub duplicate_token: Vec<f32>,
    /// Decoders, on [`induction_tokens`]; empty for encoders, or when its pass failed ([`Self::induction_error`]).
    pub induction: Vec<f32>,
    /// Why a decoder has no induction scores.
    pub induction_error: Option<String>,
}

impl Roles {
    /// `(layer, head, score)` of every head with a score for `role`, highest first.
    pub fn ranked(&self, role: Role, heads: usize) -> Vec<(usize, usize, f32)> {
        let mut all: Vec<(usize, usize, f32)> = self
            .of(role)
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_finite())
            .map(|(k, &s)| (k / heads.max(1), k % heads.max(1), s))
            .collect();
        all.sort_by(|a, b| b.2.total_cmp(&a.2));
        all
    }

    /// The scores of one role; empty if the model has none (induction for encoders).
    pub fn of(&self, role: Role) -> &[f32] {
        match role {
            Role::PreviousToken => &self.previous_token,
            Role::FirstToken => &self.first_token,
            Role::SelfScore => &self.self_score,
            Role::Entropy => &self.entropy_bits,
            Role::Distance => &self.mean_distance,
            Role::DuplicateToken => &self.duplicate_token,
            Role::Induction => &self.induction,
        }
    }
}

fn check_len(name: &str, causal: bool, max_positions: usize, n: usize) -> Result<(), String> {
    if n == 0 {
        return Err(format!("The sentence has no tokens for {name}. Type a few words."));
    }
    let max = max_tokens(causal, max_positions);
    if n > max {
        let why = if max == max_positions { "the model's context" } else { "the limit here" };
        return Err(format!("The sentence has {n} {name} tokens; {why} is {max}. Shorten it."));
    }
    Ok(())
}

/// A Llama-family decoder (SmolLM2, or a GGUF the user opened) on a text: every layer's attention and
/// details, and the next-token guesses.
pub fn forward_llama(model: &arcs_models::arch::llama::Llama, kind: ModelKind, text: &str) -> Result<Forward, String> {
    let enc = llama_tokens(model, kind, text)?;
    let out = model.forward(&enc.ids).map_err(|e| e.to_string())?;
    Ok(llama_forward_from(model, kind, text, enc, out))
}

/// `text` as a decoder's tokens, refused if empty or longer than the app shows.
pub fn llama_tokens(
    model: &arcs_models::arch::llama::Llama,
    kind: ModelKind,
    text: &str,
) -> Result<arcs_models::tokenizer::bpe::Encoding, String> {
    let c = model.config();
    let name = if kind == ModelKind::File { c.name.as_deref().unwrap_or(&c.arch) } else { "SmolLM2" };
    let enc = model.tokenize(text).map_err(|e| e.to_string())?;
    check_len(name, true, c.max_positions, enc.ids.len())?;
    Ok(enc)
}

/// The app's view of a decoder pass over `enc` (however it was computed: at once, or split over
/// helper workers).
pub fn llama_forward_from(
    model: &arcs_models::arch::llama::Llama,
    kind: ModelKind,
    text: &str,
    enc: arcs_models::tokenizer::bpe::Encoding,
    out: arcs_models::arch::llama::LlamaOutput,
) -> Forward {
    let c = model.config();
    let guess = |t: &arcs_models::smollm2::TokenProb| Guess { id: t.id, token: t.token.clone(), prob: t.prob };
    let all_layers = out.layers.iter().all(|l| !l.attn_weights.is_empty());
    let block = |m: arcs_models::Matrix| Block::from_row_major(m.rows(), m.cols(), m.into_vec());
    let (heads_per_layer, details) = into_blocks(out.layers);
    let layers = heads_per_layer.iter().zip(details).map(|(heads, d)| (heads.iter().map(|m| m.data()).collect(), d));
    // An added BOS has an empty span: no text of the sentence.
    let offsets = enc.offsets.into_iter().map(|(s, e)| (e > s).then_some((s, e))).collect();
    let shape = Shape {
        layers: c.num_layers,
        heads: c.num_heads,
        kv_heads: c.num_kv_heads,
        head_dim: c.head_dim,
        causal: true,
    };
    let mut f = assemble(kind, shape, text, enc.ids, enc.tokens, offsets, layers);
    f.top5_next = out.top5_next.iter().map(guess).collect();
    f.next_per_position = out.argmax_next_per_position.iter().map(guess).collect();
    f.final_hidden = Some(block(out.final_hidden));
    f.all_layers = all_layers;
    f
}

/// Layer `layer`'s heads (`[head]`, each `n x n`) of a decoder pass, recomputed from the queries and keys
/// it kept with the model's own code: the same bits as the pass's (`Llama::layer_attention`).
pub fn layer_attention_of(
    model: &arcs_models::arch::llama::Llama,
    f: &Forward,
    layer: usize,
) -> Result<Vec<arcs_models::Matrix>, String> {
    let l = f.layers.get(layer).ok_or("no such layer")?;
    let matrix = |b: &Block| {
        arcs_models::Matrix::from_vec(b.rows, b.cols, b.data.0.clone())
            .ok_or_else(|| "a block of the pass has the wrong size".to_string())
    };
    model.layer_attention(layer, &matrix(&l.queries)?, &matrix(&l.keys)?).map_err(|e| e.to_string())
}

/// [`layer_attention_of`] as the app's matrices (for the head roles of a pass that kept no attention).
pub fn layer_mats_of(model: &arcs_models::arch::llama::Llama, f: &Forward, layer: usize) -> Result<Vec<Mat>, String> {
    Ok(layer_attention_of(model, f, layer)?.iter().map(|m| Mat::from_row_slice(m.rows(), m.cols(), m.data())).collect())
}

/// Every head's max-pooled thumbnail of a decoder pass, one layer recomputed at a time.
pub fn thumbnails_of(model: &arcs_models::arch::llama::Llama, f: &Forward) -> Result<Thumbnails, String> {
    let side = crate::layout::pooled_side(f.tokens.len(), THUMBNAIL_CELLS);
    // Reserved once: a buffer growing between the layers' recomputed matrices would fragment a
    // WebAssembly heap (which cannot give memory back).
    let mut data = Vec::with_capacity(f.layers.len() * f.shape.heads * side * side);
    for layer in 0..f.layers.len() {
        for m in layer_attention_of(model, f, layer)? {
            data.extend(crate::layout::max_pool(m.rows(), |i, j| m.get(i, j), THUMBNAIL_CELLS).1);
        }
    }
    Ok(Thumbnails { side, data: Floats(data) })
}

/// A run for the page from a kept pass: `layer`'s details and, for a pass that kept no attention,
/// `layer`'s heads recomputed and every head's thumbnail (computed once, then kept with the pass).
pub fn run_of(
    f: &mut Forward,
    layer: usize,
    model: Option<&arcs_models::arch::llama::Llama>,
) -> Result<ModelRun, String> {
    if f.all_layers {
        return Ok(f.run(layer));
    }
    let model = model.ok_or("a pass without its attention needs its model")?;
    if f.thumbnails.is_none() {
        f.thumbnails = Some(thumbnails_of(model, f)?);
    }
    let mut run = f.run(layer);
    let heads = layer_attention_of(model, f, run.layer)?;
    run.attention = Floats(heads.iter().flat_map(|m| m.data().iter().copied()).collect());
    Ok(run)
}

/// A decoder's logit lens from its kept pass (no second pass): layer l reads the input of block l + 1,
/// the last layer the model's own final hidden state, so its top-1 at every position is the pass's
/// next-word guess bit for bit.
pub fn logit_lens_of(model: &arcs_models::arch::llama::Llama, f: &Forward) -> Result<Lens, String> {
    let matrix = |b: &Block| {
        arcs_models::Matrix::from_vec(b.rows, b.cols, b.data.0.clone())
            .ok_or_else(|| "a hidden state of the pass has the wrong size".to_string())
    };
    let last = f.final_hidden.as_ref().ok_or("the logit lens is for decoders")?;
    let guess = |t: arcs_models::smollm2::TokenProb| Guess { id: t.id, token: t.token, prob: t.prob };
    (0..f.layers.len())
        .map(|l| {
            let top5 = match f.layers.get(l + 1) {
                Some(next) => model.lens_top5(&matrix(&next.layer_input)?, false),
                None => model.lens_top5(&matrix(last)?, true),
            };
            Ok(top5.into_iter().map(|p| p.into_iter().map(guess).collect()).collect())
        })
        .collect()
}

/// The shared tail of both forward functions: every layer's heads flattened into one block
/// (layer-major, then head, then row) and its details kept.
fn assemble<'a>(
    model: ModelKind,
    shape: Shape,
    text: &str,
    ids: Vec<u32>,
    tokens: Vec<String>,
    offsets: Vec<Option<(usize, usize)>>,
    layers: impl Iterator<Item = (Vec<&'a [f32]>, LayerBlocks)>,
) -> Forward {
    let n = tokens.len();
    let mut attention = Vec::new();
    let mut blocks = Vec::with_capacity(shape.layers);
    for (heads, details) in layers {
        if attention.capacity() == 0 && !heads.is_empty() {
            // Reserved once all layers' worth is known to come (a long decoder pass brings none).
            attention.reserve_exact(shape.layers * shape.heads * n * n);
        }
        flatten_heads(n, heads.into_iter(), &mut attention);
        blocks.push(details);
    }
    Forward {
        model,
        shape,
        text: text.to_string(),
        ids,
        tokens,
        offsets,
        attention: Floats(attention),
        layers: blocks,
        top5_next: Vec::new(),
        next_per_position: Vec::new(),
        final_hidden: None,
        logit_lens: None,
        all_layers: true,
        thumbnails: None,
        kept_roles: None,
    }
}

/// A BERT-style encoder (MiniLM, or a folder the user opened) on a text: every layer's attention and
/// details.
pub fn forward_bert(model: &arcs_models::arch::bert::Bert, kind: ModelKind, text: &str) -> Result<Forward, String> {
    let enc = bert_tokens(model, kind, text)?;
    let out = model.forward_attention(&enc.ids).map_err(|e| e.to_string())?;
    Ok(bert_forward_from(model, kind, text, enc, out))
}

/// `text` as an encoder's tokens, refused if empty or longer than the app shows.
pub fn bert_tokens(
    model: &arcs_models::arch::bert::Bert,
    kind: ModelKind,
    text: &str,
) -> Result<arcs_models::minilm::Encoding, String> {
    let enc = model.tokenizer().encode(text);
    let name = if kind == ModelKind::MiniLm { "MiniLM" } else { "BERT" };
    check_len(name, false, model.config().max_position_embeddings, enc.ids.len())?;
    Ok(enc)
}

/// The app's view of an encoder pass over `enc` (however it was computed: at once, or in steps with
/// a helper worker).
pub fn bert_forward_from(
    model: &arcs_models::arch::bert::Bert,
    kind: ModelKind,
    text: &str,
    enc: arcs_models::minilm::Encoding,
    out: arcs_models::minilm::MiniLmOutput,
) -> Forward {
    let c = model.config();
    let shape =
        Shape { layers: c.num_layers, heads: c.num_heads, kv_heads: c.num_heads, head_dim: c.head_dim, causal: false };
    let (heads_per_layer, details) = into_blocks(out.layers);
    let layers = heads_per_layer.iter().zip(details).map(|(heads, d)| (heads.iter().map(|m| m.data()).collect(), d));
    assemble(kind, shape, text, enc.ids, enc.tokens, enc.offsets, layers)
}

/// A pass's layers as each layer's heads and its details: the model's matrices move into the blocks (no
/// copies); the heads stay matrices until `assemble` gathers them.
fn into_blocks(layers: Vec<arcs_models::arch::LayerTrace>) -> (Vec<Vec<arcs_models::Matrix>>, Vec<LayerBlocks>) {
    let block = |m: arcs_models::Matrix| Block::from_row_major(m.rows(), m.cols(), m.into_vec());
    layers
        .into_iter()
        .map(|l| {
            let details = LayerBlocks {
                layer_input: block(l.layer_input),
                queries: block(l.queries),
                keys: block(l.keys),
                values: block(l.values),
            };
            (l.attn_weights, details)
        })
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_of_a_pass_and_their_ranking() {
        let run = fake_run();
        let f = Forward {
            model: run.model,
            shape: run.shape,
            text: run.text.clone(),
            ids: vec![5, 9, 5],
            tokens: run.tokens.clone(),
            offsets: run.offsets.clone(),
            attention: run.attention.clone(),
            layers: Vec::new(),
            top5_next: Vec::new(),
            next_per_position: Vec::new(),
            final_hidden: None,
            logit_lens: None,
            all_layers: true,
            thumbnails: None,
            kept_roles: None,
        };
        let heads = run.shape.heads;
        let roles = f.roles(vec![0.25; run.shape.layers * heads]);
        let cells = run.shape.layers * heads;
        assert_eq!(roles.previous_token.len(), cells);
        // Causal uniform rows: previous token = mean(1/2, 1/3), first token = mean(1, 1/2, 1/3).
        assert!((roles.previous_token[0] - (0.5 + 1.0 / 3.0) / 2.0).abs() < 1e-6);
        assert!((roles.first_token[cells - 1] - (1.0 + 0.5 + 1.0 / 3.0) / 3.0).abs() < 1e-6);
        assert!((roles.duplicate_token[0] - 1.0 / 3.0).abs() < 1e-6, "token 5 repeats at 2");
        assert_eq!(roles.of(Role::Induction), &vec![0.25; cells][..]);
        let mut r = roles.clone();
        r.self_score[7] = 2.0;
        r.self_score[3] = f32::NAN;
        let ranked = r.ranked(Role::SelfScore, heads);
        assert_eq!(ranked[0], (7 / heads, 7 % heads, 2.0));
        assert_eq!(ranked.len(), cells - 1, "a missing score is left out");
        assert!(ranked.windows(2).all(|p| p[0].2 >= p[1].2));
    }

    #[test]
    fn files_too_large_for_the_page_are_refused_with_the_numbers() {
        assert!(check_open_size(1_500_000_000, 100_000_000).is_ok(), "1.5 GB must open");
        let e = check_open_size(4_000_000_000, 50_000_000).expect_err("4 GB cannot fit");
        assert!(e.contains("4.00 GB") && e.contains("4.40 GB") && e.contains("4.24 GB"), "{e}");
        assert!(check_open_size(u64::MAX, u64::MAX).is_err());
    }

    #[test]
    fn induction_tokens_are_one_seeded_sequence_of_ordinary_ids() {
        let ids = induction_tokens(49_152);
        assert_eq!(ids.len(), INDUCTION_R);
        assert!(ids.iter().all(|&i| (1000..41_000).contains(&i)));
        assert_eq!(ids, induction_tokens(49_152), "the same every time");
        assert!(induction_tokens(320).iter().all(|&i| (80..320).contains(&i)), "a tiny vocabulary's own ids");
        assert!(ids.iter().collect::<std::collections::HashSet<_>>().len() > INDUCTION_R - 3, "few repeats");
    }

    #[test]
    fn hiding_keys_renormalises_rows() {
        let m = Mat::from_row_slice(2, 3, &[0.5, 0.25, 0.25, 1.0, 0.0, 0.0]);
        let h = hide_and_renormalize(&m, &[0]);
        assert_eq!(h.row(0).iter().copied().collect::<Vec<_>>(), vec![0.0, 0.5, 0.5]);
        assert_eq!(h.row(1).iter().copied().collect::<Vec<_>>(), vec![0.0, 0.0, 0.0]);
    }

    /// A two-layer, two-head fake run whose attention we know: the conversions must pick the right
    /// slices and keep the model's numbers.
    fn fake_run() -> ModelRun {
        let n = 3;
        let kind = ModelKind::SmolLm2;
        let shape = kind.shape().expect("built in");
        let (heads, hd, layers) = (shape.heads, shape.head_dim, shape.layers);
        let mut attention = vec![0.0; layers * heads * n * n];
        for l in 0..layers {
            for h in 0..heads {
                for i in 0..n {
                    for j in 0..=i {
                        attention[((l * heads + h) * n + i) * n + j] = 1.0 / (i + 1) as f32;
                    }
                }
            }
        }
        let cols = |c: usize| Block::from_row_major(n, c, (0..n * c).map(|x| (x % 7) as f32 * 0.1).collect());
        ModelRun {
            model: kind,
            shape,
            offsets: vec![Some((0, 1)), Some((1, 3)), Some((3, 5))],
            layer: 2,
            layer_input: cols(arcs_models::smollm2::HIDDEN),
            queries: cols(heads * hd),
            keys: cols(arcs_models::smollm2::KV_DIM),
            values: cols(arcs_models::smollm2::KV_DIM),
            ..ModelRun::bare(kind, shape, vec!["a".into(), " b".into(), " c".into()], attention)
        }
    }

    #[test]
    fn value_weighted_and_rolled_out_arcs() {
        let mut run = fake_run();
        let n = run.num_tokens();
        // Norms 1, 2, 3 for every head: row i of head 0 (uniform over 0..=i) becomes (j + 1) / sum.
        run.value_norms = Some(Floats((0..run.shape.heads * n).map(|k| (k % n + 1) as f32).collect()));
        let v = to_attention(&run, Mode::MultiHead, 0, false, Weighting::ValueNorm);
        assert_eq!(v.heads.len(), run.shape.heads);
        let w = &v.heads[0].attn_weights;
        assert!((w[(2, 2)] - 3.0 / 6.0).abs() < 1e-6 && (w[(1, 0)] - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(w[(0, 1)], 0.0, "the causal mask stays");
        // Without norms (not asked for yet) the weights are shown as they are.
        run.value_norms = None;
        let plain = to_attention(&run, Mode::MultiHead, 0, false, Weighting::ValueNorm);
        assert_eq!(plain.heads[0].attn_weights, run.attention(run.layer, 0));
        let r = to_attention(&run, Mode::MultiHead, 0, false, Weighting::Rollout);
        assert_eq!(r.heads.len(), 1, "one matrix for the layer");
        let layers: Vec<Vec<Mat>> =
            (0..=run.layer).map(|l| (0..run.shape.heads).map(|h| run.attention(l, h)).collect()).collect();
        assert_eq!(r.heads[0].attn_weights, analysis::rollout(&layers)[run.layer]);
        for i in 0..n {
            assert!((r.heads[0].attn_weights.row(i).sum() - 1.0).abs() < 1e-5, "rolled-out rows sum to 1");
        }
    }

    #[test]
    fn modes_on_a_model_run() {
        let run = fake_run();
        let mh = to_attention(&run, Mode::MultiHead, 0, false, Weighting::Attention);
        assert_eq!(mh.heads.len(), 9);
        assert_eq!(mh.heads[4].attn_weights, run.attention(2, 4));
        assert_eq!(mh.context.shape(), (3, 9 * 64));
        let one = to_attention(&run, Mode::SelfAttention, 5, false, Weighting::Attention);
        assert_eq!(one.heads.len(), 1);
        assert_eq!(one.heads[0].keys, run.keys.columns(64, 64), "query head 5 reads key/value head 1");
        let hidden = to_attention(&run, Mode::SelfAttention, 5, true, Weighting::Attention);
        assert_eq!(hidden.heads[0].attn_weights[(0, 0)], 0.0, "the sink is hidden");
        assert!((hidden.heads[0].attn_weights.row(2).sum() - 1.0).abs() < 1e-6);
        let simple = to_attention(&run, Mode::Simplified, 0, false, Weighting::Attention);
        assert_eq!(simple.heads[0].attn_scores.shape(), (3, 3));
        assert_eq!(run.rank_heads(2, 0)[0].2, 1.0 / 3.0);
    }

    /// yew-agent 0.5's `Bincode` codec, as the page and the worker use it.
    fn encode<T: Serialize>(x: &T) -> Vec<u8> {
        bincode::serde::encode_to_vec(x, bincode::config::standard()).expect("encode")
    }

    fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, bincode::error::DecodeError> {
        bincode::serde::decode_from_slice(b, bincode::config::standard()).map(|(x, _)| x)
    }

    /// The floats the worker sends, through the codec the worker uses (a byte string, read back by
    /// `visit_bytes`/`visit_borrowed_bytes`), and through JSON (a sequence of numbers).
    #[test]
    fn floats_survive_the_worker_codec_bit_for_bit() {
        let values =
            vec![1.5, -0.0, 0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, f32::MIN_POSITIVE / 2.0, 3.25];
        let b = Block::from_row_major(3, 3, values.clone());
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        let bytes = encode(&b);
        assert!(bytes.len() < 9 * 4 + 8, "a byte string, not a sequence of tagged numbers: {} bytes", bytes.len());
        let back: Block = decode(&bytes).expect("decode");
        assert_eq!(bits(&back.data.0), bits(&values), "sign of -0.0, NaN payloads and infinities kept");
        assert_eq!((back.rows, back.cols), (3, 3));
        let json = serde_json::to_string(&b).expect("ser");
        let back: Block = serde_json::from_str(&json).expect("de");
        assert_eq!(bits(&back.data.0), bits(&values));
        assert_eq!(back.columns(1, 1)[(2, 0)], f32::MIN_POSITIVE / 2.0);
    }

    #[test]
    fn a_float_block_of_the_wrong_length_is_refused() {
        let mut bytes = encode(&Floats(vec![1.0, 2.0]));
        // The standard config writes a length below 251 as one byte: 8 -> 7, and one byte less, is a
        // well-formed byte string that is not whole floats.
        assert_eq!(bytes[0], 8);
        bytes[0] = 7;
        bytes.pop();
        let e = decode::<Floats>(&bytes).expect_err("7 bytes are not floats");
        assert!(e.to_string().contains("multiple of 4"), "{e}");
    }

    #[test]
    fn a_whole_answer_survives_the_worker_codec() {
        let run = fake_run();
        let out = crate::protocol::WorkerOut::Done {
            id: 9,
            run: Box::new(run.clone()),
            forward_ms: 1.25,
            wasm_memory_bytes: 1 << 24,
            helped: true,
            compare: Some(Box::new(run.clone())),
            compare_error: Some("too long".into()),
        };
        let back: crate::protocol::WorkerOut = decode(&encode(&out)).expect("decode");
        assert_eq!(back, out);
    }
}
