// Response caching end to end through a real fetch to the mock provider: upstream call counts
// for repeated, differing and controlled requests, embeddings cached per item, a KV store
// object shared by two Routers, a broken store bypassed, and the option checks.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";

import {
  Router,
  T,
  chatRequest,
  errors,
  mockEmbedding,
  routerOver,
  startMockServer,
} from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const cached = (options = {}) =>
  routerOver(mock, { chat: ["a"] }, { cache_responses: true, ...options });

/** A Map-backed async store that ignores TTLs and records what it was given. */
function mapStore() {
  const map = new Map();
  const sets = [];
  return {
    map,
    sets,
    get: async (key) => map.get(key),
    set: async (key, value, options) => {
      sets.push({ key, ttl: options?.ttl });
      map.set(key, value);
    },
    delete: async (key) => map.delete(key),
  };
}

describe("response caching", () => {
  it("a repeated completion makes no upstream call and is marked as a hit", T, async () => {
    const router = cached();
    const first = await router.completion(chatRequest());
    const second = await router.completion(chatRequest());
    assert.equal(mock.callsTo("a").length, 1);
    assert.equal(first._hidden_params.cache_hit, false);
    assert.equal(second._hidden_params.cache_hit, true);
    assert.equal(second._hidden_params.response_cost, 0);
    assert.equal(second._hidden_params.model_id, "a");
    assert.deepEqual(second, first, "the same chat.completion, id included");
    const stats = await router.getUsageStats();
    assert.equal(stats.model_groups.chat.cache_hits, 1);
    assert.equal(stats.model_groups.chat.requests, 2);
    assert.equal(stats.deployments.a.cache_hits, 1);
    assert.equal(stats.deployments.a.requests, 1);
  });

  it(
    "a hit honours options.signal as a call does, and a bad request is a rejection",
    T,
    async () => {
      const router = cached();
      await router.completion(chatRequest());
      const live = new AbortController();
      const hit = await router.completion(chatRequest(), { signal: live.signal });
      assert.equal(hit._hidden_params.cache_hit, true);
      const gone = new AbortController();
      gone.abort("caller left");
      await assert.rejects(router.completion(chatRequest(), { signal: gone.signal }), (e) => {
        assert.equal(e, "caller left", "the signal's own reason, as on every call");
        return true;
      });
      await assert.rejects(router.completion(chatRequest(), { signal: {} }), TypeError);
      const bad = router.completion(null);
      assert.ok(bad instanceof Promise, "a rejection, not a synchronous throw");
      await assert.rejects(bad, errors.BadRequestError);
      assert.equal(mock.callsTo("a").length, 1, "only the priming call went upstream");
      const stats = await router.getUsageStats();
      assert.equal(stats.model_groups.chat.cache_hits, 1, "only the live-signal call was a hit");
    },
  );

  it(
    "the same request text, hit again and again, still has s-maxage decided at each hit",
    T,
    async () => {
      const router = cached();
      const ask = chatRequest("chat", { cache: { "s-maxage": 1 } });
      const first = await router.completion(ask);
      // The second hit onwards reuses what the text derived (README, "Cache hits").
      for (let i = 0; i < 5; i++) {
        const hit = await router.completion(ask);
        assert.equal(hit._hidden_params.cache_hit, true);
        assert.equal(hit.id, first.id);
      }
      assert.equal(mock.callsTo("a").length, 1);
      await new Promise((r) => setTimeout(r, 1_100));
      const stale = await router.completion(ask);
      assert.equal(stale._hidden_params.cache_hit, false, "stored over 1 s ago, s-maxage 1 s");
      assert.equal(mock.callsTo("a").length, 2);
      assert.equal((await router.getUsageStats()).model_groups.chat.cache_hits, 5);
    },
  );

  it("another temperature is a call; user and metadata are not part of the key", T, async () => {
    const router = cached();
    await router.completion(chatRequest("chat", { temperature: 0.2 }));
    await router.completion(chatRequest("chat", { temperature: 0.9 }));
    assert.equal(mock.callsTo("a").length, 2);
    const hit = await router.completion(
      chatRequest("chat", { temperature: 0.2, user: "u-2", metadata: { run: 7 } }),
    );
    assert.equal(hit._hidden_params.cache_hit, true);
    assert.equal(mock.callsTo("a").length, 2);
  });

  it("no-cache calls upstream and stores; no-store stores nothing", T, async () => {
    const router = cached();
    mock.script("a", { reply: "old" }, { reply: "new" }, { reply: "unstored" });
    await router.completion(chatRequest());
    const fresh = await router.completion(chatRequest("chat", { cache: { "no-cache": true } }));
    assert.equal(fresh.choices[0].message.content, "new");
    const hit = await router.completion(chatRequest());
    assert.equal(hit.choices[0].message.content, "new");
    assert.equal(mock.callsTo("a").length, 2);

    const other = chatRequest("chat", { seed: 5 });
    await router.completion({ ...other, cache: { "no-store": true } });
    const again = await router.completion(other);
    assert.equal(again._hidden_params.cache_hit, false, "nothing was stored");
    assert.equal(mock.callsTo("a").length, 4);
  });

  it("text completions are cached", T, async () => {
    const router = cached();
    const req = { model: "chat", prompt: "Say hi" };
    await router.textCompletion(req);
    const hit = await router.textCompletion(req);
    assert.equal(hit._hidden_params.cache_hit, true);
    assert.equal(hit.object, "text_completion");
    assert.equal(mock.callsTo("a").length, 1);
  });

  it("an embedding batch sends only its uncached items and keeps the order", T, async () => {
    const router = cached();
    await router.embedding({ model: "chat", input: ["alpha", "beta"] });
    const mixed = await router.embedding({ model: "chat", input: ["gamma", "beta", "alpha"] });
    const calls = mock.callsTo("a");
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1].body.input, ["gamma"]);
    assert.deepEqual(
      mixed.data.map((d) => d.index),
      [0, 1, 2],
    );
    for (const [i, text] of ["gamma", "beta", "alpha"].entries()) {
      assert.deepEqual(mixed.data[i].embedding, mockEmbedding(text), text);
    }
    const all = await router.embedding({ model: "chat", input: "beta" });
    assert.equal(all._hidden_params.cache_hit, true);
    assert.deepEqual(all.data[0].embedding, mockEmbedding("beta"));
    assert.equal(mock.callsTo("a").length, 2);
    // The merged answer's usage is that of the one item sent.
    const alone = await router.embedding({
      model: "chat",
      input: ["gamma"],
      cache: { "no-cache": true },
    });
    assert.deepEqual(mixed.usage, alone.usage);
    assert.equal(mock.callsTo("a").length, 3);
  });

  it("concurrent identical requests share one upstream call", T, async () => {
    const router = cached();
    mock.script("a", { delay_ms: 100, reply: "shared" });
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => router.completion(chatRequest())),
    );
    assert.equal(mock.callsTo("a").length, 1);
    assert.equal(answers.filter((r) => r._hidden_params.cache_hit).length, 4);
    for (const r of answers) assert.equal(r.choices[0].message.content, "shared");
  });

  it("a KV store object is shared by two Routers and given a TTL in seconds", T, async () => {
    const store = mapStore();
    const options = { cache: store, cache_kwargs: { ttl: 90, namespace: "llm" } };
    await cached(options).completion(chatRequest());
    const hit = await cached(options).completion(chatRequest());
    assert.equal(hit._hidden_params.cache_hit, true, "a second Router reads the store");
    assert.equal(mock.callsTo("a").length, 1);
    assert.equal(store.sets.length, 1);
    assert.equal(store.sets[0].ttl, 90);
    assert.match(store.sets[0].key, /^llm:[0-9a-f]{64}$/);
    const entry = JSON.parse(store.map.get(store.sets[0].key));
    assert.equal(entry.v, 1);
    assert.equal(typeof entry.expires_at_ms, "number");
    assert.ok(!store.map.get(store.sets[0].key).includes("sk-test-a"), "no key in the value");
  });

  it("a synchronous store (a plain Map) works too", T, async () => {
    const map = new Map();
    const store = { get: (k) => map.get(k), set: (k, v) => map.set(k, v) };
    const router = cached({ cache: store });
    await router.completion(chatRequest());
    assert.equal((await router.completion(chatRequest()))._hidden_params.cache_hit, true);
    assert.equal(map.size, 1);
  });

  it("a throwing store is bypassed and reported once", T, async () => {
    const warnings = [];
    const logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} };
    const store = {
      get: async () => {
        throw new Error("ECONNREFUSED");
      },
      set: () => {
        throw new Error("ECONNREFUSED");
      },
    };
    const router = cached({ cache: store, logger });
    for (let i = 0; i < 3; i++) {
      const res = await router.completion(chatRequest());
      assert.equal(res._hidden_params.cache_hit, false);
    }
    assert.equal(mock.callsTo("a").length, 3);
    const cacheWarnings = warnings.filter((m) => m.includes("cache backend"));
    assert.equal(cacheWarnings.length, 1, JSON.stringify(warnings));
    assert.match(cacheWarnings[0], /ECONNREFUSED/);
  });

  it("errors are not cached", T, async () => {
    const router = cached({ num_retries: 0 });
    mock.script("a", { error: "bad_request" });
    await assert.rejects(router.completion(chatRequest()), errors.BadRequestError);
    const ok = await router.completion(chatRequest());
    assert.equal(ok._hidden_params.cache_hit, false);
    assert.equal(mock.callsTo("a").length, 2);
  });

  it("invalid cache options and controls are refused by name", T, async () => {
    const configError = (options) => {
      try {
        cached(options);
      } catch (e) {
        return e;
      }
      assert.fail("expected a ConfigError");
    };
    for (const cache of [{ get() {} }, "kv", { get() {}, set() {}, delete: 1 }]) {
      const e = configError({ cache });
      assert.ok(e instanceof errors.ConfigError);
      assert.equal(e.field, "cache");
    }
    const redis = configError({ cache_kwargs: { type: "redis" } });
    assert.equal(redis.field, "cache_kwargs.type");
    assert.match(redis.message, /needs redis_url/);
    const stray = routerOver.bind(null, mock, { chat: ["a"] });
    assert.throws(
      () => stray({ cache: mapStore() }),
      (e) => e.field === "cache",
    );
    const router = cached();
    await assert.rejects(
      router.completion(chatRequest("chat", { cache: { nocache: true } })),
      errors.BadRequestError,
    );
    assert.equal(mock.callsTo("a").length, 0);
  });

  it("without cache_responses, identical requests each go upstream", T, async () => {
    const router = new Router({
      model_list: [
        {
          model_name: "chat",
          litellm_params: { model: "openai/mock-a", api_base: mock.base("a"), api_key: "sk" },
        },
      ],
    });
    await router.completion(chatRequest("chat", { cache: { ttl: 5 } }));
    await router.completion(chatRequest());
    assert.equal(mock.callsTo("a").length, 2);
  });
});
