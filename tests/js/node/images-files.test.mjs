// Image edits (README, "Image edits") and the file list/retrieve/delete calls (README, "Files
// and batches"), end to end against the mock's real multipart parsing over loopback HTTP.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, beforeEach, test } from "node:test";
import { T, Router, errors, deployment, rejection, startMockServer } from "./fixture.mjs";

const SECRET = "images-files-secret-0123";
// A PNG signature and a few bytes: enough for the sniffing and the hashes.
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 9, 8, 7, 6, 5]);
const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");
const decoded = (item) => JSON.parse(Buffer.from(item.b64_json, "base64").toString("utf8"));
const edits = () => mock.calls.filter((c) => c.path.endsWith("/images/edits"));

let mock;
before(async () => {
  mock = await startMockServer({ port: 0 });
});
after(() => mock.close());
beforeEach(() => mock.reset());

test(
  "imageEdit sends one image as OpenAI's multipart `image` part and prices the reply",
  T,
  async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "edit", "a", {
          model: "openai/gpt-image-1",
          input_cost_per_token: 1e-5,
          output_cost_per_token: 4e-5,
        }),
      ],
    });
    const res = await router.imageEdit({
      model: "edit",
      image: PNG,
      prompt: "add a hat",
      n: 2,
      size: "1024x1024",
      quality: "low",
      user: "u-1",
    });
    assert.equal(res.data.length, 2);
    assert.deepEqual(decoded(res.data[0]), {
      deployment: "a",
      images: [sha(PNG)],
      mask: null,
      i: 0,
    });
    assert.equal(res.usage.total_tokens, 150);
    assert.equal(res._hidden_params.model_id, "a");
    // 50 input tokens × 1e-5 + 100 output tokens × 4e-5
    assert.ok(Math.abs(res._hidden_params.response_cost - 0.0045) < 1e-12);
    const [call] = edits();
    assert.equal(edits().length, 1);
    assert.equal(call.path, "/a/v1/images/edits");
    assert.equal(call.headers.authorization, "Bearer sk-test-a");
    assert.match(call.headers["content-type"], /^multipart\/form-data; boundary=/);
    assert.deepEqual(call.form.fields, {
      model: "gpt-image-1",
      prompt: "add a hat",
      n: "2",
      size: "1024x1024",
      quality: "low",
      user: "u-1",
    });
    assert.deepEqual(call.form.files, [
      {
        field: "image",
        filename: "image.png",
        type: "image/png",
        size: PNG.length,
        sha256: sha(PNG),
      },
    ]);
    // Per image when the price data prices the model so (here 0.009 per 1024x1024 image).
    const sized = new Router({
      model_list: [
        deployment(
          mock,
          "sized",
          "s",
          { model: "openai/gpt-image-1.5" },
          { base_model: "1024-x-1024/gpt-image-1.5" },
        ),
      ],
    });
    const two = await sized.imageEdit({ model: "sized", image: PNG, prompt: "p", n: 2 });
    assert.ok(Math.abs(two._hidden_params.response_cost - 0.018) < 1e-12);
    // The LiteLLM names are the same method.
    assert.equal(router.aimage_edit, router.imageEdit);
    assert.equal(router.image_edit, router.imageEdit);
  },
);

test(
  "several images go as image[] parts, in order, then the mask; a File keeps its name",
  T,
  async () => {
    const router = new Router({ model_list: [deployment(mock, "edit", "a")] });
    const file = new File([JPEG], "photo.jpg", { type: "image/jpeg" });
    const res = await router.aimage_edit({
      model: "edit",
      image: [PNG.buffer, file, new Blob([PNG])],
      mask: new Blob([PNG], { type: "image/png" }),
      prompt: "merge",
    });
    assert.deepEqual(decoded(res.data[0]).images, [sha(PNG), sha(JPEG), sha(PNG)]);
    assert.equal(decoded(res.data[0]).mask, sha(PNG));
    // Unpriced (the mock model has no price data): null, as for any call.
    assert.equal(res._hidden_params.response_cost, null);
    const { files } = edits()[0].form;
    assert.deepEqual(
      files.map((f) => [f.field, f.filename, f.type]),
      [
        ["image[]", "image.png", "image/png"],
        ["image[]", "photo.jpg", "image/jpeg"],
        ["image[]", "image-2.png", "image/png"],
        ["mask", "mask.png", "image/png"],
      ],
    );
  },
);

test("a failed edit falls back to another group, which gets the same bytes", T, async () => {
  mock.script("a", { error: "rate_limit" });
  const router = new Router({
    model_list: [deployment(mock, "e1", "a"), deployment(mock, "e2", "b")],
    fallbacks: [{ e1: ["e2"] }],
    num_retries: 0,
  });
  const res = await router.imageEdit({ model: "e1", image: PNG, prompt: "p" });
  assert.equal(res._hidden_params.model_id, "b");
  assert.equal(res._hidden_params.fallback_model_group, "e2");
  assert.equal(res._hidden_params.attempts, 2);
  assert.deepEqual(
    edits().map((c) => c.name),
    ["a", "b"],
  );
  assert.equal(edits()[1].form.files[0].sha256, sha(PNG));
});

test(
  "Azure edits go to the deployment's images/edits with api-version and api-key",
  T,
  async () => {
    const router = new Router({
      model_list: [
        {
          model_name: "az",
          litellm_params: {
            model: "azure/my-image",
            api_base: `${mock.url}/z`,
            api_key: "azure-key-0123456789",
            api_version: "2025-04-01-preview",
          },
          model_info: { id: "z" },
        },
      ],
    });
    const res = await router.imageEdit({ model: "az", image: PNG, prompt: "p" });
    assert.equal(res._hidden_params.custom_llm_provider, "azure");
    const [call] = edits();
    assert.equal(call.path, "/z/openai/deployments/my-image/images/edits");
    assert.equal(call.query["api-version"], "2025-04-01-preview");
    assert.equal(call.headers["api-key"], "azure-key-0123456789");
    assert.equal(call.headers.authorization, undefined);
    assert.equal(call.form.fields.model, "my-image");
  },
);

test(
  "other providers are skipped or refused; bad inputs and uploads over 100 MiB make no call",
  T,
  async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "edit", "a"),
        {
          model_name: "gem",
          litellm_params: { model: "gemini/imagen-3.0-generate-001", api_key: "gem-key-123" },
          model_info: { id: "g" },
        },
      ],
    });
    // In a mixed group the Gemini deployment is skipped: every edit goes to the OpenAI one.
    const mixed = new Router({
      model_list: [
        deployment(mock, "mix", "a"),
        {
          model_name: "mix",
          litellm_params: { model: "gemini/imagen-3.0-generate-001", api_key: "gem-key-123" },
          model_info: { id: "g" },
        },
      ],
    });
    for (let i = 0; i < 6; i++) {
      const res = await mixed.imageEdit({ model: "mix", image: PNG, prompt: "p" });
      assert.equal(res._hidden_params.model_id, "a");
    }
    assert.equal(edits().length, 6);
    mock.reset();
    const gem = await rejection(router.imageEdit({ model: "gem", image: PNG, prompt: "p" }));
    assert.ok(gem instanceof errors.BadRequestError, gem.message);
    assert.match(gem.message, /OpenAI and Azure.*provider gemini/);
    assert.ok(!gem.message.includes("gem-key-123"));
    for (const [request, pattern] of [
      [{ model: "edit", prompt: "p" }, /`image` is required/],
      [{ model: "edit", image: PNG }, /`prompt` is required/],
      [{ model: "edit", image: "not bytes", prompt: "p" }, /must be a Blob/],
      [{ model: "edit", image: Array(17).fill(PNG), prompt: "p" }, /1 to 16 images/],
      [{ model: "edit", image: [], prompt: "p" }, /1 to 16 images/],
      [{ model: "edit", image: PNG, prompt: "p", stream: true }, /does not stream/],
      [{ model: "edit", image: PNG, prompt: "p", api_base: "http://evil.test" }, /api_base/],
    ]) {
      const e = await rejection(router.imageEdit(request));
      assert.ok(e instanceof errors.BadRequestError, e.message);
      assert.match(e.message, pattern);
    }
    const mib = new Uint8Array(1024 * 1024);
    const big = new Blob(Array.from({ length: 100 }, () => mib).concat([PNG]), {
      type: "image/png",
    });
    const e = await rejection(router.imageEdit({ model: "edit", image: big, prompt: "p" }));
    assert.ok(e instanceof errors.BadRequestError);
    assert.match(e.message, /more than the 104857600 llmux uploads/);
    assert.equal(mock.calls.length, 0, "no upstream call");
  },
);

// ---- listFiles / retrieveFile / deleteFile ---------------------------------------------------

const filesConfig = (extra = {}) => ({
  model_list: [deployment(mock, "batch", "a"), deployment(mock, "batch", "b")],
  files_secret: SECRET,
  ...extra,
});

/** The deployment id a signed file id names (its payload is `{deployment}\n{upstream}`). */
const holderOf = (id) =>
  Buffer.from(id.slice("llmux-file-".length).split(".")[0], "base64url")
    .toString("utf8")
    .split("\n")[0];

test(
  "listFiles merges every deployment's files, each id routing back to its holder",
  T,
  async () => {
    const router = new Router(filesConfig());
    const made = [];
    for (let i = 0; i < 6; i++)
      made.push(await router.createFile({ model: "batch", file: `{"i":${i}}`, purpose: "batch" }));
    const holders = new Set(made.map((f) => f._hidden_params.model_id));
    const list = await router.listFiles({ model: "batch" });
    assert.equal(list.object, "list");
    assert.deepEqual(list.data.map((f) => f.id).sort(), made.map((f) => f.id).sort());
    for (const f of list.data) assert.match(f.id, /^llmux-file-/);
    assert.equal(list._hidden_params.attempts, 2, "one list call per deployment");
    assert.deepEqual(
      mock.calls.filter((c) => c.method === "GET" && c.path.endsWith("/files")).map((c) => c.name),
      ["a", "b"],
    );
    // Filters reach the upstream as OpenAI's query parameters (mock.reset() would drop files).
    let mark = mock.calls.length;
    const none = await router.afile_list({ model: "batch", purpose: "fine-tune", limit: 5 });
    assert.deepEqual(none.data, []);
    assert.deepEqual(mock.calls[mark].query, { purpose: "fine-tune", limit: "5" });

    const one = made[0];
    const got = await router.retrieveFile({ file_id: one.id });
    assert.equal(got.id, one.id);
    assert.equal(got._hidden_params.model_id, one._hidden_params.model_id);
    mark = mock.calls.length;
    const gone = await router.deleteFile({ file_id: one.id });
    assert.deepEqual({ ...gone }, { id: one.id, object: "file", deleted: true });
    assert.equal(gone._hidden_params.model_id, holderOf(one.id));
    assert.deepEqual(
      mock.calls.slice(mark).map((c) => [c.method, c.name]),
      [["DELETE", holderOf(one.id)]],
    );
    const after = await router.listFiles({ model: "batch" });
    assert.equal(after.data.length, 5);
    const missing = await rejection(router.retrieveFile({ file_id: one.id }));
    assert.ok(missing instanceof errors.NotFoundError, missing.message);
    assert.ok(holders.size >= 1);
  },
);

test("after a restart, a new Router lists and deletes through the same deployment", T, async () => {
  const first = new Router(filesConfig());
  const file = await first.createFile({ model: "batch", file: "{}", purpose: "batch" });
  const holder = file._hidden_params.model_id;
  const second = new Router(filesConfig());
  const list = await second.listFiles({ model: "batch" });
  assert.deepEqual(
    list.data.map((f) => f.id),
    [file.id],
  );
  const mark = mock.calls.length;
  const gone = await second.afile_delete({ file_id: list.data[0].id });
  assert.equal(gone.deleted, true);
  assert.equal(gone._hidden_params.model_id, holder);
  assert.deepEqual(
    mock.calls.slice(mark).map((c) => [c.method, c.name, c.path.replace(/file-[^/]+$/, "{id}")]),
    [["DELETE", holder, `/${holder}/v1/files/{id}`]],
  );
});

test(
  "a forged, foreign or batch id is a NotFoundError for deleteFile, with no call",
  T,
  async () => {
    const router = new Router(filesConfig());
    const file = await router.createFile({ model: "batch", file: "{}", purpose: "batch" });
    const calls = mock.calls.length;
    const tenant = new Router(filesConfig({ files_secret: "another-tenant-secret-xyz" }));
    const forged = `llmux-file-${Buffer.from("b\nfile-b-1").toString("base64url")}.${file.id.split(".")[1]}`;
    for (const [r, id] of [
      [tenant, file.id],
      [router, forged],
      [router, "file-a-1"],
    ]) {
      const e = await rejection(r.deleteFile({ file_id: id }));
      assert.ok(e instanceof errors.NotFoundError, e.message);
      assert.equal(e.status, 404);
    }
    const e = await rejection(router.listFiles({ model: "batch", after: "x" }));
    assert.ok(e instanceof errors.BadRequestError);
    assert.equal(mock.calls.length, calls, "no upstream call");
  },
);
