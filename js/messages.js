// Anthropic Messages requests in (#18, LiteLLM's `anthropic_messages`): a `/v1/messages` body is
// translated to a chat completion and routed like any other call, so Claude Code, the Anthropic
// SDK and agent tools reach every deployment of the group, whatever its provider; the answer, or
// the stream as Anthropic's event sequence, is translated back. Shape work only: routing,
// retries, cooldowns, fallbacks, caching and cost stay in the core.

import { eventBytes, isObject, toolArguments, typedEvent, withHidden } from "./adapter-common.js";
import { BadRequestError } from "./errors.js";

/** Providers whose chat translation speaks Anthropic's Messages format natively. */
const ANTHROPIC_FORMAT = new Set(["anthropic", "bedrock", "vertex_ai"]);

/** OpenAI finish reasons as Anthropic's `stop_reason`. */
const STOP_REASONS = {
  stop: "end_turn",
  length: "max_tokens",
  tool_calls: "tool_use",
  function_call: "tool_use",
  content_filter: "refusal",
};

/** Messages fields the adapter reads; others pass through to `completion` (router fields). */
const MESSAGES_FIELDS = new Set([
  "model",
  "messages",
  "system",
  "max_tokens",
  "metadata",
  "stop_sequences",
  "stream",
  "temperature",
  "top_p",
  "top_k",
  "tools",
  "tool_choice",
  "thinking",
  "service_tier",
]);

/** Server-side features of Anthropic's API that no chat request carries. */
const REFUSED = ["mcp_servers", "container", "context_management"];

const bad = (field, message) => {
  const e = new BadRequestError(`${field}: ${message}`, { status: 400 });
  e.param = field;
  return e;
};

/** An image or document source as a chat content part. */
function sourcePart(block, path) {
  const src = block.source;
  if (!isObject(src)) throw bad(`${path}.source`, "must be an object");
  if (block.type === "image") {
    if (src.type === "base64")
      return { type: "image_url", image_url: { url: `data:${src.media_type};base64,${src.data}` } };
    if (src.type === "url") return { type: "image_url", image_url: { url: String(src.url) } };
  } else {
    if (src.type === "base64")
      return { type: "file", file: { file_data: `data:${src.media_type};base64,${src.data}` } };
    if (src.type === "text") return { type: "text", text: String(src.data ?? "") };
    if (src.type === "url") return { type: "file", file: { file_id: String(src.url) } };
  }
  throw bad(`${path}.source.type`, `${JSON.stringify(src.type)} is not translated`);
}

/**
 * A tool_result's content as a tool message's: a string stays a string, text blocks stay text
 * parts; an `is_error` result is prefixed `Error: ` (chat has no error flag).
 */
function toolResultContent(block, path) {
  const { content } = block;
  let parts;
  if (content === undefined || content === null) parts = "";
  else if (typeof content === "string") parts = content;
  else if (Array.isArray(content))
    parts = content.map((c, i) => {
      if (isObject(c) && c.type === "text") return { type: "text", text: String(c.text ?? "") };
      throw bad(`${path}.content[${i}]`, "only text blocks translate into a tool result");
    });
  else throw bad(`${path}.content`, "must be a string or an array of blocks");
  if (block.is_error !== true) return parts;
  const text = typeof parts === "string" ? parts : parts.map((p) => p.text).join("\n");
  return `Error: ${text}`;
}

/** One Messages message as chat messages (`native`: keep `cache_control` on text parts). */
function messagesOf(message, path, native) {
  if (!isObject(message)) throw bad(path, "must be a message object { role, content }");
  const { role } = message;
  if (role !== "user" && role !== "assistant")
    throw bad(`${path}.role`, `must be "user" or "assistant" (got ${JSON.stringify(role)})`);
  let { content } = message;
  if (typeof content === "string") return [{ role, content }];
  if (!Array.isArray(content)) throw bad(`${path}.content`, "must be a string or an array");
  const parts = [];
  const toolCalls = [];
  const toolResults = [];
  const thinking = [];
  content.forEach((block, i) => {
    const at = `${path}.content[${i}]`;
    if (!isObject(block)) throw bad(at, "must be a content block");
    switch (block.type) {
      case "text": {
        const part = { type: "text", text: String(block.text ?? "") };
        if (native && isObject(block.cache_control)) part.cache_control = block.cache_control;
        return parts.push(part);
      }
      case "image":
      case "document":
        return parts.push(sourcePart(block, at));
      case "tool_use":
        if (role !== "assistant") throw bad(at, "tool_use belongs to an assistant turn");
        return toolCalls.push({
          id: String(block.id),
          type: "function",
          function: { name: String(block.name), arguments: JSON.stringify(block.input ?? {}) },
        });
      case "tool_result":
        if (role !== "user") throw bad(at, "tool_result belongs to a user turn");
        return toolResults.push({
          role: "tool",
          tool_call_id: String(block.tool_use_id),
          content: toolResultContent(block, at),
        });
      case "thinking":
      case "redacted_thinking":
        if (role !== "assistant") throw bad(at, `${block.type} belongs to an assistant turn`);
        return thinking.push(block);
      default:
        throw bad(at, `block type ${JSON.stringify(block.type)} is not translated`);
    }
  });
  const onlyText = parts.every((p) => p.type === "text" && p.cache_control === undefined);
  if (role === "assistant") {
    const msg = {
      role,
      content: onlyText ? parts.map((p) => p.text).join("") || null : parts,
    };
    if (toolCalls.length > 0) msg.tool_calls = toolCalls;
    // LiteLLM's convention: Anthropic-format providers replay them (with their signatures).
    if (thinking.length > 0) msg.thinking_blocks = thinking;
    return [msg];
  }
  const out = [...toolResults];
  if (parts.length > 0)
    out.push({ role, content: onlyText && parts.length === 1 ? parts[0].text : parts });
  return out;
}

function toolsOf(tools) {
  if (!Array.isArray(tools)) throw bad("tools", "must be an array");
  return tools.map((tool, i) => {
    if (!isObject(tool) || typeof tool.name !== "string")
      throw bad(`tools[${i}]`, "must be { name, description?, input_schema }");
    if (tool.type !== undefined && tool.type !== "custom")
      throw bad(
        `tools[${i}].type`,
        `${JSON.stringify(tool.type)} is one of Anthropic's server tools, which only Anthropic runs: not translated`,
      );
    const fn = { name: tool.name };
    if (typeof tool.description === "string") fn.description = tool.description;
    fn.parameters = tool.input_schema ?? { type: "object", properties: {} };
    return { type: "function", function: fn };
  });
}

function toolChoiceOf(choice, chat) {
  if (!isObject(choice)) throw bad("tool_choice", "must be an object { type }");
  if (choice.disable_parallel_tool_use === true) chat.parallel_tool_calls = false;
  switch (choice.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { type: "function", function: { name: String(choice.name) } };
    default:
      throw bad("tool_choice.type", "must be auto, any, tool or none");
  }
}

/**
 * The chat completion request for a Messages request. `native` says whether every deployment
 * of the group speaks Anthropic's format: only then do `thinking` and prompt-cache breakpoints
 * (`cache_control`) go along; any other provider would refuse them.
 */
export function chatRequestOf(request, { native = false } = {}) {
  if (!isObject(request))
    throw new BadRequestError("the request must be an object", { status: 400 });
  const { model } = request;
  if (typeof model !== "string" || model === "") throw bad("model", "is required");
  if (!Number.isInteger(request.max_tokens) || request.max_tokens < 1)
    throw bad("max_tokens", "is required: a positive integer");
  for (const name of REFUSED)
    if (request[name] !== undefined)
      throw bad(name, "is a server-side feature of Anthropic's API: not translated");
  if (!Array.isArray(request.messages) || request.messages.length === 0)
    throw bad("messages", "must be a non-empty array");
  const chat = { model };
  for (const [k, v] of Object.entries(request)) if (!MESSAGES_FIELDS.has(k)) chat[k] = v;
  const messages = [];
  const { system } = request;
  if (typeof system === "string" && system !== "")
    messages.push({ role: "system", content: system });
  else if (Array.isArray(system)) {
    const blocks = system.map((b, i) => {
      if (!isObject(b) || b.type !== "text") throw bad(`system[${i}]`, "must be a text block");
      const part = { type: "text", text: String(b.text ?? "") };
      if (native && isObject(b.cache_control)) part.cache_control = b.cache_control;
      return part;
    });
    if (blocks.length > 0)
      messages.push({
        role: "system",
        content: native ? blocks : blocks.map((b) => b.text).join("\n"),
      });
  } else if (system !== undefined && system !== null && system !== "")
    throw bad("system", "must be a string or an array of text blocks");
  request.messages.forEach((m, i) => messages.push(...messagesOf(m, `messages[${i}]`, native)));
  chat.messages = messages;
  chat.max_tokens = request.max_tokens;
  for (const [from, to] of [
    ["temperature", "temperature"],
    ["top_p", "top_p"],
  ])
    if (request[from] !== undefined && request[from] !== null) chat[to] = request[from];
  if (request.stop_sequences !== undefined) chat.stop = request.stop_sequences;
  if (isObject(request.metadata) && typeof request.metadata.user_id === "string")
    chat.user = request.metadata.user_id;
  if (request.tools !== undefined) {
    const tools = toolsOf(request.tools);
    if (tools.length > 0) chat.tools = tools;
  }
  if (request.tool_choice !== undefined) chat.tool_choice = toolChoiceOf(request.tool_choice, chat);
  if (native) {
    if (request.thinking !== undefined) chat.thinking = request.thinking;
    if (request.top_k !== undefined) chat.top_k = request.top_k;
  }
  if (request.stream === true) chat.stream = true;
  return chat;
}

/** Chat usage as Anthropic's (its `input_tokens` exclude cache reads and writes). */
function usageOf(usage) {
  const cacheRead = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  const cacheWrite =
    usage?.cache_creation_input_tokens ?? usage?.prompt_tokens_details?.cache_creation_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cacheRead - cacheWrite),
    output_tokens: usage?.completion_tokens ?? 0,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
  };
}

const messageId = (id) =>
  typeof id === "string" && id.startsWith("msg_") ? id : `msg_${String(id ?? Date.now())}`;

/** A `chat.completion` as an Anthropic `message`. */
export function messageOf(response, requestedModel) {
  const choice = response?.choices?.[0];
  const msg = choice?.message ?? {};
  const content = [];
  for (const block of msg.thinking_blocks ?? []) content.push(block);
  if (content.length === 0 && typeof msg.reasoning_content === "string" && msg.reasoning_content)
    content.push({ type: "thinking", thinking: msg.reasoning_content, signature: "" });
  if (typeof msg.content === "string" && msg.content !== "")
    content.push({ type: "text", text: msg.content });
  for (const call of msg.tool_calls ?? [])
    content.push({
      type: "tool_use",
      id: call.id,
      name: call.function?.name ?? "",
      input: toolArguments(call.function?.arguments, call.function?.name),
    });
  return withHidden(
    {
      id: messageId(response?.id),
      type: "message",
      role: "assistant",
      model: response?.model ?? requestedModel,
      content,
      stop_reason: STOP_REASONS[choice?.finish_reason] ?? "end_turn",
      stop_sequence: null,
      usage: usageOf(response?.usage),
    },
    response?._hidden_params,
  );
}

/**
 * A chat stream as Anthropic's event sequence: `message_start`, then for each content block
 * `content_block_start` / `content_block_delta`… / `content_block_stop` (thinking, text and
 * tool_use blocks, in the order they begin), `message_delta` with the stop reason and usage,
 * `message_stop`. One consumer, like the chat stream it wraps.
 */
export class MessagesStream {
  #chat;
  #model;
  #signal;
  #stopped = false;
  /** `signal`: the call's; once it fires (or `abort()` is called) no terminal event is made. */
  constructor(chat, model, signal) {
    this.#chat = chat;
    this.#model = model;
    this.#signal = signal;
    withHidden(this, chat._hidden_params);
  }

  async *[Symbol.asyncIterator]() {
    let started = false;
    let block = null; // { index, kind: "thinking" | "text" | "tool", tool? }
    let next = 0;
    const tools = new Map(); // chat tool index -> content index
    let stop = null;
    let usage;
    const open = (kind, content_block) => {
      block = { index: next++, kind };
      return { type: "content_block_start", index: block.index, content_block };
    };
    const close = () => {
      const out = { type: "content_block_stop", index: block.index };
      block = null;
      return out;
    };
    for await (const chunk of this.#chat) {
      if (!started) {
        started = true;
        yield {
          type: "message_start",
          message: {
            id: messageId(chunk.id),
            type: "message",
            role: "assistant",
            model: chunk.model ?? this.#model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: 0, output_tokens: 0 },
          },
        };
      }
      if (isObject(chunk.usage)) usage = chunk.usage;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.reasoning_content === "string" && delta.reasoning_content !== "") {
        if (block?.kind !== "thinking") {
          if (block) yield close();
          yield open("thinking", { type: "thinking", thinking: "", signature: "" });
        }
        yield {
          type: "content_block_delta",
          index: block.index,
          delta: { type: "thinking_delta", thinking: delta.reasoning_content },
        };
      }
      for (const t of delta.thinking_blocks ?? []) {
        // A redacted block arrives whole, as Anthropic streams it: a start with its `data`, a
        // stop. The caller replays it in the next turn, so it is never dropped.
        if (t?.type === "redacted_thinking" && typeof t.data === "string") {
          if (block) yield close();
          yield open("redacted", { type: "redacted_thinking", data: t.data });
          yield close();
        } else if (block?.kind === "thinking" && typeof t?.signature === "string" && t.signature)
          yield {
            type: "content_block_delta",
            index: block.index,
            delta: { type: "signature_delta", signature: t.signature },
          };
      }
      if (typeof delta.content === "string" && delta.content !== "") {
        if (block?.kind !== "text") {
          if (block) yield close();
          yield open("text", { type: "text", text: "" });
        }
        yield {
          type: "content_block_delta",
          index: block.index,
          delta: { type: "text_delta", text: delta.content },
        };
      }
      for (const tc of delta.tool_calls ?? []) {
        const key = tc.index ?? 0;
        if (!tools.has(key) || block?.tool !== key) {
          if (block) yield close();
          const start = open("tool", {
            type: "tool_use",
            id: tc.id ?? `toolu_${key}`,
            name: tc.function?.name ?? "",
            input: {},
          });
          block.tool = key;
          tools.set(key, block.index);
          yield start;
        }
        if (tc.function?.arguments)
          yield {
            type: "content_block_delta",
            index: block.index,
            delta: { type: "input_json_delta", partial_json: tc.function.arguments },
          };
      }
      if (choice.finish_reason) stop = STOP_REASONS[choice.finish_reason] ?? "end_turn";
    }
    // A cancelled stream just ends: no message_delta claims a stop reason it never had.
    if (!started || this.#stopped || this.#signal?.aborted) return;
    if (block) yield close();
    const u = usageOf(usage);
    yield {
      type: "message_delta",
      delta: { stop_reason: stop ?? "end_turn", stop_sequence: null },
      usage: {
        output_tokens: u.output_tokens,
        input_tokens: u.input_tokens,
        cache_creation_input_tokens: u.cache_creation_input_tokens,
        cache_read_input_tokens: u.cache_read_input_tokens,
      },
    };
    yield { type: "message_stop" };
  }

  /** Stops the upstream stream. */
  abort() {
    this.#stopped = true;
    this.#chat.abort?.();
  }

  /** Anthropic's SSE bytes (`event: <type>` + `data: <json>`) for a `Response` body. */
  toReadableStream() {
    return eventBytes(this, typedEvent);
  }
}

/** Whether every deployment serving `model` speaks Anthropic's Messages format. */
function nativeGroup(router, model) {
  const providers = router.getModelGroupInfo?.(model)?.providers ?? [];
  return providers.length > 0 && providers.every((p) => ANTHROPIC_FORMAT.has(p));
}

/**
 * LiteLLM's `anthropic_messages` over `router`: an Anthropic Messages request routed to any
 * deployment of `model`; resolves to a `message`, or with `stream: true` (once the upstream
 * stream has opened) to an async iterable of Messages stream events.
 */
export async function messages(router, request, options) {
  const chat = chatRequestOf(request, { native: nativeGroup(router, request?.model) });
  if (chat.stream) {
    chat.stream_options = { ...(chat.stream_options ?? {}), include_usage: true };
    return new MessagesStream(
      await router.completion(chat, options),
      request.model,
      options?.signal,
    );
  }
  return messageOf(await router.completion(chat, options), request.model);
}

/**
 * The Messages API's `count_tokens`: `{ input_tokens, exact }` of the request as chat, by the
 * `tokenizer` option when it counts, else the built-in estimate (`exact` says which).
 */
export function countMessageTokens(router, request) {
  const chat = chatRequestOf(
    { max_tokens: 1, ...request },
    { native: nativeGroup(router, request?.model) },
  );
  return router.countTokens(chat);
}
