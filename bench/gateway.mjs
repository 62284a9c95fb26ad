// Gateway side of `npm run bench`: HTTP clients in this process against `router.fetch` served by
// workerd (bench/gateway-worker.mjs in Miniflare) and by Node (bench/gateway-node-host.mjs, in
// its own process, through the Node example's adapter), next to a minimal proxy in each host and
// the bare-fetch floor (straight to the mock at argv[2]). Every variant answers the same chat
// request from the same mock deployment. Prints one `BENCH_RESULT <json>` line on stdout.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import {
  GATEWAY_KEY,
  GROUP,
  MESSAGES,
  MODEL,
  compare,
  floorCall,
  interleave,
  runBatch,
  summarize,
} from "./harness.mjs";

const mockUrl = process.argv[2];
if (!mockUrl) throw new Error("usage: node bench/gateway.mjs MOCK_URL");
const root = fileURLToPath(new URL("..", import.meta.url));
const log = (msg) => process.stderr.write(`  [gateway] ${msg}\n`);
const now = () => performance.now();

const GATEWAY_SIZES = {
  c1: { concurrency: 1, total: 600, rounds: 6, budgetMs: 20_000 },
  c64: { concurrency: 64, total: 2000, rounds: 4, budgetMs: 25_000 },
};

/** One POST of the chat request; the gateway variants name the model group and send the key. */
function httpCall(url, gateway) {
  const headers = { "content-type": "application/json" };
  if (gateway) headers.authorization = `Bearer ${GATEWAY_KEY}`;
  const body = JSON.stringify({ model: gateway ? GROUP : MODEL, messages: MESSAGES });
  return async () => {
    const res = await fetch(url, { method: "POST", headers, body });
    const json = await res.json();
    if (!res.ok) throw new Error(`${url}: status ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

function startNodeHost() {
  const child = spawn(process.execPath, ["bench/gateway-node-host.mjs", mockUrl], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = new Promise((resolve, reject) => {
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d) => {
      out += d;
      const m = /HOST_URL=(\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`node host exited with ${code}`)));
  });
  return { child, url };
}

const mf = new Miniflare({
  modules: true,
  modulesRoot: root,
  scriptPath: fileURLToPath(new URL("./gateway-worker.mjs", import.meta.url)),
  modulesRules: [
    { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  compatibilityDate: "2026-04-01",
  bindings: { MOCK_URL: mockUrl },
});
const host = startNodeHost();

async function main() {
  const workerd = (await mf.ready).origin;
  const node = await host.url;
  const variants = {
    floor: floorCall(mockUrl),
    node_proxy: httpCall(`${node}/proxy/v1/chat/completions`, false),
    node_gateway: httpCall(`${node}/v1/chat/completions`, true),
    workerd_proxy: httpCall(`${workerd}/proxy/v1/chat/completions`, false),
    workerd_gateway: httpCall(`${workerd}/v1/chat/completions`, true),
  };
  for (const [name, fn] of Object.entries(variants)) {
    const reply = await fn();
    if (!reply?.choices?.[0]?.message?.content?.startsWith("Hello from "))
      throw new Error(`${name}: not a chat reply: ${JSON.stringify(reply).slice(0, 200)}`);
  }
  log("warm-up");
  const warm = now() + 8_000;
  for (const fn of Object.values(variants)) {
    await runBatch(fn, { n: 200, concurrency: 1, now, deadline: warm, record: false });
    await runBatch(fn, { n: 300, concurrency: 64, now, deadline: warm, record: false });
  }
  const network = {};
  for (const [key, size] of Object.entries(GATEWAY_SIZES)) {
    log(`${key}: ${size.total} requests per variant`);
    const { acc, truncated } = await interleave(variants, { ...size, now });
    const s = Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, summarize(v)]));
    network[key] = {
      concurrency: size.concurrency,
      truncated,
      ...s,
      vs_floor: Object.fromEntries(
        Object.keys(variants)
          .filter((k) => k !== "floor")
          .map((k) => [k, compare(s.floor, s[k])]),
      ),
      gateway_vs_proxy: {
        node: compare(s.node_proxy, s.node_gateway),
        workerd: compare(s.workerd_proxy, s.workerd_gateway),
      },
    };
  }
  return { runtime: { name: "gateway" }, sizes: GATEWAY_SIZES, network };
}

try {
  const results = await main();
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(results)}\n`);
} finally {
  host.child.kill("SIGTERM");
  await mf.dispose();
}
