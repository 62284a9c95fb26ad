// What the dashboard (`gateway.ui`) shows that getUsageStats() does not keep: the last calls,
// recent notable events and per-deployment history, from the router's `on` events, bounded.

/** Calls kept in the call log (oldest dropped first). */
export const MAX_CALLS = 100;
/** Retry, fallback, cooldown and operator events kept. */
export const MAX_EVENTS = 50;
/** History: one bucket per 10 s, 30 buckets (the last 5 minutes) per deployment. */
export const BUCKET_MS = 10_000;
export const BUCKETS = 30;
/** Deployments with history (more are not tracked until others drop out of the table). */
const MAX_TRACKED = 1024;
/** Error messages in the call log are cut to this many characters. */
const MAX_MESSAGE = 300;

const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v) => (typeof v === "string" ? v : null);

/** A fixed-size ring: `push` drops the oldest beyond `cap`; `list()` is oldest first. */
class Ring {
  #items = [];
  #cap;
  constructor(cap) {
    this.#cap = cap;
  }
  push(item) {
    this.#items.push(item);
    if (this.#items.length > this.#cap) this.#items.shift();
  }
  list() {
    return this.#items.slice();
  }
}

export class DashboardRecorder {
  calls = new Ring(MAX_CALLS);
  events = new Ring(MAX_EVENTS);
  /** id -> { start, buckets: [{ ok, failed, latency_sum }] } (bucket i covers start + i * BUCKET_MS). */
  #history = new Map();
  /** The last health check run from the dashboard. */
  lastHealthCheck = null;
  startedAt = Date.now();

  /** One router event (js/logging.js hands the dashboard every one; recording never throws into a request). */
  record(name, e, now) {
    if (e === null || typeof e !== "object") return;
    if (name === "success") {
      this.calls.push({
        at: now,
        ok: true,
        model_group: str(e.model_group),
        deployment: str(e.model_id),
        answered_by_group: str(e.answered_by_group),
        provider: str(e.custom_llm_provider),
        attempts: num(e.attempts),
        retries: num(e.retries),
        fallback: str(e.fallback_model_group),
        cache_hit: e.cache_hit === true,
        stream: e.stream === true,
        latency_ms: num(e.latency_ms),
        cost: num(e.response_cost),
      });
      if (e.cache_hit !== true) this.#sample(str(e.model_id), now, num(e.deployment_latency_ms));
    } else if (name === "failure") {
      this.calls.push({
        at: now,
        ok: false,
        model_group: str(e.model_group),
        deployment: str(e.deployment_id),
        attempts: num(e.attempts),
        error: str(e.error),
        status: num(e.status),
        message: str(e.message)?.slice(0, MAX_MESSAGE) ?? null,
        stream: e.stream === true,
        latency_ms: num(e.latency_ms),
      });
      this.#sample(str(e.deployment_id), now, null);
    } else {
      if (name === "retry") this.#sample(str(e.model_id), now, null);
      this.events.push({ at: now, type: name, ...pick(e) });
    }
  }

  /** An operator action taken from the dashboard, for the events list. */
  action(type, id, group) {
    this.events.push({ at: Date.now(), type, model_id: id, model_group: group ?? null });
  }

  /** One answered (`latency` a number) or failed (`null`) attempt of deployment `id`. */
  #sample(id, now, latency) {
    if (id === null) return;
    let h = this.#history.get(id);
    if (h === undefined) {
      if (this.#history.size >= MAX_TRACKED) return;
      h = { start: bucketStart(now), buckets: [emptyBucket()] };
      this.#history.set(id, h);
    }
    advance(h, now);
    const b = h.buckets[h.buckets.length - 1];
    if (latency === null) b.failed++;
    else {
      b.ok++;
      b.latency_sum += latency;
    }
  }

  /**
   * Per deployment id of `ids`: the last BUCKETS buckets ending now, oldest first, as
   * `{ bucket_ms, requests: [...], failures: [...], latency_ms: [mean or null] }`. Ids no longer
   * in `ids` are dropped.
   */
  history(ids, now) {
    const keep = new Set(ids);
    for (const id of this.#history.keys()) if (!keep.has(id)) this.#history.delete(id);
    const out = {};
    for (const id of ids) {
      const h = this.#history.get(id);
      const requests = new Array(BUCKETS).fill(0);
      const failures = new Array(BUCKETS).fill(0);
      const latency = new Array(BUCKETS).fill(null);
      if (h !== undefined) {
        advance(h, now);
        const offset = BUCKETS - h.buckets.length;
        h.buckets.forEach((b, i) => {
          requests[offset + i] = b.ok;
          failures[offset + i] = b.failed;
          latency[offset + i] = b.ok > 0 ? Math.round((b.latency_sum / b.ok) * 10) / 10 : null;
        });
      }
      out[id] = { bucket_ms: BUCKET_MS, requests, failures, latency_ms: latency };
    }
    return out;
  }
}

const bucketStart = (now) => Math.floor(now / BUCKET_MS) * BUCKET_MS;
const emptyBucket = () => ({ ok: 0, failed: 0, latency_sum: 0 });

/** Adds empty buckets up to the one containing `now`; keeps the last BUCKETS. */
function advance(h, now) {
  const current = bucketStart(now);
  const last = h.start + (h.buckets.length - 1) * BUCKET_MS;
  const missing = Math.min(BUCKETS, Math.max(0, Math.round((current - last) / BUCKET_MS)));
  for (let i = 0; i < missing; i++) h.buckets.push(emptyBucket());
  if (h.buckets.length > BUCKETS) h.buckets.splice(0, h.buckets.length - BUCKETS);
  h.start = current - (h.buckets.length - 1) * BUCKET_MS;
}

/** The plain fields of a retry/fallback/cooldown event (no message: messages stay in calls). */
function pick(e) {
  const out = {};
  for (const k of [
    "model_group",
    "model_id",
    "from",
    "to",
    "error",
    "status",
    "retry",
    "delay_ms",
    "until_ms",
    "cooldown_ms",
  ]) {
    const v = e[k];
    if (typeof v === "string" || (typeof v === "number" && Number.isFinite(v))) out[k] = v;
  }
  return out;
}
