//! wasm-bindgen exports for bench/wasm-models/run.mjs.
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct MiniLm(arcs_minilm::MiniLm);

#[wasm_bindgen]
impl MiniLm {
    #[wasm_bindgen(constructor)]
    pub fn new(bundle: &[u8]) -> Result<MiniLm, JsError> {
        arcs_minilm::MiniLm::from_bundle(bundle).map(MiniLm).map_err(|e| JsError::new(&e.to_string()))
    }
    /// From the f32 safetensors (no dequantising in the forward pass).
    pub fn from_f32(safetensors: &[u8], vocab_txt: &str) -> Result<MiniLm, JsError> {
        arcs_minilm::MiniLm::from_safetensors(safetensors, vocab_txt).map(MiniLm).map_err(|e| JsError::new(&e.to_string()))
    }
    /// Forward pass; returns a checksum of the last layer's attention so the work cannot be skipped.
    pub fn forward(&self, ids: &[u32]) -> Result<f64, JsError> {
        let out = self.0.forward_attention(ids).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(out.layers.iter().flat_map(|l| &l.attn_weights).map(|a| f64::from(a.get(0, a.cols() - 1))).sum())
    }
}

#[wasm_bindgen]
pub struct SmolLm2(arcs_smollm2::SmolLm2);

#[wasm_bindgen]
impl SmolLm2 {
    #[wasm_bindgen(constructor)]
    pub fn new(gguf: Vec<u8>) -> Result<SmolLm2, JsError> {
        arcs_smollm2::SmolLm2::from_gguf(gguf).map(SmolLm2).map_err(|e| JsError::new(&e.to_string()))
    }
    pub fn forward(&self, ids: &[u32]) -> Result<f64, JsError> {
        let out = self.0.forward(ids).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(out.logsumexp_per_position.iter().map(|&v| v as f64).sum())
    }
}
