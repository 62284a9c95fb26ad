// Files and batches in workerd: js/files.js loads on first use inside the Worker, and a batch
// id made in one isolate reaches the same deployment from a new isolate (a restart).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { startMockServer } from "../../mock/server.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
let mock;

const worker = (secret) =>
  new Miniflare({
    modules: true,
    modulesRoot: root,
    scriptPath: fileURLToPath(new URL("files-worker.js", import.meta.url)),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
    bindings: { MOCK_URL: mock.url, FILES_SECRET: secret },
  });

before(async () => {
  mock = await startMockServer({ port: 0 });
});
after(() => mock?.close());

test(
  "a batch made in one isolate is retrieved from the same deployment by a new isolate",
  { timeout: 60_000 },
  async () => {
    const first = worker("workerd-files-secret-1");
    const made = await (
      await first.dispatchFetch("http://w.test/create", { method: "POST" })
    ).json();
    await first.dispose();
    assert.match(made.batch, /^llmux-batch-/, JSON.stringify(made));
    const second = worker("workerd-files-secret-1");
    try {
      const got = await (
        await second.dispatchFetch(`http://w.test/retrieve?id=${encodeURIComponent(made.batch)}`)
      ).json();
      assert.equal(got.holder, made.holder, JSON.stringify(got));
      assert.equal(got.status, "completed");
      assert.match(got.output, new RegExp(`batched by ${made.holder}`));
      const other = made.holder === "wa" ? "wb" : "wa";
      assert.equal(mock.callsTo(other).length, 0);
    } finally {
      await second.dispose();
    }
    const tenant = worker("another-tenant-secret-9");
    try {
      const before = mock.calls.length;
      const forged = await (
        await tenant.dispatchFetch(`http://w.test/forged?id=${encodeURIComponent(made.batch)}`)
      ).json();
      assert.equal(forged.name, "NotFoundError", JSON.stringify(forged));
      assert.equal(forged.status, 404);
      assert.equal(mock.calls.length, before, "no upstream call");
    } finally {
      await tenant.dispose();
    }
  },
);
