// Per-second pricing end to end (README "Cost"): a deployment priced per second and not per
// token costs rate × the answering exchange's time (chat, streamed chat, embeddings); a
// transcription costs rate × the audio's duration; token prices win when both are set.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { T, Router, startMockServer, deployment, chatRequest, errors } from "./fixture.mjs";

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

const RATE = 0.25; // USD per second

/** Runs `call` and returns [result, wall-clock seconds it took]. */
async function timed(call) {
  const t0 = performance.now();
  const res = await call();
  return [res, (performance.now() - t0) / 1000];
}

/** The exchange took at least the mock's delay and at most the whole call. */
// The router times a call with the host's millisecond clock (Date.now), the test with
// performance.now: the two may disagree by up to a millisecond at each end.
const CLOCK_GRAIN_S = 0.002;

function assertPricedBetween(cost, minSeconds, maxSeconds) {
  assert.equal(typeof cost, "number");
  assert.ok(cost >= RATE * minSeconds, `${cost} < ${RATE} × ${minSeconds}`);
  const bound = maxSeconds + CLOCK_GRAIN_S;
  assert.ok(cost <= RATE * bound, `${cost} > ${RATE} × ${bound}`);
}

describe("per-second pricing", () => {
  it("a chat deployment priced per second costs rate × its response time", T, async () => {
    const router = new Router({
      model_list: [deployment(mock, "chat", "a", { input_cost_per_second: RATE })],
    });
    mock.script("a", { delay_ms: 300 });
    const [res, seconds] = await timed(() => router.completion(chatRequest("chat")));
    assert.equal(res._hidden_params.model_id, "a");
    assertPricedBetween(res._hidden_params.response_cost, 0.3, seconds);
    assert.equal(mock.callsTo("a").length, 1);
  });

  it("a listed model with its own per-second price is priced per second", T, async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "chat", "a", { model: "openai/gpt-4o-mini", cost_per_second: RATE }),
      ],
    });
    mock.script("a", { delay_ms: 200 });
    const [res, seconds] = await timed(() => router.completion(chatRequest("chat")));
    assertPricedBetween(res._hidden_params.response_cost, 0.2, seconds);
  });

  it("per-token prices win over per-second ones", T, async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "chat", "a", {
          input_cost_per_second: 1000,
          input_cost_per_token: 0.25,
          output_cost_per_token: 0.5,
        }),
      ],
    });
    mock.script("a", { delay_ms: 100 });
    const res = await router.completion(chatRequest("chat"));
    const u = res.usage;
    assert.equal(
      res._hidden_params.response_cost,
      u.prompt_tokens * 0.25 + u.completion_tokens * 0.5,
    );
  });

  it("a stream is priced from its request to its last chunk", T, async () => {
    const router = new Router({
      model_list: [deployment(mock, "chat", "a", { output_cost_per_second: RATE })],
    });
    mock.script("a", {
      sse: [
        {
          id: "c",
          object: "chat.completion.chunk",
          created: 1,
          model: "m",
          choices: [{ index: 0, delta: { role: "assistant", content: "a" }, finish_reason: null }],
        },
        {
          id: "c",
          object: "chat.completion.chunk",
          created: 1,
          model: "m",
          choices: [{ index: 0, delta: { content: "b" }, finish_reason: null }],
        },
        {
          id: "c",
          object: "chat.completion.chunk",
          created: 1,
          model: "m",
          choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
        },
      ],
      chunk_delay_ms: 150,
    });
    const [stream, seconds] = await timed(async () => {
      const s = await router.completion(chatRequest("chat", { stream: true }));
      for await (const _ of s);
      return s;
    });
    // Three gaps of 150 ms at least (before each event).
    assertPricedBetween(stream._hidden_params.response_cost, 0.3, seconds);
  });

  it("an embedding deployment priced per second costs rate × its response time", T, async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "emb", "e", { input_cost_per_second: RATE }, { mode: "embedding" }),
      ],
    });
    mock.script("e", { delay_ms: 200 });
    const [res, seconds] = await timed(() => router.embedding({ model: "emb", input: "x" }));
    assertPricedBetween(res._hidden_params.response_cost, 0.2, seconds);
  });

  it("a transcription costs rate × the audio duration, output rate first", T, async () => {
    const router = new Router({
      model_list: [
        deployment(
          mock,
          "stt",
          "w",
          { model: "openai/my-whisper", input_cost_per_second: 0.25, output_cost_per_second: 2 },
          { mode: "audio_transcription" },
        ),
      ],
    });
    mock.script("w", { body: { text: "hi", language: "english", duration: 12.5 } });
    const wav = new Uint8Array(48);
    wav.set([...new TextEncoder().encode("RIFF")], 0);
    wav.set([...new TextEncoder().encode("WAVEfmt ")], 8);
    const res = await router.transcription({
      model: "stt",
      file: wav,
      response_format: "verbose_json",
    });
    // LiteLLM 1.110.2 gives 1.25 for 12.5 s at output 0.1/s and input 0.01/s: the output rate.
    assert.equal(res._hidden_params.response_cost, 25);
  });

  it("a negative per-second price is a ConfigError naming the field", () => {
    assert.throws(
      () =>
        new Router({
          model_list: [deployment(mock, "chat", "a", { output_cost_per_second: -1 })],
        }),
      (e) =>
        e instanceof errors.ConfigError &&
        e.field === "model_list[0].litellm_params.output_cost_per_second",
    );
  });
});
