// router.metrics() and the gateway's GET /metrics against the mock over real HTTP: the
// exposition text parsed line by line (format 0.0.4), LiteLLM's metric names, label escaping,
// bounded group labels, and the master key.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";

import { escapeLabelValue, OTHER_GROUP } from "../../../js/metrics.js";
import {
  T,
  chatRequest,
  errors,
  keyOf,
  rejection,
  routerOver,
  startMockServer,
} from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/** Parses exposition text: `{ types: name -> type, samples: [{ name, labels, value }] }`. */
function parse(text) {
  assert.ok(text.endsWith("\n"), "ends with a line feed");
  const types = new Map();
  const samples = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      if (m[1] === "TYPE") {
        assert.ok(["counter", "gauge", "histogram"].includes(m[3]), line);
        assert.equal(types.has(m[2]), false, `one TYPE line per family: ${m[2]}`);
        types.set(m[2], m[3]);
      }
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const labels = {};
    const body = m[3] ?? "";
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
    let lm;
    let consumed = 0;
    while ((lm = re.exec(body)) !== null) {
      labels[lm[1]] = lm[2].replace(/\\(["\\n])/g, (_, c) => (c === "n" ? "\n" : c));
      consumed = re.lastIndex;
      if (lm[3] === "") break;
    }
    assert.equal(consumed, body.length, `labels parse: ${line}`);
    const value = m[4] === "+Inf" ? Infinity : Number(m[4]);
    assert.ok(!Number.isNaN(value), line);
    samples.push({ name: m[1], labels, value });
  }
  return { types, samples };
}

const find = (parsed, name, labels = {}) =>
  parsed.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
const one = (parsed, name, labels) => {
  const found = find(parsed, name, labels);
  assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0].value;
};

describe("router.metrics()", () => {
  it("counts requests, failures by class, tokens, spend, cooldowns and latency", T, async () => {
    const router = routerOver(mock, {
      chat: [
        ["a", { order: 1 }],
        ["b", { order: 2, input_cost_per_token: 1e-6, output_cost_per_token: 2e-6 }],
      ],
    });
    mock.script("a", { error: "rate_limit" });
    // One call: a (the first tier) fails with a 429 and cools down, b answers.
    const res = await router.completion(chatRequest());
    assert.equal(res._hidden_params.model_id, "b");
    await assert.rejects(router.completion(chatRequest("nope-1")), errors.BadRequestError);
    await assert.rejects(router.completion(chatRequest("nope-2")), errors.BadRequestError);
    const text = await router.metrics();
    const p = parse(text);
    const failedId = res._hidden_params.model_id === "a" ? "b" : "a";
    const ok = { model_id: res._hidden_params.model_id, model_group: "chat" };
    assert.equal(p.types.get("litellm_deployment_total_requests_total"), "counter");
    assert.equal(p.types.get("litellm_llm_api_latency_metric"), "histogram");
    assert.equal(p.types.get("litellm_deployment_state"), "gauge");
    assert.equal(one(p, "litellm_deployment_success_responses_total", ok), 1);
    assert.equal(
      one(p, "litellm_deployment_failure_responses_total", {
        model_id: failedId,
        exception_class: "RateLimitError",
      }),
      1,
    );
    assert.equal(one(p, "litellm_input_tokens_metric_total", ok), res.usage.prompt_tokens);
    assert.equal(one(p, "litellm_output_tokens_metric_total", ok), res.usage.completion_tokens);
    assert.equal(one(p, "litellm_total_tokens_metric_total", ok), res.usage.total_tokens);
    assert.ok(res._hidden_params.response_cost > 0);
    assert.equal(one(p, "litellm_spend_metric_total", ok), res._hidden_params.response_cost);
    assert.equal(one(p, "litellm_deployment_cooled_down_total", { model_id: failedId }), 1);
    assert.equal(one(p, "litellm_deployment_state", { model_id: failedId }), 2);
    assert.equal(one(p, "litellm_deployment_state", ok), 0);
    const labels = find(p, "litellm_deployment_state", ok)[0].labels;
    assert.equal(labels.litellm_model_name, `openai/mock-${ok.model_id}`);
    assert.equal(labels.api_provider, "openai");
    // Histogram: cumulative buckets ending in +Inf = _count.
    const buckets = find(p, "litellm_llm_api_latency_metric_bucket", ok);
    assert.equal(buckets.length, 18);
    assert.equal(buckets[buckets.length - 1].labels.le, "+Inf");
    for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value);
    assert.equal(buckets[buckets.length - 1].value, 1);
    assert.equal(one(p, "litellm_llm_api_latency_metric_count", ok), 1);
    assert.ok(one(p, "litellm_llm_api_latency_metric_sum", ok) > 0);
    // Groups: configured names keep their series; unknown requested names share one.
    assert.equal(one(p, "litellm_proxy_total_requests_metric_total", { model_group: "chat" }), 1);
    const stats = await router.getUsageStats();
    assert.equal(
      one(p, "llmux_retries_total", { model_group: "chat" }),
      stats.model_groups.chat.retries,
    );
    assert.equal(
      one(p, "litellm_proxy_failed_requests_metric_total", {
        model_group: OTHER_GROUP,
        exception_class: "BadRequestError",
      }),
      2,
    );
    assert.equal(
      find(p, "litellm_proxy_total_requests_metric_total", { model_group: "nope-1" }).length,
      0,
    );
    assert.equal(one(p, "litellm_request_total_latency_metric_count", { model_group: "chat" }), 1);
    for (const name of ["a", "b"]) assert.equal(text.includes(keyOf(name)), false);
  });

  it("counts at most 1,024 requested names in getUsageStats, the rest together", T, async () => {
    const router = routerOver(mock, { chat: ["a"] });
    await router.completion(chatRequest("chat"));
    // 1,100 names no group serves: each call fails before any upstream call.
    for (let i = 0; i < 1100; i++) {
      const e = await rejection(router.completion(chatRequest(`nope-${i}`)));
      assert.ok(e instanceof errors.BadRequestError, String(e));
    }
    const stats = await router.getUsageStats();
    const names = Object.keys(stats.model_groups);
    assert.equal(names.length, 1025, "1,024 names, then one entry for the rest");
    assert.equal(stats.model_groups.chat.requests, 1);
    assert.equal(stats.model_groups[OTHER_GROUP].requests, 1100 - 1023);
    assert.equal(stats.model_groups["nope-0"].requests, 1);
    assert.equal(stats.model_groups["nope-1099"], undefined);
    assert.equal(mock.calls.length, 1);
  });

  it("escapes label values per the format", T, async () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    const router = routerOver(mock, { 'we"ird\\group\n': ["w"] });
    await router.completion(chatRequest('we"ird\\group\n'));
    const p = parse(await router.metrics());
    assert.equal(one(p, "litellm_deployment_success_responses_total", { model_id: "w" }), 1);
    assert.equal(
      one(p, "litellm_proxy_total_requests_metric_total", { model_group: 'we"ird\\group\n' }),
      1,
    );
  });

  it("counts cache hits per group", T, async () => {
    const router = routerOver(mock, { chat: ["a"] }, { cache_responses: true });
    await router.completion(chatRequest());
    await router.completion(chatRequest());
    const p = parse(await router.metrics());
    assert.equal(one(p, "litellm_cache_hits_metric_total", { model_group: "chat" }), 1);
    assert.equal(mock.callsTo("a").length, 1);
  });
});

describe("GET /metrics on the gateway", () => {
  const get = (router, headers = {}) =>
    router.fetch(new Request("http://gw.test/metrics", { headers }));

  it(
    "needs the master key by default: 401 without, 403 with a virtual key, 200 with it",
    T,
    async () => {
      const router = routerOver(
        mock,
        { chat: ["a"] },
        { gateway: { master_key: "sk-master-1", keys: { "sk-virtual-1": { models: ["chat"] } } } },
      );
      await router.completion(chatRequest());
      assert.equal((await get(router)).status, 401);
      assert.equal((await get(router, { authorization: "Bearer sk-wrong" })).status, 401);
      assert.equal((await get(router, { authorization: "Bearer sk-virtual-1" })).status, 403);
      const res = await get(router, { authorization: "Bearer sk-master-1" });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const p = parse(await res.text());
      assert.equal(one(p, "litellm_deployment_success_responses_total", { model_id: "a" }), 1);
    },
  );

  it("{ public: true } serves it without a key; false does not serve it", T, async () => {
    const open = routerOver(
      mock,
      { chat: ["a"] },
      { gateway: { master_key: "sk-master-1", metrics: { public: true } } },
    );
    assert.equal((await get(open)).status, 200);
    const off = routerOver(
      mock,
      { chat: ["a"] },
      { gateway: { master_key: "sk-master-1", metrics: false } },
    );
    assert.equal((await get(off, { authorization: "Bearer sk-master-1" })).status, 404);
    assert.throws(
      () => routerOver(mock, { chat: ["a"] }, { gateway: { metrics: { public: "yes" } } }),
      (e) => e instanceof errors.ConfigError && e.field === "gateway.metrics",
    );
  });
});
