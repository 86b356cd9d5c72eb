//! Where weights come from: GGUF files, Hugging Face safetensors, and the compact MiniLM browser bundle.

pub mod bundle;
pub mod gguf;
