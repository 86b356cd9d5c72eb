//! The one numeric core every architecture runs on: the f32 matrix, 16-bit floats, ggml's quantised
//! blocks and the float and integer kernels.

pub mod blocks;
pub mod float_kernels;
pub mod half;
pub mod int_kernels;
pub mod matrix;
pub mod quant;
