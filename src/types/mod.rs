//! OpenAI wire types the router reads. Bodies pass through as JSON so unknown fields
//! survive; only what routing, cost and validation need is typed here.

pub mod audio;
pub mod object;
pub mod text_completion;
pub mod tokens;
pub mod usage;

use crate::config::Mode;

/// A Router method and the OpenAI endpoint behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    ChatCompletion,
    TextCompletion,
    Embedding,
    ImageGeneration,
    /// `/images/edits`: a multipart upload of the images (and mask) the host holds.
    ImageEdit,
    Moderation,
    Transcription,
    Speech,
    /// Cohere-style rerank (`/rerank`): a query scored against documents.
    Rerank,
    /// OpenAI's Responses API (`/responses`), passed through to OpenAI and Azure as is.
    Responses,
    /// A realtime WebSocket session (`/realtime`): the core plans the upgrade, the host
    /// opens and relays the socket (README, "Realtime").
    Realtime,
}

impl Endpoint {
    /// Path below the API base (`/v1`).
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::ChatCompletion => "/chat/completions",
            Endpoint::TextCompletion => "/completions",
            Endpoint::Embedding => "/embeddings",
            Endpoint::ImageGeneration => "/images/generations",
            Endpoint::ImageEdit => "/images/edits",
            Endpoint::Moderation => "/moderations",
            Endpoint::Transcription => "/audio/transcriptions",
            Endpoint::Speech => "/audio/speech",
            Endpoint::Rerank => "/rerank",
            Endpoint::Responses => "/responses",
            Endpoint::Realtime => "/realtime",
        }
    }

    /// The JS method name, for error messages.
    pub fn method(self) -> &'static str {
        match self {
            Endpoint::ChatCompletion => "completion",
            Endpoint::TextCompletion => "textCompletion",
            Endpoint::Embedding => "embedding",
            Endpoint::ImageGeneration => "imageGeneration",
            Endpoint::ImageEdit => "imageEdit",
            Endpoint::Moderation => "moderation",
            Endpoint::Transcription => "transcription",
            Endpoint::Speech => "speech",
            Endpoint::Rerank => "rerank",
            Endpoint::Responses => "responses",
            Endpoint::Realtime => "realtime",
        }
    }

    /// Whether a deployment of `mode` serves this endpoint (no mode: any).
    pub fn served_by(self, mode: Option<Mode>) -> bool {
        match (self, mode) {
            (_, None) => true,
            (Endpoint::ChatCompletion, Some(m)) => m == Mode::Chat,
            (Endpoint::TextCompletion, Some(m)) => m == Mode::Completion || m == Mode::Chat,
            (Endpoint::Embedding, Some(m)) => m == Mode::Embedding,
            (Endpoint::ImageGeneration | Endpoint::ImageEdit, Some(m)) => {
                m == Mode::ImageGeneration
            }
            (Endpoint::Moderation, Some(m)) => m == Mode::Moderation,
            (Endpoint::Transcription, Some(m)) => m == Mode::AudioTranscription,
            (Endpoint::Speech, Some(m)) => m == Mode::AudioSpeech,
            (Endpoint::Rerank, Some(m)) => m == Mode::Rerank,
            (Endpoint::Responses, Some(m)) => m == Mode::Chat,
            // LiteLLM's realtime models are listed as `mode: realtime` (chat ones also work
            // when the upstream model has a realtime API).
            (Endpoint::Realtime, Some(m)) => m == Mode::Realtime || m == Mode::Chat,
        }
    }
}
