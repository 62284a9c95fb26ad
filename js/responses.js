// OpenAI Responses API requests in (#18, LiteLLM's `aresponses`): a `/v1/responses` body is
// translated to a chat completion and routed like any other call, so the OpenAI SDKs' default
// API reaches every deployment of the group, whatever its provider; the answer, or the stream
// as the Responses event sequence, is translated back. llmux keeps no responses: a request that
// needs a stored one (`previous_response_id`, item references) is refused, never guessed.

import { eventBytes, isObject, toolArguments, typedEvent, withHidden } from "./adapter-common.js";
import { NATIVE_CALL } from "./adapters.js";
import { BadRequestError } from "./errors.js";

/** Responses fields the adapter reads; others pass through to `completion` (router fields). */
const RESPONSES_FIELDS = new Set([
  "model",
  "input",
  "instructions",
  "tools",
  "tool_choice",
  "text",
  "reasoning",
  "max_output_tokens",
  "temperature",
  "top_p",
  "stream",
  "previous_response_id",
  "store",
  "metadata",
  "parallel_tool_calls",
  "user",
  "include",
  "truncation",
  "service_tier",
  "stream_options",
]);

const bad = (field, message) => {
  const e = new BadRequestError(`${field}: ${message}`, { status: 400 });
  e.param = field;
  return e;
};

const randomId = () =>
  (globalThis.crypto?.randomUUID?.() ?? `${Date.now()}${Math.random()}`).replace(/[^a-z0-9]/gi, "");

/** One input content part as a chat content part. */
function partOf(part, path) {
  if (typeof part === "string") return { type: "text", text: part };
  if (!isObject(part)) throw bad(path, "must be a content part");
  switch (part.type) {
    case "input_text":
    case "output_text":
    case "text":
      return { type: "text", text: String(part.text ?? "") };
    case "input_image": {
      if (typeof part.image_url !== "string")
        throw bad(`${path}.image_url`, "is required (file_id images need a stored file)");
      const image_url = { url: part.image_url };
      if (typeof part.detail === "string" && part.detail !== "auto") image_url.detail = part.detail;
      return { type: "image_url", image_url };
    }
    case "input_file": {
      const file = {};
      if (typeof part.file_data === "string") file.file_data = part.file_data;
      if (typeof part.file_id === "string") file.file_id = part.file_id;
      if (typeof part.filename === "string") file.filename = part.filename;
      if (!file.file_data && !file.file_id) throw bad(path, "needs file_data or file_id");
      return { type: "file", file };
    }
    case "refusal":
      return { type: "text", text: String(part.refusal ?? "") };
    default:
      throw bad(`${path}.type`, `${JSON.stringify(part.type)} is not translated`);
  }
}

/** `input` (a string or items) as chat messages; consecutive function calls share a turn. */
function messagesOf(input) {
  if (typeof input === "string") return [{ role: "user", content: input }];
  if (!Array.isArray(input) || input.length === 0)
    throw bad("input", "must be a string or a non-empty array of items");
  const out = [];
  input.forEach((item, i) => {
    const at = `input[${i}]`;
    if (!isObject(item)) throw bad(at, "must be an item object");
    const type = item.type ?? "message";
    if (type === "message") {
      const role = item.role === "developer" ? "system" : item.role;
      if (!["user", "system", "assistant"].includes(role))
        throw bad(`${at}.role`, "must be user, system, developer or assistant");
      let content;
      if (typeof item.content === "string") content = item.content;
      else if (Array.isArray(item.content)) {
        const parts = item.content.map((p, j) => partOf(p, `${at}.content[${j}]`));
        content =
          role !== "user" || parts.every((p) => p.type === "text")
            ? parts.map((p) => p.text ?? "").join("")
            : parts;
      } else throw bad(`${at}.content`, "must be a string or an array of parts");
      out.push({ role, content });
    } else if (type === "function_call") {
      if (typeof item.call_id !== "string" || typeof item.name !== "string")
        throw bad(at, "a function_call needs call_id and name");
      const call = {
        id: item.call_id,
        type: "function",
        function: { name: item.name, arguments: String(item.arguments ?? "{}") },
      };
      const last = out.at(-1);
      if (last?.role === "assistant" && Array.isArray(last.tool_calls)) last.tool_calls.push(call);
      else if (last?.role === "assistant" && last.tool_calls === undefined)
        last.tool_calls = [call];
      else out.push({ role: "assistant", content: null, tool_calls: [call] });
    } else if (type === "function_call_output") {
      if (typeof item.call_id !== "string") throw bad(`${at}.call_id`, "is required");
      const output = item.output;
      out.push({
        role: "tool",
        tool_call_id: item.call_id,
        content:
          typeof output === "string"
            ? output
            : Array.isArray(output)
              ? output.map((p, j) => partOf(p, `${at}.output[${j}]`))
              : JSON.stringify(output ?? ""),
      });
    } else if (type === "reasoning") {
      // A model's earlier reasoning is not replayed to another provider.
    } else if (type === "item_reference") {
      throw bad(at, "item references need a stored response; llmux keeps none (send the items)");
    } else {
      throw bad(`${at}.type`, `${JSON.stringify(type)} is not translated`);
    }
  });
  return out;
}

function toolsOf(tools) {
  if (!Array.isArray(tools)) throw bad("tools", "must be an array");
  return tools.map((tool, i) => {
    if (!isObject(tool) || tool.type !== "function")
      throw bad(
        `tools[${i}].type`,
        `${JSON.stringify(tool?.type)} is one of OpenAI's hosted tools: only function tools translate to every provider`,
      );
    const fn = { name: String(tool.name) };
    if (typeof tool.description === "string") fn.description = tool.description;
    if (tool.parameters !== undefined && tool.parameters !== null) fn.parameters = tool.parameters;
    if (typeof tool.strict === "boolean") fn.strict = tool.strict;
    return { type: "function", function: fn };
  });
}

function toolChoiceOf(choice) {
  if (typeof choice === "string") {
    if (!["auto", "required", "none"].includes(choice))
      throw bad("tool_choice", "must be auto, required, none or { type: function, name }");
    return choice;
  }
  if (isObject(choice) && choice.type === "function" && typeof choice.name === "string")
    return { type: "function", function: { name: choice.name } };
  throw bad("tool_choice", "only auto, required, none or a function translate");
}

function formatOf(format) {
  if (!isObject(format)) throw bad("text.format", "must be an object");
  switch (format.type) {
    case "text":
      return undefined;
    case "json_object":
      return { type: "json_object" };
    case "json_schema": {
      const json_schema = { name: String(format.name ?? "response"), schema: format.schema };
      if (typeof format.description === "string") json_schema.description = format.description;
      if (typeof format.strict === "boolean") json_schema.strict = format.strict;
      return { type: "json_schema", json_schema };
    }
    default:
      throw bad("text.format.type", "must be text, json_object or json_schema");
  }
}

/** The chat completion request for a Responses request. */
export function chatRequestOf(request) {
  if (!isObject(request))
    throw new BadRequestError("the request must be an object", { status: 400 });
  const { model } = request;
  if (typeof model !== "string" || model === "") throw bad("model", "is required");
  if (request.previous_response_id !== undefined && request.previous_response_id !== null)
    throw bad(
      "previous_response_id",
      "llmux keeps no responses to continue from: send the conversation as `input` items",
    );
  const chat = { model };
  for (const [k, v] of Object.entries(request)) if (!RESPONSES_FIELDS.has(k)) chat[k] = v;
  const messages = [];
  if (typeof request.instructions === "string" && request.instructions !== "")
    messages.push({ role: "system", content: request.instructions });
  messages.push(...messagesOf(request.input));
  chat.messages = messages;
  const copy = (from, to = from) => {
    if (request[from] !== undefined && request[from] !== null) chat[to] = request[from];
  };
  copy("temperature");
  copy("top_p");
  copy("max_output_tokens", "max_tokens");
  copy("parallel_tool_calls");
  copy("user");
  copy("metadata");
  copy("service_tier");
  if (request.tools !== undefined) {
    const tools = toolsOf(request.tools);
    if (tools.length > 0) chat.tools = tools;
  }
  if (request.tool_choice !== undefined) chat.tool_choice = toolChoiceOf(request.tool_choice);
  if (request.text?.format !== undefined) {
    const format = formatOf(request.text.format);
    if (format) chat.response_format = format;
  }
  if (isObject(request.reasoning) && typeof request.reasoning.effort === "string")
    chat.reasoning_effort = request.reasoning.effort;
  if (request.stream === true) chat.stream = true;
  return chat;
}

function usageOf(usage) {
  const input = usage?.prompt_tokens ?? 0;
  const output = usage?.completion_tokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage?.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: output,
    output_tokens_details: {
      reasoning_tokens: usage?.completion_tokens_details?.reasoning_tokens ?? 0,
    },
    total_tokens: usage?.total_tokens ?? input + output,
  };
}

/** The request fields a `response` object echoes. */
function echo(request) {
  return {
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    metadata: request.metadata ?? {},
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: request.reasoning ?? null,
    store: false,
    temperature: request.temperature ?? null,
    text: request.text ?? { format: { type: "text" } },
    tool_choice: request.tool_choice ?? "auto",
    tools: request.tools ?? [],
    top_p: request.top_p ?? null,
    user: request.user ?? null,
  };
}

/** The arguments text of a tool call, checked to be a JSON object (`"{}"` when empty). */
function checkArguments(text, name) {
  toolArguments(text, name);
  return text === undefined || text === null || text === "" ? "{}" : text;
}

/** A `response` object around `output` items. */
function responseOf({ id, created, model, status, output, usage, finish, request }) {
  const out = {
    id,
    object: "response",
    created_at: created,
    status,
    error: null,
    incomplete_details: finish === "length" ? { reason: "max_output_tokens" } : null,
    model,
    output,
    ...echo(request),
    usage: usage === null ? null : usageOf(usage),
  };
  const text = output
    .filter((o) => o.type === "message")
    .flatMap((o) => o.content)
    .filter((c) => c.type === "output_text")
    .map((c) => c.text)
    .join("");
  Object.defineProperty(out, "output_text", { value: text, enumerable: false });
  return out;
}

/** A `chat.completion` as a Responses `response`. */
export function responseOfChat(chat, request) {
  const choice = chat?.choices?.[0];
  const msg = choice?.message ?? {};
  const output = [];
  const base = randomId();
  if (typeof msg.reasoning_content === "string" && msg.reasoning_content !== "")
    output.push({
      type: "reasoning",
      id: `rs_${base}`,
      summary: [{ type: "summary_text", text: msg.reasoning_content }],
    });
  if (typeof msg.content === "string" && msg.content !== "")
    output.push({
      type: "message",
      id: `msg_${base}`,
      status: "completed",
      role: "assistant",
      content: [{ type: "output_text", text: msg.content, annotations: [] }],
    });
  (msg.tool_calls ?? []).forEach((call, i) =>
    output.push({
      type: "function_call",
      id: `fc_${base}_${i}`,
      call_id: call.id,
      name: call.function?.name ?? "",
      arguments: checkArguments(call.function?.arguments, call.function?.name),
      status: "completed",
    }),
  );
  return withHidden(
    responseOf({
      id: `resp_${base}`,
      created: chat?.created ?? Math.floor(Date.now() / 1000),
      model: chat?.model ?? request.model,
      status: choice?.finish_reason === "length" ? "incomplete" : "completed",
      output,
      usage: chat?.usage ?? {},
      finish: choice?.finish_reason,
      request,
    }),
    chat?._hidden_params,
  );
}

/**
 * A chat stream as the Responses event sequence: `response.created`, `response.in_progress`,
 * then per output item `response.output_item.added`, its deltas (`response.output_text.delta`,
 * `response.function_call_arguments.delta`, `response.reasoning_summary_text.delta`) and their
 * `….done` events, `response.output_item.done`, and `response.completed` with the whole
 * response. Every event has a `sequence_number`. One consumer, like the chat stream it wraps.
 */
export class ResponsesStream {
  #chat;
  #request;
  #signal;
  #stopped = false;
  /** `signal`: the call's; once it fires (or `abort()` is called) no terminal event is made. */
  constructor(chat, request, signal) {
    this.#chat = chat;
    this.#request = request;
    this.#signal = signal;
    withHidden(this, chat._hidden_params);
  }

  async *[Symbol.asyncIterator]() {
    const request = this.#request;
    const base = randomId();
    const id = `resp_${base}`;
    const created = Math.floor(Date.now() / 1000);
    let model = request.model;
    let seq = 0;
    const ev = (type, fields) => ({ type, sequence_number: seq++, ...fields });
    const output = [];
    let open = null; // { kind, index, item, text }
    const tools = new Map(); // chat tool index -> output index
    let usage = null;
    let finish = null;
    const snapshot = (status) =>
      responseOf({ id, created, model, status, output, usage, finish, request });

    function* close() {
      if (open === null) return;
      const { kind, index, item } = open;
      if (kind === "message") {
        const part = item.content[0];
        yield ev("response.output_text.done", {
          item_id: item.id,
          output_index: index,
          content_index: 0,
          text: part.text,
        });
        yield ev("response.content_part.done", {
          item_id: item.id,
          output_index: index,
          content_index: 0,
          part,
        });
      } else if (kind === "reasoning") {
        const part = item.summary[0];
        yield ev("response.reasoning_summary_text.done", {
          item_id: item.id,
          output_index: index,
          summary_index: 0,
          text: part.text,
        });
      } else {
        item.arguments = checkArguments(item.arguments, item.name);
        yield ev("response.function_call_arguments.done", {
          item_id: item.id,
          output_index: index,
          arguments: item.arguments,
        });
      }
      // Reasoning items carry no status (as in the non-streamed answer and OpenAI's).
      if (item.status !== undefined) item.status = "completed";
      yield ev("response.output_item.done", { output_index: index, item });
      open = null;
    }

    function* start(kind, item) {
      yield* close();
      const index = output.push(item) - 1;
      open = { kind, index, item };
      yield ev("response.output_item.added", { output_index: index, item: { ...item } });
      if (kind === "message")
        yield ev("response.content_part.added", {
          item_id: item.id,
          output_index: index,
          content_index: 0,
          part: { type: "output_text", text: "", annotations: [] },
        });
    }

    let begun = false;
    for await (const chunk of this.#chat) {
      if (!begun) {
        begun = true;
        model = chunk.model ?? model;
        yield ev("response.created", { response: snapshot("in_progress") });
        yield ev("response.in_progress", { response: snapshot("in_progress") });
      }
      if (isObject(chunk.usage)) usage = chunk.usage;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.reasoning_content === "string" && delta.reasoning_content !== "") {
        if (open?.kind !== "reasoning")
          yield* start("reasoning", {
            type: "reasoning",
            id: `rs_${base}`,
            summary: [{ type: "summary_text", text: "" }],
          });
        open.item.summary[0].text += delta.reasoning_content;
        yield ev("response.reasoning_summary_text.delta", {
          item_id: open.item.id,
          output_index: open.index,
          summary_index: 0,
          delta: delta.reasoning_content,
        });
      }
      if (typeof delta.content === "string" && delta.content !== "") {
        if (open?.kind !== "message")
          yield* start("message", {
            type: "message",
            id: `msg_${base}`,
            status: "in_progress",
            role: "assistant",
            content: [{ type: "output_text", text: "", annotations: [] }],
          });
        open.item.content[0].text += delta.content;
        yield ev("response.output_text.delta", {
          item_id: open.item.id,
          output_index: open.index,
          content_index: 0,
          delta: delta.content,
        });
      }
      for (const tc of delta.tool_calls ?? []) {
        const key = tc.index ?? 0;
        if (!tools.has(key)) {
          yield* start("function_call", {
            type: "function_call",
            id: `fc_${base}_${key}`,
            call_id: tc.id ?? `call_${base}_${key}`,
            name: tc.function?.name ?? "",
            arguments: "",
            status: "in_progress",
          });
          tools.set(key, open.index);
        }
        if (tc.function?.arguments) {
          const index = tools.get(key);
          output[index].arguments += tc.function.arguments;
          // Interleaved calls (rare) gather silently; their `….done` event has it all.
          if (open?.index === index)
            yield ev("response.function_call_arguments.delta", {
              item_id: open.item.id,
              output_index: index,
              delta: tc.function.arguments,
            });
        }
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    // A cancelled stream just ends: it did not complete, so it says nothing more.
    if (!begun || this.#stopped || this.#signal?.aborted) return;
    yield* close();
    const done = finish === "length" ? "incomplete" : "completed";
    yield ev(done === "completed" ? "response.completed" : "response.incomplete", {
      response: snapshot(done),
    });
  }

  /** Stops the upstream stream. */
  abort() {
    this.#stopped = true;
    this.#chat.abort?.();
  }

  /** The events as SSE bytes (`event: <type>` + `data: <json>`), as OpenAI sends them. */
  toReadableStream() {
    return eventBytes(this, typedEvent);
  }
}

/** Providers whose own `/responses` API gets Responses requests as they are. */
const NATIVE_PROVIDERS = new Set(["openai", "azure"]);

/**
 * Whether every deployment of group `model` is OpenAI or Azure (then the request is passed
 * through to their Responses API); false for an unknown name, an alias or a wildcard match,
 * which take the translation.
 */
function nativeGroup(router, model) {
  if (typeof model !== "string" || typeof router.getDeploymentStatus !== "function") return false;
  const group = router.getDeploymentStatus().filter((d) => d.model_group === model);
  return group.length > 0 && group.every((d) => NATIVE_PROVIDERS.has(d.provider));
}

/** A passed-through Responses stream: the provider's events as they came, as SSE bytes again. */
class NativeResponsesStream {
  #events;
  constructor(events) {
    this.#events = events;
    withHidden(this, events._hidden_params);
  }

  [Symbol.asyncIterator]() {
    return this.#events[Symbol.asyncIterator]();
  }

  /** Stops the upstream stream. */
  abort() {
    this.#events.abort?.();
  }

  /** The events as SSE bytes (`event: <type>` + `data: <json>`), as OpenAI sends them. */
  toReadableStream() {
    return eventBytes(this, typedEvent);
  }
}

/**
 * LiteLLM's `aresponses` over `router`: a Responses API request routed to any deployment of
 * `model`; resolves to a `response`, or with `stream: true` (once the upstream stream has
 * opened) to an async iterable of Responses stream events.
 */
export async function responses(router, request, options) {
  if (isObject(request) && nativeGroup(router, request.model)) {
    if (request.stream !== true) return router[NATIVE_CALL]("responses", request, options);
    return new NativeResponsesStream(await router[NATIVE_CALL]("responses", request, options));
  }
  const chat = chatRequestOf(request);
  if (chat.stream) {
    chat.stream_options = { include_usage: true };
    return new ResponsesStream(await router.completion(chat, options), request, options?.signal);
  }
  return responseOfChat(await router.completion(chat, options), request);
}
