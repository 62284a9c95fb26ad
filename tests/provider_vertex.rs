//! Vertex AI on fixtures from Google's API reference: the service-account token exchange
//! (JWT built, signed through the `Signer` port, cached, refreshed once under concurrency),
//! Gemini `generateContent`, Claude `rawPredict` and embeddings `predict` requests, and the
//! replies and error bodies mapped to OpenAI objects or classified errors.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::result_large_err
)]

mod common;

use futures_util::future::join_all;
use llmux::config::{Deployment, RouterConfig};
use llmux::error::{ErrorKind, LlmError};
use llmux::ports::{HttpRequest, HttpResponse, Ports};
use llmux::providers::vertex::jwt;
use llmux::providers::{self, Provider, RequestContext};
use llmux::router::Router;
use llmux::testing::{block_on, FakeSigner, Fakes, Step};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::rc::Rc;

const PROJECT: &str = "llmux-test-project";
const HOST: &str = "https://us-central1-aiplatform.googleapis.com";
const TOKEN: &str = "ya29.c.c0ASRK0GbTestAccessToken";

fn fixture(name: &str) -> Value {
    common::fixture("vertex", name)
}

fn object(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// The service-account fixture as an account of its own: tokens are cached per account for
/// the whole thread, so every test uses a distinct `client_email` and token endpoint.
fn service_account(account: &str) -> (String, String) {
    let token_uri = format!("https://oauth2.test/{account}/token");
    let mut sa = fixture("service_account.json");
    sa["client_email"] = json!(format!("{account}@{PROJECT}.iam.gserviceaccount.com"));
    sa["token_uri"] = json!(token_uri);
    (sa.to_string(), token_uri)
}

fn entry(model: &str, params: Value) -> Value {
    let mut litellm_params = json!({"model": format!("vertex_ai/{model}")});
    litellm_params
        .as_object_mut()
        .unwrap()
        .extend(object(params));
    json!({"model_name": "vertex-group", "litellm_params": litellm_params, "model_info": {"id": "vx"}})
}

fn parse(model: &str, params: Value) -> Result<Deployment, LlmError> {
    Deployment::parse(&entry(model, params), "model_list[0]")
}

fn deployment(model: &str, params: Value) -> Deployment {
    parse(model, params).unwrap()
}

/// A deployment authenticated by the service account `account`, plus its token endpoint.
fn sa_deployment(model: &str, account: &str) -> (Deployment, String) {
    let (creds, token_uri) = service_account(account);
    (
        deployment(model, json!({"vertex_credentials": creds})),
        token_uri,
    )
}

fn vertex() -> &'static dyn Provider {
    providers::lookup("vertex_ai").expect("vertex_ai is registered")
}

fn fakes_with_signer() -> (Fakes, Rc<FakeSigner>) {
    let mut fakes = Fakes::new(1);
    let signer = Rc::new(FakeSigner::default());
    fakes.ports.signer = Some(signer.clone());
    (fakes, signer)
}

fn token_step() -> Step {
    Step::json(200, fixture("token_response.json"))
}

fn access_token(d: &Deployment, ports: &Ports) -> Result<String, LlmError> {
    block_on(vertex().auth(d, ports).expect("credentials need a token"))
}

fn ctx(token: Option<&str>) -> RequestContext {
    RequestContext {
        timeout_ms: 30_000,
        now_ms: 1_750_000_000_000.0,
        bearer_token: token.map(String::from),
        stream: false,
        entropy: 0,
    }
}

fn build(d: &Deployment, endpoint: Endpoint, body: Value) -> Result<HttpRequest, LlmError> {
    vertex().build_request(d, endpoint, object(body), &ctx(Some(TOKEN)))
}

fn sent_body(request: &HttpRequest) -> Value {
    common::sent_json(request)
}

fn reply(status: u16, body: Value) -> HttpResponse {
    common::json_reply(status, body.to_string())
}

fn token_calls(fakes: &Fakes, token_uri: &str) -> Vec<HttpRequest> {
    fakes
        .transport
        .calls
        .borrow()
        .iter()
        .filter(|c| c.request.url == token_uri)
        .map(|c| c.request.clone())
        .collect()
}

/// The form fields of a token request body.
fn form(request: &HttpRequest) -> HashMap<String, String> {
    request
        .body
        .as_deref()
        .unwrap()
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_string(), v.replace("%3A", ":"))
        })
        .collect()
}

fn decode_segment(segment: &str) -> Value {
    serde_json::from_slice(&jwt::base64_decode(segment).unwrap()).unwrap()
}

// --- service-account token exchange -------------------------------------------------------

#[test]
fn service_account_credentials_are_exchanged_for_a_token_with_a_signed_jwt_assertion() {
    let (fakes, signer) = fakes_with_signer();
    let (d, token_uri) = sa_deployment("gemini-2.5-flash", "exchange");
    fakes.transport.script(&token_uri, [token_step()]);

    assert_eq!(access_token(&d, &fakes.ports).unwrap(), TOKEN);

    let calls = token_calls(&fakes, &token_uri);
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.method, "POST");
    assert_eq!(
        call.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let fields = form(call);
    assert_eq!(fields["grant_type"], jwt::JWT_BEARER_GRANT);
    let assertion = &fields["assertion"];
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3, "header.claims.signature");
    assert_eq!(
        decode_segment(parts[0]),
        json!({"alg": "RS256", "typ": "JWT"})
    );
    // The fake clock starts at 1,000,000 ms: iat = 1000 s, exp an hour later.
    assert_eq!(
        decode_segment(parts[1]),
        json!({
            "iss": format!("exchange@{PROJECT}.iam.gserviceaccount.com"),
            "scope": "https://www.googleapis.com/auth/cloud-platform",
            "aud": token_uri,
            "iat": 1000,
            "exp": 4600,
        })
    );
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    assert_eq!(
        parts[2],
        jwt::base64url(&FakeSigner::signature_of(signing_input.as_bytes()))
    );
    // The signer got the PEM from the credentials and exactly the signing input.
    let signed = signer.calls.borrow();
    assert_eq!(signed.len(), 1);
    assert_eq!(
        signed[0].0,
        fixture("service_account.json")["private_key"]
            .as_str()
            .unwrap()
            .trim()
    );
    assert_eq!(signed[0].1, signing_input.as_bytes());
}

#[test]
fn a_cached_token_is_reused_until_a_minute_before_it_expires() {
    let (fakes, _signer) = fakes_with_signer();
    let (d, token_uri) = sa_deployment("gemini-2.5-flash", "cache");
    fakes.transport.script(
        &token_uri,
        [
            token_step(),
            Step::json(
                200,
                json!({"access_token": "ya29.second", "expires_in": 3599}),
            ),
        ],
    );

    assert_eq!(access_token(&d, &fakes.ports).unwrap(), TOKEN);
    assert_eq!(access_token(&d, &fakes.ports).unwrap(), TOKEN);
    assert_eq!(
        token_calls(&fakes, &token_uri).len(),
        1,
        "second call: cache hit"
    );

    // expires_in 3599 s: still cached 61 s before expiry...
    fakes.clock.advance(3_599_000.0 - 61_000.0);
    assert_eq!(access_token(&d, &fakes.ports).unwrap(), TOKEN);
    assert_eq!(token_calls(&fakes, &token_uri).len(), 1);
    // ...refreshed within the last minute.
    fakes.clock.advance(2_000.0);
    assert_eq!(access_token(&d, &fakes.ports).unwrap(), "ya29.second");
    assert_eq!(token_calls(&fakes, &token_uri).len(), 2);
}

#[test]
fn concurrent_callers_share_one_token_exchange() {
    let (fakes, signer) = fakes_with_signer();
    let (d, token_uri) = sa_deployment("gemini-2.5-flash", "single-flight");
    fakes.transport.script(&token_uri, [token_step()]);

    let pending: Vec<_> = (0..5)
        .map(|_| vertex().auth(&d, &fakes.ports).unwrap())
        .collect();
    // The signer yields once, so all five are waiting before the exchange completes.
    let tokens = block_on(join_all(pending));

    assert!(
        tokens.iter().all(|t| t.as_deref() == Ok(TOKEN)),
        "{tokens:?}"
    );
    assert_eq!(token_calls(&fakes, &token_uri).len(), 1);
    assert_eq!(signer.calls.borrow().len(), 1);
}

#[test]
fn a_rejected_exchange_is_an_authentication_error_and_the_next_call_retries() {
    let (fakes, _signer) = fakes_with_signer();
    let (d, token_uri) = sa_deployment("gemini-2.5-flash", "rejected");
    fakes.transport.script(
        &token_uri,
        [
            Step::json(400, fixture("token_error_invalid_grant.json")),
            token_step(),
        ],
    );

    let err = access_token(&d, &fakes.ports).unwrap_err();
    assert_eq!(err.kind, ErrorKind::AuthenticationError);
    assert_eq!(err.status, 401);
    assert!(
        err.message
            .contains("invalid_grant: Invalid JWT Signature."),
        "{}",
        err.message
    );
    assert!(!err.message.contains("PRIVATE KEY"));

    assert_eq!(access_token(&d, &fakes.ports).unwrap(), TOKEN);
    assert_eq!(token_calls(&fakes, &token_uri).len(), 2);
}

#[test]
fn a_401_from_vertex_drops_the_cached_token_so_the_next_call_exchanges_again() {
    let (fakes, _signer) = fakes_with_signer();
    let (d, token_uri) = sa_deployment("gemini-2.5-flash", "revoked");
    fakes.transport.script(
        &token_uri,
        [
            token_step(),
            Step::json(
                200,
                json!({"access_token": "ya29.fresh", "expires_in": 3599}),
            ),
        ],
    );
    assert_eq!(access_token(&d, &fakes.ports).unwrap(), TOKEN);
    let err = vertex()
        .parse_response(
            &d,
            Endpoint::ChatCompletion,
            &reply(401, fixture("error_unauthenticated.json")),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::AuthenticationError);
    assert_eq!(access_token(&d, &fakes.ports).unwrap(), "ya29.fresh");
    assert_eq!(token_calls(&fakes, &token_uri).len(), 2);
}

#[test]
fn a_token_endpoint_outage_keeps_its_retryable_class() {
    let (fakes, _signer) = fakes_with_signer();
    let (d, token_uri) = sa_deployment("gemini-2.5-flash", "outage");
    fakes
        .transport
        .script(&token_uri, [Step::error(503, "backend unavailable")]);
    let err = access_token(&d, &fakes.ports).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ServiceUnavailableError);
    assert!(err.retryable());
}

#[test]
fn a_runtime_without_webcrypto_gets_a_clear_authentication_error() {
    let fakes = Fakes::new(1); // no signer
    let (d, token_uri) = sa_deployment("gemini-2.5-flash", "no-signer");
    let err = access_token(&d, &fakes.ports).unwrap_err();
    assert_eq!(err.kind, ErrorKind::AuthenticationError);
    assert!(err.message.contains("no WebCrypto"), "{}", err.message);
    assert!(token_calls(&fakes, &token_uri).is_empty());
}

#[test]
fn a_signing_failure_is_an_authentication_error_without_the_key() {
    let (fakes, signer) = fakes_with_signer();
    *signer.fail_with.borrow_mut() = Some("DataError: invalid key".into());
    let (d, token_uri) = sa_deployment("gemini-2.5-flash", "bad-key");
    let err = access_token(&d, &fakes.ports).unwrap_err();
    assert_eq!(err.kind, ErrorKind::AuthenticationError);
    assert!(err.message.contains("could not sign"), "{}", err.message);
    assert!(!err.message.contains("PRIVATE KEY"));
    assert!(token_calls(&fakes, &token_uri).is_empty());
}

#[test]
fn authorized_user_credentials_refresh_with_their_refresh_token() {
    let fakes = Fakes::new(1);
    let mut creds = fixture("authorized_user.json");
    let token_uri = "https://oauth2.test/authorized-user/token";
    creds["token_uri"] = json!(token_uri);
    let d = deployment(
        "gemini-2.5-flash",
        json!({"vertex_credentials": creds.to_string()}),
    );
    fakes.transport.script(token_uri, [token_step()]);

    assert_eq!(access_token(&d, &fakes.ports).unwrap(), TOKEN);
    let calls = token_calls(&fakes, token_uri);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].body.as_deref().unwrap(),
        "grant_type=refresh_token&client_id=100000000000-llmuxtestclient.apps.googleusercontent.com&client_secret=llmux-test-client-secret&refresh_token=1%2F%2F0gTest-refresh-token-for-llmux-fixtures"
    );
    // The project defaults to the file's quota_project_id.
    let request = build(
        &d,
        Endpoint::ChatCompletion,
        fixture("gemini_chat_request.json"),
    )
    .unwrap();
    assert!(
        request
            .url
            .contains("/projects/llmux-user-project/locations/us-central1/"),
        "{}",
        request.url
    );
}

#[test]
fn an_api_key_without_credentials_is_the_bearer_token_and_needs_no_exchange() {
    let d = deployment(
        "gemini-2.5-flash",
        json!({"vertex_project": PROJECT, "api_key": "ya29.from-gcloud"}),
    );
    let fakes = Fakes::new(1);
    assert!(vertex().auth(&d, &fakes.ports).is_none());
    let request = vertex()
        .build_request(
            &d,
            Endpoint::ChatCompletion,
            object(fixture("gemini_chat_request.json")),
            &ctx(None),
        )
        .unwrap();
    assert_eq!(
        request.header("authorization"),
        Some("Bearer ya29.from-gcloud")
    );
}

// --- requests ----------------------------------------------------------------------------

#[test]
fn gemini_chat_posts_generate_content_on_the_regional_host() {
    let d = deployment(
        "gemini-2.5-flash",
        json!({"vertex_project": PROJECT, "api_key": TOKEN}),
    );
    let request = build(
        &d,
        Endpoint::ChatCompletion,
        fixture("gemini_chat_request.json"),
    )
    .unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.url,
        format!("{HOST}/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent")
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.timeout_ms, Some(30_000));
    assert_eq!(
        sent_body(&request),
        fixture("gemini_chat_request.expected.json")
    );
}

#[test]
fn location_global_uses_the_global_host_and_api_base_replaces_the_host() {
    let global = deployment(
        "gemini-2.5-flash",
        json!({"vertex_project": PROJECT, "vertex_location": "global", "api_key": TOKEN}),
    );
    let request = build(
        &global,
        Endpoint::ChatCompletion,
        fixture("gemini_chat_request.json"),
    )
    .unwrap();
    assert_eq!(
        request.url,
        format!("https://aiplatform.googleapis.com/v1/projects/{PROJECT}/locations/global/publishers/google/models/gemini-2.5-flash:generateContent")
    );

    let proxied = deployment(
        "gemini-2.5-flash",
        json!({"vertex_project": PROJECT, "vertex_location": "europe-west4", "api_key": TOKEN, "api_base": "http://127.0.0.1:9/vertex/"}),
    );
    let request = build(
        &proxied,
        Endpoint::ChatCompletion,
        fixture("gemini_chat_request.json"),
    )
    .unwrap();
    assert_eq!(
        request.url,
        format!("http://127.0.0.1:9/vertex/v1/projects/{PROJECT}/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent")
    );

    let versioned = deployment(
        "gemini-2.5-flash",
        json!({"vertex_project": PROJECT, "api_key": TOKEN, "api_base": "https://gw.test/google-vertex-ai/v1beta1"}),
    );
    let request = build(
        &versioned,
        Endpoint::ChatCompletion,
        fixture("gemini_chat_request.json"),
    )
    .unwrap();
    assert_eq!(
        request.url,
        format!("https://gw.test/google-vertex-ai/v1beta1/projects/{PROJECT}/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent")
    );
}

#[test]
fn an_api_base_naming_the_model_gets_the_method_appended_as_litellm_does() {
    let base = "https://gateway.ai.cloudflare.com/v1/acct/gw/google-vertex-ai/v1/projects/p/locations/us-east5/publishers/google/models/gemini-2.5-flash";
    // No project needed: the URL already names it.
    let d = deployment(
        "gemini-2.5-flash",
        json!({"api_key": TOKEN, "api_base": base}),
    );
    let request = build(
        &d,
        Endpoint::ChatCompletion,
        fixture("gemini_chat_request.json"),
    )
    .unwrap();
    assert_eq!(request.url, format!("{base}:generateContent"));
}

#[test]
fn claude_chat_posts_raw_predict_with_the_vertex_anthropic_version_and_no_model() {
    let d = deployment(
        "claude-sonnet-4-5@20250929",
        json!({"vertex_project": PROJECT, "vertex_location": "us-east5", "api_key": TOKEN, "headers": {"anthropic-beta": "context-1m-2025-08-07"}}),
    );
    let request = build(
        &d,
        Endpoint::ChatCompletion,
        fixture("claude_chat_request.json"),
    )
    .unwrap();
    assert_eq!(
        request.url,
        format!("https://us-east5-aiplatform.googleapis.com/v1/projects/{PROJECT}/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(request.header("x-api-key"), None, "no Anthropic key header");
    assert_eq!(
        request.header("anthropic-beta"),
        Some("context-1m-2025-08-07")
    );
    // max_tokens defaults to the model's output limit in the vertex_ai price data (64000).
    assert_eq!(
        sent_body(&request),
        fixture("claude_chat_request.expected.json")
    );
}

#[test]
fn claude_keeps_an_explicit_max_tokens() {
    let d = deployment(
        "claude-sonnet-4-5@20250929",
        json!({"vertex_project": PROJECT, "api_key": TOKEN}),
    );
    let mut body = fixture("claude_chat_request.json");
    body["max_completion_tokens"] = json!(300);
    let sent = sent_body(&build(&d, Endpoint::ChatCompletion, body).unwrap());
    assert_eq!(sent["max_tokens"], 300);
    assert!(sent.get("model").is_none());
}

#[test]
fn embeddings_post_predict_with_one_instance_per_input() {
    let d = deployment(
        "text-embedding-005",
        json!({"vertex_project": PROJECT, "api_key": TOKEN}),
    );
    let request = build(&d, Endpoint::Embedding, fixture("embedding_request.json")).unwrap();
    assert_eq!(
        request.url,
        format!("{HOST}/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/text-embedding-005:predict")
    );
    assert_eq!(
        sent_body(&request),
        fixture("embedding_request.expected.json")
    );

    let tokens = build(
        &d,
        Endpoint::Embedding,
        json!({"model": "e", "input": [[1, 2, 3]]}),
    )
    .unwrap_err();
    assert_eq!(tokens.kind, ErrorKind::BadRequestError);
}

#[test]
fn claude_models_serve_no_embeddings() {
    let d = deployment(
        "claude-sonnet-4-5@20250929",
        json!({"vertex_project": PROJECT, "api_key": TOKEN}),
    );
    let err = build(&d, Endpoint::Embedding, fixture("embedding_request.json")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
}

// --- responses and errors ----------------------------------------------------------------

#[test]
fn gemini_replies_become_chat_completions() {
    let d = deployment(
        "gemini-2.5-flash",
        json!({"vertex_project": PROJECT, "api_key": TOKEN}),
    );
    let out = vertex()
        .parse_response(
            &d,
            Endpoint::ChatCompletion,
            &reply(200, fixture("gemini_response.json")),
        )
        .unwrap();
    assert_eq!(out, fixture("gemini_response.expected.json"));
}

#[test]
fn claude_replies_become_chat_completions_named_after_the_deployment_model() {
    let d = deployment(
        "claude-sonnet-4-5@20250929",
        json!({"vertex_project": PROJECT, "api_key": TOKEN}),
    );
    let out = vertex()
        .parse_response(
            &d,
            Endpoint::ChatCompletion,
            &reply(200, fixture("claude_response.json")),
        )
        .unwrap();
    assert_eq!(out, fixture("claude_response.expected.json"));
}

#[test]
fn embedding_predictions_become_an_embedding_list_with_token_usage() {
    let d = deployment(
        "text-embedding-005",
        json!({"vertex_project": PROJECT, "api_key": TOKEN}),
    );
    let out = vertex()
        .parse_response(
            &d,
            Endpoint::Embedding,
            &reply(200, fixture("embedding_response.json")),
        )
        .unwrap();
    assert_eq!(out, fixture("embedding_response.expected.json"));
}

#[test]
fn google_error_bodies_are_classified_by_status_and_message() {
    let d = deployment(
        "gemini-2.5-flash",
        json!({"vertex_project": PROJECT, "api_key": TOKEN}),
    );
    let cases = [
        (
            "error_unauthenticated.json",
            401,
            ErrorKind::AuthenticationError,
        ),
        (
            "error_permission_denied.json",
            403,
            ErrorKind::PermissionDeniedError,
        ),
        ("error_not_found.json", 404, ErrorKind::NotFoundError),
        (
            "error_resource_exhausted.json",
            429,
            ErrorKind::RateLimitError,
        ),
        (
            "error_context_window.json",
            400,
            ErrorKind::ContextWindowExceededError,
        ),
    ];
    for (name, status, kind) in cases {
        let err = vertex()
            .parse_response(&d, Endpoint::ChatCompletion, &reply(status, fixture(name)))
            .unwrap_err();
        assert_eq!(
            (err.kind, err.status),
            (kind, status),
            "{name}: {}",
            err.message
        );
        let google_message = fixture(name)["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            err.message.contains(&google_message),
            "{name}: {}",
            err.message
        );
    }
    let embedding = deployment(
        "text-embedding-005",
        json!({"vertex_project": PROJECT, "api_key": TOKEN}),
    );
    let err = vertex()
        .parse_response(
            &embedding,
            Endpoint::Embedding,
            &reply(429, fixture("error_resource_exhausted.json")),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::RateLimitError);
}

#[test]
fn a_blocked_prompt_is_a_content_policy_violation() {
    let d = deployment(
        "gemini-2.5-flash",
        json!({"vertex_project": PROJECT, "api_key": TOKEN}),
    );
    let err = vertex()
        .parse_response(
            &d,
            Endpoint::ChatCompletion,
            &reply(200, fixture("gemini_response_blocked_prompt.json")),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::ContentPolicyViolationError);
    assert_eq!(err.status, 400);
}

#[test]
fn claude_errors_in_either_format_are_classified() {
    let d = deployment(
        "claude-sonnet-4-5@20250929",
        json!({"vertex_project": PROJECT, "api_key": TOKEN}),
    );
    let cases = [
        (
            "claude_error_overloaded.json",
            529,
            ErrorKind::InternalServerError,
        ),
        (
            "claude_error_prompt_too_long.json",
            400,
            ErrorKind::ContextWindowExceededError,
        ),
        ("claude_error_quota.json", 429, ErrorKind::RateLimitError),
        (
            "error_unauthenticated.json",
            401,
            ErrorKind::AuthenticationError,
        ),
    ];
    for (name, status, kind) in cases {
        let err = vertex()
            .parse_response(&d, Endpoint::ChatCompletion, &reply(status, fixture(name)))
            .unwrap_err();
        assert_eq!(err.kind, kind, "{name}: {}", err.message);
    }
}

// --- configuration -----------------------------------------------------------------------

fn config_error(model: &str, params: Value) -> LlmError {
    let err = parse(model, params).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ConfigError);
    err
}

#[test]
fn configuration_requires_credentials_or_a_token_and_a_project() {
    let err = config_error("gemini-2.5-flash", json!({"vertex_project": PROJECT}));
    assert!(
        err.message.contains("vertex_credentials"),
        "{}",
        err.message
    );
    assert_eq!(err.field.as_deref(), Some("model_list[0].litellm_params"));

    let err = config_error("gemini-2.5-flash", json!({"api_key": TOKEN}));
    assert!(err.message.contains("vertex_project"), "{}", err.message);

    // The credentials' project_id is enough.
    let (creds, _) = service_account("config");
    assert!(parse("gemini-2.5-flash", json!({"vertex_credentials": creds})).is_ok());
}

#[test]
fn unusable_credentials_are_refused_without_echoing_them() {
    let err = config_error(
        "gemini-2.5-flash",
        json!({"vertex_project": PROJECT, "vertex_credentials": "/secrets/sa.json"}),
    );
    assert!(err.message.contains("reads no files"), "{}", err.message);
    assert!(!err.message.contains("/secrets/sa.json"));

    let mut pkcs1 = fixture("service_account.json");
    pkcs1["private_key"] =
        json!("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
    let err = config_error(
        "gemini-2.5-flash",
        json!({"vertex_credentials": pkcs1.to_string()}),
    );
    assert!(err.message.contains("PKCS#8"), "{}", err.message);

    // A credentials object (not a string) is accepted, as LiteLLM accepts a dict.
    assert!(parse(
        "gemini-2.5-flash",
        json!({"vertex_credentials": fixture("service_account.json")})
    )
    .is_ok());
}

#[test]
fn partner_models_other_than_claude_are_not_yet_supported() {
    for model in [
        "meta/llama-3.1-405b-instruct-maas",
        "mistral-large@2407",
        "1234567890",
    ] {
        let err = config_error(model, json!({"vertex_project": PROJECT, "api_key": TOKEN}));
        assert!(
            err.message.contains("not yet supported"),
            "{model}: {}",
            err.message
        );
    }
    let err = config_error(
        "gemini-2.5-flash",
        json!({"vertex_project": PROJECT, "api_key": TOKEN, "vertex_location": "us-central1.evil.test/"}),
    );
    assert!(err.message.contains("vertex_location"), "{}", err.message);
}

#[test]
fn bare_gemini_names_resolve_to_vertex_ai() {
    let d = Deployment::parse(
        &json!({"model_name": "g", "litellm_params": {"model": "gemini-2.5-flash", "vertex_project": PROJECT, "api_key": TOKEN}}),
        "model_list[0]",
    )
    .unwrap();
    assert_eq!(d.provider, "vertex_ai");
}

// --- through the router ------------------------------------------------------------------

fn router_with(fakes: &Fakes, model: &str, creds: &str) -> Router {
    let options = json!({"model_list": [entry(model, json!({"vertex_credentials": creds}))], "num_retries": 0});
    let config = RouterConfig::parse(&options, &HashMap::new()).unwrap();
    Router::new(config, fakes.ports.clone())
}

fn chat_request() -> Map<String, Value> {
    let mut body = object(fixture("gemini_chat_request.json"));
    body.insert("model".into(), json!("vertex-group"));
    body
}

#[test]
fn the_router_sends_generate_content_with_the_exchanged_token() {
    let (fakes, _signer) = fakes_with_signer();
    let (creds, token_uri) = service_account("router");
    let router = router_with(&fakes, "gemini-2.5-flash", &creds);
    fakes.transport.script(&token_uri, [token_step()]);
    fakes
        .transport
        .script(HOST, [Step::json(200, fixture("gemini_response.json"))]);

    let routed = block_on(router.call(Endpoint::ChatCompletion, chat_request())).unwrap();

    let urls = fakes.transport.urls();
    assert_eq!(urls.len(), 2, "{urls:?}");
    assert_eq!(urls[0], token_uri, "the token first");
    let calls = fakes.transport.calls.borrow();
    let call = &calls[1].request;
    assert_eq!(
        call.url,
        format!("{HOST}/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent")
    );
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        sent_body(call),
        fixture("gemini_chat_request.expected.json")
    );
    assert_eq!(routed.hidden.custom_llm_provider, "vertex_ai");
    assert_eq!(routed.body, fixture("gemini_response.expected.json"));
}

#[test]
fn five_concurrent_completions_cause_exactly_one_token_exchange() {
    let (fakes, signer) = fakes_with_signer();
    let (creds, token_uri) = service_account("router-burst");
    let router = router_with(&fakes, "gemini-2.5-flash", &creds);
    fakes.transport.script(&token_uri, [token_step()]);
    fakes.transport.script(
        HOST,
        (0..5).map(|_| Step::json(200, fixture("gemini_response.json"))),
    );

    let results = block_on(join_all(
        (0..5).map(|_| router.call(Endpoint::ChatCompletion, chat_request())),
    ));

    assert!(results.iter().all(Result::is_ok));
    assert_eq!(token_calls(&fakes, &token_uri).len(), 1);
    assert_eq!(signer.calls.borrow().len(), 1);
    assert_eq!(fakes.transport.calls_to(HOST), 5);
}

#[test]
fn a_rejected_token_exchange_fails_the_request_with_an_authentication_error() {
    let (fakes, _signer) = fakes_with_signer();
    let (creds, token_uri) = service_account("router-rejected");
    let router = router_with(&fakes, "gemini-2.5-flash", &creds);
    fakes.transport.script(
        &token_uri,
        [Step::json(400, fixture("token_error_invalid_grant.json"))],
    );
    let err = block_on(router.call(Endpoint::ChatCompletion, chat_request())).unwrap_err();
    assert_eq!(err.kind, ErrorKind::AuthenticationError);
    assert_eq!(
        fakes.transport.calls_to(HOST),
        0,
        "no model call without a token"
    );
}
