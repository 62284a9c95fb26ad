// Image generation and moderation through the OpenAI provider, against scripted OpenAI
// payloads (tests/fixtures/openai/), plus the endpoint/mode checks.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, beforeEach, describe, it } from "node:test";
import { T, Router, errors, startMockServer, deployment } from "./fixture.mjs";

const fixture = (name) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/openai/${name}`, import.meta.url), "utf8"));

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

describe("imageGeneration and moderation", () => {
  it("imageGeneration posts to /images/generations and returns the OpenAI body", T, async () => {
    const router = new Router({
      model_list: [
        deployment(
          mock,
          "img",
          "dalle",
          { model: "openai/dall-e-3" },
          { mode: "image_generation" },
        ),
      ],
    });
    mock.script("dalle", { body: fixture("image_generation.response.json") });
    const res = await router.imageGeneration({
      model: "img",
      prompt: "a sea otter",
      size: "1024x1024",
      response_format: "b64_json",
    });
    assert.deepEqual(JSON.parse(JSON.stringify(res)), fixture("image_generation.response.json"));
    assert.equal(res._hidden_params.model_id, "dalle");
    const call = mock.callsTo("dalle")[0];
    assert.equal(call.path, "/dalle/v1/images/generations");
    assert.deepEqual(call.body, {
      model: "dall-e-3",
      prompt: "a sea otter",
      size: "1024x1024",
      response_format: "b64_json",
    });
    assert.equal(router.aimage_generation, router.imageGeneration, "LiteLLM's name is an alias");
  });

  it("moderation posts to /moderations; it costs nothing", T, async () => {
    const router = new Router({
      model_list: [
        deployment(
          mock,
          "mod",
          "omni",
          { model: "openai/omni-moderation-latest" },
          { mode: "moderation" },
        ),
      ],
    });
    mock.script("omni", { body: fixture("moderation.response.json") });
    const res = await router.moderation({ model: "mod", input: "I want to hurt them." });
    assert.equal(res.results[0].flagged, true);
    assert.equal(res.results[0].category_scores.violence, 0.9999992735124786);
    assert.equal(res._hidden_params.response_cost, 0);
    assert.equal(mock.callsTo("omni")[0].path, "/omni/v1/moderations");
  });

  it("a deployment answers only the endpoint of its mode", T, async () => {
    const router = new Router({
      model_list: [
        deployment(
          mock,
          "img",
          "dalle",
          { model: "openai/dall-e-3" },
          { mode: "image_generation" },
        ),
      ],
    });
    await assert.rejects(
      router.completion({ model: "img", messages: [{ role: "user", content: "hi" }] }),
      (e) => e instanceof errors.BadRequestError && /image_generation/.test(e.message),
    );
    assert.equal(mock.callsTo("dalle").length, 0);
  });

  it(
    "an image reply without a data array is an InternalServerError (malformed 2xx)",
    T,
    async () => {
      const router = new Router({
        model_list: [
          deployment(
            mock,
            "img",
            "dalle",
            { model: "openai/dall-e-3" },
            { mode: "image_generation" },
          ),
        ],
        num_retries: 0,
      });
      mock.script("dalle", { body: { created: 1 } });
      await assert.rejects(
        router.imageGeneration({ model: "img", prompt: "x" }),
        (e) => e instanceof errors.InternalServerError && e.status === 500,
      );
    },
  );
});

describe("transcription and speech", () => {
  const whisper = () =>
    new Router({
      model_list: [
        deployment(
          mock,
          "stt",
          "whisper",
          { model: "openai/whisper-1" },
          { mode: "audio_transcription" },
        ),
      ],
    });
  // 44-byte WAV header + 4 samples: a real RIFF/WAVE file.
  const wav = () => {
    const bytes = new Uint8Array(48);
    bytes.set([...new TextEncoder().encode("RIFF")], 0);
    bytes.set([...new TextEncoder().encode("WAVEfmt ")], 8);
    bytes.set([...new TextEncoder().encode("data")], 36);
    return bytes;
  };

  it("transcription uploads multipart form data and returns the text", T, async () => {
    mock.script("whisper", { body: { text: "Hello from the mock." } });
    const res = await whisper().transcription({ model: "stt", file: wav(), language: "en" });
    assert.equal(res.text, "Hello from the mock.");
    assert.equal(res._hidden_params.model_id, "whisper");
    const call = mock.callsTo("whisper")[0];
    assert.equal(call.path, "/whisper/v1/audio/transcriptions");
    assert.match(
      call.headers["content-type"],
      /^multipart\/form-data; boundary=llmux-[0-9a-f]{32}$/,
    );
    assert.equal(call.headers.authorization, "Bearer sk-test-whisper");
    const body = String(call.body);
    assert.match(body, /name="model"\r\n\r\nwhisper-1\r\n/);
    assert.match(body, /name="language"\r\n\r\nen\r\n/);
    assert.match(
      body,
      /name="file"; filename="audio\.wav"\r\nContent-Type: audio\/wav\r\n\r\nRIFF/,
    );
    assert.ok(!/name="file"\r\n\r\n/.test(body), "the file is not also sent as a text field");
  });

  it("a File keeps its name and type; text formats come back as { text }", T, async () => {
    mock.script("whisper", {
      status: 200,
      headers: { "content-type": "text/plain; charset=utf-8" },
      body_raw: "plain words",
    });
    const file = new File([wav()], "clip.mp3", { type: "audio/mpeg" });
    const res = await whisper().transcription({ model: "stt", file, response_format: "text" });
    assert.deepEqual(JSON.parse(JSON.stringify(res)), { text: "plain words" });
    assert.match(
      String(mock.callsTo("whisper")[0].body),
      /filename="clip\.mp3"\r\nContent-Type: audio\/mpeg/,
    );
  });

  it("verbose_json duration is priced per second from the price data", T, async () => {
    const router = whisper();
    const perSecond = router.getModelCostMap()["whisper-1"].input_cost_per_second;
    assert.ok(perSecond > 0);
    mock.script("whisper", { body: { text: "hi", language: "english", duration: 10.5 } });
    const res = await router.transcription({
      model: "stt",
      file: wav().buffer,
      response_format: "verbose_json",
    });
    assert.ok(Math.abs(res._hidden_params.response_cost - 10.5 * perSecond) < 1e-12);
  });

  it("a bad file is a BadRequestError before any upstream call", T, async () => {
    await assert.rejects(
      whisper().transcription({ model: "stt", file: "not bytes" }),
      (e) => e instanceof errors.BadRequestError,
    );
    assert.equal(mock.callsTo("whisper").length, 0);
  });

  it("an upload over 100 MiB is a BadRequestError before any upstream call", T, async () => {
    // The bytes would be copied into the core's memory, which never shrinks.
    const big = new Uint8Array(100 * 1024 * 1024 + 1);
    await assert.rejects(
      whisper().transcription({ model: "stt", file: big }),
      (e) => e instanceof errors.BadRequestError && /more than the 104857600/.test(e.message),
    );
    assert.equal(mock.callsTo("whisper").length, 0);
  });

  it("speech resolves to a Response whose body is the audio", T, async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "tts", "voice", { model: "openai/tts-1" }, { mode: "audio_speech" }),
      ],
    });
    const audio = "ID3\u0004fake-mp3-frames";
    mock.script("voice", {
      status: 200,
      headers: { "content-type": "audio/mpeg" },
      body_raw: audio,
    });
    const input = "Hello, world.";
    const res = await router.speech({ model: "tts", input, voice: "alloy" });
    assert.ok(res instanceof Response);
    assert.equal(res.headers.get("content-type"), "audio/mpeg");
    assert.equal(await res.text(), audio);
    assert.equal(res._hidden_params.model_id, "voice");
    const perChar = router.getModelCostMap()["tts-1"].input_cost_per_character;
    assert.ok(Math.abs(res._hidden_params.response_cost - input.length * perChar) < 1e-12);
    const call = mock.callsTo("voice")[0];
    assert.equal(call.path, "/voice/v1/audio/speech");
    assert.deepEqual(call.body, { model: "tts-1", input, voice: "alloy" });
  });

  it("speech errors are typed; a JSON 200 is not audio", T, async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "tts", "voice", { model: "openai/tts-1" }, { mode: "audio_speech" }),
      ],
      num_retries: 0,
    });
    mock.script("voice", { error: "auth" });
    await assert.rejects(
      router.speech({ model: "tts", input: "x", voice: "alloy" }),
      (e) => e instanceof errors.AuthenticationError && e.status === 401,
    );
    mock.script("voice", { body: { not: "audio" } });
    await assert.rejects(
      router.speech({ model: "tts", input: "x", voice: "alloy" }),
      (e) => e instanceof errors.InternalServerError && /expected audio/.test(e.message),
    );
  });
});

describe("transcription on Azure and Groq", () => {
  it(
    "azure uploads to the deployment's audio/transcriptions with api-key and api-version",
    T,
    async () => {
      const router = new Router({
        model_list: [
          {
            model_name: "stt",
            litellm_params: {
              model: "azure/my-whisper",
              api_base: `${mock.url}/az`,
              api_key: "azure-key-1234",
              api_version: "2024-06-01",
            },
            model_info: { id: "az", mode: "audio_transcription" },
          },
        ],
      });
      mock.script("az", { body: { text: "from azure" } });
      const res = await router.transcription({
        model: "stt",
        file: new Uint8Array([0x49, 0x44, 0x33, 4]),
      });
      assert.equal(res.text, "from azure");
      const call = mock.callsTo("az")[0];
      assert.equal(call.path, "/az/openai/deployments/my-whisper/audio/transcriptions");
      assert.equal(call.query["api-version"], "2024-06-01");
      assert.equal(call.headers["api-key"], "azure-key-1234");
      assert.match(String(call.body), /name="model"\r\n\r\nmy-whisper\r\n/);
      assert.match(String(call.body), /filename="audio\.mp3"\r\nContent-Type: audio\/mpeg/);
    },
  );

  it("groq uploads to /audio/transcriptions with a Bearer key", T, async () => {
    const router = new Router({
      model_list: [
        {
          model_name: "stt",
          litellm_params: {
            model: "groq/whisper-large-v3",
            api_base: `${mock.url}/gq/openai/v1`,
            api_key: "gsk-test",
          },
          model_info: { id: "gq" },
        },
      ],
    });
    mock.script("gq", { body: { text: "from groq" } });
    const res = await router.transcription({
      model: "stt",
      file: new Blob([new Uint8Array([0x66, 0x4c, 0x61, 0x43])]),
    });
    assert.equal(res.text, "from groq");
    const call = mock.callsTo("gq")[0];
    assert.equal(call.path, "/gq/openai/v1/audio/transcriptions");
    assert.equal(call.headers.authorization, "Bearer gsk-test");
    assert.match(String(call.body), /filename="audio\.flac"/);
  });
});

describe("image generation on Azure", () => {
  it("azure posts to the deployment's images/generations with api-version", T, async () => {
    const router = new Router({
      model_list: [
        {
          model_name: "img",
          litellm_params: {
            model: "azure/dalle3",
            api_base: `${mock.url}/azimg`,
            api_key: "azure-key-5678",
            api_version: "2024-10-21",
          },
          model_info: { id: "azimg", mode: "image_generation", base_model: "dall-e-3" },
        },
      ],
    });
    mock.script("azimg", { body: fixture("image_generation.response.json") });
    const res = await router.imageGeneration({ model: "img", prompt: "an otter", n: 1 });
    assert.equal(res.data.length, 1);
    const call = mock.callsTo("azimg")[0];
    assert.equal(call.path, "/azimg/openai/deployments/dalle3/images/generations");
    assert.equal(call.query["api-version"], "2024-10-21");
    assert.equal(call.headers["api-key"], "azure-key-5678");
    assert.equal(call.body.prompt, "an otter");
  });
});

describe("speech streams", () => {
  it(
    "speech() resolves at the headers and the audio streams through as it arrives",
    T,
    async () => {
      const router = new Router({
        model_list: [
          deployment(mock, "tts", "voice", { model: "openai/tts-1" }, { mode: "audio_speech" }),
        ],
      });
      // Five frames, 150 ms apart: the whole body takes ~600 ms to arrive.
      mock.script("voice", {
        sse: ["frame1", "frame2", "frame3", "frame4", "frame5"],
        chunk_delay_ms: 150,
        done: false,
        headers: { "content-type": "audio/mpeg" },
      });
      const started = performance.now();
      const res = await router.speech({ model: "tts", input: "stream me", voice: "alloy" });
      const atHeaders = performance.now() - started;
      assert.equal(res.headers.get("content-type"), "audio/mpeg");
      const text = await res.text();
      const atEnd = performance.now() - started;
      assert.ok(atHeaders < 450, `speech() resolved after ${atHeaders} ms, before the audio ended`);
      assert.ok(
        atEnd - atHeaders >= 300,
        `the body kept arriving after the Response (${atEnd - atHeaders} ms)`,
      );
      for (let i = 1; i <= 5; i++) assert.ok(text.includes(`frame${i}`));
    },
  );

  it("cancelling the audio stream closes the upstream connection", T, async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "tts", "voice", { model: "openai/tts-1" }, { mode: "audio_speech" }),
      ],
    });
    mock.script("voice", {
      sse: Array.from({ length: 40 }, (_, i) => `frame${i}`),
      chunk_delay_ms: 100,
      done: false,
      headers: { "content-type": "audio/mpeg" },
    });
    const aborted = mock.stats.aborted;
    const res = await router.speech({ model: "tts", input: "x", voice: "alloy" });
    const reader = res.body.getReader();
    await reader.read();
    await reader.cancel();
    const deadline = Date.now() + 3000;
    while (mock.stats.aborted === aborted && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(mock.stats.aborted, aborted + 1, "the mock saw the client go away");
  });
});
