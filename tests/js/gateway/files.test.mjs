// The gateway's image edit, files and batches routes (README, "Gateway") over real loopback
// HTTP (node:http → router.fetch), driven by the official `openai` client: what the client got,
// what reached the mock, the key and model checks, and a Router restart.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import { after, before, beforeEach, describe, it } from "node:test";
import OpenAI, { toFile } from "openai";
import { nodeListener } from "../../../examples/node/server.mjs";
import { Router, deployment, startMockServer } from "../node/fixture.mjs";

const T = { timeout: 20_000 };
const MASTER = "sk-master-files-0123456789";
const TEAM = "sk-team-batch-0123456789"; // scoped to the "batch" group only
const ARTIST = "sk-team-img-0123456789"; // scoped to the "img" group only
const SECRET = "gateway-files-secret-0123";
const MAX_BODY = 256 * 1024;
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 7, 7, 7]);
const JSONL = JSON.stringify({
  custom_id: "r1",
  method: "POST",
  url: "/v1/chat/completions",
  body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "a" }] },
});
const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");

let mock;
const hosts = [];

function config() {
  return {
    model_list: [
      deployment(mock, "img", "a", { model: "openai/gpt-image-1" }),
      deployment(mock, "batch", "b"),
      deployment(mock, "batch", "c"),
    ],
    files_secret: SECRET,
    gateway: {
      master_key: MASTER,
      keys: { [TEAM]: { models: ["batch"] }, [ARTIST]: { models: ["img"] } },
      max_body_bytes: MAX_BODY,
    },
  };
}

/** A Router of `config()` behind node:http; resolves to its base URL. */
async function serve() {
  const server = http.createServer(nodeListener(new Router(config())));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  hosts.push(server);
  return `http://127.0.0.1:${server.address().port}/v1`;
}

const clientOf = (baseURL, apiKey) => new OpenAI({ apiKey, baseURL, maxRetries: 0 });

before(async () => {
  mock = await startMockServer({ port: 0 });
});
after(async () => {
  for (const s of hosts) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  await mock.close();
});
beforeEach(() => mock.reset());

describe("POST /v1/images/edits", () => {
  let base;
  before(async () => {
    base = await serve();
  });

  it("client.images.edit: one image, then several as image[] with a mask", T, async () => {
    const client = clientOf(base, MASTER);
    const { data: one, response } = await client.images
      .edit({
        model: "img",
        image: await toFile(PNG, "cat.png", { type: "image/png" }),
        prompt: "add a hat",
        n: 2,
        size: "1024x1024",
      })
      .withResponse();
    assert.equal(one.data.length, 2);
    const made = JSON.parse(Buffer.from(one.data[0].b64_json, "base64").toString("utf8"));
    assert.deepEqual(made, { deployment: "a", images: [sha(PNG)], mask: null, i: 0 });
    assert.equal(response.headers.get("x-litellm-model-id"), "a");
    assert.equal(response.headers.get("x-litellm-model-group"), "img");
    const [call] = mock.callsTo("a");
    assert.equal(call.headers.authorization, "Bearer sk-test-a");
    assert.deepEqual(call.form.fields, {
      model: "gpt-image-1",
      prompt: "add a hat",
      n: "2",
      size: "1024x1024",
    });
    assert.deepEqual(
      call.form.files.map((f) => [f.field, f.filename, f.type]),
      [["image", "cat.png", "image/png"]],
    );

    mock.reset();
    const many = await clientOf(base, ARTIST).images.edit({
      model: "img",
      image: [
        await toFile(PNG, "a.png", { type: "image/png" }),
        await toFile(PNG, "b.png", { type: "image/png" }),
      ],
      mask: await toFile(PNG, "m.png", { type: "image/png" }),
      prompt: "merge",
    });
    assert.equal(many.data.length, 1);
    assert.deepEqual(
      mock.callsTo("a")[0].form.files.map((f) => [f.field, f.filename]),
      [
        ["image[]", "a.png"],
        ["image[]", "b.png"],
        ["mask", "m.png"],
      ],
    );
  });

  it(
    "another group's key, a forbidden field and a body over max_body_bytes: no upstream call",
    T,
    async () => {
      const png = await toFile(PNG, "cat.png", { type: "image/png" });
      const denied = await clientOf(base, TEAM)
        .images.edit({ model: "img", image: png, prompt: "p" })
        .catch((e) => e);
      assert.ok(denied instanceof OpenAI.PermissionDeniedError, String(denied));
      const forbidden = await clientOf(base, MASTER)
        .images.edit({ model: "img", image: png, prompt: "p", api_base: "http://evil.test" })
        .catch((e) => e);
      assert.ok(forbidden instanceof OpenAI.BadRequestError, String(forbidden));
      assert.equal(forbidden.code, "forbidden_parameter");
      const streamed = await clientOf(base, MASTER)
        .images.edit({ model: "img", image: png, prompt: "p", stream: true })
        .catch((e) => e);
      assert.ok(streamed instanceof OpenAI.BadRequestError, String(streamed));
      assert.match(streamed.message, /does not stream/);
      const big = await toFile(new Uint8Array(MAX_BODY + 1), "big.png", { type: "image/png" });
      const tooLarge = await clientOf(base, MASTER)
        .images.edit({ model: "img", image: big, prompt: "p" })
        .catch((e) => e);
      assert.equal(tooLarge.status, 413);
      assert.equal(mock.calls.length, 0);
    },
  );
});

describe("/v1/files and /v1/batches", () => {
  let base;
  before(async () => {
    base = await serve();
  });

  it(
    "create, list, retrieve, content, batches create/retrieve/list/cancel, delete",
    T,
    async () => {
      const client = clientOf(base, MASTER);
      // The master key names the group with ?model= (the openai client passes unknown params on).
      const file = await client.files.create(
        { file: await toFile(Buffer.from(JSONL), "in.jsonl"), purpose: "batch" },
        { query: { model: "batch" } },
      );
      assert.match(file.id, /^llmux-file-/);
      assert.equal(file.filename, "in.jsonl");
      const holder = mock.calls.find((c) => c.method === "POST").name;

      const page = await client.files.list({ model: "batch" });
      assert.deepEqual(
        page.data.map((f) => f.id),
        [file.id],
      );
      const got = await client.files.retrieve(file.id);
      assert.equal(got.id, file.id);
      assert.equal(got.purpose, "batch");

      const batch = await client.batches.create({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      });
      assert.match(batch.id, /^llmux-batch-/);
      assert.equal(batch.input_file_id, file.id);
      const done = await client.batches.retrieve(batch.id);
      assert.equal(done.status, "completed");
      const output = await (await client.files.content(String(done.output_file_id))).text();
      assert.match(output, new RegExp(`batched by ${holder}`));
      const batches = await client.batches.list({ model: "batch", limit: 5 });
      assert.deepEqual(
        batches.data.map((b) => b.id),
        [batch.id],
      );
      const cancelled = await client.batches.cancel(batch.id);
      assert.equal(cancelled.status, "cancelled");

      const gone = await client.files.delete(file.id);
      assert.deepEqual(gone, { id: file.id, object: "file", deleted: true });
      // Every call on the objects went to the deployment holding them.
      const elsewhere = mock.calls.filter(
        (c) => c.name !== holder && !(c.method === "GET" && /\/(files|batches)$/.test(c.path)),
      );
      assert.deepEqual(elsewhere, []);
    },
  );

  it(
    "a key scoped to one group lists without ?model=; other groups' ids are a 404",
    T,
    async () => {
      const team = clientOf(base, TEAM);
      const file = await team.files.create({
        file: await toFile(Buffer.from(JSONL), "t.jsonl"),
        purpose: "batch",
      });
      const listed = await team.files.list();
      assert.ok(listed.data.some((f) => f.id === file.id));
      const calls = mock.calls.length;
      // The "img" key may not reach a "batch" file: the same 404 as an unknown id.
      const artist = clientOf(base, ARTIST);
      const hidden = await artist.files.retrieve(file.id).catch((e) => e);
      assert.ok(hidden instanceof OpenAI.NotFoundError, String(hidden));
      const deleted = await artist.files.delete(file.id).catch((e) => e);
      assert.ok(deleted instanceof OpenAI.NotFoundError, String(deleted));
      const made = await artist.batches
        .create({
          input_file_id: file.id,
          endpoint: "/v1/chat/completions",
          completion_window: "24h",
        })
        .catch((e) => e);
      assert.ok(made instanceof OpenAI.NotFoundError, String(made));
      // A forged id, even for the master key, is a 404 from the router.
      const forged = await clientOf(base, MASTER)
        .files.retrieve(`${file.id.slice(0, -3)}AAA`)
        .catch((e) => e);
      assert.ok(forged instanceof OpenAI.NotFoundError, String(forged));
      // The master key must name the group to list (it may use several).
      const unnamed = await clientOf(base, MASTER)
        .files.list()
        .catch((e) => e);
      assert.ok(unnamed instanceof OpenAI.BadRequestError, String(unnamed));
      assert.equal(mock.calls.length, calls, "no upstream call");
    },
  );

  it(
    "after a restart (a new Router, same config), the file lists and deletes through its deployment",
    T,
    async () => {
      const first = clientOf(base, TEAM);
      const file = await first.files.create({
        file: await toFile(Buffer.from(JSONL), "r.jsonl"),
        purpose: "batch",
      });
      const holder = mock.calls.find((c) => c.method === "POST" && c.path.endsWith("/files")).name;
      const second = clientOf(await serve(), TEAM);
      const listed = await second.files.list({ purpose: "batch" });
      assert.ok(listed.data.some((f) => f.id === file.id));
      const mark = mock.calls.length;
      const gone = await second.files.delete(file.id);
      assert.equal(gone.deleted, true);
      assert.deepEqual(
        mock.calls.slice(mark).map((c) => [c.method, c.name]),
        [["DELETE", holder]],
      );
    },
  );
});
