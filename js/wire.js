// What the host loops share (js/router.js, js/host-stream.js): timer bounds, sleeps, and
// what the core is told about a reply or a failed fetch.

import { BadRequestError } from "./errors.js";

/** setTimeout's ceiling (ms); longer timeouts would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A fetch failure's message, with undici's real reason (ECONNREFUSED, …) when it has one. */
export function describeFetchError(e) {
  const message = e?.message ?? String(e);
  const cause = e?.cause;
  const detail = cause?.code ?? cause?.message;
  return detail ? `${message} (${detail})` : message;
}

/** Response headers the core reads when it classifies a failed reply. */
const READ_HEADERS = ["content-type", "retry-after", "retry-after-ms", "x-request-id"];

/**
 * `headers`' values the core reads, flat: `[name, value, …]`; of an error reply (`status` ≥
 * 400), every header (the error carries them; the core bounds them and drops `set-cookie`).
 */
export function headerPairs(headers, status = 200) {
  const out = [];
  if (status >= 400) {
    for (const [name, value] of headers) out.push(name, value);
    return out;
  }
  for (const name of READ_HEADERS) {
    const value = headers.get(name);
    if (value !== null) out.push(name, value);
  }
  return out;
}

/** What a call rejects with once its caller aborted: the signal's reason, as fetch does. */
export const abortReason = (signal) =>
  signal.reason ?? new DOMException("This operation was aborted", "AbortError");

/** The message of a reply refused by `max_response_bytes` (the core's, bounds.rs). */
export const tooLarge = (max) =>
  `the upstream reply is larger than max_response_bytes (${max} bytes)`;

export const sleep = (ms) =>
  new Promise((resolve) => setTimeout(resolve, Math.min(ms, MAX_TIMER_MS)));

/**
 * The largest file llmux uploads (`transcription`, `createFile`): the bytes are copied into the
 * core's memory once (wasm memory never shrinks), so one call may not grow it without bound.
 */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

/**
 * The bytes, name and content type of an upload: a `Blob | File | ArrayBuffer | Uint8Array`,
 * or a string when `text`; at most `MAX_UPLOAD_BYTES`. `method` names the call in errors.
 */
export async function uploadBytes(file, filename, method, { text = false } = {}) {
  let bytes;
  let name = filename;
  let type;
  if (text && typeof file === "string") {
    bytes = new TextEncoder().encode(file);
  } else if (typeof Blob !== "undefined" && file instanceof Blob) {
    bytes = new Uint8Array(await file.arrayBuffer());
    name ??= typeof file.name === "string" && file.name ? file.name : undefined;
    type = file.type || undefined;
  } else if (file instanceof ArrayBuffer) {
    bytes = new Uint8Array(file);
  } else if (ArrayBuffer.isView(file)) {
    bytes = new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  } else {
    const kinds = text
      ? "Blob, File, ArrayBuffer, Uint8Array or string"
      : "Blob, File, ArrayBuffer or Uint8Array";
    throw new BadRequestError(`${method}(): \`file\` must be a ${kinds}`, { status: 400 });
  }
  if (bytes.byteLength > MAX_UPLOAD_BYTES) {
    throw new BadRequestError(
      `${method}(): \`file\` is ${bytes.byteLength} bytes, more than the ${MAX_UPLOAD_BYTES} llmux uploads`,
      { status: 400 },
    );
  }
  return { bytes, name, type };
}

/** `body` with the router's metadata as a non-enumerable `_hidden_params` (LiteLLM's name). */
export function attachHidden(body, hidden) {
  Object.defineProperty(body, "_hidden_params", {
    value: hidden,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return body;
}

/** The core's `{ hidden, body }` envelope (JSON text) as the body with `_hidden_params`. */
export function withHiddenParams(text) {
  const { hidden, body } = JSON.parse(text);
  return attachHidden(body, hidden);
}
