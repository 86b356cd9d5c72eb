//! Attention Arcs: the web shell around `arcs-core`, and the glue the `attn` CLI uses for real models.
//!
//! Native builds contain only the platform-agnostic parts (CLI glue, view state, URL codec); the Yew
//! components exist only on wasm32.

pub mod cli_models;
