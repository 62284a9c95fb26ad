// Compiled by `npx tsc -p tsconfig.json` (lint tier), never run: the public .d.ts accepts
// the documented usage, and each `@ts-expect-error` line proves a misuse is a type error.
import { Router, errors, redisStore, type ChatCompletion, type LlmuxError } from "llmux";
import { createLlmux } from "llmux/ai-sdk";
import { embed, generateText, streamText } from "ai";
import { Hono } from "hono";
import IORedis from "ioredis";
import { createClient, createCluster, createSentinel } from "redis";

const router = new Router({
  model_list: [
    {
      model_name: "chat",
      litellm_params: { model: "openai/gpt-4o-mini", api_key: "os.environ/OPENAI_API_KEY" },
    },
  ],
  num_retries: 2,
  fallbacks: [{ chat: ["backup"] }],
  redis_host: "127.0.0.1",
  redis_username: "llmux",
  redis_ssl: true,
  gateway: { master_key: "sk-master", prefix: "/llm" },
});

// @ts-expect-error num_retries is a number
new Router({ model_list: [], num_retries: "two" });
// @ts-expect-error redis_ssl is a boolean
new Router({ model_list: [], redis_ssl: "yes" });

interface ServeInfo {
  remoteAddr: { hostname: string; port: number };
  completed: Promise<void>;
}

export async function calls(signal: AbortSignal): Promise<void> {
  const res: ChatCompletion = await router.completion(
    { model: "chat", messages: [{ role: "user", content: "hi" }] },
    { signal },
  );
  const id: string | null = res._hidden_params.model_id;
  void id;
  for await (const chunk of await router.completion({
    model: "chat",
    messages: [],
    stream: true,
  })) {
    const delta: string | null | undefined = chunk.choices[0]?.delta.content;
    void delta;
  }
  const streamed = await router.completion({ model: "chat", messages: [], stream: true });
  const ndjson: ReadableStream<Uint8Array> = streamed.toNDJSONReadableStream();
  void ndjson;
  // @ts-expect-error the request needs a model
  await router.completion({ messages: [] });
  // @ts-expect-error the second argument is { signal }, not a signal
  await router.embedding({ model: "embed", input: "x" }, signal);
  await router.batchCompletion({ models: ["a", "b"], messages: [] }, { signal });

  // router.fetch detached: Deno.serve(router.fetch) / app.mount("/v1", router.fetch).
  const handler: (request: Request) => Promise<Response> = router.fetch;
  void handler;
  new Hono().mount("/v1", router.fetch);
  // Deno.serve's handler gets (request, info: an interface, no index signature): any object
  // is accepted as `env`.
  const denoStyle: (request: Request, info: ServeInfo) => Promise<Response> = router.fetch;
  void denoStyle;

  try {
    await router.completion({ model: "chat", messages: [] });
  } catch (e) {
    if (e instanceof errors.RateLimitError) {
      const status: number = e.status;
      const requestId: string | null = e.request_id;
      const headers: Record<string, string> | null = e.headers;
      const code: string | number | null = e.code;
      const type: string = e.type;
      void [status, requestId, headers, code, type, e.requestID];
      // @ts-expect-error requestID is read-only
      e.requestID = "x";
    }
  }
  const base: typeof LlmuxError = errors.LlmuxError;
  void base;

  redisStore({ url: "rediss://redis.example:6380", tls: { ca: "-----BEGIN CERTIFICATE-----" } });
  redisStore({ client: { sendCommand: async (args: string[]) => args.length } });
  redisStore({ client: { call: async (command: string) => command } });
  // The real clients' own types.
  redisStore({ client: new IORedis.Redis() });
  redisStore({ client: new IORedis.Cluster([{ host: "127.0.0.1", port: 7000 }]) });
  redisStore({ client: createClient() });
  redisStore({ client: createCluster({ rootNodes: [{ url: "redis://127.0.0.1:7000" }] }) });
  redisStore({
    client: createSentinel({ name: "m", sentinelRootNodes: [{ host: "127.0.0.1", port: 26379 }] }),
  });
  redisStore({
    client: new IORedis.Redis({ sentinels: [{ host: "127.0.0.1", port: 26379 }], name: "m" }),
  });
  // @ts-expect-error a client needs sendCommand or call
  redisStore({ client: { send: async () => 1 } });
}

export async function aiSdk(): Promise<string> {
  const llmux = createLlmux(router, { maxEmbeddingsPerCall: 512 });
  const { text, providerMetadata } = await generateText({ model: llmux("chat"), prompt: "hi" });
  void providerMetadata?.llmux;
  const result = streamText({ model: llmux.languageModel("chat"), prompt: "hi" });
  void result.textStream;
  const { embedding } = await embed({ model: llmux.textEmbeddingModel("embed"), value: "x" });
  void embedding;
  // @ts-expect-error createLlmux needs a Router
  createLlmux({ completion: 1 });
  // @ts-expect-error maxEmbeddingsPerCall is a number
  createLlmux(router, { maxEmbeddingsPerCall: "many" });
  return text;
}

export async function filesAndBatches(): Promise<string> {
  const file = await router.createFile({ model: "batch", file: "{}\n", purpose: "batch" });
  const batch = await router.acreate_batch({
    input_file_id: file.id,
    endpoint: "/v1/chat/completions",
    completion_window: "24h",
  });
  const done = await router.retrieveBatch({ batch_id: batch.id });
  await router.cancelBatch({ batch_id: done.id });
  const { data } = await router.listBatches({ model: "batch", limit: 5 });
  void data[0]?.output_file_id;
  // @ts-expect-error retrieveBatch needs a batch_id
  await router.retrieveBatch({ id: batch.id });
  const content = await router.fileContent({ file_id: String(done.output_file_id) });
  return content.text();
}

export async function filesListDelete(): Promise<boolean> {
  const files = await router.listFiles({ model: "batch", purpose: "batch", limit: 10 });
  const first = files.data[0];
  const bytes: number | undefined = first?.bytes;
  void bytes;
  const got = await router.retrieveFile({ file_id: String(first?.id) });
  const gone = await router.afile_delete({ file_id: got.id });
  // @ts-expect-error deleteFile needs a file_id
  await router.deleteFile({ id: got.id });
  return gone.deleted;
}

export async function imageEdits(): Promise<string | undefined> {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
  const one = await router.imageEdit({ model: "img", image: png, prompt: "hat", n: 1 });
  const many = await router.aimage_edit({
    model: "img",
    image: [new Blob([png]), png.buffer],
    mask: png,
    prompt: "merge",
    size: "1024x1024",
  });
  // @ts-expect-error imageEdit needs a prompt
  await router.image_edit({ model: "img", image: png });
  return one.data[0]?.b64_json ?? many.data[0]?.url;
}

export function routingChoices(): void {
  router.setCustomRoutingStrategy({
    async getAvailableDeployment(model, request, candidates) {
      void [model, request];
      return candidates.find((c) => c.model_info.id === "eu") ?? candidates[0]?.model_info.id;
    },
  });
  router.set_custom_routing_strategy((_model, _request, candidates) => candidates[0]);
  router.register_plugin(null);
  // @ts-expect-error a strategy returns a candidate, its id or undefined
  router.setCustomRoutingStrategy({ getAvailableDeployment: () => 42 });
  new Router({
    model_list: [],
    routing_groups: [{ group_name: "g", models: ["chat"], routing_strategy: "least-busy" }],
  });
  // @ts-expect-error routing_groups need a routing_strategy
  new Router({ model_list: [], routing_groups: [{ group_name: "g", models: ["chat"] }] });
  new Router({
    model_list: [{ model_name: "chat", litellm_params: { model: "openai/gpt-4o-mini" }, rpm: 60 }],
    router_general_settings: { async_only_mode: true },
    plugins: [],
  });
  // @ts-expect-error pass_through_all_models: true is refused (a wildcard deployment does it)
  new Router({ model_list: [], router_general_settings: { pass_through_all_models: true } });
  // @ts-expect-error routing plugins are refused (use setCustomRoutingStrategy)
  new Router({ model_list: [], plugins: [{ run: async (context: unknown) => context }] });
}

export async function realtimeSession(): Promise<string> {
  const withWs = new Router({
    model_list: [],
    WebSocket: class {
      constructor(_url: string, _options: { headers: Record<string, string> }) {}
    },
  });
  const socket = await withWs.realtime("voice", { timeout: 10 });
  socket.addEventListener("message", (e) => console.log(e.data));
  socket.addEventListener("close", (e) => console.log(e.code, e.reason));
  socket.send(JSON.stringify({ type: "response.create" }));
  socket.close(1000, "done");
  const other = await withWs.arealtime("voice");
  // @ts-expect-error the model is a group name
  await withWs.realtime({ model: 1 });
  return String(socket._hidden_params.model_id) + other.readyState;
}

// Issue #18's request kinds: Responses (translated, or passed through with what only OpenAI's
// API keeps), Anthropic Messages in, count_tokens and rerank.
export async function otherApis(): Promise<number> {
  const res = await router.responses({ model: "chat", input: "hi", max_output_tokens: 8 });
  const text: string = res.output_text;
  const passed = await router.responses({
    model: "gpt",
    input: "next",
    previous_response_id: "resp_1",
    store: true,
    tools: [{ type: "web_search" }, { type: "function", name: "f", parameters: {} }],
  });
  const stored: boolean = passed.store;
  for await (const e of await router.responses({ model: "chat", input: "hi", stream: true })) {
    const seq: number = e.sequence_number;
    void seq;
  }
  // @ts-expect-error the Responses API takes `input`, not chat `messages`
  await router.responses({ model: "chat", messages: [] }).then((r) => r.output_text.length);
  const msg = await router.messages({
    model: "chat",
    max_tokens: 64,
    messages: [{ role: "user", content: "hi" }],
    tools: [{ name: "get_weather", input_schema: { type: "object" } }],
  });
  const stop: "end_turn" | "max_tokens" | "tool_use" | "refusal" = msg.stop_reason;
  const stream = await router.messages({
    model: "chat",
    max_tokens: 64,
    stream: true,
    messages: [{ role: "user", content: "hi" }],
  });
  const body: ReadableStream<Uint8Array> = stream.toReadableStream();
  // @ts-expect-error max_tokens is required, as Anthropic requires it
  await router.messages({ model: "chat", messages: [{ role: "user", content: "hi" }] });
  const counted = await router.countMessageTokens({
    model: "chat",
    messages: [{ role: "user", content: "hi" }],
  });
  const exact: boolean = counted.exact;
  const ranked = await router.rerank({
    model: "rerank",
    query: "q",
    documents: ["a", "b"],
    top_n: 1,
  });
  const score: number | undefined = ranked.results[0]?.relevance_score;
  // @ts-expect-error documents are strings or objects
  await router.rerank({ model: "rerank", query: "q", documents: [1] });
  void [text, stored, stop, body, exact];
  return (score ?? 0) + counted.input_tokens;
}
