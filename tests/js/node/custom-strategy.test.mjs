// The custom routing strategy end to end (README, "Custom routing strategy"): the JS strategy
// chooses among the candidates the core computed; cooldowns, retries and fallbacks stay the core's.
import assert from "node:assert/strict";
import { after, before, beforeEach, it } from "node:test";
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

const ids = (candidates) => candidates.map((c) => c.model_info.id);

it(
  "an async strategy picks among healthy candidates; a cooled-down one is not offered",
  T,
  async () => {
    const router = new Router({
      model_list: ["a", "b", "c"].map((n) => deployment(mock, "chat", n)),
    });
    const asked = [];
    router.setCustomRoutingStrategy({
      async getAvailableDeployment(model, request, candidates) {
        asked.push({ model, ids: ids(candidates), text: JSON.stringify(candidates), request });
        await new Promise((r) => setTimeout(r, 1));
        // Prefers c, else the last candidate.
        return candidates.find((c) => c.model_info.id === "c") ?? candidates.at(-1);
      },
    });
    // c answers 429 once: it cools down at once and the retry asks again without it.
    mock.script("c", { error: "rate_limit" });
    const first = await router.completion(chatRequest());
    assert.equal(first._hidden_params.model_id, "b");
    assert.equal(first._hidden_params.attempts, 2);
    const second = await router.completion(chatRequest());
    assert.equal(second._hidden_params.model_id, "b");
    assert.deepEqual(
      asked.map((a) => a.ids),
      [
        ["a", "b", "c"],
        ["a", "b"],
        ["a", "b"],
      ],
    );
    assert.equal(mock.callsTo("c").length, 1);
    assert.equal(mock.callsTo("a").length, 0);
    assert.ok(asked.every((a) => a.model === "chat" && !a.text.includes("sk-test-")));
    assert.deepEqual(asked[0].request.messages, chatRequest().messages);
  },
);

it("a sync strategy may answer with an id; streams follow it too", T, async () => {
  const router = new Router({
    model_list: ["a", "b"].map((n) => deployment(mock, "chat", n)),
  });
  router.set_custom_routing_strategy((_model, _request, candidates) => {
    assert.deepEqual(ids(candidates), ["a", "b"]);
    return "a";
  });
  for (let i = 0; i < 3; i++) {
    assert.equal((await router.completion(chatRequest()))._hidden_params.model_id, "a");
  }
  let text = "";
  const stream = await router.completion(chatRequest("chat", { stream: true }));
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
  assert.ok(text.length > 0);
  assert.equal(mock.callsTo("a").length, 4);
  assert.equal(mock.callsTo("b").length, 0);
});

it("undefined leaves the pick to routing_strategy; null removes the strategy", T, async () => {
  const router = new Router({
    model_list: ["a", "b"].map((n) =>
      deployment(
        mock,
        "chat",
        n,
        {},
        { input_cost_per_token: n === "a" ? 1e-6 : 1e-7, output_cost_per_token: 1e-6 },
      ),
    ),
    routing_strategy: "cost-based-routing",
  });
  let asks = 0;
  router.registerPlugin({ getAvailableDeployment: () => void asks++ });
  assert.equal((await router.completion(chatRequest()))._hidden_params.model_id, "b");
  router.setCustomRoutingStrategy(null);
  assert.equal((await router.completion(chatRequest()))._hidden_params.model_id, "b");
  assert.equal(asks, 1);
});

it(
  "an id that is not a candidate, or a throw, is an InternalServerError; fallbacks apply",
  T,
  async () => {
    const router = new Router({
      model_list: [deployment(mock, "chat", "a"), deployment(mock, "backup", "z")],
      fallbacks: [{ chat: ["backup"] }],
    });
    router.setCustomRoutingStrategy({
      getAvailableDeployment(model) {
        if (model === "chat") throw new Error("no idea");
        return "z";
      },
    });
    const res = await router.completion(chatRequest());
    assert.equal(res._hidden_params.model_id, "z");
    assert.equal(mock.callsTo("a").length, 0);

    router.setCustomRoutingStrategy({ getAvailableDeployment: () => "nope" });
    const e = await rejection(router.completion(chatRequest("backup")));
    assert.ok(e instanceof errors.InternalServerError, e);
    assert.match(e.message, /"nope", which is not one of the candidates of backup \(z\)/);

    router.setCustomRoutingStrategy({ getAvailableDeployment: () => 42 });
    const n = await rejection(router.completion(chatRequest("backup")));
    assert.match(n.message, /returned number, not a candidate/);
  },
);

it("a strategy that never answers times out with the call's timeout", T, async () => {
  const router = new Router({
    model_list: ["a", "b"].map((n) => deployment(mock, "chat", n)),
    timeout: 0.2,
  });
  router.setCustomRoutingStrategy({ getAvailableDeployment: () => new Promise(() => {}) });
  const e = await rejection(router.completion(chatRequest()));
  assert.ok(e instanceof errors.Timeout, e);
  assert.match(e.message, /custom routing strategy did not choose/);
  assert.equal(mock.calls.length, 0);
});

it("a strategy without getAvailableDeployment is a ConfigError", () => {
  const router = new Router({ model_list: [deployment(mock, "chat", "a")] });
  assert.throws(() => router.setCustomRoutingStrategy({}), errors.ConfigError);
});
