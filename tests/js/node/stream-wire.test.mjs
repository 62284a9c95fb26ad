// Streams on the host loop's wire path (README, "Architecture"): a `stream: true` request with
// no router kwargs but `stream` / `stream_options` is sent by the host to an OpenAI deployment,
// its body built from the caller's object and the deployment's cached wire; the core parses
// the request only when it needs it (a translating fallback, a usage estimate). What the
// upstream receives, what the caller gets and what is booked are checked against the mock.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";

import {
  T,
  chatRequest,
  keyOf,
  nativeDeployment,
  routerOver,
  startMockServer,
} from "./fixture.mjs";
import { Router } from "../../../js/node.js";
import { readFileSync } from "node:fs";

const fixture = (name) =>
  readFileSync(new URL(`../../fixtures/anthropic/stream/${name}`, import.meta.url), "utf8");

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

async function drain(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return chunks;
}
const text = (chunks) => chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");

describe("streams on the wire path", () => {
  it(
    "send the caller's body with the upstream model, defaults and usage asked for",
    T,
    async () => {
      mock.script("a", { reply: "Hello there" });
      const router = routerOver(mock, {
        chat: [
          [
            "a",
            {
              temperature: 0.1,
              max_tokens: 50,
              input_cost_per_token: 1e-6,
              output_cost_per_token: 2e-6,
            },
          ],
        ],
      });
      const chunks = await drain(
        await router.completion(chatRequest("chat", { stream: true, max_tokens: 7, user: "u1" })),
      );
      assert.equal(text(chunks), "Hello there");
      const calls = mock.callsTo("a");
      assert.equal(calls.length, 1);
      const body = calls[0].body;
      assert.equal(body.model, "mock-a");
      assert.equal(body.stream, true);
      assert.deepEqual(body.stream_options, { include_usage: true });
      // litellm_params defaults fill in; the caller's own fields win.
      assert.equal(body.temperature, 0.1);
      assert.equal(body.max_tokens, 7);
      assert.equal(body.user, "u1");
      assert.equal(calls[0].headers.authorization, `Bearer ${keyOf("a")}`);
      // No usage chunk unless asked for; usage booked from the upstream's.
      assert.ok(chunks.every((c) => c.usage == null));
      const stream = await router.completion(
        chatRequest("chat", { stream: true, stream_options: { include_usage: true } }),
      );
      const withUsage = await drain(stream);
      assert.ok(withUsage.at(-1).usage.completion_tokens > 0);
      assert.equal(mock.callsTo("a")[1].body.stream_options.include_usage, true);
      const stats = (await router.getUsageStats()).deployments.a;
      assert.equal(stats.streams, 2);
      assert.equal(stats.in_flight, 0);
      assert.ok(stats.completion_tokens > 0);
      // `_hidden_params` once the stream has ended: the deployment and the cost.
      assert.equal(stream._hidden_params.model_id, "a");
      assert.ok(stream._hidden_params.response_cost > 0);
    },
  );

  it("retry on the next deployment and fall back to a translating provider", T, async () => {
    mock.script("a", { error: "unavailable" });
    // Anthropic's own stream events (the text fixture), as its API sends them.
    mock.script("anthropic", {
      sse: [fixture("text.sse")],
      done: false,
      headers: { "content-type": "text/event-stream" },
    });
    const expected = text(JSON.parse(fixture("text.chunks.json")));
    const router = new Router({
      model_list: [
        {
          model_name: "chat",
          litellm_params: { model: "openai/mock-a", api_base: mock.base("a"), api_key: keyOf("a") },
          model_info: { id: "a" },
        },
        nativeDeployment(mock, "anthropic", "claude", "c"),
      ],
      num_retries: 0,
      fallbacks: [{ chat: ["claude"] }],
    });
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    const chunks = await drain(stream);
    assert.ok(expected.length > 0);
    assert.equal(text(chunks), expected);
    assert.deepEqual(
      mock.calls.map((c) => c.name),
      ["a", "anthropic"],
    );
    // The core built the Anthropic request from the caller's messages.
    const sent = mock.callsTo("anthropic")[0].body;
    assert.equal(sent.stream, true);
    assert.ok(JSON.stringify(sent.messages).includes("Hi there!"));
    assert.equal(stream._hidden_params.model_id, "c");
    assert.equal(stream._hidden_params.fallback_model_group, "claude");
  });

  it("estimate a stopped stream's prompt from the request", T, async () => {
    mock.script("a", { reply: "one two three four five six seven eight" });
    const router = routerOver(mock, { chat: ["a"] });
    const long = "word ".repeat(400);
    const stream = await router.completion({
      model: "chat",
      messages: [{ role: "user", content: long }],
      stream: true,
    });
    for await (const _ of stream) break;
    const stats = (await router.getUsageStats()).deployments.a;
    assert.equal(stats.in_flight, 0);
    assert.ok(stats.prompt_tokens >= 400, `estimated ${stats.prompt_tokens} prompt tokens`);
  });

  it("book the plain reads the host counted itself when the stream is stopped", T, async () => {
    // One event per read, as a real upstream often sends them: after the first chunk the
    // host reads the plain chunks itself and tells the core their sum only when it must.
    const encoder = new TextEncoder();
    const perEvent = async (url, init) => {
      const res = await fetch(url, init);
      const events = (await res.text()).split(/(?<=\n\n)/).map((e) => encoder.encode(e));
      let i = 0;
      return new Response(
        new ReadableStream({
          pull(c) {
            if (i < events.length) c.enqueue(events[i++]);
            else c.close();
          },
        }),
        { status: res.status, headers: res.headers },
      );
    };
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`).join(" ");
    mock.script("a", { reply: words });
    const router = routerOver(mock, { chat: ["a"] }, { fetch: perEvent });
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    let chars = 0;
    let n = 0;
    for await (const c of stream) {
      chars += (c.choices[0]?.delta?.content ?? "").length;
      if (++n === 12) break;
    }
    assert.ok(chars > 8, `${chars} characters delivered`);
    const stats = (await router.getUsageStats()).deployments.a;
    assert.equal(stats.in_flight, 0);
    // No usage came: the completion is estimated from every character delivered (4 a token).
    assert.equal(stats.completion_tokens, Math.ceil(chars / 4));
    assert.equal(stream._hidden_params.model_id, "a");
  });

  it("keep a request with its own router kwargs on the parsed path", T, async () => {
    mock.script("a", { reply: "kw" });
    const router = routerOver(mock, { chat: ["a"] });
    const chunks = await drain(
      await router.completion(
        chatRequest("chat", { stream: true, metadata: { tags: [] }, litellm_call_id: "id-1" }),
      ),
    );
    assert.equal(text(chunks), "kw");
    const body = mock.callsTo("a")[0].body;
    assert.equal(body.metadata, undefined);
    assert.equal(body.litellm_call_id, undefined);
    assert.deepEqual(body.stream_options, { include_usage: true });
  });
});
