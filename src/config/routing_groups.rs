//! `routing_groups` (LiteLLM 1.110.2): named sets of model groups, each routed by its own
//! `routing_strategy` instead of the router's. Priority groups are refused (use `order`).

use super::{parse_strategy, RoutingStrategy};
use crate::error::LlmError;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The most routing groups one config may declare (each costs a lookup per pick: bounded).
pub const MAX_ROUTING_GROUPS: usize = 256;

/// The parsed `routing_groups`.
#[derive(Debug, Clone, Default)]
pub struct RoutingGroups {
    /// Each member model group's strategy.
    pub members: HashMap<String, RoutingStrategy>,
    /// Each routing group by name: its member model groups, in order, and its strategy. A
    /// name no model group or alias shadows is callable as a model: the union of its members.
    pub groups: HashMap<String, (Vec<String>, RoutingStrategy)>,
}

/// `routing_groups`; empty without them.
pub fn parse(value: Option<&Value>) -> Result<RoutingGroups, LlmError> {
    let list = match value {
        None | Some(Value::Null) => return Ok(RoutingGroups::default()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(LlmError::config("routing_groups", "must be a list")),
    };
    if list.len() > MAX_ROUTING_GROUPS {
        return Err(LlmError::config(
            "routing_groups",
            format!("at most {MAX_ROUTING_GROUPS} groups"),
        ));
    }
    let mut names: Vec<&str> = Vec::new();
    let mut owners: HashMap<String, (String, RoutingStrategy)> = HashMap::new();
    let mut groups = HashMap::new();
    for (i, entry) in list.iter().enumerate() {
        let at = |field: &str| format!("routing_groups[{i}].{field}");
        let obj = entry
            .as_object()
            .ok_or_else(|| LlmError::config(format!("routing_groups[{i}]"), "must be an object"))?;
        if let Some(key) = obj.keys().find(|k| {
            !matches!(
                k.as_str(),
                "group_name"
                    | "models"
                    | "routing_strategy"
                    | "routing_strategy_args"
                    | "model_priorities"
            )
        }) {
            return Err(LlmError::config(at(key), "not a field of a routing group"));
        }
        let name = match obj.get("group_name") {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            _ => {
                return Err(LlmError::config(
                    at("group_name"),
                    "must be a non-empty string",
                ))
            }
        };
        if name == "default" {
            return Err(LlmError::config(
                at("group_name"),
                "'default' is reserved for the implicit fallback group",
            ));
        }
        if names.contains(&name) {
            return Err(LlmError::config(
                at("group_name"),
                format!("group names must be unique, duplicate group_name {name:?}"),
            ));
        }
        names.push(name);
        if obj.get("routing_strategy").and_then(Value::as_str) == Some("priority") {
            return Err(LlmError::config(
                at("routing_strategy"),
                "not supported by llmux: priority routing groups (a group name callable as a model, its members tried by model_priorities) are not built; set `order` on the members' deployments and list the members in `fallbacks`",
            ));
        }
        if !matches!(obj.get("routing_strategy"), Some(Value::String(_))) {
            return Err(LlmError::config(at("routing_strategy"), "must be a string"));
        }
        if obj.get("model_priorities").is_some_and(|v| !v.is_null()) {
            return Err(LlmError::config(
                at("model_priorities"),
                "model_priorities requires routing_strategy='priority'",
            ));
        }
        let mut own = Map::new();
        for key in ["routing_strategy", "routing_strategy_args"] {
            if let Some(v) = obj.get(key) {
                own.insert(key.to_string(), v.clone());
            }
        }
        let strategy = parse_strategy(&own).map_err(|e| {
            let field = e.field.clone().unwrap_or_else(|| "routing_strategy".into());
            let message = e
                .message
                .strip_prefix(&format!("{field}: "))
                .unwrap_or(&e.message)
                .to_string();
            LlmError::config(at(&field), message)
        })?;
        let models = obj
            .get("models")
            .and_then(Value::as_array)
            .ok_or_else(|| LlmError::config(at("models"), "must be a list of model names"))?;
        let mut listed = Vec::new();
        for (j, model) in models.iter().enumerate() {
            let model = model.as_str().ok_or_else(|| {
                LlmError::config(
                    format!("routing_groups[{i}].models[{j}]"),
                    "must be a string",
                )
            })?;
            if let Some((other, _)) = owners.get(model) {
                if other != name {
                    return Err(LlmError::config(
                        format!("routing_groups[{i}].models[{j}]"),
                        format!("model_name {model:?} appears in {other:?} and {name:?}; each model may belong to at most one group"),
                    ));
                }
            }
            owners.insert(model.to_string(), (name.to_string(), strategy));
            if !listed.iter().any(|m| m == model) {
                listed.push(model.to_string());
            }
        }
        groups.insert(name.to_string(), (listed, strategy));
    }
    Ok(RoutingGroups {
        members: owners.into_iter().map(|(m, (_, s))| (m, s)).collect(),
        groups,
    })
}
