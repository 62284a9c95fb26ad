// One router instance in its own process (Node or Deno), driven by the shared-state tests
// over stdin/stdout, one JSON command per line and one JSON answer per line.
// argv[2]: JSON `{ options, denoKv? }` — Router options (without `state`), and a Deno KV file
// to share state through (Deno only).
import { createInterface } from "node:readline";
import process from "node:process";

const entry = globalThis.Deno ? "../../../js/browser.js" : "../../../js/node.js";
const { Router, denoKvStore } = await import(new URL(entry, import.meta.url).href);

const { options, denoKv } = JSON.parse(process.argv[2]);
const warnings = [];
const logger = {
  debug() {},
  info() {},
  warn: (m) => warnings.push(String(m)),
  error: (m) => warnings.push(String(m)),
};
const state = denoKv ? denoKvStore(denoKv) : undefined;
const router = new Router({ ...options, logger, ...(state ? { state } : {}) });

const commands = {
  async chat({ model = "chat" }) {
    try {
      const res = await router.completion({ model, messages: [{ role: "user", content: "hi" }] });
      return { ok: true, id: res._hidden_params.model_id };
    } catch (e) {
      return { ok: false, error: e.name, message: e.message };
    }
  },
  /** A chat answered or failed, with how long it took inside this process (ms). */
  async timedChat({ model = "chat" }) {
    const t0 = performance.now();
    const res = await commands.chat({ model });
    return { ...res, ms: performance.now() - t0 };
  },
  async sync() {
    await router.syncState();
    return { ok: true };
  },
  async stats() {
    return { ok: true, stats: await router.getUsageStats() };
  },
  async warnings() {
    return { ok: true, warnings };
  },
  async exit() {
    state?.close?.();
    setTimeout(() => process.exit(0), 10);
    return { ok: true };
  },
};

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const msg = JSON.parse(line);
  const answer = await commands[msg.cmd](msg);
  process.stdout.write(`${JSON.stringify({ seq: msg.seq, ...answer })}\n`);
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
