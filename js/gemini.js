// Gemini-format requests in (LiteLLM's `agenerate_content` / `agenerate_content_stream`): a
// `generateContent` body is translated to a chat completion, routed like any other call (every
// deployment of the group serves it, whatever its provider), and the answer, or each stream
// chunk, is translated back to Gemini's `GenerateContentResponse`. The translation is shape
// work only: routing, retries, cooldowns, fallbacks, caching and cost stay in the core.

import { eventBytes, isObject, toolArguments, withHidden } from "./adapter-common.js";
import { BadRequestError } from "./errors.js";

/** OpenAI finish reasons as Gemini's `finishReason` (LiteLLM's mapping). */
const FINISH = {
  stop: "STOP",
  length: "MAX_TOKENS",
  content_filter: "SAFETY",
  tool_calls: "STOP",
  function_call: "STOP",
};

/** `toolConfig.functionCallingConfig.mode` as OpenAI's `tool_choice`. */
const TOOL_MODES = { AUTO: "auto", ANY: "required", NONE: "none", VALIDATED: "auto" };

/** Request fields the adapter reads; any other top-level field is passed to `completion` as is. */
const GEMINI_FIELDS = new Set([
  "contents",
  "config",
  "generationConfig",
  "generation_config",
  "systemInstruction",
  "system_instruction",
  "tools",
  "toolConfig",
  "tool_config",
  "safetySettings",
  "safety_settings",
  "cachedContent",
  "cached_content",
]);

/**
 * Gemini-only generation settings that change what kind of answer comes back: refused. The
 * sampling and safety settings chat has no field for (`topK`, `safetySettings`,
 * `thinkingConfig`) are dropped, as the core drops a provider's unsupported parameters.
 */
const UNTRANSLATABLE = [
  "responseModalities",
  "speechConfig",
  "mediaResolution",
  "cachedContent",
  "routingConfig",
  "imageConfig",
];

const bad = (field, message) => {
  const e = new BadRequestError(`${field}: ${message}`, { status: 400 });
  e.param = field;
  return e;
};

/** `obj[camel] ?? obj[snake]`. */
const field = (obj, camel, snake) => obj?.[camel] ?? (snake ? obj?.[snake] : undefined);

/**
 * A Gemini (OpenAPI-subset) schema as JSON Schema: upper-case `type` names lower-cased
 * (`"OBJECT"` → `"object"`), `nullable: true` as a `"null"` type, and Gemini's
 * `propertyOrdering` dropped, at every depth (at most 64).
 */
function jsonSchema(schema, depth = 0) {
  if (depth > 64) throw bad("schema", "nests deeper than 64 levels");
  if (Array.isArray(schema)) return schema.map((s) => jsonSchema(s, depth + 1));
  if (!isObject(schema)) return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === "propertyOrdering" || k === "property_ordering") continue;
    if (k === "type" && typeof v === "string") out.type = v.toLowerCase();
    else if (k === "type" && Array.isArray(v)) out.type = v.map((t) => String(t).toLowerCase());
    else if (k === "properties" && isObject(v))
      out.properties = Object.fromEntries(
        Object.entries(v).map(([name, s]) => [name, jsonSchema(s, depth + 1)]),
      );
    else if (k !== "nullable")
      out[k] = isObject(v) || Array.isArray(v) ? jsonSchema(v, depth + 1) : v;
  }
  // OpenAPI's `nullable: true` is JSON Schema's `"null"` among the types.
  if (schema.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  return out;
}

/** A `data:` URL or a file reference as a chat content part (LiteLLM's media mapping). */
function mediaPart(part, path) {
  const inline = field(part, "inlineData", "inline_data");
  if (inline !== undefined) {
    if (!isObject(inline) || typeof inline.data !== "string")
      throw bad(`${path}.inlineData`, "must be { mimeType, data } with base64 `data`");
    const mime = field(inline, "mimeType", "mime_type") ?? "image/jpeg";
    const url = `data:${mime};base64,${inline.data}`;
    return mime.toLowerCase().startsWith("image/")
      ? { type: "image_url", image_url: { url } }
      : { type: "file", file: { file_data: url } };
  }
  const file = field(part, "fileData", "file_data");
  if (file !== undefined) {
    const uri = field(file, "fileUri", "file_uri");
    if (typeof uri !== "string" || uri === "")
      throw bad(`${path}.fileData`, "must be { mimeType, fileUri }");
    const mime = field(file, "mimeType", "mime_type");
    return typeof mime === "string" && mime.toLowerCase().startsWith("image/")
      ? { type: "image_url", image_url: { url: uri } }
      : { type: "file", file: { file_id: uri } };
  }
  return null;
}

/**
 * Tool-call ids across the conversation: Gemini's own `id` when a part has one, else one
 * per call; a `functionResponse` without an id answers the oldest unanswered call of its name.
 */
class CallIds {
  #pending = new Map();
  #next = 0;
  call(part) {
    const id = typeof part.id === "string" && part.id !== "" ? part.id : `call_${this.#next++}`;
    const queue = this.#pending.get(part.name) ?? [];
    queue.push(id);
    this.#pending.set(part.name, queue);
    return id;
  }
  response(part) {
    const queue = this.#pending.get(part.name) ?? [];
    if (typeof part.id === "string" && part.id !== "") {
      const at = queue.indexOf(part.id);
      if (at >= 0) queue.splice(at, 1);
      return part.id;
    }
    return queue.shift() ?? `call_${this.#next++}`;
  }
}

const textOf = (parts) =>
  parts
    .filter((p) => isObject(p) && typeof p.text === "string" && p.thought !== true)
    .map((p) => p.text)
    .join("\n");

/** One Gemini `Content` as chat messages. */
function messagesOf(content, path, ids) {
  if (typeof content === "string") return [{ role: "user", content }];
  if (!isObject(content)) throw bad(path, "must be a Content object { role, parts }");
  const role = content.role ?? "user";
  let parts = content.parts;
  if (isObject(parts)) parts = [parts];
  if (!Array.isArray(parts)) throw bad(`${path}.parts`, "must be an array of parts");
  const content_parts = [];
  const toolCalls = [];
  const toolResults = [];
  parts.forEach((part, j) => {
    const at = `${path}.parts[${j}]`;
    if (typeof part === "string") return content_parts.push({ type: "text", text: part });
    if (!isObject(part)) throw bad(at, "must be a Part object");
    if (part.thought === true) return; // a model's own thoughts are not replayed as prompt text
    if (typeof part.text === "string") return content_parts.push({ type: "text", text: part.text });
    const call = field(part, "functionCall", "function_call");
    if (call !== undefined) {
      if (!isObject(call) || typeof call.name !== "string")
        throw bad(`${at}.functionCall`, "must be { name, args }");
      return toolCalls.push({
        id: ids.call(call),
        type: "function",
        function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) },
      });
    }
    const response = field(part, "functionResponse", "function_response");
    if (response !== undefined) {
      if (!isObject(response) || typeof response.name !== "string")
        throw bad(`${at}.functionResponse`, "must be { name, response }");
      return toolResults.push({
        role: "tool",
        tool_call_id: ids.response(response),
        content: JSON.stringify(response.response ?? {}),
      });
    }
    const media = mediaPart(part, at);
    if (media !== null) return content_parts.push(media);
    throw bad(
      at,
      `has no part llmux translates (text, inlineData, fileData, functionCall, functionResponse); got ${Object.keys(part).join(", ") || "nothing"}`,
    );
  });
  const onlyText = content_parts.every((p) => p.type === "text");
  if (role === "model") {
    const message = {
      role: "assistant",
      content: onlyText
        ? content_parts.map((p) => p.text).join("") || null
        : content_parts.length > 0
          ? content_parts
          : null,
    };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    return message.content === null && toolCalls.length === 0 ? [] : [message];
  }
  if (role !== "user" && role !== "function")
    throw bad(`${path}.role`, `must be "user" or "model" (got ${JSON.stringify(role)})`);
  if (toolCalls.length > 0) throw bad(path, "a user turn cannot hold a functionCall");
  // Tool results answer the model turn before; they come first so they follow its calls.
  const out = [...toolResults];
  if (content_parts.length > 0)
    out.push({
      role: "user",
      content: onlyText && content_parts.length === 1 ? content_parts[0].text : content_parts,
    });
  return out;
}

function toolsOf(tools, path) {
  if (!Array.isArray(tools)) throw bad(path, "must be an array of Tool objects");
  const out = [];
  tools.forEach((tool, i) => {
    if (!isObject(tool)) throw bad(`${path}[${i}]`, "must be a Tool object");
    for (const [kind, value] of Object.entries(tool)) {
      if (kind !== "functionDeclarations" && kind !== "function_declarations")
        throw bad(
          `${path}[${i}].${kind}`,
          "only functionDeclarations translate to every provider (Google's built-in tools need a Gemini deployment called in Gemini's own format)",
        );
      if (!Array.isArray(value)) throw bad(`${path}[${i}].${kind}`, "must be an array");
      value.forEach((decl, j) => {
        if (!isObject(decl) || typeof decl.name !== "string")
          throw bad(`${path}[${i}].${kind}[${j}]`, "must be { name, description?, parameters? }");
        const fn = { name: decl.name };
        if (typeof decl.description === "string") fn.description = decl.description;
        const params =
          field(decl, "parametersJsonSchema", "parameters_json_schema") ?? decl.parameters;
        if (params !== undefined) fn.parameters = jsonSchema(params);
        out.push({ type: "function", function: fn });
      });
    }
  });
  return out;
}

function toolChoiceOf(toolConfig, path) {
  const config = field(toolConfig, "functionCallingConfig", "function_calling_config");
  if (config === undefined) return undefined;
  const mode = String(config.mode ?? "AUTO").toUpperCase();
  const choice = TOOL_MODES[mode];
  if (choice === undefined)
    throw bad(`${path}.functionCallingConfig.mode`, "must be AUTO, ANY, NONE or VALIDATED");
  const allowed = field(config, "allowedFunctionNames", "allowed_function_names");
  if (mode === "ANY" && Array.isArray(allowed) && allowed.length === 1)
    return { type: "function", function: { name: String(allowed[0]) } };
  return choice;
}

/**
 * The chat completion request for a Gemini `generateContent` request `{ model, contents, … }`.
 * `config` (the SDKs' flattened form) and `generationConfig` (REST) are both read; fields this
 * function does not know are passed through (router options such as `num_retries`, `metadata`).
 */
export function chatRequestOf(request) {
  if (!isObject(request))
    throw new BadRequestError("the request must be an object", { status: 400 });
  const { model } = request;
  if (typeof model !== "string" || model === "") throw bad("model", "is required");
  const config = {
    ...(isObject(request.generationConfig) ? request.generationConfig : {}),
    ...(isObject(request.generation_config) ? request.generation_config : {}),
    ...(isObject(request.config) ? request.config : {}),
  };
  const chat = {};
  for (const [k, v] of Object.entries(request)) if (!GEMINI_FIELDS.has(k)) chat[k] = v;
  const messages = [];
  const system =
    field(request, "systemInstruction", "system_instruction") ??
    field(config, "systemInstruction", "system_instruction");
  if (system !== undefined) {
    const text =
      typeof system === "string"
        ? system
        : textOf(
            Array.isArray(system?.parts)
              ? system.parts
              : isObject(system?.parts)
                ? [system.parts]
                : [],
          );
    if (text !== "") messages.push({ role: "system", content: text });
  }
  let contents = request.contents;
  if (typeof contents === "string" || isObject(contents)) contents = [contents];
  if (!Array.isArray(contents) || contents.length === 0)
    throw bad("contents", "must be a non-empty array of Content objects");
  const ids = new CallIds();
  contents.forEach((c, i) => messages.push(...messagesOf(c, `contents[${i}]`, ids)));
  chat.messages = messages;

  const set = (to, value) => {
    if (value !== undefined && value !== null) chat[to] = value;
  };
  set("temperature", config.temperature);
  set("top_p", field(config, "topP", "top_p"));
  set("max_tokens", field(config, "maxOutputTokens", "max_output_tokens"));
  set("n", field(config, "candidateCount", "candidate_count"));
  set("presence_penalty", field(config, "presencePenalty", "presence_penalty"));
  set("frequency_penalty", field(config, "frequencyPenalty", "frequency_penalty"));
  set("seed", config.seed);
  const stop = field(config, "stopSequences", "stop_sequences");
  if (stop !== undefined) set("stop", stop);
  if (field(config, "responseLogprobs", "response_logprobs") === true) chat.logprobs = true;
  set("top_logprobs", config.logprobs);
  const mime = field(config, "responseMimeType", "response_mime_type");
  const schema =
    field(config, "responseJsonSchema", "response_json_schema") ??
    field(config, "responseSchema", "response_schema");
  if (schema !== undefined) {
    chat.response_format = {
      type: "json_schema",
      json_schema: { name: "response", schema: jsonSchema(schema) },
    };
  } else if (mime === "application/json") {
    chat.response_format = { type: "json_object" };
  } else if (mime !== undefined && mime !== "text/plain") {
    throw bad("generationConfig.responseMimeType", `${mime} has no chat equivalent`);
  }
  for (const name of UNTRANSLATABLE)
    if (config[name] !== undefined)
      throw bad(`generationConfig.${name}`, "has no chat equivalent in llmux's translation");
  const tools = request.tools ?? config.tools;
  if (tools !== undefined) {
    const translated = toolsOf(tools, "tools");
    if (translated.length > 0) chat.tools = translated;
  }
  const toolConfig =
    field(request, "toolConfig", "tool_config") ?? field(config, "toolConfig", "tool_config");
  if (toolConfig !== undefined) set("tool_choice", toolChoiceOf(toolConfig, "toolConfig"));
  return chat;
}

function usageOf(usage) {
  if (!isObject(usage)) return undefined;
  const out = {
    promptTokenCount: usage.prompt_tokens ?? 0,
    candidatesTokenCount: usage.completion_tokens ?? 0,
    totalTokenCount:
      usage.total_tokens ?? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0),
  };
  const cached = usage.prompt_tokens_details?.cached_tokens;
  if (typeof cached === "number" && cached > 0) out.cachedContentTokenCount = cached;
  const thoughts = usage.completion_tokens_details?.reasoning_tokens;
  if (typeof thoughts === "number" && thoughts > 0) out.thoughtsTokenCount = thoughts;
  return out;
}

/** A `chat.completion` as Gemini's `GenerateContentResponse`. */
export function generateContentResponseOf(response) {
  const candidates = (response?.choices ?? []).map((choice) => {
    const message = choice.message ?? {};
    const parts = [];
    if (typeof message.reasoning_content === "string" && message.reasoning_content !== "")
      parts.push({ text: message.reasoning_content, thought: true });
    if (typeof message.content === "string" && message.content !== "")
      parts.push({ text: message.content });
    for (const call of message.tool_calls ?? []) {
      const name = call.function?.name ?? "";
      parts.push({
        functionCall: { id: call.id, name, args: toolArguments(call.function?.arguments, name) },
      });
    }
    return {
      content: { role: "model", parts },
      finishReason: FINISH[choice.finish_reason] ?? "STOP",
      index: choice.index ?? 0,
    };
  });
  const out = { candidates };
  const usage = usageOf(response?.usage);
  if (usage) out.usageMetadata = usage;
  if (response?.model) out.modelVersion = response.model;
  if (response?.id) out.responseId = response.id;
  return withHidden(out, response?._hidden_params);
}

/**
 * A chat stream as Gemini stream chunks: text and thought deltas as they come, each tool call
 * once whole (its arguments complete), the finish reason on the last chunk of a candidate, and
 * `usageMetadata` on the final chunk. One consumer, like the chat stream it wraps.
 */
export class GenerateContentStream {
  #chat;
  constructor(chat) {
    this.#chat = chat;
    withHidden(this, chat._hidden_params);
  }

  async *[Symbol.asyncIterator]() {
    const calls = new Map(); // candidate index -> Map(tool index -> { id, name, args })
    const finished = [];
    let model;
    let id;
    let usage;
    const chunkOf = (candidates) => {
      const out = { candidates };
      if (model) out.modelVersion = model;
      if (id) out.responseId = id;
      return out;
    };
    // A consumer that breaks out of its loop ends this `for await`, which cancels the chat stream.
    for await (const chunk of this.#chat) {
      model ??= chunk.model;
      id ??= chunk.id;
      if (isObject(chunk.usage)) usage = chunk.usage;
      const candidates = [];
      for (const choice of chunk.choices ?? []) {
        const index = choice.index ?? 0;
        const delta = choice.delta ?? {};
        const parts = [];
        if (typeof delta.reasoning_content === "string" && delta.reasoning_content !== "")
          parts.push({ text: delta.reasoning_content, thought: true });
        if (typeof delta.content === "string" && delta.content !== "")
          parts.push({ text: delta.content });
        for (const tc of delta.tool_calls ?? []) {
          const open = calls.get(index) ?? new Map();
          calls.set(index, open);
          const slot = open.get(tc.index ?? 0) ?? { id: undefined, name: "", args: "" };
          if (tc.id) slot.id = tc.id;
          if (tc.function?.name) slot.name += tc.function.name;
          if (tc.function?.arguments) slot.args += tc.function.arguments;
          open.set(tc.index ?? 0, slot);
        }
        const candidate = { content: { role: "model", parts }, index };
        if (choice.finish_reason) {
          for (const slot of (calls.get(index) ?? new Map()).values())
            parts.push({
              functionCall: {
                id: slot.id,
                name: slot.name,
                args: toolArguments(slot.args, slot.name),
              },
            });
          calls.delete(index);
          candidate.finishReason = FINISH[choice.finish_reason] ?? "STOP";
          // Held back until the usage (which follows the finish) is known.
          finished.push(candidate);
          continue;
        }
        if (parts.length > 0) candidates.push(candidate);
      }
      if (candidates.length > 0) yield chunkOf(candidates);
    }
    if (finished.length > 0 || usage) {
      const last = chunkOf(finished);
      const metadata = usageOf(usage);
      if (metadata) last.usageMetadata = metadata;
      yield last;
    }
  }

  /** Stops the upstream stream. */
  abort() {
    this.#chat.abort?.();
  }

  /**
   * The chunks as bytes for a `Response` body: `sse: true` (the REST API's `alt=sse`) sends
   * `data: <chunk>` events; otherwise one JSON array, streamed element by element as Google's
   * REST API does without `alt=sse`.
   */
  toReadableStream({ sse = true } = {}) {
    return sse
      ? eventBytes(this, (chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`)
      : eventBytes(
          this,
          (chunk, first) => `${first ? "[" : ",\n"}${JSON.stringify(chunk)}`,
          (first) => (first ? "[]" : "\n]"),
        );
  }
}

/**
 * LiteLLM's `agenerate_content` over `router`: a Gemini `generateContent` request `{ model,
 * contents, config?, generationConfig?, systemInstruction?, tools?, toolConfig? }` routed to any
 * deployment of `model`; resolves to a `GenerateContentResponse`.
 */
export async function generateContent(router, request, options) {
  const chat = chatRequestOf(request);
  delete chat.stream;
  return generateContentResponseOf(await router.completion(chat, options));
}

/**
 * LiteLLM's `agenerate_content_stream`: the same request, streamed; resolves (once the upstream
 * stream has opened) to an async iterable of `GenerateContentResponse` chunks.
 */
export async function generateContentStream(router, request, options) {
  const chat = chatRequestOf(request);
  chat.stream = true;
  chat.stream_options = { ...(chat.stream_options ?? {}), include_usage: true };
  return new GenerateContentStream(await router.completion(chat, options));
}
