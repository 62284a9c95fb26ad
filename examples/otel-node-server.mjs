// An OpenTelemetry-instrumented OpenAI-compatible gateway on node:http:
// `node examples/otel-node-server.mjs`. Each HTTP request gets a SERVER span; the router's call
// spans (llmux/otel: GenAI semantic conventions) and their per-attempt spans nest under it, and
// the gen_ai.client.* histograms go to the meter. Spans and metrics print to the console here:
// swap the exporters for OTLP ones (@opentelemetry/exporter-trace-otlp-http, …) in production.
// Prometheus can scrape GET /metrics with the master key (gateway.metrics).
//
//   LLMUX_MASTER_KEY, OPENAI_API_KEY, OPENAI_BASE_URL, PORT, HOST: as examples/node/server.mjs
//   (npm install @opentelemetry/api @opentelemetry/sdk-trace-base @opentelemetry/sdk-metrics
//   @opentelemetry/context-async-hooks in your own project)
import http from "node:http";
import { fileURLToPath } from "node:url";
import { SpanKind, SpanStatusCode, context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { instrument } from "llmux/otel";
import { createRouter, nodeListener } from "./node/server.mjs";

/**
 * Starts the gateway with tracing; resolves once listening. `spanExporter` and `metricReader`
 * default to the console ones.
 */
export async function start({
  port = 8787,
  host = "127.0.0.1",
  env = process.env,
  spanExporter = new ConsoleSpanExporter(),
  metricReader = new PeriodicExportingMetricReader({
    exporter: new ConsoleMetricExporter(),
    exportIntervalMillis: 60_000,
  }),
} = {}) {
  // The context manager carries the active span across awaits, so the router's spans find
  // the request's span as their parent.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spanExporter)],
  });
  const meterProvider = new MeterProvider({ readers: [metricReader] });
  const tracer = tracerProvider.getTracer("llmux-gateway-example");
  const router = createRouter(env);
  const uninstrument = instrument(router, {
    tracer,
    meter: meterProvider.getMeter("llmux"),
    captureContent: env.OTEL_CAPTURE_CONTENT === "true",
  });
  const listener = nodeListener(router);
  const server = http.createServer((req, res) => {
    const span = tracer.startSpan(`${req.method} ${req.url.split("?")[0]}`, {
      kind: SpanKind.SERVER,
      attributes: { "http.request.method": req.method, "url.path": req.url.split("?")[0] },
    });
    res.once("close", () => {
      span.setAttribute("http.response.status_code", res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(context.active(), span), () => listener(req, res));
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const url = `http://${host}:${server.address().port}`;
  const close = async () => {
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await closed;
    uninstrument();
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  };
  return { server, url, close, router };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.env.LLMUX_MASTER_KEY)
    console.warn("LLMUX_MASTER_KEY is not set: every request gets a 401");
  const { url } = await start({ port: Number(process.env.PORT ?? 8787), host: process.env.HOST });
  console.log(`llmux gateway with OpenTelemetry on ${url}/v1 (metrics: ${url}/metrics)`);
}
