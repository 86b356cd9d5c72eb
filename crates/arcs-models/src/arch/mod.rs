//! Architectures: BERT-style encoders and Llama-family decoders.

pub mod bert;
pub mod llama;
