// Runtime-neutral measurement kernel shared by the Node, Deno and workerd benchmarks: the
// request shapes, the floor/llmux callers, bounded interleaved rounds and their statistics.

export const MODEL = "gpt-4o-mini";
export const GROUP = "chat";
export const API_KEY = "sk-bench-0000000000000000";
export const MESSAGES = [{ role: "user", content: "Hello! Please answer with a short greeting." }];

/** The mock deployment name of deployment `i` (the floor always talks to deployment 0). */
export const deploymentName = (i) => `bench-${i}`;

/** A Router config: `deployments` entries of one model group on the loopback mock. */
export function routerOptions(mockUrl, deployments = 1, extra = {}) {
  const model_list = Array.from({ length: deployments }, (_, i) => ({
    model_name: GROUP,
    litellm_params: {
      model: `openai/${MODEL}`,
      api_base: `${mockUrl}/${deploymentName(i)}/v1`,
      api_key: API_KEY,
    },
  }));
  return { model_list, ...extra };
}

/** A larger config for construction timing: `count` deployments in groups of 10. */
export function largeOptions(mockUrl, count) {
  const model_list = Array.from({ length: count }, (_, i) => ({
    model_name: `group-${Math.floor(i / 10)}`,
    litellm_params: {
      model: `openai/${MODEL}`,
      api_base: `${mockUrl}/${deploymentName(i)}/v1`,
      api_key: `${API_KEY}-${i}`,
      rpm: 100 + (i % 7),
    },
  }));
  return { model_list, num_retries: 2, allowed_fails: 3, cooldown_time: 30 };
}

const HEADERS = { "content-type": "application/json", authorization: `Bearer ${API_KEY}` };

/** The floor: what a caller does without llmux (stringify, POST, parse). */
export function floorCall(mockUrl, fetchFn = (url, init) => fetch(url, init)) {
  const url = `${mockUrl}/${deploymentName(0)}/v1/chat/completions`;
  return async () => {
    const body = JSON.stringify({ model: MODEL, messages: MESSAGES });
    const res = await fetchFn(url, { method: "POST", headers: HEADERS, body });
    const json = await res.json();
    if (!res.ok) throw new Error(`floor: upstream status ${res.status}`);
    return json;
  };
}

/** The same request through llmux. */
export const routerCall = (router) => () => router.completion({ model: GROUP, messages: MESSAGES });

/** A fetch that answers every call with `bodyText` at once: no network, no timers. */
export const fakeFetch = (bodyText) => async () =>
  new Response(bodyText, { status: 200, headers: { "content-type": "application/json" } });

/** One real chat reply body from the mock, as text (the fake fetch replays it). */
export async function replyText(mockUrl) {
  const url = `${mockUrl}/${deploymentName(0)}/v1/chat/completions`;
  const body = JSON.stringify({ model: MODEL, messages: MESSAGES });
  const res = await fetch(url, { method: "POST", headers: HEADERS, body });
  const text = await res.text();
  if (!res.ok) throw new Error(`mock replied ${res.status}: ${text.slice(0, 200)}`);
  return text;
}

/** Clears the mock's recorded calls (kept outside every timed region). */
export async function resetMock(mockUrl) {
  const res = await fetch(`${mockUrl}/__mock/reset`, { method: "POST", body: "{}" });
  await res.text();
}

/** Throws unless `fn` really produced a chat reply (and, for llmux, says which deployment). */
export async function checkReply(fn, label) {
  const reply = await fn();
  const content = reply?.choices?.[0]?.message?.content;
  if (typeof content !== "string" || !content.startsWith("Hello from ")) {
    throw new Error(`${label}: not a chat reply: ${JSON.stringify(reply).slice(0, 200)}`);
  }
  return reply._hidden_params?.api_base ?? null;
}

/**
 * Runs `fn` up to `n` times with `concurrency` lanes, stopping early at `deadline` (clock ms).
 * Returns per-call durations (ms) and the wall time of the whole batch.
 */
export async function runBatch(fn, { n, concurrency, now, deadline = Infinity, record = true }) {
  const samples = record ? new Float64Array(n) : null;
  let started = 0;
  let done = 0;
  const t0 = now();
  async function lane() {
    while (started < n && now() < deadline) {
      started++;
      const s = now();
      await fn();
      if (samples) samples[done] = now() - s;
      done++;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  const elapsed = now() - t0;
  return { samples: samples ? samples.subarray(0, done) : null, count: done, elapsed };
}

/**
 * Interleaves variants: `rounds` rounds, each running every variant for `total / rounds` calls,
 * the order rotated each round so drift and warm-up order cancel. Bounded by `budgetMs`.
 */
export async function interleave(variants, { total, rounds, concurrency, now, budgetMs, batch }) {
  const names = Object.keys(variants);
  const acc = Object.fromEntries(names.map((k) => [k, { samples: [], count: 0, elapsed: 0 }]));
  const per = Math.ceil(total / rounds);
  const deadline = now() + budgetMs;
  let truncated = false;
  for (let r = 0; r < rounds; r++) {
    if (now() >= deadline) {
      truncated = true;
      break;
    }
    for (let j = 0; j < names.length; j++) {
      const name = names[(r + j) % names.length];
      const run = batch ?? runBatch;
      const b = await run(variants[name], { n: per, concurrency, now, deadline, name });
      const a = acc[name];
      if (b.samples) a.samples.push(b.samples);
      a.count += b.count;
      a.elapsed += b.elapsed;
      if (b.count < per) truncated = true;
    }
  }
  return { acc, truncated };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** `{ n, p50_us, p99_us, mean_us, rps }` from accumulated batches (samples in ms). */
export function summarize({ samples, count, elapsed }) {
  const out = { n: count, rps: count / (elapsed / 1000) };
  const total = samples.reduce((s, a) => s + a.length, 0);
  if (total > 0) {
    const all = new Float64Array(total);
    let o = 0;
    for (const a of samples) {
      all.set(a, o);
      o += a.length;
    }
    all.sort();
    out.p50_us = percentile(all, 50) * 1000;
    out.p99_us = percentile(all, 99) * 1000;
    out.mean_us = (all.reduce((s, x) => s + x, 0) / total) * 1000;
  } else {
    out.mean_us = (elapsed / count) * 1000;
  }
  return out;
}

/** Router numbers against the floor: added latency (µs) and the throughput ratio. */
export function compare(floor, router) {
  return {
    added_p50_us: router.p50_us - floor.p50_us,
    added_p99_us: router.p99_us - floor.p99_us,
    added_mean_us: router.mean_us - floor.mean_us,
    rps_ratio: router.rps / floor.rps,
  };
}

/** Median of an array of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** `new Router(config)` time in ms, median of `reps`, for each deployment count. */
export function constructionTimes(Router, mockUrl, now, counts = { 10: 51, 1000: 11 }) {
  const out = {};
  for (const [count, reps] of Object.entries(counts)) {
    const options = largeOptions(mockUrl, Number(count));
    new Router(options); // warm-up
    const times = [];
    for (let i = 0; i < reps; i++) {
      const t0 = now();
      new Router(options);
      times.push(now() - t0);
    }
    out[count] = { median_ms: median(times), reps };
  }
  return out;
}

/** Calls per variant and time budgets: every phase stops at its budget (reported as truncated). */
export const SIZES = {
  c1: { concurrency: 1, total: 2000, rounds: 10, budgetMs: 12_000 },
  c64: { concurrency: 64, total: 5000, rounds: 5, budgetMs: 12_000 },
  inproc: { concurrency: 1, total: 5000, rounds: 5, budgetMs: 6_000 },
  cacheHit: { concurrency: 1, total: 2000, rounds: 5, budgetMs: 6_000 },
};

/**
 * Cache hits against the network floor at concurrency 1: a Router with `cache_responses`
 * answers the suite's request from its in-memory cache (primed once; every timed call is
 * checked to be a hit), interleaved with bare fetches to the mock.
 */
export async function cacheHitPhase({ Router, mockUrl, now }) {
  const router = new Router(routerOptions(mockUrl, 1, { cache_responses: true }));
  await checkReply(routerCall(router), "llmux (priming the cache)");
  let misses = 0;
  const hit = async () => {
    const res = await router.completion({ model: GROUP, messages: MESSAGES });
    if (!res._hidden_params.cache_hit) misses++;
    return res;
  };
  const variants = { floor: floorCall(mockUrl), hit };
  const warm = now() + 2_000;
  for (const fn of Object.values(variants)) {
    await runBatch(fn, { n: 500, concurrency: 1, now, deadline: warm, record: false });
  }
  const { acc, truncated } = await interleave(variants, { ...SIZES.cacheHit, now });
  if (misses > 0) throw new Error(`cache-hit phase: ${misses} calls missed the cache`);
  const floor = summarize(acc.floor);
  const llmux = summarize(acc.hit);
  return {
    truncated,
    floor,
    hit: llmux,
    saved_p50_us: floor.p50_us - llmux.p50_us,
    speedup_p50: floor.p50_us / llmux.p50_us,
  };
}

/**
 * The whole suite for a host with a sub-millisecond clock (Node, Deno): warm-up, then
 * interleaved floor / llmux / llmux-3 rounds at c=1 and c=64, then the fake-fetch pair.
 */
export async function runLocalSuite({ Router, mockUrl, now, log }) {
  const router1 = new Router(routerOptions(mockUrl, 1));
  const router3 = new Router(routerOptions(mockUrl, 3));
  const variants = {
    floor: floorCall(mockUrl),
    llmux: routerCall(router1),
    llmux3: routerCall(router3),
  };
  await checkReply(variants.floor, "floor");
  await checkReply(variants.llmux, "llmux");
  const bases = new Set();
  for (let i = 0; i < 60; i++) bases.add(await checkReply(variants.llmux3, "llmux3"));
  if (bases.size !== 3) throw new Error(`llmux3 used ${bases.size} deployments, expected 3`);

  log("warm-up");
  const warmDeadline = now() + 5_000;
  for (const fn of Object.values(variants)) {
    await runBatch(fn, { n: 300, concurrency: 1, now, deadline: warmDeadline, record: false });
    await runBatch(fn, { n: 500, concurrency: 64, now, deadline: warmDeadline, record: false });
  }
  await resetMock(mockUrl);

  const network = {};
  for (const [key, size] of Object.entries({ c1: SIZES.c1, c64: SIZES.c64 })) {
    log(`network ${key}: ${size.total} requests per variant`);
    const { acc, truncated } = await interleave(variants, { ...size, now });
    await resetMock(mockUrl);
    const s = Object.fromEntries(Object.entries(acc).map(([k, v]) => [k, summarize(v)]));
    network[key] = {
      concurrency: size.concurrency,
      truncated,
      ...s,
      llmux_vs_floor: compare(s.floor, s.llmux),
      llmux3_vs_floor: compare(s.floor, s.llmux3),
    };
  }

  log("in-process (fake fetch)");
  const text = await replyText(mockUrl);
  const fake = fakeFetch(text);
  const fakeRouter = new Router(routerOptions(mockUrl, 1, { fetch: fake }));
  const inVariants = { floor: floorCall(mockUrl, fake), llmux: routerCall(fakeRouter) };
  await checkReply(inVariants.llmux, "llmux (fake fetch)");
  const warm = now() + 2_000;
  for (const fn of Object.values(inVariants)) {
    await runBatch(fn, { n: 2000, concurrency: 1, now, deadline: warm, record: false });
  }
  const { acc, truncated } = await interleave(inVariants, { ...SIZES.inproc, now });
  const floor = summarize(acc.floor);
  const llmux = summarize(acc.llmux);
  const inProcess = {
    truncated,
    floor,
    llmux,
    overhead_mean_us: llmux.mean_us - floor.mean_us,
    overhead_p50_us: llmux.p50_us - floor.p50_us,
  };

  log("streaming (fake fetch, one SSE event per read)");
  const streaming = await streamingCase({ Router, mockUrl, now });

  log("cache hits vs the floor");
  const cacheHit = await cacheHitPhase({ Router, mockUrl, now });
  await resetMock(mockUrl);

  log("new Router(config)");
  const construction = constructionTimes(Router, mockUrl, now);
  return { network, in_process: inProcess, streaming, cache_hit: cacheHit, construction };
}

/** Words in the streamed benchmark answer (one chunk each, plus role/finish/usage chunks). */
const STREAM_WORDS = 100;

/** A plain SSE reader: what a caller does without llmux (read, split events, parse JSON). */
async function readSse(res) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let chunks = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (event.startsWith("data: ") && event !== "data: [DONE]") {
        JSON.parse(event.slice(6));
        chunks++;
      }
    }
  }
  return chunks;
}

/**
 * Per-chunk overhead of a stream through llmux against reading the same SSE with a plain
 * `fetch` reader: both get a fake fetch that replays one real mock stream, one event per read.
 */
export async function streamingCase({ Router, mockUrl, now }) {
  const name = "bench-stream";
  const reply = Array.from({ length: STREAM_WORDS }, (_, i) => `word${i}`).join(" ");
  await fetch(`${mockUrl}/__mock/mode`, {
    method: "POST",
    body: JSON.stringify({ name, spec: { kind: "healthy", reply } }),
  }).then((r) => r.text());
  const url = `${mockUrl}/${name}/v1/chat/completions`;
  const body = JSON.stringify({ model: MODEL, messages: MESSAGES, stream: true });
  const sse = await (await fetch(url, { method: "POST", headers: HEADERS, body })).text();
  const encoder = new TextEncoder();
  const events = sse
    .split("\n\n")
    .filter((e) => e.length > 0)
    .map((e) => encoder.encode(`${e}\n\n`));
  const replay = async () =>
    new Response(
      new ReadableStream({
        pull(controller) {
          if (controller.i === undefined) controller.i = 0;
          if (controller.i < events.length) controller.enqueue(events[controller.i++]);
          else controller.close();
        },
      }),
      { status: 200, headers: { "content-type": "text/event-stream" } },
    );
  const floor = async () => readSse(await replay());
  const router = new Router(
    routerOptions(mockUrl, 1, {
      fetch: replay,
      model_list: [
        {
          model_name: GROUP,
          litellm_params: {
            model: `openai/${MODEL}`,
            api_base: `${mockUrl}/${name}/v1`,
            api_key: API_KEY,
          },
        },
      ],
    }),
  );
  const llmux = async () => {
    let chunks = 0;
    for await (const _ of await router.completion({
      model: GROUP,
      messages: MESSAGES,
      stream: true,
    }))
      chunks++;
    return chunks;
  };
  const chunks = await floor();
  const routed = await llmux();
  if (routed < STREAM_WORDS || chunks < routed) {
    throw new Error(`streaming: floor read ${chunks} chunks, llmux ${routed}`);
  }
  const variants = { floor, llmux };
  const warm = now() + 2_000;
  for (const fn of Object.values(variants)) {
    await runBatch(fn, { n: 200, concurrency: 1, now, deadline: warm, record: false });
  }
  const { acc, truncated } = await interleave(variants, {
    concurrency: 1,
    total: 600,
    rounds: 6,
    budgetMs: 8_000,
    now,
  });
  const f = summarize(acc.floor);
  const l = summarize(acc.llmux);
  return {
    truncated,
    chunks: routed,
    floor: f,
    llmux: l,
    per_chunk_floor_us: f.mean_us / chunks,
    per_chunk_llmux_us: l.mean_us / routed,
    overhead_per_chunk_us: (l.mean_us - f.mean_us) / routed,
  };
}
