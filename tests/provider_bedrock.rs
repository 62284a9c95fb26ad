//! The Bedrock provider on real payloads: SigV4 against AWS's published test-suite vectors and
//! a botocore-computed Converse signature, OpenAI requests -> Converse / InvokeModel bodies,
//! Bedrock replies -> OpenAI responses, and Bedrock error bodies -> LiteLLM's error kinds.
//! Fixtures: `tests/fixtures/bedrock/`.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::result_large_err
)]

mod common;

use llmux::config::Deployment;
use llmux::error::{ErrorKind, LlmError};
use llmux::hash::sha256_hex;
use llmux::ports::{HttpRequest, HttpResponse};
use llmux::providers::bedrock::sigv4;
use llmux::providers::{self, Provider, RequestContext};
use llmux::types::Endpoint;
use serde_json::{json, Value};

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
const CLAUDE: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";
/// 2025-11-25T23:15:00Z.
const NOW_MS: f64 = 1_764_112_500_000.0;
const DATE_HEADER: &str = "Tue, 25 Nov 2025 23:15:00 GMT";

fn fixture_path(path: &str) -> String {
    format!(
        "{}/tests/fixtures/bedrock/{path}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn fixture_bytes(path: &str) -> Vec<u8> {
    let full = fixture_path(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn fixture(path: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn provider() -> &'static dyn Provider {
    providers::lookup("bedrock").expect("bedrock is registered")
}

fn params(model: &str, extra: Value) -> Value {
    let mut p = json!({
        "model": format!("bedrock/{model}"),
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
        "aws_region_name": "us-east-1",
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            p.as_object_mut().unwrap().remove(k);
        } else {
            p[k] = v.clone();
        }
    }
    p
}

fn try_deployment(model: &str, extra: Value) -> Result<Deployment, LlmError> {
    Deployment::parse(
        &json!({ "model_name": "group", "litellm_params": params(model, extra) }),
        "model_list[0]",
    )
}

fn deployment(model: &str, extra: Value) -> Deployment {
    try_deployment(model, extra).unwrap()
}

fn ctx() -> RequestContext {
    RequestContext {
        timeout_ms: 30_000,
        now_ms: NOW_MS,
        bearer_token: None,
        stream: false,
        entropy: 0,
    }
}

fn build_for(d: &Deployment, endpoint: Endpoint, body: Value) -> Result<HttpRequest, LlmError> {
    let Value::Object(map) = body else {
        panic!("request body must be an object")
    };
    provider().build_request(d, endpoint, map, &ctx())
}

fn chat(model: &str, body: Value) -> Result<HttpRequest, LlmError> {
    build_for(
        &deployment(model, json!({})),
        Endpoint::ChatCompletion,
        body,
    )
}

fn body_of(request: &HttpRequest) -> Value {
    common::sent_json(request)
}

fn converse_body(model: &str, body: Value) -> Value {
    body_of(&chat(model, body).unwrap())
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request.header(name)
}

fn reply(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> HttpResponse {
    common::reply(status, headers, body)
}

fn parse_chat(model: &str, response: &HttpResponse) -> Result<Value, LlmError> {
    provider().parse_response(
        &deployment(model, json!({})),
        Endpoint::ChatCompletion,
        response,
    )
}

// ---------------------------------------------------------------------------------------------
// SigV4

/// One case of the AWS SigV4 test suite: the raw `.req` and the expected `.creq`, `.sts` and
/// `.authz` (service `service`, region `us-east-1`, 2015-08-30T12:36:00Z, AKIDEXAMPLE).
struct SuiteCase {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_suite_request(raw: &str) -> SuiteCase {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_string(), v.to_string())
        })
        .collect();
    SuiteCase {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn sigv4_matches_the_aws_test_suite_byte_for_byte() {
    let cases = [
        "get-vanilla",
        "post-vanilla",
        "post-x-www-form-urlencoded",
        "post-sts-header-before",
        "get-utf8",
        "get-space",
        "get-unreserved",
        "get-header-value-trim",
        "get-vanilla-query-order-key-case",
    ];
    for name in cases {
        let read = |ext: &str| {
            String::from_utf8(fixture_bytes(&format!("sigv4/{name}/{name}.{ext}"))).unwrap()
        };
        let case = parse_suite_request(&read("req"));
        let token = case
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-security-token"))
            .map(|(_, v)| v.clone());
        let params = sigv4::SigningParams {
            credentials: sigv4::Credentials {
                access_key_id: ACCESS_KEY,
                secret_access_key: SECRET_KEY,
                session_token: token.as_deref(),
            },
            region: "us-east-1",
            service: "service",
            amz_date: "20150830T123600Z",
        };
        let signed = sigv4::sign(
            &case.method,
            &case.path,
            &case.query,
            &case.headers,
            &case.body,
            &params,
        );
        assert_eq!(signed.canonical_request, read("creq"), "{name}.creq");
        assert_eq!(signed.string_to_sign, read("sts"), "{name}.sts");
        assert_eq!(signed.authorization, read("authz"), "{name}.authz");
    }
}

#[test]
fn converse_request_signature_matches_botocore_byte_for_byte() {
    let expected = fixture("converse/chat_request.signature.json");
    let d = deployment(CLAUDE, json!({ "aws_session_token": SESSION_TOKEN }));
    let request = build_for(
        &d,
        Endpoint::ChatCompletion,
        fixture("converse/chat_request.openai.json"),
    )
    .unwrap();
    assert_eq!(request.url, expected["url"].as_str().unwrap());
    assert_eq!(
        header(&request, "x-amz-date"),
        expected["amz_date"].as_str()
    );
    assert_eq!(
        header(&request, "x-amz-security-token"),
        Some(SESSION_TOKEN)
    );
    assert_eq!(
        header(&request, "authorization"),
        expected["authorization"].as_str()
    );
    // The intermediate strings too, recomputed from what is actually sent.
    let parts = sigv4::parse_url(&request.url).unwrap();
    let mut signed_headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(n, _)| n != "authorization")
        .cloned()
        .collect();
    signed_headers.push(("host".into(), parts.host.clone()));
    let (canonical, _) = sigv4::canonical_request(
        "POST",
        parts.path,
        parts.query,
        &signed_headers,
        &sha256_hex(request.body.as_deref().unwrap().as_bytes()),
    );
    assert_eq!(canonical, expected["canonical_request"].as_str().unwrap());
    let scope = sigv4::credential_scope("20251125T231500Z", "us-east-1", "bedrock");
    assert_eq!(
        sigv4::string_to_sign("20251125T231500Z", &scope, &canonical),
        expected["string_to_sign"].as_str().unwrap()
    );
}

#[test]
fn model_id_colon_is_percent_encoded_in_the_url_and_again_in_the_canonical_uri() {
    let request = chat(
        CLAUDE,
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    assert_eq!(
        request.url,
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"
    );
    let expected = fixture("converse/chat_request.signature.json");
    assert!(expected["canonical_request"]
        .as_str()
        .unwrap()
        .starts_with("POST\n/model/anthropic.claude-3-5-sonnet-20241022-v2%253A0/converse\n"));
}

#[test]
fn signed_request_carries_date_scope_and_no_host_header() {
    let request = chat(
        CLAUDE,
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.timeout_ms, Some(30_000));
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    assert_eq!(header(&request, "x-amz-date"), Some("20251125T231500Z"));
    assert_eq!(header(&request, "x-amz-security-token"), None);
    assert_eq!(header(&request, "host"), None, "fetch sets Host itself");
    let auth = header(&request, "authorization").unwrap();
    let prefix = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251125/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=";
    assert!(auth.starts_with(prefix), "{auth}");
    let signature = &auth[prefix.len()..];
    assert_eq!(signature.len(), 64);
    assert!(signature
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert!(!format!("{request:?}").contains(SECRET_KEY));
}

#[test]
fn extra_headers_are_sent_and_signed() {
    let d = deployment(CLAUDE, json!({"extra_headers": {"X-Team": "search"}}));
    let request = build_for(
        &d,
        Endpoint::ChatCompletion,
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    assert_eq!(header(&request, "x-team"), Some("search"));
    assert!(header(&request, "authorization")
        .unwrap()
        .contains("SignedHeaders=content-type;host;x-amz-date;x-team,"));
}

#[test]
fn endpoint_is_api_base_then_runtime_endpoint_then_regional_default() {
    let hi = json!({"messages": [{"role": "user", "content": "hi"}]});
    let d = deployment(
        CLAUDE,
        json!({"aws_bedrock_runtime_endpoint": "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com"}),
    );
    let r = build_for(&d, Endpoint::ChatCompletion, hi.clone()).unwrap();
    assert!(r
        .url
        .starts_with("https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/"));
    let d = deployment(
        CLAUDE,
        json!({"aws_bedrock_runtime_endpoint": "https://ignored.example", "api_base": "http://127.0.0.1:9/proxy/"}),
    );
    let r = build_for(&d, Endpoint::ChatCompletion, hi.clone()).unwrap();
    assert_eq!(
        r.url,
        "http://127.0.0.1:9/proxy/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"
    );
    // The signature covers the custom host and port.
    assert!(header(&r, "authorization")
        .unwrap()
        .contains("/us-east-1/bedrock/"));
    let d = deployment(CLAUDE, json!({"aws_region_name": "eu-central-1"}));
    let r = build_for(&d, Endpoint::ChatCompletion, hi).unwrap();
    assert!(r
        .url
        .starts_with("https://bedrock-runtime.eu-central-1.amazonaws.com/"));
    assert!(header(&r, "authorization")
        .unwrap()
        .contains("/20251125/eu-central-1/bedrock/aws4_request"));
}

#[test]
fn arn_model_ids_are_encoded_whole_and_give_the_region() {
    let arn = "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0";
    let d = deployment(arn, json!({"aws_region_name": null}));
    let r = build_for(
        &d,
        Endpoint::ChatCompletion,
        json!({"messages": [{"role": "user", "content": "hi"}], "tool_choice": "auto", "tools": [{"type": "function", "function": {"name": "f"}}]}),
    )
    .unwrap();
    assert_eq!(
        r.url,
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"
    );
    // The base model behind the profile (Anthropic) accepts toolChoice.
    assert_eq!(body_of(&r)["toolConfig"]["toolChoice"], json!({"auto": {}}));
}

#[test]
fn converse_route_prefix_is_stripped() {
    let d = deployment("converse/meta.llama3-1-8b-instruct-v1:0", json!({}));
    let r = build_for(
        &d,
        Endpoint::ChatCompletion,
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    assert!(r
        .url
        .ends_with("/model/meta.llama3-1-8b-instruct-v1%3A0/converse"));
}

#[test]
fn bedrock_api_key_is_sent_as_bearer_without_signing() {
    let d = deployment(
        CLAUDE,
        json!({"aws_access_key_id": null, "aws_secret_access_key": null, "api_key": "ABSKbedrock-api-key"}),
    );
    let r = build_for(
        &d,
        Endpoint::ChatCompletion,
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .unwrap();
    assert_eq!(
        header(&r, "authorization"),
        Some("Bearer ABSKbedrock-api-key")
    );
    assert_eq!(header(&r, "x-amz-date"), None);
}

#[test]
fn missing_credentials_or_region_are_config_errors() {
    let cases = [
        (
            json!({"aws_access_key_id": null, "aws_secret_access_key": null}),
            "credentials are required",
        ),
        (
            json!({"aws_secret_access_key": null}),
            "aws_secret_access_key is required",
        ),
        (
            json!({"aws_access_key_id": null}),
            "aws_access_key_id is required",
        ),
        (
            json!({"aws_region_name": null}),
            "aws_region_name is required",
        ),
    ];
    for (extra, needle) in cases {
        let err = try_deployment(CLAUDE, extra.clone()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ConfigError, "{extra}");
        assert_eq!(
            err.field.as_deref(),
            Some("model_list[0].litellm_params"),
            "{extra}"
        );
        assert!(err.message.contains(needle), "{extra}: {}", err.message);
        assert!(!err.message.contains(SECRET_KEY));
    }
}

#[test]
fn provider_serves_chat_and_embeddings_only() {
    assert_eq!(provider().name(), "bedrock");
    assert!(provider().supports(Endpoint::ChatCompletion));
    assert!(provider().supports(Endpoint::Embedding));
    assert!(!provider().supports(Endpoint::TextCompletion));
}

// ---------------------------------------------------------------------------------------------
// Converse request translation

#[test]
fn chat_request_translates_to_the_converse_fixture() {
    let got = converse_body(CLAUDE, fixture("converse/chat_request.openai.json"));
    assert_eq!(got, fixture("converse/chat_request.converse.json"));
}

#[test]
fn consecutive_messages_of_one_role_merge_and_cache_control_adds_cache_points() {
    let got = converse_body(
        CLAUDE,
        json!({"messages": [
            {"role": "system", "content": [{"type": "text", "text": "Long manual.", "cache_control": {"type": "ephemeral"}}]},
            {"role": "developer", "content": "Be terse."},
            {"role": "user", "content": "one"},
            {"role": "user", "content": [{"type": "text", "text": "two", "cache_control": {"type": "ephemeral"}}]},
            {"role": "assistant", "content": ""},
            {"role": "assistant", "content": "three"},
            {"role": "user", "content": "four"}
        ]}),
    );
    assert_eq!(
        got,
        json!({
            "messages": [
                {"role": "user", "content": [{"text": "one"}, {"text": "two"}, {"cachePoint": {"type": "default"}}]},
                {"role": "assistant", "content": [{"text": "three"}]},
                {"role": "user", "content": [{"text": "four"}]}
            ],
            "system": [{"text": "Long manual."}, {"cachePoint": {"type": "default"}}, {"text": "Be terse."}]
        })
    );
}

#[test]
fn max_completion_tokens_wins_and_a_single_stop_string_becomes_a_list() {
    let got = converse_body(
        CLAUDE,
        json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10, "max_completion_tokens": 20, "stop": "END"}),
    );
    assert_eq!(
        got["inferenceConfig"],
        json!({"maxTokens": 20, "stopSequences": ["END"]})
    );
    let got = converse_body(
        CLAUDE,
        json!({"messages": [{"role": "user", "content": "hi"}], "stop": ""}),
    );
    assert!(
        got.get("inferenceConfig").is_none(),
        "empty stop is dropped"
    );
}

#[test]
fn tool_choice_maps_to_converse_and_is_dropped_where_unsupported() {
    let tools = json!([{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]);
    let with = |model: &str, choice: Value| {
        converse_body(
            model,
            json!({"messages": [{"role": "user", "content": "hi"}], "tools": tools, "tool_choice": choice}),
        )["toolConfig"]
            .clone()
    };
    assert_eq!(
        with(CLAUDE, json!("required"))["toolChoice"],
        json!({"any": {}})
    );
    assert_eq!(
        with(
            CLAUDE,
            json!({"type": "function", "function": {"name": "lookup"}})
        )["toolChoice"],
        json!({"tool": {"name": "lookup"}})
    );
    assert!(with(CLAUDE, json!("none")).get("toolChoice").is_none());
    let llama = with("meta.llama3-1-70b-instruct-v1:0", json!("required"));
    assert!(llama.get("toolChoice").is_none());
    // A tool without description or parameters still has both (Converse wants them).
    assert_eq!(
        with(CLAUDE, json!("auto"))["tools"][0]["toolSpec"]["description"],
        json!("lookup")
    );
    let err = chat(
        CLAUDE,
        json!({"messages": [{"role": "user", "content": "hi"}], "tools": tools, "tool_choice": "sometimes"}),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
}

#[test]
fn json_schema_response_format_forces_the_json_tool_and_its_input_becomes_content() {
    let schema =
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let got = converse_body(
        CLAUDE,
        json!({"messages": [{"role": "user", "content": "Where is the Eiffel tower?"}],
               "response_format": {"type": "json_schema", "json_schema": {"name": "place", "schema": schema}}}),
    );
    assert_eq!(
        got["toolConfig"],
        json!({
            "tools": [{"toolSpec": {"name": "json_tool_call", "description": "json_tool_call", "inputSchema": {"json": schema}}}],
            "toolChoice": {"tool": {"name": "json_tool_call"}}
        })
    );
    let converse_reply = json!({
        "output": {"message": {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "tooluse_1", "name": "json_tool_call", "input": {"city": "Paris"}}}]}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 30, "outputTokens": 9, "totalTokens": 39}
    });
    let parsed = parse_chat(
        CLAUDE,
        &reply(200, &[], serde_json::to_vec(&converse_reply).unwrap()),
    )
    .unwrap();
    assert_eq!(
        parsed["choices"][0]["message"],
        json!({"role": "assistant", "content": "{\"city\":\"Paris\"}"})
    );
    assert_eq!(parsed["choices"][0]["finish_reason"], "stop");
    // {"type": "text"} is a no-op.
    let got = converse_body(
        CLAUDE,
        json!({"messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "text"}}),
    );
    assert!(got.get("toolConfig").is_none());
}

#[test]
fn reasoning_effort_enables_claude_thinking_and_is_dropped_for_other_models() {
    let got = converse_body(
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        json!({"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "medium"}),
    );
    assert_eq!(
        got["additionalModelRequestFields"],
        json!({"thinking": {"type": "enabled", "budget_tokens": 2048}})
    );
    assert_eq!(got["inferenceConfig"], json!({"maxTokens": 6144}));
    let got = converse_body(
        "amazon.nova-pro-v1:0",
        json!({"messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "high", "top_k": 40}),
    );
    assert_eq!(
        got["additionalModelRequestFields"],
        json!({"inferenceConfig": {"topK": 40}})
    );
    assert!(got.get("inferenceConfig").is_none());
}

#[test]
fn openai_only_params_are_dropped_and_other_fields_reach_the_model_or_converse() {
    let got = converse_body(
        CLAUDE,
        json!({
            "messages": [{"role": "user", "content": "hi"}],
            "logprobs": true, "top_logprobs": 2, "logit_bias": {"1": 2}, "service_tier": "auto",
            "anthropic_beta": ["context-1m-2025-08-07"],
            "guardrailConfig": {"guardrailIdentifier": "gr-1", "guardrailVersion": "1", "trace": "enabled"},
            "requestMetadata": {"team": "search"},
            "inferenceConfig": {"maxTokens": 99},
            "temperature": 0.1
        }),
    );
    assert_eq!(
        got,
        json!({
            "messages": [{"role": "user", "content": [{"text": "hi"}]}],
            "inferenceConfig": {"maxTokens": 99, "temperature": 0.1},
            "guardrailConfig": {"guardrailIdentifier": "gr-1", "guardrailVersion": "1", "trace": "enabled"},
            "requestMetadata": {"team": "search"},
            "additionalModelRequestFields": {"anthropic_beta": ["context-1m-2025-08-07"]}
        })
    );
}

#[test]
fn documents_become_document_blocks_and_remote_urls_are_refused() {
    let got = converse_body(
        CLAUDE,
        json!({"messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0xLjQK", "filename": "Q3 report.final.pdf"}},
            {"type": "image_url", "image_url": {"url": "data:image/jpg;base64,/9j/4AAQ"}},
            {"type": "text", "text": "Summarise."}
        ]}]}),
    );
    assert_eq!(
        got["messages"][0]["content"],
        json!([
            {"document": {"format": "pdf", "name": "Q3 report final", "source": {"bytes": "JVBERi0xLjQK"}}},
            {"image": {"format": "jpeg", "source": {"bytes": "/9j/4AAQ"}}},
            {"text": "Summarise."}
        ])
    );
    let err = chat(
        CLAUDE,
        json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]}),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    assert!(err.message.contains("base64 data URL"), "{}", err.message);
}

#[test]
fn tool_history_without_tools_is_a_bad_request_before_any_call() {
    let err = chat(
        CLAUDE,
        json!({"messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "t1", "content": "sunny"}
        ]}),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    assert!(err.message.contains("tools"), "{}", err.message);
    let err = chat(CLAUDE, json!({"messages": []})).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
}

// ---------------------------------------------------------------------------------------------
// Converse replies

#[test]
fn converse_replies_parse_to_the_openai_fixtures() {
    for case in [
        "response_text",
        "response_tool_use",
        "response_guardrail",
        "response_max_tokens_reasoning",
    ] {
        let body = fixture_bytes(&format!("converse/{case}.json"));
        let response = reply(
            200,
            &[("content-type", "application/json"), ("date", DATE_HEADER)],
            body,
        );
        let got = parse_chat(CLAUDE, &response).unwrap();
        assert_eq!(
            got,
            fixture(&format!("converse/{case}.openai.json")),
            "{case}"
        );
    }
}

#[test]
fn reply_without_date_header_has_created_zero_and_a_stable_id() {
    let body = fixture_bytes("converse/response_text.json");
    let a = parse_chat(CLAUDE, &reply(200, &[], body.clone())).unwrap();
    let b = parse_chat(CLAUDE, &reply(200, &[], body)).unwrap();
    assert_eq!(a["created"], 0);
    assert_eq!(a["id"], b["id"]);
    assert!(a["id"].as_str().unwrap().starts_with("chatcmpl-"));
}

#[test]
fn malformed_success_bodies_are_internal_server_errors() {
    for body in [&b""[..], b"{\"output\":", b"{\"stopReason\":\"end_turn\"}"] {
        let err = parse_chat(CLAUDE, &reply(200, &[], body.to_vec())).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InternalServerError, "{body:?}");
    }
}

#[test]
fn bedrock_error_bodies_map_to_litellm_error_kinds() {
    let cases = fixture("errors.json");
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let status = case["status"].as_u64().unwrap() as u16;
        let body = match case.get("body_raw") {
            Some(raw) => raw.as_str().unwrap().as_bytes().to_vec(),
            None => serde_json::to_vec(&case["body"]).unwrap(),
        };
        let err = parse_chat(CLAUDE, &reply(status, &[], body)).unwrap_err();
        assert_eq!(err.kind.name(), case["kind"].as_str().unwrap(), "{name}");
        assert_eq!(err.status, status, "{name}");
        assert!(err.from_upstream, "{name}");
        if let Some(message) = case["body"]
            .get("message")
            .or_else(|| case["body"].get("Message"))
        {
            assert_eq!(err.message, message.as_str().unwrap(), "{name}");
        }
    }
}

#[test]
fn throttling_keeps_the_retry_after_hint() {
    let err = parse_chat(
        CLAUDE,
        &reply(
            429,
            &[("retry-after", "3")],
            br#"{"message":"Too many requests, please wait before trying again."}"#.to_vec(),
        ),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimitError);
    assert_eq!(err.retry_after_ms, Some(3000));
}

// ---------------------------------------------------------------------------------------------
// Embeddings

fn embedding(model: &str, body: Value) -> Result<HttpRequest, LlmError> {
    build_for(&deployment(model, json!({})), Endpoint::Embedding, body)
}

fn parse_embedding(model: &str, body: Vec<u8>) -> Result<Value, LlmError> {
    provider().parse_response(
        &deployment(model, json!({})),
        Endpoint::Embedding,
        &reply(200, &[("content-type", "application/json")], body),
    )
}

#[test]
fn titan_embedding_request_and_reply_match_the_fixtures() {
    let model = "amazon.titan-embed-text-v2:0";
    let r = embedding(model, fixture("embed/titan_v2_request.openai.json")).unwrap();
    assert_eq!(
        r.url,
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke"
    );
    assert!(header(&r, "authorization")
        .unwrap()
        .starts_with("AWS4-HMAC-SHA256 "));
    assert_eq!(body_of(&r), fixture("embed/titan_v2_request.bedrock.json"));
    let got = parse_embedding(model, fixture_bytes("embed/titan_v2_response.json")).unwrap();
    assert_eq!(got, fixture("embed/titan_v2_response.openai.json"));
}

#[test]
fn titan_v2_maps_dimensions_and_refuses_batches() {
    let r = embedding(
        "amazon.titan-embed-text-v2:0",
        json!({"input": ["only one"], "dimensions": 256}),
    )
    .unwrap();
    assert_eq!(
        body_of(&r),
        json!({"inputText": "only one", "dimensions": 256})
    );
    let r = embedding(
        "amazon.titan-embed-text-v1",
        json!({"input": "x", "dimensions": 256}),
    )
    .unwrap();
    assert_eq!(body_of(&r), json!({"inputText": "x"}));
    let err = embedding("amazon.titan-embed-text-v2:0", json!({"input": ["a", "b"]})).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    assert!(
        err.message.contains("one text per request"),
        "{}",
        err.message
    );
}

#[test]
fn cohere_embedding_batch_request_and_reply_match_the_fixtures() {
    let model = "cohere.embed-english-v3";
    let r = embedding(model, fixture("embed/cohere_request.openai.json")).unwrap();
    assert!(r.url.ends_with("/model/cohere.embed-english-v3/invoke"));
    assert_eq!(body_of(&r), fixture("embed/cohere_request.bedrock.json"));
    let got = parse_embedding(model, fixture_bytes("embed/cohere_response.json")).unwrap();
    assert_eq!(got, fixture("embed/cohere_response.openai.json"));
}

#[test]
fn cohere_defaults_input_type_and_reads_embeddings_by_type() {
    let r = embedding(
        "cohere.embed-v4:0",
        json!({"input": "q", "dimensions": 512}),
    )
    .unwrap();
    assert_eq!(
        body_of(&r),
        json!({"texts": ["q"], "input_type": "search_document", "output_dimension": 512})
    );
    let reply_body = json!({
        "embeddings": {"float": [[0.5, -0.5]]}, "id": "x", "response_type": "embeddings_by_type",
        "texts": ["q"], "meta": {"billed_units": {"input_tokens": 1}}
    });
    let got = parse_embedding(
        "cohere.embed-v4:0",
        serde_json::to_vec(&reply_body).unwrap(),
    )
    .unwrap();
    assert_eq!(
        got["data"],
        json!([{"object": "embedding", "index": 0, "embedding": [0.5, -0.5]}])
    );
    assert_eq!(got["usage"], json!({"prompt_tokens": 1, "total_tokens": 1}));
}

#[test]
fn token_inputs_and_unknown_embedding_models_are_bad_requests() {
    let err = embedding("cohere.embed-english-v3", json!({"input": [[1, 2, 3]]})).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    let err = embedding("amazon.titan-embed-image-v1", json!({"input": "x"})).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    assert!(err.message.contains("not supported"), "{}", err.message);
}

#[test]
fn embedding_errors_use_the_bedrock_mapping() {
    let err = provider()
        .parse_response(
            &deployment("cohere.embed-english-v3", json!({})),
            Endpoint::Embedding,
            &reply(
                400,
                &[],
                br#"{"message":"Malformed input request: #/texts: expected maximum item count: 96, found: 100, please reformat your input and try again."}"#.to_vec(),
            ),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    assert_eq!(err.status, 400);
}
