//! Where weights come from: GGUF files, Hugging Face safetensors, and the compact MiniLM browser bundle.

pub mod bundle;
pub mod gguf;
pub mod safetensors;

use gguf::TensorInfo;

/// A directory of tensors over one byte buffer (a GGUF file, or a safetensors file named in GGUF's
/// terms): what the decoders load from.
pub trait Tensors {
    fn tensor(&self, name: &str) -> Option<&TensorInfo>;
}

impl Tensors for gguf::Gguf {
    fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        gguf::Gguf::tensor(self, name)
    }
}
