// LiteLLM's logging contract end to end against the mock over real HTTP: `on` events with
// StandardLoggingPayload fields, success_callback / failure_callback / callbacks (functions and
// CustomLogger-like objects), the start (pre-call) event, and no secret in any payload.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";

import { T, chatRequest, errors, keyOf, routerOver, startMockServer } from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/** Every event and callback argument, in order. */
function recorder() {
  const seen = [];
  const on = {};
  for (const name of ["start", "attempt", "success", "failure", "retry", "fallback", "cooldown"])
    on[name] = (e) => seen.push([name, e]);
  return { seen, on, of: (name) => seen.filter(([n]) => n === name).map(([, e]) => e) };
}

describe("on: StandardLoggingPayload fields", () => {
  it("success carries the call id, tokens, metadata, user and times", T, async () => {
    const r = recorder();
    const router = routerOver(mock, { chat: ["a"] }, { on: r.on });
    const res = await router.completion(
      chatRequest("chat", { metadata: { trace: "t-1", team: "x" }, user: "user-7" }),
    );
    const [start] = r.of("start");
    const [success] = r.of("success");
    assert.equal(typeof start.id, "string");
    assert.equal(success.id, start.id);
    assert.equal(success.litellm_call_id, start.id);
    assert.equal(success.call_type, "acompletion");
    assert.equal(success.status, "success");
    assert.equal(success.model_group, "chat");
    assert.equal(success.model_id, "a");
    assert.equal(success.model, "mock-a");
    assert.equal(success.custom_llm_provider, "openai");
    assert.equal(success.prompt_tokens, res.usage.prompt_tokens);
    assert.equal(success.completion_tokens, res.usage.completion_tokens);
    assert.equal(success.total_tokens, res.usage.prompt_tokens + res.usage.completion_tokens);
    assert.ok(success.prompt_tokens > 0);
    assert.equal(success.metadata.trace, "t-1");
    assert.deepEqual(success.metadata.requester_metadata, { trace: "t-1", team: "x" });
    assert.equal(success.end_user, "user-7");
    assert.equal(success.cache_hit, false);
    assert.ok(success.startTime <= success.endTime);
    assert.equal(success.completionStartTime, success.endTime);
    assert.deepEqual(success.response, res);
    assert.deepEqual(success.messages, chatRequest().messages);
    // metadata is a router kwarg: it never reaches the provider.
    assert.equal(mock.callsTo("a")[0].body.metadata, undefined);
    const [attempt] = r.of("attempt");
    assert.equal(attempt.id, start.id);
    assert.equal(attempt.ok, true);
    assert.equal(attempt.model_id, "a");
  });

  it("a plain request (the host loop) carries the id and tokens too", T, async () => {
    const r = recorder();
    const router = routerOver(mock, { chat: ["a"] }, { on: r.on });
    await router.completion(chatRequest("chat", { user: "u" }));
    const [success] = r.of("success");
    assert.equal(success.id, r.of("start")[0].id);
    assert.ok(success.prompt_tokens > 0);
    assert.equal(success.end_user, "u");
    assert.equal(mock.callsTo("a")[0].body.litellm_call_id, undefined);
  });

  it("the caller's litellm_call_id is the id", T, async () => {
    const r = recorder();
    const router = routerOver(mock, { chat: ["a"] }, { on: r.on });
    await router.completion(chatRequest("chat", { litellm_call_id: "call-42" }));
    assert.deepEqual(
      r.seen.map(([n, e]) => [n, e.id]),
      [
        ["start", "call-42"],
        ["attempt", "call-42"],
        ["success", "call-42"],
      ],
    );
  });

  it("retry, fallback and failure carry the call id and the error class", T, async () => {
    const r = recorder();
    const router = routerOver(
      mock,
      { chat: ["a"], backup: ["b"] },
      { on: r.on, num_retries: 1, retry_after: 0, fallbacks: [{ chat: ["backup"] }] },
    );
    mock.script("a", { error: "server" }, { error: "server" });
    mock.script("b", { error: "auth" });
    const e = await router.completion(chatRequest()).then(
      () => assert.fail("expected a rejection"),
      (err) => err,
    );
    assert.ok(e instanceof errors.AuthenticationError);
    const id = r.of("start")[0].id;
    assert.deepEqual(
      r.seen.map(([n]) => n),
      ["start", "attempt", "retry", "attempt", "fallback", "attempt", "failure"],
    );
    for (const [, ev] of r.seen) assert.equal(ev.id, id);
    const [failure] = r.of("failure");
    assert.equal(failure.status, "failure");
    assert.equal(failure.error_information.error_class, "AuthenticationError");
    assert.equal(failure.error_information.error_code, "401");
    assert.equal(typeof failure.error_str, "string");
    assert.equal(r.of("fallback")[0].to, "backup");
    assert.equal(r.of("retry")[0].model_id, "a");
  });

  it("a stream's success comes when it ends, with its time to first token", T, async () => {
    const r = recorder();
    const router = routerOver(mock, { chat: ["a"] }, { on: r.on });
    const stream = await router.completion(
      chatRequest("chat", { stream: true, stream_options: { include_usage: true } }),
    );
    assert.equal(r.of("success").length, 0);
    for await (const _ of stream);
    const [success] = r.of("success");
    assert.equal(success.stream, true);
    assert.equal(success.id, r.of("start")[0].id);
    assert.ok(success.completion_tokens > 0);
    assert.ok(success.completionStartTime >= success.startTime);
    assert.ok(success.completionStartTime <= success.endTime);
  });

  it("an invalid request is a failure with the error's class", T, async () => {
    const r = recorder();
    const router = routerOver(mock, { chat: ["a"] }, { on: r.on });
    await assert.rejects(router.completion({ model: "chat", messages: [], num_retries: -1 }));
    const [failure] = r.of("failure");
    assert.equal(failure.error_information.error_class, "BadRequestError");
    assert.equal(failure.id, r.of("start")[0].id);
  });
});

describe("success_callback, failure_callback, callbacks", () => {
  it("functions get LiteLLM's (kwargs, response, startTime, endTime)", T, async () => {
    const ok = [];
    const bad = [];
    const router = routerOver(
      mock,
      { chat: ["a"] },
      {
        success_callback: [(...args) => ok.push(args)],
        failure_callback: [(...args) => bad.push(args)],
        num_retries: 0,
      },
    );
    const res = await router.completion(chatRequest("chat", { metadata: { k: "v" } }));
    assert.equal(ok.length, 1);
    const [kwargs, response, start, end] = ok[0];
    assert.equal(response, res);
    assert.ok(start instanceof Date && end instanceof Date && start <= end);
    assert.equal(kwargs.model, "chat");
    assert.equal(kwargs.litellm_call_id, kwargs.standard_logging_object.id);
    assert.equal(kwargs.standard_logging_object.model_id, "a");
    assert.deepEqual(kwargs.metadata.requester_metadata, { k: "v" });
    mock.script("a", { error: "rate_limit" });
    await assert.rejects(router.completion(chatRequest()), errors.RateLimitError);
    assert.equal(bad.length, 1);
    assert.equal(bad[0][0].standard_logging_object.error_information.error_class, "RateLimitError");
    assert.ok(
      bad[0][0].exception instanceof errors.RateLimitError,
      "kwargs.exception is the error",
    );
    assert.equal(bad[0][1], null);
    assert.equal(ok.length, 1);
  });

  it(
    "CustomLogger-like objects get log_pre_api_call, log_success_event, log_failure_event",
    T,
    async () => {
      const calls = [];
      const logger = {
        log_pre_api_call(model, messages, kwargs) {
          calls.push(["pre", model, messages, kwargs.litellm_call_id]);
        },
        log_success_event(kwargs, response) {
          calls.push(["success", kwargs.standard_logging_object.total_tokens, response.id]);
        },
        async async_log_failure_event(kwargs) {
          calls.push(["failure", kwargs.standard_logging_object.error_information.error_class]);
          throw new Error("a failing logger never breaks a call");
        },
      };
      const router = routerOver(
        mock,
        { chat: ["a"] },
        { callbacks: [logger], num_retries: 0, logger: { warn() {} } },
      );
      const res = await router.completion(chatRequest());
      mock.script("a", { error: "server" });
      await assert.rejects(router.completion(chatRequest()), errors.InternalServerError);
      assert.equal(calls.length, 4);
      assert.deepEqual(calls[0].slice(0, 3), ["pre", "chat", chatRequest().messages]);
      assert.deepEqual(calls[1], ["success", res.usage.total_tokens, res.id]);
      assert.equal(calls[2][0], "pre");
      assert.deepEqual(calls[3], ["failure", "InternalServerError"]);
    },
  );

  it("a string callback (a LiteLLM integration) is a ConfigError naming the field", () => {
    for (const [field, value, path] of [
      ["success_callback", ["langfuse"], "success_callback[0]"],
      ["failure_callback", ["sentry"], "failure_callback[0]"],
      ["callbacks", [() => {}, "datadog"], "callbacks[1]"],
      ["callbacks", [{ nothing: true }], "callbacks[0]"],
    ]) {
      assert.throws(
        () => routerOver(mock, { chat: ["a"] }, { [field]: value }),
        (e) => e instanceof errors.ConfigError && e.field === path && e.message.startsWith(path),
      );
    }
  });

  it("turn_off_message_logging leaves messages and response out", T, async () => {
    const seen = [];
    const router = routerOver(
      mock,
      { chat: ["a"] },
      {
        success_callback: [(k) => seen.push(k.standard_logging_object)],
        turn_off_message_logging: true,
      },
    );
    await router.completion(chatRequest());
    assert.equal("messages" in seen[0], false);
    assert.equal("response" in seen[0], false);
  });
});

describe("secrets", () => {
  it("no payload, kwargs or event carries a deployment's api_key", T, async () => {
    const texts = [];
    const keep = (...args) =>
      texts.push(JSON.stringify(args, (k, v) => (v instanceof Date ? v.toISOString() : v)));
    const on = {};
    for (const n of ["start", "attempt", "success", "failure", "retry", "fallback", "cooldown"])
      on[n] = keep;
    const router = routerOver(
      mock,
      { chat: ["a", "b"], backup: ["c"] },
      {
        on,
        success_callback: [keep],
        failure_callback: [keep],
        callbacks: [{ log_pre_api_call: keep, log_success_event: keep, log_failure_event: keep }],
        num_retries: 1,
        allowed_fails: 0,
        fallbacks: [{ chat: ["backup"] }],
      },
    );
    mock.script("a", { error: "auth" });
    mock.script("b", { error: "auth" });
    mock.script("c", { error: "rate_limit" }, { error: "rate_limit" });
    await assert.rejects(router.completion(chatRequest()));
    await router.completion(chatRequest("backup"));
    // A caller's own credential field is refused by the router, and left out of `start` too.
    await assert.rejects(
      router.completion(chatRequest("chat", { api_key: "sk-test-caller" })),
      errors.BadRequestError,
    );
    const all = texts.join("\n");
    assert.ok(all.includes('"cooldown_ms"'), "a cooldown event was seen");
    assert.ok(all.includes('"status":"failure"') && all.includes('"status":"success"'));
    for (const name of ["a", "b", "c"]) assert.equal(all.includes(keyOf(name)), false, name);
    assert.equal(all.includes("sk-test-"), false);
  });
});

/**
 * The fields js/index.d.ts's RouterEvents declares, with the `typeof` each may have
 * (tests/types/events-cache.ts compiles the same fields against the .d.ts).
 */
const DECLARED = {
  start: {
    id: "string",
    call_type: "string",
    stream: "boolean",
    model_group: "string",
    startTime: "number",
    metadata: "object",
    end_user: "string|null",
    request_tags: "object",
    model_parameters: "object",
  },
  attempt: {
    id: "string",
    call_id: "string",
    model_group: "string",
    model_id: "string",
    custom_llm_provider: "string",
    model: "string",
    attempt: "number",
    duration_ms: "number",
    ok: "boolean",
    error: "string|null",
    status: "number|null",
    message: "string|null",
    stream: "boolean",
  },
  retry: {
    id: "string",
    call_id: "string",
    model_group: "string",
    model_id: "string",
    error: "string",
    status: "number",
    retry: "number",
    delay_ms: "number",
  },
  fallback: {
    id: "string",
    call_id: "string",
    from: "string",
    to: "string",
    error: "string",
    status: "number|null",
  },
  cooldown: {
    id: "null",
    model_id: "string",
    model_group: "string",
    until_ms: "number",
    cooldown_ms: "number",
    error: "string",
    status: "number",
  },
  success: {
    id: "string",
    call_id: "string",
    litellm_call_id: "string",
    trace_id: "string",
    status: "string",
    model_group: "string",
    model_id: "string",
    answered_by_group: "string",
    custom_llm_provider: "string",
    latency_ms: "number",
    response_cost: "number",
    attempts: "number",
    retries: "number",
    fallback_model_group: "string|null",
    startTime: "number",
    endTime: "number",
    completionStartTime: "number",
    prompt_tokens: "number",
    completion_tokens: "number",
    total_tokens: "number",
    cache_read_input_tokens: "number",
    cache_creation_input_tokens: "number",
    cache_hit: "boolean",
    metadata: "object",
    end_user: "string|null",
    error_str: "null",
    error_information: "null",
  },
  failure: {
    id: "string",
    status: "string",
    model_group: "string",
    error: "string",
    message: "string",
    deployment_id: "string|null",
    llm_provider: "string|null",
    attempts: "number",
    latency_ms: "number",
    error_str: "string",
    error_information: "object",
    metadata: "object",
    prompt_tokens: "number",
    response_cost: "number",
  },
};
const kind = (v) => (v === null ? "null" : typeof v);

describe("payload shapes", () => {
  it("every event carries the fields index.d.ts declares, cache tokens included", T, async () => {
    const r = recorder();
    const router = routerOver(
      mock,
      { chat: ["a", "a2"], backup: ["b"], bad: ["c"] },
      {
        on: r.on,
        num_retries: 1,
        retry_after: 0,
        allowed_fails: 0,
        fallbacks: [{ chat: ["backup"] }],
        routing_strategy: "simple-shuffle",
      },
    );
    mock.script("a", { error: "server" }, { error: "server" });
    mock.script("a2", { error: "server" }, { error: "server" });
    // The fallback's answer reports cached prompt tokens, as OpenAI's usage does.
    mock.script("b", {
      body: {
        id: "chatcmpl-b",
        object: "chat.completion",
        created: 1,
        model: "mock-b",
        choices: [
          { index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" },
        ],
        usage: {
          prompt_tokens: 50,
          completion_tokens: 2,
          total_tokens: 52,
          prompt_tokens_details: { cached_tokens: 40 },
        },
      },
    });
    await router.completion(chatRequest("chat", { metadata: { k: 1 }, user: "u-1" }));
    mock.script("c", { error: "auth" });
    await assert.rejects(router.completion(chatRequest("bad")), errors.AuthenticationError);
    for (const [name, fields] of Object.entries(DECLARED)) {
      const events = r.of(name);
      assert.ok(events.length > 0, `a ${name} event was seen`);
      for (const ev of events)
        for (const [field, types] of Object.entries(fields))
          assert.ok(
            types.split("|").includes(kind(ev[field])),
            `${name}.${field}: ${kind(ev[field])}, declared ${types}`,
          );
    }
    const [success] = r.of("success");
    assert.equal(success.status, "success");
    assert.equal(success.model_id, "b");
    assert.equal(success.fallback_model_group, "backup");
    assert.equal(success.prompt_tokens, 50);
    assert.equal(success.cache_read_input_tokens, 40);
    assert.equal(success.end_user, "u-1");
    assert.equal(success.metadata.k, 1);
    const [failure] = r.of("failure");
    assert.equal(failure.status, "failure");
    assert.equal(failure.error, "AuthenticationError");
    assert.equal(failure.error_information.error_code, "401");
    assert.equal(r.of("cooldown")[0].id, null);
  });
});

describe("cost and cache hits in the payload", () => {
  it("a priced answer carries its cost; a cache hit says so, with no tokens", T, async () => {
    const r = recorder();
    const kwargsSeen = [];
    const router = routerOver(
      mock,
      { chat: [["a", { input_cost_per_token: 0.001, output_cost_per_token: 0.002 }]] },
      { on: r.on, cache_responses: true, success_callback: [(kw) => kwargsSeen.push(kw)] },
    );
    const res = await router.completion(chatRequest("chat", { user: "u-c" }));
    const hit = await router.completion(chatRequest("chat", { user: "u-c" }));
    assert.equal(hit._hidden_params.cache_hit, true);
    assert.equal(mock.callsTo("a").length, 1, "the second answer came from the cache");
    const [fresh, cached] = r.of("success");
    const cost = res.usage.prompt_tokens * 0.001 + res.usage.completion_tokens * 0.002;
    assert.ok(Math.abs(fresh.response_cost - cost) < 1e-9, `${fresh.response_cost} ≠ ${cost}`);
    assert.equal(fresh.cache_hit, false);
    assert.equal(cached.cache_hit, true);
    assert.equal(cached.prompt_tokens, 0);
    assert.equal(cached.completion_tokens, 0);
    assert.equal(cached.end_user, "u-c");
    assert.equal(cached.id, r.of("start")[1].id);
    assert.deepEqual(
      kwargsSeen.map((kw) => [kw.cache_hit, kw.standard_logging_object.cache_hit]),
      [
        [false, false],
        [true, true],
      ],
    );
    assert.ok(Math.abs(kwargsSeen[0].response_cost - cost) < 1e-9);
  });
});
