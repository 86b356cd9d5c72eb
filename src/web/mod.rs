//! Everything that touches the browser (wasm32 only): the Yew page (`app`), the model worker
//! (`model_worker`) and its helper (`helper_worker`), and the few browser calls they share (`dom`).
//! The math, the view state and its reducers live outside this folder and are tested natively.

pub mod app;
pub mod dom;
pub mod helper_worker;
pub mod model_worker;
