// llmux/otel end to end against the mock over real HTTP, recorded by the OpenTelemetry SDK's
// in-memory exporters: the span tree, GenAI attributes, retry and fallback events, an error
// span, streams, and the gen_ai.client.* histograms; and Deno's built-in OpenTelemetry
// (OTEL_DENO=true) exporting the same spans and histograms over OTLP to a loopback receiver.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { after, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
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

import { instrument } from "../../../js/otel.js";
import { T, chatRequest, errors, routerOver, startMockServer } from "./fixture.mjs";

const run = promisify(execFile);
const mock = await startMockServer();
after(() => mock.close());

const spans = new InMemorySpanExporter();
const tracer = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(spans)],
}).getTracer("test");
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000,
});
const meterProvider = new MeterProvider({ readers: [reader] });
const meter = meterProvider.getMeter("test");
after(() => meterProvider.shutdown());

beforeEach(() => {
  mock.reset();
  spans.reset();
});

const byName = (name) => spans.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (s) => s.parentSpanContext?.spanId ?? s.parentSpanId;

async function histogram(name) {
  await reader.forceFlush();
  const all = metricExporter.getMetrics();
  const last = all[all.length - 1];
  for (const sm of last?.scopeMetrics ?? [])
    for (const m of sm.metrics) if (m.descriptor.name === name) return m;
  return undefined;
}

describe("llmux/otel", () => {
  it("one CLIENT span per call, one child per attempt, a retry event", T, async () => {
    const router = routerOver(mock, { chat: ["a"] }, { num_retries: 2, retry_after: 0 });
    const stop = instrument(router, { tracer, meter });
    mock.script("a", { error: "server" });
    const res = await router.completion(chatRequest("chat", { temperature: 0.5 }));
    stop();
    const [call] = byName("chat chat");
    assert.ok(call, "the call span");
    assert.equal(call.kind, SpanKind.CLIENT);
    const a = call.attributes;
    assert.equal(a["gen_ai.operation.name"], "chat");
    assert.equal(a["gen_ai.provider.name"], "openai");
    assert.equal(a["gen_ai.request.model"], "chat");
    assert.equal(a["gen_ai.response.model"], res.model);
    assert.equal(a["gen_ai.request.temperature"], 0.5);
    assert.equal(a["gen_ai.usage.input_tokens"], res.usage.prompt_tokens);
    assert.equal(a["gen_ai.usage.output_tokens"], res.usage.completion_tokens);
    assert.equal(a["llmux.deployment_id"], "a");
    assert.equal(a["llmux.retries"], 1);
    assert.equal(a["gen_ai.input.messages"], undefined, "content is off by default");
    const attempts = byName("chat mock-a");
    assert.equal(attempts.length, 2);
    assert.equal(mock.callsTo("a").length, 2);
    for (const s of attempts) {
      assert.equal(parentOf(s), call.spanContext().spanId);
      assert.equal(s.spanContext().traceId, call.spanContext().traceId);
      assert.equal(s.attributes["llmux.deployment_id"], "a");
    }
    const [failed, ok] = attempts.sort(
      (x, y) => x.attributes["llmux.attempt"] - y.attributes["llmux.attempt"],
    );
    assert.equal(failed.status.code, SpanStatusCode.ERROR);
    assert.equal(failed.attributes["error.type"], "InternalServerError");
    assert.equal(failed.attributes["http.response.status_code"], 500);
    assert.equal(ok.status.code, SpanStatusCode.UNSET);
    const retry = call.events.find((e) => e.name === "llmux.retry");
    assert.ok(retry, "a retry event");
    assert.equal(retry.attributes["error.type"], "InternalServerError");
    assert.equal(retry.attributes["llmux.deployment_id"], "a");
  });

  it(
    "a fallback is an event and its attempt a child span; an error span on failure",
    T,
    async () => {
      const router = routerOver(
        mock,
        { chat: ["a"], backup: ["b"], lone: ["c"] },
        { num_retries: 0, fallbacks: [{ chat: ["backup"] }] },
      );
      const stop = instrument(router, { tracer, meter });
      mock.script("a", { error: "rate_limit" });
      await router.completion(chatRequest());
      mock.script("c", { error: "auth" });
      await assert.rejects(router.completion(chatRequest("lone")), errors.AuthenticationError);
      stop();
      const [call] = byName("chat chat");
      const fallback = call.events.find((e) => e.name === "llmux.fallback");
      assert.deepEqual(
        [fallback.attributes["llmux.fallback.from"], fallback.attributes["llmux.fallback.to"]],
        ["chat", "backup"],
      );
      assert.equal(fallback.attributes["error.type"], "RateLimitError");
      assert.equal(call.attributes["llmux.fallback_model_group"], "backup");
      assert.equal(call.attributes["llmux.deployment_id"], "b");
      const children = spans
        .getFinishedSpans()
        .filter((s) => parentOf(s) === call.spanContext().spanId)
        .map((s) => s.attributes["llmux.deployment_id"]);
      assert.deepEqual(children.sort(), ["a", "b"]);
      const [lone] = byName("chat lone");
      assert.equal(lone.status.code, SpanStatusCode.ERROR);
      assert.equal(lone.attributes["error.type"], "AuthenticationError");
    },
  );

  it("a stream's span ends when the stream ends; content when asked", T, async () => {
    const router = routerOver(mock, { chat: ["a"] });
    const stop = instrument(router, { tracer, meter, captureContent: true });
    const stream = await router.completion(
      chatRequest("chat", { stream: true, stream_options: { include_usage: true } }),
    );
    assert.equal(byName("chat chat").length, 0, "open while the stream is read");
    let n = 0;
    for await (const _ of stream) n++;
    assert.ok(n > 1);
    const [call] = byName("chat chat");
    assert.ok(call);
    assert.ok(call.attributes["gen_ai.usage.output_tokens"] > 0);
    assert.equal(call.attributes["gen_ai.input.messages"], JSON.stringify(chatRequest().messages));
    const [attempt] = byName("chat mock-a");
    assert.equal(parentOf(attempt), call.spanContext().spanId);
    stop();
  });

  it("a cancelled stream ends its span", T, async () => {
    const router = routerOver(mock, { chat: ["a"] });
    const stop = instrument(router, { tracer, meter });
    mock.script("a", {
      sse: Array.from({ length: 50 }, () => ({ choices: [{ index: 0, delta: { content: "x" } }] })),
      chunk_delay_ms: 20,
    });
    const stream = await router.completion(chatRequest("chat", { stream: true }));
    for await (const _ of stream) break;
    const deadline = Date.now() + 3000;
    while (byName("chat chat").length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(byName("chat chat").length, 1);
    stop();
  });

  it("records gen_ai.client.operation.duration and gen_ai.client.token.usage", T, async () => {
    const router = routerOver(mock, { metered: ["m"] });
    const stop = instrument(router, { tracer, meter });
    const res = await router.completion(chatRequest("metered"));
    stop();
    const duration = await histogram("gen_ai.client.operation.duration");
    assert.equal(duration.descriptor.unit, "s");
    const point = duration.dataPoints.find(
      (p) => p.attributes["gen_ai.request.model"] === "metered",
    );
    assert.equal(point.value.count, 1);
    assert.equal(point.attributes["gen_ai.operation.name"], "chat");
    assert.equal(point.attributes["gen_ai.provider.name"], "openai");
    const usage = await histogram("gen_ai.client.token.usage");
    const mine = usage.dataPoints.filter((p) => p.attributes["gen_ai.request.model"] === "metered");
    const of = (type) => mine.find((p) => p.attributes["gen_ai.token.type"] === type).value.sum;
    assert.equal(of("input"), res.usage.prompt_tokens);
    assert.equal(of("output"), res.usage.completion_tokens);
  });
});

describe("examples/otel-node-server.mjs", () => {
  it("nests the router's spans under the HTTP request's span and serves /metrics", T, async () => {
    const { start } = await import("../../../examples/otel-node-server.mjs");
    const exporter = new InMemorySpanExporter();
    const gw = await start({
      port: 0,
      env: {
        LLMUX_MASTER_KEY: "sk-example-master",
        OPENAI_API_KEY: "sk-upstream-secret",
        OPENAI_BASE_URL: mock.base("example"),
      },
      spanExporter: exporter,
      metricReader: new PeriodicExportingMetricReader({
        exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
        exportIntervalMillis: 3_600_000,
      }),
    });
    try {
      const auth = {
        authorization: "Bearer sk-example-master",
        "content-type": "application/json",
      };
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify(chatRequest("gpt-4o-mini")),
      });
      assert.equal(res.status, 200);
      await res.json();
      const metrics = await fetch(`${gw.url}/metrics`, { headers: auth });
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /litellm_deployment_success_responses_total\{/);
      assert.equal((await fetch(`${gw.url}/metrics`)).status, 401);
      const finished = exporter.getFinishedSpans();
      const server = finished.find((s) => s.name === "POST /v1/chat/completions");
      // The upstream model is named like the group: the call and its attempt share a name.
      const call = finished.find(
        (s) => s.name === "chat gpt-4o-mini" && parentOf(s) === server?.spanContext().spanId,
      );
      assert.ok(server && call, finished.map((s) => s.name).join(", "));
      assert.equal(call.attributes["llmux.call_id"] !== undefined, true);
      assert.equal(call.attributes["gen_ai.provider.name"], "openai");
      const attempt = finished.find((s) => parentOf(s) === call.spanContext().spanId);
      assert.ok(attempt, "the attempt span");
      assert.equal(
        JSON.stringify(finished.map((s) => s.attributes)).includes("sk-upstream-secret"),
        false,
      );
    } finally {
      await gw.close();
    }
  });
});

/** An OTLP/HTTP JSON receiver on a loopback port: every body POSTed to /v1/{traces,metrics}. */
async function otlpReceiver() {
  const http = await import("node:http");
  const got = { traces: [], metrics: [] };
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on("data", (d) => parts.push(d));
    req.on("end", () => {
      const kind = req.url?.replace(/^\/v1\//, "");
      if (kind === "traces" || kind === "metrics")
        got[kind].push(JSON.parse(Buffer.concat(parts).toString("utf8")));
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    got,
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** OTLP JSON attributes ([{ key, value: { stringValue | intValue | … } }]) as an object. */
const attrs = (list = []) =>
  Object.fromEntries(
    list.map(({ key, value }) => {
      const v = value.stringValue ?? value.boolValue ?? value.doubleValue ?? value.intValue;
      return [key, value.intValue !== undefined ? Number(v) : v];
    }),
  );

const denoBin = new URL("../../../node_modules/.bin/deno", import.meta.url);

describe("Deno's built-in OpenTelemetry (OTEL_DENO=true)", () => {
  it(
    "instrument(router) with no tracer or meter exports the call and attempt spans and both histograms over OTLP",
    { timeout: 60_000, skip: !existsSync(denoBin) && "deno is not installed" },
    async () => {
      const receiver = await otlpReceiver();
      try {
        mock.script("deno-otel-a", { error: "rate_limit" });
        const { stdout } = await run(
          denoBin.pathname,
          [
            "run",
            "--no-lock",
            "--allow-net=127.0.0.1",
            "--allow-env",
            "--allow-read",
            fileURLToPath(new URL("./deno-otel-app.mjs", import.meta.url)),
          ],
          {
            cwd: fileURLToPath(new URL("../../../", import.meta.url)),
            timeout: 45_000,
            env: {
              ...process.env,
              NO_COLOR: "1",
              OTEL_DENO: "true",
              OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
              OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
              OTEL_SERVICE_NAME: "llmux-deno-test",
              MOCK_BASE: mock.url,
            },
          },
        );
        const answer = JSON.parse(stdout.trim().split("\n").at(-1));
        assert.equal(answer.model_id, "deno-otel-b");
        assert.equal(mock.callsTo("deno-otel-a").length, 1);
        assert.equal(mock.callsTo("deno-otel-b").length, 1);
        const spans = receiver.got.traces.flatMap((t) =>
          t.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
        );
        const call = spans.find((s) => s.name === "chat chat");
        assert.ok(call, `the call span among ${spans.map((s) => s.name)}`);
        assert.equal(call.kind, 3, "SpanKind CLIENT (OTLP 3)");
        const a = attrs(call.attributes);
        assert.equal(a["gen_ai.operation.name"], "chat");
        assert.equal(a["gen_ai.request.model"], "chat");
        assert.equal(a["gen_ai.provider.name"], "openai");
        assert.equal(a["gen_ai.response.model"], "mock-deno-otel-b");
        assert.equal(a["gen_ai.usage.input_tokens"], answer.usage.prompt_tokens);
        assert.equal(a["gen_ai.usage.output_tokens"], answer.usage.completion_tokens);
        assert.equal(a["llmux.fallback_model_group"], "backup");
        const fallback = call.events.find((e) => e.name === "llmux.fallback");
        assert.ok(fallback, "the fallback event");
        assert.equal(attrs(fallback.attributes)["error.type"], "RateLimitError");
        const children = spans.filter((s) => s.parentSpanId === call.spanId);
        assert.deepEqual(children.map((s) => s.name).sort(), [
          "chat mock-deno-otel-a",
          "chat mock-deno-otel-b",
        ]);
        const failed = children.find((s) => s.name === "chat mock-deno-otel-a");
        assert.equal(attrs(failed.attributes)["error.type"], "RateLimitError");
        assert.equal(attrs(failed.attributes)["http.response.status_code"], 429);
        assert.equal(failed.status.code, 2, "status ERROR (OTLP 2)");
        for (const s of children) assert.equal(s.traceId, call.traceId);
        const metrics = receiver.got.metrics.flatMap((m) =>
          m.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)),
        );
        const duration = metrics.find((m) => m.name === "gen_ai.client.operation.duration");
        assert.ok(duration, `the duration histogram among ${metrics.map((m) => m.name)}`);
        assert.equal(duration.unit, "s");
        const point = duration.histogram.dataPoints[0];
        assert.equal(Number(point.count), 1);
        assert.equal(attrs(point.attributes)["gen_ai.request.model"], "chat");
        const tokens = metrics.find((m) => m.name === "gen_ai.client.token.usage");
        assert.ok(tokens, "the token histogram");
        const byType = Object.fromEntries(
          tokens.histogram.dataPoints.map((p) => [attrs(p.attributes)["gen_ai.token.type"], p]),
        );
        assert.equal(Number(byType.input.sum), answer.usage.prompt_tokens);
        assert.equal(Number(byType.output.sum), answer.usage.completion_tokens);
        const all = JSON.stringify(receiver.got);
        assert.equal(all.includes("sk-deno-otel-secret"), false, "no key in any export");
        assert.equal(all.includes('"hi"'), false, "no prompt content by default");
      } finally {
        await receiver.close();
      }
    },
  );
});
