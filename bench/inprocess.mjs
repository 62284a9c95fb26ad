// One case of `npm run bench` alone: the in-process overhead of `router.completion` (no
// network), in Node, `rounds` times (default 5), against the floor over the same fake fetch.
// Two fakes: the bench's own (a `Response` built per call, so undici's body reading is in both
// figures) and a plain object with `status`, `headers.get` and `text()` (no undici at all,
// which leaves the router's own work: the JS host loop, the wasm calls and the core).
//
//   node bench/inprocess.mjs [rounds] [module]   (module: a build's js/node.js, to compare)
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { GROUP, MESSAGES, MODEL, median, routerOptions } from "./harness.mjs";

const rounds = Math.max(1, Math.min(50, Number(process.argv[2] ?? 5) || 5));
const entry = process.argv[3] ? pathToFileURL(resolve(process.argv[3])).href : "../js/node.js";
const { Router } = await import(entry);
const CALLS = 20_000;
const DEADLINE_MS = 20_000;

const reply = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1,
  model: MODEL,
  choices: [{ index: 0, message: { role: "assistant", content: "Hello!" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 },
});
const NO_HEADERS = { get: () => null };
const fakes = {
  response: async () =>
    new Response(reply, { status: 200, headers: { "content-type": "application/json" } }),
  plain: async () => ({ status: 200, ok: true, headers: NO_HEADERS, text: async () => reply }),
};

const floorOver = (fetchFn) => async () => {
  const body = JSON.stringify({ model: MODEL, messages: MESSAGES });
  const res = await fetchFn("http://upstream.test/v1/chat/completions", { method: "POST", body });
  return JSON.parse(await res.text());
};

/** Mean µs per call of `fn`, `CALLS` sequential calls (bounded by DEADLINE_MS). */
async function meanUs(fn) {
  const start = performance.now();
  let n = 0;
  while (n < CALLS && performance.now() - start < DEADLINE_MS) {
    await fn();
    n++;
  }
  return ((performance.now() - start) * 1000) / n;
}

for (const [name, fetchFn] of Object.entries(fakes)) {
  const router = new Router(routerOptions("http://upstream.test", 1, { fetch: fetchFn }));
  const call = () => router.completion({ model: GROUP, messages: MESSAGES });
  const check = await call();
  if (check._hidden_params?.attempts !== 1) throw new Error(`${name}: no routed answer`);
  const floor = floorOver(fetchFn);
  await meanUs(floor);
  await meanUs(call);
  const overheads = [];
  for (let i = 0; i < rounds; i++) {
    const f = await meanUs(floor);
    const l = await meanUs(call);
    overheads.push(l - f);
    process.stdout.write(
      `${name} round ${i + 1}: floor ${f.toFixed(2)} µs, llmux ${l.toFixed(2)} µs, overhead ${(l - f).toFixed(2)} µs\n`,
    );
  }
  process.stdout.write(`${name}: median overhead ${median(overheads).toFixed(2)} µs a call\n`);
}
