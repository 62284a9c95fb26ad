//! Rerank (`rerank()`): each provider's request built from a Cohere-style body and its reply
//! parsed into Cohere's shape, on payloads from the providers' API references
//! (tests/fixtures/rerank), and the cost each reply is priced at.
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
use llmux::cost::{rerank_cost, CostMap};
use llmux::error::ErrorKind;
use llmux::ports::HttpRequest;
use llmux::providers::{self, RequestContext};
use llmux::types::Endpoint;
use serde_json::{json, Map, Value};

const KEY: &str = "rr-test-0123456789abcdef";
const CTX: RequestContext = RequestContext {
    timeout_ms: 30_000,
    now_ms: 1_700_000_000_000.0,
    bearer_token: None,
    stream: false,
    entropy: 0,
};

fn deployment(params: Value) -> Deployment {
    Deployment::parse(
        &json!({"model_name": "rerank", "litellm_params": params}),
        "model_list[0]",
    )
    .unwrap()
}

fn request() -> Map<String, Value> {
    json!({
        "query": "What is the capital of the United States?",
        "documents": [
            "Carson City is the capital city of the American state of Nevada.",
            "Washington, D.C. is the capital of the United States."
        ],
        "top_n": 2,
        "return_documents": true,
    })
    .as_object()
    .unwrap()
    .clone()
}

fn build(d: &Deployment, body: Map<String, Value>) -> HttpRequest {
    providers::lookup(&d.provider)
        .unwrap()
        .build_request(d, Endpoint::Rerank, body, &CTX)
        .unwrap()
}

fn parse(d: &Deployment, fixture: &str) -> Value {
    let reply = common::reply(200, &[], common::fixture_text("rerank", fixture));
    providers::lookup(&d.provider)
        .unwrap()
        .parse_response(d, Endpoint::Rerank, &reply)
        .unwrap()
}

fn header<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn cohere_sends_v2_rerank_with_bearer_key() {
    let d = deployment(json!({"model": "cohere/rerank-v3.5", "api_key": KEY}));
    let r = build(&d, request());
    assert_eq!(r.url, "https://api.cohere.com/v2/rerank");
    assert_eq!(
        header(&r, "authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let sent = common::sent_json(&r);
    assert_eq!(sent["model"], "rerank-v3.5");
    assert_eq!(sent["top_n"], 2);
    assert_eq!(sent["documents"].as_array().unwrap().len(), 2);
    assert_eq!(sent["return_documents"], true);
}

#[test]
fn cohere_uses_v1_for_a_v1_base_or_v1_only_params() {
    let d = deployment(
        json!({"model": "cohere/rerank-english-v3.0", "api_key": KEY, "api_base": "https://co.example/v1/rerank"}),
    );
    assert_eq!(build(&d, request()).url, "https://co.example/v1/rerank");
    let d = deployment(
        json!({"model": "cohere/rerank-english-v3.0", "api_key": KEY, "api_base": "https://co.example"}),
    );
    let mut body = request();
    body.insert("max_chunks_per_doc".into(), json!(5));
    let r = build(&d, body);
    assert_eq!(r.url, "https://co.example/v1/rerank");
    assert_eq!(common::sent_json(&r)["max_chunks_per_doc"], 5);
    // v2 drops the v1-only field.
    let d = deployment(json!({"model": "cohere/rerank-v3.5", "api_key": KEY}));
    let mut body = request();
    body.insert("max_chunks_per_doc".into(), json!(5));
    let r = build(&d, body);
    assert_eq!(r.url, "https://api.cohere.com/v2/rerank");
    assert!(common::sent_json(&r).get("max_chunks_per_doc").is_none());
}

#[test]
fn cohere_replies_pass_through_in_their_own_shape() {
    let d = deployment(json!({"model": "cohere/rerank-v3.5", "api_key": KEY}));
    let v2 = parse(&d, "cohere_v2_response.json");
    assert_eq!(v2["id"], "07734bd2-2473-4f07-94e1-0d9f0e6843cf");
    assert_eq!(
        v2["results"][0],
        json!({"index": 3, "relevance_score": 0.999071})
    );
    assert_eq!(v2["meta"]["billed_units"]["search_units"], 1);
    let v1 = parse(&d, "cohere_v1_response.json");
    assert_eq!(
        v1["results"][0]["document"]["text"],
        "Washington, D.C. is the capital of the United States."
    );
}

#[test]
fn cohere_rerank_costs_input_cost_per_query_per_search_unit() {
    let d = deployment(json!({"model": "cohere/rerank-v3.5", "api_key": KEY}));
    let reply = parse(&d, "cohere_v2_response.json");
    let price = CostMap::bundled().lookup("cohere", "rerank-v3.5").unwrap();
    assert_eq!(price.input_cost_per_query, Some(0.002));
    assert_eq!(rerank_cost(price, &reply), Some(0.002));
}

#[test]
fn cohere_errors_are_classified() {
    let d = deployment(json!({"model": "cohere/rerank-v3.5", "api_key": KEY}));
    let reply = common::reply(
        400,
        &[],
        common::fixture_text("rerank", "cohere_error_400.json"),
    );
    let e = providers::lookup("cohere")
        .unwrap()
        .parse_response(&d, Endpoint::Rerank, &reply)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadRequestError);
    assert!(
        e.message.contains("documents must not be empty"),
        "{}",
        e.message
    );
}

#[test]
fn voyage_sends_top_k_and_reads_data_and_total_tokens() {
    let d = deployment(json!({"model": "voyage/rerank-2", "api_key": KEY}));
    let r = build(&d, request());
    assert_eq!(r.url, "https://api.voyageai.com/v1/rerank");
    let sent = common::sent_json(&r);
    assert_eq!(sent["top_k"], 2);
    assert!(sent.get("top_n").is_none());
    assert_eq!(sent["model"], "rerank-2");
    let reply = parse(&d, "voyage_response.json");
    assert_eq!(reply["results"][0]["index"], 0);
    assert_eq!(
        reply["results"][1]["document"]["text"],
        "Photosynthesis in plants converts light energy into glucose."
    );
    assert_eq!(reply["meta"]["billed_units"]["total_tokens"], 26);
    assert_eq!(reply["meta"]["tokens"]["input_tokens"], 26);
    let price = CostMap::bundled().lookup("voyage", "rerank-2").unwrap();
    let cost = rerank_cost(price, &reply).unwrap();
    assert!((cost - 26.0 * 5e-8).abs() < 1e-15, "{cost}");
}

#[test]
fn jina_sends_to_v1_rerank_on_the_base_host_and_prices_tokens() {
    let d =
        deployment(json!({"model": "jina_ai/jina-reranker-v2-base-multilingual", "api_key": KEY}));
    let r = build(&d, request());
    assert_eq!(r.url, "https://api.jina.ai/v1/rerank");
    assert_eq!(common::sent_json(&r)["top_n"], 2);
    let d2 = deployment(
        json!({"model": "jina_ai/jina-reranker-v2-base-multilingual", "api_key": KEY, "api_base": "http://127.0.0.1:9/some/path"}),
    );
    assert_eq!(build(&d2, request()).url, "http://127.0.0.1:9/v1/rerank");
    let reply = parse(&d, "jina_response.json");
    assert_eq!(reply["results"][0]["relevance_score"], 0.8783142566680908);
    assert_eq!(reply["meta"]["billed_units"]["total_tokens"], 815);
    let price = CostMap::bundled()
        .lookup("jina_ai", "jina-reranker-v2-base-multilingual")
        .unwrap();
    let cost = rerank_cost(price, &reply).unwrap();
    assert!((cost - 815.0 * 5e-8).abs() < 1e-15, "{cost}");
}

#[test]
fn hosted_vllm_sends_to_rerank_under_the_base() {
    let d = deployment(
        json!({"model": "hosted_vllm/BAAI/bge-reranker-base", "api_base": "http://127.0.0.1:8000/v1"}),
    );
    let r = build(&d, request());
    assert_eq!(r.url, "http://127.0.0.1:8000/v1/rerank");
    assert_eq!(common::sent_json(&r)["model"], "BAAI/bge-reranker-base");
    let d = deployment(
        json!({"model": "hosted_vllm/BAAI/bge-reranker-base", "api_base": "http://127.0.0.1:8000/v1/rerank"}),
    );
    assert_eq!(build(&d, request()).url, "http://127.0.0.1:8000/rerank");
    let reply = parse(&d, "vllm_response.json");
    assert_eq!(reply["id"], "rerank-fae51b2b664d4ed38f5969b612edff77");
    assert_eq!(
        reply["results"][0]["document"]["text"],
        "The capital of France is Paris."
    );
    assert_eq!(reply["meta"]["tokens"]["input_tokens"], 56);
}

#[test]
fn infinity_sends_to_rerank_and_wraps_string_documents() {
    let d = deployment(
        json!({"model": "infinity/mixedbread-ai/mxbai-rerank-xsmall-v1", "api_base": "http://127.0.0.1:7997"}),
    );
    let r = build(&d, request());
    assert_eq!(r.url, "http://127.0.0.1:7997/rerank");
    let reply = parse(&d, "infinity_response.json");
    assert_eq!(
        reply["results"][0]["document"]["text"],
        "Paris is the capital of France."
    );
    assert_eq!(reply["meta"]["tokens"]["input_tokens"], 14);
    assert_eq!(reply["meta"]["tokens"]["output_tokens"], 0);
}

#[test]
fn bedrock_calls_the_agent_runtime_rerank_api_signed_with_sigv4() {
    let d = deployment(json!({
        "model": "bedrock/cohere.rerank-v3-5:0",
        "aws_access_key_id": "AKIDEXAMPLE",
        "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "aws_region_name": "us-west-2",
    }));
    let r = build(&d, request());
    assert_eq!(
        r.url,
        "https://bedrock-agent-runtime.us-west-2.amazonaws.com/rerank"
    );
    let auth = header(&r, "authorization").unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
        "{auth}"
    );
    assert!(auth.contains("/us-west-2/bedrock/aws4_request"), "{auth}");
    let sent = common::sent_json(&r);
    assert_eq!(
        sent["queries"][0]["textQuery"]["text"],
        "What is the capital of the United States?"
    );
    assert_eq!(
        sent["rerankingConfiguration"]["bedrockRerankingConfiguration"]["modelConfiguration"]
            ["modelArn"],
        "arn:aws:bedrock:us-west-2::foundation-model/cohere.rerank-v3-5:0"
    );
    assert_eq!(
        sent["rerankingConfiguration"]["bedrockRerankingConfiguration"]["numberOfResults"],
        2
    );
    assert_eq!(
        sent["sources"][1]["inlineDocumentSource"]["textDocument"]["text"],
        "Washington, D.C. is the capital of the United States."
    );
    let reply = parse(&d, "bedrock_response.json");
    assert_eq!(
        reply["results"][0],
        json!({"index": 0, "relevance_score": 0.6847912669181824})
    );
    assert_eq!(reply["meta"]["billed_units"]["search_units"], 1);
    let price = CostMap::bundled()
        .lookup("bedrock", "cohere.rerank-v3-5:0")
        .unwrap();
    assert_eq!(rerank_cost(price, &reply), Some(0.002));
}

#[test]
fn bad_rerank_requests_are_refused_naming_the_field() {
    let d = deployment(json!({"model": "cohere/rerank-v3.5", "api_key": KEY}));
    let p = providers::lookup("cohere").unwrap();
    let cases = [
        (json!({"documents": ["a"]}), "`query` is required"),
        (
            json!({"query": 1, "documents": ["a"]}),
            "`query` must be a string",
        ),
        (json!({"query": "q"}), "`documents` is required"),
        (
            json!({"query": "q", "documents": []}),
            "`documents` is empty",
        ),
        (json!({"query": "q", "documents": [1]}), "`documents[0]`"),
        (
            json!({"query": "q", "documents": ["a"], "top_n": 0}),
            "`top_n`",
        ),
        (
            json!({"query": "q", "documents": ["a"], "return_documents": "yes"}),
            "`return_documents`",
        ),
    ];
    for (body, needle) in cases {
        let e = p
            .build_request(
                &d,
                Endpoint::Rerank,
                body.as_object().unwrap().clone(),
                &CTX,
            )
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadRequestError);
        assert!(e.message.contains(needle), "{needle}: {}", e.message);
    }
    let many: Vec<Value> = (0..10_001).map(|i| json!(format!("d{i}"))).collect();
    let e = p
        .build_request(
            &d,
            Endpoint::Rerank,
            json!({"query": "q", "documents": many})
                .as_object()
                .unwrap()
                .clone(),
            &CTX,
        )
        .unwrap_err();
    assert!(e.message.contains("10000"), "{}", e.message);
}

#[test]
fn a_reply_without_results_is_a_malformed_body() {
    let d = deployment(json!({"model": "voyage/rerank-2", "api_key": KEY}));
    let reply = common::reply(200, &[], r#"{"object":"list"}"#);
    let e = providers::lookup("voyage")
        .unwrap()
        .parse_response(&d, Endpoint::Rerank, &reply)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InternalServerError);
}

#[test]
fn providers_without_a_rerank_api_refuse_it() {
    for (model, provider) in [
        ("openai/gpt-4o-mini", "openai"),
        ("anthropic/claude-3-5-haiku-latest", "anthropic"),
    ] {
        let d = deployment(json!({"model": model, "api_key": KEY}));
        assert!(!providers::lookup(provider)
            .unwrap()
            .supports(Endpoint::Rerank));
        let _ = d;
    }
}

#[test]
fn azure_ai_sends_cohere_v1_rerank_with_its_key_and_prices_per_query() {
    let d = deployment(
        json!({"model": "azure_ai/cohere-rerank-v4.0-pro", "api_key": KEY, "api_base": "https://res.services.ai.azure.com"}),
    );
    let r = build(&d, request());
    assert_eq!(r.url, "https://res.services.ai.azure.com/v1/rerank");
    assert_eq!(header(&r, "api-key"), Some(KEY));
    let sent = common::sent_json(&r);
    assert_eq!(sent["model"], "cohere-rerank-v4.0-pro");
    assert_eq!(sent["top_n"], 2);
    for (base, url) in [
        (
            "https://h.example/providers/cohere/v2",
            "https://h.example/providers/cohere/v2/rerank",
        ),
        ("https://h.example/v2/rerank", "https://h.example/v2/rerank"),
        ("https://h.example/v1", "https://h.example/v1/rerank"),
    ] {
        let d = deployment(
            json!({"model": "azure_ai/cohere-rerank-v4.0-pro", "api_key": KEY, "api_base": base}),
        );
        let r = build(&d, request());
        assert_eq!(r.url, url, "{base}");
        assert_eq!(
            header(&r, "authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
    }
    let reply = parse(&d, "cohere_v1_response.json");
    assert_eq!(reply["results"][0]["index"], 3);
    let price = CostMap::bundled()
        .lookup("azure_ai", "cohere-rerank-v4.0-pro")
        .unwrap();
    assert_eq!(rerank_cost(price, &reply), Some(0.0025));
}

#[test]
fn huggingface_sends_tei_texts_and_reads_its_scored_list() {
    let d = deployment(
        json!({"model": "huggingface/BAAI/bge-reranker-base", "api_base": "http://127.0.0.1:8080"}),
    );
    let mut with_group = request();
    with_group.insert("model".into(), json!("rerank"));
    let r = build(&d, with_group);
    assert_eq!(r.url, "http://127.0.0.1:8080/rerank");
    assert_eq!(header(&r, "authorization"), None, "no key, no auth header");
    // LiteLLM's HuggingFaceRerankConfig body: documents → texts, return_documents →
    // return_text, TEI's defaults, no model.
    assert_eq!(
        common::sent_json(&r),
        json!({
            "query": "What is the capital of the United States?",
            "texts": [
                "Carson City is the capital city of the American state of Nevada.",
                "Washington, D.C. is the capital of the United States."
            ],
            "top_n": 2,
            "return_text": true,
            "raw_scores": false,
            "truncate": false,
            "truncation_direction": "Right",
        })
    );
    // An object document ranks by its `text`; a caller's truncate wins over the default.
    let mut body = request();
    body.insert(
        "documents".into(),
        json!([{"text": "a", "title": "t"}, "b"]),
    );
    body.insert("truncate".into(), json!(true));
    let keyed = deployment(json!({
        "model": "huggingface/BAAI/bge-reranker-base",
        "api_base": "https://tei.example.com/rerank",
        "api_key": KEY,
    }));
    let r = build(&keyed, body);
    assert_eq!(r.url, "https://tei.example.com/rerank");
    assert_eq!(header(&r, "authorization"), Some(&*format!("Bearer {KEY}")));
    let sent = common::sent_json(&r);
    assert_eq!(sent["texts"], json!(["a", "b"]));
    assert_eq!(sent["truncate"], true);
    // A document with no text cannot be ranked by TEI: refused before any call.
    let mut body = request();
    body.insert("documents".into(), json!(["a", {"title": "no text"}]));
    let err = providers::lookup("huggingface")
        .unwrap()
        .build_request(&d, Endpoint::Rerank, body, &CTX)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadRequestError);
    assert!(err.message.contains("documents[1]"), "{}", err.message);

    let reply = parse(&d, "tei_response.json");
    assert_eq!(reply["results"][0]["index"], 1);
    assert_eq!(reply["results"][0]["relevance_score"], 0.9976404);
    assert_eq!(
        reply["results"][0]["document"]["text"],
        "Washington, D.C. is the capital of the United States."
    );
    assert_eq!(reply["results"][1]["index"], 0);
    assert_eq!(reply["meta"]["billed_units"]["search_units"], 1);
    assert_eq!(reply["id"].as_str().map(str::len), Some(36));
    // Not a list, or a result without a score: a malformed reply.
    for body in [r#"{"results": []}"#, r#"[{"index": 0}]"#] {
        let reply = common::reply(200, &[], body.to_string());
        let err = providers::lookup("huggingface")
            .unwrap()
            .parse_response(&d, Endpoint::Rerank, &reply)
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InternalServerError, "{body}");
    }
    // TEI serves rerank only; and needs its server's URL.
    assert!(!providers::lookup("huggingface")
        .unwrap()
        .supports(Endpoint::ChatCompletion));
    let err = Deployment::parse(
        &json!({"model_name": "r", "litellm_params": {"model": "huggingface/BAAI/bge-reranker-base"}}),
        "model_list[0]",
    )
    .unwrap_err();
    assert!(
        err.message.contains("Text Embeddings Inference"),
        "{}",
        err.message
    );
}
