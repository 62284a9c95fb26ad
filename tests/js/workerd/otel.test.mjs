// Tier 3c: llmux/otel inside workerd (Miniflare): a Worker (otel-worker.js) bundled by esbuild
// with @opentelemetry/api and the SDK's in-memory exporters, against the loopback mock
// provider: the call span with the GenAI attributes, one child span per attempt, the fallback
// event, both gen_ai.client.* histograms, for a plain call and a stream.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startMockServer } from "../../mock/server.mjs";
import { startBundledWorker } from "./bundled-worker.mjs";

let mock;
let mf;
before(async () => {
  mock = await startMockServer({ port: 0 });
  mf = await startBundledWorker("otel-worker.js", "otel-workerd", { MOCK_URL: mock.url });
});

after(async () => {
  await mf?.dispose();
  await mock?.close();
});

for (const stream of [false, true]) {
  test(`workerd: llmux/otel spans and histograms for a ${stream ? "stream" : "call"} with a fallback`, async () => {
    mock.reset();
    mock.script("wd-otel-a", { error: "rate_limit" });
    const res = await mf.dispatchFetch(`http://worker.test/run?stream=${stream ? 1 : 0}`);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const { usage, spans, histograms } = JSON.parse(text);
    const call = spans.find((s) => s.name === "chat chat");
    assert.ok(call, spans.map((s) => s.name).join(", "));
    assert.equal(call.kind, 2, "SpanKind.CLIENT");
    const a = call.attributes;
    assert.equal(a["gen_ai.operation.name"], "chat");
    assert.equal(a["gen_ai.request.model"], "chat");
    assert.equal(a["gen_ai.provider.name"], "openai");
    assert.equal(a["gen_ai.response.model"], "mock-wd-otel-b");
    assert.equal(a["gen_ai.usage.input_tokens"], usage.prompt_tokens);
    assert.equal(a["gen_ai.usage.output_tokens"], usage.completion_tokens);
    assert.equal(a["llmux.deployment_id"], "wd-otel-b");
    assert.equal(a["llmux.fallback_model_group"], "backup");
    const fallback = call.events.find((e) => e.name === "llmux.fallback");
    assert.equal(fallback?.attributes["error.type"], "RateLimitError");
    const children = spans.filter((s) => s.parent === call.spanId);
    assert.deepEqual(children.map((s) => s.name).sort(), [
      "chat mock-wd-otel-a",
      "chat mock-wd-otel-b",
    ]);
    const failed = children.find((s) => s.name === "chat mock-wd-otel-a");
    assert.equal(failed.attributes["error.type"], "RateLimitError");
    assert.equal(failed.attributes["http.response.status_code"], 429);
    assert.equal(failed.status, 2, "SpanStatusCode.ERROR");
    for (const s of children) assert.equal(s.traceId, call.traceId);
    const [duration] = histograms["gen_ai.client.operation.duration"];
    assert.equal(duration.count, 1);
    assert.equal(duration.attributes["gen_ai.request.model"], "chat");
    const byType = Object.fromEntries(
      histograms["gen_ai.client.token.usage"].map((p) => [p.attributes["gen_ai.token.type"], p]),
    );
    assert.equal(byType.input.sum, usage.prompt_tokens);
    assert.equal(byType.output.sum, usage.completion_tokens);
    assert.equal(text.includes("sk-wd-otel-secret"), false, "no key in any span or metric");
    assert.equal(mock.callsTo("wd-otel-a").length, 1);
    assert.equal(mock.callsTo("wd-otel-b").length, 1);
  });
}
