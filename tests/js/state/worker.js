// A Worker holding Routers across requests (as a real isolate does), sharing routing state
// through a KV namespace (STATE_KV) or a Durable Object (LLMUX_STATE). Two copies of this
// Worker run side by side in Miniflare (state.workerd.test.mjs).
//   POST /init   { options }                  one Router per store kind, built from options
//   POST /chat   { store, model }             -> { ok, id } | { ok: false, error }
//   POST /sync   { store }                    awaits router.syncState()
//   POST /stats  { store }                    -> getUsageStats()
import {
  Router,
  workersKvStore,
  durableObjectStore,
  LlmuxStateObject,
} from "../../../js/workerd.js";

export { LlmuxStateObject };

const routers = {};
const warnings = [];

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.json() : {};
    if (url.pathname === "/init") {
      const logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} };
      routers.kv = new Router({ ...body.options, logger, state: workersKvStore(env.STATE_KV) });
      routers.do = new Router({
        ...body.options,
        logger,
        state: durableObjectStore(env.LLMUX_STATE),
      });
      return Response.json({ ok: true });
    }
    const router = routers[body.store];
    if (!router) return Response.json({ ok: false, error: "not initialised" }, { status: 400 });
    if (url.pathname === "/chat") {
      try {
        const res = await router.completion({
          model: body.model ?? "chat",
          messages: [{ role: "user", content: "hi" }],
        });
        ctx.waitUntil(router.flushState());
        return Response.json({ ok: true, id: res._hidden_params.model_id });
      } catch (e) {
        return Response.json({ ok: false, error: e.name, message: e.message });
      }
    }
    if (url.pathname === "/sync") {
      await router.syncState();
      return Response.json({ ok: true });
    }
    if (url.pathname === "/stats") {
      return Response.json({ ok: true, stats: await router.getUsageStats(), warnings });
    }
    return new Response("not found", { status: 404 });
  },
};
