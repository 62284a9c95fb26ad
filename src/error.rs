//! The one error taxonomy: every failure becomes an `LlmError` of one `ErrorKind`.
//! Routing, retries, cooldowns and fallbacks decide on the kind alone.

use crate::types::object::Put;
use serde::Serialize;
use std::fmt;

/// The kinds mirror OpenAI's and LiteLLM's exception classes; the wasm layer maps
/// each one to the JS class of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ErrorKind {
    BadRequestError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    Timeout,
    UnprocessableEntityError,
    RateLimitError,
    ContextWindowExceededError,
    ContentPolicyViolationError,
    InternalServerError,
    ServiceUnavailableError,
    APIConnectionError,
    NoDeploymentsAvailableError,
    ConfigError,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 14] = [
        ErrorKind::BadRequestError,
        ErrorKind::AuthenticationError,
        ErrorKind::PermissionDeniedError,
        ErrorKind::NotFoundError,
        ErrorKind::Timeout,
        ErrorKind::UnprocessableEntityError,
        ErrorKind::RateLimitError,
        ErrorKind::ContextWindowExceededError,
        ErrorKind::ContentPolicyViolationError,
        ErrorKind::InternalServerError,
        ErrorKind::ServiceUnavailableError,
        ErrorKind::APIConnectionError,
        ErrorKind::NoDeploymentsAvailableError,
        ErrorKind::ConfigError,
    ];

    /// The class name, as exported from the JS package under `errors`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadRequestError => "BadRequestError",
            ErrorKind::AuthenticationError => "AuthenticationError",
            ErrorKind::PermissionDeniedError => "PermissionDeniedError",
            ErrorKind::NotFoundError => "NotFoundError",
            ErrorKind::Timeout => "Timeout",
            ErrorKind::UnprocessableEntityError => "UnprocessableEntityError",
            ErrorKind::RateLimitError => "RateLimitError",
            ErrorKind::ContextWindowExceededError => "ContextWindowExceededError",
            ErrorKind::ContentPolicyViolationError => "ContentPolicyViolationError",
            ErrorKind::InternalServerError => "InternalServerError",
            ErrorKind::ServiceUnavailableError => "ServiceUnavailableError",
            ErrorKind::APIConnectionError => "APIConnectionError",
            ErrorKind::NoDeploymentsAvailableError => "NoDeploymentsAvailableError",
            ErrorKind::ConfigError => "ConfigError",
        }
    }

    /// The HTTP status LiteLLM reports for the kind when the upstream gave none.
    pub fn default_status(self) -> u16 {
        match self {
            ErrorKind::BadRequestError
            | ErrorKind::ContextWindowExceededError
            | ErrorKind::ContentPolicyViolationError
            | ErrorKind::ConfigError => 400,
            ErrorKind::AuthenticationError => 401,
            ErrorKind::PermissionDeniedError => 403,
            ErrorKind::NotFoundError => 404,
            ErrorKind::Timeout => 408,
            ErrorKind::UnprocessableEntityError => 422,
            ErrorKind::RateLimitError | ErrorKind::NoDeploymentsAvailableError => 429,
            ErrorKind::InternalServerError | ErrorKind::APIConnectionError => 500,
            ErrorKind::ServiceUnavailableError => 503,
        }
    }

    /// Whether trying again (here or on another deployment) can succeed.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Timeout
                | ErrorKind::RateLimitError
                | ErrorKind::NoDeploymentsAvailableError
                | ErrorKind::InternalServerError
                | ErrorKind::ServiceUnavailableError
                | ErrorKind::APIConnectionError
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failure with everything a caller needs to act on it, and never a secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmError {
    pub kind: ErrorKind,
    pub message: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// Milliseconds the upstream asked us to wait (`retry-after`, `retry-after-ms`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// For `ConfigError`: the offending field path, e.g. `model_list[2].litellm_params.model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Number of attempts made before giving up (set by the router).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Whether `status` is an HTTP status the upstream replied with (not one assigned here,
    /// as for a client-side timeout). Only upstream statuses cool a deployment down at once.
    #[serde(skip)]
    pub from_upstream: bool,
    /// What the upstream's error reply said beyond its status (headers, request id, OpenAI's
    /// `type`/`code`/`param`), for callers that read them as openai-node's `APIError` has them.
    #[serde(skip)]
    pub upstream: Option<Box<UpstreamReply>>,
}

/// The parts of an upstream error reply a caller may act on (README, "Errors").
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpstreamReply {
    /// The reply's headers (lower-case names) as the transport kept them: at most
    /// `MAX_ERROR_HEADERS`, `set-cookie` never.
    pub headers: Vec<(String, String)>,
    /// `x-request-id`.
    pub request_id: Option<String>,
    /// `error.type` of an OpenAI-style error body.
    pub error_type: Option<String>,
    /// `error.code` (a string or a number).
    pub code: Option<serde_json::Value>,
    /// `error.param`.
    pub param: Option<String>,
}

/// Upstream error headers kept on an error; further ones are dropped.
pub const MAX_ERROR_HEADERS: usize = 64;
/// An upstream error header value longer than this (bytes) is dropped.
pub const MAX_ERROR_HEADER_BYTES: usize = 1024;

impl UpstreamReply {
    /// Whether a header of an error reply is kept (`set-cookie` never is).
    pub fn keeps_header(name: &str, value: &str) -> bool {
        !name.eq_ignore_ascii_case("set-cookie") && value.len() <= MAX_ERROR_HEADER_BYTES
    }

    fn insert_into(&self, obj: &mut serde_json::Map<String, serde_json::Value>) {
        let headers: serde_json::Map<String, serde_json::Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        obj.put("headers", headers.into());
        if let Some(id) = &self.request_id {
            obj.put("request_id", id.clone().into());
        }
        if let Some(t) = &self.error_type {
            obj.put("type", t.clone().into());
        }
        if let Some(c) = &self.code {
            obj.put("code", c.clone());
        }
        if let Some(p) = &self.param {
            obj.put("param", p.clone().into());
        }
    }
}

impl LlmError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        LlmError {
            kind,
            message: message.into(),
            status: kind.default_status(),
            llm_provider: None,
            model: None,
            model_group: None,
            deployment_id: None,
            retry_after_ms: None,
            field: None,
            attempts: None,
            from_upstream: false,
            upstream: None,
        }
    }

    /// A configuration error at `field`; the message starts with the path.
    pub fn config(field: impl Into<String>, message: impl fmt::Display) -> Self {
        let field = field.into();
        let mut err = LlmError::new(ErrorKind::ConfigError, format!("{field}: {message}"));
        err.field = Some(field);
        err
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        LlmError::new(ErrorKind::BadRequestError, message)
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn with_retry_after(mut self, ms: Option<u64>) -> Self {
        self.retry_after_ms = ms;
        self
    }

    pub fn retryable(&self) -> bool {
        self.kind.retryable()
    }

    /// The error as JSON for the JS layer (`retryable` included).
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(obj) = value.as_object_mut() {
            obj.put("retryable", self.retryable().into());
            if let Some(upstream) = &self.upstream {
                upstream.insert_into(obj);
            }
        }
        value
    }
}

impl fmt::Display for LlmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for LlmError {}

pub type Result<T, E = LlmError> = std::result::Result<T, E>;
