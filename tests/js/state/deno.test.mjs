// Shared state between router instances in two Deno processes: through one Deno KV file
// (Deno.openKv(path)) and through Redis over Deno's node:net.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { deployment, startMockServer } from "../node/fixture.mjs";
import { startInstance, startRedis } from "./harness.mjs";

const T = { timeout: 60_000 };

let mock;
let dir;
before(async () => {
  mock = await startMockServer({ port: 0 });
  dir = mkdtempSync(path.join(tmpdir(), "llmux-denokv-"));
});
after(async () => {
  await mock.close();
  rmSync(dir, { recursive: true, force: true });
});

async function awayFromMinuteEdge() {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 8_000) await new Promise((r) => setTimeout(r, left + 100));
}

async function pair(config, body) {
  const a = await startInstance(config, { runtime: "deno" });
  try {
    const b = await startInstance(config, { runtime: "deno" });
    try {
      await body(a, b);
    } finally {
      await b.stop();
    }
  } finally {
    await a.stop();
  }
}

test("two Deno processes share cooldowns and rpm counts through one Deno KV file", T, async () => {
  mock.reset();
  await awayFromMinuteEdge();
  const model_list = [
    deployment(mock, "chat", "dk1", { weight: 1_000_000, rpm: 3 }),
    deployment(mock, "chat", "dk2", { weight: 1 }),
    deployment(mock, "other", "dk3", { weight: 1_000_000 }),
    deployment(mock, "other", "dk4", { weight: 1 }),
  ];
  const config = {
    options: { model_list, enable_pre_call_checks: true },
    denoKv: path.join(dir, "state.sqlite"),
  };
  await pair(config, async (a, b) => {
    // rpm: one request from each process, then A flushes, B flushes and reads, A reads.
    assert.equal((await a.send("chat")).id, "dk1");
    assert.equal((await b.send("chat")).id, "dk1");
    assert.equal((await b.send("chat")).id, "dk1");
    await a.send("sync");
    await b.send("sync");
    await a.send("sync");
    assert.equal((await a.send("chat")).id, "dk2", "dk1 is at 3 of rpm 3 across both");
    assert.equal(mock.callsTo("dk1").length, 3);
    // A cooldown by A reaches B.
    mock.script("dk3", { error: "rate_limit" });
    assert.equal((await a.send("chat", { model: "other" })).id, "dk4");
    await a.send("sync");
    await b.send("sync");
    assert.equal((await b.send("chat", { model: "other" })).id, "dk4");
    assert.equal(mock.callsTo("dk3").length, 1);
    const stats = (await b.send("stats")).stats;
    assert.equal(stats.state.store_down, false);
  });
});

test("Deno talks to Redis over node:net (redis_url)", T, async () => {
  mock.reset();
  const redis = await startRedis();
  try {
    const model_list = [
      deployment(mock, "chat", "dr1", { weight: 1_000_000 }),
      deployment(mock, "chat", "dr2", { weight: 1 }),
    ];
    await pair({ options: { model_list, redis_url: redis.url } }, async (a, b) => {
      mock.script("dr1", { error: "rate_limit" });
      assert.equal((await a.send("chat")).id, "dr2");
      await a.send("sync");
      await b.send("sync");
      assert.equal((await b.send("chat")).id, "dr2");
      assert.equal(mock.callsTo("dr1").length, 1);
      assert.deepEqual((await b.send("warnings")).warnings, []);
    });
  } finally {
    await redis.stop();
  }
});
