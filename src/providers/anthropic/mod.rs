//! Anthropic Messages API (in progress).
