//! Provider defaults from the environment: the variables LiteLLM's integrations read when a
//! deployment leaves a credential or endpoint unset (`OPENAI_API_KEY`, `AWS_REGION_NAME`, …).

use serde_json::{Map, Value};
use std::collections::HashMap;

/// One setting a provider reads from the environment when `litellm_params` leaves it unset:
/// the `litellm_params` field and the variables tried, in LiteLLM's order (v1.110.2).
type Default = (&'static str, &'static [&'static str]);

const OPENAI: &[Default] = &[
    ("api_key", &["OPENAI_API_KEY"]),
    ("api_base", &["OPENAI_BASE_URL", "OPENAI_API_BASE"]),
    ("organization", &["OPENAI_ORGANIZATION"]),
];
const AZURE: &[Default] = &[
    ("api_key", &["AZURE_OPENAI_API_KEY", "AZURE_API_KEY"]),
    ("api_base", &["AZURE_API_BASE"]),
    ("api_version", &["AZURE_API_VERSION"]),
];
const AZURE_AI: &[Default] = &[
    ("api_key", &["AZURE_AI_API_KEY"]),
    ("api_base", &["AZURE_AI_API_BASE"]),
];
const ANTHROPIC: &[Default] = &[
    ("api_key", &["ANTHROPIC_API_KEY"]),
    ("api_base", &["ANTHROPIC_API_BASE", "ANTHROPIC_BASE_URL"]),
];
const GEMINI: &[Default] = &[
    ("api_key", &["GOOGLE_API_KEY", "GEMINI_API_KEY"]),
    ("api_base", &["GEMINI_API_BASE"]),
];
const VERTEX: &[Default] = &[
    ("vertex_project", &["VERTEXAI_PROJECT", "VERTEX_PROJECT"]),
    ("vertex_location", &["VERTEXAI_LOCATION", "VERTEX_LOCATION"]),
    (
        "vertex_credentials",
        &["VERTEXAI_CREDENTIALS", "VERTEX_CREDENTIALS"],
    ),
];
const COHERE: &[Default] = &[
    ("api_key", &["COHERE_API_KEY", "CO_API_KEY"]),
    ("api_base", &["COHERE_API_BASE"]),
];
/// The access key triple is read only when the entry names no access key (see [`fill`]).
const BEDROCK: &[Default] = &[
    ("aws_access_key_id", &["AWS_ACCESS_KEY_ID"]),
    ("aws_secret_access_key", &["AWS_SECRET_ACCESS_KEY"]),
    ("aws_session_token", &["AWS_SESSION_TOKEN"]),
    ("aws_region_name", &["AWS_REGION_NAME", "AWS_REGION"]),
    (
        "aws_bedrock_runtime_endpoint",
        &["AWS_BEDROCK_RUNTIME_ENDPOINT"],
    ),
];
const AWS_KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// The settings `provider` reads from the environment (empty for an unknown provider).
pub fn defaults(provider: &str) -> &'static [Default] {
    match provider {
        "openai" | "text-completion-openai" => OPENAI,
        "azure" | "azure_text" => AZURE,
        "azure_ai" => AZURE_AI,
        "anthropic" => ANTHROPIC,
        "gemini" => GEMINI,
        "vertex_ai" => VERTEX,
        "cohere" | "cohere_chat" => COHERE,
        "bedrock" => BEDROCK,
        "mistral" => &[
            ("api_key", &["MISTRAL_API_KEY"]),
            ("api_base", &["MISTRAL_API_BASE"]),
        ],
        "groq" => &[
            ("api_key", &["GROQ_API_KEY"]),
            ("api_base", &["GROQ_API_BASE"]),
        ],
        "deepseek" => &[
            ("api_key", &["DEEPSEEK_API_KEY"]),
            ("api_base", &["DEEPSEEK_API_BASE"]),
        ],
        "together_ai" => &[
            (
                "api_key",
                &[
                    "TOGETHER_API_KEY",
                    "TOGETHER_AI_API_KEY",
                    "TOGETHERAI_API_KEY",
                    "TOGETHER_AI_TOKEN",
                ],
            ),
            ("api_base", &["TOGETHER_AI_API_BASE"]),
        ],
        "fireworks_ai" => &[
            (
                "api_key",
                &[
                    "FIREWORKS_API_KEY",
                    "FIREWORKS_AI_API_KEY",
                    "FIREWORKSAI_API_KEY",
                    "FIREWORKS_AI_TOKEN",
                ],
            ),
            ("api_base", &["FIREWORKS_API_BASE"]),
        ],
        "openrouter" => &[
            ("api_key", &["OPENROUTER_API_KEY", "OR_API_KEY"]),
            ("api_base", &["OPENROUTER_API_BASE"]),
        ],
        "xai" => &[
            ("api_key", &["XAI_API_KEY"]),
            ("api_base", &["XAI_API_BASE"]),
        ],
        "perplexity" => &[
            ("api_key", &["PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY"]),
            ("api_base", &["PERPLEXITY_API_BASE"]),
        ],
        "deepinfra" => &[
            ("api_key", &["DEEPINFRA_API_KEY"]),
            ("api_base", &["DEEPINFRA_API_BASE"]),
        ],
        "cerebras" => &[
            ("api_key", &["CEREBRAS_API_KEY"]),
            ("api_base", &["CEREBRAS_API_BASE"]),
        ],
        "ollama" | "ollama_chat" => &[
            ("api_key", &["OLLAMA_API_KEY"]),
            ("api_base", &["OLLAMA_API_BASE"]),
        ],
        "hosted_vllm" => &[
            ("api_key", &["HOSTED_VLLM_API_KEY"]),
            ("api_base", &["HOSTED_VLLM_API_BASE"]),
        ],
        "lm_studio" => &[
            ("api_key", &["LM_STUDIO_API_KEY"]),
            ("api_base", &["LM_STUDIO_API_BASE"]),
        ],
        "cloudflare" => &[
            ("api_key", &["CLOUDFLARE_API_KEY"]),
            ("api_base", &["CLOUDFLARE_API_BASE"]),
        ],
        "voyage" => &[(
            "api_key",
            &["VOYAGE_API_KEY", "VOYAGE_AI_API_KEY", "VOYAGE_AI_TOKEN"],
        )],
        "jina_ai" => &[("api_key", &["JINA_AI_API_KEY"])],
        "infinity" => &[
            ("api_key", &["INFINITY_API_KEY"]),
            ("api_base", &["INFINITY_API_BASE"]),
        ],
        "huggingface" => &[
            ("api_key", &["HUGGINGFACE_API_KEY"]),
            ("api_base", &["HF_API_BASE", "HUGGINGFACE_API_BASE"]),
        ],
        _ => &[],
    }
}

/// Every variable any provider reads (the JS host hands these in with the `env` option's
/// and the host environment's values, besides those the options reference).
pub fn variable_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = super::provider_names::SUPPORTED
        .iter()
        .flat_map(|p| defaults(p).iter())
        .flat_map(|(_, vars)| vars.iter().copied())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The variables `provider` reads for `field`, as `"A or B"` (empty when it reads none).
pub fn variables_for(provider: &str, field: &str) -> String {
    defaults(provider)
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, vars)| vars.join(" or "))
        .unwrap_or_default()
}

fn is_unset(params: &Map<String, Value>, field: &str) -> bool {
    match params.get(field) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

/// `params` with every setting `provider` reads from the environment filled from `env`
/// where the entry leaves it unset, or `None` when nothing was filled. Bedrock's access key,
/// secret and session token come from the environment together, only when the entry names
/// neither an access key nor an `api_key` (a Bedrock API key) and the environment holds both
/// the key and the secret: a session token from the environment never joins a key pair from
/// the config, nor half a pair the other half.
pub fn fill(
    provider: &str,
    params: &Map<String, Value>,
    env: &HashMap<String, String>,
) -> Option<Map<String, Value>> {
    if env.is_empty() {
        return None;
    }
    let set = |name: &str| env.get(name).is_some_and(|v| !v.is_empty());
    let aws_keys_from_env = is_unset(params, "aws_access_key_id")
        && is_unset(params, "api_key")
        && set("AWS_ACCESS_KEY_ID")
        && set("AWS_SECRET_ACCESS_KEY");
    let own_aws_keys = provider == "bedrock" && !aws_keys_from_env;
    let mut filled: Option<Map<String, Value>> = None;
    for (field, vars) in defaults(provider) {
        if (own_aws_keys && AWS_KEYS.contains(field)) || !is_unset(params, field) {
            continue;
        }
        // `api_base` and `base_url` are one setting.
        if *field == "api_base" && !is_unset(params, "base_url") {
            continue;
        }
        let Some(value) = vars
            .iter()
            .find_map(|v| env.get(*v).filter(|s| !s.is_empty()))
        else {
            continue;
        };
        filled
            .get_or_insert_with(|| params.clone())
            .insert((*field).to_string(), Value::String(value.clone()));
    }
    filled
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_first_variable_set_wins_and_the_entry_wins_over_all() {
        let e = env(&[
            ("OPENAI_API_BASE", "https://b"),
            ("OPENAI_BASE_URL", "https://a"),
        ]);
        let params = json!({"model": "openai/x"}).as_object().cloned().unwrap();
        let filled = fill("openai", &params, &e).unwrap();
        assert_eq!(filled["api_base"], "https://a");
        let params = json!({"model": "openai/x", "base_url": "https://c"});
        assert!(fill("openai", params.as_object().unwrap(), &e).is_none());
    }

    #[test]
    fn aws_keys_from_the_environment_never_mix_with_keys_from_the_entry() {
        let e = env(&[
            ("AWS_ACCESS_KEY_ID", "AKIAENV"),
            ("AWS_SECRET_ACCESS_KEY", "envsecret"),
            ("AWS_SESSION_TOKEN", "envtoken"),
            ("AWS_REGION", "eu-west-1"),
        ]);
        let own = json!({"aws_access_key_id": "AKIAOWN", "aws_secret_access_key": "s"});
        let filled = fill("bedrock", own.as_object().unwrap(), &e).unwrap();
        assert_eq!(filled["aws_access_key_id"], "AKIAOWN");
        assert!(filled.get("aws_session_token").is_none());
        assert_eq!(filled["aws_region_name"], "eu-west-1");
        let none = json!({});
        let filled = fill("bedrock", none.as_object().unwrap(), &e).unwrap();
        assert_eq!(filled["aws_session_token"], "envtoken");
    }

    #[test]
    fn variable_names_are_unique_and_cover_every_table() {
        let names = variable_names();
        assert!(names.contains(&"AWS_REGION_NAME") && names.contains(&"VOYAGE_AI_TOKEN"));
        let mut sorted = names.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
    }
}
