// workerd side of `npm run bench`: runs bench/worker.mjs (importing js/workerd.js) in Miniflare
// against the mock at argv[2], and measures it two ways (how: bench/worker.mjs, top comment):
//   round trips: one upstream call per HTTP request into workerd, timed here with performance.now();
//   in-worker:   many calls per dispatch, timed inside workerd between I/O boundaries.
// Prints one `BENCH_RESULT <json>` line on stdout; progress goes to stderr.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { compare, interleave, median, runBatch, summarize } from "./harness.mjs";

const mockUrl = process.argv[2];
if (!mockUrl) throw new Error("usage: node bench/workerd.mjs MOCK_URL");
const root = fileURLToPath(new URL("..", import.meta.url));
const log = (msg) => process.stderr.write(`  [workerd] ${msg}\n`);
const now = () => performance.now();

/**
 * Half the Node/Deno counts: every call here also crosses into workerd and back (a few ms each
 * on 2 busy cores), and a total over 1,000 calls is exact enough for the in-worker means.
 */
const ROUND_TRIPS = {
  c1: { concurrency: 1, total: 1000, rounds: 10, budgetMs: 20_000 },
  c64: { concurrency: 64, total: 2500, rounds: 5, budgetMs: 20_000 },
};
const IN_WORKER = {
  c1: { concurrency: 1, total: 1000, rounds: 10, budgetMs: 6_000 },
  c64: { concurrency: 64, total: 2500, rounds: 5, budgetMs: 8_000 },
  inproc: { concurrency: 1, total: 5000, rounds: 10, budgetMs: 5_000 },
};

const mf = new Miniflare({
  modules: true,
  modulesRoot: root,
  scriptPath: fileURLToPath(new URL("./worker.mjs", import.meta.url)),
  modulesRules: [
    { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  compatibilityDate: "2025-01-01",
  bindings: { MOCK_URL: mockUrl },
});

// Requests go straight to workerd's entry socket (the one `dispatchFetch` uses) with this
// process's fetch: the same path into the Worker, with less host overhead than `dispatchFetch`.
/** @type {URL} */
let entry;

async function dispatch(path) {
  const res = await fetch(new URL(path, entry));
  const text = await res.text();
  if (!res.ok) throw new Error(`worker ${path}: ${res.status} ${text.slice(0, 500)}`);
  return text;
}
const dispatchJson = async (path) => JSON.parse(await dispatch(path));

/** One upstream call per dispatch, timed here. */
const roundTrip = (v) => () => dispatch(`/one?v=${v}`);

/** A `runBatch` replacement that runs the whole batch inside the worker and reads its clock. */
function inWorkerBatch(bracketMs) {
  return async (path, { n, concurrency }) => {
    const b = await dispatchJson(`${path}&n=${n}&c=${concurrency}`);
    return { samples: null, count: b.count, elapsed: Math.max(0, b.elapsed - bracketMs) };
  };
}

function network(acc, size, truncated) {
  const s = Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, summarize(v)]));
  return {
    concurrency: size.concurrency,
    truncated,
    ...s,
    llmux_vs_floor: compare(s.floor, s.llmux),
    llmux3_vs_floor: compare(s.floor, s.llmux3),
  };
}

async function main() {
  entry = await mf.ready;
  const { llmux } = await dispatchJson("/info");
  await dispatchJson("/check?v=floor");
  await dispatchJson("/check?v=llmux");
  await dispatchJson("/check?v=fake_llmux");
  const bases = new Set();
  for (let i = 0; i < 60; i++) bases.add((await dispatchJson("/check?v=llmux3")).api_base);
  if (bases.size !== 3) throw new Error(`llmux3 used ${bases.size} deployments, expected 3`);

  log("warm-up");
  const warmDeadline = now() + 6_000;
  for (const v of ["floor", "llmux", "llmux3"]) {
    await dispatch(`/batch?v=${v}&n=200&c=1`);
    await dispatch(`/batch?v=${v}&n=300&c=64`);
    const fn = roundTrip(v);
    await runBatch(fn, { n: 200, concurrency: 1, now, deadline: warmDeadline, record: false });
    await runBatch(fn, { n: 300, concurrency: 64, now, deadline: warmDeadline, record: false });
  }
  await dispatch("/batch?v=fake_floor&n=2000&c=1");
  await dispatch("/batch?v=fake_llmux&n=2000&c=1");
  const brackets = [];
  for (let i = 0; i < 21; i++) brackets.push((await dispatchJson("/bracket")).elapsed);
  const bracketMs = median(brackets);

  const roundTrips = {};
  for (const [key, size] of Object.entries(ROUND_TRIPS)) {
    log(`round trips ${key}: ${size.total} dispatches per variant`);
    const variants = {
      floor: roundTrip("floor"),
      llmux: roundTrip("llmux"),
      llmux3: roundTrip("llmux3"),
    };
    const { acc, truncated } = await interleave(variants, { ...size, now });
    roundTrips[key] = network(acc, size, truncated);
  }

  const batch = inWorkerBatch(bracketMs);
  const inWorker = {};
  for (const [key, size] of Object.entries({ c1: IN_WORKER.c1, c64: IN_WORKER.c64 })) {
    log(`in-worker ${key}: ${size.total} requests per variant`);
    const variants = {
      floor: "/batch?v=floor",
      llmux: "/batch?v=llmux",
      llmux3: "/batch?v=llmux3",
    };
    const { acc, truncated } = await interleave(variants, { ...size, now, batch });
    inWorker[key] = network(acc, size, truncated);
  }

  log("in-process (fake fetch), in-worker");
  const inVariants = { floor: "/batch?v=fake_floor", llmux: "/batch?v=fake_llmux" };
  const { acc, truncated } = await interleave(inVariants, { ...IN_WORKER.inproc, now, batch });
  const floor = summarize(acc.floor);
  const llmuxIn = summarize(acc.llmux);
  const inProcess = {
    truncated,
    floor,
    llmux: llmuxIn,
    overhead_mean_us: llmuxIn.mean_us - floor.mean_us,
  };

  let workerd = null;
  try {
    const bin = fileURLToPath(new URL("../node_modules/.bin/workerd", import.meta.url));
    workerd = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    // the version string is informative only
  }
  const pkg = new URL("../node_modules/miniflare/package.json", import.meta.url);
  const miniflare = JSON.parse(readFileSync(pkg, "utf8")).version;
  return {
    runtime: { name: "workerd", version: workerd, miniflare, llmux },
    sizes: { round_trips: ROUND_TRIPS, in_worker: IN_WORKER },
    clock: "round trips: host performance.now(); in-worker: Date.now() between I/O boundaries",
    bracket_ms: bracketMs,
    network: roundTrips,
    in_worker: inWorker,
    in_process: inProcess,
  };
}

try {
  const results = await main();
  process.stdout.write(`BENCH_RESULT ${JSON.stringify(results)}\n`);
} finally {
  await mf.dispose();
}
