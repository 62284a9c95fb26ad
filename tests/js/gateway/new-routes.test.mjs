// The gateway's security model on issue #18's routes, unchanged from the chat route: keys (none,
// wrong, Bearer, x-api-key with anthropic-version), model scoping (a virtual key's groups, also
// inside `fallbacks`), forbidden fields, caller limits and `max_body_bytes` — each checked on
// POST /v1/responses, /v1/messages, /v1/messages/count_tokens and /v1/rerank, with the mock
// seeing no upstream call for any refused request, and the allowed call answered by the
// deployment of the key's group. /v1/messages answers its errors in Anthropic's shape.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { Router, T, deployment, startMockServer } from "../node/fixture.mjs";

const MASTER = "sk-master-new-routes-0123";
const TEAM = "sk-team-new-routes-0123"; // may use "chat" and "rr" only
const MAX_BODY = 2048;

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

const router = () =>
  new Router({
    model_list: [
      deployment(mock, "chat", "a"),
      deployment(mock, "secret", "s"),
      {
        model_name: "rr",
        litellm_params: {
          model: "cohere/rerank-v3.5",
          api_base: `${mock.url}/co-a`,
          api_key: "co-key-co-a-0123456789",
        },
        model_info: { id: "co-a" },
      },
      {
        model_name: "rr-secret",
        litellm_params: {
          model: "cohere/rerank-v3.5",
          api_base: `${mock.url}/co-s`,
          api_key: "co-key-co-s-0123456789",
        },
        model_info: { id: "co-s" },
      },
    ],
    gateway: {
      master_key: MASTER,
      keys: { [TEAM]: { models: ["chat", "rr"] } },
      max_body_bytes: MAX_BODY,
    },
    num_retries: 0,
  });

const user = [{ role: "user", content: "hi" }];
/** route -> [a valid body for `model`, the deployment that answers the allowed group, its group]. */
const ROUTES = {
  "/v1/responses": [(model) => ({ model, input: "hi" }), "a", "chat"],
  "/v1/messages": [(model) => ({ model, max_tokens: 8, messages: user }), "a", "chat"],
  "/v1/messages/count_tokens": [(model) => ({ model, messages: user }), null, "chat"],
  "/v1/rerank": [(model) => ({ model, query: "q", documents: ["q", "x"] }), "co-a", "rr"],
};
const FOREIGN = { chat: "secret", rr: "rr-secret" };

function post(r, path, body, headers = {}) {
  return r.fetch(
    new Request(`http://gateway.test${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}
const bearer = (key) => ({ authorization: `Bearer ${key}` });

/** The error of a refused call: its status, and the message, code and type in the route's shape. */
async function refused(path, res, status) {
  assert.equal(res.status, status, `${path}: ${res.status}`);
  const body = await res.json();
  if (path.startsWith("/v1/messages")) {
    // Anthropic's error shape: { type: "error", error: { type, message } }.
    assert.equal(body.type, "error", JSON.stringify(body));
    assert.deepEqual(Object.keys(body.error).sort(), ["message", "type"]);
    return body.error;
  }
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  return body.error;
}

for (const [path, [bodyFor, answerer, group]] of Object.entries(ROUTES)) {
  describe(`gateway security on POST ${path}`, () => {
    it(
      "no key and a wrong key are 401; the master key and the scoped key are served",
      T,
      async () => {
        const r = router();
        const body = bodyFor(group);
        const none = await refused(path, await post(r, path, body), 401);
        assert.match(none.message, /missing API key/);
        const wrong = await refused(path, await post(r, path, body, bearer("sk-wrong")), 401);
        assert.match(wrong.message, /invalid API key/);
        assert.equal(mock.calls.length, 0);
        for (const key of [MASTER, TEAM]) {
          const res = await post(r, path, body, bearer(key));
          assert.equal(res.status, 200, `${key}: ${await res.clone().text()}`);
          if (answerer) assert.equal(res.headers.get("x-litellm-model-id"), answerer);
        }
        assert.equal(mock.calls.length, answerer ? 2 : 0);
        if (answerer) assert.equal(mock.callsTo(answerer).length, 2);
      },
    );

    it("a scoped key may not name another group, directly or in fallbacks: 403", T, async () => {
      const r = router();
      const direct = await refused(
        path,
        await post(r, path, bodyFor(FOREIGN[group]), bearer(TEAM)),
        403,
      );
      assert.match(direct.message, /may not use model/);
      const viaFallback = await refused(
        path,
        await post(r, path, { ...bodyFor(group), fallbacks: [FOREIGN[group]] }, bearer(TEAM)),
        403,
      );
      assert.match(viaFallback.message, /in `fallbacks`/);
      assert.equal(mock.calls.length, 0);
    });

    it(
      "credentials, endpoints, providers and prices cannot be set: 400 naming the field",
      T,
      async () => {
        const r = router();
        for (const [field, value] of [
          ["api_base", "http://169.254.169.254/latest"],
          ["api_key", "sk-caller-own"],
          ["base_url", "http://evil.test"],
          ["extra_headers", { "x-api-key": "k" }],
          ["custom_llm_provider", "openai"],
          ["aws_region_name", "us-east-1"],
          ["vertex_credentials", "{}"],
          ["input_cost_per_token", 0],
          ["mock_response", "free answer"],
        ]) {
          const e = await refused(
            path,
            await post(r, path, { ...bodyFor(group), [field]: value }, bearer(MASTER)),
            400,
          );
          assert.match(e.message, new RegExp(`\`${field}\` cannot be set through the gateway`));
          if (!path.startsWith("/v1/messages")) {
            assert.equal(e.code, "forbidden_parameter");
            assert.equal(e.param, field);
          }
        }
        const retries = await refused(
          path,
          await post(r, path, { ...bodyFor(group), num_retries: 50 }, bearer(MASTER)),
          400,
        );
        assert.match(
          retries.message,
          /`num_retries` must be a number from 0 to 0 through this gateway \(the Router.s num_retries\)/,
        );
        assert.equal(mock.calls.length, 0);
      },
    );

    it("a body over max_body_bytes is a 413, by content-length or streamed in", T, async () => {
      const r = router();
      const big = JSON.stringify({ ...bodyFor(group), metadata: { pad: "x".repeat(MAX_BODY) } });
      const e = await refused(path, await post(r, path, big, bearer(MASTER)), 413);
      assert.match(e.message, /larger than 2048 bytes \(gateway\.max_body_bytes\)/);
      const bytes = new TextEncoder().encode(big);
      const chunked = new ReadableStream({
        start(c) {
          for (let i = 0; i < bytes.length; i += 500) c.enqueue(bytes.subarray(i, i + 500));
          c.close();
        },
      });
      const res = await r.fetch(
        new Request(`http://gateway.test${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", ...bearer(MASTER) },
          body: chunked,
          duplex: "half",
        }),
      );
      await refused(path, res, 413);
      assert.equal(mock.calls.length, 0);
    });
  });
}

describe("POST /v1/messages: Anthropic's auth headers", () => {
  it(
    "x-api-key with anthropic-version, and authorization: Bearer, both authenticate",
    T,
    async () => {
      const r = router();
      const body = ROUTES["/v1/messages"][0]("chat");
      const versioned = {
        "x-api-key": TEAM,
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "prompt-caching-2024-07-31",
      };
      for (const headers of [versioned, bearer(TEAM)]) {
        const res = await post(r, "/v1/messages", body, headers);
        assert.equal(res.status, 200, await res.clone().text());
        assert.equal((await res.json()).type, "message");
      }
      assert.equal(mock.callsTo("a").length, 2);
      // The gateway's key and the Anthropic headers are not sent upstream: the deployment's are.
      for (const c of mock.callsTo("a")) {
        assert.equal(c.headers.authorization, "Bearer sk-test-a");
        assert.equal(c.headers["x-api-key"], undefined);
        assert.equal(c.headers["anthropic-version"], undefined);
      }
      const wrong = await refused(
        "/v1/messages",
        await post(r, "/v1/messages", body, {
          "x-api-key": "sk-nope",
          "anthropic-version": "2023-06-01",
        }),
        401,
      );
      assert.equal(wrong.type, "authentication_error");
      const denied = await refused(
        "/v1/messages",
        await post(r, "/v1/messages", { ...body, model: "secret" }, { "x-api-key": TEAM }),
        403,
      );
      assert.equal(denied.type, "permission_error");
      assert.equal(mock.calls.length, 2);
    },
  );
});
