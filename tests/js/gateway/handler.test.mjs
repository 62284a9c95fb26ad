// router.fetch called directly with web Requests (Node): configuration, authentication, keys
// from the request's `env`, virtual keys and their models, refused fields, body limits, routes,
// prefix, CORS, error mapping, `ctx.waitUntil`, and the SSE route over a stream object.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { handleFetch, parseGateway } from "../../../js/gateway.js";
import { Router, T, deployment, errors, startMockServer } from "../node/fixture.mjs";

const MASTER = "sk-master-unit-0123456789";
const TEAM = "sk-team-a-unit";
const messages = [{ role: "user", content: "hi" }];

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

/** A Router over mock deployments `a` (group chat) and `b` (group other), plus `gateway`. */
function gatewayRouter(gateway, options = {}) {
  return new Router({
    model_list: [deployment(mock, "chat", "a"), deployment(mock, "other", "b")],
    gateway,
    ...options,
  });
}

/** router.fetch on `path` with a JSON body (when given) and the key (when given). */
function call(router, path, { key, body, method, headers = {}, env, ctx } = {}) {
  const h = { ...headers };
  if (key !== undefined) h.authorization = `Bearer ${key}`;
  if (body !== undefined) h["content-type"] ??= "application/json";
  const init = {
    method: method ?? (body === undefined ? "GET" : "POST"),
    headers: h,
    body: typeof body === "string" || body === undefined ? body : JSON.stringify(body),
  };
  return router.fetch(new Request(`http://gateway.test${path}`, init), env, ctx);
}

async function errorOf(res, status) {
  assert.equal(res.status, status);
  assert.match(res.headers.get("content-type"), /^application\/json/);
  const body = await res.json();
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  return body.error;
}

describe("gateway option", () => {
  const field = (gateway) => {
    try {
      new Router({ model_list: [], gateway });
    } catch (e) {
      assert.ok(e instanceof errors.ConfigError, String(e));
      return e.field;
    }
    assert.fail("expected a ConfigError");
  };

  it("invalid values -> ConfigError naming gateway.<field>; keys are named by position", () => {
    assert.equal(field("yes"), "gateway");
    assert.equal(field({ master_key: "" }), "gateway.master_key");
    assert.equal(field({ master_key: 42 }), "gateway.master_key");
    assert.equal(field({ master_key: "os.environ/" }), "gateway.master_key");
    assert.equal(field({ keys: [] }), "gateway.keys");
    assert.equal(
      field({ keys: { a: { models: ["x"] }, "sk-secret": {} } }),
      "gateway.keys[1].models",
    );
    assert.equal(field({ keys: { "sk-secret": { models: [1] } } }), "gateway.keys[0].models");
    assert.equal(
      field({ keys: { "sk-secret": { models: [], budget: 1 } } }),
      "gateway.keys[0].budget",
    );
    assert.equal(field({ max_body_bytes: 0 }), "gateway.max_body_bytes");
    assert.equal(field({ max_body_bytes: 1.5 }), "gateway.max_body_bytes");
    assert.equal(field({ prefix: "llm" }), "gateway.prefix");
    assert.equal(field({ cors: 1 }), "gateway.cors");
    assert.equal(field({ cors: [] }), "gateway.cors");
    assert.equal(field({ open: true }), "gateway.open");
  });

  it("a key never appears in a ConfigError message", () => {
    try {
      new Router({ model_list: [], gateway: { keys: { "sk-very-secret-key": { models: "x" } } } });
      assert.fail("expected a ConfigError");
    } catch (e) {
      assert.ok(!e.message.includes("sk-very-secret-key"), e.message);
    }
  });

  it("the gateway option is not passed to the core (any valid value is accepted)", () => {
    const r = gatewayRouter({
      master_key: MASTER,
      max_body_bytes: 10,
      prefix: "/llm/",
      cors: true,
    });
    assert.deepEqual(r.getModelNames(), ["chat", "other"]);
  });
});

describe("authentication", () => {
  it(
    "without gateway, master_key or keys every request is a 401, /health included",
    T,
    async () => {
      for (const r of [
        gatewayRouter(undefined),
        gatewayRouter({}),
        gatewayRouter({ cors: true }),
      ]) {
        for (const [path, body] of [
          ["/health", undefined],
          ["/v1/models", undefined],
          ["/v1/chat/completions", { model: "chat", messages }],
        ]) {
          const e = await errorOf(await call(r, path, { key: "anything", body }), 401);
          assert.equal(e.code, "invalid_api_key");
        }
      }
      assert.equal(mock.calls.length, 0);
    },
  );

  it(
    "master_key from Authorization: Bearer or api-key; wrong/missing/malformed -> 401",
    T,
    async () => {
      const r = gatewayRouter({ master_key: MASTER });
      assert.equal((await call(r, "/v1/models", { key: MASTER })).status, 200);
      assert.equal((await call(r, "/v1/models", { headers: { "api-key": MASTER } })).status, 200);
      for (const headers of [
        {},
        { authorization: `Bearer ${MASTER}x` },
        { authorization: `Bearer ${MASTER.slice(0, -1)}` },
        { authorization: MASTER },
        { authorization: `Basic ${MASTER}` },
        { "api-key": "nope" },
      ]) {
        const e = await errorOf(await call(r, "/v1/models", { headers }), 401);
        assert.equal(e.type, "authentication_error");
        assert.ok(!JSON.stringify(e).includes(MASTER));
      }
    },
  );

  it(
    '"os.environ/NAME" keys resolve from router.fetch\'s env, then the env option',
    T,
    async () => {
      const warned = [];
      const logger = { debug() {}, info() {}, warn: (line) => warned.push(line), error() {} };
      const r = gatewayRouter({ master_key: "os.environ/GW_MASTER" }, { logger });
      assert.equal((await call(r, "/v1/models", { key: MASTER })).status, 401, "not set anywhere");
      assert.equal((await call(r, "/v1/models", { key: MASTER })).status, 401);
      assert.deepEqual(warned, [
        "router.fetch: os.environ/GW_MASTER is not set; that gateway key accepts no request",
      ]);
      const env = { GW_MASTER: MASTER };
      assert.equal((await call(r, "/v1/models", { key: MASTER, env })).status, 200);
      const withOption = gatewayRouter(
        { master_key: "os.environ/GW_MASTER" },
        { env: { GW_MASTER: "sk-from-option" } },
      );
      assert.equal((await call(withOption, "/v1/models", { key: "sk-from-option" })).status, 200);
      assert.equal(
        (await call(withOption, "/v1/models", { key: MASTER, env })).status,
        200,
        "the request's env wins",
      );
    },
  );

  it("a virtual key reaches its models only: others 403, /v1/models filtered", T, async () => {
    const r = gatewayRouter({ master_key: MASTER, keys: { [TEAM]: { models: ["chat"] } } });
    const ok = await call(r, "/v1/chat/completions", {
      key: TEAM,
      body: { model: "chat", messages },
    });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).choices[0].message.content, "Hello from a");
    const e = await errorOf(
      await call(r, "/v1/chat/completions", { key: TEAM, body: { model: "other", messages } }),
      403,
    );
    assert.equal(e.code, "model_not_allowed");
    assert.equal(e.type, "permission_error");
    const list = await (await call(r, "/v1/models", { key: TEAM })).json();
    assert.deepEqual(
      list.data.map((m) => m.id),
      ["chat"],
    );
    const all = await (await call(r, "/v1/models", { key: MASTER })).json();
    assert.deepEqual(
      all.data.map((m) => m.id),
      ["chat", "other"],
    );
    assert.equal((await call(r, "/v1/models/other", { key: TEAM })).status, 404);
    assert.equal((await call(r, "/v1/models/chat", { key: TEAM })).status, 200);
    assert.equal(mock.callsTo("a").length, 1);
    assert.equal(mock.callsTo("b").length, 0);
  });

  it("a virtual key may not name other groups in per-request fallbacks", T, async () => {
    const r = gatewayRouter({ keys: { [TEAM]: { models: ["chat"] } } });
    for (const fallbacks of [["other"], [{ chat: ["other"] }]]) {
      const e = await errorOf(
        await call(r, "/chat/completions", {
          key: TEAM,
          body: { model: "chat", messages, fallbacks },
        }),
        403,
      );
      assert.equal(e.param, "fallbacks");
    }
    const star = gatewayRouter({ keys: { [TEAM]: { models: ["*"] } } });
    const res = await call(star, "/chat/completions", {
      key: TEAM,
      body: { model: "other", messages },
    });
    assert.equal(res.status, 200);
    assert.equal(mock.callsTo("a").length, 0);
    assert.equal(mock.callsTo("b").length, 1);
  });

  it("aliases are routable and listed unless hidden", T, async () => {
    const r = gatewayRouter(
      { master_key: MASTER },
      { model_group_alias: { "gpt-4o": "chat", secret: { model: "other", hidden: true } } },
    );
    const ids = (await (await call(r, "/v1/models", { key: MASTER })).json()).data.map((m) => m.id);
    assert.deepEqual(ids, ["chat", "other", "gpt-4o"]);
    const res = await call(r, "/v1/chat/completions", {
      key: MASTER,
      body: { model: "secret", messages },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-litellm-model-id"), "b");
  });
});

describe("requests", () => {
  const r = () => gatewayRouter({ master_key: MASTER, max_body_bytes: 4096 });

  it("every credential, endpoint, provider or pricing field is refused with a 400", T, async () => {
    const router = r();
    for (const field of [
      "api_key",
      "api_base",
      "base_url",
      "api_version",
      "organization",
      "headers",
      "extra_headers",
      "custom_llm_provider",
      "aws_access_key_id",
      "aws_region_name",
      "aws_bedrock_runtime_endpoint",
      "vertex_credentials",
      "vertex_project",
      "azure_ad_token",
      "mock_response",
      "input_cost_per_token",
      "cost_per_second",
      "input_cost_per_second",
      "specific_deployment",
      "model_list",
    ]) {
      const e = await errorOf(
        await call(router, "/v1/chat/completions", {
          key: MASTER,
          body: { model: "chat", messages, [field]: "http://127.0.0.1:9/x" },
        }),
        400,
      );
      assert.equal(e.param, field);
      assert.equal(e.code, "forbidden_parameter");
    }
    assert.equal(mock.calls.length, 0);
  });

  it("bodies over max_body_bytes -> 413, by content-length or while streaming in", T, async () => {
    const router = r();
    const big = { model: "chat", messages: [{ role: "user", content: "x".repeat(5000) }] };
    const e = await errorOf(
      await call(router, "/v1/chat/completions", { key: MASTER, body: big }),
      413,
    );
    assert.equal(e.code, "request_too_large");
    const bytes = new TextEncoder().encode(JSON.stringify(big));
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < bytes.length; i += 1000) c.enqueue(bytes.subarray(i, i + 1000));
        c.close();
      },
    });
    const req = new Request("http://gateway.test/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER}` },
      body: chunked,
      duplex: "half",
    });
    assert.equal(req.headers.get("content-length"), null);
    await errorOf(await router.fetch(req), 413);
    assert.equal(mock.calls.length, 0);
  });

  it("bad JSON, a non-object body or no model -> 400; unknown model -> 404", T, async () => {
    const router = r();
    await errorOf(await call(router, "/v1/embeddings", { key: MASTER, body: "{nope" }), 400);
    await errorOf(await call(router, "/v1/embeddings", { key: MASTER, body: "[1]" }), 400);
    const e = await errorOf(await call(router, "/v1/embeddings", { key: MASTER, body: {} }), 400);
    assert.equal(e.param, "model");
    const nf = await errorOf(
      await call(router, "/v1/chat/completions", {
        key: MASTER,
        body: { model: "nope", messages },
      }),
      404,
    );
    assert.equal(nf.code, "model_not_found");
    assert.equal(mock.calls.length, 0);
  });

  it("routes with and without /v1, under a prefix; 404 and 405 otherwise", T, async () => {
    const router = gatewayRouter({ master_key: MASTER, prefix: "/llm/" });
    for (const path of ["/llm/v1/chat/completions", "/llm/chat/completions"]) {
      const res = await call(router, path, { key: MASTER, body: { model: "chat", messages } });
      assert.equal(res.status, 200, path);
    }
    assert.equal((await call(router, "/llm/v1/models/", { key: MASTER })).status, 200);
    await errorOf(await call(router, "/v1/models", { key: MASTER }), 404);
    await errorOf(await call(router, "/llm/v1/assistants", { key: MASTER }), 404);
    // /files is a route now (GET lists; without a model group named, a 400).
    assert.equal(
      (await errorOf(await call(router, "/llm/v1/files", { key: MASTER }), 400)).param,
      "model",
    );
    const res = await call(router, "/llm/v1/chat/completions", { key: MASTER });
    assert.equal((await errorOf(res, 405)).code, "method_not_allowed");
    assert.equal(res.headers.get("allow"), "POST");
    assert.equal((await call(router, "/llm/health")).status, 200);
    assert.equal(mock.callsTo("a").length, 2);
  });

  it(
    "/health and /health/readiness answer without a key (counts only with one); 503 when all cool down",
    T,
    async () => {
      const router = new Router({
        model_list: [deployment(mock, "chat", "a"), deployment(mock, "chat", "b")],
        gateway: { master_key: MASTER },
        num_retries: 0,
        allowed_fails: 0,
        cooldown_time: 60,
      });
      assert.deepEqual(await (await call(router, "/health")).json(), { status: "healthy" });
      let res = await call(router, "/health/readiness");
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: "ready" });
      res = await call(router, "/health/readiness", { key: MASTER });
      assert.deepEqual(await res.json(), { status: "ready", deployments: 2, available: 2 });
      mock.script("a", { error: "rate_limit" });
      mock.script("b", { error: "rate_limit" });
      for (let i = 0; i < 2; i++)
        await call(router, "/v1/chat/completions", {
          key: MASTER,
          body: { model: "chat", messages },
        });
      res = await call(router, "/health/readiness");
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { status: "not ready" });
      res = await call(router, "/health/readiness", { key: MASTER });
      assert.deepEqual(await res.json(), { status: "not ready", deployments: 2, available: 0 });
    },
  );

  it("embeddings, images, moderations and completions reach their Router methods", T, async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "emb", "e", {}, { mode: "embedding" }),
        deployment(mock, "img", "i", {}, { mode: "image_generation" }),
        deployment(mock, "mod", "m", {}, { mode: "moderation" }),
        deployment(mock, "txt", "t", {}, { mode: "completion" }),
      ],
      gateway: { master_key: MASTER },
    });
    const emb = await call(router, "/embeddings", {
      key: MASTER,
      body: { model: "emb", input: "x" },
    });
    assert.equal((await emb.json()).object, "list");
    mock.script("i", { body: { created: 1, data: [{ url: "https://img.test/1.png" }] } });
    const img = await call(router, "/images/generations", {
      key: MASTER,
      body: { model: "img", prompt: "x" },
    });
    assert.equal((await img.json()).data[0].url, "https://img.test/1.png");
    mock.script("m", { body: { id: "modr", model: "m", results: [{ flagged: false }] } });
    const mod = await call(router, "/moderations", {
      key: MASTER,
      body: { model: "mod", input: "x" },
    });
    assert.equal((await mod.json()).results[0].flagged, false);
    const txt = await call(router, "/completions", {
      key: MASTER,
      body: { model: "txt", prompt: "x" },
    });
    assert.equal((await txt.json()).object, "text_completion");
    assert.deepEqual(
      mock.calls.map((c) => c.path),
      ["/e/v1/embeddings", "/i/v1/images/generations", "/m/v1/moderations", "/t/v1/completions"],
    );
  });

  it(
    "transcription: multipart in, refused form fields, text formats come back as text",
    T,
    async () => {
      const router = new Router({
        model_list: [
          deployment(
            mock,
            "stt",
            "w",
            { model: "openai/whisper-1" },
            { mode: "audio_transcription" },
          ),
        ],
        gateway: { master_key: MASTER },
      });
      const form = (fields) => {
        const f = new FormData();
        f.set("file", new File([new Uint8Array([82, 73, 70, 70, 0, 0, 0, 0])], "a.wav"));
        for (const [k, v] of fields) f.append(k, v);
        return f;
      };
      const post = (body) =>
        router.fetch(
          new Request("http://gateway.test/v1/audio/transcriptions", {
            method: "POST",
            headers: { authorization: `Bearer ${MASTER}` },
            body,
          }),
        );
      mock.script("w", {
        status: 200,
        headers: { "content-type": "text/plain" },
        body_raw: "words",
      });
      const res = await post(
        form([
          ["model", "stt"],
          ["response_format", "text"],
          ["timestamp_granularities[]", "word"],
          ["timestamp_granularities[]", "segment"],
        ]),
      );
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type"), /^text\/plain/);
      assert.equal(await res.text(), "words");
      const sent = String(mock.callsTo("w")[0].body);
      assert.match(sent, /name="timestamp_granularities\[\]"\r\n\r\nword\r\n/);
      assert.match(sent, /name="timestamp_granularities\[\]"\r\n\r\nsegment\r\n/);
      const e = await errorOf(
        await post(
          form([
            ["model", "stt"],
            ["api_base", "http://x"],
          ]),
        ),
        400,
      );
      assert.equal(e.param, "api_base");
      await errorOf(
        await call(router, "/v1/audio/transcriptions", { key: MASTER, body: { model: "stt" } }),
        400,
      );
      assert.equal(mock.callsTo("w").length, 1);
    },
  );

  it("upstream errors keep their status with OpenAI's error types and codes", T, async () => {
    const router = gatewayRouter({ master_key: MASTER }, { num_retries: 0 });
    const cases = [
      ["context_window", 400, "invalid_request_error", "context_length_exceeded"],
      ["content_policy", 400, "invalid_request_error", "content_policy_violation"],
      ["rate_limit", 429, "rate_limit_error", null],
      ["server", 500, "server_error", null],
      ["unavailable", 503, "server_error", null],
    ];
    for (const [kind, status, type, code] of cases) {
      mock.script("a", { error: kind });
      const e = await errorOf(
        await call(router, "/v1/chat/completions", {
          key: MASTER,
          body: { model: "chat", messages },
        }),
        status,
      );
      assert.equal(e.type, type, kind);
      assert.equal(e.code, code, kind);
      assert.ok(!e.message.includes("sk-test-a"), "the upstream key is scrubbed");
    }
  });

  it("response headers: call id, deployment, cost, retries, attempts, provider", T, async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "chat", "a", { weight: 1 }),
        deployment(mock, "chat", "b", { weight: 0 }),
      ],
      gateway: { master_key: MASTER },
    });
    mock.script("a", { error: "server" });
    const res = await call(router, "/v1/chat/completions", {
      key: MASTER,
      body: { model: "chat", messages },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-litellm-model-id"), "b");
    assert.equal(res.headers.get("x-litellm-model-group"), "chat");
    assert.equal(res.headers.get("x-litellm-attempted-retries"), "1");
    assert.equal(res.headers.get("x-llmux-attempts"), "2");
    assert.equal(res.headers.get("x-llmux-provider"), "openai");
    assert.ok(Number(res.headers.get("x-litellm-response-duration-ms")) >= 0);
    assert.equal(res.headers.get("x-litellm-response-cost"), null, "mock-b has no price");
    const body = await res.json();
    assert.ok(!("_hidden_params" in body));
  });
});

describe("CORS", () => {
  const preflight = (router, origin) =>
    router.fetch(
      new Request("http://gateway.test/v1/chat/completions", {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      }),
    );

  it(
    "off by default: no CORS headers, a preflight is refused like any keyless request",
    T,
    async () => {
      const router = gatewayRouter({ master_key: MASTER });
      const res = await preflight(router, "https://app.test");
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("access-control-allow-origin"), null);
      const get = await call(router, "/v1/models", {
        key: MASTER,
        headers: { origin: "https://app.test" },
      });
      assert.equal(get.headers.get("access-control-allow-origin"), null);
    },
  );

  it(
    "an origin list: preflight 204 for listed origins, exposed headers, nothing for others",
    T,
    async () => {
      const router = gatewayRouter({ master_key: MASTER, cors: ["https://app.test"] });
      const res = await preflight(router, "https://app.test");
      assert.equal(res.status, 204);
      assert.equal(res.headers.get("access-control-allow-origin"), "https://app.test");
      assert.match(res.headers.get("access-control-allow-methods"), /POST/);
      assert.equal(res.headers.get("access-control-allow-headers"), "authorization, content-type");
      const get = await call(router, "/v1/models", {
        key: MASTER,
        headers: { origin: "https://app.test" },
      });
      assert.equal(get.headers.get("access-control-allow-origin"), "https://app.test");
      assert.match(get.headers.get("access-control-expose-headers"), /x-litellm-model-id/);
      const other = await preflight(router, "https://evil.test");
      assert.equal(other.status, 401);
      assert.equal(other.headers.get("access-control-allow-origin"), null);
      const any = gatewayRouter({ master_key: MASTER, cors: true });
      const denied = await call(any, "/v1/models", {
        key: "x",
        headers: { origin: "https://b.test" },
      });
      assert.equal(denied.status, 401);
      assert.equal(
        denied.headers.get("access-control-allow-origin"),
        "*",
        "errors are readable too",
      );
    },
  );
});

describe("post-response work and streams", () => {
  it("ctx.waitUntil receives the router's shared-state sync after the response", T, async () => {
    const router = gatewayRouter({ master_key: MASTER });
    const waited = [];
    const ctx = { waitUntil: (p) => waited.push(p) };
    let flushed = 0;
    const flushState = router.flushState.bind(router);
    router.flushState = () => {
      flushed++;
      return flushState();
    };
    const res = await call(router, "/v1/models", { key: MASTER, ctx });
    assert.equal(res.status, 200);
    assert.equal(waited.length, 1, "one promise handed to waitUntil");
    await waited[0];
    assert.equal(flushed, 1);
    // Without a ctx (Node, Deno) nothing is handed over and the response is the same.
    assert.equal((await call(router, "/v1/models", { key: MASTER })).status, 200);
    assert.equal(flushed, 1);
  });

  it("stream: true answers text/event-stream from the stream's toReadableStream()", T, async () => {
    // A stand-in with the streaming contract: the route alone, without a provider behind it.
    const sse = 'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: [DONE]\n\n';
    const seen = [];
    const fake = {
      getModelNames: () => ["chat"],
      async completion(body) {
        seen.push(body);
        return {
          _hidden_params: { model_id: "d1", model_group: "chat", attempts: 1, retries: 0 },
          toReadableStream: () => new Response(sse).body,
        };
      },
    };
    const gw = parseGateway({ master_key: MASTER }, { lookup: () => undefined, logger: null });
    const res = await handleFetch(
      fake,
      gw,
      new Request("http://gateway.test/v1/chat/completions", {
        method: "POST",
        headers: { authorization: `Bearer ${MASTER}` },
        body: JSON.stringify({ model: "chat", messages, stream: true }),
      }),
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    assert.equal(res.headers.get("x-litellm-model-id"), "d1");
    assert.equal(await res.text(), sse);
    assert.equal(seen.length, 1);
    assert.equal(seen[0].stream, true);
  });
});

describe("caller-set router options stay within the operator's", () => {
  const body = (extra) => ({ model: "chat", messages, ...extra });

  it(
    "num_retries, max_fallbacks and timeouts above the Router's are refused; lower pass",
    T,
    async () => {
      const router = gatewayRouter(
        { master_key: MASTER },
        { num_retries: 1, timeout: 30, max_fallbacks: 2 },
      );
      for (const [field, value] of [
        ["num_retries", 1000],
        ["max_fallbacks", 12],
        ["timeout", 3_000_000],
        ["request_timeout", 31],
        ["stream_timeout", 1e9],
        ["num_retries", -1],
        ["timeout", "soon"],
      ]) {
        const res = await call(router, "/v1/chat/completions", {
          key: MASTER,
          body: body({ [field]: value }),
        });
        assert.equal(res.status, 400, `${field}: ${value}`);
        const err = (await res.json()).error;
        assert.equal(err.param, field);
      }
      assert.equal(mock.calls.length, 0, "a refused request makes no upstream call");
      const ok = await call(router, "/v1/chat/completions", {
        key: MASTER,
        body: body({ num_retries: 0, timeout: 5, max_fallbacks: 1, disable_fallbacks: true }),
      });
      assert.equal(ok.status, 200);
      assert.equal(mock.callsTo("a").length, 1);
    },
  );

  it("mock_testing_fallbacks is refused through the gateway", T, async () => {
    const router = gatewayRouter({ master_key: MASTER });
    const res = await call(router, "/v1/chat/completions", {
      key: MASTER,
      body: body({ mock_testing_fallbacks: true }),
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.param, "mock_testing_fallbacks");
    assert.equal(mock.calls.length, 0);
  });
});

describe("x-litellm-call-id", () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it("names the id the call's events carry, streamed or not", T, async () => {
    const seen = [];
    const on = Object.fromEntries(
      ["start", "success", "attempt"].map((event) => [
        event,
        (e) => seen.push([event, e.id ?? e.call_id]),
      ]),
    );
    const router = gatewayRouter({ master_key: MASTER }, { on });
    const plain = await call(router, "/v1/chat/completions", {
      key: MASTER,
      body: { model: "chat", messages },
    });
    assert.equal(plain.status, 200);
    await plain.json();
    const id = plain.headers.get("x-litellm-call-id");
    assert.match(id, UUID);
    assert.ok(seen.length >= 3, JSON.stringify(seen));
    assert.deepEqual(new Set(seen.map(([, e]) => e)), new Set([id]));

    seen.length = 0;
    const streamed = await call(router, "/v1/chat/completions", {
      key: MASTER,
      body: { model: "chat", messages, stream: true },
    });
    await streamed.text();
    const streamId = streamed.headers.get("x-litellm-call-id");
    assert.match(streamId, UUID);
    assert.notEqual(streamId, id, "one id per request");
    assert.ok(seen.length >= 2, JSON.stringify(seen));
    assert.deepEqual(new Set(seen.map(([, e]) => e)), new Set([streamId]));
  });

  it("echoes the request's own litellm_call_id", T, async () => {
    const ids = [];
    const router = gatewayRouter(
      { master_key: MASTER },
      { on: { success: (e) => ids.push(e.id ?? e.call_id) } },
    );
    const res = await call(router, "/v1/chat/completions", {
      key: MASTER,
      body: { model: "chat", messages, litellm_call_id: "req-42" },
    });
    assert.equal(res.status, 200);
    await res.json();
    assert.equal(res.headers.get("x-litellm-call-id"), "req-42");
    assert.deepEqual(ids, ["req-42"]);
  });

  it("is a fresh id on a router with no listener, and on errors", T, async () => {
    const router = gatewayRouter({ master_key: MASTER });
    const ok = await call(router, "/v1/chat/completions", {
      key: MASTER,
      body: { model: "chat", messages },
    });
    await ok.json();
    assert.match(ok.headers.get("x-litellm-call-id"), UUID);
    const denied = await call(router, "/v1/chat/completions", {
      body: { model: "chat", messages },
    });
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get("x-litellm-call-id"), UUID);
  });
});
