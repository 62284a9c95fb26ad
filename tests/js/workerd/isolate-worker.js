// One isolate of isolates.test.mjs: a Router made at module scope (where workerd refuses random
// values and freezes the clock), then /picks routes 32 calls over a fake fetch and reports which
// of the group's two deployments answered each, plus whether entropy was refused at load.
import { Router } from "../../../js/workerd.js";

let globalRandomRefused = false;
try {
  crypto.getRandomValues(new Uint8Array(8));
} catch {
  globalRandomRefused = true;
}
// Production Workers freeze the clock at global scope; Miniflare's advances, so two isolates
// loaded a few ms apart would seed differently from it by luck. Freeze it here while the Router
// is made, as in production, so only real entropy can tell the isolates apart.
const realNow = Date.now;
Date.now = () => 0;
const globalClock = Date.now();

const reply = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

const router = new Router({
  model_list: ["a", "b"].map((id) => ({
    model_name: "chat",
    litellm_params: { model: "openai/m", api_base: `https://${id}.test/v1`, api_key: "k" },
    model_info: { id },
  })),
  fetch: async () => new Response(reply, { headers: { "content-type": "application/json" } }),
});
Date.now = realNow;

export default {
  async fetch() {
    let picks = "";
    for (let i = 0; i < 32; i++) {
      const res = await router.completion({
        model: "chat",
        messages: [{ role: "user", content: "hi" }],
      });
      picks += res._hidden_params.model_id;
    }
    return Response.json({ picks, globalRandomRefused, globalClock });
  },
};
