//! Deployment selection strategies.

pub mod shuffle;
pub mod strategy;
