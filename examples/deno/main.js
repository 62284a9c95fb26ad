// An OpenAI-compatible LLM gateway on Deno.serve:
//   deno run --allow-net --allow-read --allow-env main.js
// Any OpenAI SDK pointed at http://127.0.0.1:8787/v1 with LLMUX_MASTER_KEY as its API key talks
// to the router, which holds the provider key (OPENAI_API_KEY) and never shows it to callers.
//   LLMUX_MASTER_KEY  the key callers send (without it every request is a 401)
//   OPENAI_API_KEY    the upstream key
//   OPENAI_BASE_URL   optional: any OpenAI-compatible server instead of api.openai.com
//   LLMUX_CORS        optional: "*" or comma-separated origins allowed to call from browsers
//   LLMUX_MAX_BODY_BYTES  optional: request body limit (default 25 MiB)
//   PORT, HOST        default 8787, 127.0.0.1
// On Deno Deploy, drop `port`/`hostname` and use `Deno.serve(router.fetch.bind(router))`.
import { Router } from "llmux";

const env = Deno.env.toObject();

const params = (model) => ({
  model: `openai/${model}`,
  api_key: "os.environ/OPENAI_API_KEY",
  ...(env.OPENAI_BASE_URL ? { api_base: env.OPENAI_BASE_URL } : {}),
});
const group = (model, mode) => ({
  model_name: model,
  litellm_params: params(model),
  model_info: { mode },
});

const router = new Router({
  model_list: [
    group("gpt-4o-mini", "chat"),
    group("gpt-3.5-turbo-instruct", "completion"),
    group("text-embedding-3-small", "embedding"),
    group("dall-e-3", "image_generation"),
    group("whisper-1", "audio_transcription"),
    group("tts-1", "audio_speech"),
    group("omni-moderation-latest", "moderation"),
  ],
  num_retries: 2,
  env,
  gateway: {
    master_key: "os.environ/LLMUX_MASTER_KEY",
    cors: env.LLMUX_CORS ? env.LLMUX_CORS.split(",") : false,
    ...(env.LLMUX_MAX_BODY_BYTES ? { max_body_bytes: Number(env.LLMUX_MAX_BODY_BYTES) } : {}),
  },
});

if (!env.LLMUX_MASTER_KEY) console.warn("LLMUX_MASTER_KEY is not set: every request gets a 401");

Deno.serve(
  {
    port: Number(env.PORT ?? 8787),
    hostname: env.HOST ?? "127.0.0.1",
    onListen: ({ hostname, port }) => console.log(`llmux gateway on http://${hostname}:${port}/v1`),
  },
  (request) => router.fetch(request),
);
