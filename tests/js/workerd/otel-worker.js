// A Worker using llmux/otel with the OpenTelemetry SDK's in-memory exporters, bundled by
// esbuild in otel.test.mjs with @opentelemetry/api (the .wasm stays a CompiledWasm module).
// GET /run?stream=0|1: one call whose first deployment fails and whose fallback answers
// (streamed or not); answers the finished spans and the gen_ai.client.* histograms as JSON.
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { Router } from "../../../js/workerd.js";
import { instrument } from "../../../js/otel.js";

const dep = (env, group, name) => ({
  model_name: group,
  litellm_params: {
    model: `openai/mock-${name}`,
    api_base: `${env.MOCK_URL}/${name}/v1`,
    api_key: "sk-wd-otel-secret",
  },
  model_info: { id: name },
});

export default {
  async fetch(request, env) {
    const stream = new URL(request.url).searchParams.get("stream") === "1";
    const exporter = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    }).getTracer("workerd-test");
    const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({
      exporter: metricExporter,
      exportIntervalMillis: 3_600_000,
    });
    const meterProvider = new MeterProvider({ readers: [reader] });
    const router = new Router({
      model_list: [dep(env, "chat", "wd-otel-a"), dep(env, "backup", "wd-otel-b")],
      fallbacks: [{ chat: ["backup"] }],
      num_retries: 0,
    });
    const stop = instrument(router, { tracer, meter: meterProvider.getMeter("workerd-test") });
    const messages = [{ role: "user", content: "hi" }];
    let usage;
    if (stream) {
      const s = await router.completion({
        model: "chat",
        messages,
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of s) usage = chunk.usage ?? usage;
    } else {
      usage = (await router.completion({ model: "chat", messages })).usage;
    }
    stop();
    await reader.forceFlush();
    const spans = exporter.getFinishedSpans().map((s) => ({
      name: s.name,
      kind: s.kind,
      spanId: s.spanContext().spanId,
      traceId: s.spanContext().traceId,
      parent: s.parentSpanContext?.spanId ?? s.parentSpanId ?? null,
      attributes: s.attributes,
      status: s.status.code,
      events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    }));
    const last = metricExporter.getMetrics().at(-1);
    const histograms = {};
    for (const sm of last?.scopeMetrics ?? [])
      for (const m of sm.metrics)
        histograms[m.descriptor.name] = m.dataPoints.map((p) => ({
          attributes: p.attributes,
          count: p.value.count,
          sum: p.value.sum,
        }));
    await meterProvider.shutdown();
    return Response.json({ usage, spans, histograms });
  },
};
