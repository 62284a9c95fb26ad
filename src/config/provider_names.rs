//! The provider names a `litellm_params.model` may start with, and how a model string splits
//! into provider and model. Pure naming: `providers` maps a name to its adapter and checks a
//! parsed deployment ([`crate::providers::validate`]); config never calls it.

use crate::cost::CostMap;

/// Providers llmux speaks today.
pub const SUPPORTED: &[&str] = &[
    "openai",
    "text-completion-openai",
    "cohere_chat",
    "azure_text",
    "bedrock",
    "gemini",
    "cohere",
    "mistral",
    "groq",
    "deepseek",
    "together_ai",
    "fireworks_ai",
    "openrouter",
    "xai",
    "perplexity",
    "deepinfra",
    "cerebras",
    "ollama",
    "ollama_chat",
    "hosted_vllm",
    "lm_studio",
    "cloudflare",
    "voyage",
    "jina_ai",
    "infinity",
    "huggingface",
    "anthropic",
    "azure",
    "azure_ai",
    "vertex_ai",
];

/// Providers LiteLLM knows that llmux does not speak yet (a clear error, not "unknown").
pub const NOT_YET: &[&str] = &[
    "replicate",
    "sagemaker",
    "databricks",
    "watsonx",
    "nvidia_nim",
    "sambanova",
    "custom_openai",
];

/// Splits `"provider/model"` into its parts, honouring an explicit `custom_llm_provider`
/// and inferring the provider of a bare model name from the bundled price data.
pub fn split_model(full: &str, explicit: Option<&str>) -> Result<(String, String), String> {
    let (provider, model) = match explicit {
        Some(p) => (p.to_string(), full.strip_prefix(&format!("{p}/")).unwrap_or(full).to_string()),
        None => match full.split_once('/') {
            Some((p, m)) if SUPPORTED.contains(&p) || NOT_YET.contains(&p) => (p.to_string(), m.to_string()),
            _ => match CostMap::bundled().provider_of(full).map(crate::cost::provider_family) {
                Some(p) => (p.to_string(), full.to_string()),
                None => {
                    return Err(format!(
                        "cannot tell the provider of {full:?}: write it as \"provider/model\" (e.g. \"openai/gpt-4o-mini\") or set custom_llm_provider; supported providers: {}",
                        SUPPORTED.join(", ")
                    ))
                }
            },
        },
    };
    if model.is_empty() {
        return Err(format!("{full:?} names no model after the provider"));
    }
    if SUPPORTED.contains(&provider.as_str()) {
        Ok((provider, model))
    } else if NOT_YET.contains(&provider.as_str()) {
        Err(format!(
            "provider {provider:?} is not yet supported by llmux (supported: {}; any OpenAI-compatible server works as \"openai/<model>\" with api_base)",
            SUPPORTED.join(", ")
        ))
    } else {
        Err(format!(
            "unknown provider {provider:?} (supported: {})",
            SUPPORTED.join(", ")
        ))
    }
}
