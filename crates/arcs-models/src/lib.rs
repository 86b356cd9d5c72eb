//! `arcs-models`: real transformer models in plain Rust, built to expose what a visualiser needs:
//! every layer's input, queries, keys, values and post-softmax attention weights.
//!
//! One crate, three layers:
//! - [`numeric`]: the one matrix type, 16-bit floats, ggml's quantised blocks, float and integer kernels;
//! - [`source`]: weight containers (GGUF, safetensors, the MiniLM browser bundle);
//! - [`arch`]: architectures (BERT-style encoders, Llama-family decoders) over that core, with
//!   [`tokenizer`] for their ids.
//!
//! [`minilm`] and [`smollm2`] are the two built-in instances. No threads, no file system, no web
//! dependencies: the same code runs natively and on `wasm32-unknown-unknown`; callers hand it bytes.

pub mod arch;
mod error;
pub mod minilm;
pub mod numeric;
pub mod open;
pub mod smollm2;
pub mod source;
pub mod tokenizer;

pub use error::ModelError;
pub use numeric::matrix::Matrix;
