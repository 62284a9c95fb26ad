// Files and batches in workerd: js/files.js loads on first use inside the Worker, and a batch
// id made in one isolate reaches the same deployment from a new isolate (a restart).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
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

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 5, 6, 7]);
const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");

test(
  "imageEdit in workerd: Blob and bytes parts reach the mock's multipart parser",
  { timeout: 60_000 },
  async () => {
    const w = worker("workerd-files-secret-1");
    try {
      const out = await (
        await w.dispatchFetch("http://w.test/edit", { method: "POST", body: PNG })
      ).json();
      assert.equal(out.holder, "wimg", JSON.stringify(out));
      const made = JSON.parse(Buffer.from(out.data[0].b64_json, "base64").toString("utf8"));
      assert.deepEqual(made.images, [sha(PNG), sha(PNG)]);
      const call = mock.callsTo("wimg").at(-1);
      assert.deepEqual(
        call.form.files.map((f) => [f.field, f.type, f.size]),
        [
          ["image[]", "image/png", PNG.length],
          ["image[]", "image/png", PNG.length],
        ],
      );
      assert.equal(call.form.fields.prompt, "in a worker");
    } finally {
      await w.dispose();
    }
  },
);

/** A FormData as bytes and its content type (dispatchFetch drops the type of a FormData body). */
async function encoded(form) {
  const r = new Request("http://encode.test", { method: "POST", body: form });
  return { body: new Uint8Array(await r.arrayBuffer()), type: r.headers.get("content-type") };
}

test("the gateway's image edit and files routes in workerd", { timeout: 60_000 }, async () => {
  const w = worker("workerd-files-secret-1");
  const auth = { authorization: "Bearer sk-worker-master-01" };
  try {
    const form = new FormData();
    form.append("model", "img");
    form.append("prompt", "gateway edit");
    form.append("image", new Blob([PNG], { type: "image/png" }), "cat.png");
    const editBody = await encoded(form);
    const edit = await w.dispatchFetch("http://w.test/gw/v1/images/edits", {
      method: "POST",
      headers: { ...auth, "content-type": editBody.type },
      body: editBody.body,
    });
    assert.equal(edit.status, 200);
    const edited = await edit.json();
    assert.equal(edit.headers.get("x-litellm-model-id"), "wimg");
    assert.deepEqual(
      JSON.parse(Buffer.from(edited.data[0].b64_json, "base64").toString("utf8")).images,
      [sha(PNG)],
    );

    const upload = new FormData();
    upload.append("purpose", "batch");
    upload.append("file", new Blob(['{"custom_id":"g"}']), "g.jsonl");
    const uploadBody = await encoded(upload);
    const created = await (
      await w.dispatchFetch("http://w.test/gw/v1/files?model=batch", {
        method: "POST",
        headers: { ...auth, "content-type": uploadBody.type },
        body: uploadBody.body,
      })
    ).json();
    assert.match(created.id, /^llmux-file-/, JSON.stringify(created));
    const listed = await (
      await w.dispatchFetch("http://w.test/gw/v1/files?model=batch", { headers: auth })
    ).json();
    assert.ok(
      listed.data.some((f) => f.id === created.id),
      JSON.stringify(listed),
    );
    const id = encodeURIComponent(created.id);
    const got = await (
      await w.dispatchFetch(`http://w.test/gw/v1/files/${id}`, { headers: auth })
    ).json();
    assert.equal(got.filename, "g.jsonl");
    const content = await w.dispatchFetch(`http://w.test/gw/v1/files/${id}/content`, {
      headers: auth,
    });
    assert.equal(await content.text(), '{"custom_id":"g"}');
    const gone = await (
      await w.dispatchFetch(`http://w.test/gw/v1/files/${id}`, { method: "DELETE", headers: auth })
    ).json();
    assert.deepEqual(gone, { id: created.id, object: "file", deleted: true });
  } finally {
    await w.dispose();
  }
});
