// Compiled by `npx tsc -p tsconfig.json` (lint tier), never run: the public .d.ts accepts
// the documented usage, and each `@ts-expect-error` line proves a misuse is a type error.
import { Router, errors, redisStore, type ChatCompletion, type LlmuxError } from "llmux";
import { createLlmux } from "llmux/ai-sdk";
import { embed, generateText, streamText } from "ai";

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
  // @ts-expect-error the request needs a model
  await router.completion({ messages: [] });
  // @ts-expect-error the second argument is { signal }, not a signal
  await router.embedding({ model: "embed", input: "x" }, signal);
  await router.batchCompletion({ models: ["a", "b"], messages: [] }, { signal });

  // router.fetch detached: Deno.serve(router.fetch) / app.mount("/v1", router.fetch).
  const handler: (request: Request) => Promise<Response> = router.fetch;
  void handler;

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
