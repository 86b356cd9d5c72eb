//! Peer benchmark: `candle-transformers`' BERT running all-MiniLM-L6-v2, compiled to wasm32.
//!
//! The exported API is deliberately tiny: load the f32 safetensors + config.json once, then run
//! the full forward pass on a batch of one sequence of token ids and hand back the last hidden
//! state (n x hidden, row-major). token_type_ids are all 0 and the attention mask is all 1 (no
//! padding), matching the inputs every peer in bench/ uses.
//!
//! candle's `BertModel::forward` returns only the last hidden state: the attention probabilities
//! are computed inside `BertSelfAttention::forward` and are not exposed, so this peer times the
//! full forward pass without extracting them.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};

/// The model plus its hidden size, independent of wasm-bindgen (usable natively for checks).
pub struct Peer {
    model: BertModel,
    hidden: usize,
}

impl Peer {
    pub fn load(safetensors: &[u8], config_json: &str) -> Result<Peer, String> {
        let config: Config =
            serde_json::from_str(config_json).map_err(|e| format!("config.json: {e}"))?;
        let device = Device::Cpu;
        // Copies the buffer into candle tensors once (the JS side's bytes are not kept alive).
        let vb = VarBuilder::from_buffered_safetensors(safetensors.to_vec(), DType::F32, &device)
            .map_err(|e| format!("safetensors: {e}"))?;
        let model = BertModel::load(vb, &config).map_err(|e| format!("BertModel::load: {e}"))?;
        Ok(Peer { model, hidden: config.hidden_size })
    }

    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// Full forward pass for one sequence; returns the last hidden state flattened (n * hidden).
    pub fn run(&self, ids: &[u32]) -> Result<Vec<f32>, String> {
        let fwd = || -> candle_core::Result<Vec<f32>> {
            let input_ids = Tensor::new(ids, &self.model.device)?.unsqueeze(0)?;
            let token_type_ids = input_ids.zeros_like()?;
            // None = attention mask of all ones (no padding, batch 1).
            let out = self.model.forward(&input_ids, &token_type_ids, None)?;
            out.flatten_all()?.to_vec1::<f32>()
        };
        fwd().map_err(|e| format!("forward: {e}"))
    }
}

#[cfg(target_arch = "wasm32")]
mod web {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    pub struct Bert {
        inner: super::Peer,
    }

    #[wasm_bindgen]
    impl Bert {
        #[wasm_bindgen(constructor)]
        pub fn new(safetensors: &[u8], config_json: &str) -> Result<Bert, JsValue> {
            super::Peer::load(safetensors, config_json)
                .map(|inner| Bert { inner })
                .map_err(|e| JsValue::from_str(&e))
        }

        #[wasm_bindgen(getter, js_name = hiddenSize)]
        pub fn hidden_size(&self) -> usize {
            self.inner.hidden_size()
        }

        /// Last hidden state, n x hidden, row-major.
        pub fn run(&self, ids: &[u32]) -> Result<Vec<f32>, JsValue> {
            self.inner.run(ids).map_err(|e| JsValue::from_str(&e))
        }
    }

    /// Whether this build has wasm simd128 enabled (candle's own check).
    #[wasm_bindgen(js_name = withSimd128)]
    pub fn with_simd128() -> bool {
        candle_core::utils::with_simd128()
    }
}
