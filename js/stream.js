// Streams of OpenAI chunks: an AsyncIterable over the wasm core's StreamCore, with
// toReadableStream() (OpenAI SSE bytes for a Response), toNDJSONReadableStream() (openai-node's
// newline-delimited JSON) and abort().

import { toError } from "./errors.js";
import { openAiErrorBody } from "./openai-error.js";

/** Closes streams whose object was garbage-collected unconsumed (frees the upstream). */
const abandoned =
  typeof FinalizationRegistry === "function"
    ? new FinalizationRegistry((core) => core.abort())
    : null;

const encoder = new TextEncoder();

/**
 * A streamed completion. Iterate it with `for await`, or pipe `toReadableStream()` into a
 * `Response`; one consumer only. Breaking out of the loop, `abort()`, or cancelling the
 * ReadableStream closes the upstream connection.
 */
export class LlmuxStream {
  #core;
  /** Chunks received from the core and not yet handed out. */
  #buffer = [];
  /** The upstream's own JSON text of each buffered chunk, where the source kept it. */
  #raw = null;
  #index = 0;
  #done = false;
  #consumed = false;
  /** `_hidden_params`: parsed from the source's JSON text when first read (`#hidden`). */
  #hiddenValue = undefined;
  #hiddenText = undefined;

  constructor(core) {
    this.#core = core;
    abandoned?.register(this, core, this);
  }

  /**
   * Router metadata (`model_id` and the rest once the first chunk has arrived;
   * `response_cost` once the stream has ended). Asked of the source when first read, not
   * for every stream: most consumers never read it.
   */
  get _hidden_params() {
    if (this.#hiddenValue === undefined) {
      this.#hiddenValue = JSON.parse(this.#hiddenText ?? this.#core.hidden());
      this.#hiddenText = undefined;
    }
    return this.#hiddenValue;
  }

  set _hidden_params(value) {
    this.#hiddenValue = value;
    this.#hiddenText = undefined;
  }

  #end() {
    this.#done = true;
    abandoned?.unregister(this);
    // Final metadata: response_cost is known once the stream has ended (parsed on read).
    this.#hiddenValue = undefined;
    this.#hiddenText = this.#core.hidden();
  }

  /**
   * The next chunk as an iterator result, refilling the buffer from the source when it is
   * empty: its next chunks (JSON text of an array, or the array itself from the host stream,
   * which may keep each chunk's own text in `raw`). `{ done: true }` at the end; throws the
   * typed error that ended the stream. The iterator's `next` is this (the source is awaited
   * here, with no async layer between them).
   */
  async #step() {
    while (this.#index >= this.#buffer.length) {
      if (this.#done) return { done: true, value: undefined };
      let out;
      try {
        out = await this.#core.next();
      } catch (e) {
        this.#end();
        throw toError(e);
      }
      if (!this.#took(out)) return { done: true, value: undefined };
    }
    return { done: false, value: this.#buffer[this.#index++] };
  }

  /** Takes what the source's `next()` fulfilled with into the buffer; false at the end. */
  #took(out) {
    if (out === undefined) {
      this.#end();
      return false;
    }
    if (typeof out === "string") {
      this.#buffer = JSON.parse(out);
      this.#raw = null;
    } else {
      this.#buffer = out;
      this.#raw = this.#core.raw ?? null;
    }
    this.#index = 0;
    return true;
  }

  #claim() {
    if (this.#consumed) throw new TypeError("this stream is already being consumed");
    this.#consumed = true;
  }

  [Symbol.asyncIterator]() {
    this.#claim();
    return {
      next: () => this.#step(),
      return: async () => {
        this.abort();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * OpenAI SSE bytes (`data: {chunk}\n\n` … `data: [DONE]\n\n`), pulled from upstream only as
   * the reader reads. A failure after the first chunk is written as `data: {"error": …}` (what
   * OpenAI's SDKs raise as an APIError) and ends the stream.
   */
  toReadableStream() {
    return this.#readable(
      (i) => {
        // An OpenAI-format upstream's chunk that needed no change is written as its own text.
        const raw = this.#raw?.[i];
        return `data: ${typeof raw === "string" ? raw : JSON.stringify(this.#buffer[i])}\n\n`;
      },
      "data: [DONE]\n\n",
      (controller, e) => {
        controller.enqueue(encoder.encode(`data: ${JSON.stringify(openAiErrorBody(e))}\n\n`));
        controller.close();
      },
    );
  }

  /**
   * openai-node's `Stream#toReadableStream()` format: one chunk's JSON and `\n` per chunk, no
   * `[DONE]` (read back by `Stream.fromReadableStream` of the `openai` package). Pulled from
   * upstream only as the reader reads; a failure after the first chunk errors the
   * ReadableStream with the typed error, as openai-node's does.
   */
  toNDJSONReadableStream() {
    return this.#readable(
      (i) => `${JSON.stringify(this.#buffer[i])}\n`,
      "",
      (controller, e) => controller.error(toError(e)),
    );
  }

  /**
   * The chunks as a byte stream, pulled from upstream only as the reader reads (one consumer):
   * `frame(i)` is chunk `i`'s text, `end` the text written after the last chunk, and
   * `failed(controller, error)` ends the stream after a failure.
   */
  #readable(frame, end, failed) {
    this.#claim();
    return new ReadableStream(
      {
        pull: async (controller) => {
          let step;
          try {
            step = await this.#step();
          } catch (e) {
            failed(controller, e);
            return;
          }
          if (step.done) {
            if (end) controller.enqueue(encoder.encode(end));
            controller.close();
            return;
          }
          controller.enqueue(encoder.encode(frame(this.#index - 1)));
        },
        cancel: () => this.abort(),
      },
      { highWaterMark: 0 },
    );
  }

  /** Stops the stream and closes the upstream connection; iteration ends. */
  abort() {
    if (this.#done) return;
    this.#core.abort();
    this.#buffer = [];
    this.#raw = null;
    this.#index = 0;
    this.#end();
  }
}

/**
 * LiteLLM's `stream_chunk_builder` over the wasm core's assembler: the chunks of one stream
 * (chat or text) -> the `chat.completion` / `text_completion` the call would have answered.
 */
export function defineChunkBuilder(assembleChunks) {
  return function streamChunkBuilder(chunks) {
    if (!Array.isArray(chunks)) throw new TypeError("streamChunkBuilder: chunks must be an array");
    try {
      return JSON.parse(assembleChunks(JSON.stringify(chunks)));
    } catch (e) {
      throw toError(e);
    }
  };
}
