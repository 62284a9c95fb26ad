//! LiteLLM's own example proxy configs (tests/fixtures/litellm-configs, vendored from the
//! LiteLLM 1.110.2 wheel by scripts/litellm-configs.py) construct a Router unchanged, in an
//! environment holding the variables they and their providers read; the few that do not are
//! listed below with the reason, and must keep failing for that reason.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::result_large_err
)]

use llmux::config::{credentials, RouterConfig};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

/// Configs llmux refuses on purpose: (file, field of the ConfigError, why).
const REFUSED: &[(&str, &str, &str)] = &[
    (
        "example_config_yaml__adaptive_router_example.json",
        "model_list[0].litellm_params.adaptive_router_config",
        "LiteLLM's auto routers are not part of llmux",
    ),
    (
        "example_config_yaml__load_balancer.json",
        "model_list[3].litellm_params.model",
        "\"mistralai/mistral-7b-instruct\" names no provider llmux or LiteLLM knows: LiteLLM's Router refuses it too (LLM Provider NOT provided)",
    ),
    (
        "example_config_yaml__langfuse_config.json",
        "model_list[0].litellm_params",
        "an entry with no litellm_params: LiteLLM's Router refuses it too (KeyError)",
    ),
];

/// Configs that need an option another part of llmux is adding (issue #17's siblings):
/// (file, the option). Flip them into the constructing set when it lands.
const PENDING: &[(&str, &str)] = &[];

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/litellm-configs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// A plausible value for a variable: a URL for endpoints, else a fake credential.
fn fake(name: &str) -> String {
    if ["_BASE", "_URL", "_ENDPOINT"]
        .iter()
        .any(|s| name.ends_with(s))
    {
        "https://example.test/v1".to_string()
    } else if name.contains("REGION") || name.contains("LOCATION") {
        "us-east-1".to_string()
    } else {
        format!("test-{}", name.to_ascii_lowercase())
    }
}

/// The deployment's environment: every variable a provider reads (`AWS_ACCESS_KEY_ID`, …;
/// `VERTEXAI_CREDENTIALS` holds the test service account, as LiteLLM's Application Default
/// Credentials would) and every `"os.environ/NAME"` the config references.
fn environment(text: &str) -> HashMap<String, String> {
    let service_account = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/vertex/service_account.json"),
    )
    .unwrap();
    let mut env: HashMap<String, String> = credentials::variable_names()
        .into_iter()
        .map(|n| {
            let value = if n.ends_with("_CREDENTIALS") {
                service_account.clone()
            } else {
                fake(n)
            };
            (n.to_string(), value)
        })
        .collect();
    for piece in text.split("os.environ/").skip(1) {
        let name: String = piece
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let value = if name.ends_with("_CREDENTIALS") {
            service_account.clone()
        } else {
            fake(&name)
        };
        env.entry(name).or_insert(value);
    }
    env
}

fn parse(path: &PathBuf) -> Result<RouterConfig, llmux::error::LlmError> {
    let text = std::fs::read_to_string(path).unwrap();
    let options: Value = serde_json::from_str(&text).unwrap();
    RouterConfig::parse(&options, &environment(&text))
}

fn name(path: &std::path::Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_litellm_example_config_constructs_except_the_listed_ones() {
    let files = fixtures();
    assert_eq!(files.len(), 27, "LiteLLM 1.110.2 ships 27 example configs");
    let mut failures = Vec::new();
    for path in &files {
        let file = name(path);
        let expected = REFUSED
            .iter()
            .map(|(f, field, _)| (*f, *field))
            .chain(PENDING.iter().copied())
            .find(|(f, _)| *f == file);
        match (parse(path), expected) {
            (Ok(config), None) => assert!(
                !config.deployments.is_empty() || file.contains("disable_schema_update"),
                "{file}: no deployments"
            ),
            (Ok(_), Some((_, field))) => failures.push(format!(
                "{file} now constructs: move it out of the list (was refused at {field})"
            )),
            (Err(e), None) => failures.push(format!("{file}: {}", e.message)),
            (Err(e), Some((_, field))) => {
                if e.field.as_deref() != Some(field) {
                    failures.push(format!(
                        "{file}: refused at {:?}, expected {field}: {}",
                        e.field, e.message
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn without_the_environment_the_credentials_missing_are_named() {
    // proxy_config.yaml's Bedrock deployments have a region and no keys: LiteLLM reads
    // AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; without them llmux says so at construction.
    let path = fixtures()
        .into_iter()
        .find(|p| name(p) == "proxy_config.json")
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let options: Value = serde_json::from_str(&text).unwrap();
    let mut env = environment(&text);
    env.remove("AWS_ACCESS_KEY_ID");
    let err = RouterConfig::parse(&options, &env).unwrap_err();
    assert!(err.message.contains("AWS_ACCESS_KEY_ID"), "{}", err.message);
}
