//! One `model_list` entry, validated: provider, endpoint, credentials, limits and model_info.
//! Unknown fields are errors, so a typo never silently changes behaviour.

use super::credentials;
use super::fields::{opt_bool, opt_f64, opt_str, opt_u64, seconds_to_ms, Child};
use super::litellm_params::{self, Class};
use super::provider_names::split_model;
use super::wildcard::{self, WildcardModel};
use super::ProviderCheck;
use crate::error::LlmError;
use crate::types::object::Put;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;

/// A credential that never prints: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A `model_list` entry as given (env references resolved, defaults not merged), kept so
/// `updateDeployment` can deep-merge a patch into it. Never printed: it holds credentials.
#[derive(Clone, Default, PartialEq)]
pub struct SourceEntry(pub Value);

impl fmt::Debug for SourceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SourceEntry(..)")
    }
}

/// Which OpenAI endpoint a deployment serves (`model_info.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Chat,
    Completion,
    Embedding,
    ImageGeneration,
    AudioTranscription,
    AudioSpeech,
    Moderation,
    Rerank,
    /// `realtime`: served by `realtime()` only.
    Realtime,
    /// A mode LiteLLM knows and llmux serves no endpoint for (`batch`, `responses`,
    /// `ocr`, …; the name stays in `model_info.mode`): answers no call.
    Other,
}

impl Mode {
    pub const NAMES: [&'static str; 9] = [
        "chat",
        "completion",
        "embedding",
        "image_generation",
        "audio_transcription",
        "audio_speech",
        "moderation",
        "rerank",
        "realtime",
    ];

    pub fn parse(s: &str) -> Option<Mode> {
        Some(match s {
            "chat" => Mode::Chat,
            "completion" => Mode::Completion,
            "embedding" => Mode::Embedding,
            "image_generation" => Mode::ImageGeneration,
            "audio_transcription" => Mode::AudioTranscription,
            "audio_speech" => Mode::AudioSpeech,
            "moderation" => Mode::Moderation,
            "rerank" => Mode::Rerank,
            "realtime" => Mode::Realtime,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Chat => "chat",
            Mode::Completion => "completion",
            Mode::Embedding => "embedding",
            Mode::ImageGeneration => "image_generation",
            Mode::AudioTranscription => "audio_transcription",
            Mode::AudioSpeech => "audio_speech",
            Mode::Moderation => "moderation",
            Mode::Rerank => "rerank",
            Mode::Realtime => "realtime",
            Mode::Other => "other",
        }
    }
}

/// The keys of a `model_list` entry (LiteLLM keeps any other as an unused extra).
const ENTRY_FIELDS: &[&str] = &["model_name", "litellm_params", "model_info", "rpm", "tpm"];

/// `litellm_params` fields the router consumes itself (everything else must be an
/// OpenAI request parameter, forwarded as a per-deployment default).
const LITELLM_FIELDS: &[&str] = &[
    "model",
    "api_key",
    "api_base",
    "base_url",
    "api_version",
    "timeout",
    "stream_timeout",
    "max_retries",
    "custom_llm_provider",
    "rpm",
    "tpm",
    "weight",
    "organization",
    "extra_headers",
    "headers",
    "extra_body",
    "input_cost_per_token",
    "output_cost_per_token",
    "input_cost_per_second",
    "output_cost_per_second",
    "cost_per_second",
    "cooldown_time",
    "tags",
    "max_parallel_requests",
    "order",
    "max_budget",
    "budget_duration",
];

/// Provider-specific `litellm_params` (LiteLLM's names), kept as secrets for the provider
/// module to read with `Deployment::provider_param`.
pub const PROVIDER_FIELDS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_region_name",
    "aws_bedrock_runtime_endpoint",
    "azure_ad_token",
    "vertex_project",
    "vertex_location",
    "vertex_credentials",
];

/// `litellm_params` that LiteLLM accepts and llmux does not implement yet: rejected
/// with a clear error instead of being ignored.
const NOT_YET_SUPPORTED: &[(&str, &str)] = &[];

/// OpenAI request parameters a deployment may set as defaults (the request wins).
const REQUEST_DEFAULTS: &[&str] = &[
    "temperature",
    "top_p",
    "n",
    "stop",
    "max_tokens",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "seed",
    "response_format",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "reasoning_effort",
    "user",
    "dimensions",
    "encoding_format",
    "service_tier",
    "store",
    "modalities",
    "prediction",
    "audio",
    "web_search_options",
    "verbosity",
];

#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub id: String,
    pub mode: Option<Mode>,
    pub input_cost_per_token: Option<f64>,
    pub output_cost_per_token: Option<f64>,
    /// Per second of response time (or of audio, for transcription), as LiteLLM prices it.
    pub per_second: PerSecondPrices,
    pub max_tokens: Option<u64>,
    pub max_input_tokens: Option<u64>,
    pub max_output_tokens: Option<u64>,
    /// The entry as written (with the generated `id`), returned by `getDeployments()`.
    pub raw: Map<String, Value>,
}

impl ModelInfo {
    /// `model_info.access_groups` (validated to be strings when parsed).
    pub fn access_groups(&self) -> impl Iterator<Item = &str> {
        self.raw
            .get("access_groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }
}

/// `cost_per_second`, `input_cost_per_second` and `output_cost_per_second` (USD).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PerSecondPrices {
    pub cost_per_second: Option<f64>,
    pub input_cost_per_second: Option<f64>,
    pub output_cost_per_second: Option<f64>,
}

impl PerSecondPrices {
    /// The per-second prices of `obj`, the object at `parent`.
    fn parse(obj: &Map<String, Value>, parent: &str) -> Result<PerSecondPrices, LlmError> {
        let field = |key| Child { parent, key };
        let price = |key: &'static str| -> Result<Option<f64>, LlmError> {
            let value = opt_f64(obj, key, &field(key))?;
            match value {
                Some(v) if !(v.is_finite() && v >= 0.0) => Err(LlmError::config(
                    field(key),
                    "must be a non-negative number (USD per second)",
                )),
                _ => Ok(value),
            }
        };
        Ok(PerSecondPrices {
            cost_per_second: price("cost_per_second")?,
            input_cost_per_second: price("input_cost_per_second")?,
            output_cost_per_second: price("output_cost_per_second")?,
        })
    }

    pub fn is_set(&self) -> bool {
        self.cost_per_second.is_some()
            || self.input_cost_per_second.is_some()
            || self.output_cost_per_second.is_some()
    }

    /// These prices, each over `under`'s where unset.
    pub fn or(self, under: PerSecondPrices) -> PerSecondPrices {
        PerSecondPrices {
            cost_per_second: self.cost_per_second.or(under.cost_per_second),
            input_cost_per_second: self.input_cost_per_second.or(under.input_cost_per_second),
            output_cost_per_second: self.output_cost_per_second.or(under.output_cost_per_second),
        }
    }
}

/// An object of the operator's whose `Debug` shows only its names: a deployment's body
/// defaults, `default_litellm_params`. Any value in them (nested in an object or an array,
/// under any name) may be what an `os.environ/` reference resolved to a credential.
#[derive(Clone, Default, PartialEq)]
pub struct NamesOnly(pub Map<String, Value>);

impl fmt::Debug for NamesOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NamesOnly")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl std::ops::Deref for NamesOnly {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Map<String, Value> {
        &self.0
    }
}

/// A validated deployment: one provider endpoint serving a model group.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub id: String,
    pub model_group: String,
    /// `custom_llm_provider`, from the `provider/` prefix or the explicit field.
    pub provider: String,
    /// The model name sent upstream (the prefix removed).
    pub model: String,
    pub api_key: Option<Secret>,
    pub api_base: Option<String>,
    /// `api_base` as shown in listings, `_hidden_params`, health output and cache entries:
    /// userinfo and query values replaced by `***`.
    pub api_base_shown: Option<String>,
    pub api_version: Option<String>,
    pub organization: Option<String>,
    pub timeout_ms: Option<u64>,
    pub stream_timeout_ms: Option<u64>,
    /// Retries of a retryable failure against this same deployment, within one attempt.
    pub max_retries: u32,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub weight: Option<f64>,
    pub cooldown_time_ms: Option<u64>,
    /// Requests in flight at once on this deployment (`max_parallel_requests`).
    pub max_parallel_requests: Option<u64>,
    /// `tags` (tag routing: `enable_tag_filtering`).
    pub tags: Vec<String>,
    /// The deployment's tier (`order`): lower tiers are tried first (README, "Order tiers").
    pub order: Option<i64>,
    /// `max_budget` USD per `budget_duration` window (`src/router/budget.rs`).
    pub budget: Option<super::budget::Budget>,
    /// Extra headers; values are kept as secrets since they often carry credentials.
    pub headers: Vec<(String, Secret)>,
    /// Provider-specific settings (`PROVIDER_FIELDS`), strings as given, other JSON as text.
    pub provider_params: Vec<(String, Secret)>,
    /// Request defaults (OpenAI parameters and `extra_body`), merged under the request.
    pub request_defaults: NamesOnly,
    pub input_cost_per_token: Option<f64>,
    pub output_cost_per_token: Option<f64>,
    pub per_second: PerSecondPrices,
    pub model_info: ModelInfo,
    /// The entry as given, for deep-merge updates.
    pub source: SourceEntry,
    /// `litellm_params` as given, credentials already replaced by `"***"` (for listings).
    pub litellm_params_redacted: Map<String, Value>,
    /// The deployment's prices, resolved once (the router's `model_cost`).
    pub priced: Memo<std::rc::Rc<crate::cost::ModelCost>>,
    /// A `model` with a `*`, filled from each request (`for_match`).
    pub wildcard: Option<WildcardModel>,
    /// For the logger, once: entry keys and LiteLLM settings ignored, body fields forwarded.
    pub warnings: Vec<String>,
}

/// A value derived once from a deployment's other fields. Not part of its identity (always
/// equal) and not carried by a clone, which may be changed before it is used.
#[derive(Debug, Default)]
pub struct Memo<T>(std::cell::OnceCell<T>);

impl<T> Memo<T> {
    pub fn get_or_init(&self, init: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(init)
    }
}

impl<T> Clone for Memo<T> {
    fn clone(&self) -> Self {
        Memo(std::cell::OnceCell::new())
    }
}

impl<T> PartialEq for Memo<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Deployment {
    /// Parses `entry` (already env-resolved, defaults merged) at `path` (`model_list[3]`),
    /// with the settings the provider reads from the environment (`OPENAI_API_KEY`,
    /// `AWS_REGION_NAME`, …; [`super::credentials`]) filled from `env` where the entry leaves
    /// them unset, and `check` (the provider's own checks) applied. The id and the listing are
    /// the entry's own. The caller sets `source` (the entry as given, before defaults are
    /// merged). `Deployment::parse` (in `providers::validate`) is the short form.
    pub fn parse_in(
        entry: &Value,
        path: &str,
        env: &HashMap<String, String>,
        check: ProviderCheck,
    ) -> Result<Deployment, LlmError> {
        let obj = entry.as_object().ok_or_else(|| {
            LlmError::config(path, "must be an object with model_name and litellm_params")
        })?;
        let mut warnings = Vec::new();
        let extras: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| !ENTRY_FIELDS.contains(k))
            .collect();
        if !extras.is_empty() {
            // LiteLLM keeps other keys of an entry as extras and does nothing with them.
            warnings.push(format!(
                "llmux: {path}: ignoring {} (a deployment has model_name, litellm_params, model_info, rpm and tpm)",
                extras.join(", ")
            ));
        }
        let model_group = match obj.get("model_name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(_) => {
                return Err(LlmError::config(
                    format!("{path}.model_name"),
                    "must be a non-empty string",
                ))
            }
            None => {
                return Err(LlmError::config(
                    format!("{path}.model_name"),
                    "is required",
                ))
            }
        };
        let lp_path = format!("{path}.litellm_params");
        let params = match obj.get("litellm_params") {
            Some(Value::Object(m)) => m,
            Some(_) => return Err(LlmError::config(&lp_path, "must be an object")),
            // LiteLLM refuses such an entry too (a KeyError), even with ignore_invalid_deployments.
            None => {
                return Err(LlmError::config(
                    &lp_path,
                    "is required: an object with at least the model (e.g. { model: \"openai/gpt-4o-mini\" })",
                ))
            }
        };
        let field = |key| Child {
            parent: &lp_path,
            key,
        };
        // LiteLLM copies an entry's own rpm/tpm into litellm_params when those leave them unset.
        let mut lifted: Option<Map<String, Value>> = None;
        for key in ["rpm", "tpm"] {
            let top = format!("{path}.{key}");
            if let Some(n) = opt_u64(obj, key, &top)? {
                if params.get(key).is_none_or(Value::is_null) {
                    lifted
                        .get_or_insert_with(|| params.clone())
                        .insert(key.to_string(), Value::from(n));
                }
            }
        }
        let params = lifted.as_ref().unwrap_or(params);

        let mut request_defaults = Map::new();
        let mut ignored = Vec::new();
        let mut forwarded = Vec::new();
        for (key, value) in params {
            if let Some((_, what)) = NOT_YET_SUPPORTED.iter().find(|(k, _)| k == key) {
                if !value.is_null() {
                    return Err(LlmError::config(
                        field(key),
                        format!("not yet supported by llmux ({what})"),
                    ));
                }
            } else if REQUEST_DEFAULTS.contains(&key.as_str()) {
                request_defaults.insert(key.clone(), value.clone());
            } else if LITELLM_FIELDS.contains(&key.as_str())
                || PROVIDER_FIELDS.contains(&key.as_str())
            {
            } else {
                match litellm_params::classify(key) {
                    Class::Refused(reason) if !super::is_default_value(value) => {
                        return Err(LlmError::config(field(key), reason))
                    }
                    Class::Refused(_) => {}
                    Class::Ignored if !super::is_default_value(value) => ignored.push(key.as_str()),
                    Class::Ignored => {}
                    // A credential-like name llmux does not know is most likely a typo of a
                    // credential setting: refused, so a secret is never sent as a body field.
                    Class::Forwarded if is_secret_field(key) && !super::is_default_value(value) => {
                        return Err(LlmError::config(
                            field(key),
                            "looks like a credential but is not a setting llmux knows (a typo?); unknown credential-like fields are not sent to the provider",
                        ))
                    }
                    Class::Forwarded => {
                        request_defaults.insert(key.clone(), value.clone());
                        forwarded.push(key.as_str());
                    }
                }
            }
        }
        if !ignored.is_empty() {
            warnings.push(format!(
                "llmux: {lp_path}: ignoring LiteLLM settings llmux does not use: {}",
                ignored.join(", ")
            ));
        }
        for key in forwarded {
            warnings.push(format!(
                "llmux: {}: not a LiteLLM setting nor an OpenAI parameter; sent to the provider as a body field, as LiteLLM does (check the spelling if you meant a setting)",
                field(key)
            ));
        }
        if let Some(extra) = params.get("extra_body") {
            match extra {
                Value::Object(m) => request_defaults.extend(m.clone()),
                Value::Null => {}
                _ => return Err(LlmError::config(field("extra_body"), "must be an object")),
            }
        }

        let full_model = match params.get("model") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(_) => {
                return Err(LlmError::config(
                    field("model"),
                    "must be a non-empty string like \"openai/gpt-4o-mini\"",
                ))
            }
            None => {
                return Err(LlmError::config(
                    field("model"),
                    "is required (e.g. \"openai/gpt-4o-mini\")",
                ))
            }
        };
        let explicit_provider =
            opt_str(params, "custom_llm_provider", &field("custom_llm_provider"))?;
        let wildcard_name = wildcard::is_pattern(&model_group);
        if wildcard_name {
            wildcard::Pattern::parse(&model_group)
                .map_err(|msg| LlmError::config(format!("{path}.model_name"), msg))?;
        }
        let (provider, model, wildcard) = if wildcard::is_pattern(&full_model) {
            if !wildcard_name {
                return Err(LlmError::config(
                    field("model"),
                    format!("{full_model:?} has a \"*\" but model_name {model_group:?} is not a wildcard pattern: the \"*\" is filled from the requested model, so model_name needs one too (\"openai/*\")"),
                ));
            }
            let (w, p, m) = WildcardModel::parse(&full_model, explicit_provider.as_deref())
                .map_err(|msg| LlmError::config(field("model"), msg))?;
            (p, m, Some(w))
        } else {
            let (p, m) = split_model(&full_model, explicit_provider.as_deref())
                .map_err(|msg| LlmError::config(field("model"), msg))?;
            (p, m, None)
        };
        // A wildcard that infers its provider per request has no credentials (below).
        let given = params;
        let from_env = match &wildcard {
            Some(w) if w.inferred => None,
            _ => credentials::fill(&provider, given, env),
        };
        let params = from_env.as_ref().unwrap_or(given);

        let api_base = match opt_str(params, "api_base", &field("api_base"))? {
            Some(b) => Some(b),
            None => opt_str(params, "base_url", &field("base_url"))?,
        };
        if let Some(base) = &api_base {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(LlmError::config(
                    field("api_base"),
                    "must be an http:// or https:// URL",
                ));
            }
        }
        let headers = parse_headers(params, &lp_path)?;
        let weight = opt_f64(params, "weight", &field("weight"))?;
        if let Some(w) = weight {
            if w < 0.0 || !w.is_finite() {
                return Err(LlmError::config(
                    field("weight"),
                    "must be a finite number >= 0",
                ));
            }
        }
        let max_retries = opt_u64(params, "max_retries", &field("max_retries"))?.unwrap_or(0);
        let model_info = parse_model_info(
            obj.get("model_info"),
            &format!("{path}.model_info"),
            &model_group,
            given,
            &mut warnings,
        )?;
        let deployment = Deployment {
            id: model_info.id.clone(),
            model_group,
            provider,
            model,
            api_key: opt_str(params, "api_key", &field("api_key"))?.map(Secret::new),
            api_base_shown: api_base
                .as_deref()
                .map(|b| redact_url(b.trim_end_matches('/'))),
            api_base: api_base.map(|b| b.trim_end_matches('/').to_string()),
            api_version: opt_str(params, "api_version", &field("api_version"))?,
            organization: opt_str(params, "organization", &field("organization"))?,
            timeout_ms: seconds_to_ms(
                opt_f64(params, "timeout", &field("timeout"))?,
                &field("timeout"),
            )?,
            stream_timeout_ms: seconds_to_ms(
                opt_f64(params, "stream_timeout", &field("stream_timeout"))?,
                &field("stream_timeout"),
            )?,
            max_retries: u32::try_from(max_retries)
                .map_err(|_| LlmError::config(field("max_retries"), "is too large"))?,
            rpm: opt_u64(params, "rpm", &field("rpm"))?,
            tpm: opt_u64(params, "tpm", &field("tpm"))?,
            weight,
            cooldown_time_ms: seconds_to_ms(
                opt_f64(params, "cooldown_time", &field("cooldown_time"))?,
                &field("cooldown_time"),
            )?,
            max_parallel_requests: opt_u64(
                params,
                "max_parallel_requests",
                &field("max_parallel_requests"),
            )?
            .filter(|n| *n > 0),
            tags: parse_tags(params.get("tags"), &field("tags"))?,
            order: opt_order(params, &field("order"))?,
            budget: super::budget::deployment_budget(params, &lp_path)?,
            headers,
            provider_params: params
                .iter()
                .filter(|(k, v)| PROVIDER_FIELDS.contains(&k.as_str()) && !v.is_null())
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), Secret::new(text))
                })
                .collect(),
            request_defaults: NamesOnly(request_defaults),
            input_cost_per_token: opt_f64(
                params,
                "input_cost_per_token",
                &field("input_cost_per_token"),
            )?,
            output_cost_per_token: opt_f64(
                params,
                "output_cost_per_token",
                &field("output_cost_per_token"),
            )?,
            per_second: PerSecondPrices::parse(params, &lp_path)?,
            model_info,
            litellm_params_redacted: redact_params(given),
            priced: Memo::default(),
            source: SourceEntry::default(),
            wildcard,
            warnings,
        };
        match &deployment.wildcard {
            // The provider is known per request only: checked when a request names it. Its
            // credentials would go to whichever provider a caller names, so it has none.
            Some(w) if w.inferred => {
                let credential = if deployment.api_key.is_some() {
                    Some("api_key")
                } else if !deployment.headers.is_empty() {
                    Some("extra_headers")
                } else {
                    deployment.provider_params.first().map(|(k, _)| k.as_str())
                };
                if let Some(name) = credential {
                    return Err(LlmError::config(
                        field(name),
                        format!("a deployment with model {:?} infers its provider from each requested model, so its credentials would be sent to whichever provider a caller names; set custom_llm_provider, or use one deployment per provider (\"openai/*\" with model \"openai/*\")", w.template),
                    ));
                }
            }
            _ => check(&deployment).map_err(|msg| LlmError::config(&lp_path, msg))?,
        }
        Ok(deployment)
    }

    /// The deployment that serves a request whose model the group's pattern matched with
    /// `segment`: the same deployment (same id, cooldowns and counters) with the `*` of its
    /// `model` filled in and, for `model: "*"`, the provider inferred from the result (and
    /// `check`ed, as a parsed deployment is).
    pub fn for_match(&self, segment: &str, check: ProviderCheck) -> Result<Deployment, String> {
        let Some(w) = &self.wildcard else {
            return Ok(self.clone());
        };
        let (provider, model) = w.resolve(segment)?;
        let mut d = self.clone();
        d.provider = provider;
        d.model = model;
        d.wildcard = None;
        if w.inferred {
            check(&d)?;
        }
        Ok(d)
    }

    /// Whether the deployment's model holds a `*` filled per request.
    pub fn is_wildcard(&self) -> bool {
        self.wildcard.is_some()
    }

    /// A provider-specific setting (`aws_region_name`, `vertex_project`, …), if set.
    pub fn provider_param(&self, name: &str) -> Option<&str> {
        self.provider_params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.expose())
    }

    /// Every credential the deployment holds, as text: the API key, every header value,
    /// the provider settings, and the userinfo and query values of `api_base`. Error
    /// messages are scrubbed of all of them ([`crate::redact::Redactor`]).
    pub fn secrets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .api_key
            .iter()
            .chain(self.headers.iter().map(|(_, v)| v))
            .map(Secret::expose)
            .collect();
        // Provider settings that are not credentials (region, project, location) stay.
        out.extend(
            self.provider_params
                .iter()
                .filter(|(k, _)| is_secret_field(k))
                .map(|(_, v)| v.expose()),
        );
        // Body defaults with a credential's name (a provider field forwarded as given), at
        // any depth of a forwarded object.
        secrets_in(&self.request_defaults, &mut out);
        if let Some(base) = &self.api_base {
            out.extend(url_secrets(base));
        }
        out
    }

    /// A redactor for this deployment's [`secrets`](Self::secrets).
    pub fn redactor(&self) -> crate::redact::Redactor {
        crate::redact::Redactor::new(self.secrets())
    }

    /// The deployment as `getDeployments()` shows it: secrets replaced by `"***"`.
    pub fn redacted(&self) -> Value {
        crate::obj! {
            "model_name": self.model_group.clone(),
            "litellm_params": self.litellm_params_redacted.clone(),
            "model_info": self.model_info.raw.clone(),
        }
    }
}

/// `litellm_params` with every credential replaced by `"***"`: secret-named fields, every
/// header value (a header is configured to carry something the caller should not see), and
/// the userinfo and query values of `api_base` / `base_url`.
fn redact_params(params: &Map<String, Value>) -> Map<String, Value> {
    let mut params = params.clone();
    for (key, value) in params.iter_mut() {
        if is_secret_field(key) && !value.is_null() {
            *value = Value::String("***".into());
        }
        if matches!(key.as_str(), "extra_headers" | "headers") {
            if let Value::Object(h) = value {
                for v in h.values_mut() {
                    if !v.is_null() {
                        *v = Value::String("***".into());
                    }
                }
            }
        }
        if matches!(key.as_str(), "api_base" | "base_url") {
            if let Value::String(url) = value {
                *url = redact_url(url);
            }
        }
        redact_nested(value);
    }
    params
}

/// Secret-named string values inside `value`'s objects and arrays, as `"***"`: a forwarded
/// body object may hold one an `os.environ/` reference resolved. (Depth: the config's JSON,
/// which serde_json parses at most 128 levels deep.)
fn redact_nested(value: &mut Value) {
    match value {
        Value::Object(m) => redact_secret_strings(m),
        Value::Array(items) => items.iter_mut().for_each(redact_nested),
        _ => {}
    }
}

/// [`redact_nested`] of an object's members.
fn redact_secret_strings(m: &mut Map<String, Value>) {
    for (k, v) in m.iter_mut() {
        if is_secret_field(k) && v.is_string() {
            *v = Value::String("***".into());
        } else {
            redact_nested(v);
        }
    }
}

/// The secret-named string values of `m` and of its objects and arrays, at any depth (what
/// [`redact_secret_strings`] hides).
fn secrets_in<'a>(m: &'a Map<String, Value>, out: &mut Vec<&'a str>) {
    for (k, v) in m {
        match v {
            Value::String(s) if is_secret_field(k) => out.push(s),
            other => secrets_in_value(other, out),
        }
    }
}

fn secrets_in_value<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(m) => secrets_in(m, out),
        Value::Array(items) => items.iter().for_each(|v| secrets_in_value(v, out)),
        _ => {}
    }
}

/// A byte range of a URL.
type Span = Option<(usize, usize)>;

/// The userinfo and the query of a URL, as byte ranges, when present.
fn url_parts(url: &str) -> (Span, Span) {
    // Byte searches for ASCII delimiters (so every index is a char boundary): `str::find`
    // with a pattern costs several times as much on these short strings, once per deployment,
    // and memchr's searchers would add kilobytes to the module.
    let bytes = url.as_bytes();
    let Some(scheme_end) = bytes.windows(3).position(|w| w == b"://").map(|i| i + 3) else {
        return (None, None);
    };
    let rest = bytes.get(scheme_end..).unwrap_or_default();
    let authority_len = rest
        .iter()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = rest.get(..authority_len).unwrap_or_default();
    let userinfo = authority
        .iter()
        .rposition(|b| *b == b'@')
        .map(|at| (scheme_end, scheme_end + at));
    let query = bytes.iter().position(|b| *b == b'?').map(|q| {
        let end = bytes
            .iter()
            .position(|b| *b == b'#')
            .filter(|h| *h > q)
            .unwrap_or(url.len());
        (q + 1, end)
    });
    (userinfo, query)
}

/// `url` with its userinfo shown as `***@` and every query value as `***`
/// (`https://***@host/v1?key=***`).
pub fn redact_url(url: &str) -> String {
    let (userinfo, query) = url_parts(url);
    let mut out = String::with_capacity(url.len());
    let mut pos = 0;
    if let Some((from, to)) = userinfo {
        out.push_str(url.get(..from).unwrap_or_default());
        out.push_str("***");
        pos = to;
    }
    match query {
        Some((from, to)) if from >= pos => {
            out.push_str(url.get(pos..from).unwrap_or_default());
            let pairs: Vec<String> = url
                .get(from..to)
                .unwrap_or_default()
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) => format!("{name}=***"),
                    None if pair.is_empty() => String::new(),
                    None => "***".to_string(),
                })
                .collect();
            out.push_str(&pairs.join("&"));
            out.push_str(url.get(to..).unwrap_or_default());
        }
        _ => out.push_str(url.get(pos..).unwrap_or_default()),
    }
    out
}

/// The credentials inside a URL: the user, the password and every query value (decoded
/// forms are caught by the redactor).
fn url_secrets(url: &str) -> Vec<&str> {
    let (userinfo, query) = url_parts(url);
    let mut out = Vec::new();
    if let Some(info) = userinfo.and_then(|(from, to)| url.get(from..to)) {
        match info.split_once(':') {
            Some((user, password)) => {
                out.push(user);
                out.push(password);
            }
            None => out.push(info),
        }
    }
    if let Some(q) = query.and_then(|(from, to)| url.get(from..to)) {
        out.extend(
            q.split('&')
                .filter_map(|pair| pair.split_once('=').map(|(_, v)| v)),
        );
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Field names whose values are credentials.
pub fn is_secret_field(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("key")
        || k.contains("secret")
        || k.contains("token") && !k.contains("per_token")
        || k.contains("password")
        || k.contains("credential")
}

pub fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n.contains("key")
        || n.contains("token")
        || n.contains("secret")
        || n == "cookie"
}

fn parse_headers(
    params: &Map<String, Value>,
    lp_path: &str,
) -> Result<Vec<(String, Secret)>, LlmError> {
    let mut headers = Vec::new();
    for key in ["headers", "extra_headers"] {
        match params.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (name, value) in m {
                    let path = format!("{lp_path}.{key}.{name}");
                    let value = match value {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return Err(LlmError::config(path, "header values must be strings")),
                    };
                    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                        return Err(LlmError::config(path, "is not a valid header name"));
                    }
                    if value.contains(['\r', '\n']) {
                        return Err(LlmError::config(
                            path,
                            "header values cannot contain line breaks",
                        ));
                    }
                    headers.push((name.clone(), Secret::new(value)));
                }
            }
            Some(_) => {
                return Err(LlmError::config(
                    format!("{lp_path}.{key}"),
                    "must be an object of header names to values",
                ))
            }
        }
    }
    Ok(headers)
}

/// `litellm_params.tags`: an array of strings (at most 64, each at most 256 bytes).
fn parse_tags(
    value: Option<&Value>,
    path: &(impl std::fmt::Display + ?Sized),
) -> Result<Vec<String>, LlmError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() <= 64 => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) if s.len() <= 256 => Ok(s.clone()),
                _ => Err(LlmError::config(
                    format!("{path}[{i}]"),
                    "must be a string of at most 256 bytes",
                )),
            })
            .collect(),
        Some(_) => Err(LlmError::config(
            path.to_string(),
            "must be an array of at most 64 tag strings",
        )),
    }
}

fn parse_model_info(
    value: Option<&Value>,
    path: &str,
    model_group: &str,
    params: &Map<String, Value>,
    warnings: &mut Vec<String>,
) -> Result<ModelInfo, LlmError> {
    let mut raw = match value {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(LlmError::config(path, "must be an object")),
    };
    let field = |key| Child { parent: path, key };
    let id = match raw.get("id") {
        None | Some(Value::Null) => stable_id(model_group, params),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(LlmError::config(field("id"), "must be a non-empty string")),
    };
    raw.put("id", Value::String(id.clone()));
    let mode = match opt_str(&raw, "mode", &field("mode"))? {
        None => None,
        Some(m) if m.trim().is_empty() => {
            return Err(LlmError::config(field("mode"), "must not be empty"))
        }
        Some(m) => Some(Mode::parse(&m).unwrap_or_else(|| {
            // LiteLLM takes any mode (its batch, responses, realtime, … APIs).
            warnings.push(format!(
                "llmux: {}: llmux serves no endpoint for mode {m:?} (it serves {}); the deployment answers no call",
                field("mode"),
                Mode::NAMES.join(", ")
            ));
            Mode::Other
        })),
    };
    match raw.get("access_groups") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items))
            if items
                .iter()
                .all(|v| v.as_str().is_some_and(|s| !s.is_empty())) => {}
        Some(_) => {
            return Err(LlmError::config(
                field("access_groups"),
                "must be an array of non-empty strings",
            ))
        }
    }
    for (key, value) in &raw {
        if key.starts_with("supports_") || key == "enable_tag_filtering" {
            opt_bool(&raw, key, &field(key))?;
        } else if (key.ends_with("_cost_per_token") || key.starts_with("max_"))
            && !(value.is_null() || value.is_number())
        {
            return Err(LlmError::config(field(key), "must be a number"));
        }
    }
    let mut info = ModelInfo {
        id,
        mode,
        input_cost_per_token: opt_f64(
            &raw,
            "input_cost_per_token",
            &field("input_cost_per_token"),
        )?,
        output_cost_per_token: opt_f64(
            &raw,
            "output_cost_per_token",
            &field("output_cost_per_token"),
        )?,
        per_second: PerSecondPrices::parse(&raw, path)?,
        max_tokens: opt_u64(&raw, "max_tokens", &field("max_tokens"))?,
        max_input_tokens: opt_u64(&raw, "max_input_tokens", &field("max_input_tokens"))?,
        max_output_tokens: opt_u64(&raw, "max_output_tokens", &field("max_output_tokens"))?,
        raw,
    };
    // A secret-named string (an `os.environ/` reference resolves anywhere in the options) is
    // kept as `***`: model_info is shown by getDeployments(), getModelInfo() and Debug.
    redact_secret_strings(&mut info.raw);
    Ok(info)
}

/// A deployment id derived from its group and params, as LiteLLM does (a hash over the
/// model group and every litellm_params key and value), so it is stable across restarts
/// and isolates. Secrets enter only through the hash, which is not reversible.
pub fn stable_id(model_group: &str, params: &Map<String, Value>) -> String {
    let mut text = String::from(model_group);
    for (k, v) in params {
        text.push_str(k);
        match v {
            Value::String(s) => text.push_str(s),
            other => text.push_str(&other.to_string()),
        }
    }
    crate::hash::sha256_hex(text.as_bytes())
}

/// `order`: an integer (LiteLLM's `int`; an integral string is read as one, as pydantic does).
fn opt_order(
    params: &Map<String, Value>,
    path: &(impl std::fmt::Display + ?Sized),
) -> Result<Option<i64>, LlmError> {
    match opt_f64(params, "order", path)? {
        None => Ok(None),
        Some(f) if f.fract() == 0.0 && f.abs() <= 9.0e15 => Ok(Some(f as i64)),
        Some(_) => Err(LlmError::config(path.to_string(), "must be an integer")),
    }
}

#[cfg(test)]
mod url_tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::{redact_url, url_secrets};

    #[test]
    fn api_base_credentials_are_hidden_and_listed() {
        let url = "https://user:p%40ss@h.test:8443/v1?token=t0k3n-value&key=abc123&x";
        assert_eq!(
            redact_url(url),
            "https://***@h.test:8443/v1?token=***&key=***&***"
        );
        assert_eq!(
            url_secrets(url),
            vec!["user", "p%40ss", "t0k3n-value", "abc123"]
        );
        assert_eq!(redact_url("http://h/v1"), "http://h/v1");
        assert_eq!(redact_url("http://h/a@b/v1"), "http://h/a@b/v1");
        assert!(url_secrets("http://h/v1").is_empty());
    }
}
