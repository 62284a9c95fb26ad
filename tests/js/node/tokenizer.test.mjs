// The README's tokenizer recipe with the real gpt-tokenizer package: exact counts reach
// countTokens and the pre-call context-window check (which the built-in estimate misses).
import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { encodeChat } from "gpt-tokenizer/model/gpt-4o";
import { T, errors, rejection, routerOver, startMockServer } from "./fixture.mjs";

// The recipe, as the README has it.
const textOf = (content) =>
  typeof content === "string"
    ? content
    : Array.isArray(content)
      ? content.map((part) => part?.text ?? "").join("")
      : "";
const ROLES = new Set(["system", "user", "assistant"]);
const tokenizer = (request) =>
  Array.isArray(request.messages)
    ? encodeChat(
        request.messages.map((m) => ({
          role: ROLES.has(m.role) ? m.role : "user",
          content: textOf(m.content),
        })),
        "gpt-4o",
      ).length
    : undefined; // not a chat request: the built-in estimate

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

// Japanese: about one token per character, four times what the chars/4 estimate assumes.
const messages = [
  {
    role: "user",
    content: "東京の天気は今日どうですか。明日の予報も教えてください。週末は雨が降りますか。",
  },
];
const small = { chat: [["a", {}]] };
const options = (extra = {}) => ({
  enable_pre_call_checks: true,
  num_retries: 0,
  ...extra,
});
const withWindow = (mockServer, tokenizerOption) => {
  const router = routerOver(mockServer, small, options(tokenizerOption ? { tokenizer } : {}));
  router.updateDeployment("a", { model_info: { max_input_tokens: 30 } });
  return router;
};

test("countTokens reports gpt-tokenizer's exact count", T, () => {
  const router = routerOver(mock, small, options({ tokenizer }));
  const expected = encodeChat(messages, "gpt-4o").length;
  assert.deepEqual(router.countTokens({ model: "chat", messages }), {
    input_tokens: expected,
    exact: true,
  });
  const estimate = routerOver(mock, small).countTokens({ model: "chat", messages });
  assert.equal(estimate.exact, false);
  assert.ok(estimate.input_tokens < 30 && expected > 30, `${estimate.input_tokens} vs ${expected}`);
});

test(
  "the exact count drops a deployment the estimate would have sent the prompt to",
  T,
  async () => {
    const estimated = withWindow(mock, false);
    const ok = await estimated.completion({ model: "chat", messages });
    assert.equal(ok._hidden_params.model_id, "a");
    assert.equal(mock.callsTo("a").length, 1);
    const exact = withWindow(mock, true);
    const e = await rejection(exact.completion({ model: "chat", messages }));
    assert.ok(e instanceof errors.ContextWindowExceededError, `got ${e?.name}: ${e?.message}`);
    assert.equal(mock.callsTo("a").length, 1, "no upstream call for the too-long prompt");
  },
);
