// Error classes mirroring OpenAI's and LiteLLM's names. Every error the router throws is
// one of these, with the upstream status and the deployment it came from, never a secret.

/** Base class of every llmux error. */
export class LlmuxError extends Error {
  constructor(message, fields = {}) {
    super(message);
    this.name = new.target.name;
    this.status = fields.status ?? 500;
    this.llm_provider = fields.llm_provider ?? null;
    this.model = fields.model ?? null;
    this.model_group = fields.model_group ?? null;
    this.deployment_id = fields.deployment_id ?? null;
    this.retryable = fields.retryable ?? false;
    this.retry_after_ms = fields.retry_after_ms ?? null;
    this.attempts = fields.attempts ?? null;
  }
}

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
