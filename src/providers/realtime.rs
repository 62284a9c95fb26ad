//! Realtime WebSocket sessions (README, "Realtime"): the URL and headers of the upgrade,
//! planned here, pure; the host opens the socket and relays it.
//!
//! - OpenAI: `wss://api.openai.com/v1/realtime?model=<model>` with `Authorization: Bearer`
//!   and `OpenAI-Beta: realtime=v1`; an `api_base` is respected (`http` → `ws`, `https` →
//!   `wss`).
//! - Azure OpenAI: `wss://<resource>/openai/realtime?api-version=…&deployment=<name>` with
//!   `api-key` (or `Authorization: Bearer <azure_ad_token>`), as LiteLLM builds it.
//!
//! Every other provider has no realtime WebSocket llmux speaks: refused by name.

use super::azure;
use crate::config::Deployment;
use crate::error::LlmError;

/// The `api-version` of an Azure realtime session when the deployment sets none
/// (LiteLLM's realtime default).
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-01-preview";

/// The providers with a realtime WebSocket llmux speaks.
pub const PROVIDERS: [&str; 2] = ["openai", "azure"];

/// How the host opens one deployment's realtime socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `ws://` or `wss://`.
    pub url: String,
    /// Includes the credentials: the host keeps them private and never logs them.
    pub headers: Vec<(String, String)>,
}

/// Whether `d`'s provider has a realtime WebSocket llmux speaks.
pub fn supports(d: &Deployment) -> bool {
    PROVIDERS.contains(&d.provider.as_str())
}

/// The refusal for a deployment whose provider has no realtime WebSocket.
pub fn unsupported(provider: &str) -> LlmError {
    LlmError::bad_request(format!(
        "realtime() is not supported for provider {provider}: llmux opens realtime WebSockets to openai and azure deployments only"
    ))
}

/// `http(s)://…` → `ws(s)://…`; a `ws(s)://` base is kept; anything else is refused.
fn ws_scheme(base: &str) -> Result<String, LlmError> {
    let lower = base.get(..8).unwrap_or(base).to_ascii_lowercase();
    let rest = |n: usize| base.get(n..).unwrap_or("");
    if lower.starts_with("https://") {
        Ok(format!("wss://{}", rest(8)))
    } else if lower.starts_with("http://") {
        Ok(format!("ws://{}", rest(7)))
    } else if lower.starts_with("wss://") || lower.starts_with("ws://") {
        Ok(base.to_string())
    } else {
        Err(LlmError::bad_request(
            "realtime(): the deployment's api_base must start with http://, https://, ws:// or wss://",
        ))
    }
}

/// `base` (its query and fragment dropped) with `path` appended once and `query` added.
fn url(base: &str, path: &str, query: &[(&str, &str)]) -> Result<String, LlmError> {
    let base = base.split(['?', '#']).next().unwrap_or(base);
    let base = ws_scheme(base.trim_end_matches('/'))?;
    let mut out = if base.ends_with(path) {
        base
    } else {
        format!("{base}{path}")
    };
    for (i, (k, v)) in query.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&azure::encode(v));
    }
    Ok(out)
}

/// The upgrade for deployment `d`.
pub fn plan(d: &Deployment) -> Result<Plan, LlmError> {
    match d.provider.as_str() {
        "openai" => {
            let base = d
                .api_base
                .as_deref()
                .unwrap_or(super::openai::DEFAULT_API_BASE);
            let mut headers = super::openai::auth(d);
            headers.push(("openai-beta".into(), "realtime=v1".into()));
            Ok(Plan {
                url: url(base, "/realtime", &[("model", &d.model)])?,
                headers,
            })
        }
        "azure" => {
            let base = d.api_base.as_deref().ok_or_else(|| {
                LlmError::bad_request("realtime(): the azure deployment has no api_base")
            })?;
            let root = base.split(['?', '#']).next().unwrap_or(base);
            let root = root.trim_end_matches('/');
            let root = root.strip_suffix("/openai").unwrap_or(root);
            let version = d
                .api_version
                .as_deref()
                .unwrap_or(AZURE_DEFAULT_API_VERSION);
            let deployment = azure::deployment_name(&d.model);
            let mut headers = Vec::new();
            match (
                d.provider_param("azure_ad_token"),
                d.api_key.as_ref().map(|k| k.expose()),
            ) {
                (Some(t), _) => headers.push(("authorization".into(), format!("Bearer {t}"))),
                (None, Some(k)) => headers.push(("api-key".into(), k.to_string())),
                (None, None) => {}
            }
            Ok(Plan {
                url: url(
                    root,
                    "/openai/realtime",
                    &[("api-version", version), ("deployment", deployment)],
                )?,
                headers,
            })
        }
        other => Err(unsupported(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RouterConfig;

    fn deployment(params: serde_json::Value) -> Deployment {
        let options =
            serde_json::json!({"model_list": [{"model_name": "rt", "litellm_params": params}]});
        RouterConfig::parse(&options, &Default::default())
            .ok()
            .and_then(|c| c.deployments.into_iter().next())
            .unwrap_or_else(|| unreachable!("the test config parses"))
    }

    #[test]
    fn openai_default_base() {
        let d = deployment(serde_json::json!({
            "model": "openai/gpt-4o-realtime-preview", "api_key": "sk-secret"
        }));
        let p = plan(&d).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            p.url,
            "wss://api.openai.com/v1/realtime?model=gpt-4o-realtime-preview"
        );
        assert!(p
            .headers
            .contains(&("authorization".into(), "Bearer sk-secret".into())));
        assert!(p
            .headers
            .contains(&("openai-beta".into(), "realtime=v1".into())));
    }

    #[test]
    fn openai_api_base_schemes() {
        for (base, want) in [
            (
                "http://127.0.0.1:9/v1",
                "ws://127.0.0.1:9/v1/realtime?model=m%2Fx",
            ),
            (
                "https://h.example/v1/",
                "wss://h.example/v1/realtime?model=m%2Fx",
            ),
            (
                "https://h.example/v1/realtime?x=1",
                "wss://h.example/v1/realtime?model=m%2Fx",
            ),
        ] {
            let d = deployment(serde_json::json!({
                "model": "openai/m/x", "api_key": "k", "api_base": base
            }));
            assert_eq!(
                plan(&d).unwrap_or_else(|e| unreachable!("{e}")).url,
                want,
                "{base}"
            );
        }
        assert_eq!(
            ws_scheme("wss://h/v1")
                .unwrap_or_else(|e| unreachable!("{e}"))
                .as_str(),
            "wss://h/v1"
        );
        assert!(ws_scheme("ftp://h/v1").is_err());
    }

    #[test]
    fn azure_url_and_key() {
        let d = deployment(serde_json::json!({
            "model": "azure/my-realtime", "api_key": "az-secret",
            "api_base": "https://res.openai.azure.com/", "api_version": "2024-12-17"
        }));
        let p = plan(&d).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            p.url,
            "wss://res.openai.azure.com/openai/realtime?api-version=2024-12-17&deployment=my-realtime"
        );
        assert_eq!(p.headers, vec![("api-key".into(), "az-secret".into())]);
        let d = deployment(serde_json::json!({
            "model": "azure/dep", "api_key": "k", "api_base": "https://res.openai.azure.com/openai"
        }));
        assert_eq!(
            plan(&d).unwrap_or_else(|e| unreachable!("{e}")).url,
            format!("wss://res.openai.azure.com/openai/realtime?api-version={AZURE_DEFAULT_API_VERSION}&deployment=dep")
        );
    }

    #[test]
    fn other_providers_are_refused_by_name() {
        let d = deployment(serde_json::json!({
            "model": "anthropic/claude-3-5-haiku-latest", "api_key": "k"
        }));
        assert!(!supports(&d));
        let Err(e) = plan(&d) else {
            unreachable!("anthropic is refused")
        };
        assert_eq!(e.kind, crate::error::ErrorKind::BadRequestError);
        assert!(e.message.contains("anthropic"), "{}", e.message);
    }
}
