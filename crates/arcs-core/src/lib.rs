//! The attention engine of Attention Arcs.
//!
//! Everything the app draws is computed here, in plain Rust that knows nothing of the web: the four kinds
//! of attention from chapter 3 of Raschka's *Build a Large Language Model (From Scratch)* (simplified,
//! self-attention with trainable weights, causal, multi-head), the book's own example as a preset, seeded
//! toy embeddings and weights for any sentence, and the JSON report the `attn` CLI prints.
//!
//! Numbers are bit-identical on every platform for the same request: matrix products sum in a fixed order
//! (no BLAS, no FMA) and `exp` comes from the pure-Rust `libm`.

pub mod analysis;
pub mod attention;
pub mod book;
pub mod cli;
pub mod prng;
pub mod report;
pub mod request;
pub mod tensor;
pub mod tokenize;
pub mod weights;

pub use attention::{Attention, HeadSteps, Linear, MaskStyle, Mode, Normalization};
pub use report::Report;
pub use request::{Request, RequestError, Source};
pub use tensor::Mat;
