// Worker for tests/js/workerd/realtime.test.mjs: realtime in workerd, where a WebSocket with
// headers is opened with fetch (`Upgrade: websocket`) and `response.webSocket.accept()`.
//   GET /direct       → router.realtime("voice"): { model_id, first, echo, busy } after a
//                       session.created, an echoed event and a close
//   everything else   → router.fetch (the gateway, with GET /v1/realtime)
import { Router } from "../../../js/workerd.js";

let router;
function routerOf(env) {
  router ??= new Router({
    model_list: [
      {
        model_name: "voice",
        litellm_params: {
          model: "openai/rt-x",
          api_base: env.BUSY_URL,
          api_key: env.KEY,
          order: 1,
        },
        model_info: { id: "busy" },
      },
      {
        model_name: "voice",
        litellm_params: {
          model: "openai/rt-a",
          api_base: env.GOOD_URL,
          api_key: env.KEY,
          order: 2,
        },
        model_info: { id: "good" },
      },
      {
        model_name: "private",
        litellm_params: { model: "openai/rt-a", api_base: env.GOOD_URL, api_key: env.KEY },
        model_info: { id: "private" },
      },
    ],
    allowed_fails: 0,
    num_retries: 2,
    gateway: { keys: { "os.environ/GW_KEY": { models: ["voice"] } } },
    env,
  });
  return router;
}

const nextMessage = (socket) =>
  new Promise((resolve, reject) => {
    socket.addEventListener("message", (e) => resolve(JSON.parse(e.data)), { once: true });
    socket.addEventListener("close", () => reject(new Error("closed")), { once: true });
  });

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const r = routerOf(env);
    if (url.pathname !== "/direct") return r.fetch(request, env, ctx);
    try {
      const socket = await r.realtime("voice");
      const first = await nextMessage(socket);
      socket.send(JSON.stringify({ type: "response.create" }));
      const echo = await nextMessage(socket);
      // The close handshake ends inside this request (a socket outliving it would be cut).
      const closed = new Promise((resolve) =>
        socket.addEventListener("close", resolve, { once: true }),
      );
      socket.close(1000, "done");
      await closed;
      const busy = r.getDeploymentStatus().find((d) => d.id === "busy")?.status;
      return Response.json({ model_id: socket._hidden_params.model_id, first, echo, busy });
    } catch (e) {
      return Response.json({ error: e.name, message: e.message }, { status: 500 });
    }
  },
};
