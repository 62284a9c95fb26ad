// A whole OpenAI-compatible LLM gateway as a Cloudflare Worker. Secrets arrive in `env`:
//   LLMUX_MASTER_KEY  the key callers send (`wrangler secret put LLMUX_MASTER_KEY`); without it
//                     every request is a 401
//   OPENAI_API_KEY    the upstream key (`wrangler secret put OPENAI_API_KEY`)
//   OPENAI_BASE_URL   optional var: any OpenAI-compatible server instead of api.openai.com
//   LLMUX_CORS        optional var: "*" or comma-separated origins allowed to call from browsers
//   LLMUX_MAX_BODY_BYTES  optional var: request body limit (default 25 MiB)
// Optional bindings (declared, commented out, in wrangler.toml):
//   LLMUX_CACHE       a KV namespace: answers cached across isolates (workersKvCache)
//   LLMUX_STATE       a Durable Object namespace of LlmuxStateObject: cooldowns, usage and
//                     latency shared by every isolate (durableObjectStore)
import { Router, durableObjectStore, workersKvCache } from "llmux";

// The Durable Object class behind LLMUX_STATE (exported so wrangler can bind it).
export { LlmuxStateObject } from "llmux";

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
    ...(env.LLMUX_CACHE ? { cache_responses: true, cache: workersKvCache(env.LLMUX_CACHE) } : {}),
    ...(env.LLMUX_STATE ? { state: durableObjectStore(env.LLMUX_STATE) } : {}),
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
    // router.fetch hands the shared-state sync to ctx.waitUntil after the response.
    return router.fetch(request, env, ctx);
  },
};
