// Streams of OpenAI chunks: an AsyncIterable over the wasm core's StreamCore, with
// toReadableStream() (OpenAI SSE bytes for a Response) and abort().

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
  #index = 0;
  #done = false;
  #consumed = false;

  constructor(core) {
    this.#core = core;
    Object.defineProperty(this, "_hidden_params", {
      value: JSON.parse(core.hidden()),
      enumerable: false,
      writable: true,
      configurable: true,
    });
    abandoned?.register(this, core, this);
  }

  #end() {
    this.#done = true;
    abandoned?.unregister(this);
    // Final metadata: response_cost is known once the stream has ended.
    this._hidden_params = JSON.parse(this.#core.hidden());
  }

  /** The next chunk, or `undefined` at the end; throws the typed error that ended it. */
  async #next() {
    while (this.#index >= this.#buffer.length) {
      if (this.#done) return undefined;
      let text;
      try {
        text = await this.#core.next();
      } catch (e) {
        this.#end();
        throw toError(e);
      }
      if (text === undefined) {
        this.#end();
        return undefined;
      }
      this.#buffer = JSON.parse(text);
      this.#index = 0;
    }
    return this.#buffer[this.#index++];
  }

  #claim() {
    if (this.#consumed) throw new TypeError("this stream is already being consumed");
    this.#consumed = true;
  }

  [Symbol.asyncIterator]() {
    this.#claim();
    return {
      next: async () => {
        const chunk = await this.#next();
        return chunk === undefined
          ? { done: true, value: undefined }
          : { done: false, value: chunk };
      },
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
    this.#claim();
    return new ReadableStream(
      {
        pull: async (controller) => {
          let chunk;
          try {
            chunk = await this.#next();
          } catch (e) {
            controller.enqueue(encoder.encode(`data: ${JSON.stringify(openAiErrorBody(e))}\n\n`));
            controller.close();
            return;
          }
          if (chunk === undefined) {
            controller.enqueue(encoder.encode("data: [DONE]\n\n"));
            controller.close();
          } else {
            controller.enqueue(encoder.encode(`data: ${JSON.stringify(chunk)}\n\n`));
          }
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
