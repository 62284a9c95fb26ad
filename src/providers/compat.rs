//! OpenAI-compatible presets (in progress).
