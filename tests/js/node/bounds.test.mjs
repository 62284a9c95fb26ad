// What an upstream may send is bounded (#16, README "Security bounds"): `max_response_bytes`
// for a whole reply (by content-length before reading, else by what was read) and for a
// stream, `max_stream_duration` for a stream's total time. Each ends the call with a typed
// error; before a stream's first chunk the attempt fails over like any failure.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { describe, it } from "node:test";
import { Router, T, chatRequest, errors, rejection } from "./fixture.mjs";

/** A loopback server; `handler(req, res)` runs once the request body has been read. */
async function server(handler) {
  let calls = 0;
  const srv = createServer((req, res) => {
    calls++;
    req.resume();
    req.on("end", () => handler(req, res));
  });
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${srv.address().port}`;
  return {
    base,
    calls: () => calls,
    close: () =>
      new Promise((resolve) => {
        srv.closeAllConnections();
        srv.close(resolve);
      }),
  };
}

const completion = (content) =>
  JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "gpt-4o-mini",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 },
  });

const event = (content) =>
  `data: ${JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "gpt-4o-mini",
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
  })}\n\n`;

const router = (params, options = {}) =>
  new Router({
    model_list: [{ model_name: "chat", litellm_params: { api_key: "sk-test", ...params } }],
    num_retries: 0,
    ...options,
  });

describe("max_response_bytes and max_stream_duration", () => {
  for (const [label, chunked] of [
    ["with a content-length", false],
    ["chunked, without one", true],
  ]) {
    for (const [provider, params] of [
      // OpenAI takes the host loop; Anthropic the core's own fetch.
      ["openai", (base) => ({ model: "openai/gpt-4o-mini", api_base: `${base}/v1` })],
      ["anthropic", (base) => ({ model: "anthropic/claude-3-5-haiku-latest", api_base: base })],
    ]) {
      it(
        `${provider}: a reply larger than max_response_bytes (${label}) is an APIConnectionError`,
        T,
        async () => {
          const big = completion("x".repeat(5_000));
          const srv = await server((req, res) => {
            if (chunked) {
              res.writeHead(200, { "content-type": "application/json" });
              res.write(big.slice(0, 2_500));
              res.end(big.slice(2_500));
            } else {
              res.writeHead(200, {
                "content-type": "application/json",
                "content-length": Buffer.byteLength(big),
              });
              res.end(big);
            }
          });
          try {
            const err = await rejection(
              router(params(srv.base), { max_response_bytes: 1_000 }).completion(chatRequest()),
            );
            assert.ok(err instanceof errors.APIConnectionError, `${err?.name}: ${err?.message}`);
            assert.match(err.message, /max_response_bytes \(1000 bytes\)/);
            assert.equal(srv.calls(), 1);
          } finally {
            await srv.close();
          }
        },
      );
    }
  }

  it(
    "a stream larger than max_response_bytes ends with an APIConnectionError after its first chunks",
    T,
    async () => {
      const srv = await server((req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(event("first "));
        // The rest a little later: another read, after the first chunk was delivered.
        setTimeout(() => {
          for (let i = 0; i < 20; i++) res.write(event(`word${i} `));
          res.end("data: [DONE]\n\n");
        }, 100);
      });
      try {
        const r = router(
          { model: "openai/gpt-4o-mini", api_base: `${srv.base}/v1` },
          { max_response_bytes: 1_000 },
        );
        const stream = await r.completion(chatRequest("chat", { stream: true }));
        let chunks = 0;
        const err = await rejection(
          (async () => {
            for await (const _ of stream) chunks++;
          })(),
        );
        assert.ok(err instanceof errors.APIConnectionError, `${err?.name}: ${err?.message}`);
        assert.match(err.message, /max_response_bytes/);
        assert.ok(chunks > 0 && chunks < 20, `delivered ${chunks} chunks before the cap`);
      } finally {
        await srv.close();
      }
    },
  );

  it("a stream longer than max_stream_duration ends with a Timeout", T, async () => {
    const srv = await server((req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      let i = 0;
      const timer = setInterval(() => {
        if (res.destroyed || i === 40) {
          clearInterval(timer);
          res.end("data: [DONE]\n\n");
          return;
        }
        res.write(event(`w${i++} `));
      }, 50);
      res.on("close", () => clearInterval(timer));
    });
    try {
      const r = router(
        { model: "openai/gpt-4o-mini", api_base: `${srv.base}/v1` },
        { max_stream_duration: 0.4, stream_timeout: 5 },
      );
      const started = Date.now();
      const stream = await r.completion(chatRequest("chat", { stream: true }));
      let chunks = 0;
      const err = await rejection(
        (async () => {
          for await (const _ of stream) chunks++;
        })(),
      );
      const elapsed = Date.now() - started;
      assert.ok(err instanceof errors.Timeout, `${err?.name}: ${err?.message}`);
      assert.match(err.message, /max_stream_duration/);
      assert.ok(chunks >= 3 && chunks < 40, `delivered ${chunks} chunks`);
      assert.ok(elapsed >= 400 && elapsed < 1_500, `ended after ${elapsed} ms`);
    } finally {
      await srv.close();
    }
  });

  it("the ceilings are validated (ConfigError naming the option)", () => {
    for (const [key, value] of [
      ["max_response_bytes", 0],
      ["max_response_bytes", -5],
      ["max_stream_duration", -1],
    ]) {
      assert.throws(
        () => router({ model: "openai/gpt-4o-mini" }, { [key]: value }),
        (e) => e instanceof errors.ConfigError && e.message.includes(key),
      );
    }
  });
});
