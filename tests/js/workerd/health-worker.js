// Worker for tests/js/workerd/health.test.mjs: a Router with a background health probe built at
// global scope (where workerd allows no timers), and one per env probed from `scheduled()`.
//   scheduled      → router.runBackgroundHealthChecks() on the env's router
//   POST /chat     → one completion on the env's router → { id } (the deployment that answered)
//   GET /global    → { ok } once the global-scope Router was built without throwing
//   POST /do/arm, POST /do/chat → the HealthObject Durable Object, which owns a Router and
//                    probes it from its alarm (README, "Health-check routing")
import { Router } from "../../../js/workerd.js";

const globalRouter = new Router({
  model_list: [
    {
      model_name: "chat",
      litellm_params: { model: "openai/x", api_key: "k", api_base: "http://127.0.0.1:9/v1" },
    },
  ],
  enable_health_check_routing: true,
  background_health_check_model_groups: ["chat"],
  health_check_interval: 1,
});

let router;
function routerOf(env) {
  router ??= new Router({
    model_list: ["a", "b"].map((name) => ({
      model_name: "chat",
      litellm_params: {
        model: "openai/gpt-4o-mini",
        api_base: `${env.MOCK_URL}/${name}/v1`,
        api_key: "k",
      },
      model_info: { id: name },
    })),
    enable_health_check_routing: true,
    background_health_check_model_groups: ["chat"],
    health_check_interval: 1,
  });
  return router;
}

const json = (value) =>
  new Response(JSON.stringify(value), { headers: { "content-type": "application/json" } });

/** A Durable Object that owns a Router and runs its probe from an alarm that re-arms itself. */
export class HealthObject {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.alarms = 0;
    this.router = new Router({
      model_list: ["do-a", "do-b"].map((name) => ({
        model_name: "chat",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_base: `${env.MOCK_URL}/${name}/v1`,
          api_key: "k",
        },
        model_info: { id: name },
      })),
      enable_health_check_routing: true,
      background_health_check_model_groups: ["chat"],
      health_check_interval: 1,
    });
  }
  async alarm() {
    await this.router.runBackgroundHealthChecks();
    this.alarms += 1;
    await this.ctx.storage.setAlarm(Date.now() + 300_000);
  }
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname === "/do/arm") {
      await this.ctx.storage.setAlarm(Date.now() + 50);
      return json({ ok: true });
    }
    if (pathname === "/do/alarms") return json({ alarms: this.alarms });
    const res = await this.router.completion({
      model: "chat",
      messages: [{ role: "user", content: "hi" }],
    });
    return json({ id: res._hidden_params.model_id });
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/do/")) {
      return env.HEALTH_DO.get(env.HEALTH_DO.idFromName("one")).fetch(request);
    }
    if (pathname === "/global") return json({ ok: globalRouter.getModelNames().length === 1 });
    const res = await routerOf(env).completion({
      model: "chat",
      messages: [{ role: "user", content: "hi" }],
    });
    return json({ id: res._hidden_params.model_id });
  },
  async scheduled(event, env, ctx) {
    ctx.waitUntil(routerOf(env).runBackgroundHealthChecks());
  },
};
