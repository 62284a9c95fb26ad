//! Model group views, LiteLLM's `get_model_group_info`, `get_remaining_model_group_usage`
//! and `get_model_access_groups`: one answer merged from a group's deployments, their
//! `model_info` and the price data. They read state and never call a provider.

use super::book::model_cost;
use super::Router;
use crate::config::Deployment;
use crate::types::object::Put;
use serde_json::{Map, Value};
use std::rc::Rc;

/// The capability flags `ModelGroupInfo` carries; a group supports one when any of its
/// deployments does (from `model_info.supports_*`, else the price data).
const FLAGS: &[&str] = &[
    "supports_function_calling",
    "supports_parallel_function_calling",
    "supports_vision",
    "supports_response_schema",
    "supports_prompt_caching",
    "supports_reasoning",
    "supports_web_search",
];

fn max_opt<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y > x { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

fn sum_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.saturating_add(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn flag(d: &Deployment, cost: &crate::cost::ModelCost, name: &str) -> bool {
    if let Some(b) = d.model_info.raw.get(name).and_then(Value::as_bool) {
        return b;
    }
    match name {
        "supports_function_calling" => cost.supports_function_calling,
        "supports_vision" => cost.supports_vision,
        "supports_response_schema" => cost.supports_response_schema,
        "supports_prompt_caching" => cost.supports_prompt_caching,
        "supports_reasoning" => cost.supports_reasoning,
        _ => false,
    }
}

impl Router {
    /// The deployments serving `name` (an alias, a group or a model a wildcard matches).
    fn group_members(&self, name: &str) -> Option<Rc<[Rc<Deployment>]>> {
        let group = self.resolve_alias(name);
        let members = self.table().resolve(&group).ok()?.members;
        (!members.is_empty()).then_some(members)
    }

    /// LiteLLM's `ModelGroupInfo` for `name`, or `None` when nothing serves it. As LiteLLM
    /// merges it: `providers` in order of first appearance, the largest context window and
    /// prices, `rpm`/`tpm` summed over the deployments that set them, a flag set when any
    /// deployment has it, `mode` of the first deployment that states one.
    pub fn model_group_info(&self, name: &str) -> Option<Value> {
        let members = self.group_members(name)?;
        let mut providers: Vec<&str> = Vec::new();
        let (mut max_in, mut max_out) = (None, None);
        let (mut in_cost, mut out_cost) = (None::<f64>, None::<f64>);
        let (mut rpm, mut tpm) = (None, None);
        let mut mode: Option<String> = None;
        let mut description: Option<&str> = None;
        let mut flags = [false; FLAGS.len()];
        let costs: Vec<_> = members.iter().map(|d| model_cost(d)).collect();
        for (d, cost) in members.iter().zip(&costs) {
            if !providers.contains(&d.provider.as_str()) {
                providers.push(&d.provider);
            }
            let info = &d.model_info;
            max_in = max_opt(
                max_in,
                info.max_input_tokens
                    .or(info.max_tokens)
                    .or(cost.max_input_tokens)
                    .or(cost.max_tokens),
            );
            max_out = max_opt(max_out, info.max_output_tokens.or(cost.max_output_tokens));
            in_cost = max_opt(in_cost, cost.input_cost_per_token);
            out_cost = max_opt(out_cost, cost.output_cost_per_token);
            rpm = sum_opt(rpm, d.rpm);
            tpm = sum_opt(tpm, d.tpm);
            if mode.is_none() {
                mode = info
                    .mode
                    .map(|m| m.name().to_string())
                    .or_else(|| (!cost.mode.is_empty()).then(|| cost.mode.clone()));
            }
            if description.is_none() {
                description = info.raw.get("description").and_then(Value::as_str);
            }
            for (slot, name) in flags.iter_mut().zip(FLAGS) {
                *slot |= flag(d, cost, name);
            }
        }
        let mut out = Map::new();
        out.put("model_group", Value::from(name));
        out.put("providers", Value::from(providers));
        out.put("max_input_tokens", Value::from(max_in));
        out.put("max_output_tokens", Value::from(max_out));
        out.put("input_cost_per_token", Value::from(in_cost));
        out.put("output_cost_per_token", Value::from(out_cost));
        out.put("mode", Value::from(mode));
        out.put("tpm", Value::from(tpm));
        out.put("rpm", Value::from(rpm));
        for (name, set) in FLAGS.iter().zip(flags) {
            out.insert((*name).into(), Value::from(set));
        }
        out.put("description", Value::from(description));
        Some(Value::Object(out))
    }

    /// LiteLLM's `get_remaining_model_group_usage`: the group's `rpm`/`tpm` limits (summed
    /// over the deployments that set them) and what is left of them in this clock minute,
    /// as the `x-ratelimit-*` header names; empty when the group sets no limit or nothing
    /// serves `name`.
    pub fn remaining_group_usage(&self, name: &str) -> Map<String, Value> {
        let mut out = Map::new();
        let Some(members) = self.group_members(name) else {
            return out;
        };
        let now = self.now();
        let minute = self.inner.minute_usage.borrow();
        let (mut rpm, mut tpm, mut used_requests, mut used_tokens) = (None, None, 0u64, 0u64);
        for d in members.iter() {
            let (requests, tokens) = minute.current(&d.id, now);
            if d.rpm.is_some() {
                used_requests = used_requests.saturating_add(requests);
            }
            if d.tpm.is_some() {
                used_tokens = used_tokens.saturating_add(tokens);
            }
            rpm = sum_opt(rpm, d.rpm);
            tpm = sum_opt(tpm, d.tpm);
        }
        drop(minute);
        if let Some(limit) = tpm {
            out.insert(
                "x-ratelimit-remaining-tokens".into(),
                Value::from(limit.saturating_sub(used_tokens)),
            );
            out.put("x-ratelimit-limit-tokens", Value::from(limit));
        }
        if let Some(limit) = rpm {
            out.insert(
                "x-ratelimit-remaining-requests".into(),
                Value::from(limit.saturating_sub(used_requests)),
            );
            out.put("x-ratelimit-limit-requests", Value::from(limit));
        }
        out
    }

    /// LiteLLM's `get_model_access_groups`: each `model_info.access_groups` name with the
    /// model groups (and the aliases of those groups) whose deployments list it, sorted and
    /// without repeats.
    pub fn model_access_groups(&self) -> Map<String, Value> {
        let table = self.table();
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        let aliases = &self.inner.config.model_group_alias;
        for d in table.deployments() {
            for access in d.model_info.access_groups() {
                let at = match out.iter().position(|(name, _)| name == access) {
                    Some(at) => at,
                    None => {
                        out.push((access.to_string(), Vec::new()));
                        out.len() - 1
                    }
                };
                let Some((_, names)) = out.get_mut(at) else {
                    continue;
                };
                let aliased = aliases
                    .iter()
                    .filter(|(_, group)| **group == d.model_group)
                    .map(|(alias, _)| alias);
                for name in std::iter::once(&d.model_group).chain(aliased) {
                    if !names.contains(name) {
                        names.push(name.clone());
                    }
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.into_iter()
            .map(|(access, mut names)| {
                names.sort();
                (access, Value::from(names))
            })
            .collect()
    }

    /// The input tokens of a chat request for model group `model` (the Messages API's
    /// `count_tokens`): the `tokenizer` option's count when it gives one (`true`), else the
    /// built-in estimate (`false`). Reads nothing but the request.
    pub fn count_input_tokens(&self, model: &str, body: &Map<String, Value>) -> (u64, bool) {
        if let Some(n) = self
            .inner
            .ports
            .token_counter
            .as_ref()
            .and_then(|c| c.count(model, body))
        {
            return (n, true);
        }
        (crate::types::tokens::estimate_input_tokens(body), false)
    }
}
