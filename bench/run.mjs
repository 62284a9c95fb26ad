// `npm run bench`: starts the loopback mock in this process, runs the Node, Deno and workerd
// suites one after another (each in its own process), writes bench/results.json and prints
// the Markdown report on stdout (progress on stderr).
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { startMockServer } from "../tests/mock/server.mjs";
import { SIZES } from "./harness.mjs";

const started = performance.now();
const root = fileURLToPath(new URL("..", import.meta.url));
const at = (p) => fileURLToPath(new URL(`../${p}`, import.meta.url));
const log = (msg) => process.stderr.write(`${msg}\n`);

/** Hard limits per runtime (the suites' own phase budgets keep them well inside). */
const LIMIT_MS = { node: 60_000, deno: 60_000, workerd: 75_000 };

function denoVersion() {
  try {
    return execFileSync(at("node_modules/.bin/deno"), ["--version"], { encoding: "utf8" })
      .split("\n")[0]
      .replace(/^deno\s+/, "")
      .split(" ")[0];
  } catch {
    return null;
  }
}

/** Runs one suite; resolves to its parsed `BENCH_RESULT` line, or `{ error }`. */
function runSuite(name, command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d) => (out += d));
    const timer = setTimeout(() => {
      log(`  [${name}] over its ${LIMIT_MS[name] / 1000} s limit: stopping process ${child.pid}`);
      child.kill("SIGKILL");
    }, LIMIT_MS[name]);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ error: `${name}: ${e.message}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
      if (line) resolve(JSON.parse(line.slice("BENCH_RESULT ".length)));
      else resolve({ error: `${name}: exited with ${signal ?? code} and no result` });
    });
  });
}

// ---------- formatting ----------

const us = (x) =>
  x === undefined || x === null || Number.isNaN(x)
    ? "–"
    : Math.abs(x) >= 100
      ? Math.round(x).toLocaleString("en-US")
      : x.toFixed(1);
const rps = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const ratio = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const pair = (a, b) => `${us(a)} / ${us(b)}`;
const bytes = (n) => `${n.toLocaleString("en-US")} B (${(n / 1024).toFixed(1)} KiB)`;
const count = (n) => (Number.isFinite(n) ? n.toLocaleString("en-US") : "?");
const row = (cells) => `| ${cells.join(" | ")} |`;

function networkRows(label, net, { mean = false } = {}) {
  const rows = [];
  for (const key of ["c1", "c64"]) {
    const c = net?.[key];
    if (!c) continue;
    const cmp = c.llmux_vs_floor;
    const cmp3 = c.llmux3_vs_floor;
    const lat = mean
      ? [
          `${us(c.floor.mean_us)} (mean)`,
          `${us(c.llmux.mean_us)} (mean)`,
          `**${us(cmp.added_mean_us)}** (mean)`,
          `${us(cmp3.added_mean_us)} (mean)`,
        ]
      : [
          pair(c.floor.p50_us, c.floor.p99_us),
          pair(c.llmux.p50_us, c.llmux.p99_us),
          `**${us(cmp.added_p50_us)}** / ${us(cmp.added_p99_us)}`,
          pair(cmp3.added_p50_us, cmp3.added_p99_us),
        ];
    rows.push(
      row([
        label,
        String(c.concurrency) + (c.truncated ? " ⚠" : ""),
        lat[0],
        lat[1],
        lat[2],
        rps(c.floor.rps),
        rps(c.llmux.rps),
        `**${ratio(cmp.rps_ratio)}**`,
        lat[3],
        `${rps(c.llmux3.rps)} (${ratio(cmp3.rps_ratio)})`,
      ]),
    );
  }
  return rows;
}

function markdown(r) {
  const { node, deno, workerd } = r.runtimes;
  const rt = workerd?.sizes?.round_trips;
  const iw = workerd?.sizes?.in_worker;
  const m = r.machine;
  const lines = [];
  lines.push("## Benchmark", "");
  lines.push(
    `${r.date} · ${m.os} · ${m.nproc} CPUs (${m.cpu}) · Node ${m.node} · Deno ${m.deno ?? "?"} · ` +
      `${workerd?.runtime?.version ?? "workerd ?"} (Miniflare ${workerd?.runtime?.miniflare ?? "?"}) · ` +
      `llmux ${r.llmux ?? "?"} · load average ${m.loadavg_start.toFixed(1)} → ${m.loadavg_end.toFixed(1)}`,
    "",
  );
  lines.push(
    "Loopback mock provider (`tests/mock/server.mjs`, healthy, no delay, in its own process). " +
      "**floor** = bare `fetch(POST …/chat/completions)` + `res.json()`; **llmux** = " +
      "`router.completion()` on a Router over that one deployment; **llmux ×3** = a group of 3 " +
      "deployments. **added** = llmux − floor, per request (difference of the percentiles). " +
      "Floor and llmux rounds are interleaved in one process, order rotated each round, after a " +
      `warm-up; Node and Deno: ${count(SIZES.c1.total)} requests per variant at concurrency 1, ` +
      `${count(SIZES.c64.total)} at 64.`,
    "",
  );
  lines.push("### Added latency per request (µs) and throughput", "");
  lines.push(
    row([
      "runtime",
      "concurrency",
      "floor p50 / p99",
      "llmux p50 / p99",
      "added p50 / p99",
      "floor req/s",
      "llmux req/s",
      "llmux / floor",
      "llmux ×3: added p50 / p99",
      "llmux ×3 req/s (/ floor)",
    ]),
    row(["---", "--:", "--:", "--:", "--:", "--:", "--:", "--:", "--:", "--:"]),
  );
  lines.push(...networkRows("Node", node?.network));
  lines.push(...networkRows("Deno", deno?.network));
  lines.push(...networkRows("workerd, round trips¹", workerd?.network));
  lines.push(...networkRows("workerd, in-worker²", workerd?.in_worker, { mean: true }));
  lines.push("");

  lines.push("### In-process overhead per call (µs): fake `fetch`, no network", "");
  lines.push(
    "`fetch: async () => new Response(body)` (a real mock reply, pre-built), so only the JS ↔ " +
      "wasm JSON-text boundary and the router's own work remain: `JSON.stringify` request → Rust " +
      "parses, routes, builds the upstream request → Rust serialises the response → `JSON.parse`. " +
      "The floor is the same fake fetch + `res.json()`. " +
      `Node and Deno: ${count(SIZES.inproc.total)} sequential calls per variant.`,
    "",
  );
  lines.push(
    row(["runtime", "floor mean / p50", "llmux mean / p50", "**in-process overhead** mean / p50"]),
    row(["---", "--:", "--:", "--:"]),
  );
  for (const [label, x] of [
    ["Node", node?.in_process],
    ["Deno", deno?.in_process],
    ["workerd, in-worker²", workerd?.in_process],
  ]) {
    if (!x) continue;
    lines.push(
      row([
        label + (x.truncated ? " ⚠" : ""),
        pair(x.floor.mean_us, x.floor.p50_us),
        pair(x.llmux.mean_us, x.llmux.p50_us),
        `**${us(x.overhead_mean_us)}** / ${us(x.overhead_p50_us)}`,
      ]),
    );
  }
  lines.push("");

  lines.push("### Streaming: overhead per chunk (µs), fake `fetch` replaying one SSE stream", "");
  lines.push(
    "The same recorded mock stream (a 100-word answer: one chunk per word plus the role, " +
      "finish and usage chunks), one SSE event per read. The floor reads it with a plain " +
      "`fetch` reader (split on blank lines, `JSON.parse` each event); llmux decodes it in Rust " +
      "and hands the chunks to `for await`.",
    "",
  );
  lines.push(
    row(["runtime", "chunks", "floor µs/chunk", "llmux µs/chunk", "**overhead µs/chunk**"]),
    row(["---", "--:", "--:", "--:", "--:"]),
  );
  for (const [label, x] of [
    ["Node", node?.streaming],
    ["Deno", deno?.streaming],
  ]) {
    if (!x) continue;
    lines.push(
      row([
        label + (x.truncated ? " ⚠" : ""),
        String(x.chunks),
        us(x.per_chunk_floor_us),
        us(x.per_chunk_llmux_us),
        `**${us(x.overhead_per_chunk_us)}**`,
      ]),
    );
  }
  lines.push("");

  lines.push("### Cache hit vs the floor (µs), concurrency 1", "");
  lines.push(
    "`cache_responses: true`, the same request answered from the in-memory cache (every timed " +
      "call checked to be a hit) against the bare-fetch floor to the loopback mock. " +
      `Node and Deno: ${count(SIZES.cacheHit.total)} requests per variant.`,
    "",
  );
  lines.push(
    row(["runtime", "floor p50 / p99", "cache hit p50 / p99", "floor / hit (p50)"]),
    row(["---", "--:", "--:", "--:"]),
  );
  for (const [label, x] of [
    ["Node", node?.cache_hit],
    ["Deno", deno?.cache_hit],
  ]) {
    if (!x) continue;
    lines.push(
      row([
        label + (x.truncated ? " ⚠" : ""),
        pair(x.floor.p50_us, x.floor.p99_us),
        `**${pair(x.hit.p50_us, x.hit.p99_us)}**`,
        `${ratio(x.speedup_p50)}×`,
      ]),
    );
  }
  lines.push("");

  lines.push("### `new Router(config)` (median) and package size", "");
  lines.push(row(["", "10 deployments", "1,000 deployments"]), row(["---", "--:", "--:"]));
  for (const [label, x] of [
    ["Node", node?.construction],
    ["Deno", deno?.construction],
  ]) {
    if (!x) continue;
    const ms = (c) => `${x[c].median_ms.toFixed(x[c].median_ms < 10 ? 3 : 1)} ms (n=${x[c].reps})`;
    lines.push(row([`\`new Router\`, ${label}`, ms(10), ms(1000)]));
  }
  lines.push("");
  lines.push(row(["`dist/wasm/llmux_bg.wasm`", "raw", "gzip -9"]), row(["---", "--:", "--:"]));
  lines.push(row(["", bytes(r.wasm.raw_bytes), bytes(r.wasm.gzip_bytes)]), "");

  lines.push(
    "At concurrency 64 the two cores are saturated (client, mock and, for workerd, the host " +
      "share them), so latency there is mostly queueing: added ≈ 64 × (1 / llmux req/s − 1 / " +
      "floor req/s), and p99 differences are noisy (they can even come out negative).",
    "",
    "¹ One upstream call per HTTP request into workerd (Miniflare's entry socket), timed by the " +
      "Node host with `performance.now()`; floor and llmux both run inside the Worker and take " +
      "the same path, so the difference is llmux's cost, while absolute latencies include the hop " +
      `into workerd. ${count(rt?.c1?.total)} requests per variant at concurrency 1, ` +
      `${count(rt?.c64?.total)} at 64.`,
    "",
    "² workerd's clocks tick in whole milliseconds (and in production only across I/O), so " +
      "per-request percentiles cannot be read inside a Worker. Each dispatch runs a batch of " +
      "calls timed between two I/O boundaries (a fetch to the mock), minus one boundary " +
      `(${workerd?.bracket_ms ?? "?"} ms); mean = batch time / calls. ` +
      `${count(iw?.c1?.total)} requests per variant at concurrency 1, ${count(iw?.c64?.total)} ` +
      `at 64, ${count(iw?.inproc?.total)} fake-fetch calls.`,
    "",
  );
  const warn = [node, deno, workerd].some((x) =>
    [
      x?.network?.c1,
      x?.network?.c64,
      x?.in_worker?.c1,
      x?.in_worker?.c64,
      x?.in_process,
      x?.cache_hit,
    ].some((c) => c?.truncated),
  );
  if (warn)
    lines.push("⚠ hit its time budget: fewer calls than planned (see `n` in results.json).", "");
  for (const [name, x] of Object.entries(r.runtimes)) {
    if (x?.error) lines.push(`**${name} failed:** ${x.error}`, "");
  }
  lines.push(
    `Total bench time: ${r.total_seconds.toFixed(1)} s. Raw numbers: \`bench/results.json\`.`,
  );
  return lines.join("\n");
}

// ---------- main ----------

const wasmPath = at("dist/wasm/llmux_bg.wasm");
const wasm = readFileSync(wasmPath);
const loadStart = os.loadavg()[0];
const mock = await startMockServer({ port: 0 });
log(`bench: mock at ${mock.url}`);
const runtimes = {};
try {
  log("bench: Node");
  runtimes.node = await runSuite("node", process.execPath, ["bench/node.mjs", mock.url]);
  mock.reset();
  log("bench: Deno");
  runtimes.deno = await runSuite("deno", at("node_modules/.bin/deno"), [
    "run",
    "-A",
    "bench/deno.mjs",
    mock.url,
  ]);
  mock.reset();
  log("bench: workerd (Miniflare)");
  runtimes.workerd = await runSuite("workerd", process.execPath, ["bench/workerd.mjs", mock.url]);
} finally {
  await mock.close();
}

const cpus = os.cpus();
const results = {
  date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  llmux: runtimes.node?.runtime?.llmux ?? runtimes.deno?.runtime?.llmux ?? null,
  machine: {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    nproc: os.availableParallelism(),
    cpu: cpus[0]?.model?.trim() ?? "unknown",
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.versions.node,
    deno: denoVersion(),
    loadavg_start: loadStart,
    loadavg_end: os.loadavg()[0],
  },
  wasm: {
    path: "dist/wasm/llmux_bg.wasm",
    raw_bytes: wasm.length,
    gzip_bytes: gzipSync(wasm, { level: 9 }).length,
  },
  sizes: SIZES,
  runtimes,
  total_seconds: (performance.now() - started) / 1000,
};
writeFileSync(at("bench/results.json"), JSON.stringify(results, null, 2) + "\n");
process.stdout.write(markdown(results) + "\n");
if (Object.values(runtimes).some((x) => x?.error)) process.exitCode = 1;
