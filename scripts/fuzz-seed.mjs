// Regenerates the fuzz seed corpus, fuzz/corpus/<target>/, from tests/fixtures/.
// Usage: node scripts/fuzz-seed.mjs   (rewrites the seed files; inputs libFuzzer added, named
// by their SHA-1, are kept unless --clean is given).
//
// Each seed is the header bytes fuzz/src/invariants.rs expects, then a fixture's bytes. Seed
// names carry the header's meaning (`<provider>__<endpoint>__<status>__<fixture>`), and
// tests/fuzz_corpus.rs checks that the header bytes agree with the names, so these tables
// cannot drift from the Rust ones unnoticed. Limits: at most 50 files and 200 KB per target.
import { readFileSync, writeFileSync, mkdirSync, readdirSync, rmSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const fixtures = join(root, "tests/fixtures");
const corpus = join(root, "fuzz/corpus");
const clean = process.argv.includes("--clean");

// Must match invariants.rs: provider_params() order, ENDPOINTS, STATUSES, AMPLIFY, FIX_CRCS.
const PROVIDERS = [
  "openai",
  "azure",
  "azure_ai",
  "anthropic",
  "gemini",
  "vertex_gemini",
  "vertex_claude",
  "bedrock_claude",
  "bedrock_titan",
  "bedrock_cohere",
  "cohere",
  "groq",
  "mistral",
  "openrouter",
  "xai",
  "voyage",
];
const ENDPOINTS = ["chat", "text", "embedding", "image", "moderation"];
const STATUSES = [200, 400, 401, 403, 404, 408, 413, 422, 429, 500, 502, 503, 529, 201, 498];
const AMPLIFY = 0xa5;
const FIX_CRCS = 0x01;
const SECRET_ENV = "FUZZ_SECRET";

const read = (rel) => readFileSync(join(fixtures, rel));
const list = (rel, ext) =>
  readdirSync(join(fixtures, rel))
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => `${rel}/${f}`);
const index = (table, name) => {
  const i = table.indexOf(name);
  if (i < 0) throw new Error(`unknown ${name}`);
  return i;
};
const slug = (rel) => rel.replace(/\.[a-z]+$/, "").replace(/[^A-Za-z0-9]+/g, "_");
/** Two split bytes naming the middle of the body. */
const middle = (body) => {
  const at = Math.floor(body.length / 2) & 0xffff;
  return [at >> 8, at & 0xff];
};

const seeds = new Map(); // target -> [name, bytes][]
const add = (target, name, header, body) => {
  if (!seeds.has(target)) seeds.set(target, []);
  seeds.get(target).push([`seed-${name}`, Buffer.concat([Buffer.from(header), Buffer.from(body)])]);
};

// ---- sse: every SSE fixture, split in the middle; two amplified seeds.
const sseFixtures = [
  "openai",
  "azure",
  "compat",
  "anthropic",
  "cohere",
  "gemini",
  "vertex",
].flatMap((dir) => list(`${dir}/stream`, ".sse"));
for (const rel of sseFixtures) {
  const body = read(rel);
  add("sse", slug(rel), [0, ...middle(body)], body);
}
add("sse", "amplify_endless_line", [AMPLIFY, 0, 0], "data: " + "x".repeat(200));
add("sse", "amplify_endless_event", [AMPLIFY, 0, 0], "data: x\n");

// ---- eventstream: every Bedrock frame fixture, as recorded and with CRC repair on.
const binFixtures = list("bedrock/stream", ".bin");
for (const rel of binFixtures) {
  const body = read(rel);
  add("eventstream", slug(rel), [0, ...middle(body)], body);
}
for (const rel of binFixtures.slice(0, 4)) {
  const body = read(rel);
  add("eventstream", `fixcrc_${slug(rel)}`, [FIX_CRCS, ...middle(body)], body);
}
add("eventstream", "amplify_frames", [AMPLIFY, 0, 0], read("bedrock/stream/text.bin"));
// A prelude announcing 16 MiB, then its body never arriving in full.
{
  const frame = Buffer.alloc(64);
  frame.writeUInt32BE(16 * 1024 * 1024, 0);
  add("eventstream", "amplify_big_prelude", [AMPLIFY, 0, 0], frame);
}

// ---- provider_stream: each stream fixture with the provider that speaks it.
const streamSeed = (provider, endpoint, rel, flags = 0) => {
  const body = read(rel);
  const f = (index(ENDPOINTS, endpoint) << 4) | flags;
  add(
    "provider_stream",
    `${provider}__${endpoint}__${flags & FIX_CRCS ? "fixcrc_" : ""}${slug(rel)}`,
    [index(PROVIDERS, provider), f, ...middle(body)],
    body,
  );
};
for (const rel of list("openai/stream", ".sse")) {
  streamSeed("openai", rel.includes("completion_") ? "text" : "chat", rel);
}
for (const rel of list("azure/stream", ".sse")) streamSeed("azure", "chat", rel);
streamSeed("groq", "chat", "compat/stream/groq_chat.sse");
streamSeed("mistral", "chat", "compat/stream/mistral_thinking.sse");
streamSeed("xai", "chat", "compat/stream/xai_tool_calls.sse");
streamSeed("openrouter", "chat", "openai/stream/error_in_stream.sse");
for (const rel of list("anthropic/stream", ".sse")) streamSeed("anthropic", "chat", rel);
streamSeed("vertex_claude", "chat", "anthropic/stream/text.sse");
streamSeed("vertex_claude", "chat", "anthropic/stream/tool_use.sse");
for (const rel of list("cohere/stream", ".sse")) streamSeed("cohere", "chat", rel);
for (const rel of list("gemini/stream", ".sse")) streamSeed("gemini", "chat", rel);
for (const rel of list("vertex/stream", ".sse")) streamSeed("vertex_gemini", "chat", rel);
for (const rel of binFixtures) streamSeed("bedrock_claude", "chat", rel);
streamSeed("bedrock_claude", "chat", "bedrock/stream/tool_use.bin", FIX_CRCS);
add(
  "provider_stream",
  "amplify_openai_endless_event",
  [index(PROVIDERS, "openai"), AMPLIFY, 0, 0],
  'data: {"choices":[]}\n',
);

// ---- provider_response: answers and error bodies with their provider, endpoint, status.
const responseSeed = (provider, endpoint, status, rel) =>
  add(
    "provider_response",
    `${provider}__${endpoint}__${status}__${slug(rel)}`,
    [index(PROVIDERS, provider), index(ENDPOINTS, endpoint), index(STATUSES, status)],
    read(rel),
  );
for (const name of ["text", "tool_use", "thinking"]) {
  responseSeed("anthropic", "chat", 200, `anthropic/responses/${name}.anthropic.json`);
}
responseSeed("anthropic", "chat", 429, "anthropic/errors/rate_limit_error.json");
responseSeed("anthropic", "chat", 529, "anthropic/errors/overloaded_error.json");
responseSeed("anthropic", "chat", 400, "anthropic/errors/prompt_too_long.json");
responseSeed("azure", "chat", 200, "azure/chat_response.json");
responseSeed("azure", "chat", 200, "azure/chat_tool_calls_response.json");
responseSeed("azure", "chat", 200, "azure/chat_output_filtered_response.json");
responseSeed("azure", "text", 200, "azure/completion_response.json");
responseSeed("azure", "embedding", 200, "azure/embedding_response.json");
responseSeed("azure", "chat", 400, "azure/error_400_content_filter.json");
responseSeed("azure", "chat", 429, "azure/error_429.json");
responseSeed("azure_ai", "chat", 200, "azure/ai/chat_response.json");
responseSeed("azure_ai", "embedding", 200, "azure/ai/embedding_response.json");
responseSeed("azure_ai", "chat", 422, "azure/ai/error_422_parameter_not_supported.json");
for (const name of [
  "response_text",
  "response_tool_use",
  "response_guardrail",
  "response_max_tokens_reasoning",
]) {
  responseSeed("bedrock_claude", "chat", 200, `bedrock/converse/${name}.json`);
}
responseSeed("bedrock_titan", "embedding", 200, "bedrock/embed/titan_v2_response.json");
responseSeed("bedrock_cohere", "embedding", 200, "bedrock/embed/cohere_response.json");
responseSeed("cohere", "chat", 200, "cohere/chat_response.json");
responseSeed("cohere", "chat", 200, "cohere/chat_tool_calls_response.json");
responseSeed("cohere", "chat", 200, "cohere/chat_max_tokens_response.json");
responseSeed("cohere", "embedding", 200, "cohere/embed_response.json");
responseSeed("cohere", "chat", 429, "cohere/error_429.json");
responseSeed("cohere", "chat", 498, "cohere/error_498_blocked.json");
responseSeed("groq", "chat", 200, "compat/groq_chat_response.json");
responseSeed("groq", "chat", 400, "compat/groq_error_context_length.json");
responseSeed("mistral", "chat", 200, "compat/mistral_chat_thinking_response.json");
responseSeed("xai", "chat", 200, "compat/xai_tool_calls_response.json");
responseSeed("openrouter", "chat", 200, "compat/openrouter_error_in_200.json");
responseSeed("voyage", "embedding", 200, "compat/voyage_embeddings_response.json");
for (const name of [
  "response_text",
  "response_tool_calls",
  "response_blocked_prompt",
  "embedding_response",
]) {
  responseSeed(
    "gemini",
    name.startsWith("embedding") ? "embedding" : "chat",
    200,
    `gemini/${name}.json`,
  );
}
responseSeed("gemini", "chat", 429, "gemini/error_rate_limit.json");
responseSeed("gemini", "chat", 400, "gemini/error_context_window.json");
responseSeed("vertex_gemini", "chat", 200, "vertex/gemini_response.json");
responseSeed("vertex_gemini", "chat", 200, "vertex/gemini_response_blocked_prompt.json");
responseSeed("vertex_gemini", "embedding", 200, "vertex/embedding_response.json");
responseSeed("vertex_gemini", "chat", 429, "vertex/error_resource_exhausted.json");
responseSeed("vertex_claude", "chat", 200, "vertex/claude_response.json");
responseSeed("vertex_claude", "chat", 529, "vertex/claude_error_overloaded.json");
responseSeed("openai", "image", 200, "openai/image_generation.response.json");
responseSeed("openai", "moderation", 200, "openai/moderation.response.json");
responseSeed("openai", "chat", 500, "azure/error_500.json");

// ---- config: Router options around each provider's deployment, the key from the env.
const PARAMS = {
  openai: { model: "openai/gpt-4o-mini" },
  azure: {
    model: "azure/gpt-4o",
    api_base: "https://fuzz.openai.azure.com/",
    api_version: "2024-10-21",
  },
  anthropic: { model: "anthropic/claude-haiku-4-5-20251001" },
  gemini: { model: "gemini/gemini-2.5-flash" },
  vertex_ai: {
    model: "vertex_ai/gemini-2.5-flash",
    vertex_project: "p",
    vertex_location: "us-central1",
  },
  bedrock: {
    model: "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0",
    aws_access_key_id: "AKIDEXAMPLE",
    aws_secret_access_key: `os.environ/${SECRET_ENV}`,
    aws_region_name: "us-east-1",
  },
  cohere: { model: "cohere/command-r-08-2024" },
  groq: { model: "groq/llama-3.1-8b-instant" },
};
const entry = (group, provider, extra = {}) => ({
  model_name: group,
  litellm_params: { api_key: `os.environ/${SECRET_ENV}`, ...PARAMS[provider], ...extra },
});
const configs = {
  minimal: { model_list: [entry("chat", "openai")] },
  all_providers: { model_list: Object.keys(PARAMS).map((p) => entry(`g-${p}`, p)) },
  routing: {
    model_list: [
      entry("chat", "openai", { rpm: 100, tpm: 10000, weight: 2 }),
      entry("chat", "groq"),
    ],
    routing_strategy: "usage-based-routing-v2",
    num_retries: 3,
    timeout: 30,
    retry_after: 0.5,
    allowed_fails: 2,
    cooldown_time: 10,
  },
  fallbacks: {
    model_list: [entry("a", "openai"), entry("b", "anthropic"), entry("c", "gemini")],
    fallbacks: [{ a: ["b", "c"] }, { "*": ["c"] }],
    context_window_fallbacks: [{ a: ["c"] }],
    content_policy_fallbacks: [{ b: ["a"] }],
    default_fallbacks: ["c"],
    max_fallbacks: 2,
  },
  policies: {
    model_list: [entry("chat", "cohere")],
    retry_policy: { RateLimitErrorRetries: 3, TimeoutErrorRetries: 1 },
    allowed_fails_policy: { RateLimitErrorAllowedFails: 5 },
    model_group_alias: { gpt: "chat" },
  },
  cache: {
    model_list: [entry("chat", "openai")],
    cache_responses: true,
    cache_kwargs: { type: "local", ttl: 60, namespace: "fuzz" },
  },
  env_everywhere: {
    model_list: [entry("chat", "openai", { api_base: `os.environ/${SECRET_ENV}` })],
    num_retries: "os.environ/FUZZ_NUMBER",
    routing_strategy: `os.environ/${SECRET_ENV}`,
  },
  invalid_ignored: {
    model_list: [entry("ok", "openai"), { model_name: "bad", litellm_params: { model: "nope/x" } }],
    ignore_invalid_deployments: true,
    default_litellm_params: { timeout: 5 },
  },
  vertex_bedrock: {
    model_list: [entry("v", "vertex_ai"), entry("b", "bedrock"), entry("z", "azure")],
  },
};
for (const [name, options] of Object.entries(configs)) {
  add("config", name, [], JSON.stringify(options, null, 1));
}

// ---- cache_key: OpenAI-format request bodies, with the call they would be.
const CALLS = ["completion", "text_completion", "embedding"];
const keySeed = (call, rel) =>
  add("cache_key", `${call}__${slug(rel)}`, [index(CALLS, call)], read(rel));
for (const rel of list("anthropic/requests", ".openai.json")) keySeed("completion", rel);
keySeed("completion", "azure/chat_request.json");
keySeed("text_completion", "azure/completion_request.json");
keySeed("embedding", "azure/embedding_request.json");
keySeed("completion", "bedrock/converse/chat_request.openai.json");
keySeed("embedding", "bedrock/embed/cohere_request.openai.json");
keySeed("completion", "cohere/chat_request.openai.json");
keySeed("completion", "gemini/chat_request_structured.json");
keySeed("embedding", "gemini/embedding_request.json");
keySeed("completion", "vertex/gemini_chat_request.json");
add(
  "cache_key",
  "completion__defaults_and_spellings",
  [0],
  JSON.stringify({
    messages: [{ role: "user", content: "hi" }],
    temperature: 1.0,
    top_p: 1,
    n: 1,
    stop: "END",
    tools: [],
    tool_choice: "none",
    user: "u",
    stream: true,
    max_tokens: 100.0,
    seed: -3,
    logit_bias: { 50256: -100 },
    extra: [1.5, 2e20, -0.0, null],
  }),
);

// ---- write
for (const [target, list] of seeds) {
  if (list.length > 50) throw new Error(`${target}: ${list.length} seeds (limit 50)`);
  const bytes = list.reduce((n, [, b]) => n + b.length, 0);
  if (bytes > 200 * 1024) throw new Error(`${target}: ${bytes} bytes of seeds (limit 200 KB)`);
  const dir = join(corpus, target);
  if (clean && existsSync(dir)) rmSync(dir, { recursive: true });
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.startsWith("seed-")) rmSync(join(dir, f));
  for (const [name, b] of list) {
    writeFileSync(join(dir, name), b);
  }
  console.log(`${target}: ${list.length} seeds, ${bytes} bytes`);
}
