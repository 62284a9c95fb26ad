// Fresh processes and shared state through a real redis-server: spend booked in one process
// keeps another off the spent deployment; a process started after another cooled a deployment
// down does not call it on its first request (the first-sync wait); against a store that never
// answers, that first request waits at most state_first_sync_timeout_ms, then routes (fail-open).
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, test } from "node:test";
import { deployment, startMockServer } from "../node/fixture.mjs";
import { startInstance, startRedis } from "./harness.mjs";

const T = { timeout: 30_000 };

let mock;
before(async () => {
  mock = await startMockServer({ port: 0 });
});
after(() => mock.close());

/** 10 + 5 tokens at 0.25 / 0.5 USD: 5 USD per answer. */
const PRICES = { input_cost_per_token: 0.25, output_cost_per_token: 0.5 };
const answer = () => ({
  body: {
    id: "chatcmpl-i",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "m",
    choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  },
});

test("spend booked in one process keeps another off the spent deployment", T, async () => {
  mock.reset();
  const redis = await startRedis();
  const model_list = [
    deployment(mock, "chat", "s1", {
      ...PRICES,
      weight: 1_000_000,
      max_budget: 5,
      budget_duration: "1h",
    }),
    deployment(mock, "chat", "s2", { ...PRICES, weight: 1 }),
  ];
  const options = { model_list, redis_url: redis.url, num_retries: 0 };
  const a = await startInstance({ options });
  const b = await startInstance({ options });
  try {
    await b.send("sync"); // B has its first snapshot (nothing spent yet)
    mock.script("s1", answer());
    mock.script("s2", answer(), answer());
    assert.equal((await a.send("chat")).id, "s1"); // 5 USD: s1's whole budget
    await a.send("sync");
    await b.send("sync");
    assert.equal((await b.send("chat")).id, "s2", "B knows s1 spent its budget in A");
    assert.equal((await a.send("chat")).id, "s2");
    assert.equal(mock.callsTo("s1").length, 1);
    const budget = (await b.send("stats")).stats.budgets.deployments.s1;
    assert.equal(budget.spend, 5);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await redis.stop();
  }
});

test(
  "a process started after a cooldown does not call the cooled deployment first",
  T,
  async () => {
    mock.reset();
    const redis = await startRedis();
    const model_list = [
      deployment(mock, "chat", "c1", { weight: 1_000_000 }),
      deployment(mock, "chat", "c2", { weight: 1 }),
    ];
    const options = { model_list, redis_url: redis.url, state_first_sync_timeout_ms: 2_000 };
    const a = await startInstance({ options });
    let b;
    try {
      mock.script("c1", { error: "rate_limit" });
      assert.equal((await a.send("chat")).id, "c2");
      await a.send("sync");
      assert.equal(mock.callsTo("c1").length, 1);
      // B starts now, cold: its first decision waits for the snapshot holding c1's cooldown.
      b = await startInstance({ options });
      const first = await b.send("chat");
      assert.equal(first.id, "c2");
      assert.equal(mock.callsTo("c1").length, 1, "B never called the cooled-down c1");
      const w = (await b.send("warnings")).warnings;
      assert.deepEqual(w, [], "the snapshot arrived in time");
    } finally {
      await Promise.all([a.stop(), b?.stop()]);
      await redis.stop();
    }
  },
);

/** A TCP server that accepts connections and never answers (a hung Redis). */
async function blackhole() {
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: /** @type {net.AddressInfo} */ (server.address()).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

test(
  "against a store that never answers, the first request waits at most the first-sync timeout",
  T,
  async () => {
    mock.reset();
    const hole = await blackhole();
    const options = {
      model_list: [deployment(mock, "chat", "h1")],
      redis_url: `redis://127.0.0.1:${hole.port}`,
      state_first_sync_timeout_ms: 400,
    };
    const b = await startInstance({ options });
    try {
      const first = await b.send("timedChat");
      assert.equal(first.ok, true, JSON.stringify(first));
      assert.equal(first.id, "h1");
      // Waited for the snapshot (timer granularity aside), then routed on local state; loose
      // upper bound: the wait, plus the mock call, plus a loaded machine.
      assert.ok(first.ms >= 350, `waited ${first.ms} ms`);
      assert.ok(first.ms < 400 + 1_500, `waited ${first.ms} ms`);
      const second = await b.send("timedChat");
      assert.equal(second.ok, true);
      assert.ok(second.ms < 400, `the second request does not wait again (${second.ms} ms)`);
      const w = (await b.send("warnings")).warnings;
      assert.ok(
        w.some((m) => /did not answer within state_first_sync_timeout_ms \(400 ms\)/.test(m)),
        JSON.stringify(w),
      );
    } finally {
      await b.stop();
      await hole.close();
    }
  },
);

test(
  "against a refused store port, the first request does not wait out the timeout",
  T,
  async () => {
    mock.reset();
    const hole = await blackhole();
    const port = hole.port;
    await hole.close(); // nothing listens there now: connections are refused at once
    const options = {
      model_list: [deployment(mock, "chat", "r1")],
      redis_url: `redis://127.0.0.1:${port}`,
      state_first_sync_timeout_ms: 3_000,
    };
    const b = await startInstance({ options });
    try {
      const first = await b.send("timedChat");
      assert.equal(first.ok, true, JSON.stringify(first));
      assert.ok(first.ms < 2_500, `a failed first sync settles the wait (${first.ms} ms)`);
      assert.equal((await b.send("stats")).stats.state.store_down, true);
    } finally {
      await b.stop();
    }
  },
);
