// imageEdit's images never enter wasm memory (README, "Image edits"): in a fresh wasm instance
// (this file runs in its own process), a 48 MiB edit leaves the core's memory about where it
// was, while createFile of the same bytes (which are copied into the core) grows it by more.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { initSync } from "../../../dist/wasm/llmux.js";
import { Router, deployment, startMockServer } from "./fixture.mjs";

const MIB = 1024 * 1024;
const SIZE = 48 * MIB;

let mock;
before(async () => {
  mock = await startMockServer({ port: 0 });
});
after(() => mock.close());

test(
  "a 48 MiB image edit does not grow wasm memory; a 48 MiB createFile does",
  { timeout: 60_000 },
  async () => {
    // The instance js/node.js initialised (initSync returns it once it exists).
    const memory = initSync().memory;
    const router = new Router({
      model_list: [deployment(mock, "edit", "a")],
      files_secret: "image-edit-memory-secret",
    });
    const bytes = new Uint8Array(SIZE);
    bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const image = new Blob([bytes], { type: "image/png" });
    // One small call first, so the core's one-time allocations are behind us.
    await router.imageEdit({
      model: "edit",
      image: new Blob([bytes.subarray(0, 16)], { type: "image/png" }),
      prompt: "p",
    });
    const before = memory.buffer.byteLength;
    const res = await router.imageEdit({ model: "edit", image, prompt: "p" });
    assert.equal(res.data.length, 1);
    assert.equal(mock.callsTo("a").at(-1).form.files[0].size, SIZE, "the mock got every byte");
    const edited = memory.buffer.byteLength - before;
    assert.ok(edited < 8 * MIB, `an image edit grew wasm memory by ${edited} bytes`);
    // The control: an upload that is copied into the core grows it by at least its size.
    const mark = memory.buffer.byteLength;
    await router.createFile({ model: "edit", file: image, purpose: "batch" });
    const copied = memory.buffer.byteLength - mark;
    assert.ok(copied >= SIZE, `createFile grew wasm memory by only ${copied} bytes`);
  },
);
