//! Cohere v2 (in progress).
