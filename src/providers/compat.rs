//! OpenAI-compatible providers: ONE table of presets ([`PRESETS`]), each a row of data
//! (default `api_base`, auth, endpoints, parameter quirks) over the OpenAI request builder and
//! parser ([`super::openai::build`], [`super::openai::parse`]). Adding a provider is one row.
//!
//! | preset | default `api_base` | endpoints | quirks (chat unless noted) |
//! |---|---|---|---|
//! | `mistral` | `https://api.mistral.ai/v1` (`/v1` appended when missing) | chat, embeddings | `max_completion_tokens`→`max_tokens`, `seed`→`random_seed`; `tool_choice` `"required"` or a named function → `"any"`; `name` kept on tool messages only; null fields of assistant messages removed; keeps only `temperature`, `top_p`, `max_tokens`, `max_completion_tokens`, `tools`, `tool_choice`, `seed`, `stop`, `response_format`, `parallel_tool_calls` of OpenAI's params. Embeddings: `dimensions`→`output_dimension`, `user` dropped |
//! | `groq` | `https://api.groq.com/openai/v1` | chat | `logprobs`, `top_logprobs`, `logit_bias` and `messages[].name` dropped (Groq answers 400 to them); null fields of assistant messages removed |
//! | `deepseek` | `https://api.deepseek.com/beta` (LiteLLM's; chat and FIM completions) | chat, text | text-only content lists sent as one string |
//! | `together_ai` | `https://api.together.xyz/v1` | chat, text, embeddings | `response_format: {type: "text"}` dropped |
//! | `fireworks_ai` | `https://api.fireworks.ai/inference/v1` | chat, text, embeddings | bare model names get `accounts/fireworks/models/` (all endpoints); `max_completion_tokens`→`max_tokens`; `tool_choice: "required"`→`"any"`; `response_format` `json_schema` → `{type: "json_object", schema}`; keeps only `tools`, `tool_choice`, `max_tokens`, `max_completion_tokens`, `temperature`, `top_p`, `frequency_penalty`, `presence_penalty`, `n`, `stop`, `response_format`, `user`, `logprobs` of OpenAI's params |
//! | `openrouter` | `https://openrouter.ai/api/v1` | chat, text | `usage: {include: true}` added (OpenRouter then reports the cost); `HTTP-Referer`/`X-Title` go in `extra_headers`; a 200 reply carrying `error.code` is that error |
//! | `xai` | `https://api.x.ai/v1` | chat | `max_completion_tokens`→`max_tokens`; `function.strict` removed from tools; `messages[].name` dropped; `web_search_options`, `functions`, `function_call` dropped |
//! | `perplexity` | `https://api.perplexity.ai` | chat | `max_completion_tokens`→`max_tokens`; keeps only `temperature`, `top_p`, `max_tokens`, `frequency_penalty`, `presence_penalty`, `response_format`, `reasoning_effort`, `web_search_options` of OpenAI's params (no tools, `stop`, `n`, `seed`) |
//! | `deepinfra` | `https://api.deepinfra.com/v1/openai` | chat, text, embeddings | `max_completion_tokens`→`max_tokens`; `tool_choice` other than `"auto"`/`"none"` dropped; `seed`, `user`, `logprobs`, `top_logprobs`, `parallel_tool_calls` dropped |
//! | `cerebras` | `https://api.cerebras.ai/v1` | chat, text | `max_completion_tokens`→`max_tokens`; `frequency_penalty`, `presence_penalty`, `n`, `logit_bias`, `logprobs`, `top_logprobs`, `parallel_tool_calls` dropped |
//! | `ollama`, `ollama_chat` | `http://localhost:11434` + `/v1` | chat, text, embeddings | Ollama's OpenAI-compatible `/v1` API (LiteLLM's `ollama/` uses the native `/api/generate` and `ollama_chat/` `/api/chat`); `max_completion_tokens`→`max_tokens`; no key needed |
//! | `hosted_vllm` | none: `api_base` required | chat, text, embeddings, rerank (`/rerank`) | `strict` and `additionalProperties` removed from tool schemas; no key needed |
//! | `lm_studio` | `http://localhost:1234/v1` | chat, text, embeddings | no key needed |
//! | `cloudflare` | none: `api_base` required (`https://api.cloudflare.com/client/v4/accounts/<account_id>`, `/ai/v1` appended; LiteLLM-style `…/ai/run` becomes `…/ai/v1`) | chat, embeddings | Workers AI's OpenAI-compatible endpoints (LiteLLM uses the native `/ai/run/<model>`); `max_completion_tokens`→`max_tokens`; `{errors: [{code, message}]}` error bodies |
//! | `jina_ai` | `https://api.jina.ai/v1` | embeddings, rerank (`/v1/rerank`) | key required (`JINA_AI_API_KEY`) |
//! | `infinity` | none: `api_base` required | embeddings, rerank (`/rerank`) | no key needed |
//! | `huggingface` | none: `api_base` required (a Text Embeddings Inference server) | rerank only (`/rerank`, TEI's `texts` / `return_text`; the reply's list of `{index, score}`) | no key needed (`HUGGINGFACE_API_KEY` when set) |
//! | `voyage` | `https://api.voyageai.com/v1` | embeddings, rerank (`/v1/rerank`) | `dimensions`→`output_dimension`; `encoding_format: "float"` and `user` dropped; `usage.prompt_tokens` filled from `total_tokens` |
//!
//! Auth is `Authorization: Bearer <api_key>`. Cloud presets require `api_key` (or an
//! `Authorization` entry in `extra_headers`) at construction; as LiteLLM, an unset key (and
//! `api_base`) is read from `GROQ_API_KEY` and friends ([`crate::config::credentials`]).
//! Local presets send the key only when one is given. The `organization` setting is OpenAI's and is not sent.
//!
//! Every preset also: drops OpenAI params its row does not keep (LiteLLM's `drop_params`
//! behaviour; unknown, provider-specific fields pass through); classifies error bodies whose
//! message says the context is too long (`maximum context length is`, `maximum prompt length
//! is`, `too large for model with`, `` `inputs` tokens + `max_new_tokens` must be``) as
//! `ContextWindowExceededError`; and normalises replies: a list `content` (Mistral's thinking
//! blocks) becomes a string plus `reasoning_content`, an empty `finish_reason` next to tool
//! calls becomes `"tool_calls"` (xAI), reasoning tokens counted outside `completion_tokens`
//! are folded in (xAI), and embedding usage without `prompt_tokens` gets it from
//! `total_tokens`. Rerank requests and replies are translated by [`super::rerank`] (the
//! `rerank` field of a preset names its API).

use super::rerank::Api as RerankApi;
use super::{error_message, openai, Provider, RequestContext};
use crate::config::Deployment;
use crate::error::{ErrorKind, LlmError};
use crate::ports::{HttpRequest, HttpResponse};
use crate::reliability::classify;
use crate::types::audio::Upload;
use crate::types::object::Put;
use crate::types::Endpoint;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// How a preset authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <api_key>`, the key required; `env` is the variable LiteLLM
    /// would read it from (named in the configuration error).
    Bearer { env: &'static str },
    /// Bearer when a key is given; local servers need none.
    Optional,
}

/// What happens to `tool_choice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolChoice {
    Keep,
    /// `"required"` becomes `"any"`.
    RequiredAsAny,
    /// `"required"` and `{type: "function", …}` become `"any"`.
    ForcedAsAny,
    /// Only `"auto"` and `"none"` are sent; other values are dropped.
    AutoOrNoneOnly,
}

/// What happens to `messages[].name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    Keep,
    Drop,
    /// Kept (when non-empty) on tool messages only.
    DropExceptTool,
}

/// Parameter rules for one endpoint's body, applied in field order.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Fields added when absent: `(name, JSON text)`.
    pub defaults: &'static [(&'static str, &'static str)],
    /// Fields dropped when equal to a value: `(name, JSON text)`.
    pub drop_if: &'static [(&'static str, &'static str)],
    /// Fields always dropped.
    pub drop: &'static [&'static str],
    /// The OpenAI params the server understands (OpenAI's names, before renaming); other
    /// OpenAI params are dropped. `None`: all of them.
    pub supported: Option<&'static [&'static str]>,
    /// `(from, to)`: the value moves to `to`, replacing any value there.
    pub rename: &'static [(&'static str, &'static str)],
}

/// One OpenAI-compatible provider.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// The `custom_llm_provider` name.
    pub name: &'static str,
    /// Default API base; `None` means `api_base` is required.
    pub api_base: Option<&'static str>,
    /// Appended to the base unless the base already ends with this suffix's last segment.
    pub base_suffix: Option<&'static str>,
    /// `(from, to)`: a base ending in `from` ends in `to` instead.
    pub base_replace: &'static [(&'static str, &'static str)],
    pub auth: Auth,
    pub endpoints: &'static [Endpoint],
    /// Prepended to model names that do not already start with its first path segment.
    pub model_prefix: Option<&'static str>,
    pub chat: Params,
    pub embedding: Params,
    pub names: Names,
    pub tool_choice: ToolChoice,
    /// Keys removed from each tool's `function` and, recursively, its parameter schema.
    pub tool_schema_strip: &'static [&'static str],
    /// `response_format: {type: "json_schema", json_schema: {schema}}` is sent as
    /// `{type: "json_object", schema}`.
    pub json_schema_as_object: bool,
    /// Message content lists made only of text parts are sent as one string.
    pub flatten_text_content: bool,
    /// Null fields are removed from assistant messages.
    pub assistant_drop_nulls: bool,
    /// The rerank API the server speaks, when it serves `rerank()` (then `endpoints` lists
    /// `Rerank`).
    pub rerank: Option<super::rerank::Api>,
}

/// OpenAI's chat-completion parameters (what `Params::supported` filters).
pub const OPENAI_CHAT_PARAMS: &[&str] = &[
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "presence_penalty",
    "response_format",
    "seed",
    "stop",
    "stream",
    "stream_options",
    "temperature",
    "top_p",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "user",
    "function_call",
    "functions",
    "reasoning_effort",
    "modalities",
    "audio",
    "prediction",
    "service_tier",
    "store",
    "web_search_options",
    "verbosity",
];

/// Error-message fragments (lower-case) that mean "the prompt is too long" on these servers,
/// beyond the ones every provider shares (`classify`).
const CONTEXT_WINDOW_MARKERS: &[&str] = &[
    "maximum context length is",
    "maximum prompt length is",
    "too large for model with",
    "`inputs` tokens + `max_new_tokens` must be",
];

const ALL: Params = Params {
    defaults: &[],
    drop_if: &[],
    drop: &[],
    supported: None,
    rename: &[],
};

const MAX_TOKENS: &[(&str, &str)] = &[("max_completion_tokens", "max_tokens")];

const CHAT: &[Endpoint] = &[Endpoint::ChatCompletion];
const CHAT_TEXT: &[Endpoint] = &[Endpoint::ChatCompletion, Endpoint::TextCompletion];
/// Chat plus Whisper-style `/audio/transcriptions` (Groq).
const CHAT_TRANSCRIBE: &[Endpoint] = &[Endpoint::ChatCompletion, Endpoint::Transcription];
const CHAT_EMBED: &[Endpoint] = &[Endpoint::ChatCompletion, Endpoint::Embedding];
const CHAT_TEXT_EMBED: &[Endpoint] = &[
    Endpoint::ChatCompletion,
    Endpoint::TextCompletion,
    Endpoint::Embedding,
];

const BASE: Preset = Preset {
    name: "",
    api_base: None,
    base_suffix: None,
    base_replace: &[],
    auth: Auth::Optional,
    endpoints: CHAT,
    model_prefix: None,
    chat: ALL,
    embedding: ALL,
    names: Names::Keep,
    tool_choice: ToolChoice::Keep,
    tool_schema_strip: &[],
    json_schema_as_object: false,
    flatten_text_content: false,
    assistant_drop_nulls: false,
    rerank: None,
};

/// Every OpenAI-compatible preset (the module doc is the readable version of this table).
pub static PRESETS: &[Preset] = &[
    Preset {
        name: "mistral",
        api_base: Some("https://api.mistral.ai/v1"),
        base_suffix: Some("/v1"),
        auth: Auth::Bearer {
            env: "MISTRAL_API_KEY",
        },
        endpoints: CHAT_EMBED,
        chat: Params {
            supported: Some(&[
                "stream",
                "temperature",
                "top_p",
                "max_tokens",
                "max_completion_tokens",
                "tools",
                "tool_choice",
                "seed",
                "stop",
                "response_format",
                "parallel_tool_calls",
            ]),
            rename: &[
                ("max_completion_tokens", "max_tokens"),
                ("seed", "random_seed"),
            ],
            ..ALL
        },
        embedding: Params {
            drop: &["user"],
            rename: &[("dimensions", "output_dimension")],
            ..ALL
        },
        names: Names::DropExceptTool,
        tool_choice: ToolChoice::ForcedAsAny,
        assistant_drop_nulls: true,
        ..BASE
    },
    Preset {
        name: "groq",
        api_base: Some("https://api.groq.com/openai/v1"),
        auth: Auth::Bearer {
            env: "GROQ_API_KEY",
        },
        endpoints: CHAT_TRANSCRIBE,
        chat: Params {
            drop: &["logprobs", "top_logprobs", "logit_bias"],
            ..ALL
        },
        names: Names::Drop,
        assistant_drop_nulls: true,
        ..BASE
    },
    Preset {
        name: "deepseek",
        api_base: Some("https://api.deepseek.com/beta"),
        auth: Auth::Bearer {
            env: "DEEPSEEK_API_KEY",
        },
        endpoints: CHAT_TEXT,
        flatten_text_content: true,
        ..BASE
    },
    Preset {
        name: "together_ai",
        api_base: Some("https://api.together.xyz/v1"),
        auth: Auth::Bearer {
            env: "TOGETHER_API_KEY",
        },
        endpoints: CHAT_TEXT_EMBED,
        chat: Params {
            drop_if: &[("response_format", r#"{"type":"text"}"#)],
            ..ALL
        },
        ..BASE
    },
    Preset {
        name: "fireworks_ai",
        api_base: Some("https://api.fireworks.ai/inference/v1"),
        auth: Auth::Bearer {
            env: "FIREWORKS_API_KEY",
        },
        endpoints: CHAT_TEXT_EMBED,
        model_prefix: Some("accounts/fireworks/models/"),
        chat: Params {
            supported: Some(&[
                "stream",
                "tools",
                "tool_choice",
                "max_completion_tokens",
                "max_tokens",
                "temperature",
                "top_p",
                "frequency_penalty",
                "presence_penalty",
                "n",
                "stop",
                "response_format",
                "user",
                "logprobs",
            ]),
            rename: MAX_TOKENS,
            ..ALL
        },
        tool_choice: ToolChoice::RequiredAsAny,
        json_schema_as_object: true,
        ..BASE
    },
    Preset {
        name: "openrouter",
        api_base: Some("https://openrouter.ai/api/v1"),
        auth: Auth::Bearer {
            env: "OPENROUTER_API_KEY",
        },
        endpoints: CHAT_TEXT,
        chat: Params {
            defaults: &[("usage", r#"{"include":true}"#)],
            ..ALL
        },
        ..BASE
    },
    Preset {
        name: "xai",
        api_base: Some("https://api.x.ai/v1"),
        auth: Auth::Bearer { env: "XAI_API_KEY" },
        chat: Params {
            supported: Some(&[
                "logit_bias",
                "logprobs",
                "max_completion_tokens",
                "max_tokens",
                "n",
                "parallel_tool_calls",
                "presence_penalty",
                "frequency_penalty",
                "response_format",
                "seed",
                "stop",
                "stream",
                "stream_options",
                "temperature",
                "tool_choice",
                "tools",
                "top_logprobs",
                "top_p",
                "user",
                "reasoning_effort",
            ]),
            rename: MAX_TOKENS,
            ..ALL
        },
        names: Names::Drop,
        tool_schema_strip: &["strict"],
        ..BASE
    },
    Preset {
        name: "perplexity",
        api_base: Some("https://api.perplexity.ai"),
        auth: Auth::Bearer {
            env: "PERPLEXITYAI_API_KEY",
        },
        chat: Params {
            supported: Some(&[
                "stream",
                "temperature",
                "top_p",
                "max_tokens",
                "max_completion_tokens",
                "frequency_penalty",
                "presence_penalty",
                "response_format",
                "reasoning_effort",
                "web_search_options",
            ]),
            rename: MAX_TOKENS,
            ..ALL
        },
        ..BASE
    },
    Preset {
        name: "deepinfra",
        api_base: Some("https://api.deepinfra.com/v1/openai"),
        auth: Auth::Bearer {
            env: "DEEPINFRA_API_KEY",
        },
        endpoints: CHAT_TEXT_EMBED,
        chat: Params {
            supported: Some(&[
                "stream",
                "frequency_penalty",
                "function_call",
                "functions",
                "logit_bias",
                "max_tokens",
                "max_completion_tokens",
                "n",
                "presence_penalty",
                "stop",
                "temperature",
                "top_p",
                "response_format",
                "tools",
                "tool_choice",
            ]),
            rename: MAX_TOKENS,
            ..ALL
        },
        tool_choice: ToolChoice::AutoOrNoneOnly,
        ..BASE
    },
    Preset {
        name: "cerebras",
        api_base: Some("https://api.cerebras.ai/v1"),
        auth: Auth::Bearer {
            env: "CEREBRAS_API_KEY",
        },
        endpoints: CHAT_TEXT,
        chat: Params {
            supported: Some(&[
                "max_tokens",
                "max_completion_tokens",
                "response_format",
                "seed",
                "stop",
                "stream",
                "temperature",
                "top_p",
                "tool_choice",
                "tools",
                "user",
                "reasoning_effort",
            ]),
            rename: MAX_TOKENS,
            ..ALL
        },
        ..BASE
    },
    Preset {
        name: "ollama",
        api_base: Some("http://localhost:11434"),
        base_suffix: Some("/v1"),
        endpoints: CHAT_TEXT_EMBED,
        chat: Params {
            rename: MAX_TOKENS,
            ..ALL
        },
        ..BASE
    },
    Preset {
        name: "ollama_chat",
        api_base: Some("http://localhost:11434"),
        base_suffix: Some("/v1"),
        endpoints: CHAT_TEXT_EMBED,
        chat: Params {
            rename: MAX_TOKENS,
            ..ALL
        },
        ..BASE
    },
    Preset {
        name: "hosted_vllm",
        endpoints: &[
            Endpoint::ChatCompletion,
            Endpoint::TextCompletion,
            Endpoint::Embedding,
            Endpoint::Rerank,
        ],
        rerank: Some(RerankApi::Vllm),
        tool_schema_strip: &["strict", "additionalProperties"],
        ..BASE
    },
    Preset {
        name: "lm_studio",
        api_base: Some("http://localhost:1234/v1"),
        endpoints: CHAT_TEXT_EMBED,
        ..BASE
    },
    Preset {
        name: "cloudflare",
        base_suffix: Some("/ai/v1"),
        base_replace: &[("/ai/run", "/ai/v1")],
        auth: Auth::Bearer {
            env: "CLOUDFLARE_API_KEY",
        },
        endpoints: CHAT_EMBED,
        chat: Params {
            rename: MAX_TOKENS,
            ..ALL
        },
        ..BASE
    },
    Preset {
        name: "voyage",
        api_base: Some("https://api.voyageai.com/v1"),
        auth: Auth::Bearer {
            env: "VOYAGE_API_KEY",
        },
        endpoints: &[Endpoint::Embedding, Endpoint::Rerank],
        embedding: Params {
            drop_if: &[("encoding_format", r#""float""#)],
            drop: &["user"],
            rename: &[("dimensions", "output_dimension")],
            ..ALL
        },
        rerank: Some(RerankApi::Voyage),
        ..BASE
    },
    Preset {
        name: "jina_ai",
        api_base: Some("https://api.jina.ai/v1"),
        auth: Auth::Bearer {
            env: "JINA_API_KEY",
        },
        endpoints: &[Endpoint::Embedding, Endpoint::Rerank],
        rerank: Some(RerankApi::Jina),
        ..BASE
    },
    Preset {
        name: "infinity",
        endpoints: &[Endpoint::Embedding, Endpoint::Rerank],
        rerank: Some(RerankApi::Infinity),
        ..BASE
    },
    // Hugging Face Text Embeddings Inference (a self-hosted server or an Inference Endpoint):
    // rerank only, as LiteLLM's `huggingface/` rerank; its chat goes to other providers.
    Preset {
        name: "huggingface",
        endpoints: &[Endpoint::Rerank],
        rerank: Some(RerankApi::Tei),
        ..BASE
    },
];

/// The preset called `name`, if any.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

/// The preset called `name` as a provider (for `providers::lookup`).
pub fn provider(name: &str) -> Option<&'static dyn Provider> {
    preset(name).map(|p| p as &'static dyn Provider)
}

/// Construction-time checks of a deployment of a preset: a required `api_base` and key.
pub fn validate(d: &Deployment) -> Result<(), String> {
    let Some(p) = preset(&d.provider) else {
        return Ok(());
    };
    if p.api_base.is_none() && d.api_base.is_none() {
        return Err(match p.name {
            "huggingface" => "provider \"huggingface\" serves rerank() from a Text Embeddings Inference server: set api_base to its URL (e.g. http://localhost:8080; llmux appends /rerank)".to_string(),
            "cloudflare" => "provider \"cloudflare\" needs api_base: https://api.cloudflare.com/client/v4/accounts/<account_id> (llmux appends /ai/v1, Workers AI's OpenAI-compatible endpoint)".to_string(),
            name => format!("provider {name:?} needs api_base: the URL of your server's OpenAI-compatible API (e.g. http://localhost:8000/v1)"),
        });
    }
    if let Auth::Bearer { env } = p.auth {
        let header_auth = d
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"));
        if d.api_key.is_none() && !header_auth {
            let vars = crate::config::credentials::variables_for(p.name, "api_key");
            return Err(format!(
                "provider {:?} needs api_key: set it, or {} in the environment (the `env` option, else process.env / Deno.env)",
                p.name,
                if vars.is_empty() { env.to_string() } else { vars }
            ));
        }
    }
    Ok(())
}

impl Preset {
    /// The API base for a deployment, normalised (`None` when required and missing).
    pub fn base<'a>(&self, d: &'a Deployment) -> Option<Cow<'a, str>> {
        let given = d.api_base.as_deref().or(self.api_base)?;
        let mut base: Cow<'a, str> = Cow::Borrowed(given.trim_end_matches('/'));
        for (from, to) in self.base_replace {
            if let Some(head) = base.strip_suffix(from) {
                base = Cow::Owned(format!("{head}{to}"));
            }
        }
        if let Some(suffix) = self.base_suffix {
            let last = suffix
                .rfind('/')
                .map_or(suffix, |i| suffix.get(i..).unwrap_or(suffix));
            if !base.ends_with(last) {
                base = Cow::Owned(format!("{base}{suffix}"));
            }
        }
        Some(base)
    }

    /// The model name sent upstream.
    pub fn model<'a>(&self, model: &'a str) -> Cow<'a, str> {
        match self.model_prefix {
            Some(prefix) => {
                let root = prefix.split_inclusive('/').next().unwrap_or(prefix);
                if model.starts_with(root) {
                    Cow::Borrowed(model)
                } else {
                    Cow::Owned(format!("{prefix}{model}"))
                }
            }
            None => Cow::Borrowed(model),
        }
    }

    fn adapt_chat(&self, body: &mut Map<String, Value>) {
        if let Some(Value::Array(messages)) = body.get_mut("messages") {
            for m in messages.iter_mut() {
                if let Value::Object(m) = m {
                    self.adapt_message(m);
                }
            }
        }
        if !self.tool_schema_strip.is_empty() {
            if let Some(Value::Array(tools)) = body.get_mut("tools") {
                for tool in tools.iter_mut() {
                    if let Some(Value::Object(f)) = tool.get_mut("function") {
                        for key in self.tool_schema_strip {
                            f.remove(*key);
                        }
                        if let Some(schema) = f.get_mut("parameters") {
                            strip_schema_keys(schema, self.tool_schema_strip);
                        }
                    }
                }
            }
        }
        if let Some(choice) = body.get("tool_choice") {
            let forced = match choice {
                Value::String(s) => s == "required",
                Value::Object(_) => true,
                _ => false,
            };
            let named = choice.is_object();
            match self.tool_choice {
                ToolChoice::Keep => {}
                ToolChoice::RequiredAsAny if forced && !named => {
                    body.put("tool_choice", Value::String("any".into()));
                }
                ToolChoice::ForcedAsAny if forced => {
                    body.put("tool_choice", Value::String("any".into()));
                }
                ToolChoice::AutoOrNoneOnly
                    if !matches!(choice.as_str(), Some("auto") | Some("none")) =>
                {
                    body.remove("tool_choice");
                }
                _ => {}
            }
        }
        if self.json_schema_as_object {
            let schema = body
                .get("response_format")
                .filter(|f| f.get("type").and_then(Value::as_str) == Some("json_schema"))
                .map(|f| {
                    f.pointer("/json_schema/schema")
                        .cloned()
                        .unwrap_or(Value::Null)
                });
            if let Some(schema) = schema {
                let mut format = Map::new();
                format.put("type", Value::String("json_object".into()));
                if !schema.is_null() {
                    format.put("schema", schema);
                }
                body.put("response_format", Value::Object(format));
            }
        }
        apply_params(&self.chat, body);
    }

    fn adapt_message(&self, m: &mut Map<String, Value>) {
        let is_tool = m.get("role").and_then(Value::as_str) == Some("tool");
        let is_assistant = m.get("role").and_then(Value::as_str) == Some("assistant");
        match self.names {
            Names::Keep => {}
            Names::Drop => {
                m.remove("name");
            }
            Names::DropExceptTool => {
                let keep = is_tool
                    && m.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| !n.trim().is_empty());
                if !keep {
                    m.remove("name");
                }
            }
        }
        if self.assistant_drop_nulls && is_assistant {
            m.retain(|_, v| !v.is_null());
        }
        if self.flatten_text_content {
            let text = match m.get("content") {
                Some(Value::Array(parts)) if !parts.is_empty() => parts
                    .iter()
                    .map(|p| match p.get("type").and_then(Value::as_str) {
                        Some("text") => p.get("text").and_then(Value::as_str),
                        _ => None,
                    })
                    .collect::<Option<String>>(),
                _ => None,
            };
            if let Some(text) = text {
                m.put("content", Value::String(text));
            }
        }
    }

    /// A rerank request in the server's own API (`rerank.rs`), to the URL LiteLLM builds.
    fn rerank_request(
        &self,
        d: &Deployment,
        body: Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        let api = self
            .rerank
            .ok_or_else(|| crate::providers::unsupported(self.name, Endpoint::Rerank))?;
        let default = self.api_base.unwrap_or_default();
        let url = super::rerank::url(api, d.api_base.as_deref(), default);
        let payload = super::rerank::body(api, &self.model(&d.model), body)?;
        super::rerank::post(url, d, &payload, ctx)
    }

    /// An error reply, with the compat context-window markers and Cloudflare's error list.
    fn error(&self, response: &HttpResponse) -> LlmError {
        let message = compat_error_message(response);
        let lower = message.to_ascii_lowercase();
        let mut err = classify::from_status(response, message);
        if matches!(response.status, 400 | 413 | 422)
            && matches!(
                err.kind,
                ErrorKind::BadRequestError | ErrorKind::UnprocessableEntityError
            )
            && CONTEXT_WINDOW_MARKERS.iter().any(|m| lower.contains(m))
        {
            err.kind = ErrorKind::ContextWindowExceededError;
        }
        err
    }
}

impl Provider for Preset {
    fn name(&self) -> &'static str {
        self.name
    }

    fn supports(&self, endpoint: Endpoint) -> bool {
        self.endpoints.contains(&endpoint)
    }

    fn build_request(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        mut body: Map<String, Value>,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        let base = self.base(d).ok_or_else(|| {
            LlmError::bad_request(format!("provider {} needs api_base", self.name))
        })?;
        match endpoint {
            Endpoint::ChatCompletion => self.adapt_chat(&mut body),
            Endpoint::Embedding => apply_params(&self.embedding, &mut body),
            Endpoint::Rerank => return self.rerank_request(d, body, ctx),
            Endpoint::Realtime => return Err(super::unsupported(self.name, endpoint)),
            Endpoint::Responses => {}
            Endpoint::TextCompletion
            | Endpoint::ImageGeneration
            | Endpoint::ImageEdit
            | Endpoint::Moderation
            | Endpoint::Transcription
            | Endpoint::Speech => {}
        }
        if ctx.stream {
            // Presets that list their parameters and leave out `stream_options` reject it.
            let usage = self
                .chat
                .supported
                .is_none_or(|list| list.contains(&"stream_options"));
            openai::request_stream(&mut body, endpoint, usage);
        }
        let mut auth = Vec::new();
        if let Some(key) = &d.api_key {
            auth.push(("authorization".into(), format!("Bearer {}", key.expose())));
        }
        openai::build(&base, &self.model(&d.model), auth, d, endpoint, body, ctx)
    }

    fn stream_decoder(
        &self,
        _d: &Deployment,
        endpoint: Endpoint,
        ctx: &crate::stream::StreamContext,
    ) -> Option<Box<dyn crate::stream::StreamDecoder>> {
        if !self.supports(endpoint) {
            return None;
        }
        openai::stream_decoder(self.name, endpoint, ctx)
    }

    fn build_upload(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
        body: Map<String, Value>,
        upload: &Upload,
        ctx: &RequestContext,
    ) -> Result<HttpRequest, LlmError> {
        if !self.supports(endpoint) {
            return Err(crate::providers::unsupported(self.name, endpoint));
        }
        let base = self.base(d).ok_or_else(|| {
            LlmError::bad_request(format!("provider {} needs api_base", self.name))
        })?;
        let mut auth = Vec::new();
        if let Some(key) = &d.api_key {
            auth.push(("authorization".into(), format!("Bearer {}", key.expose())));
        }
        let url = super::join_url(&base, endpoint.path());
        openai::build_upload(&url, &self.model(&d.model), auth, d, body, upload, ctx)
    }

    fn parse_response(
        &self,
        _d: &Deployment,
        endpoint: Endpoint,
        response: &HttpResponse,
    ) -> Result<Value, LlmError> {
        if !(200..300).contains(&response.status) {
            return Err(self.error(response));
        }
        if let Some(err) = error_in_success(endpoint, response) {
            return Err(self.error(&err));
        }
        if let (Endpoint::Rerank, Some(api)) = (endpoint, self.rerank) {
            let reply: Value = classify::json_body(&response.body)?;
            return super::rerank::parse(api, &reply, &response.body);
        }
        let mut value = openai::parse(endpoint, response)?;
        match endpoint {
            Endpoint::ChatCompletion => normalize_chat(&mut value),
            Endpoint::Embedding => normalize_embedding(&mut value),
            Endpoint::Rerank
            | Endpoint::Responses
            | Endpoint::TextCompletion
            | Endpoint::ImageGeneration
            | Endpoint::ImageEdit
            | Endpoint::Moderation
            | Endpoint::Transcription
            | Endpoint::Speech
            | Endpoint::Realtime => {}
        }
        Ok(value)
    }
}

/// Applies one endpoint's parameter rules to a request body.
pub fn apply_params(rules: &Params, body: &mut Map<String, Value>) {
    for (key, json) in rules.defaults {
        if !body.contains_key(*key) {
            if let Ok(v) = serde_json::from_str::<Value>(json) {
                body.insert((*key).to_string(), v);
            }
        }
    }
    for (key, json) in rules.drop_if {
        let matches = match (body.get(*key), serde_json::from_str::<Value>(json)) {
            (Some(v), Ok(target)) => *v == target,
            _ => false,
        };
        if matches {
            body.remove(*key);
        }
    }
    for key in rules.drop {
        body.remove(*key);
    }
    if let Some(supported) = rules.supported {
        body.retain(|k, _| {
            !OPENAI_CHAT_PARAMS.contains(&k.as_str()) || supported.contains(&k.as_str())
        });
    }
    for (from, to) in rules.rename {
        if let Some(v) = body.remove(*from) {
            body.insert((*to).to_string(), v);
        }
    }
}

/// Removes `keys` from a JSON schema at every level, except where they name a property.
fn strip_schema_keys(schema: &mut Value, keys: &[&str]) {
    match schema {
        Value::Object(map) => {
            for key in keys {
                map.remove(*key);
            }
            for (name, child) in map.iter_mut() {
                if name == "properties" {
                    if let Value::Object(props) = child {
                        for prop in props.values_mut() {
                            strip_schema_keys(prop, keys);
                        }
                    }
                } else {
                    strip_schema_keys(child, keys);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                strip_schema_keys(item, keys);
            }
        }
        _ => {}
    }
}

/// The message of an error body: Cloudflare's `{errors: [{code, message}]}`, else the
/// OpenAI-style and generic shapes.
fn compat_error_message(response: &HttpResponse) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(&response.body) {
        if let Some(errors) = v.get("errors").and_then(Value::as_array) {
            let parts: Vec<String> = errors
                .iter()
                .filter_map(|e| {
                    let msg = e.get("message").and_then(Value::as_str)?;
                    Some(match e.get("code").filter(|c| !c.is_null()) {
                        Some(code) => format!("{msg} (code: {code})"),
                        None => msg.to_string(),
                    })
                })
                .collect();
            if !parts.is_empty() {
                return parts.join("; ");
            }
        }
    }
    error_message(response)
}

/// A 2xx reply that is really an error with an HTTP code (OpenRouter's
/// `{"error": {"code": 429, "message": …}}`), as the error reply it stands for.
fn error_in_success(endpoint: Endpoint, response: &HttpResponse) -> Option<HttpResponse> {
    let v: Value = serde_json::from_slice(&response.body).ok()?;
    let expected = match endpoint {
        Endpoint::ChatCompletion | Endpoint::TextCompletion => "choices",
        Endpoint::Embedding | Endpoint::ImageGeneration | Endpoint::ImageEdit => "data",
        Endpoint::Moderation | Endpoint::Rerank => "results",
        Endpoint::Responses => "output",
        // Audio replies are not JSON lists; their errors come with error statuses.
        Endpoint::Transcription | Endpoint::Speech | Endpoint::Realtime => return None,
    };
    if v.get(expected).is_some_and(Value::is_array) {
        return None;
    }
    let code = v.pointer("/error/code").and_then(Value::as_u64)?;
    let status = u16::try_from(code)
        .ok()
        .filter(|c| (400..600).contains(c))?;
    Some(HttpResponse {
        status,
        ..response.clone()
    })
}

fn normalize_chat(value: &mut Value) {
    if let Some(Value::Array(choices)) = value.get_mut("choices") {
        for choice in choices.iter_mut() {
            let Value::Object(choice) = choice else {
                continue;
            };
            let has_tool_calls = choice
                .get("message")
                .and_then(|m| m.get("tool_calls"))
                .and_then(Value::as_array)
                .is_some_and(|c| !c.is_empty());
            if let Some(Value::Object(message)) = choice.get_mut("message") {
                flatten_reply_content(message);
            }
            let empty_finish = match choice.get("finish_reason") {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                _ => false,
            };
            if has_tool_calls && empty_finish {
                choice.put("finish_reason", Value::String("tool_calls".into()));
            }
        }
    }
    if let Some(Value::Object(usage)) = value.get_mut("usage") {
        normalize_usage(usage);
    }
}

/// Usage as OpenAI counts it: reasoning tokens reported outside `completion_tokens` (xAI)
/// moved in, a missing `total_tokens` added. Shared with the stream decoder.
pub(crate) fn normalize_usage(usage: &mut Map<String, Value>) {
    let get = |u: &Map<String, Value>, k: &str| u.get(k).and_then(Value::as_u64);
    let prompt = get(usage, "prompt_tokens").unwrap_or(0);
    let mut completion = get(usage, "completion_tokens").unwrap_or(0);
    let reasoning = usage
        .get("completion_tokens_details")
        .and_then(|d| d.get("reasoning_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    match get(usage, "total_tokens") {
        Some(total)
            if reasoning > 0
                && prompt
                    .checked_add(completion)
                    .and_then(|n| n.checked_add(reasoning))
                    == Some(total) =>
        {
            completion = completion.saturating_add(reasoning);
            usage.put("completion_tokens", completion.into());
        }
        Some(_) => {}
        None => {
            usage.put("total_tokens", prompt.saturating_add(completion).into());
        }
    }
}

/// A reply `content` given as a list of blocks (text, Mistral's thinking) as a string, the
/// thinking as `reasoning_content`.
pub(crate) fn flatten_reply_content(message: &mut Map<String, Value>) {
    let Some(Value::Array(blocks)) = message.get("content") else {
        return;
    };
    let mut text = String::new();
    let mut thinking = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("thinking") => {
                let parts = match block.get("thinking") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(parts)) => parts
                        .iter()
                        .filter_map(|p| p.get("text").and_then(Value::as_str))
                        .collect(),
                    _ => String::new(),
                };
                if !parts.is_empty() {
                    thinking.push(parts);
                }
            }
            _ => {}
        }
    }
    message.put("content", Value::String(text));
    if !thinking.is_empty() && !message.contains_key("reasoning_content") {
        message.insert(
            "reasoning_content".into(),
            Value::String(thinking.join("\n")),
        );
    }
}

fn normalize_embedding(value: &mut Value) {
    if let Some(Value::Object(usage)) = value.get_mut("usage") {
        if !usage.contains_key("prompt_tokens") {
            if let Some(total) = usage.get("total_tokens").cloned() {
                usage.put("prompt_tokens", total);
            }
        }
    }
}
