//! llmux: LiteLLM's Router semantics in a Rust core compiled to WebAssembly.
//! Module map only; see DESIGN.md for how the pieces fit.

// LlmError is large but only travels on the cold path; boxing it would add noise everywhere.
#![allow(clippy::result_large_err)]

pub mod cache;
pub mod config;
pub mod cost;
pub mod error;
pub mod hash;
pub mod ports;
pub mod providers;
pub mod redact;
pub mod reliability;
pub mod router;
pub mod routing;
pub mod sort;
pub mod state;
pub mod stream;
pub mod types;

#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

#[cfg(target_arch = "wasm32")]
pub mod wasm;
