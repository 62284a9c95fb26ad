// Cold start (issue #15, target ≤ 5 ms): import llmux, `new Router` with 10 deployments, then
// the first routed call over a fake `fetch`.
//   Node:    N fresh `node bench/coldstart-child.mjs` processes, each timing its own phases
//            (performance.now() from just before `import()`); the median of each phase.
//   workerd: N fresh Miniflare instances of bench/coldstart-worker.mjs and as many of a Worker
//            without llmux (bench/coldstart-baseline.mjs); what Miniflare reports, timed here:
//            startup (`new Miniflare` → `ready`, which loads the modules and compiles the wasm)
//            and the first request (the Router built and the call routed inside the Worker),
//            llmux minus the baseline.
// Usage: node bench/coldstart.mjs [runs] [--json]   (default 11 runs each)
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const root = fileURLToPath(new URL("..", import.meta.url));
const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 11);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const log = (msg) => process.stderr.write(`  [coldstart] ${msg}\n`);

function nodeRuns() {
  const child = fileURLToPath(new URL("./coldstart-child.mjs", import.meta.url));
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, [child], { cwd: root, encoding: "utf8" });
    samples.push(JSON.parse(out.trim().split("\n").at(-1)));
  }
  if (!samples.every((s) => s.priced)) throw new Error("the first call was not priced");
  const phases = ["import", "router", "first_call", "total"];
  return Object.fromEntries(phases.map((p) => [p, median(samples.map((s) => s[p]))]));
}

async function workerdRun(script) {
  const t0 = performance.now();
  const mf = new Miniflare({
    modules: true,
    modulesRoot: root,
    scriptPath: fileURLToPath(new URL(script, import.meta.url)),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
  });
  try {
    await mf.ready;
    const t1 = performance.now();
    const res = await mf.dispatchFetch("http://worker.test/");
    const text = await res.text();
    const t2 = performance.now();
    if (text !== "ok") throw new Error(`${script}: ${res.status} ${text.slice(0, 300)}`);
    return { startup: t1 - t0, first_request: t2 - t1 };
  } finally {
    await mf.dispose();
  }
}

async function workerdRuns() {
  const llmux = [];
  const base = [];
  for (let i = 0; i < runs; i++) {
    // Interleaved, so load on the machine affects both alike.
    base.push(await workerdRun("./coldstart-baseline.mjs"));
    llmux.push(await workerdRun("./coldstart-worker.mjs"));
  }
  const m = (xs, k) => median(xs.map((x) => x[k]));
  return {
    startup: { llmux: m(llmux, "startup"), baseline: m(base, "startup") },
    first_request: { llmux: m(llmux, "first_request"), baseline: m(base, "first_request") },
    added: {
      startup: m(llmux, "startup") - m(base, "startup"),
      first_request: m(llmux, "first_request") - m(base, "first_request"),
    },
  };
}

log(`Node: ${runs} fresh processes`);
const node = nodeRuns();
log(`workerd: ${runs} Miniflare instances with llmux, ${runs} without`);
const workerd = await workerdRuns();
const result = { runs, node, workerd };
if (process.argv.includes("--json")) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const f = (x) => x.toFixed(2);
  console.log(`\nCold start, median of ${runs} fresh processes (ms):`);
  console.log(`| host | import | new Router (10) | first call | total |`);
  console.log(`| --- | --: | --: | --: | --: |`);
  console.log(
    `| Node | ${f(node.import)} | ${f(node.router)} | ${f(node.first_call)} | **${f(node.total)}** |`,
  );
  console.log(`\n| workerd (Miniflare) | llmux | no llmux | added |`);
  console.log(`| --- | --: | --: | --: |`);
  for (const k of ["startup", "first_request"]) {
    console.log(
      `| ${k.replace("_", " ")} | ${f(workerd[k].llmux)} | ${f(workerd[k].baseline)} | **${f(workerd.added[k])}** |`,
    );
  }
}
