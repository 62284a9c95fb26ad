// A whole OpenAI-compatible LLM gateway as a Cloudflare Worker. Secrets arrive in `env`:
//   LLMUX_MASTER_KEY  the key callers send (`wrangler secret put LLMUX_MASTER_KEY`); without it
//                     every request is a 401
//   OPENAI_API_KEY    the upstream key (`wrangler secret put OPENAI_API_KEY`)
//   OPENAI_BASE_URL   optional var: any OpenAI-compatible server instead of api.openai.com
//   LLMUX_CORS        optional var: "*" or comma-separated origins allowed to call from browsers
//   LLMUX_MAX_BODY_BYTES  optional var: request body limit (default 25 MiB)
import { Router } from "llmux";

/** One model group per OpenAI endpoint, named like OpenAI's models. */
function createRouter(env) {
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
  return new Router({
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
    // Once the Workers KV cache and Durable Object state adapters ship, the bindings declared
    // (commented out) in wrangler.toml plug in here, e.g. `cache: kvCache(env.LLMUX_CACHE)` and
    // `state: durableState(env.LLMUX_STATE)`. Until then each isolate keeps its own state.
    gateway: {
      master_key: "os.environ/LLMUX_MASTER_KEY",
      cors: env.LLMUX_CORS ? env.LLMUX_CORS.split(",") : false,
      ...(env.LLMUX_MAX_BODY_BYTES ? { max_body_bytes: Number(env.LLMUX_MAX_BODY_BYTES) } : {}),
    },
  });
}

/** One Router per isolate: cooldowns and usage persist across the requests it serves. */
let router;

export default {
  fetch(request, env, ctx) {
    router ??= createRouter(env);
    return router.fetch(request, env, ctx);
  },
};
