// Streams whose plain chunks the host reads itself (README, "Architecture": an OpenAI-format
// stream's events are split and parsed once in JS, the core told only the numbers it books):
// the same chunks, SSE text and booking whatever the upstream's pieces look like — split
// inside events and inside UTF-8 characters, CRLF line endings, comments and chunks the core
// must decode in between — as when the core decodes the whole body.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";

import { T, chatRequest, routerOver, startMockServer } from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const REPLY = "naïve café — 東京 🦊 ends here";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A `fetch` over the real one that re-cuts a stream's body: `reshape(text)` rewrites it (as
 * text), `cut(bytes)` returns the pieces the reader gets.
 */
function recut(cut, reshape = (t) => t) {
  return async (url, init) => {
    const res = await fetch(url, init);
    if (!(res.headers.get("content-type") ?? "").includes("event-stream")) return res;
    const bytes = encoder.encode(reshape(await res.text()));
    const pieces = cut(bytes);
    let i = 0;
    return new Response(
      new ReadableStream({
        pull(c) {
          if (i < pieces.length) c.enqueue(pieces[i++]);
          else c.close();
        },
      }),
      { status: res.status, headers: res.headers },
    );
  };
}

const whole = (b) => [b];
const every = (n) => (b) => {
  const out = [];
  for (let i = 0; i < b.length; i += n) out.push(b.slice(i, i + n));
  return out;
};
const perEvent = (b) =>
  decoder
    .decode(b)
    .split(/(?<=\n\n)/)
    .map((e) => encoder.encode(e));
/** Drops the usage chunk: the core then estimates completion tokens from the characters. */
const noUsage = (t) =>
  t
    .split("\n\n")
    .filter((e) => !e.includes('"choices":[]'))
    .join("\n\n");

async function run(fetchFn, request = {}) {
  mock.script("a", { reply: REPLY });
  const router = routerOver(mock, { chat: ["a"] }, { fetch: fetchFn });
  const chunks = [];
  for await (const c of await router.completion(chatRequest("chat", { stream: true, ...request })))
    chunks.push(c);
  const sse = await new Response(
    (await router.completion(chatRequest("chat", { stream: true, ...request }))).toReadableStream(),
  ).text();
  const stats = (await router.getUsageStats()).deployments.a;
  return { chunks, sse, stats };
}

const text = (chunks) => chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
/** The chunks without what differs per upstream call (id, created). */
const shape = (chunks) => chunks.map(({ id: _i, created: _c, ...rest }) => rest);
const sseChunks = (sse) =>
  sse
    .split("\n\n")
    .filter((e) => e.startsWith("data: ") && e !== "data: [DONE]")
    .map((e) => JSON.parse(e.slice(6)));

describe("streams read by the host", () => {
  it(
    "give the chunks, SSE and booking the core's decoder gives, however the body is cut",
    T,
    async () => {
      const base = await run(recut(whole));
      assert.equal(text(base.chunks), REPLY);
      assert.ok(base.sse.endsWith("data: [DONE]\n\n"));
      for (const [name, cut] of [
        ["one event per read", perEvent],
        ["5-byte pieces", every(5)],
        ["1-byte pieces", every(1)],
        ["17-byte pieces", every(17)],
      ]) {
        const got = await run(recut(cut));
        assert.equal(text(got.chunks), REPLY, name);
        assert.deepEqual(shape(got.chunks), shape(base.chunks), name);
        assert.deepEqual(shape(sseChunks(got.sse)), shape(sseChunks(base.sse)), name);
        assert.ok(got.sse.endsWith("data: [DONE]\n\n"), name);
        assert.equal(got.stats.completion_tokens, base.stats.completion_tokens, name);
        assert.equal(got.stats.streams, 2, name);
        assert.equal(got.stats.in_flight, 0, name);
      }
    },
  );

  it("book the same estimate from the characters when the upstream sends no usage", T, async () => {
    const base = await run(recut(whole, noUsage));
    const split = await run(recut(perEvent, noUsage));
    const tiny = await run(recut(every(3), noUsage));
    assert.ok(base.stats.completion_tokens > 0);
    assert.equal(split.stats.completion_tokens, base.stats.completion_tokens);
    assert.equal(tiny.stats.completion_tokens, base.stats.completion_tokens);
    assert.equal(text(split.chunks), REPLY);
  });

  it("hand CRLF streams, comments and chunks that need decoding back to the core", T, async () => {
    const base = await run(recut(whole));
    const crlf = await run(
      recut(perEvent, (t) => {
        // The first event as it came, then CRLF line endings.
        const cut = t.indexOf("\n\n") + 2;
        return t.slice(0, cut) + t.slice(cut).replaceAll("\n", "\r\n");
      }),
    );
    assert.deepEqual(shape(crlf.chunks), shape(base.chunks));
    const mixed = await run(
      recut(every(9), (t) => {
        const events = t.split("\n\n");
        // A comment, and a chunk with another id (the core records it), among plain ones.
        const third = JSON.parse(events[2].slice(6));
        events.splice(2, 0, ": keep-alive", `data: ${JSON.stringify({ ...third, id: "other" })}`);
        return events.join("\n\n");
      }),
    );
    const extra = shape(mixed.chunks);
    assert.equal(extra.length, base.chunks.length + 1);
    assert.equal(mixed.chunks[2].id, "other");
    assert.equal(text(mixed.chunks.filter((_, i) => i !== 2)), REPLY);
    assert.equal(mixed.stats.completion_tokens, base.stats.completion_tokens);
  });

  it("fail with the typed error when the body breaks mid-event", T, async () => {
    mock.script("a", { reply: REPLY });
    const router = routerOver(
      mock,
      { chat: ["a"] },
      {
        fetch: recut(every(4), (t) => {
          const events = t.split("\n\n");
          // Cut inside the fourth event: no terminal event ever comes.
          return `${events.slice(0, 3).join("\n\n")}\n\n${events[3].slice(0, 20)}`;
        }),
      },
    );
    const chunks = [];
    let error;
    try {
      for await (const c of await router.completion(chatRequest("chat", { stream: true })))
        chunks.push(c);
    } catch (e) {
      error = e;
    }
    assert.ok(chunks.length >= 2, "the chunks before the cut arrive");
    assert.equal(error?.constructor?.name, "APIConnectionError");
    assert.equal((await router.getUsageStats()).deployments.a.in_flight, 0);
  });
});
