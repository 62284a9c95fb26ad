// llmux/otel: OpenTelemetry spans and metrics for a Router, with the GenAI semantic conventions.
// One CLIENT span per call, one child span per upstream attempt; needs only @opentelemetry/api.

import { SpanKind, SpanStatusCode, context, metrics, trace } from "@opentelemetry/api";

const OBSERVE = Symbol.for("llmux.observe");

/** Calls with an open span at once; beyond it the oldest span is ended (`llmux.abandoned`). */
export const MAX_OPEN_SPANS = 4096;

/** `gen_ai.operation.name` per endpoint (semantic conventions where they name one). */
const OPERATIONS = {
  acompletion: "chat",
  atext_completion: "text_completion",
  aembedding: "embeddings",
  aimage_generation: "image_generation",
  amoderation: "moderation",
  atranscription: "transcription",
  aspeech: "speech",
};

/** llmux provider names -> `gen_ai.provider.name` well-known values. */
const PROVIDERS = {
  openai: "openai",
  text_completion_openai: "openai",
  azure: "azure.ai.openai",
  azure_text: "azure.ai.openai",
  anthropic: "anthropic",
  bedrock: "aws.bedrock",
  vertex_ai: "gcp.vertex_ai",
  gemini: "gcp.gemini",
  cohere: "cohere",
  cohere_chat: "cohere",
  mistral: "mistral_ai",
  groq: "groq",
  deepseek: "deepseek",
  xai: "x_ai",
  perplexity: "perplexity",
};

/** Request fields -> `gen_ai.request.*` attributes. */
const REQUEST_ATTRIBUTES = [
  ["temperature", "gen_ai.request.temperature"],
  ["top_p", "gen_ai.request.top_p"],
  ["max_tokens", "gen_ai.request.max_tokens"],
  ["max_completion_tokens", "gen_ai.request.max_tokens"],
  ["frequency_penalty", "gen_ai.request.frequency_penalty"],
  ["presence_penalty", "gen_ai.request.presence_penalty"],
  ["seed", "gen_ai.request.seed"],
  ["n", "gen_ai.request.choice.count"],
];

/** Bucket boundaries the GenAI semantic conventions advise for the two histograms. */
const DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
const TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

const provider = (name) => (typeof name === "string" ? (PROVIDERS[name] ?? name) : undefined);

/** Drops undefined and null values (OpenTelemetry attributes take neither). */
function attrs(o) {
  const out = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

/**
 * Instruments `router`: returns a function that stops it. `tracer` and `meter` default to the
 * global providers' `llmux` ones; `captureContent: true` records prompts and completions as
 * `gen_ai.input.messages` / `gen_ai.output.messages` (JSON text) on the call span.
 */
export function instrument(router, options = {}) {
  if (router === null || typeof router?.[OBSERVE] !== "function")
    throw new TypeError("instrument(router): not an llmux Router");
  if (options === null || typeof options !== "object")
    throw new TypeError("instrument(router, options): options must be an object");
  const tracer = options.tracer ?? trace.getTracer("llmux");
  const meter = options.meter ?? metrics.getMeter("llmux");
  const captureContent = options.captureContent === true;
  const duration = meter.createHistogram("gen_ai.client.operation.duration", {
    description: "GenAI operation duration",
    unit: "s",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const tokens = meter.createHistogram("gen_ai.client.token.usage", {
    description: "Number of input and output tokens used",
    unit: "{token}",
    advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
  });
  /** call id -> { span, ctx, operation, model, attempt (a stream's open answering attempt) } */
  const open = new Map();

  function finish(id, end) {
    const c = open.get(id);
    if (c === undefined) return;
    open.delete(id);
    if (c.attempt) c.attempt.end(end);
    c.span.end(end);
  }

  const listener = {
    start(p) {
      if (open.size >= MAX_OPEN_SPANS) {
        const [oldest, c] = open.entries().next().value;
        c.span.setAttribute("llmux.abandoned", true);
        finish(oldest);
      }
      const operation = OPERATIONS[p.call_type] ?? p.call_type;
      const model = p.model_group ?? undefined;
      const params = p.model_parameters ?? {};
      const attributes = attrs({
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": model,
        "llmux.call_id": p.id,
        "llmux.stream": p.stream === true ? true : undefined,
      });
      for (const [field, name] of REQUEST_ATTRIBUTES)
        if (typeof params[field] === "number") attributes[name] = params[field];
      if (captureContent && p.messages != null)
        attributes["gen_ai.input.messages"] = JSON.stringify(p.messages);
      const parent = context.active();
      const span = tracer.startSpan(
        model ? `${operation} ${model}` : operation,
        { kind: SpanKind.CLIENT, attributes, startTime: p.startTime * 1000 },
        parent,
      );
      open.set(p.id, { span, ctx: trace.setSpan(parent, span), operation, model, attempt: null });
    },

    attempt(p) {
      const c = open.get(p.id);
      if (c === undefined) return;
      const end = Date.now();
      const span = tracer.startSpan(
        `${c.operation} ${p.model}`,
        {
          kind: SpanKind.CLIENT,
          startTime: end - (Number(p.duration_ms) || 0),
          attributes: attrs({
            "gen_ai.operation.name": c.operation,
            "gen_ai.provider.name": provider(p.custom_llm_provider),
            "gen_ai.request.model": p.model,
            "llmux.model_group": p.model_group,
            "llmux.deployment_id": p.model_id,
            "llmux.attempt": p.attempt,
            "http.response.status_code": typeof p.status === "number" ? p.status : undefined,
            "error.type": p.ok ? undefined : p.error,
          }),
        },
        c.ctx,
      );
      if (!p.ok) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: p.message ?? p.error });
        span.end(end);
      } else if (p.stream === true) {
        // The answering attempt of a stream lasts as long as the stream.
        c.attempt = span;
      } else {
        span.end(end);
      }
    },

    retry(p) {
      open.get(p.id)?.span.addEvent(
        "llmux.retry",
        attrs({
          "llmux.deployment_id": p.model_id,
          "llmux.model_group": p.model_group,
          "llmux.retry": p.retry,
          "llmux.delay_ms": p.delay_ms,
          "error.type": p.error,
        }),
      );
    },

    fallback(p) {
      open.get(p.id)?.span.addEvent(
        "llmux.fallback",
        attrs({
          "llmux.fallback.from": p.from,
          "llmux.fallback.to": p.to,
          "error.type": p.error,
        }),
      );
    },

    success(p, { response } = {}) {
      const c = open.get(p.id);
      if (c === undefined) return;
      const responseModel =
        typeof response?.model === "string" && response.model !== "" ? response.model : p.model;
      const common = attrs({
        "gen_ai.operation.name": c.operation,
        "gen_ai.provider.name": provider(p.custom_llm_provider),
        "gen_ai.request.model": c.model,
        "gen_ai.response.model": responseModel,
      });
      c.span.setAttributes({
        ...common,
        ...attrs({
          "gen_ai.response.id": typeof response?.id === "string" ? response.id : undefined,
          "gen_ai.response.finish_reasons": Array.isArray(response?.choices)
            ? response.choices.map((ch) => ch?.finish_reason).filter((r) => typeof r === "string")
            : undefined,
          "gen_ai.usage.input_tokens": p.prompt_tokens,
          "gen_ai.usage.output_tokens": p.completion_tokens,
          "llmux.model_group": p.model_group,
          "llmux.deployment_id": p.model_id,
          "llmux.attempts": p.attempts,
          "llmux.retries": p.retries,
          "llmux.fallback_model_group": p.fallback_model_group,
          "llmux.cache_hit": p.cache_hit,
          "llmux.response_cost": p.response_cost,
        }),
      });
      if (captureContent && Array.isArray(response?.choices))
        c.span.setAttribute(
          "gen_ai.output.messages",
          JSON.stringify(response.choices.map((ch) => ch?.message ?? ch?.text ?? null)),
        );
      const seconds = p.endTime - p.startTime;
      duration.record(seconds, common);
      if (!p.cache_hit) {
        tokens.record(p.prompt_tokens ?? 0, { ...common, "gen_ai.token.type": "input" });
        tokens.record(p.completion_tokens ?? 0, { ...common, "gen_ai.token.type": "output" });
      }
      finish(p.id, p.endTime * 1000);
    },

    failure(p) {
      const c = open.get(p.id);
      if (c === undefined) return;
      const errorType = p.error_information?.error_class ?? "Error";
      c.span.setAttributes(
        attrs({
          "error.type": errorType,
          "gen_ai.provider.name": provider(p.custom_llm_provider),
          "llmux.deployment_id": p.model_id,
          "llmux.attempts": p.attempts,
        }),
      );
      c.span.setStatus({ code: SpanStatusCode.ERROR, message: p.error_str ?? errorType });
      duration.record(
        p.endTime - p.startTime,
        attrs({
          "gen_ai.operation.name": c.operation,
          "gen_ai.provider.name": provider(p.custom_llm_provider),
          "gen_ai.request.model": c.model,
          "error.type": errorType,
        }),
      );
      finish(p.id, p.endTime * 1000);
    },
  };
  const remove = router[OBSERVE](listener);
  return function uninstrument() {
    remove();
    for (const id of [...open.keys()]) finish(id);
  };
}
