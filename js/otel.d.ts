import type { Meter, Tracer } from "@opentelemetry/api";

export interface InstrumentOptions {
  /** Default: `trace.getTracer("llmux")` from the global provider. */
  tracer?: Tracer;
  /** Default: `metrics.getMeter("llmux")` from the global provider. */
  meter?: Meter;
  /** Record prompts and completions (`gen_ai.input.messages` / `gen_ai.output.messages`). Default false. */
  captureContent?: boolean;
}

/** The most calls with an open span at once; beyond it the oldest span is ended. */
export declare const MAX_OPEN_SPANS: number;

/**
 * OpenTelemetry spans (GenAI semantic conventions) and the `gen_ai.client.*` histograms for
 * every call of `router`. Returns a function that stops the instrumentation.
 */
export declare function instrument(
  router: import("./index.js").Router,
  options?: InstrumentOptions,
): () => void;
