// Every mock failure mode becomes the right error class, with status, deployment identity and
// whether it is retryable; request-shape errors are refused before any upstream call.
import assert from "node:assert/strict";
import net from "node:net";
import { after, beforeEach, describe, it } from "node:test";

import {
  Router,
  T,
  chatRequest,
  deployment,
  errors,
  rejection,
  routerOver,
  startMockServer,
} from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/** Sends one chat request to the single deployment "a" (num_retries 0) scripted with `step`. */
async function failWith(step) {
  mock.script("a", step);
  const router = routerOver(mock, { chat: ["a"] }, { num_retries: 0 });
  const err = await rejection(router.completion(chatRequest()));
  assert.equal(mock.callsTo("a").length, 1, "exactly one upstream call");
  return err;
}

/** The fields every upstream failure carries. */
function assertIdentity(err, retryable) {
  assert.ok(err instanceof errors.LlmuxError);
  assert.ok(err instanceof Error);
  assert.equal(err.name, err.constructor.name);
  assert.equal(err.deployment_id, "a");
  assert.equal(err.model_group, "chat");
  assert.equal(err.llm_provider, "openai");
  assert.equal(err.model, "mock-a");
  assert.equal(err.retryable, retryable);
  assert.equal(err.attempts, 1);
}

const CASES = [
  ["rate_limit", "RateLimitError", 429, true],
  ["server", "InternalServerError", 500, true],
  ["bad_gateway", "InternalServerError", 502, true],
  ["unavailable", "ServiceUnavailableError", 503, true],
  ["auth", "AuthenticationError", 401, false],
  ["not_found", "NotFoundError", 404, false],
  ["bad_request", "BadRequestError", 400, false],
  ["context_window", "ContextWindowExceededError", 400, false],
  ["content_policy", "ContentPolicyViolationError", 400, false],
];

describe("upstream error statuses", () => {
  for (const [kind, className, status, retryable] of CASES) {
    it(
      `mock error ${kind} -> ${className} with status ${status}, retryable ${retryable}`,
      T,
      async () => {
        const err = await failWith({ error: kind });
        assert.ok(err instanceof errors[className], `${err.name}: ${err.message}`);
        assert.equal(err.constructor, errors[className]);
        assert.equal(err.status, status);
        assertIdentity(err, retryable);
      },
    );
  }

  it(
    "ContextWindowExceededError and ContentPolicyViolationError are BadRequestErrors",
    T,
    async () => {
      const cw = await failWith({ error: "context_window" });
      assert.ok(cw instanceof errors.BadRequestError);
      mock.reset();
      const cp = await failWith({ error: "content_policy" });
      assert.ok(cp instanceof errors.BadRequestError);
    },
  );

  it("the provider's error message is the error's message", T, async () => {
    const err = await failWith({ error: "context_window" });
    assert.match(err.message, /maximum context length is 8192 tokens/);
  });

  it(
    "403 -> PermissionDeniedError and 422 -> UnprocessableEntityError, not retryable",
    T,
    async () => {
      const e403 = await failWith({ status: 403 });
      assert.ok(e403 instanceof errors.PermissionDeniedError);
      assert.equal(e403.status, 403);
      assertIdentity(e403, false);
      mock.reset();
      const e422 = await failWith({ status: 422 });
      assert.ok(e422 instanceof errors.UnprocessableEntityError);
      assert.equal(e422.status, 422);
      assertIdentity(e422, false);
    },
  );

  it("504 -> Timeout, retryable", T, async () => {
    const err = await failWith({ status: 504 });
    assert.ok(err instanceof errors.Timeout);
    assert.equal(err.status, 504);
    assertIdentity(err, true);
  });
});

describe("transport faults", () => {
  it("a reset before the headers -> APIConnectionError, retryable", T, async () => {
    const err = await failWith({ reset: "before_headers" });
    assert.ok(err instanceof errors.APIConnectionError, `${err.name}: ${err.message}`);
    assertIdentity(err, true);
  });

  it("a reset in the middle of the body -> APIConnectionError, retryable", T, async () => {
    const err = await failWith({ reset: "mid_body" });
    assert.ok(err instanceof errors.APIConnectionError, `${err.name}: ${err.message}`);
    assertIdentity(err, true);
  });

  it("an HTML page with status 200 -> InternalServerError (malformed response)", T, async () => {
    const err = await failWith({ body_raw: "<html>oops</html>", status: 200 });
    assert.ok(err instanceof errors.InternalServerError, `${err.name}: ${err.message}`);
    assert.equal(err.status, 500);
    assert.match(err.message, /malformed/i);
    assertIdentity(err, true);
  });

  it("truncated JSON and an empty body with status 200 -> InternalServerError", T, async () => {
    const truncated = await failWith({ body_raw: '{"id":"x","choices":[', status: 200 });
    assert.ok(truncated instanceof errors.InternalServerError, truncated.name);
    mock.reset();
    const empty = await failWith({ body_raw: "", status: 200 });
    assert.ok(empty instanceof errors.InternalServerError, empty.name);
    assert.match(empty.message, /empty/);
  });

  it(
    "an HTML page with status 502 -> InternalServerError saying the body was not JSON",
    T,
    async () => {
      const err = await failWith({
        body_raw: "<html><body>Bad Gateway</body></html>",
        status: 502,
      });
      assert.ok(err instanceof errors.InternalServerError, `${err.name}: ${err.message}`);
      assert.equal(err.status, 502);
      assert.match(err.message, /non-JSON/);
      assertIdentity(err, true);
    },
  );

  it("connection refused -> APIConnectionError, retryable", T, async () => {
    const closed = net.createServer();
    await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address();
    await new Promise((resolve) => closed.close(resolve));
    const router = new Router({
      model_list: [
        {
          model_name: "chat",
          litellm_params: { model: "openai/mock-a", api_base: `http://127.0.0.1:${port}/v1` },
          model_info: { id: "a" },
        },
      ],
      num_retries: 0,
    });
    const err = await rejection(router.completion(chatRequest()));
    assert.ok(err instanceof errors.APIConnectionError, `${err.name}: ${err.message}`);
    assertIdentity(err, true);
  });
});

describe("requests refused before any upstream call", () => {
  const router = () => routerOver(mock, { chat: ["a"] });

  for (const [field, value] of [
    ["api_key", "sk-other"],
    ["api_base", "http://127.0.0.1:1/v1"],
    ["base_url", "http://127.0.0.1:1/v1"],
  ]) {
    it(`per-request ${field} -> BadRequestError`, T, async () => {
      const err = await rejection(router().completion(chatRequest("chat", { [field]: value })));
      assert.ok(err instanceof errors.BadRequestError, err.name);
      assert.equal(err.status, 400);
      assert.match(err.message, new RegExp(field));
      assert.equal(mock.calls.length, 0);
    });
  }

  it("stream: true on embedding() -> BadRequestError before any upstream call", T, async () => {
    const err = await rejection(router().embedding({ model: "chat", input: "x", stream: true }));
    assert.ok(err instanceof errors.BadRequestError, err.name);
    assert.match(err.message, /stream/);
    assert.equal(mock.calls.length, 0);
  });

  it("a non-boolean stream -> BadRequestError", T, async () => {
    const err = await rejection(router().completion(chatRequest("chat", { stream: "yes" })));
    assert.ok(err instanceof errors.BadRequestError, err.name);
    assert.match(err.message, /`stream` must be true or false/);
    assert.equal(mock.calls.length, 0);
  });

  it("an unknown model group -> BadRequestError naming the available groups", T, async () => {
    const err = await rejection(router().completion(chatRequest("nope")));
    assert.ok(err instanceof errors.BadRequestError, err.name);
    assert.match(err.message, /nope/);
    assert.match(err.message, /chat/);
    assert.equal(mock.calls.length, 0);
  });

  it("a request that is not an object -> BadRequestError", T, async () => {
    for (const bad of [null, "hi", [chatRequest()]]) {
      const err = await rejection(router().completion(bad));
      assert.ok(err instanceof errors.BadRequestError, String(bad));
    }
    assert.equal(mock.calls.length, 0);
  });

  it("an embedding group answers no completion() when its mode is embedding", T, async () => {
    const r = new Router({
      model_list: [deployment(mock, "emb", "e", {}, { mode: "embedding" })],
    });
    const err = await rejection(r.completion(chatRequest("emb")));
    assert.ok(err instanceof errors.BadRequestError, err.name);
    assert.equal(mock.calls.length, 0);
    const ok = await r.embedding({ model: "emb", input: "x" });
    assert.equal(ok._hidden_params.model_id, "e");
  });
});
