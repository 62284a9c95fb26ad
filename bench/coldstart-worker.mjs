// workerd side of bench/coldstart.mjs: the same app as coldstart-child.mjs, as a Worker whose
// first request builds the Router and routes one call over a fake fetch. `?baseline` answers
// without llmux (bench/coldstart-baseline.mjs is the same Worker with no llmux import at all).
import { Router } from "../js/workerd.js";

const reply = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 },
});

export default {
  async fetch() {
    const router = new Router({
      model_list: Array.from({ length: 10 }, (_, i) => ({
        model_name: i < 5 ? "chat" : "other",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_base: `https://upstream-${i}.test/v1`,
          api_key: `sk-${i}`,
          rpm: 100 + i,
        },
      })),
      fetch: async () => new Response(reply, { headers: { "content-type": "application/json" } }),
    });
    const res = await router.completion({
      model: "chat",
      messages: [{ role: "user", content: "hi" }],
    });
    return new Response(res.choices[0].message.content);
  },
};
