// npm run demo: one llmux Router over a loopback mock provider, showing load balancing,
// retries, timeouts, cooldowns, fallbacks, typed errors, cost, streaming, caching, and the
// Responses / Messages / rerank APIs on other providers. Every
// number printed comes from the router (`_hidden_params`, `getUsageStats()`,
// `getDeployments()`) or from the mock's call log. With OPENAI_API_KEY, ANTHROPIC_API_KEY or
// GEMINI_API_KEY set, it also makes one plain and one streamed real call to each provider.
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Router, errors, version } from "../../js/node.js";
import { startMockServer } from "../../tests/mock/server.mjs";
import { c, table, section, print, ms, usd, pct, median } from "./format.mjs";

const CHAT = ["healthy", "flaky", "slow"];
const PRICES = {
  healthy: [0.15e-6, 0.6e-6],
  flaky: [0.5e-6, 1.5e-6],
  slow: [2.5e-6, 10e-6],
  backup: [1e-6, 3e-6],
};
/** Fake keys for the mock: the errors section checks that none leaks into a message. */
const keyOf = (/** @type {string} */ id) => `sk-demo-${id}-0123456789abcdef`;

const FLAKY = { kind: "flaky", fail_rate: 0.4, error: "server" };
const SLOW = { kind: "slow", delay_ms: 700 };
const OPTIONS = {
  num_retries: 2,
  allowed_fails: 1,
  cooldown_time: 2,
  fallbacks: [{ chat: ["backup"] }],
};
const BATCH = 30;

const mock = await startMockServer();
mock.mode("flaky", FLAKY);
mock.mode("slow", SLOW);

/** A chat deployment on the mock endpoint named like its id. */
const chatDeployment = (/** @type {string} */ group, /** @type {string} */ id, extra = {}) => ({
  model_name: group,
  litellm_params: {
    model: `openai/mock-${id}`,
    api_base: mock.base(id),
    api_key: keyOf(id),
    ...extra,
  },
  model_info: {
    id,
    input_cost_per_token: PRICES[id][0],
    output_cost_per_token: PRICES[id][1],
  },
});

const model_list = [
  chatDeployment("chat", "healthy", { weight: 3 }),
  chatDeployment("chat", "flaky", { weight: 2 }),
  chatDeployment("chat", "slow", { weight: 1, timeout: 0.5 }),
  chatDeployment("backup", "backup"),
  {
    model_name: "embed",
    litellm_params: {
      model: "openai/mock-embedding",
      api_base: mock.base("healthy"),
      api_key: keyOf("embed"),
    },
    model_info: { id: "embed", mode: "embedding", input_cost_per_token: 0.02e-6 },
  },
];
// Real providers, each added when its key is in the environment.
const REAL = [
  { env: "OPENAI_API_KEY", group: "real-openai", model: "openai/gpt-4o-mini" },
  { env: "ANTHROPIC_API_KEY", group: "real-anthropic", model: "anthropic/claude-haiku-4-5" },
  { env: "GEMINI_API_KEY", group: "real-gemini", model: "gemini/gemini-2.5-flash" },
].filter((r) => Boolean(process.env[r.env]));
for (const r of REAL) {
  model_list.push({
    model_name: r.group,
    litellm_params: { model: r.model, api_key: `os.environ/${r.env}`, timeout: 15 },
    model_info: { id: r.group },
  });
}

const router = new Router({ model_list, ...OPTIONS });
// Per-deployment settings as the router reports them (keys redacted).
const deployments = router.getDeployments();
const paramsOf = (/** @type {string} */ id) =>
  deployments.find((d) => d.model_info.id === id)?.litellm_params ?? {};
const weightOf = (/** @type {string} */ id) => paramsOf(id).weight ?? "—";
const slowTimeout = `${paramsOf("slow").timeout} s`;

/** Every response's `_hidden_params`, for the cost total. */
const answered = [];
let seq = 0;

/**
 * One tagged chat request; the tag finds its upstream calls in the mock's log.
 * @returns {Promise<{ n: number, hp?: any, error?: any }>}
 */
async function ask(model = "chat", extra = {}) {
  const n = ++seq;
  const messages = [{ role: "user", content: `Say hello (request #${n})` }];
  try {
    const res = await router.completion({ model, messages, ...extra });
    answered.push(res._hidden_params);
    return { n, hp: res._hidden_params };
  } catch (error) {
    return { n, error };
  }
}
const askMany = (/** @type {number} */ count) =>
  Promise.all(Array.from({ length: count }, () => ask()));

/** Mock endpoint names request #n reached, in order. @param {number} n */
const pathOf = (n) =>
  mock.calls
    .filter((call) => call.body?.messages?.[0]?.content === `Say hello (request #${n})`)
    .map((call) => call.name);
/** "flaky ✗ → healthy ✓": every call but an answered request's last one failed. */
function showPath(/** @type {{ n: number, hp?: any }} */ r) {
  const names = pathOf(r.n);
  return names
    .map((name, i) =>
      r.hp && i === names.length - 1 ? `${name} ${c.green("✓")}` : `${name} ${c.red("✗")}`,
    )
    .join(" → ");
}
/** @param {Array<{ n: number }>} reqs @param {string} name */
const callsTo = (reqs, name) =>
  reqs.reduce((k, r) => k + pathOf(r.n).filter((x) => x === name).length, 0);
/** "healthy 7 · flaky 3" @param {Array<{ hp?: any }>} reqs */
function answeredBy(reqs) {
  const counts = new Map();
  for (const r of reqs) {
    const id = r.hp?.model_id ?? "error";
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return [...counts].map(([id, k]) => `${id} ${k}`).join(" · ");
}
/** Milliseconds until `id`'s cooldown ends (0 when it is not cooling down). @param {string} id */
async function cooldownLeft(id) {
  const until = (await router.getUsageStats()).deployments[id]?.cooldown_until_ms;
  return until == null ? 0 : Math.max(0, until - Date.now());
}
/** Waits out the cooldowns of `ids`; returns the wait in ms. @param {string[]} ids */
async function waitForCooldowns(ids) {
  const left = Math.max(...(await Promise.all(ids.map(cooldownLeft))));
  if (left > 0) await sleep(left + 25);
  return left;
}

async function main() {
  console.log(c.bold(`llmux ${version()} demo`) + ` · one Router · mock provider at ${mock.url}`);
  const { num_retries, allowed_fails, cooldown_time } = OPTIONS;
  print([
    c.dim(
      `chat = healthy (weight ${weightOf("healthy")}) + flaky (weight ${weightOf("flaky")}, ` +
        `${FLAKY.fail_rate * 100}% 500s) + slow (weight ${weightOf("slow")},`,
    ),
    c.dim(
      `replies in ${SLOW.delay_ms / 1000} s, timeout ${slowTimeout}) · backup · embed · ` +
        `num_retries ${num_retries}, allowed_fails ${allowed_fails},`,
    ),
    c.dim(`cooldown_time ${cooldown_time} s, fallbacks chat → backup`),
  ]);

  // Node loads its fetch lazily: this first call (shown in section 7) takes that one-time cost.
  const emb = await router.embedding({ model: "embed", input: ["alpha", "beta", "gamma"] });
  answered.push(emb._hidden_params);

  // 1. Balancing ------------------------------------------------------------------------------
  section(`1. Balancing: ${BATCH} concurrent requests to "chat" (weighted simple-shuffle)`);
  const batch = await askMany(BATCH);
  const ok = batch.filter((r) => r.hp);
  print(
    table(
      [
        "deployment",
        "weight",
        "picked first",
        "upstream calls",
        "answered",
        "share",
        "p50 latency",
      ],
      CHAT.map((id) => {
        const mine = ok.filter((r) => r.hp.model_id === id);
        return [
          id,
          weightOf(id),
          batch.filter((r) => pathOf(r.n)[0] === id).length,
          callsTo(batch, id),
          mine.length,
          pct(mine.length, batch.length),
          ms(median(mine.map((r) => r.hp.latency_ms))),
        ];
      }),
    ),
  );
  const failedInBatch = batch.length - ok.length;
  print([
    c.dim(
      `${ok.length}/${batch.length} answered` +
        (failedInBatch ? `, ${failedInBatch} failed` : "") +
        `; p50 of _hidden_params.latency_ms (whole request, retries included)`,
    ),
  ]);

  // 2. Retries --------------------------------------------------------------------------------
  section(`2. Retries: the requests above that reached "flaky" (num_retries ${num_retries})`);
  const viaFlaky = ok.filter((r) => pathOf(r.n).includes("flaky"));
  const flakyFailed = viaFlaky.filter((r) => r.hp.model_id !== "flaky");
  const shown = [...flakyFailed.slice(0, 3), ...viaFlaky.filter((r) => r.hp.model_id === "flaky")];
  print(
    table(
      ["request", "upstream path", "attempts", "retries"],
      shown.slice(0, 4).map((r) => [`#${r.n}`, showPath(r), r.hp.attempts, r.hp.retries]),
      { left: [1] },
    ),
  );
  const stats1 = (await router.getUsageStats()).deployments;
  const batchCalls = CHAT.reduce((k, id) => k + callsTo(batch, id), 0);
  const attempts = ok.reduce((k, r) => k + r.hp.attempts, 0);
  const retries = ok.reduce((k, r) => k + r.hp.retries, 0);
  print([
    `${ok.length} answers: Σ attempts ${attempts}, Σ retries ${retries} (_hidden_params); ` +
      `mock log: ${batchCalls} upstream calls`,
    `flaky: ${stats1.flaky?.failures ?? 0} of ${stats1.flaky?.requests ?? 0} calls failed ` +
      `${JSON.stringify(stats1.flaky?.failures_by_kind ?? {})}, each retried on another deployment`,
  ]);

  // 3. Timeout + retry ------------------------------------------------------------------------
  section(
    `3. Timeout + retry: "slow" takes ${SLOW.delay_ms / 1000} s, its timeout is ${slowTimeout}`,
  );
  let viaSlow = ok.filter((r) => pathOf(r.n)[0] === "slow");
  // Rare: the shuffle never picked slow first in the batch; ask until it does (bounded).
  for (let i = 0; i < 20 && viaSlow.length === 0; i++) {
    await waitForCooldowns(["slow"]);
    const r = await ask();
    if (r.hp && pathOf(r.n)[0] === "slow") viaSlow = [r];
  }
  print(
    table(
      ["request", "upstream path", "attempts", "answered by", "elapsed"],
      viaSlow
        .slice(0, 3)
        .map((r) => [`#${r.n}`, showPath(r), r.hp.attempts, r.hp.model_id, ms(r.hp.latency_ms)]),
      { left: [1, 3] },
    ),
  );
  const stats3 = (await router.getUsageStats()).deployments;
  print([
    `slow: ${stats3.slow?.failures_by_kind?.Timeout ?? 0} Timeout failures (usage stats); ` +
      `mock: ${mock.stats.aborted} requests aborted by the router`,
  ]);

  // 4. Cooldown -------------------------------------------------------------------------------
  section(
    `4. Cooldown: scripted 500s on "flaky" ` +
      `(allowed_fails ${allowed_fails}, cooldown_time ${cooldown_time} s)`,
  );
  const waited = await waitForCooldowns(["flaky"]);
  if (waited) print([c.dim(`(first waited ${ms(waited)} for flaky's cooldown from above to end)`)]);
  // Queue one failure at a time, so none is left over once flaky is benched.
  const phaseA = [];
  let scripted = 0;
  for (let i = 0; i < 30 && (await cooldownLeft("flaky")) === 0; i++) {
    if (callsTo(phaseA, "flaky") >= scripted) {
      mock.script("flaky", { error: "server" });
      scripted++;
    }
    phaseA.push(await ask());
  }
  const benched = await cooldownLeft("flaky");
  const phaseB = await askMany(10);
  const stillBenched = await cooldownLeft("flaky");
  await sleep(stillBenched + 25);
  const back = await cooldownLeft("flaky");
  const phaseC = [];
  for (let round = 0; round < 4 && callsTo(phaseC, "flaky") === 0; round++) {
    phaseC.push(...(await askMany(6)));
  }
  print(
    table(
      ["phase", "requests", "calls to flaky", "answered by", "flaky cooling for"],
      [
        ["scripted 500s", phaseA.length, callsTo(phaseA, "flaky"), answeredBy(phaseA), ms(benched)],
        [
          "while cooling",
          phaseB.length,
          callsTo(phaseB, "flaky"),
          answeredBy(phaseB),
          ms(stillBenched),
        ],
        [
          `after ${cooldown_time} s`,
          phaseC.length,
          callsTo(phaseC, "flaky"),
          answeredBy(phaseC),
          ms(back),
        ],
      ],
      { left: [3] },
    ),
  );
  print([
    c.dim(
      `cooling for = getUsageStats().deployments.flaky.cooldown_until_ms − now, after each phase; flaky`,
    ),
    c.dim(
      `is benched once its failures in the current minute (earlier ones too) exceed ${allowed_fails}`,
    ),
  ]);

  // 5. Fallback -------------------------------------------------------------------------------
  section(`5. Fallback: every "chat" deployment fails once (scripted) → group "backup"`);
  await waitForCooldowns(CHAT);
  mock.script("healthy", { error: "server" });
  mock.script("flaky", { error: "unavailable" });
  mock.script("slow", { error: "bad_gateway" });
  const fb = await ask();
  if (fb.hp) {
    const hp = fb.hp;
    print([
      `#${fb.n}: ${showPath(fb)}`,
      `answered by ${hp.model_id} · model_group ${hp.model_group} · ` +
        `fallback_model_group ${JSON.stringify(hp.fallback_model_group)}`,
      `attempts ${hp.attempts} · retries ${hp.retries} · elapsed ${ms(hp.latency_ms)}`,
    ]);
  } else {
    print([c.red(`#${fb.n} failed: ${fb.error?.name}: ${fb.error?.message}`)]);
  }

  // 6. Errors ---------------------------------------------------------------------------------
  section("6. Typed errors");
  mock.script("backup", { error: "auth" });
  const bad = await ask("backup");
  const e = bad.error;
  if (e instanceof errors.AuthenticationError) {
    const leaked = e.message.includes(keyOf("backup"));
    print([
      `upstream 401 → ${e.name} (instanceof errors.AuthenticationError)`,
      `  status ${e.status} · deployment_id ${e.deployment_id} · model_group ${e.model_group} · ` +
        `retryable ${e.retryable}`,
      `  message: ${JSON.stringify(e.message.length > 70 ? e.message.slice(0, 69) + "…" : e.message)}`,
      `  api_key in message: ${leaked ? c.red("yes") : "no"}`,
    ]);
  } else {
    print([c.red(`expected an AuthenticationError, got ${e ? e.name : "an answer"}`)]);
  }
  try {
    new Router({
      model_list: [{ model_name: "chat", litellm_params: { model: "openai/x", timeout: "fast" } }],
    });
  } catch (err) {
    const ce = /** @type {any} */ (err);
    print([
      `new Router({ … timeout: "fast" }) → ${ce.name}` +
        (err instanceof errors.ConfigError ? "" : c.red(" (not a ConfigError!)")),
      `  field ${ce.field}`,
    ]);
  }

  // 7. Cost -----------------------------------------------------------------------------------
  section("7. Cost (model_info prices × upstream usage)");
  const stats = (await router.getUsageStats()).deployments;
  const ids = deployments.map((d) => d.model_info.id).filter((id) => stats[id]);
  print(
    table(
      ["deployment", "calls", "ok", "failed", "tokens in/out", "cost"],
      ids.map((id) => {
        const s = stats[id];
        return [
          id,
          s.requests,
          s.successes,
          s.failures,
          `${s.prompt_tokens}/${s.completion_tokens}`,
          usd(s.cost),
        ];
      }),
    ),
  );
  const totalHidden = answered.reduce((k, hp) => k + (hp.response_cost ?? 0), 0);
  const totalStats = ids.reduce((k, id) => k + stats[id].cost, 0);
  print([
    `total ${usd(totalStats)} (Σ getUsageStats() cost) = ${usd(totalHidden)} ` +
      `(Σ response_cost, ${answered.length} responses)`,
  ]);

  // 8. Streaming ------------------------------------------------------------------------------
  section("8. Streaming (stream: true)");
  mock.script("backup", {
    reply: "Streams arrive chunk by chunk, decoded in Rust.",
    chunk_delay_ms: 30,
  });
  const t0 = performance.now();
  const stream = await router.completion({
    model: "backup",
    messages: [{ role: "user", content: "Stream something" }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const firstChunkMs = performance.now() - t0;
  let text = "";
  let chunks = 0;
  let usage;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? "";
    usage ??= chunk.usage ?? undefined;
  }
  print([
    `${JSON.stringify(text)}`,
    `  ${chunks} chunks · first after ${ms(firstChunkMs)} · all after ${ms(performance.now() - t0)}` +
      ` · usage ${usage?.prompt_tokens} in / ${usage?.completion_tokens} out · cost ` +
      usd(stream._hidden_params.response_cost),
  ]);
  answered.push(stream._hidden_params);

  // Before the first chunk a failure is retried like any call; after it, it is a typed error.
  mock.script("backup", { reset: "before_headers" });
  const retried = await router.completion({
    model: "backup",
    messages: [{ role: "user", content: "Stream after a reset" }],
    stream: true,
  });
  for await (const _ of retried);
  print([
    `reset before the first chunk → retried: attempts ${retried._hidden_params.attempts}, ` +
      `answered by ${retried._hidden_params.model_id}`,
  ]);
  mock.script("backup", { reply: "one two three four five six seven eight", reset: "mid_body" });
  const cut = await router.completion({
    model: "backup",
    messages: [{ role: "user", content: "Stream that breaks" }],
    stream: true,
  });
  let delivered = 0;
  try {
    for await (const _ of cut) delivered++;
  } catch (err) {
    const ce = /** @type {any} */ (err);
    print([
      `reset after ${delivered} chunks → ${ce.name} thrown from the iterator (no silent retry)`,
    ]);
  }
  const abortedBefore = mock.stats.aborted;
  mock.script("backup", { reply: "one two three four five six seven eight", chunk_delay_ms: 40 });
  const early = await router.completion({
    model: "backup",
    messages: [{ role: "user", content: "Stream I leave early" }],
    stream: true,
  });
  for await (const chunk of early) if (chunk.choices[0]?.delta?.content) break;
  await sleep(50);
  print([
    `break out of for-await → upstream connection closed ` +
      `(mock saw ${mock.stats.aborted - abortedBefore} aborted)`,
  ]);

  // 9. Caching --------------------------------------------------------------------------------
  section("9. Caching (cache_responses: true, in memory)");
  const cached = new Router({
    model_list: [chatDeployment("cached", "healthy")],
    cache_responses: true,
    cache_kwargs: { ttl: 60 },
  });
  const question = { model: "cached", messages: [{ role: "user", content: "Cache this answer" }] };
  const upstreamCalls = () =>
    mock.calls.filter((call) => call.body?.messages?.[0]?.content === "Cache this answer").length;
  const rows = [];
  for (const [label, extra] of [
    ["first request", {}],
    ["same request again", {}],
    ["temperature 0.2 (another key)", { temperature: 0.2 }],
    ['cache: { "no-cache": true }', { cache: { "no-cache": true } }],
    ["stream: true (replayed)", { stream: true }],
  ]) {
    const before = upstreamCalls();
    const t = performance.now();
    const res = await cached.completion({ ...question, ...extra });
    let text = res.choices?.[0]?.message?.content;
    if (extra.stream) {
      text = "";
      for await (const chunk of res) text += chunk.choices[0]?.delta?.content ?? "";
    }
    rows.push([
      label,
      res._hidden_params.cache_hit ? c.green("hit") : "miss",
      upstreamCalls() - before,
      ms(performance.now() - t),
      usd(res._hidden_params.response_cost),
      JSON.stringify(text),
    ]);
  }
  print(table(["request", "cache", "upstream calls", "latency", "cost", "answer"], rows));
  const cacheStats = (await cached.getUsageStats()).model_groups.cached;
  print([
    `getUsageStats(): ${cacheStats.requests} requests, ${cacheStats.cache_hits} cache hits, ` +
      `cost ${usd(cacheStats.cost)}`,
  ]);

  // 10. Other APIs ----------------------------------------------------------------------------
  section("10. Other APIs: Responses → Anthropic, Messages → OpenAI, rerank → Cohere");
  await otherApis();

  // 11. A real provider -----------------------------------------------------------------------
  section("11. Real providers");
  if (REAL.length === 0) {
    print([
      `skipped: set OPENAI_API_KEY, ANTHROPIC_API_KEY and/or GEMINI_API_KEY to add`,
      `gpt-4o-mini, claude-haiku-4-5 and gemini-2.5-flash and make one real call to each.`,
    ]);
    return;
  }
  for (const r of REAL) {
    try {
      const res = await router.completion({
        model: r.group,
        messages: [{ role: "user", content: "Say hello in five words." }],
        max_tokens: 20,
        num_retries: 0,
      });
      const hp = res._hidden_params;
      print([
        `${r.model} → ${res.model}: ${JSON.stringify(res.choices[0]?.message?.content ?? "")}`,
        `  tokens ${res.usage?.prompt_tokens} in / ${res.usage?.completion_tokens} out · cost ` +
          `${usd(hp.response_cost)} · ${ms(hp.latency_ms)}`,
      ]);
      const started = performance.now();
      const stream = await router.completion({
        model: r.group,
        messages: [{ role: "user", content: "Count from one to ten in words." }],
        max_tokens: 40,
        num_retries: 0,
        stream: true,
      });
      const firstMs = performance.now() - started;
      let text = "";
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices[0]?.delta?.content ?? "";
      }
      print([
        `  streamed: ${JSON.stringify(text.trim())}`,
        `  ${chunks} chunks · first after ${ms(firstMs)} · cost ` +
          usd(stream._hidden_params.response_cost),
      ]);
    } catch (err) {
      const re = /** @type {any} */ (err);
      // A connection error never reached the provider: its status is a placeholder.
      const status = err instanceof errors.APIConnectionError ? "" : ` (status ${re.status})`;
      print([
        c.red(`${r.model} failed: ${re.name}${status}: ${re.message}`),
        `  check ${r.env} and that this machine can reach the provider`,
      ]);
    }
  }
}

/** A Responses call translated for Anthropic, a Messages call for OpenAI, a rerank on Cohere. */
async function otherApis() {
  const anthropicReply = JSON.parse(
    readFileSync(
      new URL("../../tests/fixtures/anthropic/responses/text.anthropic.json", import.meta.url),
      "utf8",
    ),
  );
  const apis = new Router({
    model_list: [
      {
        model_name: "claude",
        litellm_params: {
          model: "anthropic/claude-haiku-4-5",
          api_base: `${mock.url}/anthropic`,
          api_key: keyOf("anthropic"),
        },
        model_info: { id: "claude-mock" },
      },
      chatDeployment("gpt", "healthy"),
      {
        model_name: "rerank",
        litellm_params: {
          model: "cohere/rerank-v3.5",
          api_base: `${mock.url}/cohere`,
          api_key: keyOf("cohere"),
        },
        model_info: { id: "cohere-rerank" },
      },
    ],
  });
  const lastPath = (name) => mock.callsTo(name).at(-1)?.path;
  mock.script("anthropic", { body: anthropicReply });
  const resp = await apis.responses({ model: "claude", input: "Say hello." });
  print([
    `responses({ model: "claude" }) → ${resp.object} ${resp.status}: ` +
      JSON.stringify(resp.output_text.slice(0, 60)),
    `  sent to ${lastPath("anthropic")} (Anthropic Messages API) · answered by ` +
      `${resp._hidden_params.model_id} · cost ${usd(resp._hidden_params.response_cost)}`,
  ]);
  const msg = await apis.messages({
    model: "gpt",
    max_tokens: 32,
    messages: [{ role: "user", content: "Say hello." }],
  });
  print([
    `messages({ model: "gpt" }) → ${msg.type} ${msg.stop_reason}: ` +
      JSON.stringify(msg.content[0]?.text ?? ""),
    `  sent to ${lastPath("healthy")} (OpenAI chat completions) · answered by ` +
      `${msg._hidden_params?.model_id}`,
  ]);
  const documents = [
    "Carson City is the capital city of the American state of Nevada.",
    "Washington, D.C. is the capital of the United States.",
    "Capital punishment has existed in the United States since before it was a country.",
  ];
  const ranked = await apis.rerank({
    model: "rerank",
    query: "What is the capital of the United States?",
    documents,
    top_n: 2,
  });
  print([
    `rerank({ model: "rerank", top_n: 2 }) → sent to ${lastPath("cohere")}`,
    ...ranked.results.map(
      (r) => `  #${r.index} ${r.relevance_score.toFixed(3)} ${JSON.stringify(documents[r.index])}`,
    ),
    `  ${ranked.meta.billed_units.search_units} search unit · cost ` +
      usd(ranked._hidden_params.response_cost),
  ]);
}

try {
  await main();
} catch (err) {
  console.error(c.red(`demo failed: ${err instanceof Error ? err.stack : err}`));
  process.exitCode = 1;
} finally {
  await mock.close();
}
