//! Resolves LiteLLM's `"os.environ/NAME"` references against the host's environment map.

use crate::error::LlmError;
use serde_json::Value;
use std::collections::HashMap;

pub const ENV_PREFIX: &str = "os.environ/";

/// Replaces every `"os.environ/NAME"` string inside `value` (recursively) with the
/// variable's value; a missing variable is a `ConfigError` naming the field.
pub fn resolve_env_refs(
    value: &mut Value,
    path: &str,
    env: &HashMap<String, String>,
) -> Result<(), LlmError> {
    resolve(value, &Seg::Root(path), env)
}

/// Where a value sits in the options, written out only for an error (a config of 1,000
/// deployments would otherwise format a path for every field it has).
enum Seg<'a> {
    Root(&'a str),
    Key(&'a Seg<'a>, &'a str),
    Index(&'a Seg<'a>, usize),
}

impl std::fmt::Display for Seg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seg::Root(path) => f.write_str(path),
            Seg::Key(Seg::Root(""), key) => f.write_str(key),
            Seg::Key(parent, key) => write!(f, "{parent}.{key}"),
            Seg::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

fn resolve(value: &mut Value, path: &Seg, env: &HashMap<String, String>) -> Result<(), LlmError> {
    match value {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix(ENV_PREFIX) {
                match env.get(name) {
                    Some(v) => *s = v.clone(),
                    None => {
                        return Err(LlmError::config(
                            path.to_string(),
                            format!(
                                "environment variable {name} is not set (referenced as \"{ENV_PREFIX}{name}\"; pass it in the `env` option)"
                            ),
                        ))
                    }
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                resolve(item, &Seg::Index(path, i), env)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                resolve(v, &Seg::Key(path, k), env)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn replaces_nested_references() {
        let env = HashMap::from([("KEY".to_string(), "sk-1".to_string())]);
        let mut v = json!({"a": [{"api_key": "os.environ/KEY"}], "b": "plain"});
        resolve_env_refs(&mut v, "", &env).unwrap();
        assert_eq!(v, json!({"a": [{"api_key": "sk-1"}], "b": "plain"}));
    }

    #[test]
    fn missing_variable_names_the_field_and_variable() {
        let mut v = json!({"model_list": [{"litellm_params": {"api_key": "os.environ/NOPE"}}]});
        let err = resolve_env_refs(&mut v, "", &HashMap::new()).unwrap_err();
        assert_eq!(
            err.field.as_deref(),
            Some("model_list[0].litellm_params.api_key")
        );
        assert!(err.message.contains("NOPE"));
    }
}
