// The smoke app every bundler builds: `import … from "llmux"` (the browser condition) and one
// routed call to the mock on the page's own origin; the outcome goes into #result as JSON.
import { Router, errors } from "llmux";

const out = document.getElementById("result");
const name = document.documentElement.dataset.bundler;
try {
  const router = new Router({
    model_list: ["a", "b"].map((id) => ({
      model_name: "chat",
      litellm_params: {
        model: "openai/gpt-4o-mini",
        api_base: `${location.origin}/bundle-${name}/v1`,
        api_key: "sk-bundle",
      },
      model_info: { id: `${name}-${id}` },
    })),
    num_retries: 0,
  });
  const res = await router.completion({
    model: "chat",
    messages: [{ role: "user", content: "hi" }],
  });
  let field = null;
  try {
    new Router({ model_list: [{ model_name: "x", litellm_params: { model: "" } }] });
  } catch (e) {
    field = e instanceof errors.ConfigError ? e.field : String(e);
  }
  out.textContent = JSON.stringify({
    content: res.choices[0].message.content,
    model_id: res._hidden_params.model_id,
    cost: res._hidden_params.response_cost,
    field,
  });
} catch (e) {
  out.textContent = JSON.stringify({ error: String(e?.stack ?? e) });
}
out.dataset.done = "1";
