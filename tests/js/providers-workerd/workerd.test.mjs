// The providers end to end inside workerd (Miniflare), issue 5: the worker (worker.js, the
// package's workerd entry) builds a Router from a JSON spec and calls it; this side scripts the
// loopback mock with each provider's real reply payload (tests/fixtures/<provider>), then checks
// what the provider received (path, auth header shape, translated body) and that the worker got
// the same OpenAI-format result the Node provider tests expect from the same fixtures.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, beforeEach, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

import { startMockServer } from "../../mock/server.mjs";

const T = { timeout: 15_000 };
const root = fileURLToPath(new URL("../../../", import.meta.url));

/** @param {string} path under tests/fixtures */
const fixture = (path) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), "utf8"));

/** @type {Awaited<ReturnType<typeof startMockServer>>} */
let mock;
/** @type {Miniflare} */
let mf;

before(async () => {
  mock = await startMockServer({ port: 0 });
  mf = new Miniflare({
    modules: true,
    modulesRoot: root,
    scriptPath: fileURLToPath(new URL("worker.js", import.meta.url)),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2026-04-01",
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await mock?.close();
});

beforeEach(() => mock?.reset());

/**
 * Runs one Router call in the worker: group `group` is the single deployment `params` (id
 * `id`), with no retries. Returns the worker's `{ body, hidden }` (or `{ error }`).
 */
async function run({ group, id, params, method, request, file_bytes, options }) {
  const spec = {
    model_list: [{ model_name: group, litellm_params: params, model_info: { id } }],
    options: { num_retries: 0, ...options },
    method,
    request,
    file_bytes,
  };
  const res = await mf.dispatchFetch("http://worker.test/run", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(spec),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `worker /run: ${text}`);
  return JSON.parse(text);
}

/** The worker's successful result; fails with the worker's error otherwise. */
function success(out) {
  assert.equal(out.error, undefined, `the call failed in workerd: ${JSON.stringify(out.error)}`);
  assert.ok(out.hidden, "the result carries _hidden_params");
  return out;
}

/** The one call the mock received for deployment `name`. */
function onlyCall(name) {
  const calls = mock.callsTo(name);
  assert.equal(calls.length, 1, `one upstream call to ${name}`);
  assert.equal(calls[0].method, "POST");
  return calls[0];
}

/** Asserts `created` was stamped by the router (now, in Unix seconds) and returns the rest. */
function stampedCreated(body) {
  const { created, ...rest } = body;
  assert.ok(Math.abs(created - Date.now() / 1000) <= 60, `created ${created} is now`);
  return rest;
}

const hmac = (key, data) => createHmac("sha256", key).update(data, "utf8").digest();
const sha256hex = (data) => createHash("sha256").update(data, "utf8").digest("hex");
/** AWS UriEncode: every byte but A-Z a-z 0-9 - _ . ~ as %XX. */
const uriEncode = (s) =>
  Array.from(new TextEncoder().encode(s), (b) =>
    /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b))
      ? String.fromCharCode(b)
      : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
  ).join("");

/**
 * The SigV4 Authorization header for a recorded bedrock call, recomputed with node:crypto (the
 * AWS algorithm for non-S3 services: the path as sent is encoded again).
 */
function expectedAuthorization(call, { akid, secret, region }) {
  const signedNames = /SignedHeaders=([^,]+),/.exec(call.headers.authorization)[1].split(";");
  const amzDate = call.headers["x-amz-date"];
  const date = amzDate.slice(0, 8);
  const canonicalHeaders = signedNames
    .map((n) => `${n}:${String(call.headers[n]).trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const payload = typeof call.body === "string" ? call.body : JSON.stringify(call.body);
  const canonicalRequest = [
    call.method,
    call.path.split("/").map(uriEncode).join("/"),
    "",
    canonicalHeaders,
    signedNames.join(";"),
    sha256hex(payload),
  ].join("\n");
  const scope = `${date}/${region}/bedrock/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonicalRequest)].join("\n");
  let key = hmac(`AWS4${secret}`, date);
  for (const part of [region, "bedrock", "aws4_request"]) key = hmac(key, part);
  const signature = createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
  return `AWS4-HMAC-SHA256 Credential=${akid}/${scope}, SignedHeaders=${signedNames.join(";")}, Signature=${signature}`;
}

describe("providers in workerd", () => {
  it(
    "openai: chat posts to <api_base>/chat/completions with a Bearer key and returns OpenAI's reply",
    T,
    async () => {
      const reply = {
        id: "chatcmpl-wd0001",
        object: "chat.completion",
        created: 1750000000,
        model: "gpt-4o-mini-2024-07-18",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: "Hi from OpenAI.", refusal: null },
            logprobs: null,
            finish_reason: "stop",
          },
        ],
        usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
        system_fingerprint: "fp_wd",
      };
      mock.script("oa", { status: 200, body: reply });
      const messages = [{ role: "user", content: "Say hi." }];
      const out = success(
        await run({
          group: "gpt",
          id: "oa-1",
          params: { model: "openai/gpt-4o-mini", api_base: mock.base("oa"), api_key: "sk-oa-wd" },
          method: "completion",
          request: { model: "gpt", messages, max_tokens: 20 },
        }),
      );

      const call = onlyCall("oa");
      assert.equal(call.path, "/oa/v1/chat/completions");
      assert.equal(call.headers.authorization, "Bearer sk-oa-wd");
      assert.deepEqual(call.body, { model: "gpt-4o-mini", messages, max_tokens: 20 });
      assert.deepEqual(out.body, reply);
      assert.equal(out.hidden.custom_llm_provider, "openai");
      assert.equal(out.hidden.model_id, "oa-1");
      assert.equal(out.hidden.model_group, "gpt");
      assert.equal(out.hidden.api_base, mock.base("oa"));
    },
  );

  it(
    "azure: chat posts to /openai/deployments/<name>/chat/completions with api-version and api-key",
    T,
    async () => {
      const reply = fixture("azure/chat_response.json");
      mock.script("az", { status: 200, body: reply });
      const messages = [{ role: "user", content: "Hi there!" }];
      const key = "0123456789abcdef0123456789abcdef";
      const out = success(
        await run({
          group: "chat",
          id: "az-1",
          params: {
            model: "azure/gpt-4o",
            api_base: `${mock.url}/az`,
            api_version: "2024-10-21",
            api_key: key,
          },
          method: "completion",
          request: { model: "chat", messages, max_tokens: 50 },
        }),
      );

      const call = onlyCall("az");
      assert.equal(call.path, "/az/openai/deployments/gpt-4o/chat/completions");
      assert.deepEqual(call.query, { "api-version": "2024-10-21" });
      assert.equal(call.headers["api-key"], key);
      assert.equal(call.headers.authorization, undefined);
      assert.deepEqual(call.body, { model: "gpt-4o", messages, max_tokens: 50 });
      assert.deepEqual(out.body, reply);
      assert.equal(out.hidden.custom_llm_provider, "azure");
      assert.equal(out.hidden.model_id, "az-1");
    },
  );

  it(
    "anthropic: chat posts a Messages request with x-api-key and returns the OpenAI chat.completion",
    T,
    async () => {
      mock.script("anthropic", {
        status: 200,
        body: fixture("anthropic/responses/text.anthropic.json"),
      });
      const key = "sk-ant-api03-wd-key";
      const out = success(
        await run({
          group: "claude",
          id: "claude-a",
          params: {
            model: "anthropic/claude-haiku-4-5-20251001",
            api_base: `${mock.url}/anthropic`,
            api_key: key,
          },
          method: "completion",
          request: fixture("anthropic/requests/basic.openai.json"),
        }),
      );

      const call = onlyCall("anthropic");
      assert.equal(call.path, "/anthropic/v1/messages");
      assert.equal(call.headers["x-api-key"], key);
      assert.equal(call.headers["anthropic-version"], "2023-06-01");
      assert.equal(call.headers.authorization, undefined);
      assert.deepEqual(call.body, fixture("anthropic/requests/basic.anthropic.json"));
      // Anthropic reports no creation time (the fixture's created is 0): the router stamps it.
      const { created: zero, ...want } = fixture("anthropic/responses/text.openai.json");
      assert.equal(zero, 0);
      assert.deepEqual(stampedCreated(out.body), want);
      assert.equal(out.hidden.custom_llm_provider, "anthropic");
      assert.equal(out.hidden.model_id, "claude-a");
    },
  );

  it(
    "gemini: chat posts generateContent with x-goog-api-key and returns the OpenAI chat.completion",
    T,
    async () => {
      mock.script("gemini", { status: 200, body: fixture("gemini/response_text.json") });
      const key = "AIzaSyD-wd-key-0123456789abcdefghijk";
      const out = success(
        await run({
          group: "gemini-chat",
          id: "gem-a",
          params: {
            model: "gemini/gemini-2.5-flash",
            api_base: `${mock.url}/gemini`,
            api_key: key,
          },
          method: "completion",
          request: fixture("gemini/chat_request.json"),
        }),
      );

      const call = onlyCall("gemini");
      assert.equal(call.path, "/gemini/v1beta/models/gemini-2.5-flash:generateContent");
      assert.deepEqual(call.query, {}, "the key is not a query parameter");
      assert.equal(call.headers["x-goog-api-key"], key);
      assert.equal(call.headers.authorization, undefined);
      assert.deepEqual(call.body, fixture("gemini/chat_request.expected.json"));
      const { created: zero, ...want } = fixture("gemini/response_text.expected.json");
      assert.equal(zero, 0);
      assert.deepEqual(stampedCreated(out.body), want);
      assert.equal(out.hidden.custom_llm_provider, "gemini");
      assert.equal(out.hidden.model_id, "gem-a");
    },
  );

  it(
    "vertex_ai: chat with api_key as the bearer token posts generateContent with no token exchange",
    T,
    async () => {
      mock.script("vertex", { status: 200, body: fixture("vertex/gemini_response.json") });
      const project = "llmux-test-project";
      const out = success(
        await run({
          group: "vertex-chat",
          id: "vx-a",
          params: {
            model: "vertex_ai/gemini-2.5-flash",
            vertex_project: project,
            vertex_location: "us-central1",
            api_base: `${mock.url}/vertex`,
            api_key: "ya29.from-gcloud",
          },
          method: "completion",
          request: { ...fixture("vertex/gemini_chat_request.json"), model: "vertex-chat" },
        }),
      );

      assert.equal(mock.calls.length, 1, "only the model call: no OAuth token exchange");
      const call = onlyCall("vertex");
      assert.equal(
        call.path,
        `/vertex/v1/projects/${project}/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent`,
      );
      assert.equal(call.headers.authorization, "Bearer ya29.from-gcloud");
      assert.deepEqual(call.body, fixture("vertex/gemini_chat_request.expected.json"));
      // Vertex reports createTime, so `created` is the provider's, not stamped.
      assert.deepEqual(out.body, fixture("vertex/gemini_response.expected.json"));
      assert.equal(out.hidden.custom_llm_provider, "vertex_ai");
      assert.equal(out.hidden.model_id, "vx-a");
    },
  );

  it(
    "bedrock: chat posts a Converse request whose SigV4 signature verifies and returns the chat.completion",
    T,
    async () => {
      mock.script("bedrockA", {
        status: 200,
        body: fixture("bedrock/converse/response_text.json"),
      });
      const creds = { akid: "AKID", secret: "bedrock-test-secret/key", region: "us-east-1" };
      const started = Date.now();
      const out = success(
        await run({
          group: "claude",
          id: "bedrockA",
          params: {
            model: "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0",
            aws_access_key_id: creds.akid,
            aws_secret_access_key: creds.secret,
            aws_region_name: creds.region,
            aws_bedrock_runtime_endpoint: `${mock.url}/bedrockA`,
          },
          method: "completion",
          request: fixture("bedrock/converse/chat_request.openai.json"),
        }),
      );

      const call = onlyCall("bedrockA");
      assert.equal(
        call.path,
        "/bedrockA/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse",
      );
      assert.deepEqual(call.body, fixture("bedrock/converse/chat_request.converse.json"));
      const amzDate = call.headers["x-amz-date"];
      assert.match(amzDate, /^\d{8}T\d{6}Z$/);
      const iso = amzDate.replace(
        /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/,
        "$1-$2-$3T$4:$5:$6Z",
      );
      const sent = Date.parse(iso);
      assert.ok(sent >= started - 2000 && sent <= Date.now() + 1000, `x-amz-date ${amzDate}`);
      assert.match(
        call.headers.authorization,
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=AKID/${amzDate.slice(0, 8)}/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$`,
        ),
      );
      assert.equal(call.headers.authorization, expectedAuthorization(call, creds), "signature");

      // Converse replies carry neither an id nor a creation time: both are generated.
      const { id, created, ...rest } = out.body;
      assert.match(id, /^chatcmpl-[0-9a-f]+$/);
      assert.ok(Math.abs(created - Date.now() / 1000) <= 60, `created ${created}`);
      const {
        id: _id,
        created: _created,
        ...want
      } = fixture("bedrock/converse/response_text.openai.json");
      assert.deepEqual(rest, want);
      assert.equal(out.hidden.custom_llm_provider, "bedrock");
      assert.equal(out.hidden.model_id, "bedrockA");
    },
  );

  it(
    "bedrock: stream: true decodes the binary event stream of converse-stream inside workerd",
    T,
    async () => {
      const bytes = new Uint8Array(
        readFileSync(new URL("../../fixtures/bedrock/stream/text.bin", import.meta.url)),
      );
      // Frames split across network reads.
      const pieces = [bytes.subarray(0, 100), bytes.subarray(100, 555), bytes.subarray(555)];
      mock.script("bedrockS", {
        headers: { "content-type": "application/vnd.amazon.eventstream" },
        sse: pieces,
        done: false,
      });
      const creds = { akid: "AKID", secret: "bedrock-test-secret/key", region: "us-east-1" };
      const out = await run({
        group: "claude",
        id: "bedrockS",
        params: {
          model: "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0",
          aws_access_key_id: creds.akid,
          aws_secret_access_key: creds.secret,
          aws_region_name: creds.region,
          aws_bedrock_runtime_endpoint: `${mock.url}/bedrockS`,
        },
        method: "completion",
        request: {
          model: "claude",
          messages: [{ role: "user", content: "How are you?" }],
          stream: true,
          stream_options: { include_usage: true },
        },
      });
      assert.equal(out.error, undefined, JSON.stringify(out.error));
      const call = onlyCall("bedrockS");
      assert.equal(
        call.path,
        "/bedrockS/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream",
      );
      assert.equal(call.headers.authorization, expectedAuthorization(call, creds), "signature");
      const want = fixture("bedrock/stream/text.chunks.json");
      const id = out.chunks[0].id;
      assert.deepEqual(
        out.chunks.map(({ created, ...c }) => c),
        want.map(({ created, ...c }) => ({ ...c, id })),
      );
      assert.equal(out.hidden.model_id, "bedrockS");
    },
  );

  it(
    "gemini: stream: true reads streamGenerateContent?alt=sse inside workerd, and an error event after chunks is thrown typed",
    T,
    async () => {
      const sse = (name) =>
        readFileSync(new URL(`../../fixtures/gemini/stream/${name}`, import.meta.url), "utf8");
      const params = {
        model: "gemini/gemini-2.5-flash",
        api_base: `${mock.url}/gemStream`,
        api_key: "AIzaSyD-workerd-key",
      };
      const request = {
        model: "gemini-chat",
        messages: [{ role: "user", content: "Tell me a story" }],
        stream: true,
      };
      mock.script("gemStream", { sse: [sse("thinking.sse")], done: false });
      const out = await run({
        group: "gemini-chat",
        id: "gem",
        params,
        method: "completion",
        request,
      });
      assert.equal(out.error, undefined, JSON.stringify(out.error));
      const call = onlyCall("gemStream");
      assert.equal(call.path, "/gemStream/v1beta/models/gemini-2.5-flash:streamGenerateContent");
      assert.deepEqual(call.query, { alt: "sse" });
      const want = fixture("gemini/stream/thinking.chunks.json").slice(0, -1);
      assert.deepEqual(
        out.chunks.map(({ created, ...c }) => c),
        want.map(({ created, ...c }) => c),
      );

      mock.reset();
      mock.script("gemStream", {
        sse: sse("error_overloaded.sse").split(/(?<=\r\n\r\n)/),
        done: false,
      });
      const failed = await run({
        group: "gemini-chat",
        id: "gem",
        params,
        method: "completion",
        request,
      });
      assert.equal(failed.chunks[0].choices[0].delta.content, "Once upon a time");
      assert.equal(failed.error.name, "ServiceUnavailableError");
      assert.equal(failed.error.status, 503);
    },
  );

  it(
    "cohere: chat posts a v2 chat body to /v2/chat with a Bearer key and returns the chat.completion",
    T,
    async () => {
      mock.script("co1", { status: 200, body: fixture("cohere/chat_response.json") });
      const key = "co-test-0123456789abcdef";
      const messages = [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Tell me about LLMs" },
      ];
      const out = success(
        await run({
          group: "g",
          id: "co1",
          params: { model: "cohere/command-r-08-2024", api_base: `${mock.url}/co1`, api_key: key },
          method: "completion",
          request: { model: "g", messages, max_completion_tokens: 100, top_p: 0.5, stop: "END" },
        }),
      );

      const call = onlyCall("co1");
      assert.equal(call.path, "/co1/v2/chat");
      assert.equal(call.headers.authorization, `Bearer ${key}`);
      assert.deepEqual(call.body, {
        model: "command-r-08-2024",
        messages,
        stream: false,
        max_tokens: 100,
        p: 0.5,
        stop_sequences: ["END"],
      });
      const { created: zero, ...want } = fixture("cohere/chat_response.openai.json");
      assert.equal(zero, 0);
      assert.deepEqual(stampedCreated(out.body), want);
      assert.equal(out.hidden.custom_llm_provider, "cohere");
      assert.equal(out.hidden.model_id, "co1");
    },
  );

  it(
    "groq: chat through the compat preset drops the params Groq rejects and returns Groq's reply",
    T,
    async () => {
      const reply = { ...fixture("compat/groq_chat_response.json"), model: "openai/gpt-oss-20b" };
      mock.script("gq1", { status: 200, body: reply });
      const key = "sk-compat-0123456789abcdef";
      const out = success(
        await run({
          group: "g",
          id: "gq1",
          params: { model: "groq/openai/gpt-oss-20b", api_base: mock.base("gq1"), api_key: key },
          method: "completion",
          request: {
            model: "g",
            messages: [{ role: "user", content: "Explain fast LLMs", name: "alice" }],
            logprobs: true,
            logit_bias: { 50256: -100 },
            max_completion_tokens: 600,
          },
        }),
      );

      const call = onlyCall("gq1");
      assert.equal(call.path, "/gq1/v1/chat/completions");
      assert.equal(call.headers.authorization, `Bearer ${key}`);
      assert.deepEqual(call.body, {
        model: "openai/gpt-oss-20b",
        messages: [{ role: "user", content: "Explain fast LLMs" }],
        max_completion_tokens: 600,
      });
      assert.deepEqual(out.body, reply);
      assert.equal(out.hidden.custom_llm_provider, "groq");
      assert.equal(out.hidden.model_id, "gq1");
    },
  );

  it(
    "voyage: embedding posts to <api_base>/embeddings with output_dimension and returns the list",
    T,
    async () => {
      const reply = fixture("compat/voyage_embeddings_response.json");
      mock.script("vo1", { status: 200, body: reply });
      const key = "sk-voyage-0123456789abcdef";
      const input = ["The food was delicious", "The waiter was rude"];
      const out = success(
        await run({
          group: "g",
          id: "vo1",
          params: { model: "voyage/voyage-3.5", api_base: mock.base("vo1"), api_key: key },
          method: "embedding",
          request: { model: "g", input, dimensions: 256, input_type: "document" },
        }),
      );

      const call = onlyCall("vo1");
      assert.equal(call.path, "/vo1/v1/embeddings");
      assert.equal(call.headers.authorization, `Bearer ${key}`);
      assert.deepEqual(call.body, {
        model: "voyage-3.5",
        input,
        output_dimension: 256,
        input_type: "document",
      });
      // Voyage reports total_tokens only; the router adds prompt_tokens.
      assert.deepEqual(out.body, { ...reply, usage: { total_tokens: 10, prompt_tokens: 10 } });
      assert.equal(out.hidden.custom_llm_provider, "voyage");
      assert.equal(out.hidden.model_id, "vo1");
    },
  );

  it(
    "anthropic: a 429 rate_limit_error body is a RateLimitError carrying retry-after",
    T,
    async () => {
      const body = fixture("anthropic/errors/rate_limit_error.json");
      mock.script("anthropic", { status: 429, headers: { "retry-after": "3" }, body });
      const out = await run({
        group: "claude",
        id: "claude-a",
        params: {
          model: "anthropic/claude-haiku-4-5-20251001",
          api_base: `${mock.url}/anthropic`,
          api_key: "sk-ant-api03-wd-key",
        },
        method: "completion",
        request: { model: "claude", messages: [{ role: "user", content: "Hi" }] },
      });

      assert.ok(out.error, `the call must fail, got ${JSON.stringify(out.body)}`);
      const e = out.error;
      assert.equal(e.constructor, "RateLimitError");
      assert.ok(e.instance_of.includes("RateLimitError"), e.instance_of.join());
      assert.ok(!e.instance_of.includes("NoDeploymentsAvailableError"), e.instance_of.join());
      assert.equal(e.status, 429);
      assert.equal(e.llm_provider, "anthropic");
      assert.equal(e.model, "claude-haiku-4-5-20251001");
      assert.equal(e.deployment_id, "claude-a");
      assert.equal(e.retryable, true);
      assert.equal(e.retry_after_ms, 3000);
      assert.ok(e.message.includes(body.error.message), e.message);
      onlyCall("anthropic");
    },
  );

  it(
    "openai: transcription uploads a Uint8Array built in the worker as multipart form data",
    T,
    async () => {
      mock.script("whisper", { body: { text: "Hello from workerd." } });
      // 44-byte WAV header + 4 samples: a real RIFF/WAVE file.
      const wav = new Uint8Array(48);
      wav.set(new TextEncoder().encode("RIFF"), 0);
      wav.set(new TextEncoder().encode("WAVEfmt "), 8);
      wav.set(new TextEncoder().encode("data"), 36);
      const out = success(
        await run({
          group: "stt",
          id: "whisper",
          params: { model: "openai/whisper-1", api_base: mock.base("whisper"), api_key: "sk-w" },
          method: "transcription",
          request: { model: "stt", language: "en" },
          file_bytes: Array.from(wav),
        }),
      );

      const call = onlyCall("whisper");
      assert.equal(call.path, "/whisper/v1/audio/transcriptions");
      assert.equal(call.headers.authorization, "Bearer sk-w");
      assert.match(
        call.headers["content-type"],
        /^multipart\/form-data; boundary=llmux-[0-9a-f]{32}$/,
      );
      const body = String(call.body);
      assert.match(body, /name="model"\r\n\r\nwhisper-1\r\n/);
      assert.match(body, /name="language"\r\n\r\nen\r\n/);
      assert.match(
        body,
        /name="file"; filename="audio\.wav"\r\nContent-Type: audio\/wav\r\n\r\nRIFF/,
      );
      assert.deepEqual(out.body, { text: "Hello from workerd." });
      assert.equal(out.hidden.custom_llm_provider, "openai");
      assert.equal(out.hidden.model_id, "whisper");
    },
  );

  it(
    "openai: speech resolves to a Response whose body is the audio and its content type",
    T,
    async () => {
      const audio = "ID3\u0004fake-mp3-frames";
      mock.script("voice", {
        status: 200,
        headers: { "content-type": "audio/mpeg" },
        body_raw: audio,
      });
      const input = "Hello, world.";
      const out = success(
        await run({
          group: "tts",
          id: "voice",
          params: { model: "openai/tts-1", api_base: mock.base("voice"), api_key: "sk-v" },
          method: "speech",
          request: { model: "tts", input, voice: "alloy" },
        }),
      );

      const call = onlyCall("voice");
      assert.equal(call.path, "/voice/v1/audio/speech");
      assert.equal(call.headers.authorization, "Bearer sk-v");
      assert.deepEqual(call.body, { model: "tts-1", input, voice: "alloy" });
      assert.equal(out.is_response, true, "speech resolves to a Response");
      assert.equal(out.content_type, "audio/mpeg");
      assert.equal(out.body, audio);
      assert.equal(out.hidden.custom_llm_provider, "openai");
      assert.equal(out.hidden.model_id, "voice");
    },
  );
});
