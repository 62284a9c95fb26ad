// npm run demo --ui (or `node examples/demo/dashboard.mjs`): the demo's mock providers behind a
// gateway with the dashboard, and steady traffic through healthy, flaky and slow deployments,
// so cooldowns, retries and fallbacks happen live. Prints the dashboard's URL and master key.
//
//   PORT, HOST     default 8788, 127.0.0.1
//   LLMUX_MASTER_KEY  default: a random key, printed
//   DEMO_RPS       requests per second (default 4, at most 20)
import http from "node:http";
import { randomBytes } from "node:crypto";
import { Router } from "../../js/node.js";
import { nodeListener } from "../node/server.mjs";
import { startMockServer } from "../../tests/mock/server.mjs";

const key = process.env.LLMUX_MASTER_KEY || `sk-dash-${randomBytes(12).toString("hex")}`;
const rps = Math.min(20, Math.max(0.2, Number(process.env.DEMO_RPS ?? 4) || 4));

const mock = await startMockServer();
mock.mode("flaky", { kind: "flaky", fail_rate: 0.35, error: "server" });
mock.mode("slow", { kind: "slow", delay_ms: 700 });
mock.mode("backup", { kind: "healthy", delay_ms: 40 });
mock.mode("healthy", { kind: "healthy", delay_ms: 25 });

const deployment = (group, id, price, extra = {}) => ({
  model_name: group,
  litellm_params: {
    model: `openai/mock-${id}`,
    api_base: mock.base(id),
    api_key: `sk-demo-${id}-0123456789abcdef`,
    ...extra,
  },
  model_info: { id, input_cost_per_token: price[0], output_cost_per_token: price[1] },
});

const router = new Router({
  model_list: [
    deployment("chat", "healthy", [0.15e-6, 0.6e-6], { weight: 3 }),
    deployment("chat", "flaky", [0.5e-6, 1.5e-6], { weight: 2 }),
    deployment("chat", "slow", [2.5e-6, 10e-6], { weight: 1, timeout: 0.5 }),
    deployment("backup", "backup", [1e-6, 3e-6]),
  ],
  num_retries: 1,
  allowed_fails: 1,
  cooldown_time: 15,
  fallbacks: [{ chat: ["backup"] }],
  gateway: { master_key: key, ui: true },
});

const server = http.createServer(nodeListener(router));
await new Promise((resolve) =>
  server.listen(Number(process.env.PORT ?? 8788), process.env.HOST ?? "127.0.0.1", resolve),
);
const url = `http://${process.env.HOST ?? "127.0.0.1"}:${server.address().port}`;

/** One chat call through the gateway, as any OpenAI client would make it. */
async function call() {
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }] }),
    });
    await res.arrayBuffer();
  } catch {
    // A failed call is on the dashboard; the demo keeps going.
  }
}

const traffic = setInterval(call, 1000 / rps);
// Every 40 s the healthy and flaky deployments go down together for 8 s: the chat group's
// retries run out and calls fall back to `backup`.
const outage = setInterval(() => {
  mock.mode("healthy", { kind: "down", error: "server" });
  mock.mode("flaky", { kind: "down", error: "server" });
  setTimeout(() => {
    mock.mode("healthy", { kind: "healthy", delay_ms: 25 });
    mock.mode("flaky", { kind: "flaky", fail_rate: 0.35, error: "server" });
  }, 8000);
}, 40_000);
// The mock logs every call; keep only the last minute's worth.
const trim = setInterval(() => mock.calls.splice(0, Math.max(0, mock.calls.length - 600)), 60_000);

console.log(`llmux dashboard: ${url}/ui`);
console.log(`master key:      ${key}`);
console.log(
  `traffic:         ${rps} requests/s to "chat" (healthy, flaky, slow; fallback: backup)`,
);
console.log("Ctrl-C stops it.");

process.once("SIGINT", async () => {
  clearInterval(traffic);
  clearInterval(outage);
  clearInterval(trim);
  server.closeAllConnections();
  server.close();
  await mock.close();
  process.exit(0);
});
