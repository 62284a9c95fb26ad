// The bedrock provider end to end: the router signs Converse / InvokeModel requests with SigV4
// (in Rust, inside the wasm module), the loopback mock answers with Bedrock's real reply
// payloads from tests/fixtures/bedrock, and the caller gets OpenAI-format objects, priced, or
// the right error classes. The signature the mock receives is re-verified here with node:crypto.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, beforeEach, describe, it } from "node:test";

import { Router, errors } from "../../../js/node.js";
import { startMockServer } from "../../mock/server.mjs";

const T = { timeout: 15_000 };
const MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0";
const AKID = "AKID";
const SECRET = "bedrock-test-secret/key";
const REGION = "us-east-1";
// Bundled LiteLLM prices (USD per token) of anthropic.claude-3-5-sonnet-20241022-v2:0 on bedrock.
const PRICE = { input: 3e-6, output: 1.5e-5, cacheRead: 3e-7 };

/** @param {string} path under tests/fixtures/bedrock */
const fixtureText = (path) =>
  readFileSync(new URL(`../../fixtures/bedrock/${path}`, import.meta.url), "utf8");
const fixture = (path) => JSON.parse(fixtureText(path));
/** @param {string} path under tests/fixtures/bedrock, as bytes */
const fixtureBytes = (path) =>
  new Uint8Array(readFileSync(new URL(`../../fixtures/bedrock/${path}`, import.meta.url)));
/** `bytes` in `size`-byte pieces (frames split across network reads). */
const pieces = (bytes, size) =>
  Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
    bytes.subarray(i * size, (i + 1) * size),
  );
const EVENT_STREAM = { "content-type": "application/vnd.amazon.eventstream" };

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/**
 * A Router with one bedrock deployment (id = `name`, group "claude") whose runtime endpoint is
 * the mock under `/<name>`.
 */
function bedrockRouter(name, params = {}, options = {}) {
  return new Router({
    model_list: [
      {
        model_name: "claude",
        litellm_params: {
          model: `bedrock/${MODEL}`,
          aws_access_key_id: AKID,
          aws_secret_access_key: SECRET,
          aws_region_name: REGION,
          aws_bedrock_runtime_endpoint: `${mock.url}/${name}`,
          ...params,
        },
        model_info: { id: name },
      },
    ],
    num_retries: 0,
    ...options,
  });
}

/** The error `promise` rejects with. */
async function rejection(promise) {
  try {
    const value = await promise;
    assert.fail(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    return e;
  }
}

const close = (a, b) => Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b);

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
 * Recomputes the SigV4 signature of a request the mock recorded (an independent JS
 * implementation of the AWS algorithm for non-S3 services: the path as sent is encoded again).
 * @param {import("../../mock/server.mjs").Call} call
 */
function expectedAuthorization(call, secret = SECRET) {
  const auth = call.headers.authorization;
  const signedNames = /SignedHeaders=([^,]+),/.exec(auth)[1].split(";");
  const amzDate = call.headers["x-amz-date"];
  const date = amzDate.slice(0, 8);
  const canonicalHeaders = signedNames
    .map((n) => `${n}:${String(call.headers[n]).trim().replace(/\s+/g, " ")}\n`)
    .join("");
  const canonicalUri = call.path.split("/").map(uriEncode).join("/");
  const payload = typeof call.body === "string" ? call.body : JSON.stringify(call.body);
  const canonicalRequest = [
    call.method,
    canonicalUri,
    "",
    canonicalHeaders,
    signedNames.join(";"),
    sha256hex(payload),
  ].join("\n");
  const scope = `${date}/${REGION}/bedrock/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonicalRequest)].join("\n");
  let key = hmac(`AWS4${secret}`, date);
  for (const part of [REGION, "bedrock", "aws4_request"]) key = hmac(key, part);
  const signature = createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
  return `AWS4-HMAC-SHA256 Credential=${AKID}/${scope}, SignedHeaders=${signedNames.join(";")}, Signature=${signature}`;
}

/** `res` as plain JSON without the fields a Converse reply does not carry (id, created). */
function withoutIdAndCreated(res) {
  const { id, created, ...rest } = JSON.parse(JSON.stringify(res));
  assert.match(id, /^chatcmpl-[0-9a-f]+$/);
  assert.equal(typeof created, "number");
  return rest;
}

describe("bedrock provider", () => {
  it(
    "completion posts a SigV4-signed Converse request and returns a priced chat.completion",
    T,
    async () => {
      mock.script("bedrockA", { status: 200, body: fixture("converse/response_text.json") });
      const router = bedrockRouter("bedrockA");
      const before = Date.now();
      const res = await router.completion(fixture("converse/chat_request.openai.json"));

      const calls = mock.callsTo("bedrockA");
      assert.equal(calls.length, 1);
      const call = calls[0];
      assert.equal(call.method, "POST");
      assert.equal(
        call.path,
        "/bedrockA/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse",
      );
      assert.deepEqual(call.query, {});
      assert.match(call.headers["content-type"], /^application\/json/);
      assert.deepEqual(call.body, fixture("converse/chat_request.converse.json"));

      const amzDate = call.headers["x-amz-date"];
      assert.match(amzDate, /^\d{8}T\d{6}Z$/);
      const sent = Date.parse(
        `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
      );
      assert.ok(sent >= before - 1000 && sent <= Date.now(), `x-amz-date ${amzDate} is now`);
      assert.match(
        call.headers.authorization,
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=AKID/${amzDate.slice(0, 8)}/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$`,
        ),
      );
      assert.equal(call.headers.authorization, expectedAuthorization(call), "signature verifies");
      assert.equal(call.headers["x-amz-security-token"], undefined);

      const expected = fixture("converse/response_text.openai.json");
      assert.deepEqual(withoutIdAndCreated(res), withoutIdAndCreated(expected));
      const h = res._hidden_params;
      assert.equal(h.custom_llm_provider, "bedrock");
      assert.equal(h.model_id, "bedrockA");
      assert.equal(h.model_group, "claude");
      assert.ok(
        close(h.response_cost, 125 * PRICE.input + 12 * PRICE.output),
        `${h.response_cost}`,
      );
      assert.equal(Object.keys(res).includes("_hidden_params"), false);
    },
  );

  it("a session token is sent as x-amz-security-token and signed", T, async () => {
    mock.script("bedrockS", { status: 200, body: fixture("converse/response_text.json") });
    const token = "FwoGZXIvYXdzEXAMPLEsessiontoken//+==";
    const router = bedrockRouter("bedrockS", { aws_session_token: token });
    await router.completion({ model: "claude", messages: [{ role: "user", content: "hi" }] });
    const [call] = mock.callsTo("bedrockS");
    assert.equal(call.headers["x-amz-security-token"], token);
    assert.match(
      call.headers.authorization,
      /SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, /,
    );
    assert.equal(call.headers.authorization, expectedAuthorization(call));
    assert.deepEqual(call.body, { messages: [{ role: "user", content: [{ text: "hi" }] }] });
  });

  it(
    "a toolUse reply becomes tool_calls, with cache reads priced at the cache rate",
    T,
    async () => {
      mock.script("bedrockT", { status: 200, body: fixture("converse/response_tool_use.json") });
      const router = bedrockRouter("bedrockT", {
        aws_bedrock_runtime_endpoint: null,
        api_base: `${mock.url}/bedrockT`,
      });
      const res = await router.completion(fixture("converse/chat_request.openai.json"));
      assert.equal(mock.callsTo("bedrockT").length, 1);
      assert.deepEqual(
        withoutIdAndCreated(res),
        withoutIdAndCreated(fixture("converse/response_tool_use.openai.json")),
      );
      assert.equal(res.choices[0].finish_reason, "tool_calls");
      assert.deepEqual(JSON.parse(res.choices[0].message.tool_calls[0].function.arguments), {
        sign: "WZPZ",
      });
      const h = res._hidden_params;
      assert.equal(h.api_base, `${mock.url}/bedrockT`);
      const cost = 375 * PRICE.input + 2048 * PRICE.cacheRead + 64 * PRICE.output;
      assert.ok(close(h.response_cost, cost), `${h.response_cost} vs ${cost}`);
    },
  );

  it("a guardrail intervention is a reply with finish_reason content_filter", T, async () => {
    mock.script("bedrockG", { status: 200, body: fixture("converse/response_guardrail.json") });
    const res = await bedrockRouter("bedrockG").completion({
      model: "claude",
      messages: [{ role: "user", content: "something blocked" }],
    });
    assert.equal(res.choices[0].finish_reason, "content_filter");
    assert.equal(res.choices[0].message.content, "Sorry, the model cannot answer this question.");
  });

  it(
    "embedding posts a signed Titan InvokeModel request and returns an OpenAI list",
    T,
    async () => {
      mock.script("titan", { status: 200, body: fixture("embed/titan_v2_response.json") });
      const router = new Router({
        model_list: [
          {
            model_name: "embed",
            litellm_params: {
              model: "bedrock/amazon.titan-embed-text-v2:0",
              aws_access_key_id: AKID,
              aws_secret_access_key: SECRET,
              aws_region_name: REGION,
              api_base: `${mock.url}/titan`,
            },
            model_info: { id: "titan" },
          },
        ],
        num_retries: 0,
      });
      const res = await router.embedding(fixture("embed/titan_v2_request.openai.json"));
      const [call] = mock.callsTo("titan");
      assert.equal(call.path, "/titan/model/amazon.titan-embed-text-v2%3A0/invoke");
      assert.deepEqual(call.body, fixture("embed/titan_v2_request.bedrock.json"));
      assert.equal(call.headers.authorization, expectedAuthorization(call));
      assert.deepEqual(
        JSON.parse(JSON.stringify(res)),
        fixture("embed/titan_v2_response.openai.json"),
      );
      assert.equal(res._hidden_params.custom_llm_provider, "bedrock");
      assert.ok(
        close(res._hidden_params.response_cost, 5 * 2e-8),
        `${res._hidden_params.response_cost}`,
      );

      const err = await rejection(router.embedding({ model: "embed", input: ["a", "b"] }));
      assert.ok(err instanceof errors.BadRequestError, err.name);
      assert.equal(mock.callsTo("titan").length, 1, "a Titan batch is refused before any call");
    },
  );

  it("a ThrottlingException 429 is a RateLimitError", T, async () => {
    mock.script("bedrockR", {
      status: 429,
      headers: {
        "x-amzn-errortype":
          "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
      },
      body: { message: "Too many requests, please wait before trying again." },
    });
    const err = await rejection(
      bedrockRouter("bedrockR").completion({
        model: "claude",
        messages: [{ role: "user", content: "hi" }],
      }),
    );
    assert.ok(err instanceof errors.RateLimitError, `${err.name}: ${err.message}`);
    assert.equal(err.status, 429);
    assert.equal(err.llm_provider, "bedrock");
    assert.equal(err.deployment_id, "bedrockR");
    assert.match(err.message, /Too many requests/);
    assert.equal(mock.callsTo("bedrockR").length, 1);
  });

  it(
    "Bedrock's 400 and 403 bodies map to context-window, permission and authentication errors",
    T,
    async () => {
      const cases = [
        [
          400,
          { message: "Input is too long for requested model." },
          errors.ContextWindowExceededError,
        ],
        [
          403,
          { message: "You don't have access to the model with the specified model ID." },
          errors.PermissionDeniedError,
        ],
        [
          403,
          { message: "The security token included in the request is invalid." },
          errors.AuthenticationError,
        ],
      ];
      for (const [status, body, Class] of cases) {
        mock.reset();
        mock.script("bedrockE", { status, body });
        const err = await rejection(
          bedrockRouter("bedrockE").completion({
            model: "claude",
            messages: [{ role: "user", content: "hi" }],
          }),
        );
        assert.ok(err instanceof Class, `${body.message} -> ${err.name}`);
        assert.equal(err.status, status);
        assert.equal(err.message.includes(SECRET), false);
      }
    },
  );

  it(
    "stream: true posts the signed Converse body to converse-stream and decodes the binary event stream",
    T,
    async () => {
      const body = fixtureBytes("stream/tool_use.bin");
      mock.script("bedrockStream", {
        headers: EVENT_STREAM,
        sse: pieces(body, 97),
        done: false,
        chunk_delay_ms: 1,
      });
      const router = bedrockRouter("bedrockStream");
      const stream = await router.completion({
        ...fixture("converse/chat_request.openai.json"),
        stream: true,
        stream_options: { include_usage: true },
      });
      assert.equal(stream._hidden_params.model_id, "bedrockStream");
      const chunks = await collect(stream);

      const [call] = mock.callsTo("bedrockStream");
      assert.equal(
        call.path,
        "/bedrockStream/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream",
      );
      assert.deepEqual(call.body, fixture("converse/chat_request.converse.json"));
      assert.equal(call.headers.authorization, expectedAuthorization(call), "signature verifies");

      // The chunks the native replay test expects, up to the ids and clock the router stamps.
      const expected = fixture("stream/tool_use.chunks.json");
      const id = chunks[0].id;
      assert.match(id, /^chatcmpl-[0-9a-f]+$/);
      assert.deepEqual(
        chunks.map(({ created, ...c }) => c),
        expected.map(({ created, ...c }) => ({ ...c, id })),
      );
      assert.equal(chunks.at(-2).choices[0].finish_reason, "tool_calls");
      assert.deepEqual(chunks.at(-1).usage.prompt_tokens_details, { cached_tokens: 2000 });

      const stats = await router.getUsageStats();
      const d = stats.deployments.bedrockStream;
      assert.equal(d.streams, 1);
      assert.equal(d.prompt_tokens, 2468);
      assert.equal(d.completion_tokens, 96);
    },
  );

  it(
    "a stream's exception event is its typed error: before any chunk the call rejects, after one the iterator throws",
    T,
    async () => {
      mock.script("bedrockX", {
        headers: EVENT_STREAM,
        sse: [fixtureBytes("stream/service_unavailable.bin")],
        done: false,
      });
      const err = await rejection(
        bedrockRouter("bedrockX").completion({
          model: "claude",
          messages: [{ role: "user", content: "hi" }],
          stream: true,
        }),
      );
      assert.ok(err instanceof errors.ServiceUnavailableError, err.name);
      assert.equal(err.status, 503);
      assert.match(err.message, /ServiceUnavailableException: Bedrock is unable/);

      mock.script("bedrockY", {
        headers: EVENT_STREAM,
        sse: pieces(fixtureBytes("stream/throttling.bin"), 50),
        done: false,
      });
      const stream = await bedrockRouter("bedrockY").completion({
        model: "claude",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
      });
      const seen = [];
      const thrown = await rejection(
        (async () => {
          for await (const chunk of stream) seen.push(chunk);
        })(),
      );
      assert.ok(thrown instanceof errors.RateLimitError, thrown.name);
      assert.match(thrown.message, /ThrottlingException/);
      assert.equal(seen.map((c) => c.choices[0].delta.content ?? "").join(""), "Once upon");
      assert.equal(mock.callsTo("bedrockY").length, 1);
    },
  );

  it("a deployment without a region is a ConfigError naming litellm_params", T, () => {
    assert.throws(
      () => bedrockRouter("x", { aws_region_name: null }),
      (e) =>
        e instanceof errors.ConfigError &&
        e.field === "model_list[0].litellm_params" &&
        /aws_region_name/.test(e.message),
    );
  });
});
