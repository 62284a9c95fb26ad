// Many requests in flight on one Router: every one settles once, answers never cross between
// requests, and the upstream call count matches the attempts the Router reports exactly.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";

import { T, chatRequest, errors, mockEmbedding, routerOver, startMockServer } from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const N = 200;
const NAMES = ["c1", "c2", "c3"];

/** Classes a concurrent request may legitimately fail with. */
const TYPED = [
  errors.InternalServerError,
  errors.RateLimitError,
  errors.NoDeploymentsAvailableError,
  errors.ServiceUnavailableError,
];

describe("concurrent requests on one Router", () => {
  it(
    `${N} concurrent completions over 3 deployments (one flaky): exact accounting`,
    T,
    async () => {
      mock.mode("c3", { kind: "flaky", fail_rate: 0.3 });
      const router = routerOver(mock, { chat: NAMES });
      const results = await Promise.allSettled(
        Array.from({ length: N }, (_, i) =>
          router.completion(chatRequest("chat", { user: `user-${i}` })),
        ),
      );
      assert.equal(results.length, N);

      const fulfilled = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
      const rejected = results.filter((r) => r.status === "rejected").map((r) => r.reason);
      assert.equal(fulfilled.length + rejected.length, N);
      for (const e of rejected) {
        assert.ok(
          TYPED.some((C) => e instanceof C),
          `unexpected rejection ${e?.name}: ${e?.message}`,
        );
        assert.ok(Number.isInteger(e.attempts) && e.attempts >= 1);
      }

      // Every answer is distinct and belongs to the request that asked for it.
      assert.equal(new Set(fulfilled.map((r) => r.id)).size, fulfilled.length);
      const byUser = new Map(mock.calls.map((c) => [c.body.user, c]));
      for (const res of fulfilled) {
        const h = res._hidden_params;
        const name = h.model_id;
        assert.ok(NAMES.includes(name), name);
        assert.equal(h.api_base, mock.base(name));
        assert.equal(res.choices[0].message.content, `Hello from ${name}`);
        assert.equal(res.model, `mock-${name}`);
        assert.equal(h.retries, h.attempts - 1);
      }
      results.forEach((r, i) => {
        if (r.status === "fulfilled") assert.ok(byUser.has(`user-${i}`));
      });

      // Upstream calls == sum of attempts; retries == calls beyond one per request.
      const attempts =
        fulfilled.reduce((n, r) => n + r._hidden_params.attempts, 0) +
        rejected.reduce((n, e) => n + e.attempts, 0);
      assert.equal(mock.calls.length, attempts);
      const retries =
        fulfilled.reduce((n, r) => n + r._hidden_params.retries, 0) +
        rejected.reduce((n, e) => n + e.attempts - 1, 0);
      assert.equal(mock.calls.length, N + retries);
      assert.ok(retries > 0, "the flaky deployment caused retries");
      assert.ok(mock.callsTo("c3").length > 0);

      // The Router's own counters agree, and nothing is left in flight.
      const stats = (await router.getUsageStats()).deployments;
      const sum = (k) => Object.values(stats).reduce((n, s) => n + s[k], 0);
      assert.equal(sum("requests"), mock.calls.length);
      assert.equal(sum("successes"), fulfilled.length);
      assert.equal(sum("failures"), mock.calls.length - fulfilled.length);
      assert.equal(sum("in_flight"), 0);
      for (const name of NAMES) assert.equal(stats[name].requests, mock.callsTo(name).length);

      // Still serving afterwards.
      mock.mode("c3", { kind: "healthy" });
      const later = await router.completion(chatRequest());
      assert.ok(NAMES.includes(later._hidden_params.model_id));
    },
  );

  it(`${N} concurrent embeddings: each answer is the vector of its own input`, T, async () => {
    const router = routerOver(mock, { emb: NAMES });
    const inputs = Array.from({ length: N }, (_, i) => `embedding input number ${i}`);
    const results = await Promise.all(
      inputs.map((input) => router.embedding({ model: "emb", input })),
    );
    assert.equal(results.length, N);
    assert.equal(mock.calls.length, N);
    results.forEach((res, i) => {
      assert.equal(res.data.length, 1);
      const want = mockEmbedding(inputs[i]);
      const got = res.data[0].embedding;
      assert.equal(got.length, want.length);
      got.forEach((x, j) => assert.ok(Math.abs(x - want[j]) < 1e-12, `input ${i}[${j}]`));
      assert.equal(res._hidden_params.attempts, 1);
      assert.equal(res.model, `mock-${res._hidden_params.model_id}`);
    });
    for (const name of NAMES) assert.ok(mock.callsTo(name).length > 20, name);
  });

  it("concurrent requests with mixed outcomes settle independently", T, async () => {
    const router = routerOver(mock, { ok: ["c1"], bad: ["c2"] }, { num_retries: 0 });
    mock.mode("c2", { kind: "down", error: "bad_request" });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => router.completion(chatRequest(i % 2 ? "bad" : "ok"))),
    );
    results.forEach((r, i) => {
      if (i % 2) {
        assert.equal(r.status, "rejected");
        assert.ok(r.reason instanceof errors.BadRequestError);
        assert.equal(r.reason.model_group, "bad");
      } else {
        assert.equal(r.status, "fulfilled");
        assert.equal(r.value._hidden_params.model_group, "ok");
      }
    });
    assert.equal(mock.callsTo("c1").length, 10);
    assert.equal(mock.callsTo("c2").length, 10);
  });
});
