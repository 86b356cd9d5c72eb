//! Weights and the forward pass of the BERT encoder.

use std::collections::HashMap;
use std::ops::Range;

use safetensors::{Dtype, SafeTensors};

use crate::numeric::float_kernels::{
    axpy, gelu_in_place, layer_norm_in_place, matmul_t, matmul_t_quantized, quantize_for, softmax_in_place,
    WeightMatrix,
};
use crate::numeric::quant::{columns_as_tile_rows, matmul_t_tiled, rows_as_tile_rows};
use crate::tokenizer::encoder::EncoderTokenizer;
use crate::tokenizer::wordpiece::WordPiece;
use crate::{Matrix, ModelError};

/// Name under which the position table is kept once token-type embedding 0 has been added to each
/// row: the model is only ever run with token_type_ids = 0, so the sum is all it needs.
pub(crate) const POSITION_AND_TYPE0: &str = "embeddings.position_embeddings.weight+token_type_embeddings.weight[0]";

/// A BERT-style encoder's shape. The loaders check every tensor against it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub num_heads: usize,
    pub head_dim: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub layer_norm_eps: f32,
}

impl Config {
    /// Multiply-adds of [`Bert::forward_attention`] over `n` tokens, as `(matrices, attention)`:
    /// every layer's query, key and value projections, all but the last layer's output projection and
    /// feed-forward block (skipped there), and per layer and head `n x n` scores and weighted values.
    pub fn attention_pass_macs(&self, n: usize) -> (u64, u64) {
        let (h, l, n) = (self.hidden_size as u64, self.num_layers as u64, n as u64);
        let qkv = 3 * h * h;
        let rest = h * h + 2 * h * self.intermediate_size as u64;
        (n * (l * qkv + l.saturating_sub(1) * rest), l * 2 * n * n * h)
    }

    /// Reads Hugging Face's `config.json` of a BERT-style encoder (`model_type` bert, roberta or
    /// distilbert; GELU) and says which.
    pub fn from_hf_json(text: &str) -> Result<(Config, EncoderFamily), ModelError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ModelError::Metadata(format!("config.json is not JSON: {e}")))?;
        let model_type = v.get("model_type").and_then(|t| t.as_str()).unwrap_or("");
        if model_type == "distilbert" {
            return Config::distilbert_from_hf(&v);
        }
        let family = match model_type {
            "roberta" => {
                // RoBERTa numbers positions from padding_idx + 1.
                let pad = v.get("pad_token_id").and_then(|x| x.as_u64()).unwrap_or(1) as usize;
                EncoderFamily::Roberta { position_offset: pad + 1 }
            }
            _ => EncoderFamily::Bert,
        };
        if model_type != "bert" && model_type != "roberta" {
            return Err(ModelError::Metadata(format!(
                "config.json: model_type '{model_type}' has no encoder here (encoders: bert; decoders from GGUF: {})",
                crate::arch::llama::ARCHITECTURES.join(", ")
            )));
        }
        let int = |key: &str| crate::arch::config_int(&v, key);
        let act = v.get("hidden_act").and_then(|t| t.as_str()).unwrap_or("gelu");
        if act != "gelu" {
            return Err(ModelError::Metadata(format!("config.json: hidden_act '{act}' is not supported (gelu is)")));
        }
        let (hidden_size, num_heads) = (int("hidden_size")?, int("num_attention_heads")?);
        if hidden_size % num_heads != 0 {
            return Err(ModelError::Metadata(format!(
                "config.json: hidden_size {hidden_size} is not a multiple of {num_heads} heads"
            )));
        }
        let eps = v.get("layer_norm_eps").and_then(|x| x.as_f64()).unwrap_or(1e-12) as f32;
        let config = Config {
            vocab_size: int("vocab_size")?,
            hidden_size,
            num_layers: int("num_hidden_layers")?,
            num_heads,
            head_dim: hidden_size / num_heads,
            intermediate_size: int("intermediate_size")?,
            max_position_embeddings: int("max_position_embeddings")?,
            layer_norm_eps: eps,
        };
        Ok((config, family))
    }

    /// DistilBERT's `config.json` (`dim`, `n_layers`, `n_heads`, `hidden_dim`).
    fn distilbert_from_hf(v: &serde_json::Value) -> Result<(Config, EncoderFamily), ModelError> {
        let int = |key: &str| crate::arch::config_int(v, key);
        let act = v.get("activation").and_then(|t| t.as_str()).unwrap_or("gelu");
        if act != "gelu" {
            return Err(ModelError::Metadata(format!("config.json: activation '{act}' is not supported (gelu is)")));
        }
        let (hidden_size, num_heads) = (int("dim")?, int("n_heads")?);
        if hidden_size % num_heads != 0 {
            return Err(ModelError::Metadata(format!(
                "config.json: dim {hidden_size} is not a multiple of {num_heads} heads"
            )));
        }
        let config = Config {
            vocab_size: int("vocab_size")?,
            hidden_size,
            num_layers: int("n_layers")?,
            num_heads,
            head_dim: hidden_size / num_heads,
            intermediate_size: int("hidden_dim")?,
            max_position_embeddings: int("max_position_embeddings")?,
            layer_norm_eps: 1e-12,
        };
        Ok((config, EncoderFamily::DistilBert))
    }
}

/// Which BERT-style encoder a Hugging Face folder holds: they differ in tensor names, positions and token
/// types, not in the computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderFamily {
    Bert,
    /// Positions start at `position_offset` (padding_idx + 1); `roberta.` names.
    Roberta {
        position_offset: usize,
    },
    /// `distilbert.` / `transformer.layer.N` names, no token types.
    DistilBert,
}

impl EncoderFamily {
    /// The names a BERT tensor name may have in this family's files, most likely first.
    fn names(self, bert: &str) -> Vec<String> {
        match self {
            EncoderFamily::Bert => vec![bert.to_string(), format!("bert.{bert}")],
            EncoderFamily::Roberta { .. } => vec![bert.to_string(), format!("roberta.{bert}")],
            EncoderFamily::DistilBert => {
                let name = distilbert_name(bert);
                vec![format!("distilbert.{name}"), name]
            }
        }
    }
}

/// A BERT tensor name in DistilBERT's terms.
fn distilbert_name(bert: &str) -> String {
    let Some(rest) = bert.strip_prefix("encoder.layer.") else { return bert.to_string() };
    let Some((layer, part)) = rest.split_once('.') else { return bert.to_string() };
    let part = [
        ("attention.self.query.", "attention.q_lin."),
        ("attention.self.key.", "attention.k_lin."),
        ("attention.self.value.", "attention.v_lin."),
        ("attention.output.dense.", "attention.out_lin."),
        ("attention.output.LayerNorm.", "sa_layer_norm."),
        ("intermediate.dense.", "ffn.lin1."),
        ("output.dense.", "ffn.lin2."),
        ("output.LayerNorm.", "output_layer_norm."),
    ]
    .iter()
    .find_map(|(from, to)| part.strip_prefix(from).map(|kind| format!("{to}{kind}")))
    .unwrap_or_else(|| part.to_string());
    format!("transformer.layer.{layer}.{part}")
}

/// How the big weight matrices are held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightFormat {
    /// Full f32, as loaded from `model.safetensors`.
    F32,
    /// Quantised integers with a step per row (held as i16), as loaded from the browser bundle.
    Quantized,
}

/// What [`Bert::forward`] computed inside one encoder layer (the same record as a decoder's).
pub type LayerOutput = crate::arch::LayerTrace;

/// Everything [`Bert::forward`] exposes for one input.
#[derive(Debug, Clone, PartialEq)]
pub struct BertOutput {
    /// One entry per encoder layer, in order.
    pub layers: Vec<LayerOutput>,
    /// `n x 384`: output of the last layer (Hugging Face's `last_hidden_state`); `None` from
    /// [`Bert::forward_attention`], which stops before the last layer's output.
    pub last_hidden_state: Option<Matrix>,
}

impl BertOutput {
    pub fn num_tokens(&self) -> usize {
        self.layers.first().map_or(0, |l| l.layer_input.rows())
    }

    /// Attention weights of `layer`, `head` (`n x n`, row = query). Panics if out of range.
    pub fn attention(&self, layer: usize, head: usize) -> &Matrix {
        &self.layers[layer].attn_weights[head]
    }

    /// The outputs of [`RowPass`]es over consecutive rows, in order, as one pass over all of them;
    /// an error if they do not fit together (different layer counts or widths).
    pub fn stack(parts: Vec<BertOutput>) -> Result<BertOutput, ModelError> {
        let mut parts = parts.into_iter();
        let Some(mut out) = parts.next() else {
            return Err(ModelError::BadPart("no parts".into()));
        };
        for part in parts {
            let bad = |what: &str| ModelError::BadPart(format!("parts with different {what}"));
            if part.layers.len() != out.layers.len()
                || part.last_hidden_state.is_some() != out.last_hidden_state.is_some()
            {
                return Err(bad("numbers of layers"));
            }
            for (a, b) in out.layers.iter_mut().zip(part.layers) {
                if a.attn_weights.len() != b.attn_weights.len() {
                    return Err(bad("numbers of heads"));
                }
                for (m, more) in [
                    (&mut a.layer_input, b.layer_input),
                    (&mut a.queries, b.queries),
                    (&mut a.keys, b.keys),
                    (&mut a.values, b.values),
                ] {
                    m.append_rows(more).ok_or_else(|| bad("widths"))?;
                }
                for (m, more) in a.attn_weights.iter_mut().zip(b.attn_weights) {
                    m.append_rows(more).ok_or_else(|| bad("token counts"))?;
                }
            }
            if let (Some(m), Some(more)) = (&mut out.last_hidden_state, part.last_hidden_state) {
                m.append_rows(more).ok_or_else(|| bad("widths"))?;
            }
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Linear {
    pub(crate) weight: WeightMatrix,
    pub(crate) bias: Vec<f32>,
}

impl Linear {
    fn forward(&self, x: &Matrix) -> Matrix {
        matmul_t(x, &self.weight, &self.bias)
    }
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
pub struct Bert {
    config: Config,
    tokenizer: EncoderTokenizer,
    family: EncoderFamily,
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

/// A loaded tensor on its way into a [`Bert`].
pub(crate) enum Loaded {
    Matrix(WeightMatrix),
    Vector(Vec<f32>),
}

/// A borrowed tensor of a [`Bert`], for writing it out.
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
        ("embeddings.word_embeddings.weight".to_owned(), m(c.vocab_size, d)),
        (POSITION_AND_TYPE0.to_owned(), m(c.max_position_embeddings, d)),
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
        Ok(Linear { weight: self.matrix(&format!("{prefix}.weight"))?, bias: self.vector(&format!("{prefix}.bias"))? })
    }

    fn norm(&mut self, prefix: &str) -> Result<LayerNorm, ModelError> {
        Ok(LayerNorm {
            gamma: self.vector(&format!("{prefix}.weight"))?,
            beta: self.vector(&format!("{prefix}.bias"))?,
        })
    }
}

/// Reads a tensor as f32 (stored as F32, F16 or BF16), rejecting a wrong dtype, shape or non-finite values.
/// Checkpoints saved from a task model (`BertForMaskedLM`, ...) name the encoder's tensors `bert.*`;
/// both spellings are accepted.
fn f32_tensor(
    st: &SafeTensors<'_>,
    family: EncoderFamily,
    name: &str,
    shape: &[usize],
) -> Result<Vec<f32>, ModelError> {
    let view = family
        .names(name)
        .iter()
        .find_map(|n| st.tensor(n).ok())
        .ok_or_else(|| ModelError::MissingTensor(name.to_owned()))?;
    if view.shape() != shape {
        return Err(ModelError::WrongShape {
            name: name.to_owned(),
            expected: shape.to_vec(),
            found: view.shape().to_vec(),
        });
    }
    let half = |f: fn(u16) -> f32| -> Vec<f32> {
        view.data().chunks_exact(2).map(|b| f(u16::from_le_bytes([b[0], b[1]]))).collect()
    };
    let values: Vec<f32> = match view.dtype() {
        Dtype::F32 => view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        Dtype::F16 => half(crate::numeric::half::f16_to_f32),
        Dtype::BF16 => half(crate::numeric::half::bf16_to_f32),
        other => {
            return Err(ModelError::WrongDtype {
                name: name.to_owned(),
                expected: "F32, F16 or BF16",
                found: format!("{other:?}"),
            })
        }
    };
    // safetensors already checked data length against shape; re-check so a bug there cannot
    // turn into an out-of-bounds panic later.
    if values.len() != shape.iter().product::<usize>() {
        return Err(ModelError::SafeTensors(format!("tensor `{name}` has the wrong number of bytes")));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(ModelError::NonFinite(name.to_owned()));
    }
    Ok(values)
}

impl Bert {
    /// Loads all-MiniLM-L6-v2 from Hugging Face's `model.safetensors` (BertModel, the pooler is
    /// ignored) and the text of `vocab.txt`. Every tensor's presence, dtype and shape is checked.
    pub fn from_safetensors(bytes: &[u8], vocab_txt: &str) -> Result<Bert, ModelError> {
        let tokenizer = EncoderTokenizer::WordPiece(WordPiece::from_vocab(vocab_txt)?);
        Bert::from_safetensors_with(Config::MINILM_L6_V2, EncoderFamily::Bert, bytes, tokenizer)
    }

    /// Loads a BERT-style encoder of a Hugging Face folder: the text of `config.json`, the bytes of
    /// `model.safetensors` (F32, F16 or BF16) and its tokenizer.
    pub fn from_hf(config_json: &str, safetensors: &[u8], tokenizer: EncoderTokenizer) -> Result<Bert, ModelError> {
        let (config, family) = Config::from_hf_json(config_json)?;
        Bert::from_safetensors_with(config, family, safetensors, tokenizer)
    }

    fn from_safetensors_with(
        mut config: Config,
        family: EncoderFamily,
        bytes: &[u8],
        tokenizer: EncoderTokenizer,
    ) -> Result<Bert, ModelError> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| ModelError::SafeTensors(e.to_string()))?;
        let d = config.hidden_size;
        // The table's rows the model uses: RoBERTa's start at padding_idx + 1.
        let offset = match family {
            EncoderFamily::Roberta { position_offset } => position_offset,
            _ => 0,
        };
        let stored_positions = config.max_position_embeddings;
        if offset >= stored_positions {
            return Err(ModelError::Metadata(format!("{stored_positions} positions, but they start at {offset}")));
        }
        config.max_position_embeddings = stored_positions - offset;
        let mut loaded = HashMap::new();
        for (name, kind) in tensor_layout(&config) {
            let tensor = if name == POSITION_AND_TYPE0 {
                let all = f32_tensor(&st, family, "embeddings.position_embeddings.weight", &[stored_positions, d])?;
                let mut pos = all[offset * d..].to_vec();
                // Token type 0's row, the one every input here has (DistilBERT has no token types).
                if family != EncoderFamily::DistilBert {
                    let shape = family
                        .names("embeddings.token_type_embeddings.weight")
                        .iter()
                        .find_map(|n| st.tensor(n).ok())
                        .map(|t| t.shape().to_vec())
                        .unwrap_or_default();
                    let type_rows = shape.first().copied().unwrap_or(2).max(1);
                    let types = f32_tensor(&st, family, "embeddings.token_type_embeddings.weight", &[type_rows, d])?;
                    for row in pos.chunks_exact_mut(d) {
                        for (p, t) in row.iter_mut().zip(&types[..d]) {
                            *p += t;
                        }
                    }
                }
                Loaded::Matrix(matrix_from(&name, pos, &kind)?)
            } else {
                let values = f32_tensor(&st, family, &name, &kind.shape())?;
                match kind {
                    TensorKind::Matrix { .. } => Loaded::Matrix(matrix_from(&name, values, &kind)?),
                    TensorKind::Vector { .. } => Loaded::Vector(values),
                }
            };
            loaded.insert(name, tensor);
        }
        Ok(Bert { family, ..Bert::assemble(config, tokenizer, loaded)? })
    }

    /// `bert`, `roberta` or `distilbert`.
    pub fn architecture(&self) -> &'static str {
        match self.family {
            EncoderFamily::Bert => "bert",
            EncoderFamily::Roberta { .. } => "roberta",
            EncoderFamily::DistilBert => "distilbert",
        }
    }

    /// Loads a BERT encoder from a GGUF file as llama.cpp's converter writes it (arch `bert`, tokenizer
    /// `bert`: WordPiece tokens with '▁' before word starts and no `##`). Quantised matrices are decoded
    /// to f32 once.
    pub fn from_gguf(bytes: &[u8]) -> Result<Bert, ModelError> {
        use crate::numeric::quant::{dequantize_row, row_bytes};
        use crate::source::gguf::Gguf;
        let g = Gguf::parse(bytes)?;
        let arch = g.get("general.architecture").and_then(|v| v.as_str()).unwrap_or("");
        if arch != "bert" {
            return Err(ModelError::Metadata(format!("architecture '{arch}' is not a BERT encoder")));
        }
        let tokenizer_model = g.get("tokenizer.ggml.model").and_then(|v| v.as_str()).unwrap_or("");
        if tokenizer_model != "bert" {
            return Err(ModelError::Metadata(format!(
                "a BERT GGUF with tokenizer '{tokenizer_model}'; WordPiece ('bert') is supported"
            )));
        }
        let int = |key: &str| -> Result<usize, ModelError> {
            g.get(&format!("bert.{key}"))
                .and_then(|v| v.as_u64())
                .and_then(|v| usize::try_from(v).ok())
                .filter(|&v| v > 0 && v <= 1 << 24)
                .ok_or_else(|| ModelError::Metadata(format!("missing or bad 'bert.{key}'")))
        };
        // The vocabulary back in vocab.txt's spelling: '▁x' starts a word ("x"), a bare piece continues one
        // ("##x"), "[...]" are specials.
        let tokens = g
            .get("tokenizer.ggml.tokens")
            .and_then(|v| v.as_array())
            .ok_or_else(|| ModelError::Metadata("missing 'tokenizer.ggml.tokens'".into()))?;
        let mut vocab_txt = String::new();
        for t in tokens {
            let t = t.as_str().ok_or_else(|| ModelError::Metadata("a token that is not text".into()))?;
            match t.strip_prefix('\u{2581}') {
                Some(word) => vocab_txt.push_str(word),
                None if t.starts_with('[') && t.ends_with(']') => vocab_txt.push_str(t),
                None => {
                    vocab_txt.push_str("##");
                    vocab_txt.push_str(t);
                }
            }
            vocab_txt.push('\n');
        }
        let (hidden_size, num_heads) = (int("embedding_length")?, int("attention.head_count")?);
        if hidden_size % num_heads != 0 {
            return Err(ModelError::Metadata(format!("width {hidden_size} is not a multiple of {num_heads} heads")));
        }
        let config = Config {
            vocab_size: tokens.len(),
            hidden_size,
            num_layers: int("block_count")?,
            num_heads,
            head_dim: hidden_size / num_heads,
            intermediate_size: int("feed_forward_length")?,
            max_position_embeddings: int("context_length")?,
            layer_norm_eps: g.get("bert.attention.layer_norm_epsilon").and_then(|v| v.as_f64()).unwrap_or(1e-12) as f32,
        };
        // GGUF name of each tensor this loader keeps.
        let gguf_name = |bert: &str| -> String {
            let fixed = match bert {
                "embeddings.word_embeddings.weight" => Some("token_embd.weight"),
                "embeddings.LayerNorm.weight" => Some("token_embd_norm.weight"),
                "embeddings.LayerNorm.bias" => Some("token_embd_norm.bias"),
                _ => None,
            };
            if let Some(f) = fixed {
                return f.to_string();
            }
            let Some((layer, rest)) = bert.strip_prefix("encoder.layer.").and_then(|r| r.split_once('.')) else {
                return bert.to_string();
            };
            let (module, kind) = rest.rsplit_once('.').unwrap_or((rest, ""));
            let m = match module {
                "attention.self.query" => "attn_q",
                "attention.self.key" => "attn_k",
                "attention.self.value" => "attn_v",
                "attention.output.dense" => "attn_output",
                "attention.output.LayerNorm" => "attn_output_norm",
                "intermediate.dense" => "ffn_up",
                "output.dense" => "ffn_down",
                "output.LayerNorm" => "layer_output_norm",
                other => other,
            };
            format!("blk.{layer}.{m}.{kind}")
        };
        let read = |name: &str, rows: usize, cols: usize| -> Result<Vec<f32>, ModelError> {
            let t = g.tensor(name).ok_or_else(|| ModelError::MissingTensor(name.to_string()))?;
            let dims_ok = if rows == 1 { t.dims == [cols as u64] } else { t.dims == [cols as u64, rows as u64] };
            if !dims_ok || !t.ggml_type.has_kernel() {
                return Err(ModelError::BadTensor {
                    name: name.into(),
                    reason: format!("{:?} of {}, expected {rows} x {cols}", t.dims, t.ggml_type.name()),
                });
            }
            let rb = row_bytes(t.ggml_type, cols).ok_or_else(|| ModelError::BadTensor {
                name: name.into(),
                reason: "rows are not whole blocks".into(),
            })?;
            let mut out = vec![0.0; rows * cols];
            for (r, row) in out.chunks_exact_mut(cols).enumerate() {
                dequantize_row(t.ggml_type, &bytes[t.start + r * rb..t.start + (r + 1) * rb], row);
            }
            if out.iter().any(|v| !v.is_finite()) {
                return Err(ModelError::NonFinite(name.to_string()));
            }
            Ok(out)
        };
        let d = config.hidden_size;
        let mut loaded = HashMap::new();
        for (name, kind) in tensor_layout(&config) {
            let (rows, cols) = match kind {
                TensorKind::Matrix { rows, cols } => (rows, cols),
                TensorKind::Vector { len } => (1, len),
            };
            let tensor = if name == POSITION_AND_TYPE0 {
                let mut pos = read("position_embd.weight", config.max_position_embeddings, d)?;
                let type_rows =
                    g.tensor("token_types.weight").and_then(|t| t.dims.get(1).copied()).unwrap_or(2) as usize;
                let types = read("token_types.weight", type_rows.max(1), d)?;
                for row in pos.chunks_exact_mut(d) {
                    for (p, t) in row.iter_mut().zip(&types[..d]) {
                        *p += t;
                    }
                }
                Loaded::Matrix(matrix_from(&name, pos, &kind)?)
            } else {
                let values = read(&gguf_name(&name), rows, cols)?;
                match kind {
                    TensorKind::Matrix { .. } => Loaded::Matrix(matrix_from(&name, values, &kind)?),
                    TensorKind::Vector { .. } => Loaded::Vector(values),
                }
            };
            loaded.insert(name, tensor);
        }
        let tokenizer = EncoderTokenizer::WordPiece(WordPiece::from_vocab(&vocab_txt)?);
        Bert::assemble(config, tokenizer, loaded)
    }

    /// Number of weights the encoder uses (embeddings, every layer; the pooler and token types other
    /// than 0 are not used and not counted).
    pub fn parameter_count(&self) -> u64 {
        let tensors = tensor_layout(&self.config);
        // The folded position table is positions plus the one token-type row the model runs with.
        let folded: u64 = tensors.iter().map(|(_, k)| k.shape().iter().product::<usize>() as u64).sum();
        folded + self.config.hidden_size as u64
    }

    /// Builds the model from tensors named as in [`tensor_layout`] (shapes already validated).
    pub(crate) fn assemble(
        config: Config,
        tokenizer: EncoderTokenizer,
        loaded: HashMap<String, Loaded>,
    ) -> Result<Bert, ModelError> {
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
        Ok(Bert { config, tokenizer, family: EncoderFamily::Bert, embeddings, layers })
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
            for lin in [&layer.w_query, &layer.w_key, &layer.w_value, &layer.out_proj] {
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

    pub fn tokenizer(&self) -> &EncoderTokenizer {
        &self.tokenizer
    }

    /// Whether the weights are full f32 (safetensors) or int8 (bundle).
    pub fn weight_format(&self) -> WeightFormat {
        match self.embeddings.word {
            WeightMatrix::F32(_) => WeightFormat::F32,
            WeightMatrix::Quantized { .. } => WeightFormat::Quantized,
        }
    }

    /// The attention output projection (`attention.output.dense`) of `layer` in f32, torch layout
    /// `(hidden, hidden)` as `(rows, cols, row-major data)`; `None` past the last layer.
    pub fn out_proj(&self, layer: usize) -> Option<(usize, usize, Vec<f32>)> {
        let w = self.layers.get(layer)?.out_proj.weight.to_f32();
        Some((w.rows(), w.cols(), w.data().to_vec()))
    }

    /// Runs the encoder on `ids` (as from [`WordPiece::encode`], `[CLS]`/`[SEP]` included, token
    /// type 0, no padding) and returns every layer's intermediate values.
    pub fn forward(&self, ids: &[u32]) -> Result<BertOutput, ModelError> {
        self.run(ids, true)
    }

    /// Like [`Bert::forward`] but stops once the last layer's attention is known: that layer's
    /// output projection and feed-forward block, which no attention weight depends on, are
    /// skipped (an eighth of the work). `last_hidden_state` is `None`.
    pub fn forward_attention(&self, ids: &[u32]) -> Result<BertOutput, ModelError> {
        self.run(ids, false)
    }

    fn run(&self, ids: &[u32], last_output: bool) -> Result<BertOutput, ModelError> {
        let mut pass = self.row_pass(ids, 0..ids.len(), last_output)?;
        while pass.layer().is_some() {
            let (keys, values) = pass.keys_values(self)?;
            pass.finish_layer(self, &keys, &values)?;
        }
        Ok(pass.finish())
    }

    /// A forward pass over the tokens `rows` of `ids` only (all of `ids` are checked). Each token's
    /// row needs nothing from the others except, in attention, every token's keys and values: the
    /// caller gets this part's with [`RowPass::keys_values`] and hands all of them back to
    /// [`RowPass::finish_layer`]. Two parts can so run on two cores (the app's helper worker), one
    /// exchange per layer, and give exactly what one pass over all rows gives: every number of a
    /// row is computed the same way whatever the other rows are.
    pub fn row_pass(&self, ids: &[u32], rows: Range<usize>, last_output: bool) -> Result<RowPass, ModelError> {
        let c = &self.config;
        let n = ids.len();
        if n == 0 {
            return Err(ModelError::EmptyInput);
        }
        if n > c.max_position_embeddings {
            return Err(ModelError::TooLong { tokens: n, max: c.max_position_embeddings });
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.embeddings.word.rows()) {
            return Err(ModelError::InvalidTokenId { id, vocab_size: self.embeddings.word.rows() });
        }
        if rows.is_empty() || rows.end > n {
            return Err(ModelError::BadPart(format!("rows {rows:?} of {n} tokens")));
        }
        let d = c.hidden_size;
        let mut hidden = Matrix::zeros(rows.len(), d); // rows x d
        let mut position_row = vec![0.0f32; d];
        for (r, i) in rows.clone().enumerate() {
            let row = hidden.row_mut(r);
            self.embeddings.word.row_into(ids[i] as usize, row);
            self.embeddings.position.row_into(i, &mut position_row);
            axpy(row, 1.0, &position_row);
        }
        layer_norm_in_place(&mut hidden, &self.embeddings.norm.gamma, &self.embeddings.norm.beta, c.layer_norm_eps);
        Ok(RowPass {
            rows,
            n,
            hidden: Some(hidden),
            qkv: None,
            layers: Vec::with_capacity(self.layers.len()),
            last_output,
            last_hidden: None,
        })
    }
}

/// A forward pass over some tokens' rows, a layer at a time (see [`Bert::row_pass`]).
#[derive(Debug)]
pub struct RowPass {
    rows: Range<usize>,
    /// Tokens in the whole input.
    n: usize,
    /// `rows x d`: this part's rows of the current layer's input; `None` once done.
    hidden: Option<Matrix>,
    /// This layer's queries, keys and values of these rows, between the two calls of a layer.
    qkv: Option<(Matrix, Matrix, Matrix)>,
    layers: Vec<LayerOutput>,
    last_output: bool,
    /// `rows x d`: the last layer's output, when asked for.
    last_hidden: Option<Matrix>,
}

impl RowPass {
    /// The tokens this part computes.
    pub fn rows(&self) -> Range<usize> {
        self.rows.clone()
    }

    /// The layer the pass is in; `None` once it is done.
    pub fn layer(&self) -> Option<usize> {
        self.hidden.as_ref().map(|_| self.layers.len())
    }

    /// This part's keys and values of the current layer (`rows x d` each; its queries are kept).
    pub fn keys_values(&mut self, model: &Bert) -> Result<(Matrix, Matrix), ModelError> {
        let layer = self.layer().and_then(|l| model.layers.get(l));
        let (Some(layer), Some(x)) = (layer, &self.hidden) else {
            return Err(ModelError::BadPart("the pass is done, or not of this model".into()));
        };
        let (queries, keys, values) = layer.qkv(x);
        self.qkv = Some((queries, keys.clone(), values.clone()));
        Ok((keys, values))
    }

    /// Finishes the current layer with every token's keys and values (`n x d` each, in token order,
    /// this part's own among them).
    pub fn finish_layer(&mut self, model: &Bert, keys: &Matrix, values: &Matrix) -> Result<(), ModelError> {
        let c = &model.config;
        let layer_index = self.layers.len();
        let layer = model.layers.get(layer_index);
        let shape = (self.n, c.hidden_size);
        if keys.shape() != shape || values.shape() != shape {
            return Err(ModelError::BadPart(format!(
                "keys {:?} and values {:?} for {} tokens",
                keys.shape(),
                values.shape(),
                self.n
            )));
        }
        // Checked before anything is taken: a refused call leaves the pass as it was.
        let (Some(layer), true, true) = (layer, self.hidden.is_some(), self.qkv.is_some()) else {
            return Err(ModelError::BadPart("finish_layer before keys_values".into()));
        };
        let (Some(x), Some((queries, own_keys, own_values))) = (self.hidden.take(), self.qkv.take()) else {
            return Err(ModelError::BadPart("finish_layer before keys_values".into()));
        };
        let last = layer_index + 1 == model.layers.len();
        let (attn_weights, next) = layer.attend(&x, &queries, keys, values, c, !last || self.last_output);
        self.layers.push(LayerOutput { layer_input: x, queries, keys: own_keys, values: own_values, attn_weights });
        if last {
            self.last_hidden = next;
        } else {
            self.hidden = next;
        }
        Ok(())
    }

    /// What the pass computed for its rows (see [`BertOutput::stack`] to put parts together).
    pub fn finish(self) -> BertOutput {
        BertOutput { layers: self.layers, last_hidden_state: self.last_hidden }
    }
}

fn matrix_from(name: &str, values: Vec<f32>, kind: &TensorKind) -> Result<WeightMatrix, ModelError> {
    let (rows, cols) = match *kind {
        TensorKind::Matrix { rows, cols } => (rows, cols),
        TensorKind::Vector { len } => (1, len),
    };
    let found = vec![values.len()];
    Matrix::from_vec(rows, cols, values).map(WeightMatrix::F32).ok_or_else(|| ModelError::WrongShape {
        name: name.to_owned(),
        expected: kind.shape(),
        found,
    })
}

impl EncoderLayer {
    /// Queries, keys and values of the rows `x` (`rows x d` each). All heads at once: head h owns
    /// columns h*head_dim..(h+1)*head_dim, which is exactly torch's view(n, num_heads, head_dim)
    /// without the transpose.
    fn qkv(&self, x: &Matrix) -> (Matrix, Matrix, Matrix) {
        // Q, K and V share their input: quantised once for all three.
        let xq = quantize_for(x, &[&self.w_query.weight, &self.w_key.weight, &self.w_value.weight]);
        let queries = matmul_t_quantized(x, xq.as_ref(), &self.w_query.weight, &self.w_query.bias);
        let keys = matmul_t_quantized(x, xq.as_ref(), &self.w_key.weight, &self.w_key.bias);
        let values = matmul_t_quantized(x, xq.as_ref(), &self.w_value.weight, &self.w_value.bias);
        (queries, keys, values)
    }

    /// The rest of this post-LayerNorm BERT layer for the rows `x` with their `queries`, given every
    /// token's `keys` and `values` (`n x d`): each head's attention weights of these query rows
    /// (`rows x n`) and, if `output`, these rows of the next hidden state (without it, the work
    /// stops once the attention weights are known).
    fn attend(
        &self,
        x: &Matrix,
        queries: &Matrix,
        keys: &Matrix,
        values: &Matrix,
        c: &Config,
        output: bool,
    ) -> (Vec<Matrix>, Option<Matrix>) {
        let (rows, n, head_dim, d) = (x.rows(), keys.rows(), c.head_dim, c.hidden_size);
        let scale = 1.0 / (head_dim as f32).sqrt();
        let mut context_vec = Matrix::zeros(rows, d); // rows x d, heads concatenated back
        let mut attn_weights = Vec::with_capacity(c.num_heads);
        for h in 0..c.num_heads {
            // attn_scores[i][j] = q_i . k_j: this head's queries (rows x head_dim) against its keys as
            // the tiles' rows.
            let q_h = queries.column_block(h * head_dim, head_dim);
            let head_keys = rows_as_tile_rows(keys.data(), d, h * head_dim, head_dim);
            let mut weights = Matrix::zeros(rows, n); // attn_scores: query rows x n_key
            matmul_t_tiled(&q_h, n, head_keys, weights.data_mut(), n);
            for i in 0..rows {
                let attn_scores = weights.row_mut(i);
                attn_scores.iter_mut().for_each(|s| *s *= scale);
                softmax_in_place(attn_scores);
            }
            // context_vec[i][e] = sum_j attn_weights[i][j] * v_j[e], with the value columns as the
            // tiles' rows (tile row t of key j is v_j[e0 + t]): rows x head_dim, written straight
            // into this head's columns of context_vec.
            let head_values = columns_as_tile_rows(values.data(), d, h * head_dim, n);
            matmul_t_tiled(&weights, head_dim, head_values, &mut context_vec.data_mut()[h * head_dim..], d);
            attn_weights.push(weights);
        }
        if !output {
            return (attn_weights, None);
        }
        let mut attn_out = self.out_proj.forward(&context_vec); // rows x d
        axpy(attn_out.data_mut(), 1.0, x.data());
        layer_norm_in_place(&mut attn_out, &self.attn_norm.gamma, &self.attn_norm.beta, c.layer_norm_eps);

        let mut ffn_hidden = self.ffn_up.forward(&attn_out); // rows x intermediate
        gelu_in_place(ffn_hidden.data_mut());
        let mut out = self.ffn_down.forward(&ffn_hidden); // rows x d
        axpy(out.data_mut(), 1.0, attn_out.data());
        layer_norm_in_place(&mut out, &self.ffn_norm.gamma, &self.ffn_norm.beta, c.layer_norm_eps);
        (attn_weights, Some(out))
    }
}
