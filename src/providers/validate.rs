//! The provider checks of a parsed deployment, and the config entry points that apply them:
//! `config` parses without knowing the providers ([`crate::config::ProviderCheck`]), so what builds a
//! Router from options goes through here.

use super::{azure, bedrock, compat, lookup, vertex};
use crate::config::{Deployment, RouterConfig, SourceEntry};
use crate::error::LlmError;
use serde_json::Value;
use std::collections::HashMap;

/// Provider-specific checks of a parsed deployment (message only; the caller adds the path).
pub fn validate(deployment: &Deployment) -> Result<(), String> {
    match lookup(&deployment.provider) {
        Some(_) if deployment.provider == "bedrock" => bedrock::validate(deployment),
        Some(_) if deployment.provider == "vertex_ai" => vertex::validate(deployment),
        Some(_) if compat::preset(&deployment.provider).is_some() => compat::validate(deployment),
        Some(p) if matches!(p.name(), "azure" | "azure_ai") => azure::validate(deployment),
        Some(_) => Ok(()),
        None => Err(format!(
            "provider {:?} is not supported",
            deployment.provider
        )),
    }
}

impl RouterConfig {
    /// Parses the constructor options; `env` resolves `"os.environ/NAME"` references.
    pub fn parse(options: &Value, env: &HashMap<String, String>) -> Result<RouterConfig, LlmError> {
        RouterConfig::parse_with(options.clone(), env, validate)
    }

    /// [`parse`](Self::parse) of options the caller no longer needs (the wasm constructor's,
    /// just parsed from JSON text): env references are resolved in place, not in a copy.
    pub fn parse_owned(
        options: Value,
        env: &HashMap<String, String>,
    ) -> Result<RouterConfig, LlmError> {
        RouterConfig::parse_with(options, env, validate)
    }
}

impl Deployment {
    /// Parses `entry` (already env-resolved, defaults merged) at `path` (`model_list[3]`).
    pub fn parse(entry: &Value, path: &str) -> Result<Deployment, LlmError> {
        let mut d = Deployment::parse_in(entry, path, &HashMap::new(), validate)?;
        d.source = SourceEntry(entry.clone());
        Ok(d)
    }
}
