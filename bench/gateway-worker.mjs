// The Worker run by bench/gateway.mjs under Miniflare. `/proxy/...` is a minimal proxy (read the
// body, fetch the mock, stream its reply back); every other path is `router.fetch` (the gateway)
// over one mock deployment. MOCK_URL arrives as a binding.
import { Router } from "../js/workerd.js";
import { API_KEY, GATEWAY_KEY, deploymentName, routerOptions } from "./harness.mjs";

/** @type {InstanceType<typeof Router> | undefined} */
let router;

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname.startsWith("/proxy/")) {
      const upstream = await fetch(`${env.MOCK_URL}/${deploymentName(0)}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${API_KEY}` },
        body: await request.text(),
      });
      return new Response(upstream.body, {
        status: upstream.status,
        headers: { "content-type": "application/json" },
      });
    }
    router ??= new Router({
      ...routerOptions(env.MOCK_URL, 1),
      gateway: { master_key: GATEWAY_KEY },
    });
    return router.fetch(request, env, ctx);
  },
};
