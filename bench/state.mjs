// Shared-state overhead per request (Node): each routing strategy with no store (local state
// only, the default), a JS in-memory store, and Redis on loopback (a redis-server started
// here), over a fake fetch (no network) so only the router's own work is timed. Also run with
// `state_sync_interval_ms: 0` (a background sync after every request) to show the worst case.
// Prints a Markdown table and the store round trips per request.
//   node bench/state.mjs [calls per variant, default 3000]
import { Router, redisStore } from "../js/node.js";
import { fakeFetch } from "./harness.mjs";
import { startRedis } from "../tests/js/state/harness.mjs";

const CALLS = Number(process.argv[2] ?? 3000);
const WARMUP = 300;
const STRATEGIES = [
  "simple-shuffle",
  "least-busy",
  "usage-based-routing-v2",
  "latency-based-routing",
  "cost-based-routing",
];
const reply = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4o-mini",
  choices: [
    {
      index: 0,
      message: { role: "assistant", content: "hi" },
      finish_reason: "stop",
      logprobs: null,
    },
  ],
  usage: { prompt_tokens: 9, completion_tokens: 1, total_tokens: 10 },
});
const model_list = ["a", "b", "c"].map((n) => ({
  model_name: "chat",
  litellm_params: {
    model: "openai/gpt-4o-mini",
    api_base: `http://bench-${n}.invalid/v1`,
    api_key: "sk-bench",
    rpm: 1_000_000,
    tpm: 100_000_000,
  },
  model_info: { id: `bench-${n}` },
}));
const request = { model: "chat", messages: [{ role: "user", content: "hi" }] };

/** A StateStore in a JS Map (one process), counting calls. */
function memoryStore() {
  const m = new Map();
  const live = (k) => {
    const e = m.get(k);
    return e && e.exp > Date.now() ? e : null;
  };
  return {
    async incr(ops) {
      return ops.map((o) => {
        const e = live(o.key) ?? { v: 0, exp: Date.now() + o.ttl_ms };
        e.v += o.by;
        m.set(o.key, e);
        return e.v;
      });
    },
    async get(keys) {
      return keys.map((k) => (live(k) ? String(live(k).v) : null));
    },
    async set(ops) {
      for (const o of ops) m.set(o.key, { v: o.value, exp: Date.now() + o.ttl_ms });
    },
  };
}

/** Wraps a store to count its calls (each one is one round trip). */
function counted(store) {
  const calls = { n: 0 };
  return {
    calls,
    store: {
      incr: (ops) => (calls.n++, store.incr(ops)),
      get: (keys) => (calls.n++, store.get(keys)),
      set: (ops) => (calls.n++, store.set(ops)),
    },
  };
}

async function measure(strategy, state, extra = {}, calls = { n: 0 }) {
  const router = new Router({
    model_list,
    routing_strategy: strategy,
    fetch: fakeFetch(reply),
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    ...(state ? { state } : {}),
    ...extra,
  });
  for (let i = 0; i < WARMUP; i++) {
    await router.completion(request);
    await new Promise((r) => setImmediate(r));
  }
  await router.syncState();
  const times = new Float64Array(CALLS);
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    await router.completion(request);
    times[i] = performance.now() - t0;
    // Between requests the event loop turns (as in a server), so background syncs progress.
    await new Promise((r) => setImmediate(r));
  }
  await router.syncState();
  const roundTrips = calls.n / (CALLS + WARMUP);
  // One sync (flush + snapshot) timed on its own, after one request each time.
  const SYNCS = 200;
  let syncMs = 0;
  for (let i = 0; i < SYNCS; i++) {
    await router.completion(request);
    const t0 = performance.now();
    await router.syncState();
    syncMs += performance.now() - t0;
  }
  times.sort();
  const mean = times.reduce((a, b) => a + b, 0) / CALLS;
  return {
    mean: mean * 1000,
    p50: times[Math.floor(CALLS / 2)] * 1000,
    sync: (syncMs / SYNCS) * 1000,
    roundTrips,
  };
}

const redis = await startRedis();
const rows = [];
try {
  for (const strategy of STRATEGIES) {
    const none = await measure(strategy, null);
    const mem = counted(memoryStore());
    const memory = await measure(strategy, mem.store, {}, mem.calls);
    const memRt = memory.roundTrips;
    const r = redisStore({ url: redis.url });
    const red = counted(r);
    const redisT = await measure(strategy, red.store, {}, red.calls);
    const redisRt = redisT.roundTrips;
    const r0 = redisStore({ url: redis.url });
    const red0 = counted(r0);
    const redis0 = await measure(strategy, red0.store, { state_sync_interval_ms: 0 }, red0.calls);
    const redis0Rt = redis0.roundTrips;
    r.close();
    r0.close();
    rows.push({ strategy, none, memory, memRt, redisT, redisRt, redis0, redis0Rt });
    process.stderr.write(`  ${strategy} done\n`);
  }
} finally {
  await redis.stop();
}

const f = (x) => x.toFixed(0);
const d = (x) => (x >= 0 ? `+${x.toFixed(0)}` : x.toFixed(0));
console.log(
  `\nShared-state overhead per request (µs, Node ${process.versions.node}, ${CALLS} sequential calls per cell, fake fetch)\n`,
);
console.log(
  "| strategy | no store: mean / p50 | in-memory store: mean / p50 (Δp50) | Redis: mean / p50 (Δp50) | Redis, `state_sync_interval_ms: 0`: mean / p50 (Δp50) | round trips / request, in-memory | round trips / request, Redis (1 s / 0) | one `syncState()`: in-memory / Redis |",
);
console.log("| --- | --: | --: | --: | --: | --: | --: | --: |");
for (const r of rows) {
  console.log(
    `| ${r.strategy} | ${f(r.none.mean)} / ${f(r.none.p50)} | ${f(r.memory.mean)} / ${f(r.memory.p50)} (${d(r.memory.p50 - r.none.p50)}) | ${f(r.redisT.mean)} / ${f(r.redisT.p50)} (${d(r.redisT.p50 - r.none.p50)}) | ${f(r.redis0.mean)} / ${f(r.redis0.p50)} (${d(r.redis0.p50 - r.none.p50)}) | ${r.memRt.toFixed(3)} | ${r.redisRt.toFixed(3)} / ${r.redis0Rt.toFixed(2)} | ${f(r.memory.sync)} / ${f(r.redisT.sync)} |`,
  );
}
