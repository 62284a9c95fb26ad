// What the three API adapters (gemini.js, messages.js, responses.js) share: the hidden-params
// property, tool-call arguments checked to be a JSON object, and a stream of events as bytes.
// Loaded with them, on first use.

import { InternalServerError } from "./errors.js";
import { attachHidden } from "./wire.js";

export const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** Sets `_hidden_params` on `target` as every answer has it: not enumerable, not serialised. */
export function withHidden(target, hidden) {
  return hidden === undefined ? target : attachHidden(target, hidden);
}

/**
 * A tool call's arguments as an object (`{}` when empty). Arguments that are not a JSON object
 * are an `InternalServerError`: the adapters' formats need an object, and llmux does not guess.
 */
export function toolArguments(text, name) {
  if (text === undefined || text === null || text === "") return {};
  try {
    const args = JSON.parse(text);
    if (isObject(args)) return args;
  } catch {
    // fall through to the error below
  }
  throw new InternalServerError(
    `the deployment answered a call of ${JSON.stringify(name)} whose arguments are not a JSON object`,
  );
}

/**
 * The events of `stream` (an async iterable with `abort()`) as a byte stream: `frame(event,
 * first)` gives each event's text, `end(first)` the text after the last one (or "").
 * Cancelling the byte stream ends the iteration and aborts the upstream stream.
 */
export function eventBytes(stream, frame, end = () => "") {
  const encoder = new TextEncoder();
  const iterator = stream[Symbol.asyncIterator]();
  let first = true;
  return new ReadableStream({
    async pull(controller) {
      try {
        const { value, done } = await iterator.next();
        if (done) {
          const tail = end(first);
          if (tail) controller.enqueue(encoder.encode(tail));
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(frame(value, first)));
        first = false;
      } catch (e) {
        controller.error(e);
      }
    },
    cancel: () => {
      iterator.return?.();
      stream.abort();
    },
  });
}

/** Anthropic's and OpenAI's SSE framing: `event: <type>` then `data: <json>`. */
export const typedEvent = (value) => `event: ${value.type}\ndata: ${JSON.stringify(value)}\n\n`;
