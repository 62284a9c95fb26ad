// llmux errors in OpenAI's wire shape, shared by the gateway's JSON errors and the error event
// that ends a stream's SSE bytes. Internal: not re-exported from the package entries.
import { LlmuxError } from "./errors.js";

/** The HTTP status to answer `e` with: its own when it is an error status, else 500. */
export function httpStatus(e) {
  return Number.isInteger(e?.status) && e.status >= 400 && e.status <= 599 ? e.status : 500;
}

/** OpenAI's error `type` per llmux error class. */
const OPENAI_TYPES = {
  AuthenticationError: "authentication_error",
  PermissionDeniedError: "permission_error",
  RateLimitError: "rate_limit_error",
  NoDeploymentsAvailableError: "rate_limit_error",
  Timeout: "timeout_error",
  InternalServerError: "server_error",
  ServiceUnavailableError: "server_error",
  APIConnectionError: "api_connection_error",
};
/** OpenAI's error `code` for the classes that have one. */
const OPENAI_CODES = {
  ContextWindowExceededError: "context_length_exceeded",
  ContentPolicyViolationError: "content_policy_violation",
  NoDeploymentsAvailableError: "no_deployments_available",
};

/**
 * `e` as OpenAI's error body, `{ error: { message, type, param, code } }` (what the gateway
 * answers and what a stream's `data: {"error": …}` event carries).
 */
export function openAiErrorBody(e) {
  if (!(e instanceof LlmuxError)) {
    const message = String(e?.message ?? e);
    return { error: { message, type: "server_error", param: null, code: null } };
  }
  const type =
    OPENAI_TYPES[e.name] ?? (httpStatus(e) >= 500 ? "server_error" : "invalid_request_error");
  return { error: { message: e.message, type, param: null, code: OPENAI_CODES[e.name] ?? null } };
}
