// Streams on the host loop (README, "Architecture"). The core decides every step (which
// deployment, the request to send, retry or fall back, what a piece of the body decodes to);
// this module sends with fetch, reads the body and owns the timers. Each piece read goes
// into one synchronous core call (`streamFeed`) that returns the chunks it completes: no
// promise round trip through wasm per read. Reads happen only when the consumer asks for
// the next chunk (backpressure).

import { toError } from "./errors.js";
import {
  MAX_TIMER_MS,
  abortReason,
  describeFetchError,
  headerPairs,
  sleep,
  tooLarge,
} from "./wire.js";

/**
 * `stream_timeout` for a body being read: one timer per gap, not one per read. Armed when a
 * read starts with no timer running; when it fires while the pending read is younger than the
 * gap (it was armed for an earlier read), it re-arms for the rest. Time the consumer spends
 * between reads never counts.
 */
class GapTimer {
  #ms;
  #onTimeout;
  #timer = null;
  #asked = 0;
  #reading = false;
  timedOut = false;

  constructor(ms, onTimeout) {
    this.#ms = Math.max(1, Math.min(ms, MAX_TIMER_MS));
    this.#onTimeout = onTimeout;
  }

  start() {
    this.#asked = Date.now();
    this.#reading = true;
    if (this.#timer === null) this.#arm(this.#ms);
  }

  stop() {
    this.#reading = false;
  }

  clear() {
    this.#reading = false;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(ms) {
    this.#timer = setTimeout(() => this.#fire(), ms);
    this.#timer.unref?.();
  }

  #fire() {
    this.#timer = null;
    if (!this.#reading) return;
    const waited = Date.now() - this.#asked;
    // Whole milliseconds: a host clock may tick coarser than the timer.
    if (waited + 1 >= this.#ms) {
      this.timedOut = true;
      this.#onTimeout();
    } else {
      this.#arm(Math.ceil(this.#ms - waited));
    }
  }
}

const noop = () => {};

/**
 * One host-driven stream, as `LlmuxStream` reads it: `hidden()`, `next()` (the next chunks
 * as JSON text of an array, or `undefined` at the end; throws the typed error that ended
 * it) and `abort()`.
 */
class HostStreamSource {
  #core;
  #handle;
  #controller = null;
  #gap = null;
  #reader = null;
  /** Chunks decoded while opening, not yet handed out. */
  #pending = null;
  #ended = false;
  /** `_hidden_params` once the stream is over (the core has forgotten it). */
  #hidden = null;
  /** The caller's AbortSignal: a read it aborted is not the upstream's failure. */
  #signal = undefined;
  /** The fetch attempts are sent with (a mid-stream continuation makes more). */
  #send;
  /** The first chunks were handed out: a core "retry" now means a continuation. */
  #live = false;
  /** Stops a continuation's attempts (`abort()`). */
  #stop = null;

  constructor(core, handle, send) {
    this.#core = core;
    this.#handle = handle;
    this.#send = send;
  }

  /**
   * Makes the attempt `request` describes: true when its first chunks have arrived. The
   * caller's `signal` aborts it (and the rest of the stream).
   */
  async attempt(send, request, signal) {
    const controller = new AbortController();
    if (signal !== undefined) {
      if (signal.aborted) controller.abort();
      else signal.addEventListener("abort", () => controller.abort(), { once: true });
    }
    const gap = new GapTimer(request.timeout_ms, () => controller.abort());
    this.#controller = controller;
    this.#gap = gap;
    let res;
    gap.start();
    try {
      res = await send(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        // Credentials never follow a redirect: a 3xx is an answer like any other.
        redirect: "manual",
        signal: controller.signal,
      });
    } catch (e) {
      gap.clear();
      if (!signal?.aborted) {
        this.#core.streamUnreachable(this.#handle, gap.timedOut, describeFetchError(e));
      }
      return false;
    }
    if (res.status < 200 || res.status >= 300 || res.body === null) {
      let text = "";
      const max = this.#core.maxResponseBytes();
      try {
        if (Number(res.headers.get("content-length") ?? 0) > max) {
          throw new Error(tooLarge(max));
        }
        text = await res.text();
      } catch (e) {
        gap.clear();
        controller.abort();
        if (!signal?.aborted) {
          this.#core.streamUnreachable(this.#handle, gap.timedOut, describeFetchError(e));
        }
        return false;
      }
      gap.clear();
      this.#core.streamReplied(
        this.#handle,
        res.status,
        text,
        headerPairs(res.headers, res.status),
      );
      return false;
    }
    gap.stop();
    this.#signal = signal;
    this.#reader = res.body.getReader();
    for (;;) {
      const out = await this.#pull();
      if (out === undefined) {
        this.#drop();
        return false;
      }
      if (out !== "") {
        this.#pending = out;
        this.#live = true;
        return true;
      }
      if (this.#ended) return false;
    }
  }

  /** One read, fed to the core: chunks text, `""` (none yet) or `undefined` (retry). */
  async #pull() {
    let piece;
    this.#gap.start();
    try {
      piece = await this.#reader.read();
    } catch (e) {
      this.#gap.stop();
      if (this.#signal?.aborted) return undefined;
      const error = this.#core.streamUnreachable(
        this.#handle,
        this.#gap.timedOut,
        describeFetchError(e),
      );
      if (error === undefined) return this.#live ? this.#resume() : undefined;
      throw this.#failed(error);
    }
    this.#gap.stop();
    let out;
    if (piece.done) {
      this.#ended = true;
      out = this.#core.streamEnd(this.#handle);
    } else {
      out = this.#core.streamFeed(this.#handle, piece.value);
    }
    if (typeof out === "string") return out;
    if (out === undefined) return this.#live ? this.#resume() : undefined;
    throw this.#failed(out);
  }

  /**
   * The stream broke after its first chunks and the core continues it on a fallback
   * (`enable_mid_stream_fallback_continuation`): attempts as when opening, until one delivers
   * its first chunks (returned), or the typed error that ends the stream (thrown).
   */
  async #resume() {
    this.#drop();
    this.#live = false;
    // abort() (or the caller's signal) also stops the continuation's attempts.
    const stop = new AbortController();
    this.#stop = stop;
    const caller = this.#signal;
    if (caller?.aborted) stop.abort();
    else caller?.addEventListener("abort", () => stop.abort(), { once: true });
    for (;;) {
      if (stop.signal.aborted || this.#hidden !== null) return undefined;
      const step = this.#core.streamNext(this.#handle);
      if (typeof step === "number") {
        await sleep(step);
        continue;
      }
      if (typeof step !== "string") throw this.#failed(step);
      this.#ended = false;
      const opened = await this.attempt(this.#send, JSON.parse(step), stop.signal);
      if (stop.signal.aborted || this.#hidden !== null) return undefined;
      if (opened) {
        this.#live = true;
        const out = this.#pending;
        this.#pending = null;
        return out;
      }
    }
  }

  hidden() {
    return this.#hidden ?? this.#core.streamHidden(this.#handle) ?? "{}";
  }

  async next() {
    if (this.#pending !== null) {
      const out = this.#pending;
      this.#pending = null;
      return out;
    }
    while (!this.#ended && this.#hidden === null) {
      const out = await this.#pull();
      if (out === undefined) break;
      if (out !== "") return out;
    }
    this.#close();
    return undefined;
  }

  abort() {
    if (this.#hidden !== null) return;
    this.#stop?.abort();
    this.#drop();
    this.#core.streamAbort(this.#handle);
    this.#close();
  }

  /** Stops the body and its timer. */
  #drop() {
    this.#gap?.clear();
    this.#controller?.abort();
    this.#reader?.cancel().catch(noop);
    this.#reader = null;
  }

  /** The stream failed after its first chunk (`error`, booked by the core). */
  #failed(error) {
    this.#drop();
    this.#close();
    return toError(error);
  }

  /** The stream is over: keep its final metadata, let the core forget it. */
  #close() {
    if (this.#hidden !== null) return;
    this.#gap?.clear();
    this.#hidden = this.#core.streamHidden(this.#handle) ?? "{}";
    this.#core.streamRelease(this.#handle);
  }
}

/**
 * Opens a stream on the host loop: attempts (with the core's retries and fallbacks) until
 * one delivers its first chunks. Resolves to the source for `LlmuxStream`; rejects with
 * the typed error of a call that failed before any chunk.
 */
export async function openHostStream(core, send, endpoint, json, signal) {
  let handle;
  try {
    handle = core.beginStream(endpoint, json);
  } catch (e) {
    throw toError(e);
  }
  try {
    for (;;) {
      // A caller's abort ends the call as it is: nothing booked, no deployment blamed.
      if (signal?.aborted) throw abortReason(signal);
      const step = core.streamNext(handle);
      if (typeof step === "number") {
        await sleep(step);
        continue;
      }
      if (typeof step !== "string") throw toError(step);
      const source = new HostStreamSource(core, handle, send);
      const opened = await source.attempt(send, JSON.parse(step), signal);
      if (signal?.aborted) {
        source.abort();
        throw abortReason(signal);
      }
      if (opened) {
        handle = undefined;
        return source;
      }
    }
  } finally {
    if (handle !== undefined) core.streamRelease(handle);
  }
}
