// router.rerank end to end over HTTP against the loopback mock speaking Cohere's (and Voyage's)
// rerank wire format: the reply shape, retries, fallbacks to another provider, cost, the
// deployment that answered, and POST /v1/rerank through router.fetch with a scoped key.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, beforeEach, describe, it } from "node:test";
import { Router, T, errors, rejection, startMockServer } from "./fixture.mjs";

const rerankFixture = (name) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/rerank/${name}`, import.meta.url), "utf8"));
const VOYAGE_REPLY = rerankFixture("voyage_response.json");
const MASTER = "sk-master-rerank-0123456789";
const SCOPED = "sk-rerank-only-0123456789";

const DOCS = [
  "Carson City is the capital city of the American state of Nevada.",
  "Washington, D.C. is the capital of the United States.",
  "Capital punishment has existed in the United States since before it was a country.",
];
const QUERY = "What is the capital of the United States?";

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

/** A Cohere rerank deployment at the mock path `/<name>` (Cohere appends `/v2/rerank`). */
const cohere = (group, name, params = {}) => ({
  model_name: group,
  litellm_params: {
    model: "cohere/rerank-v3.5",
    api_base: `${mock.url}/${name}`,
    api_key: `co-key-${name}-0123456789`,
    ...params,
  },
  model_info: { id: name },
});

/** A Voyage rerank deployment at the mock path `/<name>/v1` (Voyage appends `/rerank`). */
const voyage = (group, name) => ({
  model_name: group,
  litellm_params: {
    model: "voyage/rerank-2",
    api_base: mock.base(name),
    api_key: `pa-key-${name}-0123456789`,
  },
  model_info: { id: name },
});

describe("router.rerank", () => {
  it("answers in Cohere's shape from Cohere's /v2/rerank, priced per search unit", T, async () => {
    const router = new Router({ model_list: [cohere("rerank", "co-a")] });
    const res = await router.rerank({
      model: "rerank",
      query: QUERY,
      documents: DOCS,
      top_n: 2,
      return_documents: true,
    });
    assert.equal(res.results.length, 2);
    assert.equal(res.results[0].index, 1);
    assert.equal(res.results[0].document.text, DOCS[1]);
    assert.ok(res.results[0].relevance_score >= res.results[1].relevance_score);
    assert.equal(res.meta.billed_units.search_units, 1);
    assert.match(res.id, /^[0-9a-f-]{36}$/);
    assert.equal(res._hidden_params.model_id, "co-a");
    assert.equal(res._hidden_params.response_cost, 0.002);
    const [call] = mock.callsTo("co-a");
    assert.equal(call.path, "/co-a/v2/rerank");
    assert.equal(call.headers.authorization, "Bearer co-key-co-a-0123456789");
    assert.deepEqual(call.body, {
      model: "rerank-v3.5",
      query: QUERY,
      documents: DOCS,
      top_n: 2,
      return_documents: true,
    });
  });

  it("arerank is the same method (LiteLLM's name)", T, async () => {
    const router = new Router({ model_list: [cohere("rerank", "co-a")] });
    assert.equal(router.arerank, router.rerank);
  });

  it("retries a 500 on the same group and answers on the second call", T, async () => {
    mock.script("co-a", { error: "server" });
    const router = new Router({
      model_list: [cohere("rerank", "co-a")],
      num_retries: 1,
      retry_after: 0,
    });
    const res = await router.rerank({ model: "rerank", query: QUERY, documents: DOCS });
    assert.equal(mock.callsTo("co-a").length, 2);
    assert.equal(res.results.length, 3);
    assert.equal(res._hidden_params.model_id, "co-a");
  });

  it("falls back to a Voyage group when Cohere is down, priced per token", T, async () => {
    mock.mode("co-a", { kind: "down", error: "unavailable" });
    mock.script("vo-a", { body: VOYAGE_REPLY });
    const router = new Router({
      model_list: [cohere("rerank", "co-a"), voyage("rerank-voyage", "vo-a")],
      fallbacks: [{ rerank: ["rerank-voyage"] }],
      num_retries: 0,
    });
    const res = await router.rerank({ model: "rerank", query: QUERY, documents: DOCS, top_n: 2 });
    assert.equal(mock.callsTo("co-a").length, 1);
    const [call] = mock.callsTo("vo-a");
    assert.equal(call.path, "/vo-a/v1/rerank");
    assert.equal(call.body.top_k, 2);
    assert.equal(call.body.top_n, undefined);
    assert.equal(res._hidden_params.model_id, "vo-a");
    assert.equal(res.results[1].document.text, VOYAGE_REPLY.data[1].document);
    assert.equal(res.meta.billed_units.total_tokens, 26);
    assert.ok(Math.abs(res._hidden_params.response_cost - 26 * 5e-8) < 1e-15);
  });

  it(
    "Jina, vLLM and TEI (huggingface/) over HTTP: each API's route and body, Cohere's shape back, priced",
    T,
    async () => {
      mock.script("v1", { body: rerankFixture("jina_response.json") });
      mock.script("vl", { body: rerankFixture("vllm_response.json") });
      mock.script("tei", { body: rerankFixture("tei_response.json") });
      const router = new Router({
        model_list: [
          {
            model_name: "jina",
            // Jina keeps api_base's scheme and host only (LiteLLM's rule): the mock's /v1/rerank.
            litellm_params: {
              model: "jina_ai/jina-reranker-v2-base-multilingual",
              api_base: `${mock.url}/ignored/path`,
              api_key: "jina-key-0123456789",
            },
            model_info: { id: "jina-1" },
          },
          {
            model_name: "vllm",
            litellm_params: {
              model: "hosted_vllm/BAAI/bge-reranker-base",
              api_base: mock.base("vl"),
              input_cost_per_token: 1e-6,
            },
            model_info: { id: "vllm-1" },
          },
          {
            model_name: "tei",
            litellm_params: {
              model: "huggingface/BAAI/bge-reranker-base",
              api_base: `${mock.url}/tei`,
            },
            model_info: { id: "tei-1" },
          },
        ],
        num_retries: 0,
      });
      const request = {
        query: QUERY,
        documents: DOCS.slice(0, 2),
        top_n: 2,
        return_documents: true,
      };

      const jina = await router.rerank({ ...request, model: "jina" });
      const [jc] = mock.callsTo("v1");
      assert.equal(jc.path, "/v1/rerank");
      assert.equal(jc.headers.authorization, "Bearer jina-key-0123456789");
      assert.equal(jc.body.model, "jina-reranker-v2-base-multilingual");
      assert.equal(jina._hidden_params.model_id, "jina-1");
      assert.equal(jina.meta.billed_units.total_tokens, 815);
      // The bundled price of jina-reranker-v2-base-multilingual: 5e-8 a token.
      assert.ok(Math.abs(jina._hidden_params.response_cost - 815 * 5e-8) < 1e-15);

      const vllm = await router.rerank({ ...request, model: "vllm" });
      const [vc] = mock.callsTo("vl");
      assert.equal(vc.path, "/vl/v1/rerank");
      assert.equal(vc.body.model, "BAAI/bge-reranker-base");
      assert.equal(vc.headers.authorization, undefined, "a local server without a key");
      assert.deepEqual(
        vllm.results.map((r) => r.index),
        [1, 0],
      );
      // Priced per token at the deployment's own price, from the reply's usage.
      assert.ok(Math.abs(vllm._hidden_params.response_cost - 56 * 1e-6) < 1e-12);

      const tei = await router.rerank({ ...request, model: "tei" });
      const [tc] = mock.callsTo("tei");
      assert.equal(tc.path, "/tei/rerank");
      assert.deepEqual(tc.body.texts, DOCS.slice(0, 2));
      assert.equal(tc.body.return_text, true);
      assert.equal(tc.body.documents, undefined);
      assert.equal(tc.body.model, undefined);
      assert.deepEqual(tei.results, [
        { index: 1, relevance_score: 0.9976404, document: { text: DOCS[1] } },
        { index: 0, relevance_score: 0.0034652292, document: { text: DOCS[0] } },
      ]);
      assert.equal(tei._hidden_params.model_id, "tei-1");
      // TEI reports no usage: one search unit, as LiteLLM bills it; the price data has no
      // huggingface/ rerank model, so the call is unpriced (null), as any unpriced call.
      assert.equal(tei.meta.billed_units.search_units, 1);
      assert.equal(tei._hidden_params.response_cost, null);
      assert.equal(mock.calls.length, 3);

      // TEI serves rerank only: a chat call is refused before any upstream call.
      const e = await rejection(
        router.completion({ model: "tei", messages: [{ role: "user", content: "hi" }] }),
      );
      assert.ok(e instanceof errors.BadRequestError, String(e));
      assert.equal(mock.calls.length, 3);
    },
  );

  it("cools a failing deployment down and routes the next call to the other", T, async () => {
    mock.mode("co-a", { kind: "down", error: "rate_limit" });
    const router = new Router({
      model_list: [cohere("rerank", "co-a"), cohere("rerank", "co-b")],
      num_retries: 2,
      retry_after: 0,
      allowed_fails: 0,
      routing_strategy: "simple-shuffle",
    });
    for (let i = 0; i < 4; i++) {
      const res = await router.rerank({ model: "rerank", query: QUERY, documents: DOCS });
      assert.equal(res._hidden_params.model_id, "co-b");
    }
    assert.ok(mock.callsTo("co-a").length <= 1, `${mock.callsTo("co-a").length} calls to co-a`);
  });

  it("Bedrock: the Rerank API over HTTP, SigV4-signed, one search unit", T, async () => {
    mock.script("br", { body: rerankFixture("bedrock_response.json") });
    const router = new Router({
      model_list: [
        {
          model_name: "rerank",
          litellm_params: {
            model: "bedrock/cohere.rerank-v3-5:0",
            api_base: `${mock.url}/br`,
            aws_access_key_id: "AKIDEXAMPLE",
            aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            aws_region_name: "us-west-2",
          },
          model_info: { id: "br" },
        },
      ],
    });
    const res = await router.rerank({ model: "rerank", query: QUERY, documents: DOCS, top_n: 2 });
    const [call] = mock.callsTo("br");
    assert.equal(call.path, "/br/rerank");
    assert.match(call.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\//);
    assert.equal(call.body.queries[0].textQuery.text, QUERY);
    assert.equal(
      call.body.rerankingConfiguration.bedrockRerankingConfiguration.modelConfiguration.modelArn,
      "arn:aws:bedrock:us-west-2::foundation-model/cohere.rerank-v3-5:0",
    );
    assert.deepEqual(
      res.results.map((r) => r.index),
      [0, 1],
    );
    assert.equal(res._hidden_params.response_cost, 0.002);
    assert.ok(!JSON.stringify(res).includes("wJalrXUtnFEMI"));
  });

  it("refuses a bad request before any upstream call, naming the field", T, async () => {
    const router = new Router({ model_list: [cohere("rerank", "co-a")] });
    const e = await rejection(router.rerank({ model: "rerank", query: QUERY, documents: [] }));
    assert.ok(e instanceof errors.BadRequestError, e.constructor.name);
    assert.match(e.message, /`documents` is empty/);
    assert.equal(mock.callsTo("co-a").length, 0);
  });

  it("a chat-only group refuses rerank with a clear error", T, async () => {
    const router = new Router({
      model_list: [
        {
          model_name: "chat",
          litellm_params: {
            model: "openai/gpt-4o-mini",
            api_base: mock.base("o"),
            api_key: "sk-o",
          },
        },
      ],
    });
    const e = await rejection(router.rerank({ model: "chat", query: QUERY, documents: DOCS }));
    assert.ok(e instanceof errors.BadRequestError, e.constructor.name);
    assert.match(e.message, /rerank/);
    assert.equal(mock.callsTo("o").length, 0);
  });
});

describe("rerank health probe", () => {
  it(
    "a mode: rerank deployment is probed with one document; a down one is unhealthy",
    T,
    async () => {
      mock.mode("co-b", { kind: "down", error: "auth" });
      const router = new Router({
        model_list: [
          { ...cohere("rerank", "co-a"), model_info: { id: "co-a", mode: "rerank" } },
          { ...cohere("rerank", "co-b"), model_info: { id: "co-b", mode: "rerank" } },
        ],
      });
      const report = await router.healthCheck();
      assert.deepEqual(
        report.healthy_endpoints.map((e) => e.model_id),
        ["co-a"],
      );
      assert.deepEqual(
        report.unhealthy_endpoints.map((e) => e.model_id),
        ["co-b"],
      );
      assert.match(report.unhealthy_endpoints[0].error, /^AuthenticationError: /);
      const [probe] = mock.callsTo("co-a");
      assert.equal(probe.path, "/co-a/v2/rerank");
      assert.deepEqual(probe.body.documents, ["ping"]);
      assert.equal(probe.body.top_n, 1);
    },
  );
});

describe("POST /v1/rerank (router.fetch)", () => {
  const gatewayRouter = () =>
    new Router({
      model_list: [
        cohere("rerank", "co-a"),
        {
          model_name: "chat",
          litellm_params: { model: "openai/mock-c", api_base: mock.base("c"), api_key: "sk-c" },
        },
      ],
      gateway: { master_key: MASTER, keys: { [SCOPED]: { models: ["rerank"] } } },
    });
  const post = (router, path, key, body) =>
    router.fetch(
      new Request(`http://gateway.test${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
    );

  it("a key scoped to the rerank group reranks, on /v1/rerank and /v2/rerank", T, async () => {
    const router = gatewayRouter();
    for (const path of ["/v1/rerank", "/v2/rerank", "/rerank"]) {
      const res = await post(router, path, SCOPED, {
        model: "rerank",
        query: QUERY,
        documents: DOCS,
        top_n: 1,
      });
      assert.equal(res.status, 200, path);
      const body = await res.json();
      assert.deepEqual(
        body.results.map((r) => r.index),
        [1],
      );
      assert.equal(body.meta.billed_units.search_units, 1);
      assert.equal(res.headers.get("x-litellm-model-id"), "co-a");
    }
    assert.equal(mock.callsTo("co-a").length, 3);
  });

  it("the scoped key may not rerank on (or call) another group", T, async () => {
    const router = gatewayRouter();
    const res = await post(router, "/v1/rerank", SCOPED, {
      model: "chat",
      query: QUERY,
      documents: DOCS,
    });
    assert.ok(res.status === 401 || res.status === 403, String(res.status));
    assert.equal(mock.calls.length, 0);
  });

  it("a bad rerank body is a 400 in OpenAI's error shape", T, async () => {
    const router = gatewayRouter();
    const res = await post(router, "/v1/rerank", MASTER, { model: "rerank", documents: DOCS });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.match(body.error.message, /`query` is required/);
  });
});
