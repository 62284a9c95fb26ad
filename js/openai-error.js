// llmux errors in OpenAI's wire shape, shared by the gateway's JSON errors and the error event
// that ends a stream's SSE bytes. Internal: not re-exported from the package entries.
import { LlmuxError, openAiKind } from "./errors.js";

/** The HTTP status to answer `e` with: its own when it is an error status, else 500. */
export function httpStatus(e) {
  return Number.isInteger(e?.status) && e.status >= 400 && e.status <= 599 ? e.status : 500;
}

/**
 * `e` as OpenAI's error body, `{ error: { message, type, param, code } }` (what the gateway
 * answers and what a stream's `data: {"error": …}` event carries).
 */
export function openAiErrorBody(e) {
  if (!(e instanceof LlmuxError)) {
    const message = String(e?.message ?? e);
    return { error: { message, type: "server_error", param: null, code: null } };
  }
  // llmux's own type and code (not the upstream's): one taxonomy on the wire, as LiteLLM's proxy.
  const { type, code } = openAiKind(e.name, httpStatus(e));
  return { error: { message: e.message, type, param: null, code } };
}
