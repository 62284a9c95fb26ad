// Soak: 5,000 requests at concurrency 100 on ONE Router over a group of four faulty mock
// deployments (healthy, 30% 500s, 20% 429s with retry-after: 0, 10% resets mid-body) plus a
// healthy fallback group. Every request settles exactly once with an answer or an LlmuxError,
// the router's accounting matches the mock's call log, nothing is left in flight, and the
// router still answers afterwards.
import assert from "node:assert/strict";
import { after, test } from "node:test";

import { Router, errors } from "../../../js/node.js";
import { startMockServer } from "../../mock/server.mjs";
import { deploymentUsage } from "./scenarios.mjs";

const N = 5_000;
const CONCURRENCY = 100;
const LIMIT_MS = 90_000;

const mock = await startMockServer();
after(() => mock.close());

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One model_list entry for mock deployment `name` (model_info.id = name). */
const deployment = (group, name) => ({
  model_name: group,
  litellm_params: { model: `openai/mock-${name}`, api_base: mock.base(name), api_key: "sk-soak" },
  model_info: { id: name },
});

const GROUP = ["s-healthy", "s-flaky", "s-ratelimit", "s-reset"];

test(
  `soak: ${N} requests at concurrency ${CONCURRENCY} on one Router settle once each, accounted call for call`,
  { timeout: LIMIT_MS + 30_000 },
  async () => {
    mock.reset();
    mock.mode("s-flaky", { kind: "flaky", fail_rate: 0.3 });
    mock.mode("s-ratelimit", {
      kind: "flaky",
      fail_rate: 0.2,
      fail: { error: "rate_limit", headers: { "retry-after": "0" } },
    });
    mock.mode("s-reset", { kind: "flaky", fail_rate: 0.1, fail: { reset: "mid_body" } });
    const router = new Router({
      model_list: [...GROUP.map((n) => deployment("soak", n)), deployment("soak-fb", "s-fb")],
      num_retries: 2,
      timeout: 2,
      cooldown_time: 0.2,
      allowed_fails: 5,
      fallbacks: [{ soak: ["soak-fb"] }],
    });

    /** outcomes[i]: { ok: true, value } or { ok: false, error }; settles[i] counts settlements. */
    const outcomes = new Array(N);
    const settles = new Array(N).fill(0);
    let next = 0;
    let stopped = false;
    const started = performance.now();
    const worker = async () => {
      while (!stopped && next < N) {
        const i = next++;
        const request = { model: "soak", messages: [{ role: "user", content: `soak ${i}` }] };
        await router.completion(request).then(
          (value) => {
            settles[i]++;
            outcomes[i] = { ok: true, value };
          },
          (error) => {
            settles[i]++;
            outcomes[i] = { ok: false, error };
          },
        );
      }
    };
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the soak loop took more than ${LIMIT_MS} ms`)),
        LIMIT_MS,
      );
    });
    try {
      await Promise.race([Promise.all(Array.from({ length: CONCURRENCY }, worker)), deadline]);
    } finally {
      stopped = true;
      clearTimeout(timer);
    }
    const elapsed = Math.round(performance.now() - started);

    // Exactly one outcome per request.
    assert.equal(next, N, "every request was sent");
    assert.deepEqual(
      settles.flatMap((n, i) => (n === 1 ? [] : [[i, n]])),
      [],
      "requests that settled other than once: [index, settlements]",
    );
    const fulfilled = outcomes.filter((o) => o.ok).map((o) => o.value);
    const rejected = outcomes.filter((o) => !o.ok).map((o) => o.error);
    assert.equal(fulfilled.length + rejected.length, N, "outcomes total");
    assert.equal(new Set(fulfilled.map((v) => v.id)).size, fulfilled.length, "unique response ids");
    for (const v of fulfilled)
      assert.equal(v.choices[0].message.content, `Hello from ${v._hidden_params.model_id}`);

    // Every failure is typed.
    const byClass = {};
    for (const e of rejected) {
      assert.ok(e instanceof errors.LlmuxError, `untyped rejection: ${e?.stack ?? e}`);
      byClass[e.name] = (byClass[e.name] ?? 0) + 1;
    }

    // The router's accounting matches the mock's call log.
    const upstream = mock.calls.length;
    const attempts = outcomes.reduce(
      (n, o) => n + (o.ok ? o.value._hidden_params.attempts : o.error.attempts),
      0,
    );
    assert.equal(attempts, upstream, "Σ attempts = upstream calls");
    const usage = deploymentUsage(await router.getUsageStats());
    const requests = Object.values(usage).reduce((n, u) => n + u.requests, 0);
    assert.equal(requests, upstream, "Σ usage requests = upstream calls");
    for (const [id, u] of Object.entries(usage)) assert.equal(u.in_flight, 0, `${id} in_flight`);
    const prompts = new Set(mock.calls.map((c) => c.body?.messages?.[0]?.content));
    assert.equal(prompts.size, N, "every request reached the upstream at least once");
    // The faults really happened: the faulty deployments failed, and retries were needed.
    for (const id of ["s-flaky", "s-ratelimit", "s-reset"])
      assert.ok(usage[id].failures > 0, `${id} failed at least once`);
    assert.ok(usage["s-ratelimit"].failures_by_kind.RateLimitError > 0);
    assert.ok(usage["s-reset"].failures_by_kind.APIConnectionError > 0);
    assert.ok(upstream > N, "retries made more upstream calls than requests");

    const byFallback = fulfilled.filter((v) => v._hidden_params.fallback_model_group).length;
    console.log(
      `soak: ${N} requests, concurrency ${CONCURRENCY}: ${fulfilled.length} answered ` +
        `(${byFallback} by the fallback group), errors ${JSON.stringify(byClass)}, ` +
        `${upstream} upstream calls, ${elapsed} ms`,
    );

    // Once the faults stop and the short cooldowns expire, the same router answers at once.
    for (const name of GROUP) mock.mode(name, { kind: "healthy" });
    await sleep(300);
    const before = mock.calls.length;
    const res = await router.completion({
      model: "soak",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(res._hidden_params.attempts, 1);
    assert.equal(res._hidden_params.fallback_model_group, null);
    assert.ok(GROUP.includes(res._hidden_params.model_id), res._hidden_params.model_id);
    assert.equal(res.choices[0].message.content, `Hello from ${res._hidden_params.model_id}`);
    assert.equal(mock.calls.length, before + 1);
    for (let i = 0; i < 100 && mock.stats.open > 0; i++) await sleep(10);
    assert.equal(mock.stats.open, 0, "no upstream request left open");
  },
);
