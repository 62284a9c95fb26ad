// Issue #18's translation tests for the two stream translations that live in JS (js/responses.js,
// js/messages.js): the chat chunks the core makes of the providers' reference streams
// (tests/fixtures/*/stream/*.chunks.json; the core's own decoding of those streams, split at
// every byte, is tests/stream_*.rs) are replayed through `ResponsesStream` and `MessagesStream`
// whole and with every text, reasoning and argument delta split at every character. Every
// replay must give the same final object, the same concatenated deltas and a well-formed event
// sequence; and the final object must equal the non-streamed translation (`responseOfChat`,
// `messageOf`) of the same reply where the fixtures hold both.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ResponsesStream, responseOfChat } from "../../../js/responses.js";
import { MessagesStream, messageOf } from "../../../js/messages.js";
import { T } from "./fixture.mjs";

const fixture = (path) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), "utf8"));

/** [name, the stream's chat chunks, the same reply non-streamed as chat (or null)]. */
const CASES = [
  ["anthropic text", "anthropic/stream/text.chunks.json", "anthropic/responses/text.openai.json"],
  [
    "anthropic tool_use (two calls)",
    "anthropic/stream/tool_use.chunks.json",
    "anthropic/responses/tool_use.openai.json",
  ],
  [
    "anthropic thinking",
    "anthropic/stream/thinking.chunks.json",
    "anthropic/responses/thinking.openai.json",
  ],
  ["anthropic cached", "anthropic/stream/cached.chunks.json", null],
  ["anthropic json_tool", "anthropic/stream/json_tool.chunks.json", null],
  ["gemini text", "gemini/stream/text.chunks.json", null],
  ["gemini thinking", "gemini/stream/thinking.chunks.json", null],
  ["gemini tool_calls", "gemini/stream/tool_calls.chunks.json", null],
  ["openai parallel tools", "openai/stream/chat_parallel_tools.chunks.json", null],
  ["openai usage", "openai/stream/chat_usage.chunks.json", null],
].map(([name, chunks, whole]) => [name, fixture(chunks), whole && fixture(whole)]);

const REQUEST = { model: "g", input: "hi" };
const clone = (v) => structuredClone(v);

/**
 * Every way of splitting one delta string of `chunks` in two: the chunk is replaced by two
 * chunks carrying the string's two halves (the first keeps the chunk's other fields).
 */
function* splits(chunks) {
  for (let j = 0; j < chunks.length; j++) {
    const delta = chunks[j].choices?.[0]?.delta;
    if (!delta) continue;
    const fields = [];
    for (const key of ["content", "reasoning_content"])
      if (typeof delta[key] === "string") fields.push([key, delta[key], null]);
    (delta.tool_calls ?? []).forEach((tc, k) => {
      if (typeof tc.function?.arguments === "string")
        fields.push(["arguments", tc.function.arguments, k]);
    });
    for (const [key, text, k] of fields) {
      for (let i = 1; i < text.length; i++) {
        const first = clone(chunks[j]);
        const second = clone(chunks[j]);
        const d1 = first.choices[0].delta;
        const d2 = {};
        if (k === null) {
          d1[key] = text.slice(0, i);
          d2[key] = text.slice(i);
        } else {
          d1.tool_calls[k].function.arguments = text.slice(0, i);
          const tc = d1.tool_calls[k];
          d2.tool_calls = [{ index: tc.index, function: { arguments: text.slice(i) } }];
        }
        second.choices[0].delta = d2;
        // The finish reason and usage stay on the later half, where the stream ended.
        first.choices[0].finish_reason = null;
        delete first.usage;
        yield {
          at: `chunk ${j} ${key}${k === null ? "" : `[${k}]`} @${i}`,
          chunks: [...chunks.slice(0, j), first, second, ...chunks.slice(j + 1)],
        };
      }
    }
  }
}

async function collect(stream) {
  const events = [];
  for await (const e of stream) events.push(e);
  return events;
}

/**
 * A Responses object without what the translation makes up per call: its ids (`resp_…`,
 * `msg_…`, `fc_…`, `rs_…`; a provider's `call_id` stays) and its timestamp.
 */
function stableResponses(value) {
  if (Array.isArray(value)) return value.map(stableResponses);
  if (value === null || typeof value !== "object") return value;
  const out = {};
  for (const [k, v] of Object.entries(value))
    if (!["id", "item_id", "created_at"].includes(k)) out[k] = stableResponses(v);
  return out;
}

/** A Responses event sequence checked for form; returns the final response and the deltas. */
function checkResponses(events) {
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
  assert.equal(events[0].type, "response.created");
  assert.equal(events[1].type, "response.in_progress");
  const last = events.at(-1);
  assert.ok(["response.completed", "response.incomplete"].includes(last.type), last.type);
  const text = new Map();
  const args = new Map();
  const added = new Set();
  for (const e of events) {
    if (e.type === "response.output_item.added") {
      assert.ok(!added.has(e.output_index), "each output item is added once");
      added.add(e.output_index);
    }
    if (e.type.endsWith(".delta"))
      assert.ok(added.has(e.output_index), `${e.type} before its item`);
    if (e.type === "response.output_text.delta")
      text.set(e.output_index, (text.get(e.output_index) ?? "") + e.delta);
    if (e.type === "response.function_call_arguments.delta")
      args.set(e.output_index, (args.get(e.output_index) ?? "") + e.delta);
    if (e.type === "response.output_text.done") assert.equal(e.text, text.get(e.output_index));
    if (e.type === "response.function_call_arguments.done" && args.has(e.output_index))
      assert.equal(e.arguments, args.get(e.output_index));
  }
  const final = last.response;
  for (const [i, t] of text) assert.equal(final.output[i].content[0].text, t);
  for (const [i, a] of args) assert.equal(final.output[i].arguments, a);
  return { final, deltas: JSON.stringify([...text, ...args]) };
}

/**
 * An Anthropic event sequence checked for form and accumulated as Anthropic's SDKs do; returns
 * the final message.
 */
function checkMessages(events) {
  assert.equal(events[0].type, "message_start");
  assert.deepEqual(
    events.slice(-2).map((e) => e.type),
    ["message_delta", "message_stop"],
  );
  const message = clone(events[0].message);
  const json = new Map();
  let open = null;
  for (const e of events.slice(1, -2)) {
    if (e.type === "content_block_start") {
      assert.equal(open, null, "one block open at a time");
      assert.equal(e.index, message.content.length, "blocks are numbered in order");
      open = e.index;
      message.content.push(clone(e.content_block));
    } else if (e.type === "content_block_delta") {
      assert.equal(e.index, open, "a delta belongs to the open block");
      const b = message.content[e.index];
      const d = e.delta;
      if (d.type === "text_delta") b.text += d.text;
      else if (d.type === "thinking_delta") b.thinking += d.thinking;
      else if (d.type === "signature_delta") b.signature = d.signature;
      else if (d.type === "input_json_delta")
        json.set(e.index, (json.get(e.index) ?? "") + d.partial_json);
      else assert.fail(`unknown delta ${d.type}`);
    } else if (e.type === "content_block_stop") {
      assert.equal(e.index, open);
      if (json.has(open)) message.content[open].input = JSON.parse(json.get(open));
      open = null;
    } else assert.fail(`unexpected ${e.type}`);
  }
  assert.equal(open, null, "every block is closed");
  const delta = events.at(-2);
  message.stop_reason = delta.delta.stop_reason;
  message.stop_sequence = delta.delta.stop_sequence;
  message.usage = { ...message.usage, ...delta.usage };
  return message;
}

describe("Responses and Messages stream translations, replayed split at every point", () => {
  for (const [name, chunks, whole] of CASES) {
    it(`${name}: Responses events`, T, async () => {
      const base = checkResponses(await collect(new ResponsesStream(chunks, REQUEST)));
      if (whole) {
        const expected = responseOfChat(whole, REQUEST);
        assert.deepEqual(stableResponses(base.final.output), stableResponses(expected.output));
        assert.equal(base.final.status, expected.status);
        assert.deepEqual(base.final.usage, expected.usage);
      }
      let n = 0;
      for (const { at, chunks: split } of splits(chunks)) {
        const run = checkResponses(await collect(new ResponsesStream(split, REQUEST)));
        assert.equal(run.deltas, base.deltas, at);
        assert.deepEqual(stableResponses(run.final), stableResponses(base.final), at);
        n++;
      }
      assert.ok(n > 0, "the fixture has deltas to split");
    });

    it(`${name}: Messages events`, T, async () => {
      const base = checkMessages(await collect(new MessagesStream(chunks, "g")));
      if (whole) {
        const expected = JSON.parse(JSON.stringify(messageOf(whole, "g")));
        assert.deepEqual(base.content, expected.content);
        assert.equal(base.stop_reason, expected.stop_reason);
        assert.deepEqual(base.usage, expected.usage);
        assert.equal(base.id, expected.id);
      }
      for (const { at, chunks: split } of splits(chunks))
        assert.deepEqual(checkMessages(await collect(new MessagesStream(split, "g"))), base, at);
    });
  }
});
