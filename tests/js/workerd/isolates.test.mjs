// Tier 3c: a module-scope `new Router` in two workerd isolates (two Workers of one Miniflare).
// workerd refuses crypto.getRandomValues at global scope and freezes the clock there, so a seed
// taken by the constructor would be the same in both and they would pick deployments in step;
// the core seeds its generator at the first pick instead (ports::FirstUseSeeded).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const worker = (name) => ({
  name,
  modules: true,
  modulesRoot: root,
  scriptPath: fileURLToPath(new URL("isolate-worker.js", import.meta.url)),
  modulesRules: [
    { type: "ESModule", include: ["**/*.js"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  compatibilityDate: "2026-04-01",
});

/** @type {Miniflare} */
let mf;
before(async () => {
  mf = new Miniflare({ workers: [worker("one"), worker("two")] });
  await mf.ready;
});
after(() => mf?.dispose());

async function picks(name) {
  const res = await (await mf.getWorker(name)).fetch("http://worker.test/picks");
  assert.equal(res.status, 200);
  return res.json();
}

test("two isolates with a module-scope Router pick deployments independently", async () => {
  const [one, two] = [await picks("one"), await picks("two")];
  // The premise: at load time there was no entropy and the same (frozen) clock in both.
  assert.equal(one.globalRandomRefused, true);
  assert.equal(two.globalRandomRefused, true);
  assert.equal(one.globalClock, two.globalClock);
  for (const r of [one, two]) {
    assert.match(r.picks, /^[ab]{32}$/);
    // Both deployments get traffic (simple-shuffle, equal weights).
    assert.ok(r.picks.includes("a") && r.picks.includes("b"), r.picks);
  }
  // 32 independent fair picks agree by chance with probability 2^-32.
  assert.notEqual(one.picks, two.picks);
});
