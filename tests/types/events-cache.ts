// Compiled by `npx tsc -p tests/types/tsconfig.json` (lint tier), never run: the event
// payloads, logging callbacks and cache options in js/index.d.ts, as the code emits them, and
// llmux/otel's options
// (tests/js/node/logging.test.mjs, "every event carries the fields index.d.ts declares",
// checks the same fields at run time). Each `@ts-expect-error` proves a misuse fails.
import { metrics, trace } from "@opentelemetry/api";
import { Router, type CacheControls, type CacheKwargs, type CacheStore } from "llmux";
import { instrument } from "llmux/otel";

const seen: unknown[] = [];

new Router({
  model_list: [],
  on: {
    start(e) {
      const id: string = e.id;
      seen.push(id, e.model_group, e.metadata, e.end_user, e.call_type);
    },
    attempt(e) {
      const ok: boolean = e.ok;
      const status: number | null = e.status;
      seen.push(ok, status, e.id, e.call_id, e.model_id, e.duration_ms, e.attempt);
    },
    retry(e) {
      const id: string | null = e.id;
      const delay: number = e.delay_ms;
      seen.push(id, e.call_id, delay, e.retry, e.error, e.status);
    },
    fallback(e) {
      const from: string = e.from;
      const status: number | null = e.status;
      seen.push(e.id, e.call_id, from, e.to, e.error, status);
    },
    cooldown(e) {
      const id: null = e.id;
      const until: number = e.until_ms;
      seen.push(id, until, e.cooldown_ms, e.model_id, e.model_group, e.error, e.status);
    },
    success(e) {
      const status: "success" = e.status;
      const tokens: number = e.total_tokens;
      const cacheRead: number | undefined = e.cache_read_input_tokens;
      const metadata: Record<string, unknown> = e.metadata;
      const user: string | null = e.end_user;
      const cost: number = e.response_cost;
      const hit: boolean = e.cache_hit;
      const fallback: string | null = e.fallback_model_group;
      const ttft: number | null | undefined = e.time_to_first_token_ms;
      seen.push(status, tokens, cacheRead, metadata, user, cost, hit, fallback, ttft);
      seen.push(e.id, e.call_id, e.model_id, e.custom_llm_provider, e.completionStartTime);
      // @ts-expect-error a success's status is "success", not an HTTP status
      const httpStatus: number = e.status;
      void httpStatus;
    },
    failure(e) {
      const status: "failure" = e.status;
      const cls: string = e.error;
      const info = e.error_information;
      const code: string | null | undefined = info?.error_code;
      const klass: string | null | undefined = info?.error_class;
      seen.push(status, cls, code, klass, e.error_str, e.deployment_id, e.llm_provider);
      // @ts-expect-error a failure's status is "failure"; the HTTP status is error_code
      const httpStatus: number = e.status;
      void httpStatus;
    },
  },
  success_callback: [
    (kwargs, response, start: Date, end: Date) => {
      const p = kwargs.standard_logging_object;
      seen.push(p.model_group, p.total_tokens, p.metadata, response, start, end);
    },
  ],
  failure_callback: (kwargs) => seen.push(kwargs.exception),
  callbacks: [
    {
      log_pre_api_call(model, messages, kwargs) {
        seen.push(model, messages, kwargs.litellm_call_id);
      },
      async async_log_success_event(kwargs) {
        seen.push(kwargs.standard_logging_object.cache_creation_input_tokens);
      },
    },
  ],
  turn_off_message_logging: true,
});

// @ts-expect-error an event handler takes the payload, not a string
new Router({ model_list: [], on: { success: (e: string) => seen.push(e) } });

const kwargs: CacheKwargs = {
  type: "redis",
  ttl: 60,
  namespace: "app",
  supported_call_types: ["acompletion", "aembedding"],
};
const local: CacheKwargs = { type: "local", max_size_bytes: 4 * 1024 * 1024 };
// @ts-expect-error LiteLLM's other cache types are refused (ConfigError)
const s3: CacheKwargs = { type: "s3" };
// @ts-expect-error call types are LiteLLM's names
const badTypes: CacheKwargs = { supported_call_types: ["chat"] };
void [local, s3, badTypes];

const map = new Map<string, string>();
const store: CacheStore = {
  get: (key) => map.get(key),
  set: (key, value, { ttl }) => map.set(key, `${ttl}:${value}`),
  delete: (key) => map.delete(key),
};
export const cached = new Router({
  model_list: [],
  redis_host: "127.0.0.1",
  cache_responses: true,
  cache_kwargs: kwargs,
  caching_groups: [["gpt-4o-openai", "gpt-4o-azure"]],
});
export const withStore = new Router({ model_list: [], cache_responses: true, cache: store });
// @ts-expect-error a cache store needs get and set
new Router({ model_list: [], cache_responses: true, cache: { get: () => null } });

export async function perRequest(signal: AbortSignal): Promise<void> {
  const controls: CacheControls = { "no-cache": true, "no-store": false, ttl: 30, "s-maxage": 10 };
  await cached.completion({ model: "chat", messages: [], cache: controls, caching: true });
  await cached.completion(
    { model: "chat", messages: [], num_retries: 1, metadata: { trace: "t" } },
    { signal },
  );
  // @ts-expect-error router kwargs go in the request; the second argument is { signal }
  await cached.completion({ model: "chat", messages: [] }, { num_retries: 1 });
  // @ts-expect-error no-cache is a boolean
  await cached.completion({ model: "chat", messages: [], cache: { "no-cache": "yes" } });
}

// The README's gpt-tokenizer recipe returns undefined for a request it does not count.
export const counted = new Router({
  model_list: [],
  enable_pre_call_checks: true,
  tokenizer: (request) =>
    Array.isArray(request.messages) ? JSON.stringify(request.messages).length : undefined,
});
// @ts-expect-error a tokenizer returns a count, not a string
new Router({ model_list: [], tokenizer: () => "many" });

// llmux/otel over @opentelemetry/api's own types.
export function observed(): () => void {
  const stop = instrument(counted, {
    tracer: trace.getTracer("app"),
    meter: metrics.getMeter("app"),
    captureContent: false,
  });
  // @ts-expect-error captureContent is a boolean
  instrument(counted, { captureContent: "yes" });
  // @ts-expect-error a tracer is an OpenTelemetry Tracer
  instrument(counted, { tracer: {} });
  return stop;
}
