//! Deployments at runtime: add, delete, update (deep-merge), replace the list. Each change
//! builds a new table; requests in flight keep theirs, untouched deployments keep their state.

use super::{DeploymentTable, Router};
use crate::config::{duplicate_id, parse_entry, resolve_env_refs, Deployment};
use crate::error::LlmError;
use crate::ports::LogLevel;
use crate::types::object::Put;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

/// Merges `patch` into `base`: objects merge key by key, `null` removes a key, anything
/// else replaces.
pub fn deep_merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(slot) = b.get_mut(k) {
                    deep_merge(slot, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

impl Router {
    fn parse_new(&self, entry: &Value, path: &str) -> Result<Deployment, LlmError> {
        let mut entry = entry.clone();
        let env = &self.inner.config.env.0;
        resolve_env_refs(&mut entry, path, env)?;
        let mut d = parse_entry(
            &entry,
            path,
            &self.inner.config.default_litellm_params,
            env,
            crate::providers::validate,
        )?;
        self.warn(std::mem::take(&mut d.warnings));
        Ok(d)
    }

    fn warn(&self, warnings: Vec<String>) {
        for w in warnings {
            self.inner.ports.logger.log(LogLevel::Warn, &w);
        }
    }

    fn replace_table(&self, deployments: Vec<Rc<Deployment>>) {
        *self.inner.table.borrow_mut() = Rc::new(DeploymentTable::from_shared(deployments));
    }

    /// Forgets the cooldown and usage state of deployments no longer in the table.
    fn forget(&self, ids: &[String]) {
        let mut cooldowns = self.inner.cooldowns.borrow_mut();
        let mut minute = self.inner.minute_usage.borrow_mut();
        let mut usage = self.inner.usage.borrow_mut();
        for id in ids {
            cooldowns.forget(id);
            minute.forget(id);
            usage.forget(id);
        }
    }

    /// Adds a deployment (LiteLLM's `add_deployment`); returns it redacted.
    pub fn add_deployment(&self, entry: &Value) -> Result<Value, LlmError> {
        let table = self.table();
        let path = format!("model_list[{}]", table.deployments().len());
        let d = self.parse_new(entry, &path)?;
        if table.deployments().iter().any(|x| x.id == d.id) {
            return Err(LlmError::config(
                format!("{path}.model_info.id"),
                format!("duplicate deployment id {:?}", d.id),
            ));
        }
        let shown = d.redacted();
        let mut all = table.deployments().to_vec();
        all.push(Rc::new(d));
        self.replace_table(all);
        Ok(shown)
    }

    /// Removes a deployment by id; returns it redacted, or `None` when there is none.
    pub fn delete_deployment(&self, id: &str) -> Option<Value> {
        let table = self.table();
        let removed = table.deployments().iter().find(|d| d.id == id)?.redacted();
        let kept = table
            .deployments()
            .iter()
            .filter(|d| d.id != id)
            .cloned()
            .collect();
        self.replace_table(kept);
        self.forget(&[id.to_string()]);
        Some(removed)
    }

    /// Deep-merges `patch` (`{ model_name?, litellm_params?, model_info? }`) into the
    /// deployment and revalidates it. The id stays unless the patch sets `model_info.id`.
    pub fn update_deployment(&self, id: &str, patch: &Value) -> Result<Value, LlmError> {
        if !patch.is_object() {
            return Err(LlmError::config(
                "patch",
                "must be an object like { litellm_params: { … } }",
            ));
        }
        let table = self.table();
        let index = table
            .deployments()
            .iter()
            .position(|d| d.id == id)
            .ok_or_else(|| LlmError::config("id", format!("no deployment with id {id:?}")))?;
        let old = table.deployments().get(index).cloned();
        let mut source = old
            .as_ref()
            .map(|d| d.source.0.clone())
            .unwrap_or(Value::Null);
        deep_merge(&mut source, patch);
        // Keep the id the deployment has (generated or given) unless the patch changes it.
        if patch.pointer("/model_info/id").is_none() {
            if let Value::Object(entry) = &mut source {
                let info = entry
                    .entry("model_info")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(info) = info {
                    info.put("id", Value::String(id.to_string()));
                }
            }
        }
        let path = format!("model_list[{index}]");
        let d = self.parse_new(&source, &path)?;
        if d.id != id && table.deployments().iter().any(|x| x.id == d.id) {
            return Err(LlmError::config(
                format!("{path}.model_info.id"),
                format!("duplicate deployment id {:?}", d.id),
            ));
        }
        let shown = d.redacted();
        let new_id = d.id.clone();
        let mut all = table.deployments().to_vec();
        if let Some(slot) = all.get_mut(index) {
            *slot = Rc::new(d);
        }
        self.replace_table(all);
        if new_id != id {
            self.forget(&[id.to_string()]);
        }
        Ok(shown)
    }

    /// LiteLLM's `upsert_deployment`: adds the deployment when its id is new, replaces the
    /// deployment with that id when the entry differs (its cooldown and usage state stay, as
    /// with `update_deployment`), and does nothing when it is the same. Returns the new
    /// deployment, redacted, or `None` when nothing changed.
    pub fn upsert_deployment(&self, entry: &Value) -> Result<Option<Value>, LlmError> {
        let table = self.table();
        let Some(index) = ({
            let id = self
                .parse_new(entry, &format!("model_list[{}]", table.deployments().len()))?
                .id;
            table.deployments().iter().position(|d| d.id == id)
        }) else {
            return self.add_deployment(entry).map(Some);
        };
        let path = format!("model_list[{index}]");
        let d = self.parse_new(entry, &path)?;
        let mut all = table.deployments().to_vec();
        let Some(slot) = all.get_mut(index) else {
            return Ok(None);
        };
        if with_id(&slot.source.0, &d.id) == with_id(&d.source.0, &d.id) {
            return Ok(None);
        }
        let shown = d.redacted();
        *slot = Rc::new(d);
        self.replace_table(all);
        Ok(Some(shown))
    }

    /// Replaces every deployment (LiteLLM's `set_model_list`). State survives for ids kept.
    pub fn set_model_list(&self, list: &Value) -> Result<(), LlmError> {
        let items = list
            .as_array()
            .ok_or_else(|| LlmError::config("model_list", "must be an array of deployments"))?;
        let mut parsed: Vec<Rc<Deployment>> = Vec::with_capacity(items.len());
        let mut ids: HashMap<String, usize> = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("model_list[{i}]");
            let d = self.parse_new(item, &path)?;
            if let Some(&first) = ids.get(&d.id) {
                // An exact repeat is skipped, as at construction (`parse_model_list`).
                if parsed.iter().any(|x| x.id == d.id && x.source == d.source) {
                    self.warn(vec![format!(
                        "llmux: {path} repeats model_list[{first}] (deployment {}); the repeat is skipped",
                        d.id
                    )]);
                    continue;
                }
                return Err(duplicate_id(&path, &d.id, first));
            }
            ids.insert(d.id.clone(), i);
            parsed.push(Rc::new(d));
        }
        let gone: Vec<String> = self
            .table()
            .deployments()
            .iter()
            .filter(|d| !ids.contains_key(&d.id))
            .map(|d| d.id.clone())
            .collect();
        self.replace_table(parsed);
        self.forget(&gone);
        Ok(())
    }

    /// The deployments (of one model group, or all), redacted.
    pub fn model_list(&self, group: Option<&str>) -> Vec<Value> {
        let table = self.table();
        table
            .deployments()
            .iter()
            .filter(|d| group.is_none_or(|g| d.model_group == g))
            .map(|d| d.redacted())
            .collect()
    }

    /// One deployment by id, redacted.
    pub fn deployment_info(&self, id: &str) -> Option<Value> {
        self.table()
            .deployments()
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.redacted())
    }
}

/// `entry` with `model_info.id` set to `id`, so a generated id and the same id written out
/// compare equal.
fn with_id(entry: &Value, id: &str) -> Value {
    let mut entry = entry.clone();
    if let Value::Object(obj) = &mut entry {
        let info = obj
            .entry("model_info")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(info) = info {
            info.put("id", Value::String(id.to_string()));
        }
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deep_merge_merges_objects_and_null_removes() {
        let mut base = json!({"a": {"x": 1, "y": 2}, "b": 1});
        deep_merge(&mut base, &json!({"a": {"y": 3, "x": null}, "c": [1]}));
        assert_eq!(base, json!({"a": {"y": 3}, "b": 1, "c": [1]}));
    }
}
