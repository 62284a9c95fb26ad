// Issue #18: the Responses and Messages streams keep the chat streams' guarantees — no silent
// retry once the first event is out (a mid-stream reset is an APIConnectionError from the
// iterator, the mock saw one call, the other deployment none), cancel (break, abort(), the
// call's signal, cancelling toReadableStream() each close the upstream connection, and the
// stream then ends without claiming it completed), and
// backpressure (an event is made only when the consumer asks: the translation reads the chat
// stream one chunk ahead at most). For the translated Responses stream, the passed-through one
// (OpenAI's own SSE events) and the Messages stream.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";
import { ResponsesStream } from "../../../js/responses.js";
import { MessagesStream } from "../../../js/messages.js";
import { Router, T, deployment, errors, rejection, startMockServer, waitFor } from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/** The events that say a stream finished: never made after a cancel. */
const TERMINAL = /^(response\.(completed|incomplete|failed)|message_delta|message_stop)$/;
const REPLY = "one two three four five six seven eight nine ten eleven twelve";
const FIRST = { weight: 1_000_000 };
const SECOND = { weight: 1 };

/** kind -> [deployment params (vLLM: translated; OpenAI: passed through), the streaming call]. */
const KINDS = {
  "responses (translated)": [
    { model: "hosted_vllm/mock" },
    (r, options) => r.responses({ model: "g", input: "count", stream: true }, options),
  ],
  "responses (passed through)": [
    {},
    (r, options) => r.responses({ model: "g", input: "count", stream: true }, options),
  ],
  messages: [
    {},
    (r, options) =>
      r.messages(
        { model: "g", max_tokens: 50, stream: true, messages: [{ role: "user", content: "x" }] },
        options,
      ),
  ],
};

const routerFor = (params) =>
  new Router({
    model_list: [
      deployment(mock, "g", "a", { ...params, ...FIRST }),
      deployment(mock, "g", "b", { ...params, ...SECOND }),
    ],
  });

for (const [kind, [params, open]] of Object.entries(KINDS)) {
  describe(`${kind} stream`, () => {
    it("a reset after the first event throws from the iterator, without a retry", T, async () => {
      mock.script("a", { reply: REPLY, reset: "mid_body" });
      const stream = await open(routerFor(params));
      const seen = [];
      const e = await rejection(
        (async () => {
          for await (const event of stream) seen.push(event);
        })(),
      );
      assert.ok(e instanceof errors.APIConnectionError, `${e.name}: ${e.message}`);
      assert.ok(seen.length > 0, "events before the reset were delivered");
      assert.equal(mock.callsTo("a").length, 1);
      assert.equal(mock.callsTo("b").length, 0, "no silent retry after the first event");
    });

    it("a failure before the stream opens is retried on the other deployment", T, async () => {
      mock.script("a", { error: "server" });
      const stream = await open(routerFor(params));
      const events = [];
      for await (const event of stream) events.push(event);
      assert.equal(stream._hidden_params.model_id, "b");
      assert.ok(events.length > 3);
      assert.equal(mock.callsTo("a").length, 1);
      assert.equal(mock.callsTo("b").length, 1);
    });

    it("breaking out of for-await closes the upstream connection", T, async () => {
      mock.script("a", { reply: REPLY, chunk_delay_ms: 50 });
      const r = routerFor(params);
      const stream = await open(r);
      let n = 0;
      for await (const _ of stream) if (++n === 2) break;
      assert.ok(await waitFor(() => mock.stats.aborted === 1, 2000), "the mock saw the close");
      assert.equal((await r.getUsageStats()).deployments.a.in_flight, 0);
    });

    it("abort() ends iteration and closes the upstream", T, async () => {
      mock.script("a", { reply: REPLY, chunk_delay_ms: 50 });
      const stream = await open(routerFor(params));
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      stream.abort();
      let next = await iterator.next();
      // An event already made may still come out; then the end, with no terminal event.
      while (!next.done) {
        assert.doesNotMatch(next.value.type, TERMINAL);
        next = await iterator.next();
      }
      assert.ok(await waitFor(() => mock.stats.aborted === 1, 2000), "the mock saw the close");
    });

    it(
      "the call's signal ends the stream after it started, with no terminal event",
      T,
      async () => {
        mock.script("a", { reply: REPLY, chunk_delay_ms: 50 });
        const controller = new AbortController();
        const stream = await open(routerFor(params), { signal: controller.signal });
        const afterAbort = [];
        let n = 0;
        // As a chat stream: the iteration ends (the caller cancelled it; nothing to raise).
        for await (const event of stream) {
          if (controller.signal.aborted) afterAbort.push(event.type);
          if (++n === 3) controller.abort();
        }
        // Events of a chunk already read may still come out (a chunk can make two or three).
        assert.ok(afterAbort.length <= 3, `after the abort: ${afterAbort}`);
        for (const type of afterAbort) assert.doesNotMatch(type, TERMINAL);
        assert.ok(await waitFor(() => mock.stats.aborted === 1, 2000), "the mock saw the close");
        assert.equal(mock.callsTo("b").length, 0);
      },
    );

    it("cancelling toReadableStream() closes the upstream connection", T, async () => {
      mock.script("a", { reply: REPLY, chunk_delay_ms: 50 });
      const stream = await open(routerFor(params));
      const reader = stream.toReadableStream().getReader();
      const first = await reader.read();
      assert.match(new TextDecoder().decode(first.value), /^event: /);
      await reader.cancel();
      assert.ok(await waitFor(() => mock.stats.aborted === 1, 2000), "the mock saw the close");
    });
  });
}

/** A chat stream of `n` text chunks that counts how many the translation has pulled. */
function countingChat(n) {
  const source = {
    pulled: 0,
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < n; i++) {
        source.pulled++;
        yield {
          id: "chatcmpl-bp",
          model: "m",
          choices: [{ index: 0, delta: { content: `w${i} ` }, finish_reason: null }],
        };
      }
      source.pulled++;
      yield {
        id: "chatcmpl-bp",
        model: "m",
        choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
      };
    },
  };
  return source;
}

describe("backpressure of the translations", () => {
  for (const [name, make] of [
    ["ResponsesStream", (chat) => new ResponsesStream(chat, { model: "m", input: "x" })],
    ["MessagesStream", (chat) => new MessagesStream(chat, "m")],
  ]) {
    it(`${name} reads the chat stream only as its consumer reads events`, T, async () => {
      const chat = countingChat(1000);
      const it = make(chat)[Symbol.asyncIterator]();
      let events = 0;
      let deltas = 0;
      while (deltas < 10) {
        const { value } = await it.next();
        events++;
        if (/delta$/.test(value.type)) deltas++;
      }
      // Ten text deltas asked for: ten text chunks read (one more at most), not a thousand.
      assert.ok(chat.pulled <= 11, `pulled ${chat.pulled} chunks for ${events} events`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(chat.pulled <= 11, "nothing is read while the consumer waits");
      await it.return();
    });

    it(`${name}.toReadableStream() makes SSE bytes only on demand`, T, async () => {
      const chat = countingChat(1000);
      const reader = make(chat).toReadableStream().getReader();
      await reader.read();
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.ok(chat.pulled <= 4, `pulled ${chat.pulled} chunks for one read`);
      await reader.cancel();
    });
  }
});
