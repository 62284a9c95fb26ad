// Run by otel.test.mjs under `deno run` with OTEL_DENO=true: llmux/otel with no tracer or meter
// given, so it records into Deno's built-in OpenTelemetry (the global providers Deno registers
// for @opentelemetry/api), which exports OTLP to the test's receiver when the process exits.
// MOCK_BASE: the mock provider's URL. One call whose first deployment answers 429 and whose
// fallback answers.
import { Router } from "../../../js/browser.js";
import { instrument } from "../../../js/otel.js";

const base = Deno.env.get("MOCK_BASE");
const deployment = (group, name) => ({
  model_name: group,
  litellm_params: {
    model: `openai/mock-${name}`,
    api_base: `${base}/${name}/v1`,
    api_key: "sk-deno-otel-secret",
  },
  model_info: { id: name },
});
const router = new Router({
  model_list: [deployment("chat", "deno-otel-a"), deployment("backup", "deno-otel-b")],
  num_retries: 0,
  fallbacks: [{ chat: ["backup"] }],
});
instrument(router);
const res = await router.completion({ model: "chat", messages: [{ role: "user", content: "hi" }] });
console.log(JSON.stringify({ model_id: res._hidden_params.model_id, usage: res.usage }));
