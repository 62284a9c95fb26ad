// Streaming end to end: stream: true through the wasm core against the loopback mock's SSE,
// read with for-await, piped through toReadableStream() into a Response and parsed by the
// official openai client, cancelled, cut and stalled.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";
import { Stream } from "openai/core/streaming";
import { APIError } from "openai";

import { streamChunkBuilder, stream_chunk_builder } from "../../../js/node.js";
import {
  T,
  chatRequest,
  errors,
  rejection,
  routerOver,
  startMockServer,
  waitFor,
} from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const REPLY = "The quick brown fox jumps over the lazy dog";
const FIRST = { weight: 1_000_000 };
const SECOND = { weight: 1 };

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

const textOf = (chunks) => chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");

describe("stream: true", () => {
  it("yields OpenAI chunks whose text is the answer, with hidden params", T, async () => {
    mock.script("a", { reply: REPLY });
    const router = routerOver(mock, { chat: ["a"] });
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    assert.equal(stream._hidden_params.model_id, "a");
    const chunks = await collect(stream);
    assert.equal(textOf(chunks), REPLY);
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    assert.equal(chunks[0].choices[0].delta.role, "assistant");
    assert.equal(chunks.at(-1).choices[0].finish_reason, "stop");
    assert.ok(
      chunks.every((c) => c.usage === undefined || c.usage === null),
      "no usage chunk",
    );
    const sent = mock.callsTo("a")[0].body;
    assert.equal(sent.stream, true);
    assert.deepEqual(sent.stream_options, { include_usage: true });
    // Usage and cost are booked when the stream ends.
    const stats = await router.getUsageStats();
    assert.equal(stats.deployments.a.completion_tokens, 9);
    assert.equal(stats.deployments.a.streams, 1);
    assert.equal(stats.deployments.a.in_flight, 0);
    assert.equal(typeof stats.deployments.a.time_to_first_token_ms.p50, "number");
  });

  it("ends with the usage chunk when stream_options.include_usage is set", T, async () => {
    const router = routerOver(mock, { chat: ["a"] });
    const chunks = await collect(
      await router.completion(
        chatRequest("chat", { stream: true, stream_options: { include_usage: true } }),
      ),
    );
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.completion_tokens, 3);
  });

  it("toReadableStream() in a Response reads back with the openai client's parser", T, async () => {
    mock.script("a", { reply: REPLY });
    const router = routerOver(mock, { chat: ["a"] });
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    const response = new Response(stream.toReadableStream(), {
      headers: { "content-type": "text/event-stream" },
    });
    const parsed = Stream.fromSSEResponse(response, new AbortController());
    let text = "";
    for await (const chunk of parsed) text += chunk.choices[0]?.delta?.content ?? "";
    assert.equal(text, REPLY);
  });

  it("a failure before the first chunk is retried on the other deployment", T, async () => {
    mock.script("a", { error: "server" });
    const router = routerOver(mock, {
      chat: [
        ["a", FIRST],
        ["b", SECOND],
      ],
    });
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    assert.equal(stream._hidden_params.model_id, "b");
    assert.equal(stream._hidden_params.attempts, 2);
    assert.equal(textOf(await collect(stream)), "Hello from b");
  });

  it("falls back to another group when the first cannot open a stream", T, async () => {
    mock.script("a", { error: "rate_limit" });
    const router = routerOver(
      mock,
      { chat: ["a"], backup: ["b"] },
      { fallbacks: [{ chat: ["backup"] }], num_retries: 0 },
    );
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    assert.equal(stream._hidden_params.fallback_model_group, "backup");
    assert.equal(textOf(await collect(stream)), "Hello from b");
  });

  it("an error status rejects with the typed error when nothing can answer", T, async () => {
    mock.script("a", { error: "auth" });
    const router = routerOver(mock, { chat: ["a"] }, { num_retries: 0 });
    const e = await rejection(router.completion(chatRequest("chat", { stream: true })));
    assert.ok(e instanceof errors.AuthenticationError, e.name);
    assert.equal(mock.callsTo("a").length, 1);
  });

  it("a reset after the first chunk throws from the iterator, without a retry", T, async () => {
    mock.script("a", { reply: REPLY, reset: "mid_body" });
    const router = routerOver(mock, {
      chat: [
        ["a", FIRST],
        ["b", SECOND],
      ],
    });
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    const seen = [];
    const e = await rejection(
      (async () => {
        for await (const chunk of stream) seen.push(chunk);
      })(),
    );
    assert.ok(e instanceof errors.APIConnectionError, `${e.name}: ${e.message}`);
    assert.equal(e.deployment_id, "a");
    assert.ok(textOf(seen).length > 0, "chunks before the reset were delivered");
    assert.equal(mock.calls.length, 1, "no silent retry after the first chunk");
  });

  it("a mid-stream failure is an error event the openai client raises", T, async () => {
    mock.script("a", { reply: REPLY, reset: "mid_body" });
    const router = routerOver(mock, { chat: ["a"] });
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    const response = new Response(stream.toReadableStream());
    const parsed = Stream.fromSSEResponse(response, new AbortController());
    const e = await rejection(
      (async () => {
        for await (const _ of parsed);
      })(),
    );
    assert.ok(e instanceof APIError, e.name);
    assert.match(e.message, /stream ended before|Connection/);
  });

  it("breaking out of for-await closes the upstream connection", T, async () => {
    mock.script("a", { reply: REPLY, chunk_delay_ms: 50 });
    const router = routerOver(mock, { chat: ["a"] });
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) break;
    }
    assert.ok(await waitFor(() => mock.stats.aborted === 1, 2000), "the mock saw the close");
    const stats = await router.getUsageStats();
    assert.equal(stats.deployments.a.in_flight, 0);
  });

  it("cancelling the ReadableStream closes the upstream connection", T, async () => {
    mock.script("a", { reply: REPLY, chunk_delay_ms: 50 });
    const router = routerOver(mock, { chat: ["a"] });
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    const reader = stream.toReadableStream().getReader();
    await reader.read();
    await reader.cancel();
    assert.ok(await waitFor(() => mock.stats.aborted === 1, 2000), "the mock saw the close");
  });

  it("stream_timeout fires on a stalled stream after its first chunk", T, async () => {
    mock.script("a", { reply: REPLY, chunk_delay_ms: 3000 });
    const router = routerOver(mock, { chat: ["a"] }, { stream_timeout: 0.3 });
    const started = Date.now();
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    const e = await rejection(collect(stream));
    assert.ok(e instanceof errors.Timeout, `${e.name}: ${e.message}`);
    assert.match(e.message, /stream_timeout/);
    assert.ok(Date.now() - started < 2500, "did not wait for the stalled chunk");
    assert.ok(
      await waitFor(() => mock.stats.aborted === 1, 2000),
      "the stalled upstream is closed",
    );
  });

  it("abort() ends iteration and closes the upstream", T, async () => {
    mock.script("a", { reply: REPLY, chunk_delay_ms: 50 });
    const router = routerOver(mock, { chat: ["a"] });
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    stream.abort();
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    assert.ok(await waitFor(() => mock.stats.aborted === 1, 2000));
  });

  it("textCompletion streams text_completion chunks", T, async () => {
    mock.script("a", { reply: REPLY });
    const router = routerOver(mock, { text: ["a"] });
    const stream = await router.textCompletion({ model: "text", prompt: "Say it", stream: true });
    const chunks = await collect(stream);
    assert.ok(chunks.every((c) => c.object === "text_completion"));
    assert.equal(chunks.map((c) => c.choices[0]?.text ?? "").join(""), REPLY);
    assert.equal(mock.callsTo("a")[0].path.endsWith("/completions"), true);
  });

  it("a stream is consumed once", T, async () => {
    const router = routerOver(mock, { chat: ["a"] });
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    await collect(stream);
    assert.throws(() => stream.toReadableStream(), TypeError);
  });

  it("embeddings refuse stream: true before any upstream call", T, async () => {
    const router = routerOver(mock, { chat: ["a"] });
    const e = await rejection(router.embedding({ model: "chat", input: "x", stream: true }));
    assert.ok(e instanceof errors.BadRequestError, e.name);
    assert.equal(mock.calls.length, 0);
  });

  it("streamChunkBuilder assembles the chunks into the unstreamed answer", T, async () => {
    mock.script("a", { reply: REPLY }, { reply: REPLY });
    const router = routerOver(mock, { chat: ["a"] });
    const plain = await router.completion(chatRequest("chat", { seed: 1 }));
    const chunks = await collect(
      await router.completion(
        chatRequest("chat", { stream: true, stream_options: { include_usage: true } }),
      ),
    );
    const built = streamChunkBuilder(chunks);
    assert.equal(built.object, "chat.completion");
    assert.deepEqual(built.choices, plain.choices);
    assert.deepEqual(built.usage, plain.usage);
    assert.equal(stream_chunk_builder, streamChunkBuilder);
    assert.throws(() => streamChunkBuilder("nope"), TypeError);
  });
});
