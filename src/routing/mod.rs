//! Deployment selection strategies.

pub mod shuffle;
