// The esbuild variant with `llmux/wasm`: the .wasm imported through esbuild's `file` loader (a
// URL to the copied asset), handed to init(); then the same routed call as main.js.
import wasmUrl from "llmux/llmux_bg.wasm";
import { errors, init } from "llmux/wasm";

const { Router } = await init(new URL(wasmUrl, import.meta.url));
const out = document.getElementById("result");
const name = document.documentElement.dataset.bundler;
const router = new Router({
  model_list: [
    {
      model_name: "chat",
      litellm_params: {
        model: "openai/gpt-4o-mini",
        api_base: `${location.origin}/bundle-${name}/v1`,
        api_key: "sk-bundle",
      },
      model_info: { id: `${name}-a` },
    },
  ],
});
const res = await router.completion({ model: "chat", messages: [{ role: "user", content: "hi" }] });
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
out.dataset.done = "1";
