// A gateway with the dashboard for the dashboard tests, as a Worker module (workerd) that Node
// also imports; its config is dashboard-config.js (env.MOCK_URL: the loopback mock).
import { Router } from "llmux";
import { dashboardConfig } from "./dashboard-config.js";

let router;
export default {
  fetch(request, env, ctx) {
    router ??= new Router({ ...dashboardConfig(env.MOCK_URL), env });
    return router.fetch(request, env, ctx);
  },
};
