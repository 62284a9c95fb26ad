// Worker for tests/js/workerd/obs.test.mjs: one Router per isolate (module scope, as a real
// Worker keeps it) with LiteLLM-style callbacks and the gateway's /metrics behind the master key.
//   POST /call        { model } → { ok, model_id } (a chat completion through the router)
//   GET  /payloads    → the success_callback payloads seen by this isolate
//   anything else     → router.fetch (so GET /metrics is the gateway's)
import { Router } from "../../../js/workerd.js";

let router = null;
const payloads = [];

function routerOf(env) {
  router ??= new Router({
    model_list: [
      {
        model_name: "chat",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_base: `${env.MOCK_URL}/wa/v1`,
          api_key: "os.environ/UPSTREAM_KEY",
        },
        model_info: { id: "wa" },
      },
    ],
    env: { UPSTREAM_KEY: env.UPSTREAM_KEY },
    success_callback: [(kwargs) => payloads.push(kwargs.standard_logging_object)],
    gateway: { master_key: "sk-obs-master" },
  });
  return router;
}

const json = (value, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

export default {
  async fetch(request, env, ctx) {
    const r = routerOf(env);
    const url = new URL(request.url);
    if (url.pathname === "/call") {
      const { model } = await request.json();
      const res = await r.completion({ model, messages: [{ role: "user", content: "hi" }] });
      return json({ ok: true, model_id: res._hidden_params.model_id });
    }
    if (url.pathname === "/payloads") return json(payloads);
    return r.fetch(request, env, ctx);
  },
};
