//! Weights and the forward pass of the BERT encoder.

use std::collections::HashMap;

use safetensors::{Dtype, SafeTensors};

use crate::kernels::{
    axpy, gelu_in_place, layer_norm_in_place, matmul_rows, matmul_view, quantize_for, Rows,
    softmax_in_place, WeightMatrix,
};
use crate::{Config, Matrix, ModelError, WordPiece};

/// Name under which the position table is kept once token-type embedding 0 has been added to each
/// row: the model is only ever run with token_type_ids = 0, so the sum is all it needs.
pub(crate) const POSITION_AND_TYPE0: &str =
    "embeddings.position_embeddings.weight+token_type_embeddings.weight[0]";

/// How the big weight matrices are held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// Full f32, as loaded from `model.safetensors`.
    F32,
    /// Quantised integers with a step per row (held as i16), as loaded from the browser bundle.
    Quantized,
}

/// What [`MiniLm::forward`] computed inside one encoder layer. `n` = number of tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerOutput {
    /// `n x 384`: the hidden state entering the layer (for layer 0, the LayerNorm-ed embeddings).
    pub layer_input: Matrix,
    /// `n x 384`: `layer_input @ W_query^T + b`, all heads side by side; head `h` is columns
    /// `h * HEAD_DIM .. (h + 1) * HEAD_DIM` (see [`Matrix::column_block`]).
    pub queries: Matrix,
    /// `n x 384`, laid out like `queries`.
    pub keys: Matrix,
    /// `n x 384`, laid out like `queries`.
    pub values: Matrix,
    /// `[head]` -> `n x n` post-softmax attention: row = query token, column = key token, each
    /// row sums to 1.
    pub attn_weights: Vec<Matrix>,
}

/// Everything [`MiniLm::forward`] exposes for one input.
#[derive(Debug, Clone, PartialEq)]
pub struct MiniLmOutput {
    /// One entry per encoder layer, in order.
    pub layers: Vec<LayerOutput>,
    /// `n x 384`: output of the last layer (Hugging Face's `last_hidden_state`); `None` from
    /// [`MiniLm::forward_attention`], which stops before the last layer's output.
    pub last_hidden_state: Option<Matrix>,
}

impl MiniLmOutput {
    pub fn num_tokens(&self) -> usize {
        self.layers.first().map_or(0, |l| l.layer_input.rows())
    }

    /// Attention weights of `layer`, `head` (`n x n`, row = query). Panics if out of range.
    pub fn attention(&self, layer: usize, head: usize) -> &Matrix {
        &self.layers[layer].attn_weights[head]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Linear {
    pub(crate) weight: WeightMatrix,
    pub(crate) bias: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LayerNorm {
    pub(crate) gamma: Vec<f32>,
    pub(crate) beta: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Embeddings {
    /// `vocab x hidden`.
    pub(crate) word: WeightMatrix,
    /// `max_positions x hidden`, token-type-0 embedding already added.
    pub(crate) position: WeightMatrix,
    pub(crate) norm: LayerNorm,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EncoderLayer {
    pub(crate) w_query: Linear,
    pub(crate) w_key: Linear,
    pub(crate) w_value: Linear,
    pub(crate) out_proj: Linear,
    pub(crate) attn_norm: LayerNorm,
    pub(crate) ffn_up: Linear,
    pub(crate) ffn_down: Linear,
    pub(crate) ffn_norm: LayerNorm,
}

/// all-MiniLM-L6-v2: tokenizer plus weights, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct MiniLm {
    config: Config,
    tokenizer: WordPiece,
    pub(crate) embeddings: Embeddings,
    pub(crate) layers: Vec<EncoderLayer>,
}

/// Shape of one stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TensorKind {
    /// A weight matrix, `rows x cols` (torch layout for dense layers).
    Matrix { rows: usize, cols: usize },
    /// A bias or LayerNorm parameter.
    Vector { len: usize },
}

impl TensorKind {
    pub(crate) fn shape(&self) -> Vec<usize> {
        match *self {
            TensorKind::Matrix { rows, cols } => vec![rows, cols],
            TensorKind::Vector { len } => vec![len],
        }
    }
}

/// A loaded tensor on its way into a [`MiniLm`].
pub(crate) enum Loaded {
    Matrix(WeightMatrix),
    Vector(Vec<f32>),
}

/// A borrowed tensor of a [`MiniLm`], for writing it out.
pub(crate) enum TensorRef<'a> {
    Matrix(&'a WeightMatrix),
    Vector(&'a [f32]),
}

/// Every tensor the model holds, in a fixed order (the bundle's order). Hugging Face names, except
/// the folded position table ([`POSITION_AND_TYPE0`]); the pooler is not used and not listed.
pub(crate) fn tensor_layout(c: &Config) -> Vec<(String, TensorKind)> {
    let (d, ff) = (c.hidden_size, c.intermediate_size);
    let m = |rows, cols| TensorKind::Matrix { rows, cols };
    let v = |len| TensorKind::Vector { len };
    let mut out = vec![
        (
            "embeddings.word_embeddings.weight".to_owned(),
            m(c.vocab_size, d),
        ),
        (
            POSITION_AND_TYPE0.to_owned(),
            m(c.max_position_embeddings, d),
        ),
        ("embeddings.LayerNorm.weight".to_owned(), v(d)),
        ("embeddings.LayerNorm.bias".to_owned(), v(d)),
    ];
    for l in 0..c.num_layers {
        let p = format!("encoder.layer.{l}.");
        for (suffix, kind) in [
            ("attention.self.query.weight", m(d, d)),
            ("attention.self.query.bias", v(d)),
            ("attention.self.key.weight", m(d, d)),
            ("attention.self.key.bias", v(d)),
            ("attention.self.value.weight", m(d, d)),
            ("attention.self.value.bias", v(d)),
            ("attention.output.dense.weight", m(d, d)),
            ("attention.output.dense.bias", v(d)),
            ("attention.output.LayerNorm.weight", v(d)),
            ("attention.output.LayerNorm.bias", v(d)),
            ("intermediate.dense.weight", m(ff, d)),
            ("intermediate.dense.bias", v(ff)),
            ("output.dense.weight", m(d, ff)),
            ("output.dense.bias", v(d)),
            ("output.LayerNorm.weight", v(d)),
            ("output.LayerNorm.bias", v(d)),
        ] {
            out.push((format!("{p}{suffix}"), kind));
        }
    }
    out
}

/// Pulls named tensors out of a map filled according to [`tensor_layout`].
struct Take(HashMap<String, Loaded>);

impl Take {
    fn matrix(&mut self, name: &str) -> Result<WeightMatrix, ModelError> {
        match self.0.remove(name) {
            Some(Loaded::Matrix(m)) => Ok(m),
            _ => Err(ModelError::MissingTensor(name.to_owned())),
        }
    }

    fn vector(&mut self, name: &str) -> Result<Vec<f32>, ModelError> {
        match self.0.remove(name) {
            Some(Loaded::Vector(v)) => Ok(v),
            _ => Err(ModelError::MissingTensor(name.to_owned())),
        }
    }

    fn linear(&mut self, prefix: &str) -> Result<Linear, ModelError> {
        Ok(Linear {
            weight: self.matrix(&format!("{prefix}.weight"))?,
            bias: self.vector(&format!("{prefix}.bias"))?,
        })
    }

    fn norm(&mut self, prefix: &str) -> Result<LayerNorm, ModelError> {
        Ok(LayerNorm {
            gamma: self.vector(&format!("{prefix}.weight"))?,
            beta: self.vector(&format!("{prefix}.bias"))?,
        })
    }
}

/// Converts a little-endian f32 tensor, rejecting wrong dtype, shape or non-finite values.
fn f32_tensor(st: &SafeTensors<'_>, name: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
    let view = st
        .tensor(name)
        .map_err(|_| ModelError::MissingTensor(name.to_owned()))?;
    if view.dtype() != Dtype::F32 {
        return Err(ModelError::WrongDtype {
            name: name.to_owned(),
            expected: "F32",
            found: format!("{:?}", view.dtype()),
        });
    }
    if view.shape() != shape {
        return Err(ModelError::WrongShape {
            name: name.to_owned(),
            expected: shape.to_vec(),
            found: view.shape().to_vec(),
        });
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    // safetensors already checked data length against shape; re-check so a bug there cannot
    // turn into an out-of-bounds panic later.
    if values.len() != shape.iter().product::<usize>() {
        return Err(ModelError::SafeTensors(format!(
            "tensor `{name}` has the wrong number of bytes"
        )));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(ModelError::NonFinite(name.to_owned()));
    }
    Ok(values)
}

impl MiniLm {
    /// Loads Hugging Face's f32 `model.safetensors` (BertModel, the pooler is ignored) and the text
    /// of `vocab.txt`. Every tensor's presence, dtype and shape is checked.
    pub fn from_safetensors(bytes: &[u8], vocab_txt: &str) -> Result<MiniLm, ModelError> {
        let config = Config::MINILM_L6_V2;
        let tokenizer = WordPiece::from_vocab(vocab_txt)?;
        let st =
            SafeTensors::deserialize(bytes).map_err(|e| ModelError::SafeTensors(e.to_string()))?;
        let mut loaded = HashMap::new();
        for (name, kind) in tensor_layout(&config) {
            let tensor = if name == POSITION_AND_TYPE0 {
                let d = config.hidden_size;
                let mut pos = f32_tensor(
                    &st,
                    "embeddings.position_embeddings.weight",
                    &[config.max_position_embeddings, d],
                )?;
                let types = f32_tensor(&st, "embeddings.token_type_embeddings.weight", &[2, d])?;
                for row in pos.chunks_exact_mut(d) {
                    for (p, t) in row.iter_mut().zip(&types[..d]) {
                        *p += t;
                    }
                }
                Loaded::Matrix(matrix_from(&name, pos, &kind)?)
            } else {
                let values = f32_tensor(&st, &name, &kind.shape())?;
                match kind {
                    TensorKind::Matrix { .. } => Loaded::Matrix(matrix_from(&name, values, &kind)?),
                    TensorKind::Vector { .. } => Loaded::Vector(values),
                }
            };
            loaded.insert(name, tensor);
        }
        MiniLm::assemble(config, tokenizer, loaded)
    }

    /// Builds the model from tensors named as in [`tensor_layout`] (shapes already validated).
    pub(crate) fn assemble(
        config: Config,
        tokenizer: WordPiece,
        loaded: HashMap<String, Loaded>,
    ) -> Result<MiniLm, ModelError> {
        let mut t = Take(loaded);
        let embeddings = Embeddings {
            word: t.matrix("embeddings.word_embeddings.weight")?,
            position: t.matrix(POSITION_AND_TYPE0)?,
            norm: t.norm("embeddings.LayerNorm")?,
        };
        if tokenizer.vocab_size() != embeddings.word.rows() {
            return Err(ModelError::VocabSizeMismatch {
                vocab: tokenizer.vocab_size(),
                embeddings: embeddings.word.rows(),
            });
        }
        let mut layers = Vec::with_capacity(config.num_layers);
        for l in 0..config.num_layers {
            let p = format!("encoder.layer.{l}");
            layers.push(EncoderLayer {
                w_query: t.linear(&format!("{p}.attention.self.query"))?,
                w_key: t.linear(&format!("{p}.attention.self.key"))?,
                w_value: t.linear(&format!("{p}.attention.self.value"))?,
                out_proj: t.linear(&format!("{p}.attention.output.dense"))?,
                attn_norm: t.norm(&format!("{p}.attention.output.LayerNorm"))?,
                ffn_up: t.linear(&format!("{p}.intermediate.dense"))?,
                ffn_down: t.linear(&format!("{p}.output.dense"))?,
                ffn_norm: t.norm(&format!("{p}.output.LayerNorm"))?,
            });
        }
        Ok(MiniLm {
            config,
            tokenizer,
            embeddings,
            layers,
        })
    }

    /// All tensors in [`tensor_layout`] order.
    pub(crate) fn tensors(&self) -> Vec<TensorRef<'_>> {
        let mut out = vec![
            TensorRef::Matrix(&self.embeddings.word),
            TensorRef::Matrix(&self.embeddings.position),
            TensorRef::Vector(&self.embeddings.norm.gamma),
            TensorRef::Vector(&self.embeddings.norm.beta),
        ];
        for layer in &self.layers {
            for lin in [
                &layer.w_query,
                &layer.w_key,
                &layer.w_value,
                &layer.out_proj,
            ] {
                out.push(TensorRef::Matrix(&lin.weight));
                out.push(TensorRef::Vector(&lin.bias));
            }
            out.push(TensorRef::Vector(&layer.attn_norm.gamma));
            out.push(TensorRef::Vector(&layer.attn_norm.beta));
            for lin in [&layer.ffn_up, &layer.ffn_down] {
                out.push(TensorRef::Matrix(&lin.weight));
                out.push(TensorRef::Vector(&lin.bias));
            }
            out.push(TensorRef::Vector(&layer.ffn_norm.gamma));
            out.push(TensorRef::Vector(&layer.ffn_norm.beta));
        }
        out
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn tokenizer(&self) -> &WordPiece {
        &self.tokenizer
    }

    /// Whether the weights are full f32 (safetensors) or int8 (bundle).
    pub fn weight_format(&self) -> WeightFormat {
        match self.embeddings.word {
            WeightMatrix::F32(_) => WeightFormat::F32,
            WeightMatrix::Quantized { .. } => WeightFormat::Quantized,
        }
    }

    /// Runs the encoder on `ids` (as from [`WordPiece::encode`], `[CLS]`/`[SEP]` included, token
    /// type 0, no padding) and returns every layer's intermediate values.
    pub fn forward(&self, ids: &[u32]) -> Result<MiniLmOutput, ModelError> {
        self.run(ids, true)
    }

    /// Like [`MiniLm::forward`] but stops once the last layer's attention is known: that layer's
    /// output projection and feed-forward block, which no attention weight depends on, are
    /// skipped (an eighth of the work). `last_hidden_state` is `None`.
    pub fn forward_attention(&self, ids: &[u32]) -> Result<MiniLmOutput, ModelError> {
        self.run(ids, false)
    }

    fn run(&self, ids: &[u32], last_output: bool) -> Result<MiniLmOutput, ModelError> {
        let mut steps = self.start(ids, last_output)?;
        while let Some(job) = steps.job() {
            let halves = [self.run_half(job, 0)?, self.run_half(job, 1)?];
            steps.complete(self, halves)?;
        }
        Ok(steps.finish())
    }

    /// A forward pass to be driven step by step ([`ForwardSteps`]): each step's two halves may run
    /// anywhere (the app runs one in a second worker). `last_output` as in [`MiniLm::forward`].
    pub fn start(&self, ids: &[u32], last_output: bool) -> Result<ForwardSteps, ModelError> {
        let input = self.embed(ids)?;
        Ok(ForwardSteps {
            job: Some(Job::Attention { layer: 0, input }),
            layers: Vec::with_capacity(self.layers.len()),
            last_output,
            last_hidden_state: None,
        })
    }

    /// The LayerNorm-ed sum of word and position embeddings: `n x d`, the first layer's input.
    fn embed(&self, ids: &[u32]) -> Result<Matrix, ModelError> {
        let c = &self.config;
        let n = ids.len();
        if n == 0 {
            return Err(ModelError::EmptyInput);
        }
        if n > c.max_position_embeddings {
            return Err(ModelError::TooLong {
                tokens: n,
                max: c.max_position_embeddings,
            });
        }
        if let Some(&id) = ids
            .iter()
            .find(|&&id| id as usize >= self.embeddings.word.rows())
        {
            return Err(ModelError::InvalidTokenId {
                id,
                vocab_size: self.embeddings.word.rows(),
            });
        }
        let d = c.hidden_size;
        let mut hidden = Matrix::zeros(n, d); // n x d
        let mut position_row = vec![0.0f32; d];
        for (i, &id) in ids.iter().enumerate() {
            let row = hidden.row_mut(i);
            self.embeddings.word.row_into(id as usize, row);
            self.embeddings.position.row_into(i, &mut position_row);
            axpy(row, 1.0, &position_row);
        }
        layer_norm_in_place(
            &mut hidden,
            &self.embeddings.norm.gamma,
            &self.embeddings.norm.beta,
            c.layer_norm_eps,
        );
        Ok(hidden)
    }

    /// Half `half` (0 or 1) of `job`. Checks the job against the model first: a helper worker
    /// gets its jobs as messages.
    pub fn run_half(&self, job: &Job, half: usize) -> Result<Half, ModelError> {
        let c = &self.config;
        let (layer, input) = match job {
            Job::Attention { layer, input } | Job::FeedForward { layer, input } => (*layer, input),
        };
        if half >= HALVES || layer >= self.layers.len() {
            return Err(ModelError::BadStep(format!("layer {layer}, half {half} of a {}-layer model", self.layers.len())));
        }
        if input.cols() != c.hidden_size || input.rows() == 0 || input.rows() > c.max_position_embeddings {
            return Err(ModelError::BadStep(format!("an input of {} x {}", input.rows(), input.cols())));
        }
        let l = &self.layers[layer];
        Ok(match job {
            Job::Attention { .. } => l.attention_half(input, half, c),
            Job::FeedForward { .. } => Half::FeedForward { projected: l.ffn_half(input, half, c) },
        })
    }
}

/// A layer's work splits in two halves that need nothing from each other until their results are
/// added: half `h` owns heads `h * H / 2 ..` (their rows of W_query, W_key, W_value and their
/// columns of the output projection) and feed-forward units `h * F / 2 ..` (rows of the up
/// projection, columns of the down projection). The app runs the second half in a helper worker on
/// the other core; natively both run here, one after the other. Either way the numbers are the
/// same, because the split is part of the arithmetic, not of the scheduling.
pub const HALVES: usize = 2;

/// One step of a forward pass: what both halves start from.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// Layer `layer`'s attention block, from the layer's input (`n x d`).
    Attention { layer: usize, input: Matrix },
    /// Layer `layer`'s feed-forward block, from the attention block's output (`n x d`).
    FeedForward { layer: usize, input: Matrix },
}

/// What one half of a [`Job`] computed.
#[derive(Debug, Clone, PartialEq)]
pub enum Half {
    /// This half's heads: `n x d/2` queries, keys and values (heads side by side), their `n x n`
    /// attention weights, and their context vectors through their columns of the output
    /// projection (`n x d`, no bias yet).
    Attention { queries: Matrix, keys: Matrix, values: Matrix, attn_weights: Vec<Matrix>, projected: Matrix },
    /// This half's feed-forward units through GELU and their columns of the down projection
    /// (`n x d`, no bias yet).
    FeedForward { projected: Matrix },
}

/// A forward pass in steps: [`ForwardSteps::job`] says what to compute next, both halves go back
/// through [`ForwardSteps::complete`].
#[derive(Debug)]
pub struct ForwardSteps {
    job: Option<Job>,
    layers: Vec<LayerOutput>,
    last_output: bool,
    last_hidden_state: Option<Matrix>,
}

impl ForwardSteps {
    /// The next step, or `None` once the pass is done.
    pub fn job(&self) -> Option<&Job> {
        self.job.as_ref()
    }

    /// Adds up the two halves of the current job (for the model the pass started on) and moves on.
    /// Halves that do not fit the job are refused and the job stays, to be computed again.
    pub fn complete(&mut self, model: &MiniLm, halves: [Half; HALVES]) -> Result<(), ModelError> {
        let c = &model.config;
        let job = self.job.take().ok_or_else(|| ModelError::BadStep("the pass is already done".into()))?;
        let n = match &job {
            Job::Attention { input, .. } | Job::FeedForward { input, .. } => input.rows(),
        };
        let bad = |what: &str| ModelError::BadStep(format!("a half with {what}"));
        let [h0, h1] = halves;
        match (job, h0, h1) {
            (
                Job::Attention { layer, input },
                Half::Attention { queries: q0, keys: k0, values: v0, attn_weights: mut a0, projected: p0 },
                Half::Attention { queries: q1, keys: k1, values: v1, attn_weights: a1, projected: p1 },
            ) => {
                let half_width = c.hidden_size / HALVES;
                let shapes_ok = [&q0, &k0, &v0, &q1, &k1, &v1].iter().all(|m| m.shape() == (n, half_width))
                    && [&p0, &p1].iter().all(|m| m.shape() == (n, c.hidden_size))
                    && a0.len() + a1.len() == c.num_heads
                    && a0.iter().chain(&a1).all(|m| m.shape() == (n, n));
                let Some(l) = model.layers.get(layer).filter(|_| shapes_ok) else {
                    self.job = Some(Job::Attention { layer, input });
                    return Err(bad("the wrong shapes for this attention step"));
                };
                a0.extend(a1);
                // The last layer's block output is only computed when asked for: no attention
                // depends on it.
                let wanted = layer + 1 < model.layers.len() || self.last_output;
                let attn_out = wanted.then(|| add_and_norm(&input, [&p0, &p1], &l.out_proj.bias, &l.attn_norm, c.layer_norm_eps)); // n x d
                self.layers.push(LayerOutput {
                    layer_input: input,
                    queries: side_by_side(&q0, &q1),
                    keys: side_by_side(&k0, &k1),
                    values: side_by_side(&v0, &v1),
                    attn_weights: a0,
                });
                self.job = attn_out.map(|input| Job::FeedForward { layer, input });
            }
            (Job::FeedForward { layer, input }, Half::FeedForward { projected: p0 }, Half::FeedForward { projected: p1 }) => {
                let shapes_ok = [&p0, &p1].iter().all(|m| m.shape() == (n, c.hidden_size));
                let Some(l) = model.layers.get(layer).filter(|_| shapes_ok) else {
                    self.job = Some(Job::FeedForward { layer, input });
                    return Err(bad("the wrong shapes for this feed-forward step"));
                };
                let out = add_and_norm(&input, [&p0, &p1], &l.ffn_down.bias, &l.ffn_norm, c.layer_norm_eps); // n x d
                if layer + 1 < model.layers.len() {
                    self.job = Some(Job::Attention { layer: layer + 1, input: out });
                } else {
                    self.last_hidden_state = Some(out);
                }
            }
            (job, ..) => {
                self.job = Some(job);
                return Err(bad("results of the other kind of step"));
            }
        }
        Ok(())
    }

    /// Everything the pass computed (complete or not).
    pub fn finish(self) -> MiniLmOutput {
        MiniLmOutput { layers: self.layers, last_hidden_state: self.last_hidden_state }
    }
}

/// `a` and `b` (`n x w` each) as one `n x 2w` matrix, `a`'s columns first.
fn side_by_side(a: &Matrix, b: &Matrix) -> Matrix {
    let (n, w) = a.shape();
    let mut out = Matrix::zeros(n, 2 * w);
    for i in 0..n {
        out.row_mut(i)[..w].copy_from_slice(a.row(i));
        out.row_mut(i)[w..].copy_from_slice(b.row(i));
    }
    out
}

/// LayerNorm(`residual` + (`parts[0]` + `parts[1]`) + `bias`): the end of both blocks of a post-LN
/// BERT layer, with the two halves' projections added in a fixed order.
fn add_and_norm(residual: &Matrix, parts: [&Matrix; HALVES], bias: &[f32], norm: &LayerNorm, eps: f32) -> Matrix {
    let mut out = parts[0].clone(); // n x d
    axpy(out.data_mut(), 1.0, parts[1].data());
    for i in 0..out.rows() {
        axpy(out.row_mut(i), 1.0, bias);
    }
    axpy(out.data_mut(), 1.0, residual.data());
    layer_norm_in_place(&mut out, &norm.gamma, &norm.beta, eps);
    out
}

fn matrix_from(
    name: &str,
    values: Vec<f32>,
    kind: &TensorKind,
) -> Result<WeightMatrix, ModelError> {
    let (rows, cols) = match *kind {
        TensorKind::Matrix { rows, cols } => (rows, cols),
        TensorKind::Vector { len } => (1, len),
    };
    let found = vec![values.len()];
    Matrix::from_vec(rows, cols, values)
        .map(WeightMatrix::F32)
        .ok_or_else(|| ModelError::WrongShape {
            name: name.to_owned(),
            expected: kind.shape(),
            found,
        })
}

impl EncoderLayer {
    /// Heads `half * H/2 ..` of this layer on input `x` (`n x d`).
    fn attention_half(&self, x: &Matrix, half: usize, c: &Config) -> Half {
        let n = x.rows();
        let (head_dim, d) = (c.head_dim, c.hidden_size);
        let heads = c.num_heads / HALVES;
        let width = heads * head_dim;
        let cols = half * width..(half + 1) * width; // this half's heads, side by side
        // Q, K and V share their input: quantised once for all three.
        let (wq, wk, wv) = (&self.w_query, &self.w_key, &self.w_value);
        let xq = quantize_for(x, &[&wq.weight, &wk.weight, &wv.weight]);
        let project = |lin: &Linear| matmul_view(x, xq.as_ref(), lin.weight.view(cols.clone(), 0..d), Some(&lin.bias[cols.clone()]));
        // n x width each; head h owns columns h*head_dim..(h+1)*head_dim, which is exactly torch's
        // view(n, heads, head_dim) without the transpose.
        let (queries, keys, values) = (project(wq), project(wk), project(wv));

        let scale = 1.0 / (head_dim as f32).sqrt();
        let mut context_vec = Matrix::zeros(n, width); // n x width, heads concatenated back
        let mut attn_weights = Vec::with_capacity(heads);
        for h in 0..heads {
            // This head's slice of each row, read in place.
            let q_h = Rows::columns(&queries, h * head_dim, head_dim); // n x head_dim
            let k_h = Rows::columns(&keys, h * head_dim, head_dim); // n x head_dim
            // The second product wants V's columns as rows: head_dim x n.
            let v_h_t = values.column_block(h * head_dim, head_dim).transposed();
            let mut weights = Matrix::zeros(n, n); // attn_scores: n_query x n_key
            matmul_rows(q_h, k_h, None, weights.data_mut(), n);
            for i in 0..n {
                let attn_scores = weights.row_mut(i);
                attn_scores.iter_mut().for_each(|s| *s *= scale);
                softmax_in_place(attn_scores);
            }
            // n x head_dim, written straight into this head's columns of context_vec.
            matmul_rows(Rows::all(&weights), Rows::all(&v_h_t), None, &mut context_vec.data_mut()[h * head_dim..], width);
            attn_weights.push(weights);
        }
        // This half's columns of the output projection; the bias is added once, with both halves.
        let cq = quantize_for(&context_vec, &[&self.out_proj.weight]);
        let projected = matmul_view(&context_vec, cq.as_ref(), self.out_proj.weight.view(0..d, cols), None); // n x d
        Half::Attention { queries, keys, values, attn_weights, projected }
    }

    /// Feed-forward units `half * F/2 ..` of this layer on the attention block's output `x`.
    fn ffn_half(&self, x: &Matrix, half: usize, c: &Config) -> Matrix {
        let (d, width) = (c.hidden_size, c.intermediate_size / HALVES);
        let cols = half * width..(half + 1) * width;
        let xq = quantize_for(x, &[&self.ffn_up.weight]);
        let up = self.ffn_up.weight.view(cols.clone(), 0..d);
        let mut ffn_hidden = matmul_view(x, xq.as_ref(), up, Some(&self.ffn_up.bias[cols.clone()])); // n x width
        gelu_in_place(ffn_hidden.data_mut());
        let hq = quantize_for(&ffn_hidden, &[&self.ffn_down.weight]);
        matmul_view(&ffn_hidden, hq.as_ref(), self.ffn_down.weight.view(0..d, cols), None) // n x d, no bias yet
    }
}
