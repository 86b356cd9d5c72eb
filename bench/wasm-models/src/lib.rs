//! wasm-bindgen exports for bench/wasm-models/run.mjs.
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct MiniLm(arcs_models::minilm::MiniLm);

#[wasm_bindgen]
impl MiniLm {
    #[wasm_bindgen(constructor)]
    pub fn new(bundle: &[u8]) -> Result<MiniLm, JsError> {
        arcs_models::minilm::MiniLm::from_bundle(bundle).map(MiniLm).map_err(|e| JsError::new(&e.to_string()))
    }
    /// From the f32 safetensors (no dequantising in the forward pass).
    pub fn from_f32(safetensors: &[u8], vocab_txt: &str) -> Result<MiniLm, JsError> {
        arcs_models::minilm::MiniLm::from_safetensors(safetensors, vocab_txt)
            .map(MiniLm)
            .map_err(|e| JsError::new(&e.to_string()))
    }
    /// Forward pass; returns a checksum of the last layer's attention so the work cannot be skipped.
    pub fn forward(&self, ids: &[u32]) -> Result<f64, JsError> {
        let out = self.0.forward_attention(ids).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(out.layers.iter().flat_map(|l| &l.attn_weights).map(|a| f64::from(a.get(0, a.cols() - 1))).sum())
    }
}

#[wasm_bindgen]
pub struct SmolLm2(arcs_models::smollm2::SmolLm2);

#[wasm_bindgen]
impl SmolLm2 {
    #[wasm_bindgen(constructor)]
    pub fn new(gguf: Vec<u8>) -> Result<SmolLm2, JsError> {
        arcs_models::smollm2::SmolLm2::from_gguf(gguf).map(SmolLm2).map_err(|e| JsError::new(&e.to_string()))
    }
    pub fn forward(&self, ids: &[u32]) -> Result<f64, JsError> {
        let out = self.0.forward(ids).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(out.logsumexp_per_position.iter().map(|&v| v as f64).sum())
    }
}

/// One part of a forward pass split by tokens (see `arcs_models::minilm::RowPass`), for timing two workers
/// exchanging keys and values without the app around them (`two-workers.mjs`).
#[wasm_bindgen]
pub struct RowPart {
    pass: arcs_models::minilm::RowPass,
    n: usize,
}

#[wasm_bindgen]
impl RowPart {
    #[wasm_bindgen(constructor)]
    pub fn new(model: &MiniLm, ids: &[u32], from: usize, to: usize) -> Result<RowPart, JsError> {
        let pass = model.0.row_pass(ids, from..to, false).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(RowPart { pass, n: ids.len() })
    }
    /// The current layer, or -1 once done.
    pub fn layer(&self) -> i32 {
        self.pass.layer().map_or(-1, |l| l as i32)
    }
    /// This part's keys then values of the current layer, flattened.
    pub fn keys_values(&mut self, model: &MiniLm) -> Result<Vec<f32>, JsError> {
        let (k, v) = self.pass.keys_values(&model.0).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(k.data().iter().chain(v.data()).copied().collect())
    }
    /// Finishes the layer with every token's keys then values (`[keys (n x d); values (n x d)]`).
    pub fn finish_layer(&mut self, model: &MiniLm, kv: &[f32]) -> Result<(), JsError> {
        let half = kv.len() / 2;
        let d = half / self.n.max(1);
        let m = |s: &[f32]| {
            arcs_models::minilm::Matrix::from_vec(self.n, d, s.to_vec()).ok_or_else(|| JsError::new("shape"))
        };
        self.pass.finish_layer(&model.0, &m(&kv[..half])?, &m(&kv[half..])?).map_err(|e| JsError::new(&e.to_string()))
    }
}

/// Where to cut `n` tokens into `parts` ranges of equal work for SmolLM2 (later rows attend to more keys).
#[wasm_bindgen]
pub fn decoder_cuts(model: &SmolLm2, n: usize, parts: usize) -> Vec<u32> {
    arcs_models::arch::llama::balanced_cuts(model.0.config(), n, parts).into_iter().map(|c| c as u32).collect()
}

/// One part of a decoder pass split by tokens (see `arcs_models::arch::llama::DecoderPass`).
#[wasm_bindgen]
pub struct DecoderPart {
    pass: Option<arcs_models::arch::llama::DecoderPass>,
    to: usize,
}

#[wasm_bindgen]
impl DecoderPart {
    #[wasm_bindgen(constructor)]
    pub fn new(model: &SmolLm2, ids: &[u32], from: usize, to: usize) -> Result<DecoderPart, JsError> {
        let pass = model.0.row_pass(ids, from..to).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(DecoderPart { pass: Some(pass), to })
    }
    /// The current block, or -1 once done.
    pub fn layer(&self) -> i32 {
        self.pass.as_ref().and_then(|p| p.layer()).map_or(-1, |l| l as i32)
    }
    /// This part's keys then values of the current block, flattened.
    pub fn keys_values(&mut self, model: &SmolLm2) -> Result<Vec<f32>, JsError> {
        let pass = self.pass.as_mut().ok_or_else(|| JsError::new("done"))?;
        let (k, v) = pass.keys_values(&model.0).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(k.data().iter().chain(v.data()).copied().collect())
    }
    /// Finishes the block with the keys then values of tokens `0..to`.
    pub fn finish_layer(&mut self, model: &SmolLm2, kv: &[f32]) -> Result<(), JsError> {
        let pass = self.pass.as_mut().ok_or_else(|| JsError::new("done"))?;
        let half = kv.len() / 2;
        let d = half / self.to.max(1);
        let m = |s: &[f32]| arcs_models::Matrix::from_vec(self.to, d, s.to_vec()).ok_or_else(|| JsError::new("shape"));
        pass.finish_layer(&model.0, &m(&kv[..half])?, &m(&kv[half..])?).map_err(|e| JsError::new(&e.to_string()))
    }
    /// The part's logits (what a whole pass ends with); returns a checksum.
    pub fn finish(&mut self, model: &SmolLm2) -> Result<f64, JsError> {
        let pass = self.pass.take().ok_or_else(|| JsError::new("done"))?;
        let out = pass.finish(&model.0).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(out.logsumexp_per_position.iter().map(|&v| v as f64).sum())
    }
}

/// Multiply-adds of one pass over `n` tokens, `[matrices, attention]` (the counts the crates use).
#[wasm_bindgen]
impl MiniLm {
    pub fn macs(&self, n: usize) -> Vec<f64> {
        let (m, a) = self.0.config().attention_pass_macs(n);
        vec![m as f64, a as f64]
    }
}

#[wasm_bindgen]
impl SmolLm2 {
    pub fn macs(&self, n: usize) -> Vec<f64> {
        let (m, a) = arcs_models::arch::llama::pass_macs(self.0.config(), n);
        vec![m as f64, a as f64]
    }
}

/// What this engine's SIMD can do at best, for the ceilings in bench/results.md: `rounds` steps of
/// 12 independent accumulators, no memory traffic, each step an instruction pair the kernels use.
/// Each accumulator feeds its own next step, so nothing can be hoisted or folded away.
#[cfg(target_feature = "simd128")]
mod peak {
    use core::arch::wasm32::*;
    use wasm_bindgen::prelude::*;

    const ACC: usize = 12;

    /// `i32x4.dot_i16x8_s` then `i32x4.add`: 8 multiply-adds (the encoder kernels' pair). Returns a
    /// checksum.
    #[wasm_bindgen]
    pub fn peak_i16_dot(rounds: u32, seed: i32) -> i32 {
        let b = i16x8_splat(seed as i16 | 1);
        let mut acc: [v128; ACC] = core::array::from_fn(|j| i32x4_splat(seed.wrapping_add(j as i32)));
        for _ in 0..rounds {
            for a in acc.iter_mut() {
                *a = i32x4_add(*a, i32x4_dot_i16x8(*a, b));
            }
        }
        acc.iter().fold(0, |s, a| s ^ i32x4_extract_lane::<0>(*a) ^ i32x4_extract_lane::<3>(*a))
    }

    /// `f32x4.mul` then `f32x4.add`: 4 multiply-adds without fused multiply-add (the decoder kernels'
    /// pair). The values stay near 2 * c, never subnormal.
    #[wasm_bindgen]
    pub fn peak_f32_mul_add(rounds: u32, seed: f32) -> f32 {
        let (half, c) = (f32x4_splat(0.5), f32x4_splat(seed));
        let mut acc: [v128; ACC] = core::array::from_fn(|j| f32x4_splat(seed + j as f32));
        for _ in 0..rounds {
            for a in acc.iter_mut() {
                *a = f32x4_add(f32x4_mul(*a, half), c);
            }
        }
        acc.iter().map(|a| f32x4_extract_lane::<0>(*a)).sum()
    }

    /// Multiply-adds per call of each: for turning a time into GMAC/s.
    #[wasm_bindgen]
    pub fn peak_macs_per_round() -> Vec<u32> {
        vec![(ACC * 8) as u32, (ACC * 4) as u32]
    }
}
