// Type declarations for the llmux package (every public name).

/** One `model_list` entry, as LiteLLM's Router takes it. */
export interface DeploymentConfig {
  model_name: string;
  litellm_params: LiteLLMParams;
  model_info?: ModelInfo;
  /** LiteLLM's entry-level limits: copied into `litellm_params` unless set there. */
  rpm?: number;
  tpm?: number;
}

export interface LiteLLMParams {
  /** `provider/model`, e.g. `"openai/gpt-4o-mini"`; a bare OpenAI model name is inferred. */
  model: string;
  api_key?: string;
  api_base?: string;
  base_url?: string;
  api_version?: string;
  organization?: string;
  /** Seconds. */
  timeout?: number;
  /** Seconds. */
  stream_timeout?: number;
  /** Retries of a retryable failure on this same deployment, within one attempt. Default 0. */
  max_retries?: number;
  custom_llm_provider?: string;
  rpm?: number;
  tpm?: number;
  weight?: number;
  /** Seconds this deployment cools down for (overrides the router's `cooldown_time`). */
  cooldown_time?: number;
  /** Requests in flight at once on this deployment. */
  max_parallel_requests?: number;
  /** Tier: lower orders are tried first, the next tier when one fails (README, "Order tiers"). */
  order?: number;
  headers?: Record<string, string>;
  extra_headers?: Record<string, string>;
  extra_body?: Record<string, unknown>;
  input_cost_per_token?: number;
  output_cost_per_token?: number;
  /**
   * USD per second (README, "Per-second prices"): with no per-token price, a call costs one
   * rate (cost_per_second, else input, else output) × its response time; a transcription,
   * the output (else input) rate × the audio's duration.
   */
  cost_per_second?: number;
  input_cost_per_second?: number;
  output_cost_per_second?: number;
  /** USD this deployment may spend per `budget_duration` window (both or neither). */
  max_budget?: number;
  /** The budget window: "30s", "5m", "1h", "1d", "2w", "1mo", or hourly/daily/weekly/monthly. */
  budget_duration?: string;
  tags?: string[];
  /** OpenAI request parameters used as per-deployment defaults (the request wins). */
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  seed?: number;
  [openAiDefault: string]: unknown;
}

export interface ModelInfo {
  /** Generated from the group and params (stable) when absent. */
  id?: string;
  mode?:
    | "chat"
    | "completion"
    | "embedding"
    | "image_generation"
    | "audio_transcription"
    | "audio_speech"
    | "moderation"
    | "rerank";
  input_cost_per_token?: number;
  output_cost_per_token?: number;
  /** USD per second, as in `litellm_params` (which wins). */
  cost_per_second?: number;
  input_cost_per_second?: number;
  output_cost_per_second?: number;
  max_tokens?: number;
  max_input_tokens?: number;
  max_output_tokens?: number;
  [supportsFlag: `supports_${string}`]: boolean | undefined;
  [key: string]: unknown;
}

/** `[{ "group": ["fallback-group", …] }, …]`; the key `"*"` matches every group. */
export type Fallbacks = Array<Record<string, string[]>>;

export interface RetryPolicy {
  BadRequestErrorRetries?: number;
  AuthenticationErrorRetries?: number;
  TimeoutErrorRetries?: number;
  RateLimitErrorRetries?: number;
  ContentPolicyViolationErrorRetries?: number;
  InternalServerErrorRetries?: number;
  ServiceUnavailableErrorRetries?: number;
  NotFoundErrorRetries?: number;
  DefaultRetries?: number;
}

export interface AllowedFailsPolicy {
  BadRequestErrorAllowedFails?: number;
  AuthenticationErrorAllowedFails?: number;
  TimeoutErrorAllowedFails?: number;
  RateLimitErrorAllowedFails?: number;
  ContentPolicyViolationErrorAllowedFails?: number;
  InternalServerErrorAllowedFails?: number;
  ServiceUnavailableErrorAllowedFails?: number;
  BadGatewayErrorAllowedFails?: number;
  NotFoundErrorAllowedFails?: number;
}

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** LiteLLM's `Router(...)` options plus llmux's own (`env`, `fetch`, `logger`). */
export interface RouterOptions {
  model_list: DeploymentConfig[];
  routing_strategy?:
    | "simple-shuffle"
    | "least-busy"
    | "usage-based-routing"
    | "usage-based-routing-v2"
    | "latency-based-routing"
    | "cost-based-routing";
  /** For latency-based-routing: `ttl` (seconds, 3600), `lowest_latency_buffer` (0), `max_latency_list_size` (10). */
  routing_strategy_args?: {
    ttl?: number;
    lowest_latency_buffer?: number;
    max_latency_list_size?: number;
  };
  /**
   * Named sets of model groups, each picked by its own strategy; a group's name is callable as
   * a model (its members together). `"priority"` groups are a ConfigError. At most 256.
   */
  routing_groups?: Array<{
    group_name: string;
    models: string[];
    routing_strategy: Exclude<RouterOptions["routing_strategy"], undefined>;
    routing_strategy_args?: RouterOptions["routing_strategy_args"];
  }>;
  /** Default 2. */
  num_retries?: number;
  /** Depth of nested fallbacks. Default 5. */
  max_fallbacks?: number;
  /** Seconds. Default 6000 (LiteLLM's). */
  timeout?: number;
  stream_timeout?: number;
  /** Minimum seconds between retries. Default 0. */
  retry_after?: number;
  retry_policy?: RetryPolicy;
  model_group_retry_policy?: Record<string, RetryPolicy>;
  /** Failures per minute tolerated before a cooldown. Default 3. */
  allowed_fails?: number;
  allowed_fails_policy?: AllowedFailsPolicy;
  /** Seconds. Default 5. */
  cooldown_time?: number;
  disable_cooldowns?: boolean;
  fallbacks?: Fallbacks;
  default_fallbacks?: string[];
  context_window_fallbacks?: Fallbacks;
  content_policy_fallbacks?: Fallbacks;
  model_group_alias?: Record<string, string | { model: string; hidden?: boolean }>;
  default_litellm_params?: Partial<LiteLLMParams>;
  set_verbose?: boolean;
  debug_level?: "DEBUG" | "INFO";
  ignore_invalid_deployments?: boolean;
  /** Accepted for compatibility; `fetch` pools connections itself. */
  client_ttl?: number;
  /** Values for `"os.environ/NAME"` references (before `process.env` / `Deno.env`). */
  env?: Record<string, string | undefined>;
  /** A fetch to use instead of `globalThis.fetch` (a Workers service binding, a test double). */
  fetch?: typeof globalThis.fetch;
  /**
   * The WebSocket constructor `realtime()` opens upstream sockets with: one that accepts
   * `(url, { headers })`, e.g. the `ws` package's (`(await import("ws")).default`). Needed in
   * Node; workerd, Deno and browsers have their own way (README, "Realtime").
   */
  WebSocket?: RealtimeWebSocketConstructor;
  /** Where log lines go (default `console`); lines never contain credentials. */
  logger?: Logger;
  /**
   * Exact input-token count for pre-call context-window checks and `countTokens` (default: an
   * estimate). Anything but a number (`undefined`, say), or a throw, falls back to the estimate.
   */
  tokenizer?: (request: Record<string, unknown>, model: string) => number | null | undefined;
  /** Event callbacks; payloads never contain credentials. A throwing callback is ignored. */
  on?: RouterEvents;
  /** LiteLLM-style success callbacks (README, "Logging callbacks"); strings are refused. */
  success_callback?: LoggingCallback | LoggingCallback[];
  /** LiteLLM-style failure callbacks. */
  failure_callback?: LoggingCallback | LoggingCallback[];
  /** Callbacks called on success and failure (and `log_pre_api_call` objects at start). */
  callbacks?: LoggingCallback | LoggingCallback[];
  /** Leaves `messages` and `response` out of logging payloads. Default false. */
  turn_off_message_logging?: boolean;
  /** Response caching for completion, text completion and embedding calls. Default false. */
  cache_responses?: boolean;
  cache_kwargs?: CacheKwargs;
  /** Model groups that share cached answers, e.g. `[["gpt-4o-openai", "gpt-4o-azure"]]`. */
  caching_groups?: string[][];
  /** A KV store for cached answers instead of the in-memory LRU (needs `cache_responses`). */
  cache?: CacheStore;
  enable_pre_call_checks?: boolean;
  default_max_parallel_requests?: number;
  /** Tag routing by `metadata.tags` / `tags` and deployments' `tags` (README, "Tag routing"). Default false. */
  enable_tag_filtering?: boolean;
  /** A deployment matches when it carries any request tag (true, default) or all of them. */
  tag_filtering_match_any?: boolean;
  /** When set, only request tags with this prefix route (the prefix stripped). Default "". */
  tag_routing_prefix?: string;
  /** `deployment_affinity`, `session_affinity`, `enforce_model_rate_limits`, `prompt_caching`. */
  optional_pre_call_checks?: Array<
    "deployment_affinity" | "session_affinity" | "enforce_model_rate_limits" | "prompt_caching"
  >;
  /** Affinity pin lifetime in seconds. Default 3600. */
  deployment_affinity_ttl_seconds?: number;
  /** Per model group: the affinity checks that apply instead of `optional_pre_call_checks`. */
  model_group_affinity_config?: Record<string, Array<"deployment_affinity" | "session_affinity">>;
  /** Move a session pin off a cooling, unhealthy or removed deployment. Default false. */
  session_affinity_repin_on_failover?: boolean;
  /** Deployments whose last health check failed leave rotation. Default false. */
  enable_health_check_routing?: boolean;
  /** Seconds after which a health result is ignored. Default 600. */
  health_check_staleness_threshold?: number;
  /** 429 and 408 health-check failures keep a deployment in rotation. Default false. */
  health_check_ignore_transient_errors?: boolean;
  /** Model groups probed in the background every `health_check_interval` seconds. */
  background_health_check_model_groups?: string[];
  /** Seconds between background health probes (llmux's own option). Default 300, min 1. */
  health_check_interval?: number;
  /** Scheduler priority of requests that set none (lower is served first). Default none. */
  default_priority?: number;
  /** Seconds between a queued request's checks for room. Default 0.03. */
  polling_interval?: number;
  /** With simple-shuffle, re-pick untried deployments of a failed group before fallbacks. Default false. */
  enable_weighted_failover?: boolean;
  /** `false`: a provider's plain 400 ends the call without fallbacks. Default true. */
  fallback_on_unsupported_params?: boolean;
  /** Continue a chat stream that broke after text on a fallback (assistant prefill). Default false. */
  enable_mid_stream_fallback_continuation?: boolean;
  /**
   * Shares cooldowns, rpm/tpm and failure counters, latency and in-flight counts with other
   * Router instances (other processes, isolates, Workers) through a store. See "Shared state".
   */
  state?: StateStore;
  /**
   * The key (at least 16 characters; `"os.environ/NAME"` works) that signs the file and batch
   * ids llmux returns, so each reaches the deployment that holds it. Required by `createFile`,
   * `createBatch`, `retrieveBatch`, `cancelBatch`, `fileContent`, `listBatches`, `listFiles`,
   * `retrieveFile` and `deleteFile`. Never printed.
   */
  files_secret?: string;
  /** Key namespace of the shared state: keys are `llmux:<state_prefix>:…`. Default "default". */
  state_prefix?: string;
  /** Least time between two background syncs with the store, in ms. Default 1000. */
  state_sync_interval_ms?: number;
  /**
   * How long a fresh Router's first routing decision waits for the first snapshot of the
   * shared state, in ms (fail-open after it). Default 250, at most 5000; 0 does not wait.
   */
  state_first_sync_timeout_ms?: number;
  /**
   * LiteLLM's `RouterGeneralSettings`: `async_only_mode` is accepted (llmux is async only);
   * `pass_through_all_models: true` is a ConfigError (use a `"*"` wildcard deployment).
   */
  router_general_settings?: { async_only_mode?: boolean; pass_through_all_models?: false };
  /**
   * Deliberately not in llmux: LiteLLM's routing plugins are Python objects; anything but
   * null/[] is a ConfigError. Use `setCustomRoutingStrategy` (alias `registerPlugin`).
   */
  plugins?: null | [];
  /** A spending limit per provider (`custom_llm_provider`), in USD per `time_period` window. */
  provider_budget_config?: Record<string, { budget_limit: number; time_period: string }>;
  /** LiteLLM's Redis options: make a Redis `state` store (https:// = Upstash REST). */
  redis_url?: string;
  redis_host?: string;
  redis_port?: number | string;
  /** Redis ACL user (with `redis_password`). */
  redis_username?: string;
  redis_password?: string;
  redis_db?: number | string;
  /** TLS to Redis (as a `rediss://` URL); the host's trusted CAs verify the server. */
  redis_ssl?: boolean;
  /** `router.fetch` settings; without `master_key` or `keys` every request is a 401. */
  gateway?: GatewayOptions;
  /** Other LiteLLM options are accepted at their defaults and refused with a ConfigError when set. */
  [litellmOption: string]: unknown;
}

/** The `gateway` option: how `router.fetch` authenticates and what it accepts. */
export interface GatewayOptions {
  /** A key with access to every model group; `"os.environ/NAME"` resolves at request time too. */
  master_key?: string;
  /** Virtual keys (`"os.environ/NAME"` allowed) and the model groups each may use (`"*"`: all). */
  keys?: Record<string, { models: string[] }>;
  /** Request body limit in bytes (413 above it). Default 25 MiB. */
  max_body_bytes?: number;
  /** Mount path, e.g. `"/llm"` serves `/llm/v1/chat/completions`. Default none. */
  prefix?: string;
  /** Off by default; `true`/`"*"` allows any origin, or list the allowed origins. */
  cors?: boolean | string | string[];
  /**
   * Whose requests share response-cache entries: `"key"` (default) gives every gateway key
   * its own; `"shared"` lets all keys share (a hit then tells one key what another asked).
   */
  cache_scope?: "key" | "shared";
  /**
   * The dashboard (README, "Dashboard"): `true` serves it at `/ui` (under `prefix`), a path
   * like `"/dashboard"` there instead. Off by default; its data needs the master key.
   */
  ui?: boolean | string;
  /**
   * `GET /metrics` (Prometheus text): `true` (default) with the master key, `{ public: true }`
   * without a key, `false` not served.
   */
  metrics?: boolean | { public?: boolean };
}

/** LiteLLM's `StandardLoggingPayload` fields llmux fills (README, "Logging callbacks"). */
export interface StandardLoggingPayload {
  id: string;
  litellm_call_id: string;
  trace_id: string;
  call_type: string | null;
  status: "success" | "failure";
  stream: boolean | null;
  /** Epoch seconds. */
  startTime: number;
  endTime: number;
  completionStartTime: number;
  response_time: number;
  /** The upstream model (success) or the requested group (failure). */
  model: string | null;
  model_group: string | null;
  model_id: string | null;
  custom_llm_provider: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
  response_cost: number;
  cache_hit: boolean;
  /** The request's `metadata`, with `requester_metadata` (the same object) as LiteLLM's proxy. */
  metadata: Record<string, unknown>;
  end_user: string | null;
  request_tags: string[];
  model_parameters: Record<string, unknown>;
  messages?: unknown;
  response?: unknown;
  error_str: string | null;
  error_information: {
    error_class: string | null;
    error_code: string | null;
    llm_provider: string | null;
    error_message: string | null;
  } | null;
  hidden_params?: Record<string, unknown>;
  [routerField: string]: unknown;
}

/** LiteLLM's callback `kwargs`: the request's fields plus `standard_logging_object`. */
export interface LoggingKwargs {
  model: string | null;
  messages: unknown;
  litellm_call_id: string;
  metadata: Record<string, unknown>;
  standard_logging_object: StandardLoggingPayload;
  exception?: unknown;
  [field: string]: unknown;
}

/** A function `(kwargs, response, startTime, endTime)` or a LiteLLM `CustomLogger`-like object. */
export type LoggingCallback =
  | ((kwargs: LoggingKwargs, response: unknown, startTime: Date, endTime: Date) => unknown)
  | {
      log_pre_api_call?(model: string | null, messages: unknown, kwargs: LoggingKwargs): unknown;
      log_success_event?(kwargs: LoggingKwargs, response: unknown, start: Date, end: Date): unknown;
      log_failure_event?(kwargs: LoggingKwargs, response: unknown, start: Date, end: Date): unknown;
      async_log_pre_api_call?(
        model: string | null,
        messages: unknown,
        kwargs: LoggingKwargs,
      ): Promise<unknown>;
      async_log_success_event?(
        kwargs: LoggingKwargs,
        response: unknown,
        start: Date,
        end: Date,
      ): Promise<unknown>;
      async_log_failure_event?(
        kwargs: LoggingKwargs,
        response: unknown,
        start: Date,
        end: Date,
      ): Promise<unknown>;
    };

/** One deployment's routing status (`getDeploymentStatus()`). */
export interface DeploymentStatus {
  id: string;
  model_group: string;
  provider: string;
  status: "healthy" | "cooling_down" | "budget_spent" | "over_limit" | "disabled";
  disabled: boolean;
  /** Epoch ms when its cooldown ends, or null. */
  cooldown_until_ms: number | null;
  rpm: number | null;
  tpm: number | null;
  /** This clock minute's requests and tokens (across instances with a `state` store). */
  minute_requests: number;
  minute_tokens: number;
  /** With status "budget_spent": epoch ms when the spent budget's window ends, else null. */
  budget_resets_at_ms: number | null;
}

/** The second argument of every request method. */
export interface CallOptions {
  /**
   * Cancels the call: the upstream fetch is aborted, no retry or fallback follows, and the
   * call rejects with the signal's reason.
   */
  signal?: AbortSignal;
}

/** A WebSocket constructor that can send headers (the `ws` package, Deno's, undici's). */
export type RealtimeWebSocketConstructor = new (
  url: string,
  options: { headers: Record<string, string> },
) => unknown;

/** `realtime()`'s options. */
export interface RealtimeOptions {
  /** Cancels the upgrade (no further attempt); an open socket is closed with `close()`. */
  signal?: AbortSignal;
  /** Seconds for each upgrade attempt (at most the deployment's / router's `timeout`). */
  timeout?: number;
}

/**
 * The connected upstream socket `realtime()` resolves to: the host's WebSocket (the `ws`
 * package's object with the `WebSocket` option), with `_hidden_params` naming the deployment.
 */
export interface RealtimeSocket extends WithHiddenParams {
  readonly readyState: number;
  binaryType: string;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
  addEventListener(
    type: "message",
    listener: (event: MessageEvent) => void,
    options?: unknown,
  ): void;
  addEventListener(type: "close", listener: (event: CloseEvent) => void, options?: unknown): void;
  addEventListener(
    type: "open" | "error",
    listener: (event: Event) => void,
    options?: unknown,
  ): void;
  removeEventListener(type: string, listener: (event: never) => void): void;
}

/** The `ctx` of a Workers fetch handler (only `waitUntil` is used). */
export interface GatewayContext {
  waitUntil(promise: Promise<unknown>): void;
}

export interface RouterEvents {
  /** A call starts (LiteLLM's pre-call): id, call_type, model_group, metadata, end_user, … */
  start?(event: Partial<StandardLoggingPayload> & { id: string }): void;
  /** One upstream attempt ended (for a stream: at its first byte). */
  attempt?(event: {
    id: string | null;
    call_id: string | null;
    model_group: string;
    model_id: string;
    custom_llm_provider: string;
    model: string;
    attempt: number;
    duration_ms: number;
    ok: boolean;
    error: string | null;
    status: number | null;
    message: string | null;
    stream: boolean;
  }): void;
  success?(
    event: StandardLoggingPayload & {
      status: "success";
      call_id: string;
      model_group: string;
      model_id: string;
      answered_by_group: string;
      custom_llm_provider: string;
      latency_ms: number;
      response_cost: number | null;
      attempts: number;
      retries: number;
      fallback_model_group: string | null;
      /** Present (true) when the answer came from the cache. */
      cache_hit?: boolean;
      /** The answering exchange alone, ms (absent for a cache hit). */
      deployment_latency_ms?: number;
      /** A stream's time to its first chunk, ms; null otherwise (absent for a cache hit). */
      time_to_first_token_ms?: number | null;
      /** The answer's usage (absent for a cache hit). */
      usage?: Record<string, unknown>;
    },
  ): void;
  failure?(
    event: StandardLoggingPayload & {
      /** `"failure"` (the payload's); the HTTP status is `error_information.error_code`. */
      status: "failure";
      model_group: string;
      /** The error class, e.g. `"RateLimitError"`. */
      error: string;
      message: string;
      llm_provider: string | null;
      deployment_id: string | null;
      attempts: number;
      latency_ms: number;
    },
  ): void;
  retry?(event: {
    /** The call id (as `call_id`). */
    id: string | null;
    call_id: string | null;
    model_group: string;
    model_id: string;
    error: string;
    status: number;
    retry: number;
    delay_ms: number;
  }): void;
  fallback?(event: {
    id: string | null;
    call_id: string | null;
    from: string;
    to: string;
    /** The error class that caused the fallback. */
    error: string;
    status: number | null;
  }): void;
  cooldown?(event: {
    /** Always null: a cooldown belongs to the deployment, not to a call. */
    id: null;
    model_id: string;
    model_group: string;
    until_ms: number;
    cooldown_ms: number;
    error: string;
    status: number;
  }): void;
}

/** `cache_kwargs`: how answers are cached. */
export interface CacheKwargs {
  /**
   * `"local"`: the in-memory LRU (the default without `redis_*`). `"redis"`: the Router's
   * `redis_*` store (the default with `redis_*`; without them a ConfigError).
   */
  type?: "local" | "redis";
  /** Seconds an answer stays cached. Default 600. */
  ttl?: number;
  /** Prefix of every key (`<namespace>:<sha256>`). */
  namespace?: string;
  /** Bound of the in-memory cache in bytes (keys + entries). Default 4 MiB (4194304). */
  max_size_bytes?: number;
  /** Default: every cacheable call type. */
  supported_call_types?: Array<
    | "completion"
    | "acompletion"
    | "text_completion"
    | "atext_completion"
    | "embedding"
    | "aembedding"
  >;
}

/**
 * A key-value store for cached answers (Workers KV, Deno KV, Upstash, Redis, a Map, …).
 * Values are strings that carry their own expiry; `ttl` (whole seconds) is a hint. Methods
 * may return Promises. A throwing or rejecting store is bypassed (logged once), never fatal.
 */
export interface CacheStore {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  set(key: string, value: string, options: { ttl?: number }): unknown;
  delete?(key: string): unknown;
}

/** The parts of a Workers KV namespace binding `workersKvCache` uses. */
export interface KVNamespaceLike {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * A `cache` store over a Workers KV namespace binding. KV's minimum TTL is 60 s: shorter
 * TTLs are stored for 60 s and expire on the entry's own expiry.
 */
export declare function workersKvCache(namespace: KVNamespaceLike): CacheStore;

/** LiteLLM's per-request cache controls. */
export interface CacheControls {
  /** Skip the lookup; the fresh answer is still stored. */
  "no-cache"?: boolean;
  /** Do not store this answer. */
  "no-store"?: boolean;
  /** Seconds to keep this answer (overrides `cache_kwargs.ttl`). */
  ttl?: number;
  /** Namespace of this request's key (overrides `cache_kwargs.namespace`). */
  namespace?: string;
  /** Accept only a cached answer at most this many seconds old. */
  "s-maxage"?: number;
}

/**
 * LiteLLM per-call kwargs accepted in the request, next to the OpenAI parameters (not in the
 * second argument, which is `CallOptions`: `{ signal }`).
 */
export interface RouterKwargs {
  /** Per-request cache controls (with `cache_responses: true`). */
  cache?: CacheControls;
  /** `false`: neither read nor write the cache for this call. */
  caching?: boolean;
  num_retries?: number;
  /** Seconds. */
  timeout?: number;
  fallbacks?: Fallbacks | string[];
  context_window_fallbacks?: Fallbacks;
  content_policy_fallbacks?: Fallbacks;
  max_fallbacks?: number;
  disable_fallbacks?: boolean;
  /** Fail the requested group on purpose, to exercise fallbacks. */
  mock_testing_fallbacks?: boolean;
  /** Scheduler priority while the group is saturated (lower is served first). */
  priority?: number;
  metadata?: Record<string, unknown>;
}

export type ChatMessage =
  | {
      role: "system" | "developer";
      content: string | Array<{ type: "text"; text: string }>;
      name?: string;
    }
  | { role: "user"; content: string | Array<Record<string, unknown>>; name?: string }
  | {
      role: "assistant";
      content?: string | null;
      tool_calls?: ToolCall[];
      refusal?: string | null;
      name?: string;
    }
  | { role: "tool"; content: string; tool_call_id: string };

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ChatCompletionRequest extends RouterKwargs {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  top_p?: number;
  n?: number;
  stop?: string | string[];
  max_tokens?: number;
  max_completion_tokens?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  seed?: number;
  user?: string;
  tools?: Array<{
    type: "function";
    function: { name: string; description?: string; parameters?: object };
  }>;
  tool_choice?: "none" | "auto" | "required" | { type: "function"; function: { name: string } };
  response_format?: { type: "text" | "json_object" | "json_schema"; json_schema?: object };
  [openAiParam: string]: unknown;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
}

/** Router metadata on every response (non-enumerable: `JSON.stringify` stays pure OpenAI). */
export interface HiddenParams {
  model_id: string;
  model_group: string;
  custom_llm_provider: string;
  api_base: string | null;
  /** USD, from usage and the deployment's prices (model_info, litellm_params or the bundled map). */
  response_cost: number | null;
  cache_hit: boolean;
  /** Upstream calls made for this request, the successful one included. */
  attempts: number;
  retries: number;
  fallback_model_group: string | null;
  latency_ms: number;
}

export interface WithHiddenParams {
  readonly _hidden_params: HiddenParams;
}

export interface ChatCompletion extends WithHiddenParams {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  system_fingerprint?: string | null;
  choices: Array<{
    index: number;
    message: {
      role: "assistant";
      content: string | null;
      refusal?: string | null;
      tool_calls?: ToolCall[];
    };
    logprobs: unknown;
    finish_reason: "stop" | "length" | "tool_calls" | "content_filter" | "function_call" | null;
  }>;
  usage?: Usage;
}

/** Per-request streaming options (`stream: true`). */
export interface StreamOptions {
  stream?: boolean;
  /** End the stream with a chunk carrying `usage` (and `choices: []`). */
  stream_options?: { include_usage?: boolean };
  /** Seconds to wait for the first byte and between chunks; overrides the Router's. */
  stream_timeout?: number;
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  system_fingerprint?: string | null;
  choices: Array<{
    index: number;
    delta: {
      role?: "assistant";
      content?: string | null;
      reasoning_content?: string;
      refusal?: string | null;
      tool_calls?: Array<{
        index: number;
        id?: string;
        type?: "function";
        function?: { name?: string; arguments?: string };
      }>;
    };
    logprobs: unknown;
    finish_reason: "stop" | "length" | "tool_calls" | "content_filter" | "function_call" | null;
  }>;
  /** Only on the last chunk, with `stream_options.include_usage`. */
  usage?: Usage | null;
}

export interface TextCompletionChunk {
  id: string;
  object: "text_completion";
  created: number;
  model: string;
  choices: Array<{ text: string; index: number; logprobs: unknown; finish_reason: string | null }>;
  usage?: Usage | null;
}

/**
 * A streamed completion (`stream: true`): iterate it with `for await`, or pipe
 * `toReadableStream()` into a `Response`. One consumer only. Leaving the loop, `abort()` or
 * cancelling the ReadableStream closes the upstream connection. A failure after the first chunk
 * is thrown from the iterator as a typed error (an `error` SSE event in `toReadableStream()`).
 */
export declare class LlmuxStream<Chunk> implements AsyncIterable<Chunk> {
  private constructor();
  /** Router metadata; `response_cost` is set once the stream has ended. */
  readonly _hidden_params: HiddenParams;
  [Symbol.asyncIterator](): AsyncIterator<Chunk>;
  /** OpenAI SSE bytes: `data: {chunk}\n\n` … `data: [DONE]\n\n`, pulled as the reader reads. */
  toReadableStream(): ReadableStream<Uint8Array>;
  /**
   * openai-node's `Stream#toReadableStream()` format: `JSON.stringify(chunk) + "\n"` per chunk,
   * no `[DONE]`; read it back with the `openai` package's `Stream.fromReadableStream`. A
   * failure after the first chunk errors the ReadableStream with the typed error.
   */
  toNDJSONReadableStream(): ReadableStream<Uint8Array>;
  /** Stops the stream and closes the upstream connection. */
  abort(): void;
}

/**
 * LiteLLM's `stream_chunk_builder`: the chunks of one stream -> the `chat.completion` (or
 * `text_completion`) the same call would have answered unstreamed (content joined, tool calls
 * merged by index, the last finish_reason, usage from the usage chunk when there is one).
 */
export declare function streamChunkBuilder(
  chunks: ChatCompletionChunk[],
): Omit<ChatCompletion, "_hidden_params">;
export declare function streamChunkBuilder(
  chunks: TextCompletionChunk[],
): Omit<TextCompletion, "_hidden_params">;
/** Alias of `streamChunkBuilder` (LiteLLM's name). */
export declare const stream_chunk_builder: typeof streamChunkBuilder;

export interface TextCompletionRequest extends RouterKwargs {
  model: string;
  prompt: string | string[];
  max_tokens?: number;
  temperature?: number;
  [openAiParam: string]: unknown;
}

export interface TextCompletion extends WithHiddenParams {
  id: string;
  object: "text_completion";
  created: number;
  model: string;
  choices: Array<{ text: string; index: number; logprobs: unknown; finish_reason: string | null }>;
  usage?: Usage;
}

export interface EmbeddingRequest extends RouterKwargs {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: "float" | "base64";
  dimensions?: number;
  user?: string;
}

export interface EmbeddingResponse extends WithHiddenParams {
  object: "list";
  data: Array<{ object: "embedding"; index: number; embedding: number[] | string }>;
  model: string;
  usage?: { prompt_tokens: number; total_tokens: number };
}

/** An OpenAI file object; `id` is llmux's signed id (`llmux-file-…`). */
export interface FileObject extends WithHiddenParams {
  id: string;
  object: "file";
  bytes: number;
  created_at: number;
  filename: string;
  purpose: string;
  status?: string;
  [key: string]: unknown;
}

export interface CreateFileRequest extends RouterKwargs {
  /** The model group whose OpenAI or Azure deployment receives the file. */
  model: string;
  /** The content (JSONL text for `purpose: "batch"`); at most 100 MiB. */
  file: Blob | ArrayBuffer | Uint8Array | string;
  purpose: "batch" | "fine-tune" | "assistants" | "user_data" | "evals" | (string & {});
  filename?: string;
}

/** An OpenAI batch object; `id` and its file ids are llmux's signed ids. */
export interface Batch extends WithHiddenParams {
  id: string;
  object: "batch";
  endpoint: string;
  input_file_id: string;
  completion_window: string;
  status: string;
  output_file_id?: string | null;
  error_file_id?: string | null;
  created_at: number;
  metadata?: Record<string, string> | null;
  request_counts?: { total: number; completed: number; failed: number };
  [key: string]: unknown;
}

export interface CreateBatchRequest extends RouterKwargs {
  /** An id `createFile` returned; the batch is created on that file's deployment. */
  input_file_id: string;
  endpoint: "/v1/chat/completions" | "/v1/embeddings" | "/v1/completions" | (string & {});
  completion_window: "24h" | (string & {});
  metadata?: Record<string, string>;
  output_expires_after?: { anchor: "created_at"; seconds: number };
}

export interface BatchList extends WithHiddenParams {
  object: "list";
  data: Batch[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface FileObjectList extends WithHiddenParams {
  object: "list";
  data: FileObject[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface ListFilesRequest extends RouterKwargs {
  /** The model group whose OpenAI and Azure deployments are listed (each, in order). */
  model: string;
  purpose?: string;
  /** Files asked of each deployment: default 20, 1 to 100. (`after` is refused.) */
  limit?: number;
}

/** OpenAI's reply to a file deletion; `id` is llmux's signed id. */
export interface FileDeleted extends WithHiddenParams {
  id: string;
  object: "file";
  deleted: boolean;
}

/** One image (or mask) to upload: its bytes stay in JS, never copied into wasm memory. */
export type ImageInput = Blob | ArrayBuffer | ArrayBufferView;

export interface ImageEditRequest extends RouterKwargs {
  model: string;
  /** One image, or 1 to 16 (sent as `image[]`); PNG, JPEG or WebP. 100 MiB in all, mask included. */
  image: ImageInput | ImageInput[];
  prompt: string;
  mask?: ImageInput;
  n?: number;
  size?: string;
  quality?: string;
  response_format?: "url" | "b64_json";
  background?: string;
  output_format?: string;
  input_fidelity?: string;
  user?: string;
  [openAiParam: string]: unknown;
}

export interface RerankRequest extends RouterKwargs {
  model: string;
  query: string;
  /** 1 to 10,000 documents: strings, or objects (with `rank_fields` where the API takes them). */
  documents: Array<string | Record<string, unknown>>;
  top_n?: number;
  return_documents?: boolean;
  rank_fields?: string[];
  /** Cohere v1 only. */
  max_chunks_per_doc?: number;
  /** Cohere v2 and vLLM. */
  max_tokens_per_doc?: number;
  [providerField: string]: unknown;
}

/** Cohere's rerank reply, whichever provider answered. */
export interface RerankResponse extends WithHiddenParams {
  id: string;
  results: Array<{
    index: number;
    relevance_score: number;
    document?: { text: string } | Record<string, unknown>;
  }>;
  meta: {
    billed_units?: { search_units?: number; total_tokens?: number; [k: string]: unknown };
    tokens?: { input_tokens?: number; output_tokens?: number };
    [k: string]: unknown;
  };
}

export interface ImageGenerationRequest extends RouterKwargs {
  model: string;
  prompt: string;
  n?: number;
  size?: string;
  quality?: string;
  style?: string;
  response_format?: "url" | "b64_json";
  user?: string;
  [openAiParam: string]: unknown;
}

export interface ImageGenerationResponse extends WithHiddenParams {
  created: number;
  data: Array<{ url?: string; b64_json?: string; revised_prompt?: string }>;
  usage?: Record<string, unknown>;
}

export interface ModerationRequest extends RouterKwargs {
  model: string;
  input: string | string[] | Array<Record<string, unknown>>;
}

export interface ModerationResponse extends WithHiddenParams {
  id: string;
  model: string;
  results: Array<{
    flagged: boolean;
    categories: Record<string, boolean>;
    category_scores: Record<string, number>;
    [key: string]: unknown;
  }>;
}

export interface TranscriptionRequest extends RouterKwargs {
  model: string;
  /** The audio. A Blob/File gives its name and type; raw bytes are sniffed (wav, mp3, flac, ogg, webm, m4a). */
  file: Blob | ArrayBuffer | Uint8Array;
  /** The upload's file name when `file` has none (the extension tells the provider the format). */
  filename?: string;
  language?: string;
  prompt?: string;
  response_format?: "json" | "text" | "srt" | "verbose_json" | "vtt";
  temperature?: number;
  timestamp_granularities?: Array<"word" | "segment">;
  [openAiParam: string]: unknown;
}

/** `text` always; `verbose_json` adds `language`, `duration`, `words`, `segments`. Text formats come back as `{ text }`. */
export interface TranscriptionResponse extends WithHiddenParams {
  text: string;
  [key: string]: unknown;
}

export interface SpeechRequest extends RouterKwargs {
  model: string;
  input: string;
  voice: string;
  response_format?: "mp3" | "opus" | "aac" | "flac" | "wav" | "pcm";
  speed?: number;
  instructions?: string;
  [openAiParam: string]: unknown;
}

/**
 * A custom routing strategy: returns one of `candidates` (or its `model_info.id`), or
 * `undefined`/`null` to let `routing_strategy` pick; may return a Promise, awaited within the
 * call's `timeout`. A throw or an id that is not a candidate fails the pick
 * (`InternalServerError`; fallbacks apply).
 */
export interface CustomRoutingStrategy {
  getAvailableDeployment(
    model: string,
    request: Record<string, unknown>,
    candidates: RedactedDeployment[],
  ):
    | RedactedDeployment
    | string
    | null
    | undefined
    | Promise<RedactedDeployment | string | null | undefined>;
}

/** A deployment as `getDeployments()` returns it: credentials replaced by `"***"`. */
export interface RedactedDeployment {
  model_name: string;
  litellm_params: Record<string, unknown>;
  model_info: ModelInfo & { id: string };
}

export interface LatencyPercentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface DeploymentUsage {
  model_group: string;
  /** Upstream calls made to this deployment. */
  requests: number;
  successes: number;
  failures: number;
  failures_by_kind: Record<string, number>;
  /** Calls answered from the cache with an answer this deployment produced. */
  cache_hits: number;
  in_flight: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
  total_latency_ms: number;
  /** Of the most recent 1,024 successful calls. */
  latency_ms: LatencyPercentiles;
  /** Epoch ms when the deployment's cooldown ends, or null. */
  cooldown_until_ms: number | null;
}

export interface ModelGroupUsage {
  /** Router calls made for this group. */
  requests: number;
  successes: number;
  failures: number;
  failures_by_kind: Record<string, number>;
  retries: number;
  /** Calls answered by a fallback group. */
  fallbacks: number;
  cache_hits: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost: number;
  in_flight: number;
  /** Whole-call latency (retries and fallbacks included) of the most recent 1,024 calls. */
  latency_ms: LatencyPercentiles;
}

/** One budget's current window (`max_budget` / `provider_budget_config`). */
export interface BudgetUsage {
  /** USD booked in the current window (across instances with a shared store). */
  spend: number;
  max_budget: number;
  budget_duration: string;
  /** When the current window ends (ms since the epoch); null when no window is open. */
  resets_at_ms: number | null;
}

export interface UsageStats {
  deployments: Record<string, DeploymentUsage>;
  model_groups: Record<string, ModelGroupUsage>;
  /** Budgets by deployment id and by provider. */
  budgets: {
    deployments: Record<string, BudgetUsage>;
    providers: Record<string, BudgetUsage>;
  };
  /** Present when a shared-state store is attached. */
  state?: {
    /** Syncs attempted (flush + snapshot). */
    syncs: number;
    store_failures: number;
    /** The last sync failed: decisions use this instance's state only. */
    store_down: boolean;
    /** Keys with changes not yet flushed. */
    pending_keys: number;
  };
}

/**
 * What every shared-state store implements (one round trip per call). Keys are
 * `llmux:<prefix>:<kind>:<deployment id>[:<minute>]`, never secrets.
 */
export interface StateStore {
  /** Atomically add `by` to each counter (created at 0 with expiry `ttl_ms`); the new values. */
  incr(ops: { key: string; by: number; ttl_ms: number }[]): Promise<number[]>;
  /** Values (counters as decimal strings); null when absent or expired. */
  get(keys: string[]): Promise<(string | null)[]>;
  /** Set values with expiry. */
  set(ops: { key: string; value: string; ttl_ms: number }[]): Promise<void>;
}

/** A shipped store: a StateStore that is also a KV for the response cache (ttl in seconds). */
export interface KvStateStore extends StateStore {
  readonly kind: "redis" | "upstash" | "workers-kv" | "durable-object" | "deno-kv";
  get(keys: string[]): Promise<(string | null)[]>;
  get(key: string): Promise<string | null>;
  set(ops: { key: string; value: string; ttl_ms: number }[]): Promise<void>;
  set(key: string, value: unknown, options?: { ttl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
  /** Closes the connection, if any. */
  close(): void;
}

export interface RedisStoreOptions {
  /** `redis://[:password@]host[:port][/db]`, `rediss://…` (TLS), or an `https://` Upstash REST URL. */
  url?: string;
  host?: string;
  port?: number | string;
  username?: string;
  password?: string;
  db?: number | string;
  /** `true`, or `node:tls` connect options (`{ ca }` for a private CA, `cert`, `key`, …). */
  tls?: boolean | Record<string, unknown>;
  /** An existing client instead of a connection of llmux's own (it is not closed by `close()`). */
  client?: RedisClientLike;
}

/**
 * An existing Redis client: ioredis's `Redis` (Sentinels included) or `Cluster`
 * (`call("SET", "k", "v")`), node-redis v4+'s `createClient()` (`sendCommand(["SET", "k",
 * "v"])`), `createCluster()` (`sendCommand(firstKey, isReadonly, args)`, told apart by its
 * `getSlotMaster`) or `createSentinel()` (`sendCommand(isReadonly, args)`, told apart by its
 * `getMasterNode`). Replies as those clients give them (strings, numbers, null, arrays).
 */
export type RedisClientLike =
  | { call(command: string, ...args: string[]): Promise<unknown> }
  | {
      sendCommand(firstKey: string, isReadonly: boolean, args: string[]): Promise<unknown>;
      getSlotMaster(slot: number): unknown;
    }
  | {
      sendCommand(isReadonly: boolean, args: string[]): Promise<unknown>;
      getMasterNode(): unknown;
    }
  | { sendCommand(args: string[]): Promise<unknown> };

/** Redis over TCP (Node, Deno; RESP2, pipelined) or Upstash REST for an `https://` url. */
export declare function redisStore(options: RedisStoreOptions): KvStateStore;
/** Redis over Upstash's REST API (`fetch` only: Workers, browsers, Deno, Node). */
export declare function upstashStore(options: {
  url: string;
  token?: string;
  fetch?: typeof globalThis.fetch;
}): KvStateStore;
/** Workers KV (read-modify-write counters: approximate; eventually consistent; TTL >= 60 s). */
export declare function workersKvStore(namespace: unknown): KvStateStore;
/** A Durable Object (`LlmuxStateObject`) by name: exact, strongly consistent counters. */
export declare function durableObjectStore(namespace: unknown, name?: string): KvStateStore;
/** The Durable Object class behind `durableObjectStore`; export it from your Worker. */
export declare class LlmuxStateObject {
  constructor(state: unknown, env?: unknown);
  fetch(request: Request): Promise<Response>;
}
/** Deno KV (`Deno.openKv(path)`; an open `Deno.Kv` also works): exact counters. */
export declare function denoKvStore(kv?: string | object): KvStateStore;

export interface HealthEndpoint extends Record<string, unknown> {
  model: string;
  model_id: string;
  model_name: string;
  /** `"<ErrorClass>: <message>"`, on unhealthy endpoints. */
  error?: string;
  /** Why a deployment was not probed (its mode has no cheap probe). */
  reason?: string;
}

export interface HealthCheckResult {
  healthy_endpoints: HealthEndpoint[];
  unhealthy_endpoints: HealthEndpoint[];
  healthy_count: number;
  unhealthy_count: number;
  skipped_endpoints: HealthEndpoint[];
}

export interface ModelCost {
  litellm_provider: string;
  mode: string;
  input_cost_per_token?: number;
  output_cost_per_token?: number;
  cache_read_input_token_cost?: number;
  cache_creation_input_token_cost?: number;
  input_cost_per_image?: number;
  output_cost_per_image?: number;
  input_cost_per_second?: number;
  output_cost_per_second?: number;
  input_cost_per_character?: number;
  /** Rerank, per search unit. */
  input_cost_per_query?: number;
  max_input_tokens?: number;
  max_output_tokens?: number;
  [flag: `supports_${string}`]: boolean | undefined;
}

/**
 * An OpenAI Responses API request (`responses`). A group of only OpenAI/Azure deployments gets
 * it as is (hosted tools, `previous_response_id`, `store`, `include` work there); any other
 * group gets it translated to chat, where those are a `BadRequestError` naming the field.
 */
export interface ResponsesRequest {
  model: string;
  input: string | Array<Record<string, unknown>>;
  instructions?: string;
  tools?: Array<
    | {
        type: "function";
        name: string;
        description?: string;
        parameters?: Record<string, unknown>;
        strict?: boolean;
      }
    /** OpenAI's hosted tools (`web_search`, `file_search`, MCP, …): OpenAI/Azure groups only. */
    | ({ type: string } & Record<string, unknown>)
  >;
  tool_choice?: "auto" | "required" | "none" | { type: "function"; name: string };
  text?: { format?: Record<string, unknown> & { type: "text" | "json_object" | "json_schema" } };
  reasoning?: { effort?: string };
  max_output_tokens?: number;
  temperature?: number;
  top_p?: number;
  stream?: boolean;
  /**
   * Passed through to OpenAI/Azure groups (the provider keeps the conversation); elsewhere a
   * `BadRequestError`: llmux keeps no responses.
   */
  previous_response_id?: string;
  store?: boolean;
  [field: string]: unknown;
}

/** A Responses `response` object, from whichever deployment answered. */
export interface ResponseObject extends WithHiddenParams {
  id: string;
  object: "response";
  created_at: number;
  /** Translated answers are `completed` or `incomplete`; a passed-through one is OpenAI's. */
  status: "completed" | "incomplete" | "failed" | "in_progress" | "cancelled" | "queued";
  model: string;
  output: Array<Record<string, unknown> & { type: "message" | "function_call" | "reasoning" }>;
  /** The text of the message items (not serialised). */
  readonly output_text: string;
  usage: {
    input_tokens: number;
    input_tokens_details: { cached_tokens: number };
    output_tokens: number;
    output_tokens_details: { reasoning_tokens: number };
    total_tokens: number;
  } | null;
  incomplete_details: { reason: string } | null;
  /** `false` when translated (llmux keeps nothing); the provider's value when passed through. */
  store: boolean;
  [field: string]: unknown;
}

/** `responses({ stream: true })`: Responses stream events; one consumer. */
export interface ResponsesStream extends AsyncIterable<
  Record<string, unknown> & { type: string; sequence_number: number }
> {
  readonly _hidden_params: HiddenParams;
  abort(): void;
  /** OpenAI's SSE bytes (`event:` + `data:`). */
  toReadableStream(): ReadableStream<Uint8Array>;
}

/** `countTokens` / `countMessageTokens`: `exact` when the `tokenizer` option counted. */
export interface TokenCount {
  input_tokens: number;
  exact: boolean;
}

/** An Anthropic Messages request (`messages`). */
export interface MessagesRequest {
  model: string;
  max_tokens: number;
  messages: Array<{ role: "user" | "assistant"; content: string | Array<Record<string, unknown>> }>;
  system?: string | Array<{ type: "text"; text: string; cache_control?: Record<string, unknown> }>;
  stream?: boolean;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  metadata?: { user_id?: string };
  tools?: Array<{ name: string; description?: string; input_schema?: Record<string, unknown> }>;
  tool_choice?: {
    type: "auto" | "any" | "tool" | "none";
    name?: string;
    disable_parallel_tool_use?: boolean;
  };
  thinking?: Record<string, unknown>;
  /** Router call fields (`num_retries`, `cache`, …) pass through. */
  [field: string]: unknown;
}

/** An Anthropic `message`, from whichever deployment answered. */
export interface AnthropicMessage extends WithHiddenParams {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: Array<Record<string, unknown> & { type: string }>;
  stop_reason: "end_turn" | "max_tokens" | "tool_use" | "refusal";
  stop_sequence: null;
  usage: {
    input_tokens: number;
    output_tokens: number;
    cache_creation_input_tokens: number;
    cache_read_input_tokens: number;
  };
}

/** `messages({ stream: true })`: Anthropic's stream events; one consumer. */
export interface MessagesStream extends AsyncIterable<Record<string, unknown> & { type: string }> {
  readonly _hidden_params: HiddenParams;
  abort(): void;
  /** Anthropic's SSE bytes (`event:` + `data:`). */
  toReadableStream(): ReadableStream<Uint8Array>;
}

/** A Gemini `Part` (`generateContent`): text, media, or a function call / response. */
export interface GeminiPart {
  text?: string;
  thought?: boolean;
  inlineData?: { mimeType?: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
  functionCall?: { id?: string; name: string; args?: Record<string, unknown> };
  functionResponse?: { id?: string; name: string; response?: Record<string, unknown> };
}

/** A Gemini `Content`: one turn. */
export interface GeminiContent {
  role?: "user" | "model";
  parts: GeminiPart[];
}

/** `generateContent`'s request: Gemini's REST body (or the SDKs' `config`) plus `model`. */
export interface GenerateContentRequest {
  model: string;
  contents: GeminiContent[] | GeminiContent | string;
  /** The SDKs' flattened config: generation settings, `systemInstruction`, `tools`, `toolConfig`. */
  config?: Record<string, unknown>;
  generationConfig?: Record<string, unknown>;
  systemInstruction?: GeminiContent | string;
  tools?: Array<{ functionDeclarations: Array<Record<string, unknown>> }>;
  toolConfig?: {
    functionCallingConfig?: { mode?: "AUTO" | "ANY" | "NONE"; allowedFunctionNames?: string[] };
  };
  /** Router call fields (`metadata`, `num_retries`, …) pass through. */
  [field: string]: unknown;
}

/** Gemini's `GenerateContentResponse`, from whichever deployment answered. */
export interface GenerateContentResponse extends WithHiddenParams {
  candidates: Array<{
    content: { role: "model"; parts: GeminiPart[] };
    finishReason?: "STOP" | "MAX_TOKENS" | "SAFETY";
    index: number;
  }>;
  usageMetadata?: {
    promptTokenCount: number;
    candidatesTokenCount: number;
    totalTokenCount: number;
    cachedContentTokenCount?: number;
    thoughtsTokenCount?: number;
  };
  modelVersion?: string;
  responseId?: string;
}

/** `generateContentStream`'s result: Gemini chunks; one consumer. */
export interface GenerateContentStream extends AsyncIterable<GenerateContentResponse> {
  readonly _hidden_params: HiddenParams;
  abort(): void;
  /** `sse: true` (default): `data:` events, as `alt=sse`; `false`: one streamed JSON array. */
  toReadableStream(options?: { sse?: boolean }): ReadableStream<Uint8Array>;
}

/** LiteLLM's `ModelGroupInfo` (`getModelGroupInfo`). */
export interface ModelGroupInfo {
  model_group: string;
  /** Providers in order of first appearance. */
  providers: string[];
  /** The largest of the deployments' context windows (model_info, else the price data). */
  max_input_tokens: number | null;
  max_output_tokens: number | null;
  /** The highest of the deployments' prices (USD per token). */
  input_cost_per_token: number | null;
  output_cost_per_token: number | null;
  mode: string | null;
  /** Summed over the deployments that set one; null when none does. */
  tpm: number | null;
  rpm: number | null;
  /** Set when any deployment has the capability. */
  supports_function_calling: boolean;
  supports_parallel_function_calling: boolean;
  supports_vision: boolean;
  supports_response_schema: boolean;
  supports_prompt_caching: boolean;
  supports_reasoning: boolean;
  supports_web_search: boolean;
  description: string | null;
}

/** `getRemainingModelGroupUsage`: LiteLLM's header names; a pair only when the group sets that limit. */
export interface RemainingGroupUsage {
  "x-ratelimit-remaining-requests"?: number;
  "x-ratelimit-limit-requests"?: number;
  "x-ratelimit-remaining-tokens"?: number;
  "x-ratelimit-limit-tokens"?: number;
}

export declare class Router {
  /** Synchronous; throws `errors.ConfigError` naming the offending field path. */
  constructor(options: RouterOptions);
  completion(
    request: ChatCompletionRequest & StreamOptions & { stream: true },
    options?: CallOptions,
  ): Promise<LlmuxStream<ChatCompletionChunk>>;
  completion(
    request: ChatCompletionRequest & StreamOptions,
    options?: CallOptions,
  ): Promise<ChatCompletion>;
  acompletion(
    request: ChatCompletionRequest & StreamOptions & { stream: true },
    options?: CallOptions,
  ): Promise<LlmuxStream<ChatCompletionChunk>>;
  acompletion(
    request: ChatCompletionRequest & StreamOptions,
    options?: CallOptions,
  ): Promise<ChatCompletion>;
  textCompletion(
    request: TextCompletionRequest & StreamOptions & { stream: true },
    options?: CallOptions,
  ): Promise<LlmuxStream<TextCompletionChunk>>;
  textCompletion(
    request: TextCompletionRequest & StreamOptions,
    options?: CallOptions,
  ): Promise<TextCompletion>;
  text_completion(
    request: TextCompletionRequest & StreamOptions & { stream: true },
    options?: CallOptions,
  ): Promise<LlmuxStream<TextCompletionChunk>>;
  text_completion(
    request: TextCompletionRequest & StreamOptions,
    options?: CallOptions,
  ): Promise<TextCompletion>;
  atext_completion(
    request: TextCompletionRequest & StreamOptions & { stream: true },
    options?: CallOptions,
  ): Promise<LlmuxStream<TextCompletionChunk>>;
  atext_completion(
    request: TextCompletionRequest & StreamOptions,
    options?: CallOptions,
  ): Promise<TextCompletion>;
  embedding(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResponse>;
  aembedding(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResponse>;
  /**
   * A realtime session (README, "Realtime"): a deployment of `model` picked by the router's
   * rules (cooldowns, retries, fallbacks; open sockets count as in flight for least-busy), its
   * WebSocket opened with the provider's auth (OpenAI and Azure). Resolves once connected.
   * @example
   * const socket = await router.realtime("voice");
   * socket.addEventListener("message", (e) => console.log(JSON.parse(e.data).type));
   * socket.send(JSON.stringify({ type: "response.create" }));
   */
  realtime(model: string, options?: RealtimeOptions): Promise<RealtimeSocket>;
  arealtime(model: string, options?: RealtimeOptions): Promise<RealtimeSocket>;
  /**
   * Uploads a file to an OpenAI or Azure deployment of `model` (needs `files_secret`).
   * @example
   * const file = await router.createFile({ model: "batch", file: jsonl, purpose: "batch" });
   */
  createFile(request: CreateFileRequest, options?: CallOptions): Promise<FileObject>;
  acreate_file(request: CreateFileRequest, options?: CallOptions): Promise<FileObject>;
  /**
   * A file's content, from the deployment that holds it.
   * @example
   * const text = await (await router.fileContent({ file_id: batch.output_file_id })).text();
   */
  fileContent(
    request: { file_id: string },
    options?: CallOptions,
  ): Promise<Response & WithHiddenParams>;
  afile_content(
    request: { file_id: string },
    options?: CallOptions,
  ): Promise<Response & WithHiddenParams>;
  /**
   * Creates a batch on the deployment of `input_file_id`.
   * @example
   * const batch = await router.createBatch({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
   */
  createBatch(request: CreateBatchRequest, options?: CallOptions): Promise<Batch>;
  acreate_batch(request: CreateBatchRequest, options?: CallOptions): Promise<Batch>;
  /**
   * A batch, from the deployment that holds it (also after a restart).
   * @example
   * const { status, output_file_id } = await router.retrieveBatch({ batch_id: batch.id });
   */
  retrieveBatch(request: { batch_id: string }, options?: CallOptions): Promise<Batch>;
  aretrieve_batch(request: { batch_id: string }, options?: CallOptions): Promise<Batch>;
  /**
   * Cancels a batch on the deployment that holds it.
   * @example
   * await router.cancelBatch({ batch_id: batch.id });
   */
  cancelBatch(request: { batch_id: string }, options?: CallOptions): Promise<Batch>;
  acancel_batch(request: { batch_id: string }, options?: CallOptions): Promise<Batch>;
  /**
   * The batches of every OpenAI/Azure deployment of `model` (`limit` per deployment, default 20).
   * @example
   * const { data } = await router.listBatches({ model: "batch" });
   */
  listBatches(
    request: { model: string; limit?: number },
    options?: CallOptions,
  ): Promise<BatchList>;
  alist_batches(
    request: { model: string; limit?: number },
    options?: CallOptions,
  ): Promise<BatchList>;
  /**
   * The files of every OpenAI/Azure deployment of `model`, ids signed (`limit` per deployment).
   * @example
   * const { data } = await router.listFiles({ model: "batch", purpose: "batch" });
   */
  listFiles(request: ListFilesRequest, options?: CallOptions): Promise<FileObjectList>;
  afile_list(request: ListFilesRequest, options?: CallOptions): Promise<FileObjectList>;
  /**
   * A file object, from the deployment that holds it.
   * @example
   * const { bytes, status } = await router.retrieveFile({ file_id: file.id });
   */
  retrieveFile(request: { file_id: string }, options?: CallOptions): Promise<FileObject>;
  /**
   * Deletes a file on the deployment that holds it (also after a restart).
   * @example
   * const { deleted } = await router.deleteFile({ file_id: file.id });
   */
  deleteFile(request: { file_id: string }, options?: CallOptions): Promise<FileDeleted>;
  afile_delete(request: { file_id: string }, options?: CallOptions): Promise<FileDeleted>;
  /**
   * Edits images (`/images/edits`, multipart) on an OpenAI or Azure deployment of `model`,
   * routed, retried and failed over like every call.
   * @example
   * const png = await (await fetch("https://example.com/cat.png")).blob();
   * const { data } = await router.imageEdit({ model: "gpt-image-1", image: png, prompt: "add a hat" });
   */
  imageEdit(request: ImageEditRequest, options?: CallOptions): Promise<ImageGenerationResponse>;
  image_edit(request: ImageEditRequest, options?: CallOptions): Promise<ImageGenerationResponse>;
  aimage_edit(request: ImageEditRequest, options?: CallOptions): Promise<ImageGenerationResponse>;
  /** Rerank `documents` against `query` (Cohere's `/rerank`), routed like every call. */
  rerank(request: RerankRequest, options?: CallOptions): Promise<RerankResponse>;
  arerank(request: RerankRequest, options?: CallOptions): Promise<RerankResponse>;
  imageGeneration(
    request: ImageGenerationRequest,
    options?: CallOptions,
  ): Promise<ImageGenerationResponse>;
  image_generation(
    request: ImageGenerationRequest,
    options?: CallOptions,
  ): Promise<ImageGenerationResponse>;
  aimage_generation(
    request: ImageGenerationRequest,
    options?: CallOptions,
  ): Promise<ImageGenerationResponse>;
  moderation(request: ModerationRequest, options?: CallOptions): Promise<ModerationResponse>;
  transcription(
    request: TranscriptionRequest,
    options?: CallOptions,
  ): Promise<TranscriptionResponse>;
  atranscription(
    request: TranscriptionRequest,
    options?: CallOptions,
  ): Promise<TranscriptionResponse>;
  /** Resolves at the upstream's headers to a standard `Response` whose body streams the audio. */
  speech(request: SpeechRequest, options?: CallOptions): Promise<Response & WithHiddenParams>;
  aspeech(request: SpeechRequest, options?: CallOptions): Promise<Response & WithHiddenParams>;
  amoderation(request: ModerationRequest, options?: CallOptions): Promise<ModerationResponse>;
  getDeployments(): RedactedDeployment[];
  get_deployments(): RedactedDeployment[];
  getModelList(modelGroup?: string): RedactedDeployment[];
  get_model_list(modelGroup?: string): RedactedDeployment[];
  getModelNames(): string[];
  get_model_names(): string[];
  getModelInfo(id: string): RedactedDeployment | null;
  get_model_info(id: string): RedactedDeployment | null;
  get_deployment(id: string): RedactedDeployment | null;
  /** Throws ConfigError for an invalid entry or a duplicate id. */
  addDeployment(deployment: DeploymentConfig): RedactedDeployment;
  add_deployment(deployment: DeploymentConfig): RedactedDeployment;
  deleteDeployment(id: string): RedactedDeployment | null;
  delete_deployment(id: string): RedactedDeployment | null;
  /** Deep-merges the patch (`null` removes a key) and revalidates the deployment. */
  updateDeployment(
    id: string,
    patch: Partial<DeploymentConfig> | Record<string, unknown>,
  ): RedactedDeployment;
  update_deployment(
    id: string,
    patch: Partial<DeploymentConfig> | Record<string, unknown>,
  ): RedactedDeployment;
  setModelList(modelList: DeploymentConfig[]): void;
  set_model_list(modelList: DeploymentConfig[]): void;
  /** LiteLLM's `aresponses`: an OpenAI Responses API request routed to any deployment. */
  responses(
    request: ResponsesRequest & { stream?: false },
    options?: CallOptions,
  ): Promise<ResponseObject>;
  responses(
    request: ResponsesRequest & { stream: true },
    options?: CallOptions,
  ): Promise<ResponsesStream>;
  aresponses(
    request: ResponsesRequest,
    options?: CallOptions,
  ): Promise<ResponseObject | ResponsesStream>;
  /** LiteLLM's `anthropic_messages`: an Anthropic Messages request routed to any deployment. */
  messages(
    request: MessagesRequest & { stream?: false },
    options?: CallOptions,
  ): Promise<AnthropicMessage>;
  messages(
    request: MessagesRequest & { stream: true },
    options?: CallOptions,
  ): Promise<MessagesStream>;
  anthropic_messages(
    request: MessagesRequest,
    options?: CallOptions,
  ): Promise<AnthropicMessage | MessagesStream>;
  aanthropic_messages(
    request: MessagesRequest,
    options?: CallOptions,
  ): Promise<AnthropicMessage | MessagesStream>;
  /** `count_tokens` of a Messages request: the `tokenizer` option's count or the estimate. */
  countMessageTokens(
    request: Omit<MessagesRequest, "max_tokens"> & { max_tokens?: number },
  ): Promise<TokenCount>;
  /** Input tokens of a chat request for its model group. */
  countTokens(request: Record<string, unknown> & { model: string }): TokenCount;
  /** LiteLLM's `agenerate_content`: a Gemini-format request routed to any deployment. */
  generateContent(
    request: GenerateContentRequest,
    options?: CallOptions,
  ): Promise<GenerateContentResponse>;
  agenerate_content(
    request: GenerateContentRequest,
    options?: CallOptions,
  ): Promise<GenerateContentResponse>;
  generate_content(
    request: GenerateContentRequest,
    options?: CallOptions,
  ): Promise<GenerateContentResponse>;
  aadapter_generate_content(
    request: GenerateContentRequest,
    options?: CallOptions,
  ): Promise<GenerateContentResponse>;
  /** LiteLLM's `agenerate_content_stream`: resolves once the upstream stream is open. */
  generateContentStream(
    request: GenerateContentRequest,
    options?: CallOptions,
  ): Promise<GenerateContentStream>;
  agenerate_content_stream(
    request: GenerateContentRequest,
    options?: CallOptions,
  ): Promise<GenerateContentStream>;
  generate_content_stream(
    request: GenerateContentRequest,
    options?: CallOptions,
  ): Promise<GenerateContentStream>;
  /** Adds (new id), replaces (changed entry) or keeps (same entry: returns null) a deployment. */
  upsertDeployment(deployment: DeploymentConfig): RedactedDeployment | null;
  upsert_deployment(deployment: DeploymentConfig): RedactedDeployment | null;
  /** LiteLLM's `ModelGroupInfo`, merged over the group's deployments; null when nothing serves it. */
  getModelGroupInfo(modelGroup: string): ModelGroupInfo | null;
  get_model_group_info(modelGroup: string): ModelGroupInfo | null;
  /** The group's rpm/tpm limits and what is left this minute; `{}` when it sets none. */
  getRemainingModelGroupUsage(modelGroup: string): Promise<RemainingGroupUsage>;
  get_remaining_model_group_usage(modelGroup: string): Promise<RemainingGroupUsage>;
  /** Each `model_info.access_groups` name and the model groups (and their aliases) listing it. */
  getModelAccessGroups(): Record<string, string[]>;
  get_model_access_groups(): Record<string, string[]>;
  healthCheck(model?: string): Promise<HealthCheckResult>;
  health_check(model?: string): Promise<HealthCheckResult>;
  ahealth_check(model?: string): Promise<HealthCheckResult>;
  /**
   * Probes every group of `background_health_check_model_groups` once (what the background
   * timer runs); for Workers, call it from `scheduled()` or a Durable Object alarm.
   */
  runBackgroundHealthChecks(): Promise<HealthCheckResult[]>;
  /** Stops the background health probe timer. The router keeps serving requests. */
  close(): void;
  getUsageStats(): Promise<UsageStats>;
  get_usage_stats(): Promise<UsageStats>;
  /**
   * Flushes queued shared-state changes and reads the other instances' state now; never
   * rejects (a store failure is logged once and routing stays local).
   */
  syncState(): Promise<void>;
  /** Same as `syncState()`; in a Worker, `ctx.waitUntil(router.flushState())`. */
  flushState(): Promise<void>;
  getModelCostMap(): Record<string, ModelCost>;
  get_model_cost_map(): Record<string, ModelCost>;
  resetCost(): void;
  reset_cost(): void;
  /** Every deployment's routing status now, in table order. */
  getDeploymentStatus(): DeploymentStatus[];
  /** Ends a deployment's cooldown now (here and in the `state` store); false for an unknown id. */
  clearCooldown(id: string): boolean;
  /** Takes a deployment out of rotation on this instance; false for an unknown id. */
  disableDeployment(id: string): boolean;
  /** Puts a disabled deployment back in rotation; false for an unknown id. */
  enableDeployment(id: string): boolean;
  /**
   * An OpenAI-compatible HTTP handler: `export default { fetch: (r, e, c) => router.fetch(r, e,
   * c) }` is a whole Worker. `env` (any object: a Worker's bindings, Deno.serve's handler
   * info, …) resolves `"os.environ/NAME"` gateway keys first. Bound to the router:
   * `Deno.serve(router.fetch)` and Hono's `app.mount("/v1", router.fetch)` work.
   */
  fetch(request: Request, env?: object, ctx?: GatewayContext): Promise<Response>;
  /** Logs (info) and returns an aligned table of per-deployment metrics. */
  printDeploymentMetrics(): string;
  /** The usage counters in Prometheus' text exposition format 0.0.4 (LiteLLM's metric names). */
  metrics(): Promise<string>;
  print_deployment_metrics(): string;
  /**
   * Sets the custom routing strategy (`null` removes it): it chooses among the eligible
   * deployments of each pick (after cooldowns, budgets, pre-call checks, limits and pins).
   * Calls then take the core's path. LiteLLM's `set_custom_routing_strategy` / `register_plugin`.
   */
  setCustomRoutingStrategy(
    strategy: CustomRoutingStrategy | CustomRoutingStrategy["getAvailableDeployment"] | null,
  ): void;
  set_custom_routing_strategy(
    strategy: CustomRoutingStrategy | CustomRoutingStrategy["getAvailableDeployment"] | null,
  ): void;
  registerPlugin(
    strategy: CustomRoutingStrategy | CustomRoutingStrategy["getAvailableDeployment"] | null,
  ): void;
  register_plugin(
    strategy: CustomRoutingStrategy | CustomRoutingStrategy["getAvailableDeployment"] | null,
  ): void;
  /**
   * LiteLLM's `abatch_completion`: the request sent to every group in `models` at once; one
   * entry per model, in order, each the answer or the Error that call ended with. With
   * `messages` an array of message arrays, each entry is an array (one per list). At most 64
   * calls per batch.
   */
  batchCompletion(
    request: Omit<ChatCompletionRequest, "model" | "messages"> & {
      models: string[] | string;
      messages: ChatMessage[] | ChatMessage[][];
    },
    options?: CallOptions,
  ): Promise<Array<ChatCompletion | Error | Array<ChatCompletion | Error>>>;
  abatch_completion: Router["batchCompletion"];
  /** LiteLLM's `abatch_completion_one_model_multiple_requests`: each message list to `model`. */
  batchCompletionOneModelMultipleRequests(
    request: Omit<ChatCompletionRequest, "messages"> & { messages: ChatMessage[][] },
    options?: CallOptions,
  ): Promise<Array<ChatCompletion | Error>>;
  abatch_completion_one_model_multiple_requests: Router["batchCompletionOneModelMultipleRequests"];
  /**
   * LiteLLM's `abatch_completion_fastest_response`: the first group to answer wins, every
   * other upstream request is aborted; `_hidden_params.fastest_response_batch_completion`.
   */
  batchCompletionFastestResponse(
    request: Omit<ChatCompletionRequest, "model"> & { model: string[] | string },
    options?: CallOptions,
  ): Promise<ChatCompletion>;
  abatch_completion_fastest_response: Router["batchCompletionFastestResponse"];
}

/** The crate version of the wasm core. */
export declare function version(): string;

export interface ErrorFields {
  status?: number;
  llm_provider?: string | null;
  model?: string | null;
  model_group?: string | null;
  deployment_id?: string | null;
  retryable?: boolean;
  retry_after_ms?: number | null;
  attempts?: number | null;
  field?: string | null;
  type?: string;
  code?: string | number | null;
  param?: string | null;
  headers?: Record<string, string> | null;
  request_id?: string | null;
}

export declare class LlmuxError extends Error {
  constructor(message: string, fields?: ErrorFields);
  /** Upstream HTTP status, or LiteLLM's status for the kind. */
  status: number;
  llm_provider: string | null;
  model: string | null;
  model_group: string | null;
  deployment_id: string | null;
  /** Whether trying again can succeed. */
  retryable: boolean;
  /** What the upstream asked us to wait (`retry-after`), or when a cooled-down deployment returns. */
  retry_after_ms: number | null;
  /** Upstream calls made before giving up. */
  attempts: number | null;
  /** OpenAI's error `type`: the upstream error body's, else llmux's for the class (`rate_limit_error`, …). */
  type: string;
  /** OpenAI's error `code`: the upstream error body's, else llmux's (`context_length_exceeded`, …) or null. */
  code: string | number | null;
  /** OpenAI's error `param` from the upstream error body, or null. */
  param: string | null;
  /** The upstream error reply's headers (lower-case names; at most 64, no `set-cookie`), or null. */
  headers: Record<string, string> | null;
  /** The upstream error reply's `x-request-id`, or null. */
  request_id: string | null;
  /** openai-node's name for `request_id`. */
  readonly requestID: string | null;
}
export declare class BadRequestError extends LlmuxError {}
export declare class ContextWindowExceededError extends BadRequestError {}
export declare class ContentPolicyViolationError extends BadRequestError {}
export declare class AuthenticationError extends LlmuxError {}
export declare class PermissionDeniedError extends LlmuxError {}
export declare class NotFoundError extends LlmuxError {}
export declare class Timeout extends LlmuxError {}
export declare class UnprocessableEntityError extends LlmuxError {}
export declare class RateLimitError extends LlmuxError {}
export declare class NoDeploymentsAvailableError extends RateLimitError {}
export declare class InternalServerError extends LlmuxError {}
export declare class ServiceUnavailableError extends LlmuxError {}
export declare class APIConnectionError extends LlmuxError {}
export declare class ConfigError extends LlmuxError {
  /** The offending option path, e.g. `model_list[2].litellm_params.model`. */
  field: string | null;
}

export declare const errors: {
  LlmuxError: typeof LlmuxError;
  BadRequestError: typeof BadRequestError;
  ContextWindowExceededError: typeof ContextWindowExceededError;
  ContentPolicyViolationError: typeof ContentPolicyViolationError;
  AuthenticationError: typeof AuthenticationError;
  PermissionDeniedError: typeof PermissionDeniedError;
  NotFoundError: typeof NotFoundError;
  Timeout: typeof Timeout;
  UnprocessableEntityError: typeof UnprocessableEntityError;
  RateLimitError: typeof RateLimitError;
  NoDeploymentsAvailableError: typeof NoDeploymentsAvailableError;
  InternalServerError: typeof InternalServerError;
  ServiceUnavailableError: typeof ServiceUnavailableError;
  APIConnectionError: typeof APIConnectionError;
  ConfigError: typeof ConfigError;
};
