// Routing strategies end to end: the strategy named in the options decides where traffic goes.
import assert from "node:assert/strict";
import { after, before, beforeEach, it } from "node:test";
import { T, Router, errors, startMockServer, deployment, chatRequest } from "./fixture.mjs";

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

it("least-busy spreads 30 concurrent requests evenly over 3 slow deployments", T, async () => {
  for (const n of ["a", "b", "c"]) mock.mode(n, { kind: "slow", delay_ms: 200 });
  const router = new Router({
    model_list: ["a", "b", "c"].map((n) => deployment(mock, "chat", n)),
    routing_strategy: "least-busy",
  });
  const results = await Promise.all(
    Array.from({ length: 30 }, () => router.completion(chatRequest())),
  );
  const per = {};
  for (const r of results)
    per[r._hidden_params.model_id] = (per[r._hidden_params.model_id] ?? 0) + 1;
  assert.deepEqual(per, { a: 10, b: 10, c: 10 });
});

it("cost-based-routing sends traffic to the cheapest deployment", T, async () => {
  const router = new Router({
    model_list: [
      deployment(
        mock,
        "chat",
        "pricey",
        {},
        { input_cost_per_token: 5e-6, output_cost_per_token: 1.5e-5 },
      ),
      deployment(
        mock,
        "chat",
        "cheap",
        {},
        { input_cost_per_token: 1e-7, output_cost_per_token: 4e-7 },
      ),
    ],
    routing_strategy: "cost-based-routing",
  });
  for (let i = 0; i < 5; i++) {
    assert.equal((await router.completion(chatRequest()))._hidden_params.model_id, "cheap");
  }
  assert.equal(mock.callsTo("pricey").length, 0);
});

it("latency-based-routing moves traffic to the faster deployment", T, async () => {
  mock.mode("slow", { kind: "slow", delay_ms: 250 });
  mock.mode("quick", { kind: "healthy" });
  const router = new Router({
    model_list: [deployment(mock, "chat", "slow"), deployment(mock, "chat", "quick")],
    routing_strategy: "latency-based-routing",
  });
  for (let i = 0; i < 2; i++) await router.completion(chatRequest());
  for (let i = 0; i < 5; i++) {
    assert.equal((await router.completion(chatRequest()))._hidden_params.model_id, "quick");
  }
  assert.equal(mock.callsTo("slow").length, 1, "measured once, then avoided");
});

it(
  "usage-based-routing respects rpm and answers RateLimitError when all are at their limit",
  T,
  async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "chat", "a", { rpm: 1 }),
        deployment(mock, "chat", "b", { rpm: 1 }),
      ],
      routing_strategy: "usage-based-routing-v2",
      num_retries: 0,
    });
    const ids = [];
    for (let i = 0; i < 2; i++)
      ids.push((await router.completion(chatRequest()))._hidden_params.model_id);
    assert.deepEqual(ids.sort(), ["a", "b"]);
    await assert.rejects(
      router.completion(chatRequest()),
      (e) => e instanceof errors.RateLimitError,
    );
    assert.equal(mock.calls.length, 2);
  },
);
