// The gateway example for Cloudflare Workers (examples/cloudflare-worker) in workerd through
// Miniflare, under the openai client.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { startMockServer } from "../../mock/server.mjs";
import { startWorkerd } from "./hosts.mjs";
import { gatewaySuite, MASTER_KEY, UPSTREAM_KEY } from "./scenarios.mjs";

gatewaySuite("workerd", startWorkerd);

// The same Worker with its optional bindings: a KV namespace caches answers and a Durable
// Object shares cooldowns and counters, across two Worker instances.

describe("gateway example in workerd with LLMUX_CACHE (KV) and LLMUX_STATE (Durable Object)", () => {
  let mock;
  let host;
  before(async () => {
    mock = await startMockServer({ port: 0 });
    host = await startWorkerd(
      {
        LLMUX_MASTER_KEY: MASTER_KEY,
        OPENAI_API_KEY: UPSTREAM_KEY,
        OPENAI_BASE_URL: mock.base("gwkv"),
      },
      {
        kvNamespaces: ["LLMUX_CACHE"],
        durableObjects: { LLMUX_STATE: "LlmuxStateObject" },
      },
    );
  });
  after(async () => {
    await host?.close();
    await mock?.close();
  });

  it("a repeated request is answered from Workers KV with x-llmux-cache-hit", async () => {
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${host.url}/v1`, maxRetries: 0 });
    const messages = [{ role: "user", content: "cache me in KV" }];
    const first = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages })
      .withResponse();
    assert.equal(first.response.headers.get("x-llmux-cache-hit"), "false");
    const second = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages })
      .withResponse();
    assert.equal(second.response.headers.get("x-llmux-cache-hit"), "true");
    assert.deepEqual(second.data.choices, first.data.choices);
    assert.equal(mock.callsTo("gwkv").length, 1, "one upstream call for both");
    const keys = await (await host.mf.getKVNamespace("LLMUX_CACHE")).list();
    assert.equal(keys.keys.length, 1);
    assert.ok(!keys.keys[0].name.includes(UPSTREAM_KEY));
  });

  it("the Durable Object receives the shared counters after the response", async () => {
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${host.url}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "count me" }] })
      .withResponse();
    const id = response.headers.get("x-litellm-model-id");
    const ns = await host.mf.getDurableObjectNamespace("LLMUX_STATE");
    const stub = ns.get(ns.idFromName("llmux-state"));
    let count = null;
    for (let i = 0; i < 50 && count === null; i++) {
      const minute = Math.floor(Date.now() / 60_000);
      const keys = [minute, minute - 1].map((m) => `llmux:default:rpm:${id}:${m}`);
      const res = await stub.fetch("https://llmux-state/", {
        method: "POST",
        body: JSON.stringify({ op: "get", keys }),
      });
      count = (await res.json()).find((v) => v !== null) ?? null;
      if (count === null) await new Promise((r) => setTimeout(r, 40));
    }
    assert.ok(Number(count) >= 1, `the rpm counter in the Durable Object: ${count}`);
  });
});
