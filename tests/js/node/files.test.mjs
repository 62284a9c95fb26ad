// Files and batches (README, "Files and batches"): ids signed with files_secret reach the
// deployment that holds the object, through a restart; forged ids make no upstream call.
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { T, Router, errors, deployment, rejection, startMockServer } from "./fixture.mjs";

const SECRET = "files-secret-0123456789";
const INPUT = [
  {
    custom_id: "r1",
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "a" }] },
  },
  {
    custom_id: "r2",
    method: "POST",
    url: "/v1/chat/completions",
    body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "b" }] },
  },
]
  .map((l) => JSON.stringify(l))
  .join("\n");

let mock;
before(async () => {
  mock = await startMockServer({ port: 0 });
});
after(() => mock.close());
beforeEach(() => mock.reset());

function config(extra = {}) {
  return {
    model_list: [deployment(mock, "batch", "a"), deployment(mock, "batch", "b")],
    files_secret: SECRET,
    ...extra,
  };
}

const azure = (name) => ({
  model_name: "az",
  litellm_params: {
    model: "azure/my-gpt",
    api_base: `${mock.url}/${name}`,
    api_key: "azure-key-0123456789",
    api_version: "2024-10-21",
  },
  model_info: { id: name },
});

test(
  "a file, its batch, the batch's output and cancel all go to the deployment that holds them",
  T,
  async () => {
    const router = new Router(config());
    const file = await router.createFile({
      model: "batch",
      file: INPUT,
      purpose: "batch",
      filename: "in.jsonl",
    });
    assert.match(file.id, /^llmux-file-/);
    assert.equal(file.object, "file");
    assert.equal(file.purpose, "batch");
    const holder = file._hidden_params.model_id;
    const upload = mock.calls.find((c) => c.path.endsWith("/files"));
    assert.equal(upload.name, holder);
    assert.match(upload.headers["content-type"], /^multipart\/form-data; boundary=/);
    assert.equal(upload.headers.authorization, `Bearer sk-test-${holder}`);

    for (let i = 0; i < 4; i++) {
      const batch = await router.createBatch({
        input_file_id: file.id,
        endpoint: "/v1/chat/completions",
        completion_window: "24h",
      });
      assert.match(batch.id, /^llmux-batch-/);
      assert.equal(batch.input_file_id, file.id);
      assert.match(batch.output_file_id, /^llmux-file-/);
      assert.equal(batch._hidden_params.model_id, holder);
      const got = await router.retrieveBatch({ batch_id: batch.id });
      assert.equal(got.id, batch.id);
      assert.equal(got.status, "completed");
      const content = await router.fileContent({ file_id: got.output_file_id });
      assert.ok(content instanceof Response);
      const lines = (await content.text()).split("\n").map((l) => JSON.parse(l));
      assert.deepEqual(
        lines.map((l) => l.custom_id),
        ["r1", "r2"],
      );
      assert.equal(lines[0].response.body.choices[0].message.content, `batched by ${holder}`);
      const cancelled = await router.cancelBatch({ batch_id: batch.id });
      assert.equal(cancelled.status, "cancelled");
    }
    const other = holder === "a" ? "b" : "a";
    assert.equal(mock.callsTo(other).length, 0, "nothing reached the deployment without the file");
    assert.equal(mock.callsTo(holder).length, 1 + 4 * 4);
  },
);

test("an id still reaches its deployment after the Router restarts", T, async () => {
  const first = new Router(config());
  const file = await first.createFile({
    model: "batch",
    file: new Blob([INPUT]),
    purpose: "batch",
  });
  const batch = await first.createBatch({
    input_file_id: file.id,
    endpoint: "/v1/chat/completions",
    completion_window: "24h",
  });
  const holder = batch._hidden_params.model_id;
  // A new Router (a new isolate, a redeploy) with the same config and secret.
  const second = new Router(config());
  const got = await second.retrieveBatch({ batch_id: batch.id });
  assert.equal(got._hidden_params.model_id, holder);
  assert.equal(got.id, batch.id);
  const text = await (await second.fileContent({ file_id: got.output_file_id })).text();
  assert.match(text, new RegExp(`batched by ${holder}`));
});

test("a tampered, foreign or made-up id is a NotFoundError with no upstream call", T, async () => {
  const router = new Router(config());
  const file = await router.createFile({ model: "batch", file: INPUT, purpose: "batch" });
  const batch = await router.createBatch({
    input_file_id: file.id,
    endpoint: "/v1/chat/completions",
    completion_window: "24h",
  });
  const calls = mock.calls.length;
  const tenant = new Router(config({ files_secret: "another-tenant-secret-xyz" }));
  const [payload, tag] = batch.id.split(".");
  const flipped = payload.slice(0, -2) + (payload.at(-2) === "A" ? "B" : "A") + payload.at(-1);
  for (const [r, id] of [
    [tenant, batch.id],
    [router, `${flipped}.${tag}`],
    [router, file.id],
    [router, "batch_abc123"],
  ]) {
    const e = await rejection(r.retrieveBatch({ batch_id: id }));
    assert.ok(e instanceof errors.NotFoundError, e.message);
    assert.equal(e.status, 404);
    assert.ok(!e.message.includes(SECRET));
  }
  assert.equal(mock.calls.length, calls, "no upstream call");
});

test("listBatches merges every deployment of the group, ids signed", T, async () => {
  const router = new Router(config());
  for (let i = 0; i < 4; i++) {
    const f = await router.createFile({ model: "batch", file: INPUT, purpose: "batch" });
    await router.acreate_batch({
      input_file_id: f.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
  }
  const list = await router.listBatches({ model: "batch", limit: 10 });
  assert.equal(list.object, "list");
  assert.equal(list.data.length, 4);
  for (const b of list.data) {
    const got = await router.aretrieve_batch({ batch_id: b.id });
    assert.equal(got.id, b.id);
  }
  const e = await rejection(router.listBatches({ model: "batch", after: "x" }));
  assert.ok(e instanceof errors.BadRequestError);
});

test(
  "Azure deployments use /openai/files and /openai/batches with api-version and api-key",
  T,
  async () => {
    const router = new Router({ model_list: [azure("az1")], files_secret: SECRET });
    const file = await router.createFile({ model: "az", file: INPUT, purpose: "batch" });
    const batch = await router.createBatch({
      input_file_id: file.id,
      endpoint: "/v1/chat/completions",
      completion_window: "24h",
    });
    await router.retrieveBatch({ batch_id: batch.id });
    const paths = mock.callsTo("az1").map((c) => `${c.method} ${c.path} ${c.query["api-version"]}`);
    assert.equal(paths[0], "POST /az1/openai/files 2024-10-21");
    assert.equal(paths[1], "POST /az1/openai/batches 2024-10-21");
    assert.match(paths[2], /^GET \/az1\/openai\/batches\/batch_az1_\d+ 2024-10-21$/);
    assert.ok(mock.callsTo("az1").every((c) => c.headers["api-key"] === "azure-key-0123456789"));
  },
);

test(
  "without files_secret the methods throw ConfigError; other providers are refused by name",
  T,
  async () => {
    const bare = new Router({ model_list: [deployment(mock, "batch", "a")] });
    const e = await rejection(bare.createFile({ model: "batch", file: INPUT, purpose: "batch" }));
    assert.ok(e instanceof errors.ConfigError);
    assert.match(e.message, /files_secret/);
    assert.throws(() => new Router(config({ files_secret: "short" })), errors.ConfigError);
    const anthropic = new Router({
      model_list: [
        {
          model_name: "c",
          litellm_params: {
            model: "anthropic/claude-3-5-haiku-latest",
            api_key: "sk-ant-x",
            api_base: `${mock.url}/anthropic`,
          },
        },
      ],
      files_secret: SECRET,
      num_retries: 0,
    });
    const refused = await rejection(
      anthropic.createFile({ model: "c", file: INPUT, purpose: "batch" }),
    );
    assert.ok(refused instanceof errors.BadRequestError);
    assert.match(refused.message, /OpenAI and Azure/);
    assert.equal(mock.calls.length, 0);
  },
);

test("files_secret takes an os.environ/ reference and never shows in errors", T, async () => {
  const router = new Router({
    ...config(),
    files_secret: "os.environ/FILES_SECRET",
    env: { FILES_SECRET: SECRET },
  });
  const file = await router.createFile({ model: "batch", file: INPUT, purpose: "batch" });
  const same = new Router(config());
  const batch = await same.createBatch({
    input_file_id: file.id,
    endpoint: "/v1/chat/completions",
    completion_window: "24h",
  });
  assert.match(batch.id, /^llmux-batch-/);
  assert.ok(!JSON.stringify(router.getDeployments()).includes(SECRET));
});

test(
  "createFile in a group mixing providers only picks its OpenAI and Azure deployments",
  T,
  async () => {
    const router = new Router({
      model_list: [
        deployment(mock, "mixed", "oa"),
        {
          model_name: "mixed",
          litellm_params: {
            model: "anthropic/claude-3-5-haiku-latest",
            api_key: "sk-ant-mock",
            api_base: `${mock.url}/anthropic`,
          },
          model_info: { id: "claude" },
        },
      ],
      files_secret: SECRET,
    });
    for (let i = 0; i < 6; i++) {
      const file = await router.createFile({ model: "mixed", file: INPUT, purpose: "batch" });
      assert.equal(file._hidden_params.model_id, "oa");
    }
    assert.equal(mock.callsTo("anthropic").length, 0);
  },
);
