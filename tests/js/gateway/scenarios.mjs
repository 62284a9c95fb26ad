// The official `openai` npm client against a gateway example (Node, Deno or workerd host, see
// hosts.mjs), whose deployments all point at one loopback mock deployment ("gw"). Every test
// asserts what the client got and what reached the mock (or that nothing did).
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import OpenAI from "openai";
import { mockEmbedding, startMockServer } from "../../mock/server.mjs";

export const MASTER_KEY = "sk-llmux-master-e2e";
export const UPSTREAM_KEY = "sk-upstream-e2e-secret";
/** The examples' model groups, in configuration order. */
export const GROUPS = [
  "gpt-4o-mini",
  "gpt-3.5-turbo-instruct",
  "text-embedding-3-small",
  "dall-e-3",
  "whisper-1",
  "tts-1",
  "omni-moderation-latest",
];
const T = { timeout: 20_000 };
const MAX_BODY = 1024 * 1024;
const messages = [{ role: "user", content: "Hi there!" }];

/** A 48-byte RIFF/WAVE file. */
function wav() {
  const bytes = new Uint8Array(48);
  const enc = new TextEncoder();
  bytes.set(enc.encode("RIFF"), 0);
  bytes.set(enc.encode("WAVEfmt "), 8);
  bytes.set(enc.encode("data"), 36);
  return bytes;
}

/**
 * Registers the suite for one host. `start(env)` starts the example with those variables.
 * @param {string} name
 * @param {(env: Record<string, string>) => Promise<{ url: string, close: () => Promise<unknown> }>} start
 */
export function gatewaySuite(name, start) {
  describe(`gateway example in ${name}, driven by the openai client`, () => {
    let mock;
    let host;
    let client;
    before(async () => {
      mock = await startMockServer({ port: 0 });
      host = await start({
        LLMUX_MASTER_KEY: MASTER_KEY,
        OPENAI_API_KEY: UPSTREAM_KEY,
        OPENAI_BASE_URL: mock.base("gw"),
        LLMUX_MAX_BODY_BYTES: String(MAX_BODY),
      });
      client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${host.url}/v1`, maxRetries: 0 });
    });
    after(async () => {
      await host?.close();
      await mock?.close();
    });
    beforeEach(() => mock.reset());

    it(
      "chat: the mock's answer, the upstream key on the upstream call, x-litellm headers",
      T,
      async () => {
        const { data, response } = await client.chat.completions
          .create({ model: "gpt-4o-mini", messages })
          .withResponse();
        assert.equal(data.object, "chat.completion");
        assert.equal(data.choices[0].message.content, "Hello from gw");
        assert.equal(response.headers.get("x-litellm-model-group"), "gpt-4o-mini");
        assert.match(response.headers.get("x-litellm-model-id") ?? "", /^[0-9a-f]{64}$/);
        assert.equal(response.headers.get("x-litellm-attempted-retries"), "0");
        assert.equal(response.headers.get("x-llmux-attempts"), "1");
        assert.ok(Number(response.headers.get("x-litellm-response-cost")) > 0);
        assert.match(response.headers.get("x-litellm-call-id") ?? "", /^[0-9a-f-]{36}$/);
        const calls = mock.callsTo("gw");
        assert.equal(calls.length, 1);
        assert.equal(calls[0].path, "/gw/v1/chat/completions");
        assert.equal(calls[0].headers.authorization, `Bearer ${UPSTREAM_KEY}`);
        assert.equal(calls[0].body.model, "gpt-4o-mini");
      },
    );

    it("streaming chat: chunks in order, then the end of the stream", T, async () => {
      const stream = await client.chat.completions.create({
        model: "gpt-4o-mini",
        messages,
        stream: true,
      });
      let text = "";
      let chunks = 0;
      for await (const chunk of stream) {
        assert.equal(chunk.object, "chat.completion.chunk");
        text += chunk.choices[0]?.delta?.content ?? "";
        chunks++;
      }
      assert.equal(text, "Hello from gw");
      assert.ok(chunks >= 3, `${chunks} chunks`);
      const calls = mock.callsTo("gw");
      assert.equal(calls.length, 1);
      assert.equal(calls[0].body.stream, true);
    });

    it("embeddings: the mock's vector for the input", T, async () => {
      const res = await client.embeddings.create({
        model: "text-embedding-3-small",
        input: "hello",
      });
      assert.equal(res.data.length, 1);
      assert.deepEqual(res.data[0].embedding, mockEmbedding("hello"));
      assert.equal(mock.callsTo("gw")[0].path, "/gw/v1/embeddings");
    });

    it("transcription: the uploaded file reaches the upstream as multipart", T, async () => {
      mock.script("gw", { body: { text: "Hello from the mock." } });
      const file = new File([wav()], "clip.wav", { type: "audio/wav" });
      const res = await client.audio.transcriptions.create({
        model: "whisper-1",
        file,
        language: "en",
      });
      assert.equal(res.text, "Hello from the mock.");
      const [call] = mock.callsTo("gw");
      assert.equal(call.path, "/gw/v1/audio/transcriptions");
      assert.equal(call.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
      const body = String(call.body);
      assert.match(body, /name="model"\r\n\r\nwhisper-1\r\n/);
      assert.match(body, /name="language"\r\n\r\nen\r\n/);
      assert.match(body, /filename="clip\.wav"\r\nContent-Type: audio\/wav\r\n\r\nRIFF/);
    });

    it("speech: the audio bytes and content type come through", T, async () => {
      const audio = "ID3\u0004fake-mp3-frames";
      mock.script("gw", {
        status: 200,
        headers: { "content-type": "audio/mpeg" },
        body_raw: audio,
      });
      const res = await client.audio.speech.create({
        model: "tts-1",
        voice: "alloy",
        input: "Hello!",
      });
      assert.equal(res.headers.get("content-type"), "audio/mpeg");
      assert.equal(res.headers.get("x-litellm-model-group"), "tts-1");
      assert.equal(new TextDecoder().decode(await res.arrayBuffer()), audio);
      const [call] = mock.callsTo("gw");
      assert.equal(call.path, "/gw/v1/audio/speech");
      assert.equal(call.body.input, "Hello!");
    });

    it("moderation: the upstream's results", T, async () => {
      mock.script("gw", {
        body: {
          id: "modr-1",
          model: "omni-moderation-latest",
          results: [
            { flagged: true, categories: { violence: true }, category_scores: { violence: 0.98 } },
          ],
        },
      });
      const res = await client.moderations.create({
        model: "omni-moderation-latest",
        input: "I want to hurt them.",
      });
      assert.equal(res.results[0].flagged, true);
      assert.equal(res.results[0].category_scores.violence, 0.98);
      assert.equal(mock.callsTo("gw")[0].path, "/gw/v1/moderations");
    });

    it("models.list(): the model groups, OpenAI's list shape", T, async () => {
      const ids = [];
      for await (const model of client.models.list()) {
        assert.equal(model.object, "model");
        ids.push(model.id);
      }
      assert.deepEqual(ids, GROUPS);
      const one = await client.models.retrieve("whisper-1");
      assert.equal(one.id, "whisper-1");
      assert.equal(mock.calls.length, 0, "no upstream call");
    });

    it(
      "auth failures: a wrong key and a missing key are 401s; nothing goes upstream",
      T,
      async () => {
        const wrong = new OpenAI({ apiKey: "sk-wrong", baseURL: `${host.url}/v1`, maxRetries: 0 });
        await assert.rejects(
          wrong.chat.completions.create({ model: "gpt-4o-mini", messages }),
          (e) =>
            e instanceof OpenAI.AuthenticationError &&
            e.status === 401 &&
            e.code === "invalid_api_key" &&
            !e.message.includes(MASTER_KEY),
        );
        await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
        const res = await fetch(`${host.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "gpt-4o-mini", messages }),
        });
        assert.equal(res.status, 401);
        const body = await res.json();
        assert.equal(body.error.type, "authentication_error");
        assert.equal(mock.calls.length, 0);
      },
    );

    it(
      "an attempt to override api_base (or other credentials) is refused with a 400",
      T,
      async () => {
        for (const [field, value] of [
          ["api_base", "http://127.0.0.1:9/steal"],
          ["base_url", "http://127.0.0.1:9/steal"],
          ["api_key", "sk-caller"],
          ["aws_secret_access_key", "x"],
          ["custom_llm_provider", "anthropic"],
        ]) {
          await assert.rejects(
            client.chat.completions.create({ model: "gpt-4o-mini", messages, [field]: value }),
            (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === field,
            field,
          );
        }
        assert.equal(mock.calls.length, 0, "nothing reached the upstream");
      },
    );

    it("an oversized body is refused with a 413 before any upstream call", T, async () => {
      const big = "x".repeat(MAX_BODY + 1);
      await assert.rejects(
        client.chat.completions.create({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: big }],
        }),
        (e) => e instanceof OpenAI.APIError && e.status === 413 && e.code === "request_too_large",
      );
      assert.equal(mock.calls.length, 0);
    });

    it(
      "an unknown model is a 404; an upstream 429 keeps its status and retry-after",
      T,
      async () => {
        await assert.rejects(
          client.chat.completions.create({ model: "gpt-5-nope", messages }),
          (e) => e instanceof OpenAI.NotFoundError && e.code === "model_not_found",
        );
        assert.equal(mock.calls.length, 0);
        mock.script(
          "gw",
          { error: "rate_limit", headers: { "retry-after": "7" } },
          { error: "rate_limit", headers: { "retry-after": "7" } },
          { error: "rate_limit", headers: { "retry-after": "7" } },
        );
        const e = await client.chat.completions
          .create({ model: "gpt-4o-mini", messages, num_retries: 0 })
          .then(
            () => assert.fail("expected a 429"),
            (err) => err,
          );
        assert.ok(e instanceof OpenAI.RateLimitError, String(e));
        assert.equal(e.type, "rate_limit_error");
        assert.equal(e.headers.get("retry-after"), "7");
        assert.equal(mock.callsTo("gw").length, 1);
      },
    );

    it("GET /health answers without a key", T, async () => {
      const res = await fetch(`${host.url}/health`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: "healthy" });
    });
  });
}
