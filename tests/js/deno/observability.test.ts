// Tier 3b: observability in Deno against the loopback mock: llmux/otel spans recorded by the
// OpenTelemetry SDK (npm packages from node_modules), LiteLLM-style callbacks and metrics().
// @ts-types="../../../js/index.d.ts"
import { Router } from "../../../js/browser.js";
import { instrument } from "../../../js/otel.js";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { MeterProvider } from "@opentelemetry/sdk-metrics";

const MOCK_URL = Deno.env.get("MOCK_URL") ?? "";
if (!MOCK_URL.startsWith("http://127.0.0.1:")) {
  throw new Error("MOCK_URL is not set: run `node tests/js/deno/run.mjs`");
}

function assert(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

Deno.test("llmux/otel, callbacks and metrics() in Deno", async () => {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  }).getTracer("deno-test");
  const meter = new MeterProvider().getMeter("deno-test");
  const payloads: any[] = [];
  const router = new Router({
    model_list: [
      {
        model_name: "chat",
        litellm_params: {
          model: "openai/mock-deno-obs",
          api_base: `${MOCK_URL}/deno-obs/v1`,
          api_key: "sk-deno-obs-secret",
        },
        model_info: { id: "deno-obs" },
      },
    ],
    success_callback: [(kwargs: any) => payloads.push(kwargs.standard_logging_object)],
  });
  const stop = instrument(router, { tracer, meter });
  const res: any = await router.completion({
    model: "chat",
    messages: [{ role: "user", content: "hi" }],
    metadata: { run: "deno" },
  });
  stop();
  const spans = exporter.getFinishedSpans();
  const call = spans.find((s: any) => s.name === "chat chat");
  assert(call, `a call span among ${spans.map((s: any) => s.name)}`);
  assert(call.attributes["gen_ai.usage.input_tokens"] === res.usage.prompt_tokens, "tokens");
  const attempt = spans.find((s: any) => s.name === "chat mock-deno-obs");
  assert(attempt, "an attempt span");
  assert(payloads.length === 1 && payloads[0].metadata.run === "deno", "the payload's metadata");
  const text = await router.metrics();
  assert(
    /litellm_deployment_success_responses_total\{[^}]*model_id="deno-obs"[^}]*\} 1\n/.test(text),
    text,
  );
  assert(
    !JSON.stringify([payloads, spans.map((s: any) => s.attributes), text]).includes(
      "sk-deno-obs-secret",
    ),
    "no key",
  );
});
