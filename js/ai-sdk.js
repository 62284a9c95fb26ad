// `llmux/ai-sdk`: a Vercel AI SDK provider (specification v3) over a Router, so generateText,
// streamText, generateObject, tools and embed route in-process. `@ai-sdk/provider` is a peer.

import { APICallError, NoSuchModelError } from "@ai-sdk/provider";
import { LlmuxError } from "./errors.js";
import { openAiErrorBody } from "./openai-error.js";

/** What `APICallError.url` says: the call never left the process as HTTP to the router. */
const URL_OF = { chat: "llmux://router/chat/completions", embedding: "llmux://router/embeddings" };

/** OpenAI's default `maxEmbeddingsPerCall` (its `/embeddings` limit). */
const MAX_EMBEDDINGS_PER_CALL = 2048;

const FINISH = {
  stop: "stop",
  length: "length",
  content_filter: "content-filter",
  tool_calls: "tool-calls",
  function_call: "tool-calls",
};
const finishReason = (raw) => ({
  unified: raw == null ? "other" : (FINISH[raw] ?? "other"),
  raw: raw ?? undefined,
});

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** OpenAI usage -> the AI SDK's v3 usage (undefined where the upstream did not say). */
function usageOf(u) {
  if (!isObject(u)) {
    return {
      inputTokens: {
        total: undefined,
        noCache: undefined,
        cacheRead: undefined,
        cacheWrite: undefined,
      },
      outputTokens: { total: undefined, text: undefined, reasoning: undefined },
    };
  }
  const input = num(u.prompt_tokens);
  const cacheRead = num(u.prompt_tokens_details?.cached_tokens);
  const cacheWrite = num(
    u.cache_creation_input_tokens ?? u.prompt_tokens_details?.cache_creation_tokens,
  );
  const output = num(u.completion_tokens);
  const reasoning = num(u.completion_tokens_details?.reasoning_tokens);
  return {
    inputTokens: {
      total: input,
      noCache: input === undefined ? undefined : input - (cacheRead ?? 0),
      cacheRead,
      cacheWrite,
    },
    outputTokens: {
      total: output,
      text: output === undefined ? undefined : output - (reasoning ?? 0),
      reasoning,
    },
    raw: JSON.parse(JSON.stringify(u)),
  };
}

/** `_hidden_params` as the provider metadata's JSON object (undefined fields dropped). */
const metadataOf = (hidden) => ({
  llmux: isObject(hidden) ? JSON.parse(JSON.stringify(hidden)) : {},
});

function base64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000)
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** A file part's data as a URL the OpenAI format accepts (a data: URL unless it is a URL). */
function dataUrl(part) {
  if (part.data instanceof URL) return part.data.toString();
  const b64 = typeof part.data === "string" ? part.data : base64(part.data);
  return `data:${part.mediaType};base64,${b64}`;
}

function userPart(part) {
  if (part.type === "text") return { type: "text", text: part.text };
  const type = part.mediaType ?? "";
  if (type.startsWith("image/")) return { type: "image_url", image_url: { url: dataUrl(part) } };
  if (
    (type === "audio/wav" || type === "audio/mpeg" || type === "audio/mp3") &&
    !(part.data instanceof URL)
  )
    return {
      type: "input_audio",
      input_audio: {
        data: typeof part.data === "string" ? part.data : base64(part.data),
        format: type === "audio/wav" ? "wav" : "mp3",
      },
    };
  if (type === "application/pdf" && !(part.data instanceof URL))
    return {
      type: "file",
      file: { filename: part.filename ?? "document.pdf", file_data: dataUrl(part) },
    };
  throw new UnsupportedPart(`file parts of media type ${JSON.stringify(type)}`);
}

class UnsupportedPart extends Error {}

/** A tool result's output as the text of an OpenAI `tool` message. */
function toolOutput(output) {
  switch (output?.type) {
    case "text":
    case "error-text":
      return output.value;
    case "execution-denied":
      return output.reason ?? "Tool execution denied.";
    default:
      return JSON.stringify(output?.value ?? null);
  }
}

/** The AI SDK's v3 prompt -> OpenAI chat messages. */
function messagesOf(prompt) {
  const out = [];
  for (const m of prompt) {
    if (m.role === "system") out.push({ role: "system", content: m.content });
    else if (m.role === "user") {
      const parts = m.content.map(userPart);
      out.push({
        role: "user",
        content: parts.length === 1 && parts[0].type === "text" ? parts[0].text : parts,
      });
    } else if (m.role === "assistant") {
      let text = "";
      const calls = [];
      for (const part of m.content) {
        if (part.type === "text") text += part.text;
        else if (part.type === "tool-call")
          calls.push({
            id: part.toolCallId,
            type: "function",
            function: {
              name: part.toolName,
              arguments:
                typeof part.input === "string" ? part.input : JSON.stringify(part.input ?? {}),
            },
          });
      }
      out.push({
        role: "assistant",
        content: text || null,
        ...(calls.length ? { tool_calls: calls } : {}),
      });
    } else if (m.role === "tool") {
      for (const part of m.content) {
        if (part.type !== "tool-result") continue;
        out.push({ role: "tool", tool_call_id: part.toolCallId, content: toolOutput(part.output) });
      }
    }
  }
  return out;
}

/** `providerOptions.llmux`: router kwargs and extra OpenAI fields, merged into the request. */
function llmuxOptions(providerOptions) {
  const o = providerOptions?.llmux;
  return isObject(o) ? o : {};
}

/** Per-call headers cannot reach upstream (llmux refuses per-request headers): warned. */
function headerWarnings(headers, warnings) {
  const names = Object.entries(headers ?? {})
    .filter(([k, v]) => v !== undefined && k.toLowerCase() !== "user-agent")
    .map(([k]) => k);
  if (names.length)
    warnings.push({
      type: "unsupported",
      feature: "headers",
      details: `per-call headers (${names.join(", ")}) are not sent upstream; set extra_headers on the deployment`,
    });
}

/** The AI SDK's call options -> the OpenAI chat request the Router serves, plus warnings. */
function chatRequest(modelId, options) {
  const warnings = [];
  const req = { model: modelId, messages: messagesOf(options.prompt) };
  if (options.maxOutputTokens !== undefined) req.max_tokens = options.maxOutputTokens;
  if (options.temperature !== undefined) req.temperature = options.temperature;
  if (options.topP !== undefined) req.top_p = options.topP;
  if (options.frequencyPenalty !== undefined) req.frequency_penalty = options.frequencyPenalty;
  if (options.presencePenalty !== undefined) req.presence_penalty = options.presencePenalty;
  if (options.seed !== undefined) req.seed = options.seed;
  if (options.stopSequences?.length) req.stop = options.stopSequences;
  if (options.topK !== undefined)
    warnings.push({
      type: "unsupported",
      feature: "topK",
      details: "OpenAI's format has no top_k",
    });
  const format = options.responseFormat;
  if (format?.type === "json") {
    req.response_format = format.schema
      ? {
          type: "json_schema",
          json_schema: {
            name: format.name ?? "response",
            ...(format.description ? { description: format.description } : {}),
            schema: format.schema,
          },
        }
      : { type: "json_object" };
  }
  const tools = [];
  for (const tool of options.tools ?? []) {
    if (tool.type !== "function") {
      warnings.push({ type: "unsupported", feature: `provider tool ${tool.id}` });
      continue;
    }
    tools.push({
      type: "function",
      function: {
        name: tool.name,
        ...(tool.description ? { description: tool.description } : {}),
        parameters: tool.inputSchema,
        ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
      },
    });
  }
  if (tools.length) {
    req.tools = tools;
    const choice = options.toolChoice;
    if (choice?.type === "tool")
      req.tool_choice = { type: "function", function: { name: choice.toolName } };
    else if (choice) req.tool_choice = choice.type;
  }
  headerWarnings(options.headers, warnings);
  // `stream` is the SDK's choice (doGenerate or doStream), not an option.
  const { stream: _stream, ...extra } = llmuxOptions(options.providerOptions);
  return { req: { ...req, ...extra }, warnings };
}

/** A Router error as the AI SDK's `APICallError`; anything else (an abort) unchanged. */
function callError(e, endpoint, request) {
  if (!(e instanceof LlmuxError)) return e;
  const body = openAiErrorBody(e);
  return new APICallError({
    message: e.message,
    url: URL_OF[endpoint],
    requestBodyValues: request,
    statusCode: e.status,
    responseHeaders: e.headers ?? undefined,
    responseBody: JSON.stringify(body),
    isRetryable: e.retryable === true,
    cause: e,
    data: body.error,
  });
}

/** The prompt could not be expressed in OpenAI's format: a 400 the SDK does not retry. */
function promptError(e, request) {
  return new APICallError({
    message: `llmux: ${e.message} are not supported`,
    url: URL_OF.chat,
    requestBodyValues: request,
    statusCode: 400,
    isRetryable: false,
    cause: e,
  });
}

const responseOf = (res) => ({
  id: res.id,
  modelId: res.model,
  timestamp: typeof res.created === "number" ? new Date(res.created * 1000) : undefined,
});

class LlmuxLanguageModel {
  specificationVersion = "v3";
  supportedUrls = { "image/*": [/^https?:\/\/.*$/] };
  #router;

  constructor(router, modelId, provider) {
    this.#router = router;
    this.modelId = modelId;
    this.provider = provider;
  }

  #build(options) {
    try {
      return chatRequest(this.modelId, options);
    } catch (e) {
      if (e instanceof UnsupportedPart) throw promptError(e, options.prompt);
      throw e;
    }
  }

  async doGenerate(options) {
    const { req, warnings } = this.#build(options);
    let res;
    try {
      res = await this.#router.completion(req, { signal: options.abortSignal });
    } catch (e) {
      throw callError(e, "chat", req);
    }
    const choice = res.choices?.[0] ?? {};
    const message = choice.message ?? {};
    const content = [];
    if (typeof message.reasoning_content === "string" && message.reasoning_content)
      content.push({ type: "reasoning", text: message.reasoning_content });
    if (typeof message.content === "string" && message.content)
      content.push({ type: "text", text: message.content });
    for (const call of message.tool_calls ?? []) {
      content.push({
        type: "tool-call",
        toolCallId: call.id,
        toolName: call.function?.name,
        input: call.function?.arguments || "{}",
      });
    }
    return {
      content,
      finishReason: finishReason(choice.finish_reason),
      usage: usageOf(res.usage),
      providerMetadata: metadataOf(res._hidden_params),
      request: { body: req },
      response: { ...responseOf(res), body: res },
      warnings,
    };
  }

  async doStream(options) {
    const { req: built, warnings } = this.#build(options);
    const req = {
      ...built,
      stream: true,
      stream_options: { include_usage: true, ...built.stream_options },
    };
    const signal = options.abortSignal;
    let stream;
    try {
      stream = await this.#router.completion(req, { signal });
    } catch (e) {
      throw callError(e, "chat", req);
    }
    return {
      stream: partsOf(stream, warnings, signal, options.includeRawChunks === true, req),
      request: { body: req },
    };
  }
}

/** An LlmuxStream of OpenAI chunks -> a ReadableStream of the AI SDK's v3 stream parts. */
function partsOf(stream, warnings, signal, raw, req) {
  const iterator = stream[Symbol.asyncIterator]();
  let started = false;
  let text = false;
  let reasoning = false;
  let finish;
  let usage;
  /** Tool calls by their index in the chunks: { id, name, args }. */
  const tools = new Map();
  const end = (controller) => {
    if (reasoning) controller.enqueue({ type: "reasoning-end", id: "reasoning-0" });
    if (text) controller.enqueue({ type: "text-end", id: "text-0" });
    for (const t of tools.values()) {
      controller.enqueue({ type: "tool-input-end", id: t.id });
      controller.enqueue({
        type: "tool-call",
        toolCallId: t.id,
        toolName: t.name,
        input: t.args || "{}",
      });
    }
    controller.enqueue({
      type: "finish",
      finishReason: finishReason(finish),
      usage: usageOf(usage),
      providerMetadata: metadataOf(stream._hidden_params),
    });
    controller.close();
  };
  return new ReadableStream({
    start(controller) {
      controller.enqueue({ type: "stream-start", warnings });
    },
    // A chunk may give no part (a role-only delta): pull until one is out, or the stream
    // stalls (a pull that enqueues nothing is not called again for the pending read).
    async pull(controller) {
      let out = 0;
      let closed = false;
      const sink = {
        enqueue: (part) => {
          out++;
          controller.enqueue(part);
        },
        close: () => {
          closed = true;
          controller.close();
        },
        error: (e) => {
          closed = true;
          controller.error(e);
        },
      };
      while (out === 0 && !closed) await step(sink);
    },
    cancel() {
      stream.abort();
    },
  });

  async function step(controller) {
    let next;
    try {
      next = await iterator.next();
    } catch (e) {
      controller.enqueue({ type: "error", error: callError(e, "chat", req) });
      controller.close();
      return;
    }
    if (signal?.aborted) {
      controller.error(
        signal.reason ?? new DOMException("This operation was aborted", "AbortError"),
      );
      return;
    }
    if (next.done) return end(controller);
    const chunk = next.value;
    if (raw) controller.enqueue({ type: "raw", rawValue: chunk });
    if (!started) {
      started = true;
      controller.enqueue({ type: "response-metadata", ...responseOf(chunk) });
    }
    if (isObject(chunk.usage)) usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) return;
    if (choice.finish_reason) finish = choice.finish_reason;
    const delta = choice.delta ?? {};
    if (typeof delta.reasoning_content === "string" && delta.reasoning_content) {
      if (!reasoning) controller.enqueue({ type: "reasoning-start", id: "reasoning-0" });
      reasoning = true;
      controller.enqueue({
        type: "reasoning-delta",
        id: "reasoning-0",
        delta: delta.reasoning_content,
      });
    }
    if (typeof delta.content === "string" && delta.content) {
      if (!text) controller.enqueue({ type: "text-start", id: "text-0" });
      text = true;
      controller.enqueue({ type: "text-delta", id: "text-0", delta: delta.content });
    }
    for (const call of delta.tool_calls ?? []) {
      const index = call.index ?? 0;
      let t = tools.get(index);
      if (t === undefined) {
        t = { id: call.id ?? `call-${index}`, name: call.function?.name ?? "", args: "" };
        tools.set(index, t);
        controller.enqueue({ type: "tool-input-start", id: t.id, toolName: t.name });
      }
      const args = call.function?.arguments;
      if (typeof args === "string" && args) {
        t.args += args;
        controller.enqueue({ type: "tool-input-delta", id: t.id, delta: args });
      }
    }
  }
}

class LlmuxEmbeddingModel {
  specificationVersion = "v3";
  supportsParallelCalls = true;
  #router;

  constructor(router, modelId, provider, maxEmbeddingsPerCall) {
    this.#router = router;
    this.modelId = modelId;
    this.provider = provider;
    this.maxEmbeddingsPerCall = maxEmbeddingsPerCall;
  }

  async doEmbed(options) {
    const warnings = [];
    headerWarnings(options.headers, warnings);
    const req = {
      model: this.modelId,
      input: options.values,
      ...llmuxOptions(options.providerOptions),
    };
    let res;
    try {
      res = await this.#router.embedding(req, { signal: options.abortSignal });
    } catch (e) {
      throw callError(e, "embedding", req);
    }
    const data = [...(res.data ?? [])].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    const tokens = num(res.usage?.prompt_tokens);
    return {
      embeddings: data.map((d) => d.embedding),
      ...(tokens === undefined ? {} : { usage: { tokens } }),
      providerMetadata: metadataOf(res._hidden_params),
      response: { body: res },
      warnings,
    };
  }
}

/**
 * A Vercel AI SDK provider over `router`: `llmux("chat")` is the model group "chat" as a
 * language model, `llmux.textEmbeddingModel("embed")` as an embedding model.
 * @param {object} router a llmux Router
 * @param {{ name?: string, maxEmbeddingsPerCall?: number }} [settings]
 */
export function createLlmux(router, settings = {}) {
  if (router === null || typeof router !== "object" || typeof router.completion !== "function")
    throw new TypeError("createLlmux: the first argument must be a llmux Router");
  if (settings === null || typeof settings !== "object")
    throw new TypeError("createLlmux: settings must be an object");
  const name = settings.name ?? "llmux";
  if (typeof name !== "string" || name === "")
    throw new TypeError("createLlmux: settings.name must be a non-empty string");
  const maxPerCall = settings.maxEmbeddingsPerCall ?? MAX_EMBEDDINGS_PER_CALL;
  if (!(maxPerCall === Infinity || (Number.isInteger(maxPerCall) && maxPerCall > 0)))
    throw new TypeError(
      "createLlmux: settings.maxEmbeddingsPerCall must be a positive integer or Infinity",
    );
  const model = (id) => {
    if (typeof id !== "string" || id === "")
      throw new TypeError("llmux: the model id must be a model group name");
    return id;
  };
  const languageModel = (id) => new LlmuxLanguageModel(router, model(id), `${name}.chat`);
  const embeddingModel = (id) =>
    new LlmuxEmbeddingModel(router, model(id), `${name}.embedding`, maxPerCall);
  const provider = (id) => languageModel(id);
  provider.specificationVersion = "v3";
  provider.languageModel = languageModel;
  provider.chat = languageModel;
  provider.embeddingModel = embeddingModel;
  provider.textEmbeddingModel = embeddingModel;
  provider.imageModel = (id) => {
    throw new NoSuchModelError({
      modelId: String(id),
      modelType: "imageModel",
      message:
        "llmux/ai-sdk serves language and embedding models; call router.imageGeneration() for images",
    });
  };
  return provider;
}
