//! Azure OpenAI (`azure/`) and Azure AI (`azure_ai/`): requests built from OpenAI bodies and
//! replies parsed, on payloads as Azure documents them (tests/fixtures/azure).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

mod common;

use llmux::config::Deployment;
use llmux::error::{ErrorKind, LlmError};
use llmux::ports::{HttpRequest, HttpResponse};
use llmux::providers::{self, azure, Provider, RequestContext};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};

const KEY: &str = "0123456789abcdef0123456789abcdef";
const CTX: RequestContext = RequestContext {
    timeout_ms: 30_000,
    now_ms: 1_700_000_000_000.0,
    bearer_token: None,
    stream: false,
    entropy: 0,
};

fn fixture_text(name: &str) -> String {
    common::fixture_text("azure", name)
}

fn fixture(name: &str) -> Value {
    common::fixture("azure", name)
}

fn body_of(name: &str) -> Map<String, Value> {
    fixture(name).as_object().unwrap().clone()
}

fn parse_deployment(params: Value) -> Result<Deployment, LlmError> {
    Deployment::parse(
        &json!({"model_name": "chat", "litellm_params": params}),
        "model_list[0]",
    )
}

fn deployment(params: Value) -> Deployment {
    parse_deployment(params).unwrap()
}

fn provider(name: &str) -> &'static dyn Provider {
    providers::lookup(name).unwrap_or_else(|| panic!("{name} is not registered"))
}

fn build(d: &Deployment, endpoint: Endpoint, body: &str) -> HttpRequest {
    provider(&d.provider)
        .build_request(d, endpoint, body_of(body), &CTX)
        .unwrap()
}

fn sent_body(r: &HttpRequest) -> Value {
    common::sent_json(r)
}

fn reply(status: u16, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
    common::reply(status, headers, body)
}

fn parse_with(
    d: &Deployment,
    endpoint: Endpoint,
    status: u16,
    name: &str,
) -> Result<Value, LlmError> {
    provider(&d.provider).parse_response(d, endpoint, &reply(status, &fixture_text(name), &[]))
}

fn azure_chat() -> Deployment {
    deployment(json!({
        "model": "azure/gpt4o-prod",
        "api_base": "https://my-resource.openai.azure.com/",
        "api_version": "2024-10-21",
        "api_key": KEY,
    }))
}

fn azure_ai(model: &str, api_base: &str) -> Deployment {
    deployment(
        json!({ "model": format!("azure_ai/{model}"), "api_base": api_base, "api_key": KEY }),
    )
}

// ---------------------------------------------------------------- azure: requests

#[test]
fn azure_chat_goes_to_the_deployment_path_with_api_version_and_api_key_header() {
    let r = build(&azure_chat(), Endpoint::ChatCompletion, "chat_request.json");
    assert_eq!(r.method, "POST");
    assert_eq!(
        r.url,
        "https://my-resource.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("api-key"), Some(KEY));
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.timeout_ms, Some(30_000));
    assert_eq!(sent_body(&r), fixture("chat_request.sent.json"));
}

#[test]
fn azure_body_keeps_the_deployment_as_model_and_drops_service_tier_only() {
    let sent = sent_body(&build(
        &azure_chat(),
        Endpoint::ChatCompletion,
        "chat_request.json",
    ));
    assert_eq!(sent["model"], "gpt4o-prod");
    assert!(sent.get("service_tier").is_none());
    assert_eq!(sent["data_sources"][0]["type"], "azure_search");
    assert_eq!(sent["tool_choice"], "auto");
}

#[test]
fn azure_text_completion_and_embedding_use_their_deployment_paths() {
    let d = deployment(json!({
        "model": "azure/gpt-35-turbo-instruct",
        "api_base": "https://my-resource.openai.azure.com",
        "api_version": "2024-10-21",
        "api_key": KEY,
    }));
    let r = build(&d, Endpoint::TextCompletion, "completion_request.json");
    assert_eq!(
        r.url,
        "https://my-resource.openai.azure.com/openai/deployments/gpt-35-turbo-instruct/completions?api-version=2024-10-21"
    );
    assert_eq!(sent_body(&r), fixture("completion_request.sent.json"));

    let d = deployment(json!({
        "model": "azure/text-embedding-3-small",
        "api_base": "https://my-resource.openai.azure.com",
        "api_version": "2024-10-21",
        "api_key": KEY,
    }));
    let r = build(&d, Endpoint::Embedding, "embedding_request.json");
    assert_eq!(
        r.url,
        "https://my-resource.openai.azure.com/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21"
    );
    assert_eq!(r.header("api-key"), Some(KEY));
    assert_eq!(sent_body(&r), fixture("embedding_request.sent.json"));
}

#[test]
fn azure_without_api_version_sends_litellms_default() {
    let d = deployment(json!({
        "model": "azure/gpt4o-prod",
        "api_base": "https://my-resource.openai.azure.com",
        "api_key": KEY,
    }));
    assert_eq!(azure::DEFAULT_API_VERSION, "2025-02-01-preview");
    let r = build(&d, Endpoint::ChatCompletion, "chat_request.json");
    assert!(
        r.url
            .ends_with("/chat/completions?api-version=2025-02-01-preview"),
        "{}",
        r.url
    );
}

#[test]
fn azure_ad_token_is_a_bearer_token_and_wins_over_the_api_key() {
    let d = deployment(json!({
        "model": "azure/gpt4o-prod",
        "api_base": "https://my-resource.openai.azure.com",
        "api_key": KEY,
        "azure_ad_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.sig",
    }));
    let r = build(&d, Endpoint::ChatCompletion, "chat_request.json");
    assert_eq!(
        r.header("authorization"),
        Some("Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.sig")
    );
    assert_eq!(r.header("api-key"), None);

    let d = deployment(json!({
        "model": "azure/gpt4o-prod",
        "api_base": "https://my-resource.openai.azure.com",
        "azure_ad_token": "tok",
    }));
    let r = build(&d, Endpoint::ChatCompletion, "chat_request.json");
    assert_eq!(r.header("authorization"), Some("Bearer tok"));
}

#[test]
fn azure_headers_of_the_deployment_override_the_auth_header() {
    let d = deployment(json!({
        "model": "azure/gpt4o-prod",
        "api_base": "https://my-resource.openai.azure.com",
        "api_key": KEY,
        "extra_headers": { "api-key": "from-headers", "x-ms-client-request-id": "abc" },
    }));
    let r = build(&d, Endpoint::ChatCompletion, "chat_request.json");
    let keys: Vec<&str> = r
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("api-key"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(keys, ["from-headers"]);
    assert_eq!(r.header("x-ms-client-request-id"), Some("abc"));
}

#[test]
fn azure_api_base_forms_are_normalised() {
    let url_for = |api_base: &str| {
        let d = deployment(json!({
            "model": "azure/dep",
            "api_base": api_base,
            "api_version": "2024-10-21",
            "api_key": KEY,
        }));
        build(&d, Endpoint::ChatCompletion, "chat_request.json").url
    };
    // A trailing /openai is not doubled.
    assert_eq!(
        url_for("https://r.openai.azure.com/openai"),
        "https://r.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-10-21"
    );
    // A base that names the deployment is used as is.
    assert_eq!(
        url_for("https://apim.example.com/openai/deployments/other"),
        "https://apim.example.com/openai/deployments/other/chat/completions?api-version=2024-10-21"
    );
    // An api-version in the base's query wins over api_version.
    assert_eq!(
        url_for("https://r.openai.azure.com?api-version=2024-06-01"),
        "https://r.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-06-01"
    );
    // Cloudflare AI Gateway: the deployment follows the gateway path, no model in the body.
    let d = deployment(json!({
        "model": "azure/dep",
        "api_base": "https://gateway.ai.cloudflare.com/v1/acct/gw/azure-openai/r",
        "api_version": "2024-10-21",
        "api_key": KEY,
    }));
    let r = build(&d, Endpoint::ChatCompletion, "chat_request.json");
    assert_eq!(
        r.url,
        "https://gateway.ai.cloudflare.com/v1/acct/gw/azure-openai/r/dep/chat/completions?api-version=2024-10-21"
    );
    assert!(sent_body(&r).get("model").is_none());
}

#[test]
fn azure_v1_api_version_uses_the_openai_v1_path_with_a_bearer_key() {
    for version in ["v1", "latest", "preview"] {
        let d = deployment(json!({
            "model": "azure/gpt4o-prod",
            "api_base": "https://my-resource.openai.azure.com",
            "api_version": version,
            "api_key": KEY,
        }));
        let r = build(&d, Endpoint::ChatCompletion, "chat_request.json");
        assert_eq!(
            r.url,
            "https://my-resource.openai.azure.com/openai/v1/chat/completions"
        );
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(r.header("api-key"), None);
        assert_eq!(sent_body(&r)["model"], "gpt4o-prod");
    }
}

#[test]
fn azure_reasoning_deployments_get_max_completion_tokens_and_lose_family_prefixes() {
    let d = deployment(json!({
        "model": "azure/o_series/my-reasoner",
        "api_base": "https://r.openai.azure.com",
        "api_version": "2024-12-01-preview",
        "api_key": KEY,
    }));
    let r = provider("azure")
        .build_request(
            &d,
            Endpoint::ChatCompletion,
            body_of("chat_request.json"),
            &CTX,
        )
        .unwrap();
    assert!(r
        .url
        .contains("/openai/deployments/my-reasoner/chat/completions"));
    let sent = sent_body(&r);
    assert_eq!(sent["model"], "my-reasoner");
    assert_eq!(sent["max_completion_tokens"], 256);
    assert!(sent.get("max_tokens").is_none());

    // o3-mini by name, and an explicit max_completion_tokens wins.
    let d = deployment(json!({
        "model": "azure/o3-mini",
        "api_base": "https://r.openai.azure.com",
        "api_key": KEY,
    }));
    let mut body = body_of("chat_request.json");
    body.insert("max_completion_tokens".into(), json!(1000));
    let r = provider("azure")
        .build_request(&d, Endpoint::ChatCompletion, body, &CTX)
        .unwrap();
    let sent = sent_body(&r);
    assert_eq!(sent["max_completion_tokens"], 1000);
    assert!(sent.get("max_tokens").is_none());
}

#[test]
fn azure_drops_tool_choice_without_tools() {
    let mut body = body_of("chat_request.json");
    body.remove("tools");
    let r = provider("azure")
        .build_request(&azure_chat(), Endpoint::ChatCompletion, body, &CTX)
        .unwrap();
    assert!(sent_body(&r).get("tool_choice").is_none());
}

// ---------------------------------------------------------------- azure: responses

#[test]
fn azure_chat_reply_is_returned_untouched_with_its_filter_results() {
    let d = azure_chat();
    for name in ["chat_response.json", "chat_tool_calls_response.json"] {
        let parsed = parse_with(&d, Endpoint::ChatCompletion, 200, name).unwrap();
        assert_eq!(parsed, fixture(name), "{name}");
    }
    let parsed = parse_with(&d, Endpoint::ChatCompletion, 200, "chat_response.json").unwrap();
    assert_eq!(
        parsed["prompt_filter_results"][0]["content_filter_results"]["jailbreak"]["detected"],
        false
    );
}

#[test]
fn azure_output_filtered_200_is_a_reply_with_finish_reason_content_filter() {
    let parsed = parse_with(
        &azure_chat(),
        Endpoint::ChatCompletion,
        200,
        "chat_output_filtered_response.json",
    )
    .unwrap();
    assert_eq!(parsed, fixture("chat_output_filtered_response.json"));
    assert_eq!(parsed["choices"][0]["finish_reason"], "content_filter");
}

#[test]
fn azure_completion_and_embedding_replies_are_returned_untouched() {
    let d = azure_chat();
    let parsed = parse_with(
        &d,
        Endpoint::TextCompletion,
        200,
        "completion_response.json",
    )
    .unwrap();
    assert_eq!(parsed, fixture("completion_response.json"));
    let parsed = parse_with(&d, Endpoint::Embedding, 200, "embedding_response.json").unwrap();
    assert_eq!(parsed, fixture("embedding_response.json"));
}

fn azure_error(status: u16, name: &str, headers: &[(&str, &str)]) -> LlmError {
    let d = azure_chat();
    provider("azure")
        .parse_response(
            &d,
            Endpoint::ChatCompletion,
            &reply(status, &fixture_text(name), headers),
        )
        .unwrap_err()
}

#[test]
fn azure_error_bodies_map_to_litellm_error_kinds() {
    let cases = [
        (401, "error_401.json", ErrorKind::AuthenticationError),
        (404, "error_404_deployment.json", ErrorKind::NotFoundError),
        (429, "error_429.json", ErrorKind::RateLimitError),
        (
            400,
            "error_400_context_length.json",
            ErrorKind::ContextWindowExceededError,
        ),
        (
            400,
            "error_400_content_filter.json",
            ErrorKind::ContentPolicyViolationError,
        ),
        (
            400,
            "error_400_jailbreak_inner_error.json",
            ErrorKind::ContentPolicyViolationError,
        ),
        (
            400,
            "error_400_unrecognized_argument.json",
            ErrorKind::BadRequestError,
        ),
        (500, "error_500.json", ErrorKind::InternalServerError),
    ];
    for (status, name, kind) in cases {
        let e = azure_error(status, name, &[]);
        assert_eq!(e.kind, kind, "{name}: {}", e.message);
        assert_eq!(e.status, status, "{name}");
        assert!(e.from_upstream, "{name}");
    }
}

#[test]
fn azure_error_messages_keep_the_provider_text_and_code() {
    let e = azure_error(404, "error_404_deployment.json", &[]);
    assert!(e
        .message
        .starts_with("The API deployment for this resource does not exist."));
    assert!(e.message.contains("DeploymentNotFound"), "{}", e.message);
    let e = azure_error(400, "error_400_context_length.json", &[]);
    assert!(
        e.message
            .contains("maximum context length is 128000 tokens"),
        "{}",
        e.message
    );
}

#[test]
fn azure_content_filter_error_names_the_inner_code_and_filtered_categories() {
    let e = azure_error(400, "error_400_content_filter.json", &[]);
    assert!(
        e.message.starts_with("The response was filtered due to the prompt triggering Azure OpenAI's content management policy."),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("ResponsibleAIPolicyViolation"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("(filtered: hate=high, violence=medium)"),
        "{}",
        e.message
    );
    let e = azure_error(400, "error_400_jailbreak_inner_error.json", &[]);
    assert!(e.message.contains("(filtered: jailbreak)"), "{}", e.message);
}

#[test]
fn azure_429_honours_retry_after_headers() {
    let e = azure_error(
        429,
        "error_429.json",
        &[("retry-after", "6"), ("retry-after-ms", "5800")],
    );
    assert_eq!(e.kind, ErrorKind::RateLimitError);
    assert_eq!(e.retry_after_ms, Some(5800));
    let e = azure_error(429, "error_429.json", &[("retry-after", "6")]);
    assert_eq!(e.retry_after_ms, Some(6000));
}

#[test]
fn azure_malformed_or_empty_200_is_an_internal_server_error() {
    let d = azure_chat();
    for body in ["", "{\"choices\": ", "<html>gateway</html>"] {
        let e = provider("azure")
            .parse_response(&d, Endpoint::ChatCompletion, &reply(200, body, &[]))
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InternalServerError, "{body:?}");
        assert_eq!(e.status, 500);
    }
}

// ---------------------------------------------------------------- config validation

#[test]
fn azure_and_azure_ai_require_api_base() {
    for model in ["azure/gpt4o-prod", "azure_ai/Llama-3.3-70B-Instruct"] {
        let e = parse_deployment(json!({ "model": model, "api_key": KEY })).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ConfigError, "{model}");
        assert_eq!(e.field.as_deref(), Some("model_list[0].litellm_params"));
        assert!(e.message.contains("require api_base"), "{}", e.message);
    }
}

#[test]
fn azure_oidc_tokens_are_refused_as_not_yet_supported() {
    let e = parse_deployment(json!({
        "model": "azure/gpt4o-prod",
        "api_base": "https://r.openai.azure.com",
        "azure_ad_token": "oidc/github/my-token",
    }))
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ConfigError);
    assert!(e.message.contains("not yet supported"), "{}", e.message);
    assert!(!e.message.contains("my-token"), "{}", e.message);
}

#[test]
fn azure_serves_chat_text_and_embeddings_and_azure_ai_chat_and_embeddings() {
    let a = provider("azure");
    assert_eq!(a.name(), "azure");
    assert!(a.supports(Endpoint::ChatCompletion));
    assert!(a.supports(Endpoint::TextCompletion));
    assert!(a.supports(Endpoint::Embedding));
    let ai = provider("azure_ai");
    assert_eq!(ai.name(), "azure_ai");
    assert!(ai.supports(Endpoint::ChatCompletion));
    assert!(!ai.supports(Endpoint::TextCompletion));
    assert!(ai.supports(Endpoint::Embedding));
}

// ---------------------------------------------------------------- azure_ai

#[test]
fn azure_ai_serverless_chat_uses_bearer_auth_and_flattens_text_content() {
    let d = azure_ai(
        "Llama-3.3-70B-Instruct",
        "https://Llama-3-3-70B-abcde.eastus2.models.ai.azure.com",
    );
    let r = build(&d, Endpoint::ChatCompletion, "ai/chat_request.json");
    assert_eq!(
        r.url,
        "https://Llama-3-3-70B-abcde.eastus2.models.ai.azure.com/chat/completions"
    );
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(r.header("api-key"), None);
    assert_eq!(r.timeout_ms, Some(30_000));
    assert_eq!(sent_body(&r), fixture("ai/chat_request.sent.json"));
}

#[test]
fn azure_ai_services_endpoint_gets_models_path_api_version_and_api_key() {
    for base in [
        "https://my-foundry.services.ai.azure.com",
        "https://my-foundry.services.ai.azure.com/models",
        "https://my-foundry.services.ai.azure.com/models/chat/completions",
    ] {
        let d = deployment(json!({
            "model": "azure_ai/DeepSeek-R1",
            "api_base": base,
            "api_version": "2024-05-01-preview",
            "api_key": KEY,
        }));
        let r = build(&d, Endpoint::ChatCompletion, "ai/chat_request.json");
        assert_eq!(
            r.url,
            "https://my-foundry.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview",
            "{base}"
        );
        assert_eq!(r.header("api-key"), Some(KEY));
        assert_eq!(r.header("authorization"), None);
        assert_eq!(sent_body(&r)["model"], "DeepSeek-R1");
    }
}

#[test]
fn azure_ai_embeddings_go_to_the_embeddings_path() {
    let d = azure_ai(
        "Cohere-embed-v3-english",
        "https://Cohere-embed-v3-english-xyz.eastus.models.ai.azure.com/",
    );
    let r = build(&d, Endpoint::Embedding, "ai/embedding_request.json");
    assert_eq!(
        r.url,
        "https://Cohere-embed-v3-english-xyz.eastus.models.ai.azure.com/embeddings"
    );
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(sent_body(&r), fixture("ai/embedding_request.sent.json"));
}

#[test]
fn azure_ai_with_an_openai_model_name_takes_the_azure_openai_path() {
    let d = azure_ai("gpt-4o", "https://my-resource.openai.azure.com");
    let r = build(&d, Endpoint::ChatCompletion, "chat_request.json");
    assert_eq!(
        r.url,
        "https://my-resource.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2025-02-01-preview"
    );
    assert_eq!(r.header("api-key"), Some(KEY));
}

#[test]
fn azure_ai_replies_are_returned_untouched() {
    let d = azure_ai(
        "Llama-3.3-70B-Instruct",
        "https://e.eastus2.models.ai.azure.com",
    );
    let parsed = parse_with(&d, Endpoint::ChatCompletion, 200, "ai/chat_response.json").unwrap();
    assert_eq!(parsed, fixture("ai/chat_response.json"));
    let parsed = parse_with(&d, Endpoint::Embedding, 200, "ai/embedding_response.json").unwrap();
    assert_eq!(parsed, fixture("ai/embedding_response.json"));
}

#[test]
fn azure_ai_error_bodies_map_to_litellm_error_kinds() {
    let d = azure_ai(
        "Llama-3.3-70B-Instruct",
        "https://e.eastus2.models.ai.azure.com",
    );
    let cases = [
        (401, "ai/error_401.json", ErrorKind::AuthenticationError),
        (429, "ai/error_429.json", ErrorKind::RateLimitError),
        (
            400,
            "ai/error_400_content_filter.json",
            ErrorKind::ContentPolicyViolationError,
        ),
        (
            422,
            "ai/error_422_parameter_not_supported.json",
            ErrorKind::UnprocessableEntityError,
        ),
    ];
    for (status, name, kind) in cases {
        let e = parse_with(&d, Endpoint::ChatCompletion, status, name).unwrap_err();
        assert_eq!(e.kind, kind, "{name}: {}", e.message);
        assert_eq!(e.status, status, "{name}");
    }
    let e = parse_with(
        &d,
        Endpoint::ChatCompletion,
        422,
        "ai/error_422_parameter_not_supported.json",
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "One of the parameters contain invalid values. (code: parameter_not_supported) (at body.response_format)"
    );
}
