//! The Llama-family decoder (llama, mistral, qwen2, qwen3) over GGUF weights, quantised or not.
//!
//! Per layer (pre-norm decoder block):
//! ```text
//! x -> RMSNorm -> W_query, W_key, W_value (+ bias: qwen2) -> [per-head RMSNorm on q, k: qwen3]
//!   -> RoPE(q, k) -> causal grouped-query attention -> W_out -> + x
//!   -> RMSNorm -> W_down(silu(W_gate x) * W_up x) -> + x
//! ```
//! then a final RMSNorm and logits against `output.weight` (or the tied token embedding).
//! The shape comes from the file's metadata ([`LlamaConfig`]); nothing is assumed about sizes.

pub use crate::arch::LayerTrace;
use crate::numeric::float_kernels::{layer_norm_in_place, softmax_in_place};
use crate::numeric::quant::{self, dequantize_row, matmul_t, matmul_t_rows, QMatrix};
use crate::source::gguf::{GgmlType, Gguf};
use crate::source::safetensors::SafetensorsDir;
use crate::source::Tensors;
use crate::tokenizer::bpe::{Encoding, PreTokenizer, Tokenizer};
use crate::{Matrix, ModelError};
use std::ops::Range;

/// The GGUF architectures this decoder runs (`general.architecture`).
pub const ARCHITECTURES: [&str; 6] = ["llama", "mistral", "qwen2", "qwen3", "gemma3", "gpt2"];

/// Which kind of decoder block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// RMSNorm, RoPE, SwiGLU, no biases but where the switches say (llama, mistral, qwen2, qwen3).
    Llama,
    /// GPT-2: LayerNorm with biases, learned positions, fused QKV, GELU (tanh) MLP, biases everywhere; the
    /// model the book builds in chapters 4 and 5.
    Gpt2,
    /// Gemma 3: embeddings scaled by sqrt(hidden), four norms a block (after attention and after the FFN
    /// too), per-head q/k norm, GELU-tanh gated FFN, sliding-window layers with their own RoPE base.
    Gemma3,
}

/// Gemma 3's extra switches.
#[derive(Debug, Clone, PartialEq)]
pub struct Gemma {
    /// Keys a sliding-window layer sees: `i - window < j <= i`.
    pub sliding_window: usize,
    /// Which layers use the sliding window (the others see every earlier token).
    pub sliding: Vec<bool>,
    /// RoPE base of the sliding-window layers (the global layers use `rope_base`).
    pub rope_base_local: f32,
    /// Linear RoPE scaling of the global layers (positions divided by it).
    pub global_rope_scale: f32,
    /// Attention scores are scaled by this (1/sqrt(query_pre_attn_scalar)).
    pub attn_scale: f32,
}

/// Which dimensions RoPE rotates together inside a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent pairs (2i, 2i + 1): llama.cpp's converter permutes llama's W_query/W_key rows so that
    /// HF's rotate_half pairs sit side by side.
    Adjacent,
    /// Pairs (i, i + head_dim / 2), HF's rotate_half as is (qwen2, qwen3: rows not permuted).
    Halves,
}

/// A decoder's shape and switches, read from GGUF metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    /// `general.architecture`, one of [`ARCHITECTURES`].
    pub arch: String,
    /// `general.name` if the file has one.
    pub name: Option<String>,
    pub num_layers: usize,
    /// Width of the residual stream (d_model).
    pub hidden: usize,
    pub num_heads: usize,
    /// Key/value heads; query head `h` reads KV head `h / (num_heads / num_kv_heads)`.
    pub num_kv_heads: usize,
    pub head_dim: usize,
    /// Inner width of the SwiGLU feed-forward block.
    pub ffn_dim: usize,
    pub vocab_size: usize,
    /// The context the model was trained for: the longest input `forward` accepts.
    pub max_positions: usize,
    pub rope_base: f32,
    pub rms_eps: f32,
    pub rope_style: RopeStyle,
    /// Llama 3.1's RoPE scaling: each frequency divided by its factor (GGUF `rope_freqs.weight`, or
    /// computed from `config.json`'s `rope_scaling` of type llama3).
    pub rope_factors: Option<Vec<f32>>,
    /// Biases on W_query, W_key, W_value (qwen2).
    pub qkv_bias: bool,
    /// Per-head RMSNorm of queries and keys before RoPE (qwen3).
    pub qk_norm: bool,
    pub family: Family,
    /// Gemma 3's switches (`family == Gemma3`).
    pub gemma: Option<Gemma>,
}

/// A Hugging Face GPT-2 parameter name in GGUF's terms, and whether it is a Conv1D weight (stored
/// `[in, out]`, the transpose of a Linear's).
fn gpt2_hf_to_gguf_name(hf: &str) -> Option<(String, bool)> {
    let hf = hf.strip_prefix("transformer.").unwrap_or(hf);
    let fixed = match hf {
        "wte.weight" => Some("token_embd.weight"),
        "wpe.weight" => Some("position_embd.weight"),
        "ln_f.weight" => Some("output_norm.weight"),
        "ln_f.bias" => Some("output_norm.bias"),
        "lm_head.weight" => Some("output.weight"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some((f.to_string(), false));
    }
    let rest = hf.strip_prefix("h.")?;
    let (layer, part) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, kind) = part.rsplit_once('.')?;
    let (gguf, conv) = match module {
        "ln_1" => ("attn_norm", false),
        "attn.c_attn" => ("attn_qkv", true),
        "attn.c_proj" => ("attn_output", true),
        "ln_2" => ("ffn_norm", false),
        "mlp.c_fc" => ("ffn_up", true),
        "mlp.c_proj" => ("ffn_down", true),
        _ => return None,
    };
    Some((format!("blk.{layer}.{gguf}.{kind}"), conv && kind == "weight"))
}

/// Whether a GGUF-named GPT-2 weight came from a Conv1D (`[in, out]` in Hugging Face's files).
fn gpt2_is_conv1d(gguf_name: &str) -> bool {
    gguf_name.starts_with("blk.")
        && ["attn_qkv.weight", "attn_output.weight", "ffn_up.weight", "ffn_down.weight"]
            .iter()
            .any(|s| gguf_name.ends_with(s))
}

/// A Hugging Face parameter name in GGUF's terms (`None`: not used here).
fn hf_to_gguf_name(hf: &str) -> Option<String> {
    hf_name(hf, false)
}

/// The same for Gemma 3, whose `post_attention_layernorm` follows attention (and which may sit in a
/// multimodal checkpoint under `language_model.`).
fn gemma_hf_to_gguf_name(hf: &str) -> Option<String> {
    let hf = hf.strip_prefix("language_model.").unwrap_or(hf);
    hf_name(hf, true)
}

fn hf_name(hf: &str, gemma: bool) -> Option<String> {
    let fixed = match hf {
        "model.embed_tokens.weight" => Some("token_embd.weight"),
        "lm_head.weight" => Some("output.weight"),
        "model.norm.weight" => Some("output_norm.weight"),
        _ => None,
    };
    if let Some(f) = fixed {
        return Some(f.to_string());
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, part) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (module, kind) = part.rsplit_once('.')?;
    let gguf = match module {
        "input_layernorm" => "attn_norm",
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "self_attn.q_norm" => "attn_q_norm",
        "self_attn.k_norm" => "attn_k_norm",
        // Gemma 3 names its four norms differently; llama's second norm is its `pre_feedforward`.
        "post_attention_layernorm" if gemma => "post_attention_norm",
        "pre_feedforward_layernorm" => "ffn_norm",
        "post_feedforward_layernorm" => "post_ffw_norm",
        "post_attention_layernorm" => "ffn_norm",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        _ => return None,
    };
    Some(format!("blk.{layer}.{gguf}.{kind}"))
}

/// Llama 3.1's per-frequency RoPE divisors, as llama.cpp's converter writes them to `rope_freqs.weight`
/// and HF's `llama3` rope type applies them: short wavelengths kept, long ones divided by `factor`, a
/// smooth blend between.
fn llama3_rope_factors(base: f32, head_dim: usize, factor: f32, low: f32, high: f32, old_context: f32) -> Vec<f32> {
    let (low_wavelen, high_wavelen) = (old_context / low, old_context / high);
    (0..head_dim / 2)
        .map(|i| {
            let freq = 1.0 / base.powf((2 * i) as f32 / head_dim as f32);
            let wavelen = 2.0 * std::f32::consts::PI / freq;
            if wavelen < high_wavelen {
                1.0
            } else if wavelen > low_wavelen {
                factor
            } else {
                let smooth = (old_context / wavelen - low) / (high - low);
                1.0 / ((1.0 - smooth) / factor + smooth)
            }
        })
        .collect()
}

/// `general.architecture` if this decoder runs it.
pub fn architecture(g: &Gguf) -> Result<&str, ModelError> {
    let arch = g.get("general.architecture").and_then(|v| v.as_str()).unwrap_or("");
    if !ARCHITECTURES.contains(&arch) {
        return Err(ModelError::Metadata(format!(
            "architecture '{arch}' has no forward pass here (decoders: {}; encoders: bert)",
            ARCHITECTURES.join(", ")
        )));
    }
    Ok(arch)
}

impl LlamaConfig {
    /// Width of all query heads together (`num_heads * head_dim`; may differ from `hidden`).
    pub fn q_dim(&self) -> usize {
        self.num_heads * self.head_dim
    }

    /// Width of keys and values (`num_kv_heads * head_dim`).
    pub fn kv_dim(&self) -> usize {
        self.num_kv_heads * self.head_dim
    }

    /// Read the shape from a Hugging Face `config.json` (`model_type` llama, mistral, qwen2 or qwen3). HF
    /// keeps W_query/W_key rows in rotate_half order, so RoPE pairs halves.
    pub fn from_hf_json(text: &str) -> Result<Self, ModelError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ModelError::Metadata(format!("config.json is not JSON: {e}")))?;
        let arch = v.get("model_type").and_then(|t| t.as_str()).unwrap_or("").to_string();
        if arch == "gpt2" {
            return LlamaConfig::gpt2_from_hf(&v);
        }
        if arch == "gemma3_text" || arch == "gemma3" {
            return LlamaConfig::gemma3_from_hf(&v);
        }
        if !ARCHITECTURES.contains(&arch.as_str()) {
            return Err(ModelError::Metadata(format!(
                "config.json: model_type '{arch}' has no forward pass here (decoders: {}; encoders: bert)",
                ARCHITECTURES.join(", ")
            )));
        }
        let int = |key: &str| crate::arch::config_int(&v, key);
        let present = |key: &str| v.get(key).is_some_and(|x| !x.is_null());
        // Llama 3.1's scaling; any other kind is refused rather than computed wrongly.
        let scaling = v.get("rope_scaling").filter(|r| !r.is_null()).or_else(|| {
            v.get("rope_parameters").filter(|r| r.get("rope_type").and_then(|t| t.as_str()) != Some("default"))
        });
        let scaling = match scaling {
            None => None,
            Some(r) => match r.get("rope_type").or_else(|| r.get("type")).and_then(|t| t.as_str()) {
                Some("default") | None => None,
                Some("llama3") => Some(r.clone()),
                Some(kind) => {
                    return Err(ModelError::Metadata(format!(
                        "config.json: rope scaling '{kind}' is not supported yet"
                    )))
                }
            },
        };
        let act = v.get("hidden_act").and_then(|t| t.as_str()).unwrap_or("silu");
        if act != "silu" {
            return Err(ModelError::Metadata(format!("config.json: hidden_act '{act}' is not supported (silu is)")));
        }
        let (hidden, num_heads) = (int("hidden_size")?, int("num_attention_heads")?);
        let num_kv_heads = if present("num_key_value_heads") { int("num_key_value_heads")? } else { num_heads };
        if num_heads % num_kv_heads != 0 {
            return Err(ModelError::Metadata(format!(
                "{num_heads} query heads cannot share {num_kv_heads} key/value heads evenly"
            )));
        }
        let head_dim = if present("head_dim") { int("head_dim")? } else { hidden / num_heads };
        if head_dim == 0 || head_dim % 2 != 0 {
            return Err(ModelError::Metadata(format!("head width {head_dim} is odd; RoPE rotates pairs")));
        }
        let rope_base = v
            .get("rope_theta")
            .or_else(|| v.get("rope_parameters").and_then(|r| r.get("rope_theta")))
            .and_then(|x| x.as_f64())
            .unwrap_or(10000.0) as f32;
        let rms_eps = v.get("rms_norm_eps").and_then(|x| x.as_f64()).unwrap_or(1e-6) as f32;
        if !(rope_base.is_finite() && rope_base > 1.0 && rms_eps.is_finite() && rms_eps >= 0.0) {
            return Err(ModelError::Metadata(format!("bad RoPE base {rope_base} or RMSNorm eps {rms_eps}")));
        }
        let rope_factors = scaling.map(|r| {
            let f = |k: &str, d: f64| r.get(k).and_then(|x| x.as_f64()).unwrap_or(d);
            llama3_rope_factors(
                rope_base,
                head_dim,
                f("factor", 8.0) as f32,
                f("low_freq_factor", 1.0) as f32,
                f("high_freq_factor", 4.0) as f32,
                f("original_max_position_embeddings", 8192.0) as f32,
            )
        });
        let bias = v.get("attention_bias").and_then(|b| b.as_bool()).unwrap_or(false);
        let mlp_bias = v.get("mlp_bias").and_then(|b| b.as_bool()).unwrap_or(false);
        if (bias && arch != "qwen2") || mlp_bias {
            return Err(ModelError::Metadata(
                "config.json: attention_bias / mlp_bias on this architecture is not supported yet".into(),
            ));
        }
        Ok(LlamaConfig {
            name: None,
            num_layers: int("num_hidden_layers")?,
            hidden,
            num_heads,
            num_kv_heads,
            head_dim,
            ffn_dim: int("intermediate_size")?,
            vocab_size: int("vocab_size")?,
            max_positions: if present("max_position_embeddings") { int("max_position_embeddings")? } else { 2048 },
            rope_base,
            rms_eps,
            rope_style: RopeStyle::Halves,
            rope_factors,
            qkv_bias: arch == "qwen2" || bias,
            qk_norm: arch == "qwen3",
            family: Family::Llama,
            gemma: None,
            arch,
        })
    }

    /// Gemma 3's `config.json` (`model_type` gemma3_text; a multimodal gemma3 folder's `text_config`).
    fn gemma3_from_hf(v: &serde_json::Value) -> Result<Self, ModelError> {
        let v = v.get("text_config").unwrap_or(v);
        let int = |key: &str| crate::arch::config_int(v, key);
        let act = v.get("hidden_activation").and_then(|t| t.as_str()).unwrap_or("gelu_pytorch_tanh");
        if act != "gelu_pytorch_tanh" {
            return Err(ModelError::Metadata(format!("config.json: hidden_activation '{act}' is not supported")));
        }
        let (hidden, num_heads, num_layers) =
            (int("hidden_size")?, int("num_attention_heads")?, int("num_hidden_layers")?);
        let num_kv_heads = int("num_key_value_heads")?;
        if num_heads % num_kv_heads != 0 {
            return Err(ModelError::Metadata(format!(
                "{num_heads} query heads cannot share {num_kv_heads} key/value heads evenly"
            )));
        }
        let head_dim = int("head_dim")?;
        let theta = |kind: &str, default: f64| {
            v.get("rope_parameters")
                .and_then(|r| r.get(kind))
                .and_then(|r| r.get("rope_theta"))
                .and_then(|x| x.as_f64())
                .unwrap_or(default) as f32
        };
        let factor = v
            .get("rope_parameters")
            .and_then(|r| r.get("full_attention"))
            .filter(|r| r.get("rope_type").and_then(|t| t.as_str()) == Some("linear"))
            .and_then(|r| r.get("factor"))
            .and_then(|x| x.as_f64())
            .unwrap_or(1.0) as f32;
        let sliding: Vec<bool> = match v.get("layer_types").and_then(|l| l.as_array()) {
            Some(types) => types.iter().map(|t| t.as_str() == Some("sliding_attention")).collect(),
            None => (0..num_layers).map(|l| (l + 1) % 6 != 0).collect(),
        };
        if sliding.len() != num_layers {
            return Err(ModelError::Metadata(format!(
                "config.json: {} layer types for {num_layers} layers",
                sliding.len()
            )));
        }
        let scalar = v.get("query_pre_attn_scalar").and_then(|x| x.as_f64()).unwrap_or(head_dim as f64) as f32;
        Ok(LlamaConfig {
            arch: "gemma3".into(),
            name: None,
            num_layers,
            hidden,
            num_heads,
            num_kv_heads,
            head_dim,
            ffn_dim: int("intermediate_size")?,
            vocab_size: int("vocab_size")?,
            max_positions: int("max_position_embeddings")?,
            rope_base: theta("full_attention", 1_000_000.0),
            rms_eps: v.get("rms_norm_eps").and_then(|x| x.as_f64()).unwrap_or(1e-6) as f32,
            rope_style: RopeStyle::Halves,
            rope_factors: None,
            qkv_bias: false,
            qk_norm: true,
            family: Family::Gemma3,
            gemma: Some(Gemma {
                sliding_window: int("sliding_window")?,
                sliding,
                rope_base_local: theta("sliding_attention", 10_000.0),
                global_rope_scale: if factor > 0.0 { factor } else { 1.0 },
                attn_scale: 1.0 / scalar.sqrt(),
            }),
        })
    }

    /// GPT-2's `config.json` (`n_embd`, `n_layer`, `n_head`, `n_positions`, `n_inner`).
    fn gpt2_from_hf(v: &serde_json::Value) -> Result<Self, ModelError> {
        let int = |key: &str| crate::arch::config_int(v, key);
        let act = v.get("activation_function").and_then(|t| t.as_str()).unwrap_or("gelu_new");
        if !matches!(act, "gelu_new" | "gelu_pytorch_tanh") {
            return Err(ModelError::Metadata(format!(
                "config.json: activation '{act}' is not supported (gelu_new is)"
            )));
        }
        let (hidden, num_heads) = (int("n_embd")?, int("n_head")?);
        if hidden % num_heads != 0 {
            return Err(ModelError::Metadata(format!("width {hidden} is not a multiple of {num_heads} heads")));
        }
        let ffn_dim = if v.get("n_inner").is_some_and(|x| !x.is_null()) { int("n_inner")? } else { 4 * hidden };
        Ok(LlamaConfig {
            arch: "gpt2".into(),
            name: None,
            num_layers: int("n_layer")?,
            hidden,
            num_heads,
            num_kv_heads: num_heads,
            head_dim: hidden / num_heads,
            ffn_dim,
            vocab_size: int("vocab_size")?,
            max_positions: int("n_positions")?,
            rope_base: 10000.0,
            rms_eps: v.get("layer_norm_epsilon").and_then(|x| x.as_f64()).unwrap_or(1e-5) as f32,
            rope_style: RopeStyle::Halves,
            rope_factors: None,
            qkv_bias: true,
            qk_norm: false,
            family: Family::Gpt2,
            gemma: None,
        })
    }

    /// Read the shape from a parsed GGUF file; `vocab_size` is the tokenizer's.
    pub fn from_gguf(g: &Gguf, vocab_size: usize) -> Result<Self, ModelError> {
        let arch = architecture(g)?.to_string();
        let int = |key: &str| -> Result<usize, ModelError> {
            let full = format!("{arch}.{key}");
            let v = g
                .get(&full)
                .and_then(|v| v.as_u64())
                .ok_or_else(|| ModelError::Metadata(format!("missing integer '{full}'")))?;
            usize::try_from(v)
                .ok()
                .filter(|&v| v > 0 && v <= 1 << 24)
                .ok_or_else(|| ModelError::Metadata(format!("'{full}' is {v}, outside 1..=16777216")))
        };
        let float = |key: &str| g.get(&format!("{arch}.{key}")).and_then(|v| v.as_f64());
        let num_layers = int("block_count")?;
        let hidden = int("embedding_length")?;
        let ffn_dim = int("feed_forward_length")?;
        let num_heads = int("attention.head_count")?;
        // llama.cpp's default when the key is absent: as many K/V heads as query heads.
        let num_kv_heads = if g.get(&format!("{arch}.attention.head_count_kv")).is_some() {
            int("attention.head_count_kv")?
        } else {
            num_heads
        };
        if num_heads % num_kv_heads != 0 {
            return Err(ModelError::Metadata(format!(
                "{num_heads} query heads cannot share {num_kv_heads} key/value heads evenly"
            )));
        }
        let head_dim = if g.get(&format!("{arch}.attention.key_length")).is_some() {
            int("attention.key_length")?
        } else if hidden % num_heads == 0 {
            hidden / num_heads
        } else {
            return Err(ModelError::Metadata(format!("width {hidden} is not a multiple of {num_heads} heads")));
        };
        if head_dim % 2 != 0 {
            return Err(ModelError::Metadata(format!("head width {head_dim} is odd; RoPE rotates pairs")));
        }
        if let Some(d) = g.get(&format!("{arch}.rope.dimension_count")).and_then(|v| v.as_u64()) {
            if d != head_dim as u64 {
                return Err(ModelError::Metadata(format!(
                    "RoPE over {d} of {head_dim} dims per head (partial rotary) is not supported"
                )));
            }
        }
        let max_positions =
            if g.get(&format!("{arch}.context_length")).is_some() { int("context_length")? } else { 2048 };
        // llama.cpp's defaults when the keys are absent.
        let rope_base = float("rope.freq_base").unwrap_or(10000.0) as f32;
        let rms_eps = float("attention.layer_norm_rms_epsilon").unwrap_or(1e-5) as f32;
        if !(rope_base.is_finite() && rope_base > 1.0 && rms_eps.is_finite() && rms_eps >= 0.0) {
            return Err(ModelError::Metadata(format!("bad RoPE base {rope_base} or RMSNorm eps {rms_eps}")));
        }
        let (rope_style, qkv_bias, qk_norm) = match arch.as_str() {
            "qwen2" => (RopeStyle::Halves, true, false),
            "qwen3" => (RopeStyle::Halves, false, true),
            "gpt2" => (RopeStyle::Halves, true, false),
            "gemma3" => (RopeStyle::Halves, false, true),
            _ => (RopeStyle::Adjacent, false, false),
        };
        let family = match arch.as_str() {
            "gpt2" => Family::Gpt2,
            "gemma3" => Family::Gemma3,
            _ => Family::Llama,
        };
        let gemma = (family == Family::Gemma3).then(|| {
            let window = g.get(&format!("{arch}.attention.sliding_window")).and_then(|v| v.as_u64()).unwrap_or(4096);
            // llama.cpp: every sixth layer sees everything; the 27B model scales by hidden/heads.
            let scale_dim = if num_layers == 62 { hidden / num_heads } else { head_dim };
            let linear = g.get(&format!("{arch}.rope.scaling.type")).and_then(|v| v.as_str()) == Some("linear");
            let factor = float("rope.scaling.factor").filter(|_| linear).unwrap_or(1.0) as f32;
            Gemma {
                sliding_window: window as usize,
                sliding: (0..num_layers).map(|l| (l + 1) % 6 != 0).collect(),
                rope_base_local: 10000.0,
                global_rope_scale: if factor > 0.0 { factor } else { 1.0 },
                attn_scale: 1.0 / (scale_dim as f32).sqrt(),
            }
        });
        // GPT-2's LayerNorm epsilon under its own key.
        let rms_eps = match family {
            Family::Gpt2 => float("attention.layer_norm_epsilon").unwrap_or(1e-5) as f32,
            Family::Llama | Family::Gemma3 => rms_eps,
        };
        Ok(LlamaConfig {
            name: g.get("general.name").and_then(|v| v.as_str()).map(String::from),
            arch,
            num_layers,
            hidden,
            num_heads,
            num_kv_heads,
            head_dim,
            ffn_dim,
            vocab_size,
            max_positions,
            rope_base,
            rms_eps,
            rope_style,
            rope_factors: None,
            qkv_bias,
            qk_norm,
            family,
            gemma,
        })
    }
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
pub struct LlamaOutput {
    /// `num_layers` entries, first block first.
    pub layers: Vec<LayerTrace>,
    /// `[n, hidden]` the final-normed hidden states that the logits are computed from.
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

impl LlamaOutput {
    /// The outputs of [`DecoderPass`]es over consecutive rows, in order, as one pass over all of them.
    pub fn stack(parts: Vec<LlamaOutput>) -> Result<LlamaOutput, ModelError> {
        let mut parts = parts.into_iter();
        let Some(mut all) = parts.next() else {
            return Err(ModelError::BadPart("no parts to stack".into()));
        };
        for part in parts {
            if part.layers.len() != all.layers.len() {
                return Err(ModelError::BadPart("parts with different numbers of layers".into()));
            }
            let fits = |a: &Matrix, b: &Matrix| a.cols() == b.cols();
            for (a, b) in all.layers.iter_mut().zip(part.layers) {
                let heads_fit = a.attn_weights.len() == b.attn_weights.len()
                    && a.attn_weights.iter().zip(&b.attn_weights).all(|(x, y)| fits(x, y));
                if !heads_fit || !fits(&a.layer_input, &b.layer_input) || !fits(&a.queries, &b.queries) {
                    return Err(ModelError::BadPart("parts of different shapes".into()));
                }
                let bad = || ModelError::BadPart("parts of different widths".into());
                a.layer_input.append_rows(b.layer_input).ok_or_else(bad)?;
                a.queries.append_rows(b.queries).ok_or_else(bad)?;
                a.keys.append_rows(b.keys).ok_or_else(bad)?;
                a.values.append_rows(b.values).ok_or_else(bad)?;
                for (x, y) in a.attn_weights.iter_mut().zip(b.attn_weights) {
                    x.append_rows(y).ok_or_else(bad)?;
                }
            }
            all.final_hidden
                .append_rows(part.final_hidden)
                .ok_or_else(|| ModelError::BadPart("parts of different widths".into()))?;
            all.argmax_next_per_position.extend(part.argmax_next_per_position);
            all.logprob_of_actual_next_token.extend(part.logprob_of_actual_next_token);
            all.logsumexp_per_position.extend(part.logsumexp_per_position);
            // Only the last part has the last token.
            all.top5_next = part.top5_next;
        }
        Ok(all)
    }
}

/// Multiply-adds of a pass's one row, as `(matrices, per key)`: the blocks' matrices and the
/// unembedding (logits at every position), and per key the row attends to, a score and a weighted
/// value for every query head in every block.
pub fn row_macs(config: &LlamaConfig) -> (u64, u64) {
    let c = config;
    let ffn_mats = if c.family == Family::Gpt2 { 2 } else { 3 };
    let block = c.hidden * (2 * c.q_dim() + 2 * c.kv_dim()) + ffn_mats * c.hidden * c.ffn_dim;
    ((c.num_layers * block + c.hidden * c.vocab_size) as u64, (c.num_layers * 2 * c.q_dim()) as u64)
}

/// Multiply-adds of a whole pass over `n` tokens (see [`row_macs`]; causal: row i attends to i + 1
/// keys), as `(matrices, attention)`.
pub fn pass_macs(config: &LlamaConfig, n: usize) -> (u64, u64) {
    let (per_row, per_key) = row_macs(config);
    let n = n as u64;
    (per_row * n, per_key * n * (n + 1) / 2)
}

/// Where to cut `n` tokens into `parts` consecutive ranges of about equal work for a decoder of
/// `config`'s shape: every row costs its matrix products (the same for every row, logits included)
/// plus attention over the keys up to it (more for later rows), so the later ranges get fewer rows.
/// Returns the `parts - 1` cut positions, increasing, each range non-empty (fewer parts when there
/// are fewer tokens than parts).
///
/// Where every part can have two rows, the cuts fall on even positions, the one nearer the target of
/// the two around it: the matrix kernels take rows in pairs (or fours), and a pair's lone row costs
/// about as much as the pair (SmolLM2 in V8: 17 rows 175 ms, 16 rows 161 ms), so an odd part wasted
/// a row's time on every worker but the last.
pub fn balanced_cuts(config: &LlamaConfig, n: usize, parts: usize) -> Vec<usize> {
    let parts = parts.clamp(1, n.max(1));
    let (per_row, per_key) = row_macs(config);
    // Work of rows 0..i: i * per_row + per_key * i(i+1)/2.
    let work = |i: usize| (i as f64) * per_row as f64 + per_key as f64 * (i as f64) * (i as f64 + 1.0) / 2.0;
    let total = work(n);
    let mut cuts = Vec::with_capacity(parts - 1);
    let step = if n >= 2 * parts { 2 } else { 1 };
    for p in 1..parts {
        let target = total * p as f64 / parts as f64;
        let lowest = cuts.last().map_or(step, |&c| c + step);
        let highest = n - step * (parts - p);
        // The first i (on the step) whose rows' work reaches the target, leaving rows for each later
        // part; or the one before it, if nearer the target.
        let mut i = lowest;
        while i < highest && work(i) < target {
            i += step;
        }
        if i > lowest && target - work(i - step) < work(i) - target {
            i -= step;
        }
        cuts.push(i);
    }
    cuts
}

/// A decoder's forward pass over some tokens' rows, a layer at a time (see [`Llama::row_pass`]).
#[derive(Debug)]
pub struct DecoderPass {
    rows: Range<usize>,
    /// Every token id of the input (a row's log-probability reads the id after it).
    ids: Vec<u32>,
    /// `[rows, hidden]`: this part's rows of the current block's input; `None` once every block ran.
    hidden: Option<Matrix>,
    /// This block's queries (rotated), keys and values of these rows, between the two calls of a layer.
    qkv: Option<(Matrix, Matrix, Matrix)>,
    layers: Vec<LayerTrace>,
    /// `[rows, hidden]`: the last block's output through the final norm.
    final_hidden: Option<Matrix>,
    rope: Rope,
    rope_local: Option<Rope>,
    /// Whether each block's attention weights are kept in its trace.
    keep_attention: bool,
}

impl DecoderPass {
    /// Whether the pass keeps every block's attention weights (the default). Without them a long
    /// input's pass stays small (SmolLM2 at 1 024 tokens: 1.1 GB of weights in f32);
    /// [`Llama::layer_attention`] gives any block's back from its queries and keys.
    pub fn keep_attention(&mut self, keep: bool) {
        self.keep_attention = keep;
    }

    /// The tokens this part computes.
    pub fn rows(&self) -> Range<usize> {
        self.rows.clone()
    }

    /// The block the pass is in; `None` once every block ran.
    pub fn layer(&self) -> Option<usize> {
        self.hidden.as_ref().map(|_| self.layers.len())
    }

    /// This part's keys and values of the current block (`[rows, kv_heads * head_dim]` each, keys
    /// rotated; its queries are kept).
    pub fn keys_values(&mut self, model: &Llama) -> Result<(Matrix, Matrix), ModelError> {
        let l = self.layers.len();
        let (Some(block), Some(x)) = (model.blocks.get(l), &self.hidden) else {
            return Err(ModelError::BadPart("the pass is done, or not of this model".into()));
        };
        let (c, bytes) = (&model.config, &model.bytes[..]);
        let xn = model.norm(x, &block.attn_norm);
        let mut queries = matmul_t(&xn, &block.w_query, bytes); // [rows, num_heads * head_dim]
        let mut keys = matmul_t(&xn, &block.w_key, bytes); // [rows, num_kv_heads * head_dim]
        let mut values = matmul_t(&xn, &block.w_value, bytes); // [rows, num_kv_heads * head_dim]
        if let Some([bq, bk, bv]) = &block.qkv_bias {
            add_row(&mut queries, bq);
            add_row(&mut keys, bk);
            add_row(&mut values, bv);
        }
        if let Some([nq, nk]) = &block.qk_norm {
            // [rows, heads * head_dim] viewed as [rows * heads, head_dim]: one RMSNorm per head.
            queries = head_rms_norm(queries, nq, c.rms_eps);
            keys = head_rms_norm(keys, nk, c.rms_eps);
        }
        if c.family != Family::Gpt2 {
            let rope = match (&self.rope_local, model.window(l)) {
                (Some(local), Some(_)) => local,
                _ => &self.rope,
            };
            rope.apply(&mut queries);
            rope.apply(&mut keys);
        }
        self.qkv = Some((queries, keys.clone(), values.clone()));
        Ok((keys, values))
    }

    /// Finishes the current block with the keys and values of tokens `0..rows.end` (`[rows.end,
    /// kv_heads * head_dim]` each, in token order, this part's own last).
    pub fn finish_layer(&mut self, model: &Llama, keys: &Matrix, values: &Matrix) -> Result<(), ModelError> {
        let (c, bytes) = (&model.config, &model.bytes[..]);
        let l = self.layers.len();
        let shape = (self.rows.end, c.kv_dim());
        if keys.shape() != shape || values.shape() != shape {
            return Err(ModelError::BadPart(format!(
                "keys {:?} and values {:?} for the {} tokens up to this part's last",
                keys.shape(),
                values.shape(),
                self.rows.end
            )));
        }
        // Checked before anything is taken: a refused call leaves the pass as it was.
        let (Some(block), true, true) = (model.blocks.get(l), self.hidden.is_some(), self.qkv.is_some()) else {
            return Err(ModelError::BadPart("finish_layer before keys_values".into()));
        };
        let (Some(mut x), Some((queries, own_keys, own_values))) = (self.hidden.take(), self.qkv.take()) else {
            return Err(ModelError::BadPart("finish_layer before keys_values".into()));
        };
        let layer_input = x.clone();
        let scale = c.gemma.as_ref().map_or(1.0 / (c.head_dim as f32).sqrt(), |g| g.attn_scale);
        let keys_of = KeysOf { first_row: self.rows.start, n: self.ids.len(), window: model.window(l) };
        let (attn_weights, context_vec) =
            causal_gqa_attention(c, &queries, keys, values, scale, keys_of, self.keep_attention);
        let attn_out = matmul_t(&context_vec, &block.w_out, bytes); // [rows, hidden]
        let bias = block.out_up_down_bias.as_ref().map(|[b, _, _]| b.as_slice());
        let attn_out = model.finish(attn_out, bias, block.post_norms.as_ref().map(|[n, _]| n));
        add_in_place(&mut x, &attn_out);

        // --- feed-forward sub-block: SwiGLU, or GPT-2's GELU MLP ---
        let xn = model.norm(&x, &block.ffn_norm);
        let mut up = matmul_t(&xn, &block.w_up, bytes); // [rows, ffn_dim]
        match (&block.w_gate, &block.out_up_down_bias) {
            (Some(w_gate), _) => {
                // The activation is chosen outside the loop, so each loop is its own code with the
                // activation inlined: SiLU's exp then runs four lanes at a time in wasm (through a
                // function pointer it cost 3 % of a SmolLM2 pass).
                let gate = matmul_t(&xn, w_gate, bytes); // [rows, ffn_dim]
                if c.family == Family::Gemma3 {
                    gate_in_place(&mut up, &gate, gelu_tanh);
                } else {
                    gate_in_place(&mut up, &gate, silu);
                }
            }
            (None, bias) => {
                if let Some([_, b_up, _]) = bias {
                    add_row(&mut up, b_up);
                }
                up.data_mut().iter_mut().for_each(|v| *v = gelu_tanh(*v));
            }
        }
        let ffn_out = matmul_t(&up, &block.w_down, bytes); // [rows, hidden]
        let bias = block.out_up_down_bias.as_ref().map(|[_, _, b]| b.as_slice());
        let ffn_out = model.finish(ffn_out, bias, block.post_norms.as_ref().map(|[_, n]| n));
        add_in_place(&mut x, &ffn_out);

        self.layers.push(LayerTrace { layer_input, queries, keys: own_keys, values: own_values, attn_weights });
        if l + 1 == model.blocks.len() {
            self.final_hidden = Some(model.norm(&x, &model.output_norm));
        } else {
            self.hidden = Some(x);
        }
        Ok(())
    }

    /// What the pass computed for its rows, with the logits of each (see [`LlamaOutput::stack`] to put
    /// parts together; only the last part's `top5_next` is the model's next word).
    pub fn finish(self, model: &Llama) -> Result<LlamaOutput, ModelError> {
        let Some(final_hidden) = self.final_hidden else {
            return Err(ModelError::BadPart("finish before the last block".into()));
        };
        let stats = model.logit_stats(&final_hidden, &self.ids[self.rows.start..]);
        Ok(LlamaOutput {
            layers: self.layers,
            final_hidden,
            top5_next: stats.top5_last,
            argmax_next_per_position: stats.argmax,
            logprob_of_actual_next_token: stats.logprob_next,
            logsumexp_per_position: stats.lse,
        })
    }
}

/// The weights of one block, as views into the file bytes.
#[derive(Debug, Clone)]
struct Block {
    attn_norm: Norm,
    w_query: QMatrix,
    w_key: QMatrix,
    w_value: QMatrix,
    /// Biases on queries, keys and values (qwen2, GPT-2).
    qkv_bias: Option<[Vec<f32>; 3]>,
    /// qwen3's per-head RMSNorm weights for queries and keys (`head_dim` each).
    qk_norm: Option<[Vec<f32>; 2]>,
    w_out: QMatrix,
    ffn_norm: Norm,
    /// SwiGLU's gate (the Llama family); GPT-2's MLP has none.
    w_gate: Option<QMatrix>,
    w_up: QMatrix,
    w_down: QMatrix,
    /// GPT-2's biases on the output projection and the MLP's two layers.
    out_up_down_bias: Option<[Vec<f32>; 3]>,
    /// Gemma 3's norms after attention and after the FFN (before each residual add).
    post_norms: Option<[Norm; 2]>,
}

impl Block {
    /// The weight matrices, for counting.
    fn matrices(&self) -> impl Iterator<Item = &QMatrix> {
        [&self.w_query, &self.w_key, &self.w_value, &self.w_out, &self.w_up, &self.w_down]
            .into_iter()
            .chain(self.w_gate.as_ref())
    }
}

/// A norm's weight, and its bias for LayerNorm (GPT-2); RMSNorm has none.
#[derive(Debug, Clone)]
struct Norm {
    weight: Vec<f32>,
    bias: Option<Vec<f32>>,
}

/// A Llama-family decoder loaded from GGUF bytes. The bytes are owned once; the quantised matrices are
/// offsets into them (only the small norm and bias vectors are copied out as f32).
#[derive(Debug, Clone)]
pub struct Llama {
    config: LlamaConfig,
    bytes: Vec<u8>,
    token_embd: QMatrix,
    /// GPT-2's learned positions.
    position_embd: Option<QMatrix>,
    /// The unembedding: `output.weight` if the file has one, else the tied `token_embd.weight`.
    output: QMatrix,
    output_norm: Norm,
    blocks: Vec<Block>,
    tokenizer: Tokenizer,
    /// Put first by `tokenize` (`tokenizer.ggml.add_bos_token`).
    bos: Option<u32>,
}

fn matrix(g: &dyn Tensors, name: &str, rows: usize, cols: usize) -> Result<QMatrix, ModelError> {
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

fn vector(g: &dyn Tensors, bytes: &[u8], name: &str, len: usize) -> Result<Vec<f32>, ModelError> {
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

impl Llama {
    /// Load from the bytes of a GGUF file (e.g. `SmolLM2-135M-Instruct.Q4_1.gguf`), keeping them as the
    /// weight storage. Every tensor is checked against the shape the metadata gives.
    pub fn from_gguf(bytes: Vec<u8>) -> Result<Self, ModelError> {
        let g = Gguf::parse(&bytes)?;
        Llama::from_parsed_gguf(g, bytes)
    }

    /// Load from llama.cpp's split files (`-0000k-of-0000N.gguf`) laid end to end in `bytes`, `parts` being
    /// each file's range, first part first.
    pub fn from_gguf_split(bytes: Vec<u8>, parts: &[std::ops::Range<usize>]) -> Result<Self, ModelError> {
        let g = Gguf::parse_split(&bytes, parts)?;
        Llama::from_parsed_gguf(g, bytes)
    }

    fn from_parsed_gguf(g: Gguf, bytes: Vec<u8>) -> Result<Self, ModelError> {
        architecture(&g)?;
        let tokenizer = build_tokenizer(&g)?;
        let mut c = LlamaConfig::from_gguf(&g, tokenizer.vocab_size())?;
        if g.tensor("rope_freqs.weight").is_some() {
            let factors = vector(&g, &bytes, "rope_freqs.weight", c.head_dim / 2)?;
            if factors.iter().any(|&f| !(f.is_finite() && f > 0.0)) {
                return Err(ModelError::NonFinite("rope_freqs.weight".into()));
            }
            c.rope_factors = Some(factors);
        }
        let bos = bos_token(&g, c.vocab_size);
        Llama::assemble(c, &g, bytes, tokenizer, bos)
    }

    /// Load from a Hugging Face folder's `config.json`, `model.safetensors` (F32, F16 or BF16, kept as the
    /// weight storage) and `tokenizer.json` (byte-level BPE).
    pub fn from_hf(config_json: &str, safetensors: Vec<u8>, tokenizer_json: &str) -> Result<Self, ModelError> {
        let whole = 0..safetensors.len();
        Llama::from_hf_shards(config_json, safetensors, &[whole], tokenizer_json)
    }

    /// The same from sharded safetensors laid end to end in `safetensors` (`parts`: each shard's range).
    pub fn from_hf_shards(
        config_json: &str,
        safetensors: Vec<u8>,
        parts: &[std::ops::Range<usize>],
        tokenizer_json: &str,
    ) -> Result<Self, ModelError> {
        let c = LlamaConfig::from_hf_json(config_json)?;
        let (tokenizer, bos) = Tokenizer::from_hf_json(tokenizer_json)?;
        if tokenizer.vocab_size() > c.vocab_size {
            return Err(ModelError::VocabSizeMismatch { vocab: tokenizer.vocab_size(), embeddings: c.vocab_size });
        }
        if c.family == Family::Gpt2 {
            let mut bytes = safetensors;
            let dir = SafetensorsDir::parse_parts(&bytes, parts, |n| gpt2_hf_to_gguf_name(n).map(|(g, _)| g))?;
            let conv: Vec<String> = dir.names().filter(|n| gpt2_is_conv1d(n)).map(String::from).collect();
            let dir = dir.transpose(&mut bytes, &conv)?;
            return Llama::assemble(c, &dir, bytes, tokenizer, bos);
        }
        if c.family == Family::Gemma3 {
            let dir = SafetensorsDir::parse_parts(&safetensors, parts, gemma_hf_to_gguf_name)?;
            let mut model = Llama::assemble(c, &dir, safetensors, tokenizer, bos)?;
            // HF's Gemma norms multiply by (1 + weight); llama.cpp's converter stores 1 + weight.
            model.for_each_norm(|w| w.iter_mut().for_each(|x| *x += 1.0));
            return Ok(model);
        }
        let dir = SafetensorsDir::parse_parts(&safetensors, parts, hf_to_gguf_name)?;
        Llama::assemble(c, &dir, safetensors, tokenizer, bos)
    }

    /// The model from a tensor directory in GGUF's names over `bytes`; every tensor is checked against the
    /// shape the configuration gives.
    fn assemble(
        c: LlamaConfig,
        g: &dyn Tensors,
        bytes: Vec<u8>,
        tokenizer: Tokenizer,
        bos: Option<u32>,
    ) -> Result<Self, ModelError> {
        let (hidden, q_dim, kv_dim, ffn, vocab) = (c.hidden, c.q_dim(), c.kv_dim(), c.ffn_dim, c.vocab_size);
        let gpt2 = c.family == Family::Gpt2;
        let norm = |name: &str| -> Result<Norm, ModelError> {
            let weight = vector(g, &bytes, &format!("{name}.weight"), hidden)?;
            let bias = if gpt2 { Some(vector(g, &bytes, &format!("{name}.bias"), hidden)?) } else { None };
            Ok(Norm { weight, bias })
        };
        let token_embd = matrix(g, "token_embd.weight", vocab, hidden)?;
        let position_embd = if gpt2 { Some(matrix(g, "position_embd.weight", c.max_positions, hidden)?) } else { None };
        let output =
            if g.tensor("output.weight").is_some() { matrix(g, "output.weight", vocab, hidden)? } else { token_embd };
        let output_norm = norm("output_norm")?;
        let mut blocks = Vec::with_capacity(c.num_layers);
        for l in 0..c.num_layers {
            let name = |s: &str| format!("blk.{l}.{s}.weight");
            let bias = |s: &str, len: usize| vector(g, &bytes, &format!("blk.{l}.{s}.bias"), len);
            // GPT-2 keeps Q, K and V in one [3 * hidden, hidden] matrix: three row ranges of it.
            let (w_query, w_key, w_value, qkv_bias) = if gpt2 {
                let qkv = matrix(g, &name("attn_qkv"), q_dim + 2 * kv_dim, hidden)?;
                let b = bias("attn_qkv", q_dim + 2 * kv_dim)?;
                let (bq, rest) = b.split_at(q_dim);
                let (bk, bv) = rest.split_at(kv_dim);
                let parts = [bq.to_vec(), bk.to_vec(), bv.to_vec()];
                (
                    qkv.rows_view(0, q_dim),
                    qkv.rows_view(q_dim, kv_dim),
                    qkv.rows_view(q_dim + kv_dim, kv_dim),
                    Some(parts),
                )
            } else {
                let qkv_bias = match c.qkv_bias {
                    true => Some([bias("attn_q", q_dim)?, bias("attn_k", kv_dim)?, bias("attn_v", kv_dim)?]),
                    false => None,
                };
                let q = matrix(g, &name("attn_q"), q_dim, hidden)?;
                (q, matrix(g, &name("attn_k"), kv_dim, hidden)?, matrix(g, &name("attn_v"), kv_dim, hidden)?, qkv_bias)
            };
            blocks.push(Block {
                attn_norm: norm(&format!("blk.{l}.attn_norm"))?,
                w_query,
                w_key,
                w_value,
                qkv_bias,
                qk_norm: match c.qk_norm {
                    true => Some([
                        vector(g, &bytes, &name("attn_q_norm"), c.head_dim)?,
                        vector(g, &bytes, &name("attn_k_norm"), c.head_dim)?,
                    ]),
                    false => None,
                },
                w_out: matrix(g, &name("attn_output"), hidden, q_dim)?,
                ffn_norm: norm(&format!("blk.{l}.ffn_norm"))?,
                w_gate: if gpt2 { None } else { Some(matrix(g, &name("ffn_gate"), ffn, hidden)?) },
                w_up: matrix(g, &name("ffn_up"), ffn, hidden)?,
                w_down: matrix(g, &name("ffn_down"), hidden, ffn)?,
                out_up_down_bias: match gpt2 {
                    true => Some([bias("attn_output", hidden)?, bias("ffn_up", ffn)?, bias("ffn_down", hidden)?]),
                    false => None,
                },
                post_norms: match c.family == Family::Gemma3 {
                    true => {
                        Some([norm(&format!("blk.{l}.post_attention_norm"))?, norm(&format!("blk.{l}.post_ffw_norm"))?])
                    }
                    false => None,
                },
            });
        }
        Ok(Llama { config: c, bytes, token_embd, position_embd, output, output_norm, blocks, tokenizer, bos })
    }

    /// Every RMSNorm weight vector (final, per block, Gemma's post norms and q/k norms).
    fn for_each_norm(&mut self, mut f: impl FnMut(&mut Vec<f32>)) {
        f(&mut self.output_norm.weight);
        for b in &mut self.blocks {
            f(&mut b.attn_norm.weight);
            f(&mut b.ffn_norm.weight);
            for n in b.post_norms.iter_mut().flatten() {
                f(&mut n.weight);
            }
            for n in b.qk_norm.iter_mut().flatten() {
                f(n);
            }
        }
    }

    /// A sub-block's output before the residual add: its bias (GPT-2), then its norm (Gemma 3).
    fn finish(&self, mut out: Matrix, bias: Option<&[f32]>, post_norm: Option<&Norm>) -> Matrix {
        if let Some(b) = bias {
            add_row(&mut out, b);
        }
        match post_norm {
            Some(n) => self.norm(&out, n),
            None => out,
        }
    }

    /// RMSNorm, or LayerNorm where the norm has a bias (GPT-2).
    fn norm(&self, x: &Matrix, n: &Norm) -> Matrix {
        match &n.bias {
            None => rms_norm(x, &n.weight, self.config.rms_eps),
            Some(bias) => {
                let mut out = x.clone();
                layer_norm_in_place(&mut out, &n.weight, bias, self.config.rms_eps);
                out
            }
        }
    }

    /// The shape and switches read from the file.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// The element types of the file's weight matrices, most common first, e.g. `["Q4_1", "F32"]`.
    pub fn tensor_types(&self) -> Vec<&'static str> {
        let mut counts: Vec<(&'static str, usize)> = Vec::new();
        let mut count = |t: GgmlType| match counts.iter_mut().find(|(n, _)| *n == t.name()) {
            Some((_, k)) => *k += 1,
            None => counts.push((t.name(), 1)),
        };
        count(self.token_embd.ggml_type);
        for b in &self.blocks {
            for m in b.matrices() {
                count(m.ggml_type);
            }
        }
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        counts.into_iter().map(|(n, _)| n).collect()
    }

    /// Number of weights (parameters) in the file's tensors the forward pass uses.
    pub fn parameter_count(&self) -> u64 {
        let m = |q: &QMatrix| (q.rows * q.cols) as u64;
        let len = |v: &[f32]| v.len() as u64;
        let norm = |n: &Norm| len(&n.weight) + n.bias.as_deref().map_or(0, len);
        let per_block: u64 = self
            .blocks
            .iter()
            .map(|b| {
                b.matrices().map(m).sum::<u64>()
                    + norm(&b.attn_norm)
                    + norm(&b.ffn_norm)
                    + b.qkv_bias.iter().flatten().map(|v| len(v)).sum::<u64>()
                    + b.qk_norm.iter().flatten().map(|v| len(v)).sum::<u64>()
                    + b.out_up_down_bias.iter().flatten().map(|v| len(v)).sum::<u64>()
            })
            .sum();
        let tied = self.output.start == self.token_embd.start;
        per_block
            + m(&self.token_embd)
            + self.position_embd.as_ref().map_or(0, m)
            + if tied { 0 } else { m(&self.output) }
            + norm(&self.output_norm)
    }

    /// Split text into tokens exactly as the reference tokenizer does: a BOS first where the file says
    /// the tokenizer adds one (SmolLM2's does not), and special tokens such as `<|im_start|>` written in
    /// the text as their single ids. The BOS has the empty span `(0, 0)`.
    pub fn tokenize(&self, text: &str) -> Result<Encoding, ModelError> {
        let mut enc = self.tokenizer.encode(text);
        if let Some(bos) = self.bos {
            enc.ids.insert(0, bos);
            enc.tokens.insert(0, self.tokenizer.token_text(bos));
            enc.offsets.insert(0, (0, 0));
        }
        Ok(enc)
    }

    /// The BOS token [`Self::tokenize`] puts first, if the tokenizer adds one.
    pub fn bos_token(&self) -> Option<u32> {
        self.bos
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Readable text of a token id (e.g. " cat").
    pub fn token_text(&self, id: u32) -> String {
        self.tokenizer.token_text(id)
    }

    /// Run the model over `ids` (at most [`LlamaConfig::max_positions`]) and return every layer's attention and the
    /// next-token predictions.
    pub fn forward(&self, ids: &[u32]) -> Result<LlamaOutput, ModelError> {
        let mut pass = self.row_pass(ids, 0..ids.len())?;
        while pass.layer().is_some() {
            let (keys, values) = pass.keys_values(self)?;
            pass.finish_layer(self, &keys, &values)?;
        }
        pass.finish(self)
    }

    /// A forward pass over the tokens `rows` of `ids` only (all of `ids` are checked). A token's row
    /// needs nothing from the other tokens except, in attention, the keys and values of the tokens up
    /// to it (the causal mask hides the later ones): the caller gets this part's with
    /// [`DecoderPass::keys_values`] and hands back those of tokens `0..rows.end` to
    /// [`DecoderPass::finish_layer`]. Parts can so run on several cores, one exchange per layer, and
    /// give what one pass over all rows gives to the last bit ([`Llama::forward`] is one such part).
    /// Later rows cost more (they attend to more keys): see [`balanced_cuts`].
    pub fn row_pass(&self, ids: &[u32], rows: Range<usize>) -> Result<DecoderPass, ModelError> {
        let c = &self.config;
        let n = ids.len();
        if n == 0 {
            return Err(ModelError::EmptyInput);
        }
        if n > c.max_positions {
            return Err(ModelError::TooLong { tokens: n, max: c.max_positions });
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= c.vocab_size) {
            return Err(ModelError::InvalidTokenId { id, vocab_size: c.vocab_size });
        }
        if rows.is_empty() || rows.end > n {
            return Err(ModelError::BadPart(format!("rows {rows:?} of {n} tokens")));
        }
        let bytes = &self.bytes[..];

        // x: [rows, hidden], one dequantised embedding row per token (plus its position's, GPT-2).
        let mut x = Matrix::zeros(rows.len(), c.hidden);
        for (r, &id) in ids[rows.clone()].iter().enumerate() {
            dequantize_row(self.token_embd.ggml_type, self.token_embd.row(bytes, id as usize), x.row_mut(r));
        }
        if c.family == Family::Gemma3 {
            // Gemma scales the embeddings by sqrt(hidden) (rounded to the weights' type: f32 here).
            let scale = (c.hidden as f32).sqrt();
            x.data_mut().iter_mut().for_each(|v| *v *= scale);
        }
        if let Some(wpe) = &self.position_embd {
            let mut pos = vec![0.0; c.hidden];
            for (r, i) in rows.clone().enumerate() {
                dequantize_row(wpe.ggml_type, wpe.row(bytes, i), &mut pos);
                for (v, p) in x.row_mut(r).iter_mut().zip(&pos) {
                    *v += p;
                }
            }
        }
        let rope = Rope::new(
            rows.clone(),
            c.rope_base,
            c.head_dim,
            c.rope_style,
            c.gemma.as_ref().map_or(1.0, |g| g.global_rope_scale),
            c.rope_factors.as_deref(),
        );
        // Gemma's sliding-window layers rotate with their own base, unscaled.
        let rope_local =
            c.gemma.as_ref().map(|g| Rope::new(rows.clone(), g.rope_base_local, c.head_dim, c.rope_style, 1.0, None));
        Ok(DecoderPass {
            rows,
            ids: ids.to_vec(),
            hidden: Some(x),
            qkv: None,
            layers: Vec::with_capacity(c.num_layers),
            final_hidden: None,
            rope,
            rope_local,
            keep_attention: true,
        })
    }

    /// Every head's attention weights of block `layer` (`num_heads` x `[n, n]`) from that block's
    /// queries and keys of all `n` tokens as a pass recorded them (rotated; `[n, q_dim]` and `[n, kv_dim]`):
    /// the same computation as the pass's own, so the same bits. A pass that did not keep its attention
    /// ([`DecoderPass::keep_attention`]) gets any layer's back from this, one layer at a time.
    pub fn layer_attention(&self, layer: usize, queries: &Matrix, keys: &Matrix) -> Result<Vec<Matrix>, ModelError> {
        let c = &self.config;
        let n = queries.rows();
        if layer >= self.blocks.len() || queries.cols() != c.q_dim() || keys.shape() != (n, c.kv_dim()) || n == 0 {
            return Err(ModelError::BadPart(format!(
                "queries {:?} and keys {:?} of layer {layer} do not fit the model",
                queries.shape(),
                keys.shape()
            )));
        }
        let scale = c.gemma.as_ref().map_or(1.0 / (c.head_dim as f32).sqrt(), |g| g.attn_scale);
        let at = KeysOf { first_row: 0, n, window: self.window(layer) };
        Ok(causal_weights(c, queries, keys, scale, at))
    }

    /// Gemma's sliding window of layer `l`, if it is a sliding-window layer.
    fn window(&self, l: usize) -> Option<usize> {
        let g = self.config.gemma.as_ref()?;
        g.sliding.get(l).copied().unwrap_or(false).then_some(g.sliding_window)
    }

    /// The logit lens: at every layer and position, the five likeliest next tokens if the residual
    /// stream after that block went straight to the final norm and the unembedding, `[layer][position]`.
    /// The last layer's is the model's own output, computed from `out.final_hidden` by the same code,
    /// so it equals `out.top5_next` (last position) bit for bit.
    pub fn logit_lens(&self, out: &LlamaOutput) -> Vec<Vec<Vec<TokenProb>>> {
        (0..out.layers.len())
            .map(|l| match out.layers.get(l + 1) {
                Some(next) => self.lens_top5(&next.layer_input, false),
                None => self.lens_top5(&out.final_hidden, true),
            })
            .collect()
    }

    /// One row of the logit lens: the five likeliest next tokens at every position of `hidden`, a
    /// residual stream taken through the final norm (unless `normed`: the model's own final hidden
    /// state, which already went through it) and the unembedding.
    pub fn lens_top5(&self, hidden: &Matrix, normed: bool) -> Vec<Vec<TokenProb>> {
        if normed {
            self.logit_stats(hidden, &[]).top5
        } else {
            self.logit_stats(&self.norm(hidden, &self.output_norm), &[]).top5
        }
    }

    /// The attention output projection of `layer` in f32, torch layout `(hidden, num_heads * head_dim)`
    /// as `(rows, cols, row-major data)`; `None` past the last layer.
    pub fn out_proj(&self, layer: usize) -> Option<(usize, usize, Vec<f32>)> {
        let w = &self.blocks.get(layer)?.w_out;
        let mut data = vec![0.0; w.rows * w.cols];
        for (r, row) in data.chunks_exact_mut(w.cols).enumerate() {
            dequantize_row(w.ggml_type, w.row(&self.bytes, r), row);
        }
        Some((w.rows, w.cols, data))
    }

    /// Logits for every position (`[n, vocab_size]`) reduced on the fly, one vocabulary chunk at a time, so
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
        let vocab = self.config.vocab_size;
        while v0 < vocab {
            let width = CHUNK.min(vocab - v0);
            matmul_t_rows(h, &self.output, &self.bytes, v0..v0 + width, &mut block); // [n, width]
            for i in 0..n {
                let row = &block[i * width..(i + 1) * width];
                // The chunk's largest logit in 8 lanes (NaNs skipped), then its first index: the index a
                // strict '>' scan keeps, like torch.argmax on ties. One scan with an index to carry
                // stayed scalar (with the top five's, 3 % of a SmolLM2 pass).
                let cmax = max8(row);
                if cmax > best[i].1 {
                    let carg = row.iter().position(|&l| l == cmax).unwrap_or(0);
                    best[i] = ((v0 + carg) as u32, cmax);
                }
                if cmax > max[i] {
                    sum[i] *= ((max[i] - cmax) as f64).exp();
                    max[i] = cmax;
                }
                let m = max[i];
                sum[i] += sum_exp_below(row, m) as f64;
                if let Some(&next) = ids.get(i + 1) {
                    let next = next as usize;
                    if (v0..v0 + width).contains(&next) {
                        actual_next[i] = row[next - v0];
                    }
                }
                let top = &mut top[i];
                for (c0, chunk) in row.chunks(8).enumerate().map(|(k, ch)| (k * 8, ch)) {
                    // Once five are held, a chunk with nothing above the fifth is passed over whole.
                    if top.len() == 5 && !chunk.iter().fold(false, |any, &l| any | (l > top[4].0)) {
                        continue;
                    }
                    for (c, &l) in chunk.iter().enumerate() {
                        if top.len() < 5 || l > top[top.len() - 1].0 {
                            let at = top.iter().position(|&(t, _)| l > t).unwrap_or(top.len());
                            top.insert(at, (l, (v0 + c0 + c) as u32));
                            top.truncate(5);
                        }
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
            logprob_next: (0..n).filter(|&i| ids.get(i + 1).is_some()).map(|i| actual_next[i] - lse[i]).collect(),
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
    if model != "gpt2" && model != "llama" {
        return Err(ModelError::Metadata(format!(
            "tokenizer model '{model}' is not supported yet (byte-level BPE 'gpt2' and SentencePiece 'llama' are)"
        )));
    }
    let strings = |key: &str| -> Result<Vec<&str>, ModelError> {
        let arr =
            g.get(key).and_then(|v| v.as_array()).ok_or_else(|| ModelError::Metadata(format!("missing '{key}'")))?;
        arr.iter()
            .map(|v| v.as_str().ok_or_else(|| ModelError::Metadata(format!("'{key}' holds a non-string"))))
            .collect()
    };
    let tokens: Vec<String> = strings("tokenizer.ggml.tokens")?.into_iter().map(String::from).collect();
    if model == "llama" {
        let floats = |key: &str| -> Vec<f32> {
            g.get(key)
                .and_then(|v| v.as_array())
                .map(|a| a.iter().map(|v| v.as_f64().unwrap_or(0.0) as f32).collect())
                .unwrap_or_default()
        };
        let types: Vec<i64> = g
            .get("tokenizer.ggml.token_type")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().map(|v| v.as_i64().unwrap_or(1)).collect())
            .unwrap_or_else(|| vec![1; tokens.len()]);
        let prefix = g.get("tokenizer.ggml.add_space_prefix").and_then(|v| v.as_bool()).unwrap_or(true);
        return Ok(Tokenizer::sentencepiece(tokens, &floats("tokenizer.ggml.scores"), &types, prefix)?);
    }
    let merges = strings("tokenizer.ggml.merges")?;
    let types: Option<Vec<i64>> = g
        .get("tokenizer.ggml.token_type")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().map(|v| v.as_i64().unwrap_or(1)).collect());
    let pre = PreTokenizer::from_gguf_name(g.get("tokenizer.ggml.pre").and_then(|v| v.as_str()))?;
    // llama.cpp takes a whole pre-token from the vocabulary before merging for Llama 3, as HF's
    // `ignore_merges` does.
    Ok(Tokenizer::new(tokens, &merges, types.as_deref())?
        .with_pre_tokenizer(pre)
        .with_ignore_merges(pre == PreTokenizer::Llama3))
}

/// The BOS token id when the file says the tokenizer adds one (`tokenizer.ggml.add_bos_token`).
fn bos_token(g: &Gguf, vocab_size: usize) -> Option<u32> {
    // SentencePiece models add a BOS unless the file says otherwise (llama.cpp's default).
    let spm = g.get("tokenizer.ggml.model").and_then(|v| v.as_str()) == Some("llama");
    let add = g.get("tokenizer.ggml.add_bos_token").and_then(|v| v.as_bool()).unwrap_or(spm);
    let id = g.get("tokenizer.ggml.bos_token_id").and_then(|v| v.as_u64())?;
    (add && (id as usize) < vocab_size).then_some(id as u32)
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

/// GELU with the tanh approximation (GPT-2's `gelu_new`), with libm's tanh for the same bits everywhere.
fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + libm::tanhf(SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x)))
}

#[inline]
fn silu(v: f32) -> f32 {
    v / (1.0 + crate::numeric::int_kernels::exp(-v))
}

/// The largest value of `row` (NaNs skipped; -inf if none), in 8 lanes so the loop vectorises.
fn max8(row: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (m, &l) in lanes.iter_mut().zip(c) {
            *m = if l > *m { l } else { *m };
        }
    }
    for (m, &l) in lanes.iter_mut().zip(chunks.remainder()) {
        *m = if l > *m { l } else { *m };
    }
    lanes.iter().fold(f32::NEG_INFINITY, |m, &l| if l > m { l } else { m })
}

/// The sum of `exp(l - m)` over `row`, in 8 lanes (lane `j` adds `row[j], row[j + 8], ...` in order,
/// then the lanes are added in order): a single running sum is a serial chain the compiler may not
/// reorder, and left the vocabulary's 49 152 exponentials per position scalar.
fn sum_exp_below(row: &[f32], m: f32) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for (s, &l) in lanes.iter_mut().zip(c) {
            *s += crate::numeric::int_kernels::exp(l - m);
        }
    }
    for (s, &l) in lanes.iter_mut().zip(chunks.remainder()) {
        *s += crate::numeric::int_kernels::exp(l - m);
    }
    lanes.iter().sum()
}

/// `up *= act(gate)`, element by element.
#[inline]
fn gate_in_place(up: &mut Matrix, gate: &Matrix, act: impl Fn(f32) -> f32) {
    for (u, g) in up.data_mut().iter_mut().zip(gate.data()) {
        *u *= act(*g);
    }
}

fn add_in_place(x: &mut Matrix, y: &Matrix) {
    for (a, b) in x.data_mut().iter_mut().zip(y.data()) {
        *a += b;
    }
}

/// `x[i] += bias` for every row.
fn add_row(x: &mut Matrix, bias: &[f32]) {
    for i in 0..x.rows() {
        for (v, b) in x.row_mut(i).iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// RMSNorm of every head's slice on its own (qwen3's q_norm / k_norm), same weight for every head.
fn head_rms_norm(m: Matrix, weight: &[f32], eps: f32) -> Matrix {
    let (n, width) = (m.rows(), m.cols());
    let heads = Matrix::from_parts(n * width / weight.len(), weight.len(), m.into_vec()); // [n * heads, head_dim]
    let normed = rms_norm(&heads, weight, eps);
    Matrix::from_parts(n, width, normed.into_vec()) // back to [n, heads * head_dim]
}

/// Rotary position embedding tables: `cos/sin[r * half + i]` for frequency `i` at the table's `r`-th position.
#[derive(Debug)]
struct Rope {
    cos: Vec<f32>,
    sin: Vec<f32>,
    head_dim: usize,
    style: RopeStyle,
}

impl Rope {
    /// Tables for the positions `positions`: row `r` of a matrix `apply` rotates is at position
    /// `positions.start + r`. `scale`: linear position scaling (positions divided by it; 1 for none).
    fn new(
        positions: Range<usize>,
        base: f32,
        head_dim: usize,
        style: RopeStyle,
        scale: f32,
        factors: Option<&[f32]>,
    ) -> Rope {
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(positions.len() * half);
        let mut sin = Vec::with_capacity(positions.len() * half);
        // HF computes inv_freq and pos * inv_freq in f32; doing the same keeps long positions in step with it.
        let inv_freq: Vec<f32> = (0..half)
            .map(|i| {
                let f = 1.0 / base.powf((2 * i) as f32 / head_dim as f32);
                factors.and_then(|d| d.get(i)).map_or(f, |d| f / d)
            })
            .collect();
        for p in positions {
            for &f in &inv_freq {
                let angle = (p as f32 / scale * f) as f64;
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        Rope { cos, sin, head_dim, style }
    }

    /// Rotate every head of `m` (`[n, heads * head_dim]`) in place, pairing dimensions as the style says.
    fn apply(&self, m: &mut Matrix) {
        let half = self.head_dim / 2;
        for p in 0..m.rows() {
            let (cos, sin) = (&self.cos[p * half..(p + 1) * half], &self.sin[p * half..(p + 1) * half]);
            for head in m.row_mut(p).chunks_exact_mut(self.head_dim) {
                for i in 0..half {
                    let (ia, ib) = match self.style {
                        RopeStyle::Adjacent => (2 * i, 2 * i + 1),
                        RopeStyle::Halves => (i, i + half),
                    };
                    let (a, b) = (head[ia], head[ib]);
                    head[ia] = a * cos[i] - b * sin[i];
                    head[ib] = a * sin[i] + b * cos[i];
                }
            }
        }
    }
}

/// Which keys the query rows of a part of a pass see.
#[derive(Debug, Clone, Copy)]
struct KeysOf {
    /// The token the part's first query row is.
    first_row: usize,
    /// Tokens in the whole input: the width of the attention rows.
    n: usize,
    /// A sliding-window layer's width (keys `i - window < j <= i`; the rest get exactly 0).
    window: Option<usize>,
}

impl KeysOf {
    /// The whole input of `n` tokens, no window.
    #[cfg(test)]
    fn all(n: usize) -> KeysOf {
        KeysOf { first_row: 0, n, window: None }
    }
}

/// Query rows a head's attention takes at a time: enough rows for the tile kernels, while one chunk's
/// scores (`[CHUNK, keys]`) stay small at 1 024 tokens.
const CHUNK: usize = 64;

/// Causal grouped-query attention of the query rows `queries` (tokens `first_row..`) over `keys` and
/// `values` of tokens `0..first_row + rows`. Returns the attention weights (`num_heads` x `[rows, n]`;
/// none unless `keep`) and the context vectors `[rows, num_heads * head_dim]` (heads concatenated,
/// ready for W_out). Each head goes a chunk of query rows at a time ([`chunk_weights`]), so a long
/// input's pass without `keep` never holds a layer's `n x n` matrices (allocating and dropping them
/// layer after layer fragments a WebAssembly heap, which cannot give memory back); every number is
/// computed the same way either way.
fn causal_gqa_attention(
    c: &LlamaConfig,
    queries: &Matrix,
    keys: &Matrix,
    values: &Matrix,
    scale: f32,
    at: KeysOf,
    keep: bool,
) -> (Vec<Matrix>, Matrix) {
    let (hd, num_heads, kv_dim) = (c.head_dim, c.num_heads, c.kv_dim());
    let rows = queries.rows();
    let group = num_heads / c.num_kv_heads; // query heads per KV head
    let mut context_vec = Matrix::zeros(rows, c.q_dim());
    let q_dim = c.q_dim();
    let mut all_weights = Vec::with_capacity(if keep { num_heads } else { 0 });
    for h in 0..num_heads {
        let g = h / group;
        let mut kept = keep.then(|| Matrix::zeros(rows, at.n));
        for r0 in (0..rows).step_by(CHUNK) {
            let weights = chunk_weights(c, queries, keys, scale, at, h, r0..(r0 + CHUNK).min(rows));
            // context_vec[i, head h] = sum_j attn_weights[i, j] * v_j, with the value columns of KV
            // head g as the tiles' rows (tile row t of key j is v_j[e0 + t]); masked weights are exactly
            // 0 and add nothing.
            let head_values = quant::columns_as_tile_rows(values.data(), kv_dim, g * hd, weights.cols());
            let out = &mut context_vec.data_mut()[r0 * q_dim + h * hd..];
            quant::matmul_t_tiled(&weights, hd, head_values, out, q_dim);
            if let Some(kept) = kept.as_mut() {
                for (r, row) in weights.iter_rows().enumerate() {
                    kept.row_mut(r0 + r)[..row.len()].copy_from_slice(row);
                }
            }
        }
        all_weights.extend(kept);
    }
    (all_weights, context_vec)
}

/// Head `h`'s attention weights of the query rows `rows` (tokens `first_row + rows`) over the keys up to
/// the chunk's last token: `[rows, first_row + rows.end]`, each row's scaled scores through the softmax
/// over the keys it sees (`i - window < j <= i`) and exactly 0 elsewhere. The scores come from the tile
/// kernels with the keys of the head's KV group as the tiles' rows: a dot product per score spent as
/// much on adding up its lanes as on the products. A score is the same sum in the same order whatever
/// the chunk, so every split of a pass, and every recomputation, gives the same bits.
fn chunk_weights(
    c: &LlamaConfig,
    queries: &Matrix,
    keys: &Matrix,
    scale: f32,
    at: KeysOf,
    h: usize,
    rows: Range<usize>,
) -> Matrix {
    let (hd, kv_dim) = (c.head_dim, c.kv_dim());
    let g = h / (c.num_heads / c.num_kv_heads);
    let width = at.first_row + rows.end; // keys 0..=the chunk's last token
                                         // [rows, head_dim]: this head's queries of the chunk.
    let mut q = Vec::with_capacity(rows.len() * hd);
    for r in rows.clone() {
        q.extend_from_slice(&queries.row(r)[h * hd..(h + 1) * hd]);
    }
    let q = Matrix::from_parts(rows.len(), hd, q);
    let head_keys = quant::rows_as_tile_rows(keys.data(), kv_dim, g * hd, hd);
    let mut weights = Matrix::zeros(rows.len(), width);
    quant::matmul_t_tiled(&q, width, head_keys, weights.data_mut(), width);
    for (r, global) in rows.map(|r| at.first_row + r).enumerate() {
        let first = at.window.map_or(0, |w| (global + 1).saturating_sub(w));
        let row = weights.row_mut(r);
        row[..first].fill(0.0);
        row[global + 1..].fill(0.0);
        let seen = &mut row[first..=global];
        seen.iter_mut().for_each(|s| *s *= scale);
        softmax_in_place(seen);
    }
    weights
}

/// The attention weights alone of [`causal_gqa_attention`] (`num_heads` x `[rows, n]`).
fn causal_weights(c: &LlamaConfig, queries: &Matrix, keys: &Matrix, scale: f32, at: KeysOf) -> Vec<Matrix> {
    let rows = queries.rows();
    debug_assert!(keys.rows() >= at.first_row + rows && at.first_row + rows <= at.n);
    (0..c.num_heads)
        .map(|h| {
            let mut attn_weights = Matrix::zeros(rows, at.n);
            for r0 in (0..rows).step_by(CHUNK) {
                let weights = chunk_weights(c, queries, keys, scale, at, h, r0..(r0 + CHUNK).min(rows));
                for (r, row) in weights.iter_rows().enumerate() {
                    attn_weights.row_mut(r0 + r)[..row.len()].copy_from_slice(row);
                }
            }
            attn_weights
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD_DIM: usize = 64;
    const HALF: usize = HEAD_DIM / 2;

    /// SmolLM2-135M's shape: 9 query heads sharing 3 K/V heads.
    fn smol_config() -> LlamaConfig {
        LlamaConfig {
            arch: "llama".into(),
            name: None,
            num_layers: 30,
            hidden: 576,
            num_heads: 9,
            num_kv_heads: 3,
            head_dim: HEAD_DIM,
            ffn_dim: 1536,
            vocab_size: 49152,
            max_positions: 2048,
            rope_base: 100000.0,
            rms_eps: 1e-5,
            rope_style: RopeStyle::Adjacent,
            rope_factors: None,
            qkv_bias: false,
            qk_norm: false,
            family: Family::Llama,
            gemma: None,
        }
    }

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
        let rope = Rope::new(0..n, 100000.0, HEAD_DIM, RopeStyle::Adjacent, 1.0, None);
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
    fn rope_halves_is_hf_rotate_half_as_is() {
        let (n, hd) = (4, 6);
        let rope = Rope::new(0..n, 10000.0, hd, RopeStyle::Halves, 1.0, None);
        let q: Vec<f32> = (0..hd).map(|d| (d as f32 * 0.9).cos()).collect();
        let mut m = Matrix::zeros(n, 2 * hd); // two heads, rotated alike
        for p in 0..n {
            m.row_mut(p)[..hd].copy_from_slice(&q);
            m.row_mut(p)[hd..].copy_from_slice(&q);
        }
        rope.apply(&mut m);
        for p in 0..n {
            for i in 0..hd / 2 {
                let theta = p as f64 / 10000f64.powf(2.0 * i as f64 / hd as f64);
                let (c, s) = (theta.cos(), theta.sin());
                let lo = q[i] as f64 * c - q[i + hd / 2] as f64 * s;
                let hi = q[i + hd / 2] as f64 * c + q[i] as f64 * s;
                for head in 0..2 {
                    assert!((m.get(p, head * hd + i) as f64 - lo).abs() < 1e-5);
                    assert!((m.get(p, head * hd + i + hd / 2) as f64 - hi).abs() < 1e-5);
                }
            }
        }
    }

    #[test]
    fn head_rms_norm_normalises_each_head_alone() {
        let m = Matrix::from_parts(1, 4, vec![3.0, 4.0, 0.0, 2.0]); // two heads of width 2
        let out = head_rms_norm(m, &[1.0, 2.0], 0.0);
        let (r1, r2) = ((12.5f32).sqrt(), (2.0f32).sqrt());
        let want = [3.0 / r1, 2.0 * 4.0 / r1, 0.0, 2.0 * 2.0 / r2];
        for (got, want) in out.row(0).iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
    }

    #[test]
    fn max8_skips_nans_and_finds_the_largest_in_any_lane_or_the_tail() {
        assert_eq!(max8(&[]), f32::NEG_INFINITY);
        assert_eq!(max8(&[f32::NAN; 11]), f32::NEG_INFINITY);
        for at in 0..19 {
            let mut row: Vec<f32> = (0..19).map(|i| -(i as f32)).collect();
            row[(at + 3) % 19] = f32::NAN;
            row[at] = 7.5;
            assert_eq!(max8(&row), 7.5, "largest at {at}");
        }
    }

    #[test]
    fn attention_is_causal_and_normalised() {
        let n = 4;
        let mk = |cols: usize, seed: f32| {
            Matrix::from_parts(n, cols, (0..n * cols).map(|i| (i as f32 * seed).sin()).collect())
        };
        let c = smol_config();
        let (q, k, v) = (mk(c.q_dim(), 0.7), mk(c.kv_dim(), 1.3), mk(c.kv_dim(), 0.9));
        let (w, ctx) = causal_gqa_attention(&c, &q, &k, &v, 1.0 / (HEAD_DIM as f32).sqrt(), KeysOf::all(n), true);
        // A sliding window of 2: each query sees itself and the token before, the rest exactly 0.
        let (windowed, _) =
            causal_gqa_attention(&c, &q, &k, &v, 0.125, KeysOf { window: Some(2), ..KeysOf::all(n) }, true);
        for wh in &windowed {
            for i in 0..n {
                for j in 0..n {
                    assert_eq!(wh.get(i, j) == 0.0, j > i || j + 2 <= i, "({i}, {j})");
                }
                assert!((wh.row(i).iter().sum::<f32>() - 1.0).abs() < 1e-6);
            }
        }
        assert_eq!(w.len(), c.num_heads);
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
