//! Attention Arcs: the web shell around `arcs-core`, and the glue the `attn` CLI uses for real models.
//!
//! Native builds contain only the platform-agnostic parts, tested with plain `cargo test`: the view
//! state and its reducer (`state`), the share-link codec (`url`) and the drawing geometry (`layout`).
//! The Yew components (`app`) exist only on wasm32 and stay a thin layer over those.

pub mod cli_models;
pub mod compare;
pub mod file_pack;
pub mod layout;
pub mod lesson;
pub mod model_state;
pub mod models;
pub mod protocol;
pub mod split_policy;
pub mod state;
pub mod text;
pub mod url;

#[cfg(target_arch = "wasm32")]
pub mod web;
