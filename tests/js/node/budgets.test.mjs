// Budgets end to end against the mock (README "Budgets"): a deployment with max_budget that
// spends its limit leaves rotation; a provider over its provider_budget_config limit too, and
// a group with nothing left fails with LiteLLM's "crossed budget" NoDeploymentsAvailableError.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import {
  T,
  Router,
  errors,
  startMockServer,
  deployment,
  chatRequest,
  rejection,
} from "./fixture.mjs";

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

/** 10 prompt + 5 completion tokens at 0.25 / 0.5 USD: 5 USD per answer (exact). */
const PRICES = { input_cost_per_token: 0.25, output_cost_per_token: 0.5 };
const answer = (content = "ok") => ({
  body: {
    id: "chatcmpl-b",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "m",
    choices: [
      { index: 0, message: { role: "assistant", content }, logprobs: null, finish_reason: "stop" },
    ],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  },
});
const script = (name, n) => mock.script(name, ...Array.from({ length: n }, () => answer()));

describe("budgets", () => {
  it("a deployment that spent its max_budget leaves rotation", T, async () => {
    const router = new Router({
      num_retries: 0,
      model_list: [
        deployment(mock, "chat", "b1", {
          ...PRICES,
          weight: 1_000_000,
          max_budget: 10,
          budget_duration: "1h",
        }),
        deployment(mock, "chat", "b2", { ...PRICES, weight: 1 }),
      ],
    });
    script("b1", 2);
    script("b2", 3);
    const ids = [];
    for (let i = 0; i < 5; i++) {
      const res = await router.completion(chatRequest("chat"));
      assert.equal(res._hidden_params.response_cost, 5);
      ids.push(res._hidden_params.model_id);
    }
    // Two answers (10 USD) spend b1's budget; the rest go to b2.
    assert.deepEqual(ids, ["b1", "b1", "b2", "b2", "b2"]);
    assert.equal(mock.callsTo("b1").length, 2);
    const budget = (await router.getUsageStats()).budgets.deployments.b1;
    assert.equal(budget.spend, 10);
    assert.equal(budget.max_budget, 10);
    assert.ok(
      budget.resets_at_ms > Date.now() + 3_500_000,
      "the 1 h window opened at the first spend",
    );
  });

  it(
    "a provider over its provider_budget_config limit leaves rotation; then the group fails",
    T,
    async () => {
      const router = new Router({
        num_retries: 0,
        provider_budget_config: { openai: { budget_limit: 10, time_period: "1d" } },
        // LiteLLM configs often name the budget limiter too: accepted, the same budgets apply.
        optional_pre_call_checks: ["router_budget_limiting"],
        model_list: [
          deployment(mock, "chat", "o1", { ...PRICES, weight: 1_000_000 }),
          deployment(mock, "chat", "o2", { ...PRICES, weight: 1_000 }),
          deployment(mock, "chat", "g1", {
            ...PRICES,
            model: "groq/llama-3.1-8b-instant",
            weight: 1,
          }),
          deployment(mock, "solo", "o3", PRICES),
        ],
      });
      script("o1", 2);
      script("g1", 2);
      const ids = [];
      for (let i = 0; i < 4; i++)
        ids.push((await router.completion(chatRequest("chat")))._hidden_params.model_id);
      // openai spent 10 across o1: o1 and o2 (also openai) are out; groq's g1 answers.
      assert.deepEqual(ids, ["o1", "o1", "g1", "g1"]);
      assert.equal(mock.callsTo("o2").length, 0);
      // A group served by openai alone has nothing left.
      const e = await rejection(router.completion(chatRequest("solo")));
      assert.ok(e instanceof errors.NoDeploymentsAvailableError, e.name);
      assert.match(e.message, /crossed budget/);
      assert.equal(e.status, 429);
      assert.equal(mock.callsTo("o3").length, 0);
      const provider = (await router.getUsageStats()).budgets.providers.openai;
      assert.equal(provider.spend, 10);
    },
  );
});
