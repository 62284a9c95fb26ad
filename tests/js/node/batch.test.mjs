// Batch completions end to end against the mock: every answer or error, and the fastest
// response aborting the losers' upstream requests (visible in the mock's aborted counter).
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";
import { T, MESSAGES, errors, routerOver, startMockServer, waitFor } from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

describe("batch completions", () => {
  it("abatch_completion returns each group's answer or its error, in order", T, async () => {
    mock.script("a", { reply: "from a" });
    mock.script("b", { error: "auth" });
    const router = routerOver(mock, { ga: ["a"], gb: ["b"] }, { num_retries: 0 });
    const out = await router.abatch_completion({ models: ["ga", "gb"], messages: MESSAGES });
    assert.equal(out.length, 2);
    assert.equal(out[0].choices[0].message.content, "from a");
    assert.equal(out[0]._hidden_params.model_id, "a");
    assert.ok(out[1] instanceof errors.AuthenticationError, String(out[1]));
  });

  it("one model, multiple requests: one answer per message list", T, async () => {
    mock.script("a", { reply: "one" }, { reply: "two" });
    const router = routerOver(mock, { ga: ["a"] });
    const out = await router.abatch_completion_one_model_multiple_requests({
      model: "ga",
      messages: [MESSAGES, MESSAGES],
    });
    assert.deepEqual(out.map((r) => r.choices[0].message.content).sort(), ["one", "two"]);
    assert.equal(mock.calls.filter((c) => c.name === "a").length, 2);
  });

  it("fastest response wins and the slower upstream request is aborted", T, async () => {
    mock.script("fast", { reply: "fast answer" });
    mock.script("slow", { reply: "a b c d e f g h i j", chunk_delay_ms: 300 });
    const router = routerOver(mock, { gf: ["fast"], gs: ["slow"] });
    const r = await router.abatch_completion_fastest_response({
      model: ["gs", "gf"],
      messages: MESSAGES,
    });
    assert.equal(r.object, "chat.completion");
    assert.equal(r.choices[0].message.content, "fast answer");
    assert.equal(r._hidden_params.model_id, "fast");
    assert.equal(r._hidden_params.fastest_response_batch_completion, true);
    assert.ok(await waitFor(() => mock.stats.aborted === 1, 2000), JSON.stringify(mock.stats));
  });
});
