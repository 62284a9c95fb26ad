// `@anthropic-ai/sdk` inside workerd (Miniflare): the official client's messages.create and
// messages.stream against router.fetch in the same Worker, served by an OpenAI deployment on
// the loopback mock. The SDK is bundled for the browser platform with esbuild first (workerd
// resolves no bare specifiers); the bundle goes to tests/.tmp (gitignored).
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { startMockServer } from "../../mock/server.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
let mock;
let mf;

before(async () => {
  mkdirSync(`${root}tests/.tmp`, { recursive: true });
  await build({
    stdin: { contents: 'export { default } from "@anthropic-ai/sdk";', resolveDir: root },
    bundle: true,
    format: "esm",
    platform: "browser",
    outfile: `${root}tests/.tmp/anthropic-sdk.js`,
    logLevel: "error",
  });
  mock = await startMockServer({ port: 0 });
  mf = new Miniflare({
    modules: true,
    modulesRoot: root,
    scriptPath: fileURLToPath(new URL("anthropic-sdk-worker.js", import.meta.url)),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
    bindings: { MOCK_URL: mock.url },
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await mock?.close();
});

const get = async (path) => {
  const res = await mf.dispatchFetch(`http://worker.test${path}`);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return res.json();
};

test("messages.create in workerd: an OpenAI deployment answers in Anthropic's shape", async () => {
  mock.reset();
  mock.script("wd-sdk", { reply: "Hello from workerd" });
  const { message } = await get("/create");
  assert.equal(message.type, "message");
  assert.equal(message.role, "assistant");
  assert.equal(message.content[0].type, "text");
  assert.equal(message.content[0].text, "Hello from workerd");
  assert.equal(message.stop_reason, "end_turn");
  assert.ok(message.usage.input_tokens > 0);
  const [call] = mock.callsTo("wd-sdk");
  assert.equal(call.path, "/wd-sdk/v1/chat/completions");
  assert.equal(call.headers.authorization, "Bearer sk-upstream-wd-sdk");
  assert.equal(call.body.model, "mock-wd-sdk");
});

test("messages.stream in workerd: text events and the final message", async () => {
  mock.reset();
  mock.script("wd-sdk", { reply: "one two three" });
  const { text, final } = await get("/stream");
  assert.equal(text, "one two three");
  assert.equal(final.content[0].text, "one two three");
  assert.equal(mock.callsTo("wd-sdk")[0].body.stream, true);
});

/** OpenAI's chat reply calling get_weather (the wire format the OpenAI deployment speaks). */
const toolCall = { id: "call_wd1", type: "function", function: { name: "get_weather" } };
const toolReply = {
  id: "chatcmpl-wd",
  object: "chat.completion",
  created: 1,
  model: "mock-wd-sdk",
  choices: [
    {
      index: 0,
      message: {
        role: "assistant",
        content: null,
        tool_calls: [
          { ...toolCall, function: { ...toolCall.function, arguments: '{"location":"Oslo"}' } },
        ],
      },
      finish_reason: "tool_calls",
    },
  ],
  usage: { prompt_tokens: 30, completion_tokens: 7, total_tokens: 37 },
};
/** The same call streamed, its arguments in three pieces, usage in the last chunk. */
const toolStream = () => {
  const chunk = (delta, finish_reason = null, usage) => ({
    id: "chatcmpl-wd",
    object: "chat.completion.chunk",
    created: 1,
    model: "mock-wd-sdk",
    choices: [{ index: 0, delta, finish_reason }],
    ...(usage ? { usage } : {}),
  });
  return [
    chunk({
      role: "assistant",
      tool_calls: [{ index: 0, ...toolCall, function: { ...toolCall.function, arguments: "" } }],
    }),
    ...['{"loc', 'ation":"Os', 'lo"}'].map((a) =>
      chunk({ tool_calls: [{ index: 0, function: { arguments: a } }] }),
    ),
    chunk({}, "tool_calls"),
    { ...chunk({}), choices: [], usage: toolReply.usage },
  ];
};

test("messages.create in workerd with a tool: tool_use, then the tool_result round trip", async () => {
  mock.reset();
  mock.script("wd-sdk", { body: toolReply }, { reply: "It is 5°C in Oslo." });
  const { first, second } = await get("/tools");
  assert.equal(first.stop_reason, "tool_use");
  assert.deepEqual(
    first.content.filter((b) => b.type === "tool_use"),
    [{ type: "tool_use", id: "call_wd1", name: "get_weather", input: { location: "Oslo" } }],
  );
  assert.equal(second.content[0].text, "It is 5°C in Oslo.");
  const calls = mock.callsTo("wd-sdk");
  assert.equal(calls.length, 2);
  assert.equal(calls[0].body.tools[0].function.name, "get_weather");
  assert.deepEqual(calls[1].body.messages.at(-1), {
    role: "tool",
    tool_call_id: "call_wd1",
    content: "5°C",
  });
});

test("messages.stream in workerd with a tool: input_json deltas and a tool_use message", async () => {
  mock.reset();
  mock.script("wd-sdk", { sse: toolStream() });
  const { json, final } = await get("/tools-stream");
  assert.equal(json, '{"location":"Oslo"}');
  assert.equal(final.stop_reason, "tool_use");
  assert.deepEqual(final.content, [
    { type: "tool_use", id: "call_wd1", name: "get_weather", input: { location: "Oslo" } },
  ]);
  assert.equal(final.usage.output_tokens, 7);
  assert.equal(mock.callsTo("wd-sdk").length, 1);
});

test("an unknown model is an Anthropic-shaped error the SDK types", async () => {
  mock.reset();
  const e = await get("/error");
  assert.ok(e.status >= 400 && e.status < 500, String(e.status));
  assert.equal(typeof e.type, "string");
  assert.equal(mock.calls.length, 0);
});
