// Issue #18: Anthropic Messages requests on the other Anthropic-format providers, Bedrock Claude
// (Converse) and Vertex AI Claude (rawPredict / streamRawPredict). What only Claude takes —
// `thinking`, `top_k`, `cache_control` — reaches them in their own wire format (on an OpenAI
// deployment it is dropped: messages-in.test.mjs), and their replies and streams come back as
// Anthropic messages and events with tool use, stop reasons and cache-token usage.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, beforeEach, describe, it } from "node:test";
import { Router, T, startMockServer } from "./fixture.mjs";

const text = (path) => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), "utf8");
const fixture = (path) => JSON.parse(text(path));

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20241022-v2:0";
const VERTEX_MODEL = "claude-sonnet-4-5@20250929";
const PROJECT = "llmux-test-project";

const router = () =>
  new Router({
    model_list: [
      {
        model_name: "bedrock-claude",
        litellm_params: {
          model: `bedrock/${BEDROCK_MODEL}`,
          aws_access_key_id: "AKID",
          aws_secret_access_key: "bedrock-test-secret/key",
          aws_region_name: "us-east-1",
          aws_bedrock_runtime_endpoint: `${mock.url}/bedrockM`,
        },
        model_info: { id: "br-1" },
      },
      {
        model_name: "vertex-claude",
        litellm_params: {
          model: `vertex_ai/${VERTEX_MODEL}`,
          vertex_project: PROJECT,
          vertex_location: "us-central1",
          api_base: `${mock.url}/vertex`,
          api_key: "ya29.vertex-mock-token",
        },
        model_info: { id: "vx-1" },
      },
    ],
    num_retries: 0,
  });

/** A Messages request with everything only Claude takes. */
const request = (model, extra = {}) => ({
  model,
  max_tokens: 2048,
  system: [{ type: "text", text: "You are a radio DJ.", cache_control: { type: "ephemeral" } }],
  thinking: { type: "enabled", budget_tokens: 1024 },
  top_k: 5,
  tools: [
    {
      name: "top_song",
      description: "The most popular song on a radio station",
      input_schema: { type: "object", properties: { sign: { type: "string" } } },
    },
  ],
  messages: [{ role: "user", content: "What is the most popular song on WZPZ?" }],
  ...extra,
});

describe("router.messages on Bedrock Claude and Vertex AI Claude", () => {
  it(
    "Bedrock: thinking, top_k and cache_control reach Converse; tool_use comes back",
    T,
    async () => {
      mock.script("bedrockM", { body: fixture("bedrock/converse/response_tool_use.json") });
      const out = await router().messages(request("bedrock-claude"));
      const [call] = mock.callsTo("bedrockM");
      assert.equal(call.path, `/bedrockM/model/${encodeURIComponent(BEDROCK_MODEL)}/converse`);
      assert.match(call.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKID\//);
      assert.deepEqual(call.body.additionalModelRequestFields.thinking, {
        type: "enabled",
        budget_tokens: 1024,
      });
      assert.equal(call.body.additionalModelRequestFields.top_k, 5);
      assert.deepEqual(call.body.system, [
        { text: "You are a radio DJ." },
        { cachePoint: { type: "default" } },
      ]);
      assert.equal(call.body.toolConfig.tools[0].toolSpec.name, "top_song");
      assert.equal(out.type, "message");
      assert.equal(out._hidden_params.model_id, "br-1");
      assert.equal(out.stop_reason, "tool_use");
      assert.deepEqual(out.content, [
        { type: "text", text: "I'll look up the most popular song on WZPZ." },
        {
          type: "tool_use",
          id: "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q",
          name: "top_song",
          input: { sign: "WZPZ" },
        },
      ]);
      // Anthropic's meaning: input_tokens without the cache reads.
      assert.equal(out.usage.cache_read_input_tokens, 2048);
      assert.equal(out.usage.output_tokens, 64);
      assert.equal(out.usage.input_tokens, 375);
    },
  );

  it(
    "Vertex AI: the Anthropic body on rawPredict, with thinking, top_k and cache_control",
    T,
    async () => {
      mock.script("vertex", { body: fixture("anthropic/responses/tool_use.anthropic.json") });
      const out = await router().messages(request("vertex-claude"));
      const [call] = mock.callsTo("vertex");
      assert.equal(
        call.path,
        `/vertex/v1/projects/${PROJECT}/locations/us-central1/publishers/anthropic/models/${VERTEX_MODEL}:rawPredict`,
      );
      assert.equal(call.headers.authorization, "Bearer ya29.vertex-mock-token");
      assert.equal(call.body.anthropic_version, "vertex-2023-10-16");
      assert.deepEqual(call.body.thinking, { type: "enabled", budget_tokens: 1024 });
      assert.equal(call.body.top_k, 5);
      assert.deepEqual(call.body.system, [
        { type: "text", text: "You are a radio DJ.", cache_control: { type: "ephemeral" } },
      ]);
      assert.equal(call.body.tools[0].name, "top_song");
      assert.equal(out._hidden_params.model_id, "vx-1");
      assert.equal(out.stop_reason, "tool_use");
      assert.deepEqual(
        out.content.filter((b) => b.type === "tool_use").map((b) => b.id),
        ["toolu_01A09q90qw90lq917835lq9", "toolu_01B19r91rx91mr928946mr0"],
      );
    },
  );

  it(
    "Vertex AI streamed: streamRawPredict, Anthropic's events back with tool input",
    T,
    async () => {
      mock.script("vertex", {
        sse: text("anthropic/stream/tool_use.sse").split(/(?<=\n\n)/),
        done: false,
      });
      const stream = await router().messages(request("vertex-claude", { stream: true }));
      const events = [];
      for await (const e of stream) events.push(e);
      const [call] = mock.callsTo("vertex");
      assert.match(call.path, /:streamRawPredict$/);
      assert.equal(call.body.stream, true);
      const starts = events
        .filter((e) => e.type === "content_block_start")
        .map((e) => e.content_block);
      assert.deepEqual(
        starts.map((b) => [b.type, b.id ?? null]),
        [
          ["text", null],
          ["tool_use", "toolu_01A09q90qw90lq917835lq9"],
          ["tool_use", "toolu_01B19r91rx91mr928946mr0"],
        ],
      );
      const json = events
        .filter((e) => e.delta?.type === "input_json_delta")
        .map((e) => e.delta.partial_json)
        .join("");
      assert.equal(
        json,
        '{"location":"Paris, France","unit":"celsius"}{"location":"Tokyo, Japan"}',
      );
      assert.equal(events.at(-2).delta.stop_reason, "tool_use");
      assert.equal(events.at(-1).type, "message_stop");
    },
  );
});
