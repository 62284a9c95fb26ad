// Retries, backoff, retry-after, timeouts, cooldowns and fallbacks, observed from the mock's
// call log and real elapsed time.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";

import {
  T,
  chatRequest,
  errors,
  rejection,
  routerOver,
  sleep,
  startMockServer,
  waitFor,
} from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

// Weights that make the first pick "first" except once in a million; a retry goes to an
// untried deployment whatever the weights.
const FIRST = { weight: 1_000_000 };
const SECOND = { weight: 1 };

describe("retries", () => {
  it("a 500 from the first deployment is retried at once on the other one", T, async () => {
    mock.script("a", { error: "server" });
    const router = routerOver(mock, {
      chat: [
        ["a", FIRST],
        ["b", SECOND],
      ],
    });
    const res = await router.completion(chatRequest());
    const h = res._hidden_params;
    assert.equal(h.model_id, "b");
    assert.equal(h.api_base, mock.base("b"));
    assert.equal(h.attempts, 2);
    assert.equal(h.retries, 1);
    assert.equal(res.choices[0].message.content, "Hello from b");
    assert.equal(mock.callsTo("a").length, 1);
    assert.equal(mock.callsTo("b").length, 1);
    const gap = mock.callsTo("b")[0].at - mock.callsTo("a")[0].at;
    assert.ok(gap < 300, `no backoff when another deployment is healthy (${gap} ms)`);
  });

  it("num_retries: 0 on the Router surfaces the first error after exactly 1 call", T, async () => {
    mock.mode("a", { kind: "down" }).mode("b", { kind: "down" });
    const router = routerOver(mock, { chat: ["a", "b"] }, { num_retries: 0 });
    const err = await rejection(router.completion(chatRequest()));
    assert.ok(err instanceof errors.InternalServerError, err.name);
    assert.equal(err.attempts, 1);
    assert.equal(mock.calls.length, 1);
  });

  it("num_retries: 0 per request overrides the Router's default of 2", T, async () => {
    mock.mode("a", { kind: "down" }).mode("b", { kind: "down" });
    const router = routerOver(mock, { chat: ["a", "b"] });
    const err = await rejection(router.completion(chatRequest("chat", { num_retries: 0 })));
    assert.ok(err instanceof errors.InternalServerError, err.name);
    assert.equal(err.attempts, 1);
    assert.equal(mock.calls.length, 1);
  });

  it("num_retries: 1 per request overrides the Router's 0", T, async () => {
    mock.script("a", { error: "server" });
    const router = routerOver(
      mock,
      {
        chat: [
          ["a", FIRST],
          ["b", SECOND],
        ],
      },
      { num_retries: 0 },
    );
    const res = await router.completion(chatRequest("chat", { num_retries: 1 }));
    assert.equal(res._hidden_params.model_id, "b");
    assert.equal(res._hidden_params.attempts, 2);
  });

  it("a 400 is not retried even with another healthy deployment", T, async () => {
    mock.script("a", { error: "bad_request" });
    const router = routerOver(mock, {
      chat: [
        ["a", FIRST],
        ["b", SECOND],
      ],
    });
    const err = await rejection(router.completion(chatRequest()));
    assert.ok(err instanceof errors.BadRequestError, err.name);
    assert.equal(err.attempts, 1);
    assert.equal(mock.callsTo("b").length, 0);
  });

  it("a 401 is retried on another healthy deployment", T, async () => {
    mock.script("a", { error: "auth" });
    const router = routerOver(mock, {
      chat: [
        ["a", FIRST],
        ["b", SECOND],
      ],
    });
    const res = await router.completion(chatRequest());
    assert.equal(res._hidden_params.model_id, "b");
    assert.equal(res._hidden_params.attempts, 2);
  });

  it("attempts counts the calls a deployment's own max_retries makes", T, async () => {
    mock.script("solo", { error: "server" });
    const router = routerOver(mock, { chat: [["solo", { max_retries: 1 }]] }, { num_retries: 0 });
    const res = await router.completion(chatRequest());
    assert.equal(mock.callsTo("solo").length, 2);
    assert.equal(res._hidden_params.attempts, 2);
  });

  it("a single deployment is retried after exponential backoff (0.5 s, then 1 s)", T, async () => {
    mock.script("solo", { error: "server" }, { error: "server" });
    const router = routerOver(mock, { chat: ["solo"] }, { num_retries: 2 });
    const started = performance.now();
    const res = await router.completion(chatRequest());
    const elapsed = performance.now() - started;
    assert.equal(res._hidden_params.attempts, 3);
    assert.equal(res._hidden_params.retries, 2);
    const calls = mock.callsTo("solo");
    assert.equal(calls.length, 3);
    const gap1 = calls[1].at - calls[0].at;
    const gap2 = calls[2].at - calls[1].at;
    assert.ok(gap1 >= 490 && gap1 <= 1250 + 300, `first backoff ${gap1} ms`);
    assert.ok(gap2 >= 990 && gap2 <= 1750 + 300, `second backoff ${gap2} ms`);
    assert.ok(elapsed >= 1480, `elapsed ${elapsed} ms`);
  });

  it("a 429's retry-after: 1 delays the retry by at least a second", T, async () => {
    mock.script("solo", { error: "rate_limit", headers: { "retry-after": "1" } });
    const router = routerOver(mock, { chat: ["solo"] }, { num_retries: 1 });
    const res = await router.completion(chatRequest());
    assert.equal(res._hidden_params.attempts, 2);
    const calls = mock.callsTo("solo");
    assert.equal(calls.length, 2);
    const gap = calls[1].at - calls[0].at;
    assert.ok(gap >= 990 && gap <= 1750 + 300, `retry after ${gap} ms`);
  });
});

describe("timeouts", () => {
  it(
    "timeout: 0.2 on a hung upstream -> Timeout 408 within ~0.2 s, and the fetch is aborted",
    T,
    async () => {
      mock.script("a", { hang: true });
      const router = routerOver(mock, { chat: ["a"] }, { timeout: 0.2, num_retries: 0 });
      const abortedBefore = mock.stats.aborted;
      const started = performance.now();
      const err = await rejection(router.completion(chatRequest()));
      const elapsed = performance.now() - started;
      assert.ok(err instanceof errors.Timeout, `${err.name}: ${err.message}`);
      assert.equal(err.status, 408);
      assert.equal(err.retryable, true);
      assert.equal(err.deployment_id, "a");
      assert.equal(err.model_group, "chat");
      assert.ok(elapsed >= 195 && elapsed <= 800, `rejected after ${elapsed} ms`);
      assert.ok(
        await waitFor(() => mock.stats.aborted === abortedBefore + 1),
        "the mock saw the upstream request aborted",
      );
      assert.equal(mock.stats.open, 0);
    },
  );

  it("a per-request timeout overrides a longer Router timeout", T, async () => {
    mock.script("a", { hang: true });
    const router = routerOver(mock, { chat: ["a"] }, { timeout: 30, num_retries: 0 });
    const started = performance.now();
    const err = await rejection(router.completion(chatRequest("chat", { timeout: 0.2 })));
    const elapsed = performance.now() - started;
    assert.ok(err instanceof errors.Timeout, err.name);
    assert.ok(elapsed >= 195 && elapsed <= 800, `rejected after ${elapsed} ms`);
    assert.ok(await waitFor(() => mock.stats.aborted === 1));
  });

  it("a per-request timeout overrides a shorter Router timeout", T, async () => {
    mock.script("a", { delay_ms: 400 });
    const router = routerOver(mock, { chat: ["a"] }, { timeout: 0.2, num_retries: 0 });
    const res = await router.completion(chatRequest("chat", { timeout: 5 }));
    assert.equal(res._hidden_params.model_id, "a");
    assert.equal(mock.stats.aborted, 0);
  });

  it("a timed-out deployment is retried on another one", T, async () => {
    mock.script("a", { hang: true });
    const router = routerOver(
      mock,
      {
        chat: [
          ["a", FIRST],
          ["b", SECOND],
        ],
      },
      { timeout: 0.2 },
    );
    const res = await router.completion(chatRequest());
    assert.equal(res._hidden_params.model_id, "b");
    assert.equal(res._hidden_params.attempts, 2);
  });
});

describe("cooldowns", () => {
  it(
    "a 429 cools the deployment down at once: traffic goes to the other until cooldown_time ends",
    T,
    async () => {
      mock.script("a", { error: "rate_limit" });
      const router = routerOver(
        mock,
        {
          chat: [
            ["a", FIRST],
            ["b", SECOND],
          ],
        },
        { cooldown_time: 0.3 },
      );
      const first = await router.completion(chatRequest());
      assert.equal(first._hidden_params.model_id, "b");
      assert.equal(first._hidden_params.attempts, 2);
      const stats = (await router.getUsageStats()).deployments;
      const until = stats.a.cooldown_until_ms;
      assert.equal(typeof until, "number");
      assert.ok(until > Date.now() && until <= Date.now() + 300, `cooldown_until_ms ${until}`);
      assert.equal(stats.b.cooldown_until_ms, null);
      assert.equal(stats.a.failures_by_kind.RateLimitError, 1);
      for (let i = 0; i < 5; i++) {
        const res = await router.completion(chatRequest());
        assert.equal(res._hidden_params.model_id, "b");
        assert.equal(res._hidden_params.attempts, 1);
      }
      assert.equal(mock.callsTo("a").length, 1);
      assert.equal(mock.callsTo("b").length, 6);
      await sleep(Math.max(0, until - Date.now()) + 30);
      assert.equal((await router.getUsageStats()).deployments.a.cooldown_until_ms, null);
      const back = await router.completion(chatRequest());
      assert.equal(back._hidden_params.model_id, "a");
      assert.equal(mock.callsTo("a").length, 2);
    },
  );

  it("a 429's retry-after sets how long the deployment cools down", T, async () => {
    mock.script("a", { error: "rate_limit", headers: { "retry-after": "1" } });
    const router = routerOver(
      mock,
      {
        chat: [
          ["a", FIRST],
          ["b", SECOND],
        ],
      },
      { cooldown_time: 30 },
    );
    const res = await router.completion(chatRequest());
    assert.equal(res._hidden_params.model_id, "b");
    const left = (await router.getUsageStats()).deployments.a.cooldown_until_ms - Date.now();
    assert.ok(left > 500 && left <= 1000, `cooling for ${left} ms more`);
  });

  it("a 500 cools a deployment down only after more than allowed_fails failures", T, async () => {
    mock.mode("a", { kind: "down" });
    const router = routerOver(
      mock,
      {
        chat: [
          ["a", FIRST],
          ["b", SECOND],
        ],
      },
      { allowed_fails: 1 },
    );
    await router.completion(chatRequest());
    assert.equal((await router.getUsageStats()).deployments.a.cooldown_until_ms, null);
    await router.completion(chatRequest());
    assert.notEqual((await router.getUsageStats()).deployments.a.cooldown_until_ms, null);
    const res = await router.completion(chatRequest());
    assert.equal(res._hidden_params.attempts, 1);
    assert.equal(mock.callsTo("a").length, 2);
    assert.equal(mock.callsTo("b").length, 3);
  });

  it("disable_cooldowns keeps a rate-limited deployment in rotation", T, async () => {
    mock.mode("a", { kind: "down", error: "rate_limit" });
    const router = routerOver(
      mock,
      {
        chat: [
          ["a", FIRST],
          ["b", SECOND],
        ],
      },
      { disable_cooldowns: true },
    );
    for (let i = 0; i < 3; i++) await router.completion(chatRequest());
    assert.equal(mock.callsTo("a").length, 3);
    assert.equal((await router.getUsageStats()).deployments.a.cooldown_until_ms, null);
  });

  it("a single-deployment group is never cooled down", T, async () => {
    mock.script("solo", { error: "rate_limit" });
    const router = routerOver(mock, { chat: ["solo"] }, { num_retries: 0 });
    await rejection(router.completion(chatRequest()));
    assert.equal((await router.getUsageStats()).deployments.solo.cooldown_until_ms, null);
    const res = await router.completion(chatRequest());
    assert.equal(res._hidden_params.model_id, "solo");
  });

  it(
    "every deployment cooling down -> NoDeploymentsAvailableError 429 with retry_after_ms",
    T,
    async () => {
      mock.mode("a", { kind: "down", error: "rate_limit" });
      mock.mode("b", { kind: "down", error: "rate_limit" });
      const router = routerOver(mock, { chat: ["a", "b"] }, { num_retries: 1, cooldown_time: 5 });
      const first = await rejection(router.completion(chatRequest()));
      assert.ok(first instanceof errors.RateLimitError, first.name);
      assert.equal(mock.calls.length, 2);
      const err = await rejection(router.completion(chatRequest()));
      assert.ok(err instanceof errors.NoDeploymentsAvailableError, `${err.name}: ${err.message}`);
      assert.ok(err instanceof errors.RateLimitError);
      assert.equal(err.status, 429);
      assert.equal(err.model_group, "chat");
      assert.ok(err.retry_after_ms > 0 && err.retry_after_ms <= 5000, `${err.retry_after_ms}`);
      assert.equal(mock.calls.length, 2, "no upstream call while everything cools down");
    },
  );
  it("NoDeploymentsAvailableError is retryable, like every RateLimitError", T, async () => {
    mock.mode("a", { kind: "down", error: "rate_limit" });
    mock.mode("b", { kind: "down", error: "rate_limit" });
    const router = routerOver(mock, { chat: ["a", "b"] }, { num_retries: 1 });
    await rejection(router.completion(chatRequest()));
    const err = await rejection(router.completion(chatRequest()));
    assert.ok(err instanceof errors.NoDeploymentsAvailableError, err.name);
    assert.equal(err.retryable, true);
  });
});

describe("fallbacks", () => {
  const groups = { primary: ["p"], backup: ["k"], big: ["g"], generic: ["n"] };
  const answeredBy = (res, group, id) => {
    assert.equal(res._hidden_params.model_group, group);
    assert.equal(res._hidden_params.model_id, id);
    assert.equal(res._hidden_params.fallback_model_group, group);
  };

  it("fallbacks: a failing group is answered by its fallback group", T, async () => {
    mock.mode("p", { kind: "down" });
    const router = routerOver(mock, groups, {
      num_retries: 0,
      fallbacks: [{ primary: ["backup"] }],
    });
    const res = await router.completion(chatRequest("primary"));
    answeredBy(res, "backup", "k");
    assert.equal(res._hidden_params.attempts, 2);
    assert.equal(mock.callsTo("p").length, 1);
    assert.equal(mock.callsTo("k").length, 1);
  });

  it("fallback groups are tried in order", T, async () => {
    mock.mode("p", { kind: "down" }).mode("k", { kind: "down" });
    const router = routerOver(mock, groups, {
      num_retries: 0,
      fallbacks: [{ primary: ["backup", "generic"] }],
    });
    const res = await router.completion(chatRequest("primary"));
    answeredBy(res, "generic", "n");
    assert.deepEqual(
      mock.calls.map((c) => c.name),
      ["p", "k", "n"],
    );
  });

  it("context_window_fallbacks take a context-window error, not the generic list", T, async () => {
    mock.script("p", { error: "context_window" });
    const router = routerOver(mock, groups, {
      num_retries: 0,
      fallbacks: [{ primary: ["generic"] }],
      context_window_fallbacks: [{ primary: ["big"] }],
    });
    const res = await router.completion(chatRequest("primary"));
    answeredBy(res, "big", "g");
    assert.equal(mock.callsTo("n").length, 0);
  });

  it("content_policy_fallbacks take a content-policy error", T, async () => {
    mock.script("p", { error: "content_policy" });
    const router = routerOver(mock, groups, {
      num_retries: 0,
      fallbacks: [{ primary: ["generic"] }],
      content_policy_fallbacks: [{ primary: ["big"] }],
    });
    answeredBy(await router.completion(chatRequest("primary")), "big", "g");
    assert.equal(mock.callsTo("n").length, 0);
  });

  it(
    "generic fallbacks catch a context-window error when no specific list applies",
    T,
    async () => {
      mock.script("p", { error: "context_window" });
      const router = routerOver(mock, groups, {
        num_retries: 0,
        fallbacks: [{ primary: ["generic"] }],
      });
      answeredBy(await router.completion(chatRequest("primary")), "generic", "n");
    },
  );

  it("default_fallbacks apply to a group without its own entry", T, async () => {
    mock.mode("p", { kind: "down" });
    const router = routerOver(mock, groups, { num_retries: 0, default_fallbacks: ["backup"] });
    answeredBy(await router.completion(chatRequest("primary")), "backup", "k");
  });

  it('the "*" entry applies to every group', T, async () => {
    mock.mode("p", { kind: "down" });
    const router = routerOver(mock, groups, { num_retries: 0, fallbacks: [{ "*": ["backup"] }] });
    answeredBy(await router.completion(chatRequest("primary")), "backup", "k");
  });

  it("per-request fallbacks (list of groups, or LiteLLM's object form) are used", T, async () => {
    mock.mode("p", { kind: "down" });
    const router = routerOver(mock, groups, { num_retries: 0 });
    const a = await router.completion(chatRequest("primary", { fallbacks: ["backup"] }));
    answeredBy(a, "backup", "k");
    const b = await router.completion(
      chatRequest("primary", { fallbacks: [{ primary: ["big"] }] }),
    );
    answeredBy(b, "big", "g");
  });

  it("per-request fallbacks replace the Router's", T, async () => {
    mock.mode("p", { kind: "down" });
    const router = routerOver(mock, groups, {
      num_retries: 0,
      fallbacks: [{ primary: ["backup"] }],
    });
    const res = await router.completion(chatRequest("primary", { fallbacks: ["generic"] }));
    answeredBy(res, "generic", "n");
    assert.equal(mock.callsTo("k").length, 0);
  });

  it(
    "mock_testing_fallbacks: answered by the fallback without calling the primary's deployments",
    T,
    async () => {
      const router = routerOver(mock, groups, { fallbacks: [{ primary: ["backup"] }] });
      const res = await router.completion(chatRequest("primary", { mock_testing_fallbacks: true }));
      answeredBy(res, "backup", "k");
      assert.equal(mock.callsTo("p").length, 0);
      assert.equal(mock.callsTo("k").length, 1);
      assert.equal(mock.callsTo("k")[0].body.mock_testing_fallbacks, undefined);
    },
  );

  it("disable_fallbacks: true surfaces the primary's error", T, async () => {
    mock.mode("p", { kind: "down" });
    const router = routerOver(mock, groups, {
      num_retries: 0,
      fallbacks: [{ primary: ["backup"] }],
    });
    const err = await rejection(
      router.completion(chatRequest("primary", { disable_fallbacks: true })),
    );
    assert.ok(err instanceof errors.InternalServerError, err.name);
    assert.equal(err.model_group, "primary");
    assert.equal(mock.callsTo("k").length, 0);
  });

  it("when every fallback fails too, the last group's error surfaces", T, async () => {
    mock.mode("p", { kind: "down" }).mode("k", { kind: "down", error: "unavailable" });
    const router = routerOver(mock, groups, {
      num_retries: 0,
      fallbacks: [{ primary: ["backup"] }],
    });
    const err = await rejection(router.completion(chatRequest("primary")));
    assert.ok(err instanceof errors.ServiceUnavailableError, err.name);
    assert.equal(err.model_group, "backup");
    assert.equal(err.attempts, 2);
  });

  it("per-request fallbacks: [] turns the Router's fallbacks off", T, async () => {
    mock.mode("p", { kind: "down" });
    const router = routerOver(mock, groups, {
      num_retries: 0,
      fallbacks: [{ primary: ["backup"] }],
    });
    const err = await rejection(router.completion(chatRequest("primary", { fallbacks: [] })));
    assert.ok(err instanceof errors.InternalServerError, err.name);
    assert.equal(mock.calls.length, 1);
  });

  it("a fallback cycle enters each group once: one request, one call per group", T, async () => {
    mock.mode("p", { kind: "down" }).mode("k", { kind: "down" });
    const cycle = [{ primary: ["backup"] }, { backup: ["primary"] }];
    const router = routerOver(mock, groups, { num_retries: 0, fallbacks: cycle });
    const err = await rejection(router.completion(chatRequest("primary")));
    assert.ok(err instanceof errors.InternalServerError, err.name);
    assert.deepEqual(
      mock.calls.map((c) => c.name),
      ["p", "k"],
    );
    mock.reset();
    mock.mode("p", { kind: "down" }).mode("k", { kind: "down" });
    const none = routerOver(mock, groups, { num_retries: 0, fallbacks: cycle, max_fallbacks: 0 });
    await rejection(none.completion(chatRequest("primary")));
    assert.deepEqual(
      mock.calls.map((c) => c.name),
      ["p"],
    );
  });

  it("a caller's own short timeout never cools a shared deployment down", T, async () => {
    mock.mode("a", { kind: "slow", delay_ms: 200 }).mode("b", { kind: "slow", delay_ms: 200 });
    const router = routerOver(mock, { chat: ["a", "b"] }, { allowed_fails: 1, num_retries: 1 });
    for (let i = 0; i < 4; i++) {
      const err = await rejection(router.completion(chatRequest("chat", { timeout: 0.02 })));
      assert.ok(err instanceof errors.Timeout, err.name);
    }
    const stats = await router.getUsageStats();
    for (const id of ["a", "b"]) assert.equal(stats.deployments[id].cooldown_until_ms, null, id);
    // Another tenant, with the operator's timeout, is still served by both.
    const res = await router.completion(chatRequest());
    assert.ok(["a", "b"].includes(res._hidden_params.model_id));
  });

  it("a caller-set fallback cycle across every group cannot fan out", T, async () => {
    mock.mode("p", { kind: "down" }).mode("k", { kind: "down" });
    const router = routerOver(mock, groups, { num_retries: 0 });
    const cycle = [{ primary: ["backup", "primary"] }, { backup: ["primary", "backup"] }];
    const err = await rejection(
      router.completion(chatRequest("primary", { fallbacks: cycle, max_fallbacks: 12 })),
    );
    assert.ok(err instanceof errors.InternalServerError, err.name);
    assert.equal(err.attempts, 2);
    assert.deepEqual(
      mock.calls.map((c) => c.name),
      ["p", "k"],
    );
  });

  it("model_group_alias routes an alias to its group", T, async () => {
    const router = routerOver(mock, groups, { model_group_alias: { "gpt-alias": "backup" } });
    const res = await router.completion(chatRequest("gpt-alias"));
    assert.equal(res._hidden_params.model_group, "backup");
    assert.equal(res._hidden_params.model_id, "k");
    assert.equal(res._hidden_params.fallback_model_group, null);
    assert.equal(mock.callsTo("k")[0].body.model, "mock-k");
  });
});
