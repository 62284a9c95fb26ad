//! The deployment-selection options: tag routing, health-check routing, affinity and
//! `optional_pre_call_checks`, parsed and validated (the filters are `router/eligible.rs`).

use super::fields::{opt_bool, opt_f64, opt_str, seconds_to_ms};
use crate::error::LlmError;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// LiteLLM's `deployment_affinity_ttl_seconds` default (1 hour).
pub const DEFAULT_AFFINITY_TTL_MS: u64 = 3_600_000;
/// LiteLLM's health-state staleness: `DEFAULT_HEALTH_CHECK_INTERVAL` (300 s) x 2.
pub const DEFAULT_HEALTH_STALENESS_MS: u64 = 600_000;
/// The background probe's period unless `health_check_interval` says otherwise (LiteLLM's
/// proxy default, 300 s).
pub const DEFAULT_HEALTH_CHECK_INTERVAL_MS: u64 = 300_000;
/// The shortest background probe period llmux accepts (1 s).
pub const MIN_HEALTH_CHECK_INTERVAL_MS: u64 = 1_000;

/// `enable_tag_filtering`, `tag_filtering_match_any`, `tag_routing_prefix`.
#[derive(Debug, Clone, Default)]
pub struct TagRouting {
    pub enabled: bool,
    /// A deployment matches when it carries any request tag (else: all of them).
    pub match_any: bool,
    /// With a prefix, only request tags carrying it route (the prefix stripped).
    pub prefix: String,
}

/// `enable_health_check_routing` and its settings.
#[derive(Debug, Clone, Default)]
pub struct HealthRouting {
    pub enabled: bool,
    /// A health result older than this is ignored (`health_check_staleness_threshold`).
    pub staleness_ms: u64,
    /// 429 and 408 probe results do not mark a deployment unhealthy.
    pub ignore_transient_errors: bool,
    /// Groups the background probe checks (`background_health_check_model_groups`).
    pub background_groups: Vec<String>,
    /// The background probe's period (`health_check_interval`, llmux's own option).
    pub interval_ms: u64,
}

/// Affinity pins (`optional_pre_call_checks` `deployment_affinity` / `session_affinity`).
#[derive(Debug, Clone, Default)]
pub struct Affinity {
    /// Pin per caller key (`metadata.user_api_key_hash`, else `user_api_key_user_id`).
    pub user_key: bool,
    /// Pin per `metadata.session_id`.
    pub session: bool,
    pub ttl_ms: u64,
    /// `model_group_affinity_config`: per group, (user_key, session) instead of the above.
    pub per_group: HashMap<String, (bool, bool)>,
    /// Move a session pin whose deployment is cooling down, unhealthy or removed to the
    /// deployment that answered instead (`session_affinity_repin_on_failover`).
    pub repin_on_failover: bool,
}

impl Affinity {
    /// (user_key, session) for a model group.
    pub fn flags(&self, group: &str) -> (bool, bool) {
        self.per_group
            .get(group)
            .copied()
            .unwrap_or((self.user_key, self.session))
    }

    pub fn any(&self) -> bool {
        self.user_key || self.session || self.per_group.values().any(|(u, s)| *u || *s)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub tags: TagRouting,
    pub health: HealthRouting,
    pub affinity: Affinity,
    /// `optional_pre_call_checks: ["enforce_model_rate_limits"]`: rpm/tpm are hard limits
    /// whatever the routing strategy.
    pub enforce_model_rate_limits: bool,
    /// `optional_pre_call_checks: ["prompt_caching"]`: prompts go back to the deployment
    /// that answered their `cache_control` prefix.
    pub prompt_caching: bool,
}

/// `optional_pre_call_checks` names llmux refuses, with the reason.
const REFUSED_CHECKS: &[(&str, &str)] = &[
    (
        "responses_api_deployment_check",
        "pins a previous_response_id to the deployment that stored that response; llmux serves the Responses API by translation to chat and stores no responses (previous_response_id is a BadRequestError), so there is nothing to pin",
    ),
    (
        "encrypted_content_affinity",
        "pins encrypted reasoning items to the deployment that made them; llmux serves the Responses API by translation to chat and returns no encrypted reasoning items, so there is nothing to pin",
    ),
    (
        "forward_client_headers_by_model_group",
        "is a LiteLLM proxy feature (it forwards the proxy's client headers); llmux has no proxy in front of it",
    ),
];

const GROUP_FLAGS: &[&str] = &[
    "deployment_affinity",
    "session_affinity",
    "responses_api_deployment_check",
    "encrypted_content_affinity",
];

impl Selection {
    pub fn parse(obj: &Map<String, Value>) -> Result<Selection, LlmError> {
        let mut sel = Selection {
            tags: TagRouting {
                enabled: opt_bool(obj, "enable_tag_filtering", "enable_tag_filtering")?
                    .unwrap_or(false),
                match_any: opt_bool(obj, "tag_filtering_match_any", "tag_filtering_match_any")?
                    .unwrap_or(true),
                prefix: opt_str(obj, "tag_routing_prefix", "tag_routing_prefix")?
                    .unwrap_or_default(),
            },
            health: HealthRouting {
                enabled: opt_bool(
                    obj,
                    "enable_health_check_routing",
                    "enable_health_check_routing",
                )?
                .unwrap_or(false),
                staleness_ms: positive_seconds(obj, "health_check_staleness_threshold")?
                    .unwrap_or(DEFAULT_HEALTH_STALENESS_MS),
                ignore_transient_errors: opt_bool(
                    obj,
                    "health_check_ignore_transient_errors",
                    "health_check_ignore_transient_errors",
                )?
                .unwrap_or(false),
                background_groups: group_names(
                    obj.get("background_health_check_model_groups"),
                    "background_health_check_model_groups",
                )?,
                interval_ms: match positive_seconds(obj, "health_check_interval")? {
                    Some(ms) if ms < MIN_HEALTH_CHECK_INTERVAL_MS => {
                        return Err(LlmError::config(
                            "health_check_interval",
                            "must be at least 1 (seconds)",
                        ))
                    }
                    Some(ms) => ms,
                    None => DEFAULT_HEALTH_CHECK_INTERVAL_MS,
                },
            },
            affinity: Affinity {
                ttl_ms: match positive_seconds(obj, "deployment_affinity_ttl_seconds")? {
                    Some(0) => {
                        return Err(LlmError::config(
                            "deployment_affinity_ttl_seconds",
                            "must be a positive number of seconds",
                        ))
                    }
                    Some(ms) => ms,
                    None => DEFAULT_AFFINITY_TTL_MS,
                },
                repin_on_failover: opt_bool(
                    obj,
                    "session_affinity_repin_on_failover",
                    "session_affinity_repin_on_failover",
                )?
                .unwrap_or(false),
                ..Affinity::default()
            },
            enforce_model_rate_limits: false,
            prompt_caching: false,
        };
        if sel.tags.prefix.len() > 256 {
            return Err(LlmError::config(
                "tag_routing_prefix",
                "must be at most 256 bytes",
            ));
        }
        match obj.get("optional_pre_call_checks") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("optional_pre_call_checks[{i}]");
                    let name = item
                        .as_str()
                        .ok_or_else(|| LlmError::config(&path, "must be a check name"))?;
                    match name {
                        "deployment_affinity" => sel.affinity.user_key = true,
                        "session_affinity" => sel.affinity.session = true,
                        "enforce_model_rate_limits" => sel.enforce_model_rate_limits = true,
                        "prompt_caching" => sel.prompt_caching = true,
                        // LiteLLM's budget limiter, which its Router also adds by itself for
                        // `max_budget` or `provider_budget_config`: llmux's budgets apply
                        // whenever those are set, so naming it changes nothing.
                        "router_budget_limiting" => {}
                        _ => {
                            let why = REFUSED_CHECKS
                                .iter()
                                .find(|(n, _)| *n == name)
                                .map(|(_, why)| format!("{name:?} {why}"))
                                .unwrap_or_else(|| {
                                    format!("unknown check {name:?} (expected deployment_affinity, session_affinity, enforce_model_rate_limits, prompt_caching, router_budget_limiting)")
                                });
                            return Err(LlmError::config(path, why));
                        }
                    }
                }
            }
            Some(_) => {
                return Err(LlmError::config(
                    "optional_pre_call_checks",
                    "must be an array of check names",
                ))
            }
        }
        match obj.get("model_group_affinity_config") {
            None | Some(Value::Null) => {}
            Some(Value::Object(groups)) => {
                for (group, flags) in groups {
                    let path = format!("model_group_affinity_config.{group}");
                    let flags = group_names(Some(flags), &path)?;
                    if let Some((i, bad)) = flags
                        .iter()
                        .enumerate()
                        .find(|(_, f)| !GROUP_FLAGS.contains(&f.as_str()))
                    {
                        return Err(LlmError::config(
                            format!("{path}[{i}]"),
                            format!("unknown flag {bad:?} (expected deployment_affinity or session_affinity)"),
                        ));
                    }
                    if let Some((i, f)) = flags.iter().enumerate().find(|(_, f)| {
                        f.as_str() == "responses_api_deployment_check"
                            || f.as_str() == "encrypted_content_affinity"
                    }) {
                        return Err(LlmError::config(
                            format!("{path}[{i}]"),
                            format!(
                                "{f:?} pins Responses API state to a deployment; llmux serves the Responses API by translation to chat and stores no responses or encrypted reasoning items, so there is nothing to pin"
                            ),
                        ));
                    }
                    let has = |n: &str| flags.iter().any(|f| f == n);
                    sel.affinity.per_group.insert(
                        group.clone(),
                        (has("deployment_affinity"), has("session_affinity")),
                    );
                }
            }
            Some(_) => {
                return Err(LlmError::config(
                    "model_group_affinity_config",
                    "must be an object of model group -> [\"deployment_affinity\" | \"session_affinity\"]",
                ))
            }
        }
        Ok(sel)
    }
}

fn positive_seconds(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, LlmError> {
    seconds_to_ms(opt_f64(obj, key, key)?, key)
}

fn group_names(value: Option<&Value>, path: &str) -> Result<Vec<String>, LlmError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| LlmError::config(format!("{path}[{i}]"), "must be a string"))
            })
            .collect(),
        Some(_) => Err(LlmError::config(path, "must be an array of strings")),
    }
}
