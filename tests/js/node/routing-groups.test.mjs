// routing_groups end to end (README, "Routing groups"): a member model group is picked by its
// routing group's strategy, the others by the router's, and a group's name is callable.
import assert from "node:assert/strict";
import { after, before, beforeEach, it } from "node:test";
import { T, Router, errors, startMockServer, deployment, chatRequest } from "./fixture.mjs";

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

const priced = (group, name, input) =>
  deployment(mock, group, name, {}, { input_cost_per_token: input, output_cost_per_token: 1e-6 });

it(
  "a member group routes by its routing group's strategy; others by routing_strategy",
  T,
  async () => {
    // The scenario run through LiteLLM 1.110.2 (README): cheapest → always "cheap"; chat → both.
    const router = new Router({
      model_list: [
        priced("cheapest", "pricey", 5e-6),
        priced("cheapest", "cheap", 1e-7),
        priced("chat", "pricey2", 5e-6),
        priced("chat", "cheap2", 1e-7),
      ],
      routing_strategy: "simple-shuffle",
      routing_groups: [
        { group_name: "by-cost", models: ["cheapest"], routing_strategy: "cost-based-routing" },
      ],
    });
    for (let i = 0; i < 20; i++) {
      const res = await router.completion(chatRequest("cheapest"));
      assert.equal(res._hidden_params.model_id, "cheap");
      await router.completion(chatRequest("chat"));
    }
    assert.equal(mock.callsTo("pricey").length, 0);
    assert.ok(mock.callsTo("pricey2").length > 0);
    assert.ok(mock.callsTo("cheap2").length > 0);
    // The group's own name: the union of its members, by its strategy.
    const byName = await router.completion(chatRequest("by-cost"));
    assert.equal(byName._hidden_params.model_id, "cheap");
  },
);

it("a priority routing group is a ConfigError naming the field", () => {
  assert.throws(
    () =>
      new Router({
        model_list: [deployment(mock, "a", "a")],
        routing_groups: [
          {
            group_name: "p",
            models: ["a"],
            routing_strategy: "priority",
            model_priorities: { a: 1 },
          },
        ],
      }),
    (e) =>
      e instanceof errors.ConfigError &&
      e.field === "routing_groups[0].routing_strategy" &&
      /priority routing groups/.test(e.message),
  );
});
