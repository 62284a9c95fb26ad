//! Google AI Studio Gemini (in progress).
