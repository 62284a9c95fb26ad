// router.metrics(): the router's usage counters (the same ones getUsageStats() and the dashboard
// read) in the Prometheus text exposition format 0.0.4, under LiteLLM proxy's metric names.

/** Content type of the exposition format this file writes. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * The label value requested model groups get when they are not a configured `model_name` or
 * alias (a caller can ask for any name: the label set stays bounded by the configuration).
 */
export const OTHER_GROUP = "__other__";

/** A label value escaped per the format: backslash, double quote and line feed. */
export function escapeLabelValue(value) {
  return String(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** A sample value: integers as they are, other numbers in JS's shortest round-trip form. */
function sample(v) {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  if (typeof v !== "number" || Number.isNaN(v)) return "NaN";
  return String(v);
}

function labelText(labels) {
  const parts = [];
  for (const [k, v] of Object.entries(labels)) parts.push(`${k}="${escapeLabelValue(v ?? "")}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** One metric family being written: HELP, TYPE, then its samples. */
class Family {
  constructor(name, type, help) {
    this.name = name;
    this.type = type;
    this.help = help;
    this.lines = [];
  }
  add(labels, value, suffix = "") {
    this.lines.push(`${this.name}${suffix}${labelText(labels)} ${sample(value)}`);
  }
  /** A histogram from the core's `{ le, counts (cumulative), count, sum }` (seconds). */
  histogram(labels, h) {
    if (!h || !Array.isArray(h.le) || !Array.isArray(h.counts)) return;
    h.le.forEach((le, i) => this.add({ ...labels, le: sample(le) }, h.counts[i] ?? 0, "_bucket"));
    this.add({ ...labels, le: "+Inf" }, h.count ?? 0, "_bucket");
    this.add(labels, h.count ?? 0, "_count");
    this.add(labels, h.sum ?? 0, "_sum");
  }
  text() {
    const help = this.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
    return `# HELP ${this.name} ${help}\n# TYPE ${this.name} ${this.type}\n${this.lines.join("\n")}`;
  }
}

/** LiteLLM's `litellm_deployment_state`: 0 healthy, 1 partial outage, 2 complete outage. */
const DEPLOYMENT_STATE = { healthy: 0, over_limit: 1, cooling_down: 2, disabled: 2 };

/**
 * The exposition text. `usage`: the core's usage report (getUsageStats()); `status`:
 * getDeploymentStatus(); `deployments`: getDeployments() (redacted); `groups`: the configured
 * model names and aliases.
 */
export function prometheusText({ usage, status, deployments, groups }) {
  const known = new Set(groups);
  const modelOf = new Map(deployments.map((d) => [d.model_info?.id, d.litellm_params?.model]));
  const providerOf = new Map(status.map((s) => [s.id, s.provider]));
  const deploymentLabels = (id, u) => ({
    model_group: u.model_group ?? "",
    model_id: id,
    litellm_model_name: modelOf.get(id) ?? "",
    api_provider: providerOf.get(id) ?? "",
  });
  const f = {
    total: new Family(
      "litellm_deployment_total_requests_total",
      "counter",
      "Upstream requests sent to the deployment",
    ),
    ok: new Family(
      "litellm_deployment_success_responses_total",
      "counter",
      "Upstream requests the deployment answered",
    ),
    failed: new Family(
      "litellm_deployment_failure_responses_total",
      "counter",
      "Upstream requests the deployment failed, by error class",
    ),
    apiLatency: new Family(
      "litellm_llm_api_latency_metric",
      "histogram",
      "Latency (seconds) of the deployment's answering exchanges",
    ),
    ttft: new Family(
      "litellm_llm_api_time_to_first_token_metric",
      "histogram",
      "Time (seconds) to a stream's first chunk",
    ),
    input: new Family(
      "litellm_input_tokens_metric_total",
      "counter",
      "Prompt tokens of answered requests",
    ),
    output: new Family(
      "litellm_output_tokens_metric_total",
      "counter",
      "Completion tokens of answered requests",
    ),
    tokens: new Family(
      "litellm_total_tokens_metric_total",
      "counter",
      "Prompt plus completion tokens of answered requests",
    ),
    spend: new Family("litellm_spend_metric_total", "counter", "Spend (USD) of answered requests"),
    cooled: new Family(
      "litellm_deployment_cooled_down_total",
      "counter",
      "Times the deployment entered a cooldown",
    ),
    state: new Family(
      "litellm_deployment_state",
      "gauge",
      "0 healthy, 1 partial outage (rpm/tpm reached this minute), 2 complete outage (cooling down or disabled)",
    ),
    inFlight: new Family(
      "llmux_deployment_in_flight_requests",
      "gauge",
      "Upstream requests to the deployment in progress",
    ),
    groupTotal: new Family(
      "litellm_proxy_total_requests_metric_total",
      "counter",
      "Router calls per requested model group",
    ),
    groupFailed: new Family(
      "litellm_proxy_failed_requests_metric_total",
      "counter",
      "Router calls that failed, per requested model group and error class",
    ),
    groupLatency: new Family(
      "litellm_request_total_latency_metric",
      "histogram",
      "Whole latency (seconds) of answered router calls, retries and fallbacks included",
    ),
    cacheHits: new Family(
      "litellm_cache_hits_metric_total",
      "counter",
      "Router calls answered from the response cache",
    ),
    fallbacks: new Family(
      "litellm_deployment_successful_fallbacks_total",
      "counter",
      "Router calls answered by a fallback group",
    ),
    retries: new Family(
      "llmux_retries_total",
      "counter",
      "Retries made for router calls to the model group",
    ),
  };
  for (const [id, u] of Object.entries(usage.deployments ?? {})) {
    const labels = deploymentLabels(id, u);
    f.total.add(labels, u.requests ?? 0);
    f.ok.add(labels, u.successes ?? 0);
    for (const [kind, n] of Object.entries(u.failures_by_kind ?? {}))
      f.failed.add({ ...labels, exception_class: kind }, n);
    f.apiLatency.histogram(labels, u.latency_histogram);
    f.ttft.histogram(labels, u.ttft_histogram);
    f.input.add(labels, u.prompt_tokens ?? 0);
    f.output.add(labels, u.completion_tokens ?? 0);
    f.tokens.add(labels, (u.prompt_tokens ?? 0) + (u.completion_tokens ?? 0));
    f.spend.add(labels, u.cost ?? 0);
    f.cooled.add(labels, u.cooldowns ?? 0);
    f.inFlight.add(labels, u.in_flight ?? 0);
  }
  for (const s of status) {
    f.state.add(
      {
        model_group: s.model_group,
        model_id: s.id,
        litellm_model_name: modelOf.get(s.id) ?? "",
        api_provider: s.provider ?? "",
      },
      DEPLOYMENT_STATE[s.status] ?? 0,
    );
  }
  // Requested groups: configured names keep their own series, any other name is summed.
  const merged = new Map();
  for (const [name, g] of Object.entries(usage.model_groups ?? {})) {
    const key = known.has(name) ? name : OTHER_GROUP;
    const m = merged.get(key);
    if (m === undefined) merged.set(key, structuredCopy(g));
    else addGroup(m, g);
  }
  for (const [name, g] of [...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const labels = { model_group: name };
    f.groupTotal.add(labels, g.requests ?? 0);
    for (const [kind, n] of Object.entries(g.failures_by_kind ?? {}))
      f.groupFailed.add({ ...labels, exception_class: kind }, n);
    f.groupLatency.histogram(labels, g.latency_histogram);
    f.cacheHits.add(labels, g.cache_hits ?? 0);
    f.fallbacks.add(labels, g.fallbacks ?? 0);
    f.retries.add(labels, g.retries ?? 0);
  }
  return `${Object.values(f)
    .filter((fam) => fam.lines.length > 0)
    .map((fam) => fam.text())
    .join("\n")}\n`;
}

function structuredCopy(g) {
  return {
    requests: g.requests ?? 0,
    failures_by_kind: { ...g.failures_by_kind },
    cache_hits: g.cache_hits ?? 0,
    fallbacks: g.fallbacks ?? 0,
    retries: g.retries ?? 0,
    latency_histogram: g.latency_histogram
      ? { ...g.latency_histogram, counts: [...g.latency_histogram.counts] }
      : undefined,
  };
}

function addGroup(m, g) {
  m.requests += g.requests ?? 0;
  for (const [kind, n] of Object.entries(g.failures_by_kind ?? {}))
    m.failures_by_kind[kind] = (m.failures_by_kind[kind] ?? 0) + n;
  m.cache_hits += g.cache_hits ?? 0;
  m.fallbacks += g.fallbacks ?? 0;
  m.retries += g.retries ?? 0;
  const h = g.latency_histogram;
  if (h && m.latency_histogram) {
    h.counts.forEach((c, i) => (m.latency_histogram.counts[i] += c));
    m.latency_histogram.count += h.count;
    m.latency_histogram.sum += h.sum;
  } else if (h) {
    m.latency_histogram = { ...h, counts: [...h.counts] };
  }
}
