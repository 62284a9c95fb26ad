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

/** Bytes of a partial event the host holds; a longer one goes to the core's decoder. */
const MAX_HELD_EVENT_BYTES = 64 * 1024;

/** Strict UTF-8 (as the core's decoder): an invalid event takes the core's path. */
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of `s` (the core counts content in bytes); -1 for a lone surrogate. */
function utf8Length(s) {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdfff) {
      const d = s.charCodeAt(i + 1);
      if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) return -1;
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
/** Characters of an optional string field; -1 when it is neither absent, null nor a string. */
const strChars = (v) =>
  v === undefined || v === null ? 0 : typeof v === "string" ? utf8Length(v) : -1;

/**
 * Content characters of a chunk the core would pass through unchanged (`plain_chars` in
 * src/providers/openai.rs, never looser), or -1. `flags.v`: 1 finish_reason, 2 tool calls.
 */
function plainChars(o, idn, flags) {
  if (
    !isObj(o) ||
    o.id !== idn[0] ||
    o.model !== idn[1] ||
    o.object !== idn[2] ||
    o.created !== idn[3] ||
    (o.usage !== undefined && o.usage !== null) ||
    (o.error !== undefined && o.error !== null) ||
    (o.x_groq !== undefined && o.x_groq !== null)
  )
    return -1;
  const choices = o.choices;
  if (!Array.isArray(choices) || choices.length === 0) return -1;
  const chat = o.object === "chat.completion.chunk";
  let chars = 0;
  for (const c of choices) {
    if (!isObj(c)) return -1;
    const text = strChars(c.text);
    if (text < 0) return -1;
    chars += text;
    const fr = c.finish_reason;
    if (fr !== undefined && fr !== null) {
      if (typeof fr !== "string" || fr === "") return -1;
      flags.v |= 1;
    }
    const d = c.delta;
    if (d === undefined || d === null) {
      if (chat) return -1;
      continue;
    }
    if (!isObj(d)) return -1;
    const content = strChars(d.content);
    const reasoning = strChars(d.reasoning_content);
    if (content < 0 || reasoning < 0) return -1;
    chars += content + reasoning;
    const calls = d.tool_calls;
    if (calls === undefined || calls === null) continue;
    if (!Array.isArray(calls)) return -1;
    flags.v |= 2;
    for (const call of calls) {
      if (!isObj(call)) return -1;
      const f = call.function;
      if (f === undefined || f === null) continue;
      if (!isObj(f)) return -1;
      const name = strChars(f.name);
      const args = strChars(f.arguments);
      if (name < 0 || args < 0) return -1;
      chars += name + args;
    }
  }
  return chars;
}

/** One `data: {…}` line `buf[start, end)` into `out`; false: the core must decode it. */
function plainEvent(buf, start, end, idn, flags, out) {
  // "data:" then an optional space, then the object.
  if (
    buf[start] !== 100 ||
    buf[start + 1] !== 97 ||
    buf[start + 2] !== 116 ||
    buf[start + 3] !== 97 ||
    buf[start + 4] !== 58
  )
    return false;
  let at = start + 5;
  if (buf[at] === 32) at++;
  if (buf[at] !== 123) return false;
  let text;
  let chunk;
  try {
    text = utf8.decode(buf.subarray(at, end));
    chunk = JSON.parse(text);
  } catch {
    return false;
  }
  // A refused chunk's flags are the core's to record.
  const own = { v: 0 };
  const chars = plainChars(chunk, idn, own);
  if (chars < 0) return false;
  flags.v |= own.v;
  out.chunks.push(chunk);
  out.raw.push(text);
  out.chars += chars;
  return true;
}

/** What a stream on the wire path asks of an OpenAI upstream (`OpenAi::build_request`). */
const INCLUDE_USAGE = Object.freeze({ include_usage: true });

/**
 * A `streamNext` step as the attempt to make: the request (`{method, url, headers, body,
 * timeout_ms}`), a wait in ms (a number), or throws the call's typed error. A wire id is
 * sent as the deployment's cached wire describes, with the body built from the caller's
 * object (`wire.request`): the core never parses it (README, "Architecture").
 */
function attemptOf(step, handle, wire) {
  if (typeof step === "string") return JSON.parse(step);
  if (typeof step !== "number") throw toError(step);
  if (step <= -2) return -step - 2;
  if (wire === null) throw toError(new Error(`unexpected stream step ${step}`));
  let w;
  try {
    w = wire.of(step, handle);
  } catch (e) {
    throw toError(e);
  }
  const request = wire.request;
  return {
    method: "POST",
    url: w.url,
    headers: w.headers,
    body: JSON.stringify(
      w.defaults === null
        ? { ...request, model: w.model, stream: true, stream_options: INCLUDE_USAGE }
        : {
            ...w.defaults,
            ...request,
            model: w.model,
            stream: true,
            stream_options: INCLUDE_USAGE,
          },
    ),
    timeout_ms: w.stream_timeout_ms,
  };
}

function concat(a, b) {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

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
  /** `[id, model, object, created]` while the host reads the events (`streamPlain`). */
  #plain = null;
  /** An incomplete event's bytes, while the host reads. */
  #rest = null;
  /** The rest of a piece for the core to decode, after the chunks before it. */
  #deferred = null;
  /** The upstream's JSON text of each chunk `next()` last returned (null: none). */
  raw = null;

  /** The wire path's request and wire lookup (`openHostStream`), or null. */
  #wire;
  /**
   * Plain reads counted by the host and not yet told to the core (`streamPlainCaughtUp`):
   * a read is told at once (`streamPlainRead`, which checks the ceilings) only when a
   * ceiling could be passed at it — more bytes read than `max_response_bytes`, or less than
   * a second left of `max_stream_duration` — and the sum of the others before the core's
   * next call for the stream. One call a stream instead of one a chunk.
   */
  #untold = { bytes: 0, chars: 0, flags: 0 };
  /** Bytes of the body read in all (every piece, whoever decodes it). */
  #seen = 0;
  /** When the stream's first attempt began (no later than the core's clock for it). */
  #started;
  #maxBytes;
  #maxMs;

  constructor(core, handle, send, wire, started) {
    this.#core = core;
    this.#handle = handle;
    this.#send = send;
    this.#wire = wire;
    this.#started = started;
    this.#maxBytes = core.maxResponseBytes();
    this.#maxMs = core.maxStreamDurationMs();
  }

  /** Tells the core the plain reads it has not been told of (before any other call). */
  #catchUp() {
    const u = this.#untold;
    if (u.bytes === 0 && u.chars === 0 && u.flags === 0) return;
    this.#core.streamPlainCaughtUp(this.#handle, u.bytes, u.chars, u.flags);
    u.bytes = 0;
    u.chars = 0;
    u.flags = 0;
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
    this.#plain = null;
    this.#rest = null;
    this.#deferred = null;
    this.#reader = res.body.getReader();
    for (;;) {
      const out = await this.#pull();
      if (out === undefined) {
        this.#drop();
        return false;
      }
      if (out !== null) {
        this.#pending = out;
        this.#live = true;
        return true;
      }
      if (this.#ended) return false;
    }
  }

  /**
   * One read: its chunks (an array), null (none yet) or `undefined` (retry). Decoded by the
   * core (`streamFeed`), or by the host while `#plain` allows (README, "Architecture").
   * `next()` does the same with the body's read inlined (one async layer fewer a chunk).
   */
  async #pull() {
    if (this.#deferred !== null) return this.#takeDeferred();
    this.#gap.start();
    let piece;
    try {
      piece = await this.#reader.read();
    } catch (e) {
      return this.#readFailed(e);
    }
    return this.#afterRead(piece);
  }

  /** The events of a piece the host read and left to the core to decode. */
  #takeDeferred() {
    const bytes = this.#deferred;
    this.#deferred = null;
    return this.#feedCounted(bytes);
  }

  /** A body read that threw: retry (`undefined`, or the continuation's promise) or throw. */
  #readFailed(e) {
    this.#gap.stop();
    if (this.#signal?.aborted) return undefined;
    this.#catchUp();
    const error = this.#core.streamUnreachable(
      this.#handle,
      this.#gap.timedOut,
      describeFetchError(e),
    );
    if (error === undefined) return this.#live ? this.#resume() : undefined;
    throw this.#failed(error);
  }

  /**
   * The chunks of one body read (`piece`, as `read()` fulfils): an array, null (none yet),
   * `undefined` (retry), or the promise of one of those (a continuation on a fallback).
   */
  #afterRead(piece) {
    this.#gap.stop();
    if (!piece.done) this.#seen += piece.value?.byteLength ?? 0;
    if (!piece.done && this.#plain !== null && piece.value instanceof Uint8Array)
      return this.#hostRead(piece.value);
    this.#catchUp();
    let out;
    if (piece.done) {
      this.#ended = true;
      if (this.#rest !== null) {
        // A partial event held by the host: the core decodes it with the end.
        const rest = this.#rest;
        this.#rest = null;
        this.#plain = null;
        const fed = this.#core.streamFeedCounted(this.#handle, rest);
        if (typeof fed !== "string") return this.#fedOther(fed);
        const end = this.#core.streamEnd(this.#handle);
        if (typeof end !== "string") return this.#fedOther(end);
        return this.#chunks(fed, end);
      }
      out = this.#core.streamEnd(this.#handle);
    } else {
      out = this.#core.streamFeed(this.#handle, piece.value);
    }
    if (typeof out !== "string") return this.#fedOther(out);
    if (out !== "") this.#plainCheck();
    return this.#chunks(out, "");
  }

  /** A feed's result other than chunks: retry (`undefined`) or the stream's error. */
  #fedOther(out) {
    if (out === undefined) return this.#live ? this.#resume() : undefined;
    throw this.#failed(out);
  }

  /** Chunks from the core's text results (JSON arrays or `""`), as one array or null. */
  #chunks(a, b) {
    this.raw = null;
    const first = a === "" ? null : JSON.parse(a);
    const second = b === "" ? null : JSON.parse(b);
    if (first === null) return second;
    if (second !== null) first.push(...second);
    return first;
  }

  /** Asks the core whether the host may read the next events itself. */
  #plainCheck() {
    if (this.#ended || this.#hidden !== null) return;
    this.#plain = this.#core.streamPlain(this.#handle) ?? null;
  }

  /** A piece read by the host itself (`#plain` set; the core's decoder holds nothing). */
  #hostRead(value) {
    let buf = this.#rest === null ? value : concat(this.#rest, value);
    this.#rest = null;
    const out = { chunks: [], raw: [], chars: 0 };
    const flags = { v: 0 };
    let at = 0;
    let slow = -1;
    // A `\r` may end lines: the core splits such a stream.
    if (value.indexOf(13) >= 0) slow = 0;
    while (slow < 0) {
      const nl = buf.indexOf(10, at);
      if (nl < 0 || nl + 1 >= buf.length) break;
      if (buf[nl + 1] !== 10 || !plainEvent(buf, at, nl, this.#plain, flags, out)) {
        slow = at;
        break;
      }
      at = nl + 2;
    }
    if (slow < 0 && buf.length - at > MAX_HELD_EVENT_BYTES) slow = at;
    if (this.#seen > this.#maxBytes || Date.now() - this.#started >= this.#maxMs - 1000) {
      this.#catchUp();
      const error = this.#core.streamPlainRead(this.#handle, value.byteLength, out.chars, flags.v);
      if (error !== undefined) throw this.#failed(error);
    } else {
      const u = this.#untold;
      u.bytes += value.byteLength;
      u.chars += out.chars;
      u.flags |= flags.v;
    }
    if (slow < 0) {
      if (at < buf.length) this.#rest = buf.slice(at);
      if (out.chunks.length === 0) return null;
      this.raw = out.raw;
      return out.chunks;
    }
    // The core decodes the rest of the piece from there: after the chunks before it are
    // handed out, so that its failure never drops them.
    this.#plain = null;
    if (out.chunks.length === 0) return this.#feedCounted(buf.subarray(slow));
    this.#deferred = buf.subarray(slow);
    this.raw = out.raw;
    return out.chunks;
  }

  /** Events the core decodes, of a piece counted already. */
  #feedCounted(bytes) {
    this.#catchUp();
    const fed = this.#core.streamFeedCounted(this.#handle, bytes);
    if (typeof fed !== "string") return this.#fedOther(fed);
    // Asked again once a piece gives chunks (not after the usage chunk or `[DONE]`).
    if (fed !== "") this.#plainCheck();
    return this.#chunks(fed, "");
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
      let request;
      try {
        request = attemptOf(this.#core.streamNext(this.#handle), this.#handle, this.#wire);
      } catch (e) {
        throw this.#failed(e);
      }
      if (typeof request === "number") {
        await sleep(request);
        continue;
      }
      this.#ended = false;
      const opened = await this.attempt(this.#send, request, stop.signal);
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
      // #pull inlined: the body's read is awaited here, and its chunks found synchronously.
      let out;
      if (this.#deferred !== null) out = this.#takeDeferred();
      else {
        this.#gap.start();
        let piece = null;
        try {
          piece = await this.#reader.read();
        } catch (e) {
          out = this.#readFailed(e);
        }
        if (piece !== null) out = this.#afterRead(piece);
      }
      if (out instanceof Promise) out = await out;
      if (out === undefined) break;
      if (out !== null) return out;
    }
    this.#close();
    return undefined;
  }

  abort() {
    if (this.#hidden !== null) return;
    this.#stop?.abort();
    this.#drop();
    this.#catchUp();
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
    this.#catchUp();
    this.#hidden = this.#core.streamClose(this.#handle) ?? "{}";
  }
}

/**
 * Opens a stream on the host loop: attempts (with the core's retries and fallbacks) until
 * one delivers its first chunks. Resolves to the source for `LlmuxStream`; rejects with
 * the typed error of a call that failed before any chunk.
 */
export async function openHostStream(core, send, endpoint, json, signal, wire = null) {
  let handle;
  try {
    handle =
      wire === null
        ? core.beginStream(endpoint, json)
        : core.beginWireStream(
            endpoint,
            wire.request.model,
            wire.request.stream_options?.include_usage === true,
            wire.callId,
            json,
          );
  } catch (e) {
    throw toError(e);
  }
  // No later than the core's clock when it plans the first attempt (`#untold`).
  const started = Date.now();
  try {
    for (;;) {
      // A caller's abort ends the call as it is: nothing booked, no deployment blamed.
      if (signal?.aborted) throw abortReason(signal);
      const request = attemptOf(core.streamNext(handle), handle, wire);
      if (typeof request === "number") {
        await sleep(request);
        continue;
      }
      const source = new HostStreamSource(core, handle, send, wire, started);
      const opened = await source.attempt(send, request, signal);
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
