// End-to-end deployment selection over real HTTP to the mock provider: tag routing, health-check
// routing (on demand and in the background), affinity pins and optional_pre_call_checks, through
// router.completion (core path and host loop), streams and the gateway (router.fetch).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, beforeEach, describe, it } from "node:test";

import {
  Router,
  T,
  chatRequest,
  deployment,
  errors,
  rejection,
  sleep,
  startMockServer,
  waitFor,
} from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const teams = () => [
  deployment(mock, "chat", "a", { tags: ["teamA"] }),
  deployment(mock, "chat", "b", { tags: ["default"] }),
  deployment(mock, "chat", "c", { tags: ["teamC", "x"] }),
];

const idOf = (res) => res._hidden_params.model_id;

async function drain(stream) {
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
  return text;
}

describe("tag routing", () => {
  it("metadata.tags picks the tagged deployment; untagged requests take `default`", T, async () => {
    const router = new Router({ model_list: teams(), enable_tag_filtering: true });
    for (let i = 0; i < 5; i++) {
      assert.equal(
        idOf(await router.completion(chatRequest("chat", { metadata: { tags: ["teamA"] } }))),
        "a",
      );
      // A plain request takes the host loop: it routes by the `default` tag too.
      assert.equal(idOf(await router.completion(chatRequest())), "b");
      assert.equal(idOf(await router.completion(chatRequest("chat", { tags: ["teamC"] }))), "c");
    }
    assert.equal(mock.callsTo("a").length, 5);
    assert.equal(mock.callsTo("b").length, 5);
    assert.equal(mock.callsTo("c").length, 5);
    // Router kwargs never reach the upstream.
    for (const call of mock.calls) {
      assert.equal(call.body.metadata, undefined);
      assert.equal(call.body.tags, undefined);
    }
  });

  it(
    "a tag no deployment serves (and no `default`) -> BadRequestError before any call",
    T,
    async () => {
      const router = new Router({
        model_list: [
          deployment(mock, "chat", "a", { tags: ["teamA"] }),
          deployment(mock, "chat", "c", { tags: ["teamC"] }),
        ],
        enable_tag_filtering: true,
      });
      const e = await rejection(
        router.completion(chatRequest("chat", { metadata: { tags: ["nope"] } })),
      );
      assert.ok(e instanceof errors.BadRequestError, e.name);
      assert.equal(
        e.message,
        "Not allowed to access model due to tags configuration. Passed model=chat and tags=['nope']",
      );
      assert.equal(e.model_group, "chat");
      assert.equal(mock.calls.length, 0);
    },
  );

  it("tag_filtering_match_any: false and tag_routing_prefix", T, async () => {
    const all = new Router({
      model_list: teams(),
      enable_tag_filtering: true,
      tag_filtering_match_any: false,
    });
    const e = await rejection(
      all.completion(chatRequest("chat", { metadata: { tags: ["teamC", "y"] } })),
    );
    assert.ok(e instanceof errors.BadRequestError);
    assert.equal(
      idOf(await all.completion(chatRequest("chat", { metadata: { tags: ["teamC", "x"] } }))),
      "c",
    );
    const prefixed = new Router({
      model_list: teams(),
      enable_tag_filtering: true,
      tag_routing_prefix: "route:",
    });
    assert.equal(
      idOf(await prefixed.completion(chatRequest("chat", { metadata: { tags: ["teamA"] } }))),
      "b",
    );
    assert.equal(
      idOf(await prefixed.completion(chatRequest("chat", { metadata: { tags: ["route:teamA"] } }))),
      "a",
    );
  });

  it("a stream routes by tags", T, async () => {
    const router = new Router({ model_list: teams(), enable_tag_filtering: true });
    for (let i = 0; i < 3; i++) {
      const stream = await router.completion(
        chatRequest("chat", { stream: true, metadata: { tags: ["teamC"] } }),
      );
      assert.ok((await drain(stream)).length > 0);
    }
    assert.equal(mock.callsTo("c").length, 3);
    assert.equal(mock.calls.length, 3);
  });

  it("the gateway passes metadata.tags through router.fetch", T, async () => {
    const router = new Router({
      model_list: teams(),
      enable_tag_filtering: true,
      gateway: { master_key: "sk-master" },
    });
    const post = (body) =>
      router.fetch(
        new Request("http://gw.test/v1/chat/completions", {
          method: "POST",
          headers: { authorization: "Bearer sk-master", "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
      );
    let res = await post(chatRequest("chat", { metadata: { tags: ["teamA"] } }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-litellm-model-id"), "a");
    res = await post(chatRequest());
    assert.equal(res.headers.get("x-litellm-model-id"), "b");
    res = await post(chatRequest("chat", { metadata: { tags: ["teamZ"] }, fallbacks: [] }));
    assert.equal(res.status, 200, "an unknown tag goes to the default deployment");
    assert.equal(res.headers.get("x-litellm-model-id"), "b");
  });
});

describe("health-check routing", () => {
  it(
    "a deployment whose health check failed leaves rotation; a passing check brings it back",
    T,
    async () => {
      const router = new Router({
        model_list: [deployment(mock, "chat", "a"), deployment(mock, "chat", "b")],
        enable_health_check_routing: true,
      });
      mock.mode("a", { kind: "down", error: "server" });
      const report = await router.healthCheck();
      assert.equal(report.unhealthy_count, 1);
      const probes = mock.callsTo("a").length;
      for (let i = 0; i < 10; i++) {
        assert.equal(idOf(await router.completion(chatRequest())), "b");
        assert.equal(idOf(await router.completion(chatRequest("chat", { metadata: {} }))), "b");
      }
      assert.equal(mock.callsTo("a").length, probes, "no request reached the unhealthy deployment");
      mock.mode("a", { kind: "healthy" });
      await router.healthCheck("chat");
      for (let i = 0; i < 30; i++) await router.completion(chatRequest());
      assert.ok(mock.callsTo("a").length > probes + 1);
    },
  );

  it("health_check_ignore_transient_errors keeps a 429ing deployment in rotation", T, async () => {
    const router = new Router({
      model_list: [deployment(mock, "chat", "a"), deployment(mock, "chat", "b")],
      enable_health_check_routing: true,
      health_check_ignore_transient_errors: true,
    });
    mock.script("a", { error: "rate_limit" });
    await router.healthCheck();
    for (let i = 0; i < 30; i++) await router.completion(chatRequest());
    assert.ok(mock.callsTo("a").length > 1);
  });

  it(
    "health_check_staleness_threshold: a failed check older than it no longer counts",
    T,
    async () => {
      const router = new Router({
        model_list: [deployment(mock, "chat", "a"), deployment(mock, "chat", "b")],
        enable_health_check_routing: true,
        health_check_staleness_threshold: 2,
      });
      mock.mode("a", { kind: "down", error: "server" });
      await router.healthCheck("chat");
      mock.mode("a", { kind: "healthy" });
      const probes = mock.callsTo("a").length;
      for (let i = 0; i < 10; i++) assert.equal(idOf(await router.completion(chatRequest())), "b");
      assert.equal(mock.callsTo("a").length, probes, "a fresh failed check keeps a out");
      // No new probe: past the threshold the old result is ignored and a is back in rotation.
      await sleep(2300);
      for (let i = 0; i < 30; i++) await router.completion(chatRequest());
      assert.ok(mock.callsTo("a").length > probes, "a stale result is ignored");
    },
  );

  it(
    "background_health_check_model_groups probes every health_check_interval; close() stops it",
    T,
    async () => {
      mock.mode("a", { kind: "down", error: "server" });
      const router = new Router({
        model_list: [
          deployment(mock, "chat", "a"),
          deployment(mock, "chat", "b"),
          deployment(mock, "other", "c"),
        ],
        enable_health_check_routing: true,
        background_health_check_model_groups: ["chat"],
        health_check_interval: 1,
      });
      assert.equal(mock.calls.length, 0, "no probe at construction");
      assert.ok(await waitFor(() => mock.callsTo("b").length >= 1, 2500), "a probe ran");
      assert.ok(await waitFor(() => mock.callsTo("a").length >= 1, 500));
      // The probe's result is booked when its reply has been read, a moment after it arrived.
      await sleep(250);
      assert.equal(mock.callsTo("c").length, 0, "only the listed groups are probed");
      const probed = mock.callsTo("a").length;
      for (let i = 0; i < 10; i++) assert.equal(idOf(await router.completion(chatRequest())), "b");
      const served = mock.callsTo("a").filter((c) => c.body.messages?.[0]?.content !== "ping");
      assert.equal(served.length, 0, "only probes reached the unhealthy deployment");
      assert.ok(await waitFor(() => mock.callsTo("a").length > probed, 2500), "a second probe ran");
      router.close();
      const total = mock.calls.length;
      await sleep(1300);
      assert.equal(mock.calls.length, total, "no probe after close()");
    },
  );

  it("the background probe timer does not keep a Node process alive", T, async () => {
    const entry = fileURLToPath(new URL("../../../js/node.js", import.meta.url));
    const script = `
      const { Router } = await import(${JSON.stringify(entry)});
      new Router({
        model_list: [{ model_name: "chat", litellm_params: { model: "openai/x", api_key: "k", api_base: "http://127.0.0.1:9/v1" } }],
        enable_health_check_routing: true,
        background_health_check_model_groups: ["chat"],
        health_check_interval: 1,
      });
    `;
    const started = Date.now();
    await new Promise((resolve, reject) =>
      execFile(
        process.execPath,
        ["--input-type=module", "-e", script],
        { timeout: 10_000 },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    assert.ok(Date.now() - started < 5000);
  });
});

describe("affinity", () => {
  const three = () => [
    deployment(mock, "chat", "a"),
    deployment(mock, "chat", "b"),
    deployment(mock, "chat", "c"),
  ];

  it("session_affinity: one session stays on one deployment; sessions spread", T, async () => {
    const router = new Router({
      model_list: three(),
      optional_pre_call_checks: ["session_affinity"],
    });
    const seen = new Set();
    for (const session of ["s1", "s2", "s3", "s4", "s5", "s6"]) {
      const md = { metadata: { session_id: session } };
      const first = idOf(await router.completion(chatRequest("chat", md)));
      for (let i = 0; i < 5; i++)
        assert.equal(idOf(await router.completion(chatRequest("chat", md))), first);
      const stream = await router.completion(chatRequest("chat", { ...md, stream: true }));
      await drain(stream);
      seen.add(first);
    }
    assert.ok(seen.size > 1);
  });

  it(
    "repin on failover: a session follows the deployment that answered while its own cools down",
    T,
    async () => {
      const router = new Router({
        model_list: three(),
        optional_pre_call_checks: ["session_affinity"],
        session_affinity_repin_on_failover: true,
      });
      const md = { metadata: { session_id: "s" } };
      const pinned = idOf(await router.completion(chatRequest("chat", md)));
      mock.script(pinned, { error: "rate_limit", headers: { "retry-after": "60" } });
      const replacement = idOf(await router.completion(chatRequest("chat", md)));
      assert.notEqual(replacement, pinned);
      for (let i = 0; i < 5; i++)
        assert.equal(idOf(await router.completion(chatRequest("chat", md))), replacement);
    },
  );

  it("deployment_affinity through the gateway: each key keeps its deployment", T, async () => {
    // Twelve keys over three deployments: all first picks landing on one deployment (what
    // the last assertion rules out) has a chance of 3 / 3^12, not the 1 in 81 of five keys.
    const keys = Array.from({ length: 12 }, (_, i) => `sk-k${i + 1}`);
    const router = new Router({
      model_list: three(),
      optional_pre_call_checks: ["deployment_affinity"],
      gateway: { keys: Object.fromEntries(keys.map((k) => [k, { models: ["chat"] }])) },
    });
    const post = (key, body) =>
      router.fetch(
        new Request("http://gw.test/v1/chat/completions", {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
      );
    const seen = new Set();
    for (const key of keys) {
      const first = (await post(key, chatRequest())).headers.get("x-litellm-model-id");
      for (let i = 0; i < 4; i++) {
        // A caller cannot pose as another key: the gateway sets user_api_key_hash itself.
        const spoof = { metadata: { user_api_key_hash: "someone-else" } };
        const res = await post(key, chatRequest("chat", i % 2 ? spoof : {}));
        assert.equal(res.headers.get("x-litellm-model-id"), first);
      }
      seen.add(first);
    }
    assert.ok(seen.size > 1);
  });

  it(
    "deployment_affinity_ttl_seconds: a pin lasts its TTL, then the strategy picks again",
    T,
    async () => {
      // a weighs a million times b: a pin on b shows only through affinity. The key's first
      // request arrives while a is full (max_parallel_requests 1, held by a slow request), so it
      // is pinned to b (LiteLLM pins the deployment it picked, before the call).
      const options = {
        model_list: [
          deployment(mock, "chat", "a", { weight: 1_000_000, max_parallel_requests: 1 }),
          deployment(mock, "chat", "b", { weight: 1 }),
        ],
        optional_pre_call_checks: ["deployment_affinity"],
      };
      const md = { metadata: { user_api_key_hash: "key-1" } };
      for (const ttl of [2, undefined]) {
        mock.reset();
        const router = new Router({ ...options, deployment_affinity_ttl_seconds: ttl });
        mock.script("a", { delay_ms: 800 });
        const slow = router.completion(chatRequest());
        assert.ok(await waitFor(() => mock.callsTo("a").length === 1, 2000));
        assert.equal(idOf(await router.completion(chatRequest("chat", md))), "b");
        assert.equal(idOf(await slow), "a");
        for (let i = 0; i < 3; i++)
          assert.equal(idOf(await router.completion(chatRequest("chat", md))), "b");
        await sleep(2300);
        // ttl 2 s: the pin expired and the weights pick a; the default 3600 s: still b.
        assert.equal(idOf(await router.completion(chatRequest("chat", md))), ttl ? "a" : "b");
      }
    },
  );

  it("model_group_affinity_config: affinity for the groups it names only", T, async () => {
    const router = new Router({
      model_list: [...three(), ...["d", "e", "f"].map((n) => deployment(mock, "other", n))],
      model_group_affinity_config: { chat: ["session_affinity"] },
    });
    const md = { metadata: { session_id: "s" } };
    const first = idOf(await router.completion(chatRequest("chat", md)));
    for (let i = 0; i < 10; i++)
      assert.equal(idOf(await router.completion(chatRequest("chat", md))), first);
    // `other` has no affinity: the same session spreads over its deployments.
    const seen = new Set();
    for (let i = 0; i < 30; i++) seen.add(idOf(await router.completion(chatRequest("other", md))));
    assert.ok(seen.size > 1, [...seen].join());
    assert.throws(
      () => new Router({ model_list: three(), model_group_affinity_config: { chat: ["nope"] } }),
      (e) => e instanceof errors.ConfigError && /model_group_affinity_config/.test(e.field),
    );
  });
});

describe("optional_pre_call_checks", () => {
  it(
    "prompt_caching: a cache_control prefix returns to the deployment that answered it",
    T,
    async () => {
      const router = new Router({
        model_list: ["a", "b", "c"].map((n) => deployment(mock, "chat", n)),
        optional_pre_call_checks: ["prompt_caching"],
      });
      const system = {
        role: "system",
        content: [
          {
            type: "text",
            text: "You are a careful assistant. ".repeat(200),
            cache_control: { type: "ephemeral" },
          },
        ],
      };
      const ask = (q) =>
        router.completion({ model: "chat", messages: [system, { role: "user", content: q }] });
      const first = idOf(await ask("q0"));
      for (let i = 1; i < 8; i++) assert.equal(idOf(await ask(`q${i}`)), first);
      assert.equal(mock.callsTo(first).length, 8);
      // The request body goes upstream as the caller sent it, markers included.
      assert.ok(mock.callsTo(first)[0].body.messages[0].content[0].cache_control);
    },
  );

  it("proxy-only and Responses-API checks -> ConfigError naming the entry and saying why", () => {
    const refused = (checks) => {
      try {
        new Router({ model_list: [], optional_pre_call_checks: checks });
      } catch (e) {
        assert.ok(e instanceof errors.ConfigError);
        return e;
      }
      assert.fail("expected a ConfigError");
    };
    let e = refused(["forward_client_headers_by_model_group"]);
    assert.equal(e.field, "optional_pre_call_checks[0]");
    assert.match(e.message, /proxy/);
    e = refused(["deployment_affinity", "encrypted_content_affinity"]);
    assert.equal(e.field, "optional_pre_call_checks[1]");
    assert.match(e.message, /Responses API/);
  });

  it(
    "enforce_model_rate_limits: rpm is a hard limit -> RateLimitError without an upstream call",
    T,
    async () => {
      // rpm counts per clock minute (the router's clock is Date.now): a run that a minute
      // boundary cut is not a run of this case, so it is repeated with a fresh Router. Two
      // boundaries cannot fall within one run of a few milliseconds and the next.
      for (let run = 0; ; run++) {
        assert.ok(run < 3, "three runs cut by a minute boundary");
        mock.reset();
        const router = new Router({
          model_list: [deployment(mock, "chat", "a", { rpm: 2 })],
          optional_pre_call_checks: ["enforce_model_rate_limits"],
          num_retries: 0,
        });
        const minute = Math.floor(Date.now() / 60_000);
        await router.completion(chatRequest());
        await router.completion(chatRequest());
        const third = await router.completion(chatRequest()).then(
          (res) => res,
          (e) => e,
        );
        if (Math.floor(Date.now() / 60_000) !== minute) continue;
        assert.ok(third instanceof errors.RateLimitError, third.name);
        assert.equal(mock.callsTo("a").length, 2);
        break;
      }
    },
  );
});
