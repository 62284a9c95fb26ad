// Error classes mirroring OpenAI's and LiteLLM's names. Every error the router throws is
// one of these, with the upstream status and the deployment it came from, never a secret.

/** OpenAI's error `type` per llmux error class (else by status). */
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

/** llmux's own OpenAI `type` and `code` for an error class and status. */
export function openAiKind(name, status) {
  const type =
    OPENAI_TYPES[name] ??
    (Number.isInteger(status) && status >= 500 ? "server_error" : "invalid_request_error");
  return { type, code: OPENAI_CODES[name] ?? null };
}

/**
 * Base class of every llmux error. Beside llmux's fields it has openai-node's `APIError` ones:
 * `type`, `code`, `param` (the upstream's own when its error body had them, else llmux's),
 * `headers` (the upstream error reply's, else null) and `request_id` (its `x-request-id`).
 */
export class LlmuxError extends Error {
  constructor(message, fields = {}) {
    super(message);
    this.name = new.target.name;
    this.status = fields.status ?? 500;
    const own = openAiKind(new.target.name, this.status);
    this.type = fields.type ?? own.type;
    this.code = fields.code ?? own.code;
    this.param = fields.param ?? null;
    this.headers = fields.headers ?? null;
    this.request_id = fields.request_id ?? null;
    this.llm_provider = fields.llm_provider ?? null;
    this.model = fields.model ?? null;
    this.model_group = fields.model_group ?? null;
    this.deployment_id = fields.deployment_id ?? null;
    this.retryable = fields.retryable ?? false;
    this.retry_after_ms = fields.retry_after_ms ?? null;
    this.attempts = fields.attempts ?? null;
  }
}

/** openai-node's name for `request_id`. */
Object.defineProperty(LlmuxError.prototype, "requestID", {
  get() {
    return this.request_id;
  },
  configurable: true,
});

export class BadRequestError extends LlmuxError {}
export class ContextWindowExceededError extends BadRequestError {}
export class ContentPolicyViolationError extends BadRequestError {}
export class AuthenticationError extends LlmuxError {}
export class PermissionDeniedError extends LlmuxError {}
export class NotFoundError extends LlmuxError {}
export class Timeout extends LlmuxError {}
export class UnprocessableEntityError extends LlmuxError {}
export class RateLimitError extends LlmuxError {}
/** Every deployment of the group is cooling down; `retry_after_ms` says when one returns. */
export class NoDeploymentsAvailableError extends RateLimitError {}
export class InternalServerError extends LlmuxError {}
export class ServiceUnavailableError extends LlmuxError {}
export class APIConnectionError extends LlmuxError {}

/** Invalid Router options; `field` is the offending path, e.g. `model_list[2].litellm_params.model`. */
export class ConfigError extends LlmuxError {
  constructor(message, fields = {}) {
    super(message, { status: 400, ...fields });
    this.field = fields.field ?? null;
  }
}

const CLASSES = {
  BadRequestError,
  ContextWindowExceededError,
  ContentPolicyViolationError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  Timeout,
  UnprocessableEntityError,
  RateLimitError,
  NoDeploymentsAvailableError,
  InternalServerError,
  ServiceUnavailableError,
  APIConnectionError,
  ConfigError,
};

/** Turns what the wasm core rejected with (`{ kind, message, … }`) into an error class. */
export function toError(raw) {
  if (raw instanceof Error) return raw;
  if (raw && typeof raw === "object" && typeof raw.kind === "string") {
    const Class = CLASSES[raw.kind] ?? LlmuxError;
    return new Class(raw.message, raw);
  }
  return new LlmuxError(String(raw));
}

export const errors = { LlmuxError, ...CLASSES };
