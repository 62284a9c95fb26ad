// LiteLLM's batch completions, built on the Router's public `completion`: each call goes
// through the normal request path, so retries, fallbacks, cooldowns, limits, caching and
// accounting apply to every one of them.

import { BadRequestError } from "./errors.js";
import { attachHidden } from "./wire.js";

/** Most calls one batch may start; bigger batches throw BadRequestError. */
export const MAX_BATCH = 64;

function checkMessages(messages, field) {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new BadRequestError(`${field}: must be a non-empty array of messages`);
  }
}

function modelsOf(models) {
  const list =
    typeof models === "string"
      ? models
          .split(",")
          .map((m) => m.trim())
          .filter(Boolean)
      : models;
  if (!Array.isArray(list) || list.length === 0 || list.some((m) => typeof m !== "string")) {
    throw new BadRequestError("models: must be a non-empty array of model group names");
  }
  if (list.length > MAX_BATCH) {
    throw new BadRequestError(`models: at most ${MAX_BATCH} per batch (got ${list.length})`);
  }
  return list;
}

function requestOf(request) {
  if (request === null || typeof request !== "object" || Array.isArray(request)) {
    throw new BadRequestError("the request must be an object like { models, messages }");
  }
  return request;
}

/** Settles every promise; a rejection becomes the Error itself in the result (LiteLLM's shape). */
const settle = (promises) =>
  Promise.allSettled(promises).then((r) =>
    r.map((s) => (s.status === "fulfilled" ? s.value : s.reason)),
  );

/** The methods `installBatch` adds to Router.prototype. */
const methods = {
  /**
   * LiteLLM's `abatch_completion`: the same request to each group in `models`, in parallel.
   * Resolves to one entry per model, in order: the response, or the Error that call ended with.
   * With `messages` an array of message arrays, each entry is itself an array (one per list).
   * `options.signal`, as for every request method, cancels every call of the batch.
   */
  batchCompletion(request, options) {
    const { models, messages, ...rest } = requestOf(request);
    const list = modelsOf(models);
    checkMessages(messages, "messages");
    if (Array.isArray(messages[0])) {
      messages.forEach((m, i) => checkMessages(m, `messages[${i}]`));
      if (list.length * messages.length > MAX_BATCH) {
        throw new BadRequestError(`at most ${MAX_BATCH} calls per batch (models × messages)`);
      }
      return Promise.all(
        list.map((model) =>
          settle(messages.map((m) => this.completion({ ...rest, model, messages: m }, options))),
        ),
      );
    }
    return settle(list.map((model) => this.completion({ ...rest, model, messages }, options)));
  },

  /**
   * LiteLLM's `abatch_completion_one_model_multiple_requests`: `messages` is an array of
   * message arrays, each sent to `model`; one entry per list, the response or the Error.
   */
  batchCompletionOneModelMultipleRequests(request, options) {
    const { model, messages, ...rest } = requestOf(request);
    if (typeof model !== "string" || model === "") {
      throw new BadRequestError("model: must be a model group name");
    }
    if (!Array.isArray(messages) || messages.length === 0 || !Array.isArray(messages[0])) {
      throw new BadRequestError("messages: must be a non-empty array of message arrays");
    }
    messages.forEach((m, i) => checkMessages(m, `messages[${i}]`));
    if (messages.length > MAX_BATCH) {
      throw new BadRequestError(
        `messages: at most ${MAX_BATCH} per batch (got ${messages.length})`,
      );
    }
    return settle(messages.map((m) => this.completion({ ...rest, model, messages: m }, options)));
  },

  /**
   * LiteLLM's `abatch_completion_fastest_response`: `model` is an array of groups (or a
   * comma-separated string); the first call to succeed wins and every other upstream
   * request is aborted. Each call runs streamed so it can be aborted: non-streamed, the
   * winner is the first stream to finish, assembled into a `chat.completion`; with
   * `stream: true`, the first stream to open is returned as is. Rejects with the last
   * error when every call failed.
   */
  async batchCompletionFastestResponse(request, options) {
    const { model, models, messages, stream, ...rest } = requestOf(request);
    const list = modelsOf(model ?? models);
    checkMessages(messages, "messages");
    const streams = new Set();
    let won = false;
    const abortOthers = (keep) => {
      for (const s of streams) if (s !== keep) s.abort();
    };
    const one = async (m) => {
      const s = await this.completion({ ...rest, model: m, messages, stream: true }, options);
      if (won) {
        s.abort(); // opened after the race ended: close it at once
        throw new Error("lost the race");
      }
      streams.add(s);
      if (stream === true) return s;
      const chunks = [];
      for await (const chunk of s) chunks.push(chunk);
      if (won) throw new Error("lost the race");
      const answer = this.constructor[ASSEMBLE](chunks);
      return attachHidden(answer, { ...s._hidden_params });
    };
    return new Promise((resolve, reject) => {
      let pending = list.length;
      let lastError;
      for (const m of list) {
        one(m).then(
          (value) => {
            if (won) return;
            won = true;
            abortOthers(value);
            value._hidden_params.fastest_response_batch_completion = true;
            resolve(value);
          },
          (e) => {
            if (!won) lastError = e;
            if (--pending === 0 && !won) reject(lastError);
          },
        );
      }
    });
  },
};

/** LiteLLM's names for the batch methods. */
export const batchAliases = {
  abatch_completion: "batchCompletion",
  abatch_completion_one_model_multiple_requests: "batchCompletionOneModelMultipleRequests",
  abatch_completion_fastest_response: "batchCompletionFastestResponse",
};

/** Where a Router class keeps its chunk assembler (the core's `streamChunkBuilder`). */
const ASSEMBLE = Symbol("llmux.assembleChunks");

/** Adds the batch methods to a Router class; `assemble` turns a stream's chunks into the answer. */
export function installBatch(Router, assemble) {
  Object.defineProperty(Router, ASSEMBLE, { value: assemble });
  for (const [name, fn] of Object.entries(methods)) {
    Object.defineProperty(Router.prototype, name, {
      value: fn,
      writable: true,
      configurable: true,
    });
  }
}
