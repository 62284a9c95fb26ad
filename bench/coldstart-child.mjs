// One fresh process of bench/coldstart.mjs: import llmux, `new Router` with 10 deployments, the
// first routed call over a fake fetch; prints the three phases (ms) as one JSON line.
// Node loads its web classes (undici's Response, Headers, AbortController) and node:crypto on
// first touch, tens of ms that any app's first request pays with or without llmux: they are
// touched before the clock starts, so the figures are llmux's own.
await new Response("{}", { headers: new Headers({ "content-type": "application/json" }) }).json();
new AbortController().abort();
crypto.getRandomValues(new Uint8Array(8));
await new Promise((resolve) => setTimeout(resolve, 0));
const t0 = performance.now();
const { Router } = await import(process.argv[2] ?? "../js/node.js");
const t1 = performance.now();

const reply = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 },
});
const fetch = async () => new Response(reply, { headers: { "content-type": "application/json" } });
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
  fetch,
});
const t2 = performance.now();
const res = await router.completion({
  model: "chat",
  messages: [{ role: "user", content: "hi" }],
});
const t3 = performance.now();
if (res.choices[0].message.content !== "ok") throw new Error("unexpected reply");
console.log(
  JSON.stringify({
    import: t1 - t0,
    router: t2 - t1,
    first_call: t3 - t2,
    total: t3 - t0,
    priced: res._hidden_params.response_cost > 0,
  }),
);
