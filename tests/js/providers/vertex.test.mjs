// The vertex_ai provider end to end: a real RSA service-account key, the router's WebCrypto
// signer and the loopback mock as both Google's token endpoint ("oauth") and Vertex AI
// ("vertex"), scripted with the real payloads of tests/fixtures/vertex. Checks the signed JWT
// (verified with the public key), the bearer token on generateContent / rawPredict / predict,
// the token cache and its single flight, priced OpenAI results and error classes.
import assert from "node:assert/strict";
import { generateKeyPairSync, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, beforeEach, describe, it } from "node:test";

import { Router, errors } from "../../../js/node.js";
import { startMockServer } from "../../mock/server.mjs";

const T = { timeout: 15_000 };
const PROJECT = "llmux-test-project";
const TOKEN = "ya29.test";
// Bundled LiteLLM prices (USD per token) of vertex_ai gemini-2.5-flash and Claude Sonnet 4.5.
const GEMINI_PRICE = { input: 3e-7, output: 2.5e-6 };
const CLAUDE_PRICE = { input: 3e-6, output: 1.5e-5 };

/** @param {string} name under tests/fixtures/vertex */
const fixture = (name) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/vertex/${name}`, import.meta.url), "utf8"));

const { privateKey, publicKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

let accounts = 0;
/**
 * A service account of its own for each test: tokens are cached per account (client_email +
 * token_uri) for the life of the wasm instance, so tests must not share one.
 */
function serviceAccount() {
  accounts += 1;
  return {
    ...fixture("service_account.json"),
    private_key: privateKey,
    client_email: `e2e-${accounts}@${PROJECT}.iam.gserviceaccount.com`,
    token_uri: `${mock.url}/oauth/token`,
  };
}

/** A Router whose group "vertex-chat" is one vertex_ai deployment ("vx-a") on the mock. */
function vertexRouter(model, params = {}) {
  return new Router({
    model_list: [
      {
        model_name: "vertex-chat",
        litellm_params: {
          model: `vertex_ai/${model}`,
          vertex_location: "us-central1",
          api_base: `${mock.url}/vertex`,
          ...params,
        },
        model_info: { id: "vx-a" },
      },
    ],
    num_retries: 0,
  });
}

const scriptToken = () =>
  mock.script("oauth", { body: { access_token: TOKEN, expires_in: 3600, token_type: "Bearer" } });

/** The error `promise` rejects with. */
async function rejection(promise) {
  try {
    const value = await promise;
    assert.fail(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    return e;
  }
}

const close = (a, b) => Math.abs(a - b) <= 1e-15 + 1e-9 * Math.abs(b);
const modelPath = (publisher, model, method) =>
  `/vertex/v1/projects/${PROJECT}/locations/us-central1/publishers/${publisher}/models/${model}:${method}`;
const chat = (model = "vertex-chat") => ({
  ...fixture("gemini_chat_request.json"),
  model,
});

describe("vertex_ai provider", () => {
  it(
    "a completion exchanges a JWT signed with the service-account key, then posts generateContent with the bearer token",
    T,
    async () => {
      const sa = serviceAccount();
      scriptToken();
      mock.script("vertex", { status: 200, body: fixture("gemini_response.json") });
      const router = vertexRouter("gemini-2.5-flash", { vertex_credentials: JSON.stringify(sa) });
      const before = Math.floor(Date.now() / 1000);
      const res = await router.completion(chat());

      const tokenCalls = mock.callsTo("oauth");
      assert.equal(tokenCalls.length, 1);
      const tokenCall = tokenCalls[0];
      assert.equal(tokenCall.method, "POST");
      assert.equal(tokenCall.path, "/oauth/token");
      assert.match(tokenCall.headers["content-type"], /^application\/x-www-form-urlencoded/);
      const form = new URLSearchParams(tokenCall.body);
      assert.equal(form.get("grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
      const [header, claims, signature] = form.get("assertion").split(".");
      const signed = verify(
        "RSA-SHA256",
        Buffer.from(`${header}.${claims}`),
        publicKey,
        Buffer.from(signature, "base64url"),
      );
      assert.ok(signed, "the JWT signature verifies with the service account's public key");
      const decode = (s) => JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
      assert.deepEqual(decode(header), { alg: "RS256", typ: "JWT" });
      const c = decode(claims);
      assert.equal(c.iss, sa.client_email);
      assert.equal(c.scope, "https://www.googleapis.com/auth/cloud-platform");
      assert.equal(c.aud, sa.token_uri);
      assert.ok(c.iat >= before - 1 && c.iat <= before + 5, `iat ${c.iat}`);
      assert.equal(c.exp - c.iat, 3600);

      const calls = mock.callsTo("vertex");
      assert.equal(calls.length, 1);
      assert.equal(calls[0].path, modelPath("google", "gemini-2.5-flash", "generateContent"));
      assert.equal(calls[0].headers.authorization, `Bearer ${TOKEN}`);
      assert.deepEqual(calls[0].body, fixture("gemini_chat_request.expected.json"));

      assert.deepEqual(JSON.parse(JSON.stringify(res)), fixture("gemini_response.expected.json"));
      const hidden = res._hidden_params;
      assert.equal(hidden.custom_llm_provider, "vertex_ai");
      assert.equal(hidden.model_id, "vx-a");
      const want = 14 * GEMINI_PRICE.input + 26 * GEMINI_PRICE.output;
      assert.ok(close(hidden.response_cost, want), `cost ${hidden.response_cost} != ${want}`);
    },
  );

  it("the access token is cached: a second completion makes no second exchange", T, async () => {
    scriptToken();
    mock.script(
      "vertex",
      { status: 200, body: fixture("gemini_response.json") },
      { status: 200, body: fixture("gemini_response.json") },
    );
    const router = vertexRouter("gemini-2.5-flash", {
      vertex_credentials: JSON.stringify(serviceAccount()),
    });
    await router.completion(chat());
    await router.completion(chat());
    assert.equal(mock.callsTo("oauth").length, 1);
    const calls = mock.callsTo("vertex");
    assert.equal(calls.length, 2);
    assert.ok(calls.every((c) => c.headers.authorization === `Bearer ${TOKEN}`));
  });

  it("five concurrent completions cause exactly one token exchange", T, async () => {
    mock.script("oauth", {
      delay_ms: 50,
      body: { access_token: TOKEN, expires_in: 3600, token_type: "Bearer" },
    });
    for (let i = 0; i < 5; i += 1) {
      mock.script("vertex", { status: 200, body: fixture("gemini_response.json") });
    }
    const router = vertexRouter("gemini-2.5-flash", {
      vertex_credentials: JSON.stringify(serviceAccount()),
    });
    const results = await Promise.all(Array.from({ length: 5 }, () => router.completion(chat())));
    assert.equal(results.length, 5);
    assert.ok(results.every((r) => r.choices[0].message.content === "Paris."));
    assert.equal(mock.callsTo("oauth").length, 1);
    assert.equal(mock.callsTo("vertex").length, 5);
  });

  it(
    "a Claude model posts rawPredict with anthropic_version and returns a priced chat.completion",
    T,
    async () => {
      scriptToken();
      mock.script("vertex", { status: 200, body: fixture("claude_response.json") });
      const router = vertexRouter("claude-sonnet-4-5@20250929", {
        vertex_credentials: JSON.stringify(serviceAccount()),
      });
      const res = await router.completion({
        ...fixture("claude_chat_request.json"),
        model: "vertex-chat",
      });

      const [call] = mock.callsTo("vertex");
      assert.equal(call.path, modelPath("anthropic", "claude-sonnet-4-5@20250929", "rawPredict"));
      assert.equal(call.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(call.headers["x-api-key"], undefined);
      assert.deepEqual(call.body, fixture("claude_chat_request.expected.json"));

      const expected = fixture("claude_response.expected.json");
      // Claude reports no creation time: the router stamps its clock (Unix seconds).
      assert.ok(Math.abs(res.created - Date.now() / 1000) <= 5, `created ${res.created}`);
      assert.deepEqual(JSON.parse(JSON.stringify(res)), { ...expected, created: res.created });
      assert.equal(res._hidden_params.custom_llm_provider, "vertex_ai");
      const want = 21 * CLAUDE_PRICE.input + 5 * CLAUDE_PRICE.output;
      const cost = res._hidden_params.response_cost;
      assert.ok(close(cost, want), `cost ${cost} != ${want}`);
    },
  );

  it("embeddings post predict with one instance per input and return the vectors", T, async () => {
    scriptToken();
    mock.script("vertex", { status: 200, body: fixture("embedding_response.json") });
    const router = vertexRouter("text-embedding-005", {
      vertex_credentials: JSON.stringify(serviceAccount()),
    });
    const res = await router.embedding({
      ...fixture("embedding_request.json"),
      model: "vertex-chat",
    });

    const [call] = mock.callsTo("vertex");
    assert.equal(call.path, modelPath("google", "text-embedding-005", "predict"));
    assert.equal(call.headers.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(call.body, fixture("embedding_request.expected.json"));
    assert.deepEqual(JSON.parse(JSON.stringify(res)), fixture("embedding_response.expected.json"));
    assert.equal(res._hidden_params.custom_llm_provider, "vertex_ai");
    // Priced per token, as LiteLLM prices Vertex embeddings: 4 + 5 tokens at 1e-7.
    assert.ok(close(res._hidden_params.response_cost, 9e-7), `${res._hidden_params.response_cost}`);
  });

  it(
    "a rejected token exchange is an AuthenticationError with the endpoint's message and no model call",
    T,
    async () => {
      mock.script("oauth", { status: 400, body: fixture("token_error_invalid_grant.json") });
      const router = vertexRouter("gemini-2.5-flash", {
        vertex_credentials: JSON.stringify(serviceAccount()),
      });
      const err = await rejection(router.completion(chat()));
      assert.ok(err instanceof errors.AuthenticationError, `${err?.name}: ${err?.message}`);
      assert.equal(err.status, 401);
      assert.match(err.message, /invalid_grant: Invalid JWT Signature\./);
      assert.doesNotMatch(err.message, /PRIVATE KEY/);
      assert.equal(mock.callsTo("vertex").length, 0);
    },
  );

  it("Vertex's 429 RESOURCE_EXHAUSTED body is a RateLimitError", T, async () => {
    scriptToken();
    mock.script("vertex", { status: 429, body: fixture("error_resource_exhausted.json") });
    const router = vertexRouter("gemini-2.5-flash", {
      vertex_credentials: JSON.stringify(serviceAccount()),
    });
    const err = await rejection(router.completion(chat()));
    assert.ok(err instanceof errors.RateLimitError, `${err?.name}: ${err?.message}`);
    assert.equal(err.status, 429);
    assert.equal(err.llm_provider, "vertex_ai");
  });

  it(
    "without credentials, api_key is sent as the bearer token and no exchange happens",
    T,
    async () => {
      mock.script("vertex", { status: 200, body: fixture("gemini_response.json") });
      const router = vertexRouter("gemini-2.5-flash", {
        vertex_project: PROJECT,
        api_key: "ya29.from-gcloud",
      });
      const res = await router.completion(chat());
      assert.equal(res.choices[0].message.content, "Paris.");
      assert.equal(mock.callsTo("oauth").length, 0);
      assert.equal(mock.callsTo("vertex")[0].headers.authorization, "Bearer ya29.from-gcloud");
    },
  );

  it("a deployment with neither credentials nor api_key is a ConfigError", T, () => {
    assert.throws(
      () => vertexRouter("gemini-2.5-flash", { vertex_project: PROJECT }),
      (e) =>
        e instanceof errors.ConfigError &&
        e.field === "model_list[0].litellm_params" &&
        /vertex_credentials/.test(e.message),
    );
  });

  it("getDeployments redacts vertex_credentials", T, () => {
    const router = vertexRouter("gemini-2.5-flash", {
      vertex_credentials: JSON.stringify(serviceAccount()),
    });
    const [d] = router.getDeployments();
    assert.equal(d.litellm_params.vertex_credentials, "***");
    assert.doesNotMatch(JSON.stringify(d), /PRIVATE KEY/);
  });
  it(
    "a Gemini model streams through streamGenerateContent?alt=sse with the bearer token",
    T,
    async () => {
      const sse = readFileSync(
        new URL("../../fixtures/vertex/stream/gemini_text.sse", import.meta.url),
        "utf8",
      );
      mock.script("vertex", { sse: sse.split(/(?<=\n\n)/), done: false });
      const router = vertexRouter("gemini-2.5-flash", { vertex_project: PROJECT, api_key: TOKEN });
      const stream = await router.completion({ ...chat(), stream: true });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);

      const [call] = mock.callsTo("vertex");
      assert.equal(call.path, modelPath("google", "gemini-2.5-flash", "streamGenerateContent"));
      assert.deepEqual(call.query, { alt: "sse" });
      assert.equal(call.headers.authorization, `Bearer ${TOKEN}`);
      assert.deepEqual(call.body, fixture("gemini_chat_request.expected.json"));
      const expected = fixture("stream/gemini_text.chunks.json");
      assert.deepEqual(
        chunks.map(({ created, ...c }) => c),
        expected.slice(0, -1).map(({ created, ...c }) => c),
        "the usage chunk is dropped when include_usage is not set",
      );
    },
  );

  it(
    "a Claude model streams streamRawPredict as Anthropic SSE, with the deployment's model",
    T,
    async () => {
      const sse = readFileSync(
        new URL("../../fixtures/anthropic/stream/text.sse", import.meta.url),
        "utf8",
      );
      mock.script("vertex", { sse: sse.split(/(?<=\n\n)/), done: false });
      const router = vertexRouter("claude-sonnet-4-5@20250929", {
        vertex_project: PROJECT,
        api_key: TOKEN,
      });
      const stream = await router.completion({
        model: "vertex-chat",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 100,
        stream: true,
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      const [call] = mock.callsTo("vertex");
      assert.equal(
        call.path,
        modelPath("anthropic", "claude-sonnet-4-5@20250929", "streamRawPredict"),
      );
      assert.equal(call.body.stream, true);
      assert.equal(call.body.anthropic_version, "vertex-2023-10-16");
      const want = fixture("../anthropic/stream/text.chunks.json").slice(0, -1);
      assert.deepEqual(
        chunks.map(({ created, model, ...c }) => c),
        want.map(({ created, model, ...c }) => c),
      );
      assert.ok(chunks.every((c) => c.model === "claude-sonnet-4-5@20250929"));
    },
  );
});
