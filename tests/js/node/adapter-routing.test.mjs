// Issue #18: the translated request kinds are routed like any call — cached where the response
// cache applies (a translated Responses or Messages call is a chat call: the second identical
// one is a hit, no upstream call), falling back to a group of another provider (the chat
// request is translated again for it), retried, and counted in cost and usage per deployment.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, beforeEach, describe, it } from "node:test";
import { Router, T, deployment, nativeDeployment, startMockServer } from "./fixture.mjs";

const fixture = (path) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), "utf8"));

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const CALLS = {
  responses: (r, model) => r.responses({ model, input: "Name three colours." }),
  messages: (r, model) =>
    r.messages({
      model,
      max_tokens: 64,
      messages: [{ role: "user", content: "Name three colours." }],
    }),
};
const textOf = (kind, out) =>
  kind === "responses" ? out.output_text : out.content.find((b) => b.type === "text").text;

for (const [kind, call] of Object.entries(CALLS)) {
  describe(`${kind}: routed like any call`, () => {
    it("the response cache answers the second identical call", T, async () => {
      mock.script("a", { reply: "Red, green, blue." });
      const r = new Router({
        model_list: [deployment(mock, "gpt", "a", { model: "hosted_vllm/mock-a" })],
        cache_responses: true,
      });
      const first = await call(r, "gpt");
      const second = await call(r, "gpt");
      assert.equal(mock.callsTo("a").length, 1, "the second call was not sent upstream");
      assert.equal(first._hidden_params.cache_hit, false);
      assert.equal(second._hidden_params.cache_hit, true);
      assert.equal(textOf(kind, second), "Red, green, blue.");
    });

    it("falls back to an Anthropic group when the OpenAI-compatible one fails", T, async () => {
      mock.mode("a", { kind: "down", error: "server" });
      mock.script("anthropic", { body: fixture("anthropic/responses/text.anthropic.json") });
      const r = new Router({
        model_list: [
          deployment(mock, "gpt", "a", { model: "hosted_vllm/mock-a" }),
          nativeDeployment(mock, "anthropic", "claude", "c1"),
        ],
        fallbacks: [{ gpt: ["claude"] }],
        num_retries: 1,
        retry_after: 0,
      });
      const out = await call(r, "gpt");
      assert.equal(mock.callsTo("a").length, 2, "tried and retried on its own group first");
      assert.equal(mock.callsTo("anthropic").length, 1);
      assert.match(mock.callsTo("anthropic")[0].path, /\/v1\/messages$/);
      assert.equal(out._hidden_params.model_id, "c1");
      assert.equal(out._hidden_params.fallback_model_group, "claude");
      assert.equal(textOf(kind, out), "Red, yellow and blue.");
      const stats = await r.getUsageStats();
      assert.equal(stats.deployments.c1.successes, 1);
      assert.ok(stats.deployments.c1.cost > 0, "the answer is priced (Anthropic's usage)");
      assert.equal(stats.deployments.c1.prompt_tokens, 25);
    });
  });
}
