//! LiteLLM `Router(...)` constructor options -> a validated `RouterConfig`.
//! Every option LiteLLM accepts is known here: implemented, or refused clearly when set.

pub mod budget;
pub mod credentials;
mod deployment;
mod env;
pub(crate) mod fields;
mod litellm_params;
pub mod provider_names;
pub mod routing_groups;
pub mod selection;
pub mod wildcard;

pub use deployment::{
    is_secret_field, is_secret_header, Deployment, Mode, ModelInfo, NamesOnly, Secret, SourceEntry,
};
pub use env::{resolve_env_refs, ENV_PREFIX};

use crate::error::LlmError;
use crate::ports::LogLevel;
use crate::reliability::policy::{AllowedFailsPolicy, RetryPolicy};
use fields::{opt_bool, opt_f64, opt_str, opt_u64, seconds_to_ms};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// LiteLLM's defaults (litellm/constants.py, v1.110.2).
pub const DEFAULT_NUM_RETRIES: u32 = 2;
pub const DEFAULT_MAX_FALLBACKS: u32 = 5;
pub const DEFAULT_ALLOWED_FAILS: u32 = 3;
pub const DEFAULT_COOLDOWN_MS: u64 = 5_000;
pub const DEFAULT_TIMEOUT_MS: u64 = 6_000_000;
/// llmux's ceilings on one upstream reply: 32 MiB of body, 30 minutes of stream.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;
pub const DEFAULT_MAX_STREAM_DURATION_MS: u64 = 30 * 60 * 1000;
/// LiteLLM's `DEFAULT_POLLING_INTERVAL` (0.03 s).
pub const DEFAULT_POLLING_INTERVAL_MS: u64 = 30;

/// `routing_strategy` (with `routing_strategy_args` where LiteLLM has them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RoutingStrategy {
    /// Weighted random by `weight`, else `rpm`, else `tpm`, else uniform.
    SimpleShuffle,
    /// Fewest requests in flight.
    LeastBusy,
    /// Fewest tokens this minute, skipping deployments at their `rpm`/`tpm` (LiteLLM's
    /// `usage-based-routing` and `-v2` behave alike here).
    UsageBased,
    /// Lowest average latency over the samples of the last `ttl_ms`, choosing at random
    /// among those within `buffer` (a fraction) of the best.
    LatencyBased {
        ttl_ms: u64,
        buffer: f64,
        /// Samples kept per deployment (LiteLLM's `max_latency_list_size`, default 10).
        max_samples: usize,
    },
    /// Cheapest input + output price per token.
    CostBased,
}

/// How an option is handled: `Supported` options have behaviour; the others are
/// accepted at their default and refused (with the reason) when set to anything else.
enum Support {
    Supported,
    /// Implemented by the JS entry, which takes it off the options before the core sees
    /// them: set here (a native caller), it is refused with where it works.
    Host(&'static str),
    /// Deliberately not part of llmux: refused, with the reason, when set.
    Refused(&'static str),
    /// Meaningless for an in-process router on `fetch`; accepted and documented.
    NoOp,
}

const REDIS_BY_HOST: &str = "the JS Router makes its Redis state store and response cache from the redis_* options (js/stores/redis.js); the core takes a StateStore and a cache port instead";

/// Every `Router.__init__` argument of LiteLLM 1.110.2 plus llmux's own, in LiteLLM's order.
const OPTIONS: &[(&str, Support)] = &[
    ("model_list", Support::Supported),
    (
        "assistants_config",
        Support::Refused("llmux serves no Assistants API (threads, runs, files): call the provider's API for those"),
    ),
    (
        "search_tools",
        Support::Refused("llmux serves no search endpoint (LiteLLM's /search tools); call the search provider directly"),
    ),
    (
        "guardrail_list",
        Support::Refused("guardrails are LiteLLM callback objects run by its proxy; llmux has none: screen requests before calling the router and responses after"),
    ),
    (
        "redis_url",
        Support::Host(REDIS_BY_HOST),
    ),
    (
        "redis_host",
        Support::Host(REDIS_BY_HOST),
    ),
    (
        "redis_port",
        Support::Host(REDIS_BY_HOST),
    ),
    (
        "redis_password",
        Support::Host(REDIS_BY_HOST),
    ),
    (
        "redis_db",
        Support::Host(REDIS_BY_HOST),
    ),
    ("cache_responses", Support::Supported),
    ("cache_kwargs", Support::Supported),
    ("caching_groups", Support::Supported),
    ("client_ttl", Support::NoOp),
    ("polling_interval", Support::Supported),
    ("default_priority", Support::Supported),
    ("num_retries", Support::Supported),
    ("max_fallbacks", Support::Supported),
    ("timeout", Support::Supported),
    ("stream_timeout", Support::Supported),
    ("default_litellm_params", Support::Supported),
    ("default_max_parallel_requests", Support::Supported),
    ("set_verbose", Support::Supported),
    ("debug_level", Support::Supported),
    ("default_fallbacks", Support::Supported),
    ("fallbacks", Support::Supported),
    ("context_window_fallbacks", Support::Supported),
    ("content_policy_fallbacks", Support::Supported),
    ("model_group_alias", Support::Supported),
    ("enable_pre_call_checks", Support::Supported),
    ("enable_tag_filtering", Support::Supported),
    ("tag_filtering_match_any", Support::Supported),
    ("tag_routing_prefix", Support::Supported),
    (
        "plugins",
        Support::Refused("LiteLLM's routing plugins are Python objects whose async run(context) narrows context.candidate_models before each pick, which a config cannot carry; in JS, router.setCustomRoutingStrategy(fn) (alias registerPlugin) is handed the eligible candidates of every pick and chooses among them"),
    ),
    ("retry_after", Support::Supported),
    ("retry_policy", Support::Supported),
    ("model_group_retry_policy", Support::Supported),
    ("allowed_fails", Support::Supported),
    ("allowed_fails_policy", Support::Supported),
    ("cooldown_time", Support::Supported),
    ("disable_cooldowns", Support::Supported),
    ("fallback_on_unsupported_params", Support::Supported),
    ("routing_strategy", Support::Supported),
    ("optional_pre_call_checks", Support::Supported),
    ("routing_strategy_args", Support::Supported),
    (
        "routing_groups",
        Support::Supported,
    ),
    ("provider_budget_config", Support::Supported),
    (
        "alerting_config",
        Support::Refused("llmux sends no Slack alerts itself: the `on` callbacks (failure, cooldown, fallback) and the logger report the same events"),
    ),
    ("router_general_settings", Support::Supported),
    ("deployment_affinity_ttl_seconds", Support::Supported),
    ("model_group_affinity_config", Support::Supported),
    ("ignore_invalid_deployments", Support::Supported),
    ("enable_health_check_routing", Support::Supported),
    ("health_check_staleness_threshold", Support::Supported),
    ("health_check_ignore_transient_errors", Support::Supported),
    ("background_health_check_model_groups", Support::Supported),
    ("enable_weighted_failover", Support::Supported),
    (
        "enable_mid_stream_fallback_continuation",
        Support::Supported,
    ),
    (
        "fallback_access_check",
        Support::Refused("it is a Python callable LiteLLM awaits before each fallback; llmux takes no such hook: list only the fallback groups a caller may use"),
    ),
    (
        "fallback_budget_check",
        Support::Refused("it is a Python callable LiteLLM awaits before each fallback; llmux takes no such hook: list only the fallback groups a caller may use"),
    ),
    (
        "auto_router_capability_limit",
        Support::Refused("it limits LiteLLM's auto routers (licensed complexity routing), which are not part of llmux"),
    ),
    ("session_affinity_repin_on_failover", Support::Supported),
    // llmux's own options (DESIGN.md §1); `fetch`, `logger` and `gateway` (router.fetch,
    // js/gateway.js) are taken by the JS host and never reach the core.
    ("cache", Support::Supported),
    // `state` is a store object on the JS side; the core sees `true` when one is attached.
    ("state", Support::Supported),
    ("state_prefix", Support::Supported),
    ("state_sync_interval_ms", Support::Supported),
    ("state_first_sync_timeout_ms", Support::Supported),
    // llmux's own ceilings on what an upstream may send (README, "Security bounds").
    ("max_response_bytes", Support::Supported),
    ("max_stream_duration", Support::Supported),
    // The key that signs the file and batch ids llmux returns (src/router/files.rs).
    ("files_secret", Support::Supported),
    // The background health probe's period (LiteLLM's proxy setting of the same name).
    ("health_check_interval", Support::Supported),
];

/// A fallback list entry: `{ "group": ["fallback-a", "fallback-b"] }`; `"*"` matches any group.
pub type FallbackMap = Vec<(String, Vec<String>)>;

#[derive(Debug, Clone)]
pub struct RouterConfig {
    pub deployments: Vec<Deployment>,
    pub routing_strategy: RoutingStrategy,
    /// `routing_groups`: the strategy of each member model group (the others use
    /// `routing_strategy`), and the groups callable by name.
    pub routing_groups: routing_groups::RoutingGroups,
    pub num_retries: u32,
    pub max_fallbacks: u32,
    pub timeout_ms: u64,
    pub stream_timeout_ms: Option<u64>,
    /// Minimum backoff before a retry (`retry_after`, seconds in LiteLLM).
    pub retry_after_ms: u64,
    pub retry_policy: Option<RetryPolicy>,
    pub model_group_retry_policy: HashMap<String, RetryPolicy>,
    pub allowed_fails: u32,
    pub allowed_fails_policy: Option<AllowedFailsPolicy>,
    pub cooldown_ms: u64,
    pub disable_cooldowns: bool,
    pub fallbacks: FallbackMap,
    pub default_fallbacks: Vec<String>,
    pub context_window_fallbacks: FallbackMap,
    pub content_policy_fallbacks: FallbackMap,
    pub model_group_alias: HashMap<String, String>,
    pub log_level: Option<LogLevel>,
    /// Drop deployments whose context window or rpm/tpm cannot take the request.
    pub enable_pre_call_checks: bool,
    /// Parallel limit for deployments without `max_parallel_requests`.
    pub default_max_parallel_requests: Option<u64>,
    /// The scheduler priority of requests that set none (`default_priority`; lower first).
    pub default_priority: Option<i64>,
    /// How often a queued request re-checks for room (`polling_interval`, LiteLLM: 0.03 s).
    pub polling_interval_ms: u64,
    /// With `simple-shuffle`, a failed group re-picks among its deployments not tried yet
    /// before any fallback group (`enable_weighted_failover`, default false).
    pub enable_weighted_failover: bool,
    /// `false`: a provider's plain 400 ends the call, with no fallback (LiteLLM's
    /// `fallback_on_unsupported_params`, default true).
    pub fallback_on_unsupported_params: bool,
    /// A chat stream that breaks after text was delivered continues on a fallback group with
    /// that text as an assistant prefill (`enable_mid_stream_fallback_continuation`).
    pub enable_mid_stream_fallback_continuation: bool,
    /// Deployments dropped by `ignore_invalid_deployments`, with their errors.
    pub skipped_deployments: Vec<LlmError>,
    /// Logged once the router exists: repeated entries skipped, settings ignored or forwarded.
    pub warnings: Vec<String>,
    /// Merged under every deployment added later (`addDeployment`, `setModelList`).
    pub default_litellm_params: NamesOnly,
    /// Resolves `"os.environ/NAME"` in deployments added later.
    pub env: EnvMap,
    /// Response caching (`cache_responses: true`), else `None`.
    pub cache: Option<crate::cache::CacheConfig>,
    /// Shared state across isolates (`state`, `state_prefix`, `state_sync_interval_ms`).
    pub state: crate::state::StateOptions,
    /// `provider_budget_config`: a spending limit per provider (`src/router/budget.rs`).
    pub provider_budgets: Vec<(String, budget::Budget)>,
    /// The most bytes one upstream reply may send, whole or streamed (`max_response_bytes`).
    pub max_response_bytes: u64,
    /// The longest one streamed reply may last (`max_stream_duration`, seconds).
    pub max_stream_duration_ms: u64,
    /// Tag routing, health-check routing, affinity, `optional_pre_call_checks`.
    pub selection: selection::Selection,
    /// The HMAC key of file and batch ids (`files_secret`); never printed.
    pub files_secret: Option<Secret>,
}

/// The environment map; never printed (its values are credentials).
#[derive(Clone, Default)]
pub struct EnvMap(pub HashMap<String, String>);

impl std::fmt::Debug for EnvMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EnvMap({} variables)", self.0.len())
    }
}

/// The provider-specific checks of a parsed deployment (a message; the caller adds the
/// path). Config parses shapes and names; the providers know their own requirements, so the
/// entry points that build a `RouterConfig` pass [`crate::providers::validate`] in.
pub type ProviderCheck = fn(&Deployment) -> Result<(), String>;

impl RouterConfig {
    /// Parses the constructor options; `env` resolves `"os.environ/NAME"` references.
    /// `check` is the provider-specific check of each parsed deployment (config does not
    /// know the providers: `RouterConfig::parse` / `parse_owned`, in `providers::validate`,
    /// pass theirs). The options are owned: env references are resolved in place, not in a
    /// copy.
    pub fn parse_with(
        mut options: Value,
        env: &HashMap<String, String>,
        check: ProviderCheck,
    ) -> Result<RouterConfig, LlmError> {
        resolve_env_refs(&mut options, "", env)?;
        let obj = options
            .as_object()
            .ok_or_else(|| LlmError::config("options", "Router options must be an object"))?;
        check_option_names(obj)?;
        check_general_settings(obj.get("router_general_settings"))?;

        let defaults = match obj.get("default_litellm_params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(LlmError::config(
                    "default_litellm_params",
                    "must be an object",
                ))
            }
        };
        let ignore_invalid = opt_bool(
            obj,
            "ignore_invalid_deployments",
            "ignore_invalid_deployments",
        )?
        .unwrap_or(false);
        let ModelList {
            deployments,
            skipped: skipped_deployments,
            warnings,
        } = parse_model_list(obj.get("model_list"), &defaults, ignore_invalid, env, check)?;

        let routing_strategy = parse_strategy(obj)?;

        let log_level = match (
            opt_bool(obj, "set_verbose", "set_verbose")?.unwrap_or(false),
            opt_str(obj, "debug_level", "debug_level")?.as_deref(),
        ) {
            (_, Some("DEBUG")) => Some(LogLevel::Debug),
            (true, None | Some("INFO")) => Some(LogLevel::Info),
            (false, None | Some("INFO")) => None,
            (_, Some(other)) => {
                return Err(LlmError::config(
                    "debug_level",
                    format!("must be \"DEBUG\" or \"INFO\", got {other:?}"),
                ))
            }
        };

        Ok(RouterConfig {
            deployments,
            routing_strategy,
            routing_groups: routing_groups::parse(obj.get("routing_groups"))?,
            num_retries: to_u32(opt_u64(obj, "num_retries", "num_retries")?, "num_retries")?
                .unwrap_or(DEFAULT_NUM_RETRIES),
            max_fallbacks: to_u32(
                opt_u64(obj, "max_fallbacks", "max_fallbacks")?,
                "max_fallbacks",
            )?
            .unwrap_or(DEFAULT_MAX_FALLBACKS),
            timeout_ms: seconds_to_ms(opt_f64(obj, "timeout", "timeout")?, "timeout")?
                .unwrap_or(DEFAULT_TIMEOUT_MS),
            stream_timeout_ms: seconds_to_ms(
                opt_f64(obj, "stream_timeout", "stream_timeout")?,
                "stream_timeout",
            )?,
            retry_after_ms: seconds_to_ms(
                opt_f64(obj, "retry_after", "retry_after")?,
                "retry_after",
            )?
            .unwrap_or(0),
            retry_policy: match obj.get("retry_policy") {
                None | Some(Value::Null) => None,
                Some(v) => Some(RetryPolicy::parse(v, "retry_policy")?),
            },
            model_group_retry_policy: parse_group_retry_policies(
                obj.get("model_group_retry_policy"),
            )?,
            allowed_fails: to_u32(
                opt_u64(obj, "allowed_fails", "allowed_fails")?,
                "allowed_fails",
            )?
            .unwrap_or(DEFAULT_ALLOWED_FAILS),
            allowed_fails_policy: match obj.get("allowed_fails_policy") {
                None | Some(Value::Null) => None,
                Some(v) => Some(AllowedFailsPolicy::parse(v, "allowed_fails_policy")?),
            },
            cooldown_ms: seconds_to_ms(
                opt_f64(obj, "cooldown_time", "cooldown_time")?,
                "cooldown_time",
            )?
            .unwrap_or(DEFAULT_COOLDOWN_MS),
            disable_cooldowns: opt_bool(obj, "disable_cooldowns", "disable_cooldowns")?
                .unwrap_or(false),
            fallbacks: parse_fallbacks(obj.get("fallbacks"), "fallbacks")?,
            default_fallbacks: parse_group_list(obj.get("default_fallbacks"), "default_fallbacks")?,
            context_window_fallbacks: parse_fallbacks(
                obj.get("context_window_fallbacks"),
                "context_window_fallbacks",
            )?,
            content_policy_fallbacks: parse_fallbacks(
                obj.get("content_policy_fallbacks"),
                "content_policy_fallbacks",
            )?,
            model_group_alias: parse_aliases(obj.get("model_group_alias"))?,
            log_level,
            enable_pre_call_checks: opt_bool(
                obj,
                "enable_pre_call_checks",
                "enable_pre_call_checks",
            )?
            .unwrap_or(false),
            default_max_parallel_requests: opt_u64(
                obj,
                "default_max_parallel_requests",
                "default_max_parallel_requests",
            )?
            .filter(|n| *n > 0),
            default_priority: match opt_f64(obj, "default_priority", "default_priority")? {
                None => None,
                Some(f) if f.fract() == 0.0 && f.abs() <= 9.0e15 => Some(f as i64),
                Some(_) => {
                    return Err(LlmError::config(
                        "default_priority",
                        "must be an integer (lower is served first)",
                    ))
                }
            },
            polling_interval_ms: match opt_f64(obj, "polling_interval", "polling_interval")? {
                None => DEFAULT_POLLING_INTERVAL_MS,
                Some(s) if s > 0.0 && s <= 60.0 => ((s * 1000.0).ceil() as u64).max(1),
                Some(_) => {
                    return Err(LlmError::config(
                        "polling_interval",
                        "must be a number of seconds > 0 and <= 60",
                    ))
                }
            },
            enable_weighted_failover: opt_bool(
                obj,
                "enable_weighted_failover",
                "enable_weighted_failover",
            )?
            .unwrap_or(false),
            fallback_on_unsupported_params: opt_bool(
                obj,
                "fallback_on_unsupported_params",
                "fallback_on_unsupported_params",
            )?
            .unwrap_or(true),
            enable_mid_stream_fallback_continuation: opt_bool(
                obj,
                "enable_mid_stream_fallback_continuation",
                "enable_mid_stream_fallback_continuation",
            )?
            .unwrap_or(false),
            skipped_deployments,
            warnings,
            default_litellm_params: NamesOnly(defaults),
            env: EnvMap(env.clone()),
            cache: crate::cache::parse_config(obj)?,
            state: crate::state::StateOptions::parse(obj)?,
            provider_budgets: budget::provider_budgets(obj)?,
            max_response_bytes: match opt_u64(obj, "max_response_bytes", "max_response_bytes")? {
                Some(0) => {
                    return Err(LlmError::config(
                        "max_response_bytes",
                        "must be at least 1 (bytes)",
                    ))
                }
                Some(n) => n,
                None => DEFAULT_MAX_RESPONSE_BYTES,
            },
            max_stream_duration_ms: seconds_to_ms(
                opt_f64(obj, "max_stream_duration", "max_stream_duration")?,
                "max_stream_duration",
            )?
            .unwrap_or(DEFAULT_MAX_STREAM_DURATION_MS),
            selection: selection::Selection::parse(obj)?,
            files_secret: match opt_str(obj, "files_secret", "files_secret")? {
                Some(s) if s.len() < 16 => {
                    return Err(LlmError::config(
                        "files_secret",
                        "must be at least 16 characters (it signs file and batch ids)",
                    ))
                }
                other => other.map(Secret::new),
            },
        })
    }
}

const STRATEGIES: &str = "simple-shuffle, least-busy, usage-based-routing, usage-based-routing-v2, latency-based-routing, cost-based-routing";

/// `routing_strategy` and its `routing_strategy_args` (`ttl`, `lowest_latency_buffer`,
/// `max_latency_list_size` for latency-based routing; LiteLLM's defaults: 1 hour, 0, 10).
fn parse_strategy(obj: &Map<String, Value>) -> Result<RoutingStrategy, LlmError> {
    let args = match obj.get("routing_strategy_args") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(LlmError::config(
                "routing_strategy_args",
                "must be an object",
            ))
        }
    };
    let name = opt_str(obj, "routing_strategy", "routing_strategy")?;
    let allowed: &[&str] = match name.as_deref() {
        Some("latency-based-routing") => &["ttl", "lowest_latency_buffer", "max_latency_list_size"],
        _ => &[],
    };
    if let Some(key) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(LlmError::config(
            format!("routing_strategy_args.{key}"),
            format!(
                "not an argument of {:?}",
                name.as_deref().unwrap_or("simple-shuffle")
            ),
        ));
    }
    Ok(match name.as_deref() {
        None | Some("simple-shuffle") => RoutingStrategy::SimpleShuffle,
        Some("least-busy") => RoutingStrategy::LeastBusy,
        Some("usage-based-routing" | "usage-based-routing-v2") => RoutingStrategy::UsageBased,
        Some("latency-based-routing") => {
            let ttl_ms = seconds_to_ms(
                opt_f64(&args, "ttl", "routing_strategy_args.ttl")?,
                "routing_strategy_args.ttl",
            )?
            .unwrap_or(3_600_000);
            let buffer = opt_f64(
                &args,
                "lowest_latency_buffer",
                "routing_strategy_args.lowest_latency_buffer",
            )?
            .unwrap_or(0.0);
            if !(0.0..=10.0).contains(&buffer) {
                return Err(LlmError::config(
                    "routing_strategy_args.lowest_latency_buffer",
                    "must be a fraction between 0 and 10",
                ));
            }
            let max_samples = opt_u64(
                &args,
                "max_latency_list_size",
                "routing_strategy_args.max_latency_list_size",
            )?
            .unwrap_or(10)
            .clamp(1, 1024) as usize;
            RoutingStrategy::LatencyBased {
                ttl_ms,
                buffer,
                max_samples,
            }
        }
        Some("cost-based-routing") => RoutingStrategy::CostBased,
        Some(other) => {
            return Err(LlmError::config(
                "routing_strategy",
                format!("unknown strategy {other:?} (expected {STRATEGIES})"),
            ))
        }
    })
}

fn check_option_names(obj: &Map<String, Value>) -> Result<(), LlmError> {
    for (key, value) in obj {
        match OPTIONS.iter().find(|(name, _)| name == key) {
            None => {
                return Err(LlmError::config(
                    key,
                    "unknown Router option (see the README for the options LiteLLM's Router and llmux accept)",
                ))
            }
            Some((_, Support::Host(where_))) if !is_default_value(value) => {
                return Err(LlmError::config(key, format!("handled by the host, not the core: {where_}")))
            }
            Some((_, Support::Refused(why))) if !is_default_value(value) => {
                return Err(LlmError::config(key, format!("not supported by llmux: {why}")))
            }
            _ => {}
        }
    }
    Ok(())
}

/// `router_general_settings` (LiteLLM's `RouterGeneralSettings`): `async_only_mode` only picks
/// which Python clients LiteLLM builds (llmux has none: accepted, no effect);
/// `pass_through_all_models: true` (send a model no deployment serves straight to
/// `litellm.completion`) is refused: a wildcard deployment does that with credentials.
fn check_general_settings(value: Option<&Value>) -> Result<(), LlmError> {
    let obj =
        match value {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(LlmError::config(
                "router_general_settings",
                "must be an object like { async_only_mode: false, pass_through_all_models: false }",
            )),
        };
    for key in obj.keys() {
        let path = format!("router_general_settings.{key}");
        match key.as_str() {
            "async_only_mode" => {
                opt_bool(obj, key, &path)?;
            }
            "pass_through_all_models" => {
                if opt_bool(obj, key, &path)?.unwrap_or(false) {
                    return Err(LlmError::config(
                        path,
                        "not supported by llmux: a model no deployment serves is not sent upstream on a guess; add a wildcard deployment (model_name \"*\", model \"openai/*\" with its api_key) to serve any model",
                    ));
                }
            }
            _ => {
                return Err(LlmError::config(
                    path,
                    "unknown setting (LiteLLM's router_general_settings has async_only_mode and pass_through_all_models)",
                ))
            }
        }
    }
    Ok(())
}

/// `null`, `false`, `0`, `""`, `[]` and `{}` are every unsupported option's default.
fn is_default_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn to_u32(v: Option<u64>, path: &str) -> Result<Option<u32>, LlmError> {
    v.map(|n| u32::try_from(n).map_err(|_| LlmError::config(path, "is too large")))
        .transpose()
}

/// A parsed `model_list`: the deployments, the entries `ignore_invalid_deployments` dropped
/// (with their errors), and warnings for the logger (repeated entries skipped, settings
/// ignored or forwarded).
#[derive(Debug, Default)]
pub struct ModelList {
    pub deployments: Vec<Deployment>,
    pub skipped: Vec<LlmError>,
    pub warnings: Vec<String>,
}

/// Parses `model_list`: merges `default_litellm_params` under each entry's params, fills the
/// provider settings `env` holds, validates, and checks ids are unique. An entry repeating
/// an earlier one exactly is skipped with a warning (LiteLLM keeps both under one id, which
/// doubles that deployment's share of the traffic); two different entries with one id are a
/// `ConfigError`.
pub fn parse_model_list(
    value: Option<&Value>,
    defaults: &Map<String, Value>,
    ignore_invalid: bool,
    env: &HashMap<String, String>,
    check: ProviderCheck,
) -> Result<ModelList, LlmError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(ModelList::default()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(LlmError::config(
                "model_list",
                "must be an array of deployments",
            ))
        }
    };
    let mut list = ModelList {
        deployments: Vec::with_capacity(items.len()),
        ..ModelList::default()
    };
    let mut ids: HashMap<String, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("model_list[{i}]");
        match parse_entry(item, &path, defaults, env, check) {
            Ok(mut d) => {
                if let Some(&first) = ids.get(&d.id) {
                    let same = list
                        .deployments
                        .iter()
                        .find(|x| x.id == d.id)
                        .is_some_and(|x| x.source == d.source);
                    if same {
                        list.warnings.push(format!(
                            "llmux: {path} repeats model_list[{first}] (deployment {}); the repeat is skipped",
                            d.id
                        ));
                        continue;
                    }
                    return Err(duplicate_id(&path, &d.id, first));
                }
                ids.insert(d.id.clone(), i);
                list.warnings.append(&mut d.warnings);
                list.deployments.push(d);
            }
            Err(e) if ignore_invalid => list.skipped.push(e),
            Err(e) => return Err(e),
        }
    }
    Ok(list)
}

/// The error for a second, different entry with an id already taken.
pub fn duplicate_id(path: &str, id: &str, first: usize) -> LlmError {
    LlmError::config(
        format!("{path}.model_info.id"),
        format!("duplicate deployment id {id:?} (model_list[{first}] has it and is a different entry; give each its own model_info.id)"),
    )
}

/// Parses one deployment with `default_litellm_params` merged under its own params and the
/// provider's settings filled from `env` where both leave them unset.
pub fn parse_entry(
    item: &Value,
    path: &str,
    defaults: &Map<String, Value>,
    env: &HashMap<String, String>,
    check: ProviderCheck,
) -> Result<Deployment, LlmError> {
    let mut deployment = if defaults.is_empty() {
        Deployment::parse_in(item, path, env, check)?
    } else {
        let mut merged = item.clone();
        if let Some(Value::Object(params)) = merged.get_mut("litellm_params") {
            for (k, v) in defaults {
                params.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Deployment::parse_in(&merged, path, env, check)?
    };
    deployment.source = SourceEntry(item.clone());
    Ok(deployment)
}

fn parse_group_list(value: Option<&Value>, path: &str) -> Result<Vec<String>, LlmError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(LlmError::config(
                    format!("{path}[{i}]"),
                    "must be a model group name",
                )),
            })
            .collect(),
        Some(_) => Err(LlmError::config(
            path,
            "must be an array of model group names",
        )),
    }
}

/// Parses LiteLLM's `[{ "group": ["fallback", …] }, …]` shape.
pub fn parse_fallbacks(value: Option<&Value>, path: &str) -> Result<FallbackMap, LlmError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(LlmError::config(
                path,
                "must be an array like [{\"group\": [\"fallback-group\"]}]",
            ))
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_path = format!("{path}[{i}]");
        let obj = item.as_object().ok_or_else(|| {
            LlmError::config(
                &item_path,
                "must be an object like {\"group\": [\"fallback-group\"]}",
            )
        })?;
        for (group, targets) in obj {
            let targets = parse_group_list(Some(targets), &format!("{item_path}.{group}"))?;
            out.push((group.clone(), targets));
        }
    }
    Ok(out)
}

fn parse_aliases(value: Option<&Value>) -> Result<HashMap<String, String>, LlmError> {
    let obj = match value {
        None | Some(Value::Null) => return Ok(HashMap::new()),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(LlmError::config(
                "model_group_alias",
                "must be an object of alias -> model group",
            ))
        }
    };
    obj.iter()
        .map(|(alias, target)| {
            let path = format!("model_group_alias.{alias}");
            let group = match target {
                Value::String(s) => s.clone(),
                // LiteLLM also accepts { model: "group", hidden: bool }.
                Value::Object(m) => opt_str(m, "model", &format!("{path}.model"))?
                    .ok_or_else(|| LlmError::config(format!("{path}.model"), "is required"))?,
                _ => {
                    return Err(LlmError::config(
                        path,
                        "must be a model group name or {\"model\": name}",
                    ))
                }
            };
            Ok((alias.clone(), group))
        })
        .collect()
}

fn parse_group_retry_policies(
    value: Option<&Value>,
) -> Result<HashMap<String, RetryPolicy>, LlmError> {
    let obj = match value {
        None | Some(Value::Null) => return Ok(HashMap::new()),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(LlmError::config(
                "model_group_retry_policy",
                "must be an object of model group -> retry policy",
            ))
        }
    };
    obj.iter()
        .map(|(group, v)| {
            Ok((
                group.clone(),
                RetryPolicy::parse(v, &format!("model_group_retry_policy.{group}"))?,
            ))
        })
        .collect()
}
