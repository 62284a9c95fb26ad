// The dashboard's routes under `gateway.ui` (README, "Dashboard"): the page, its state as JSON
// and the operator actions. Loaded on the first dashboard request only; master key only.

import { HttpError, jsonResponse, readBody } from "../gateway.js";

const NO_STORE = { "cache-control": "no-store" };

/** The state the page polls: groups with their deployments, calls, events, the store. */
export async function dashboardState(router, recorder) {
  const now = Date.now();
  const usage = await router.getUsageStats();
  const status = router.getDeploymentStatus();
  const models = new Map(router.getDeployments().map((d) => [d.model_info?.id, d]));
  const history = recorder.history(
    status.map((s) => s.id),
    now,
  );
  const groups = new Map(router.getModelNames().map((name) => [name, []]));
  for (const s of status) {
    const u = usage.deployments?.[s.id] ?? {};
    const row = {
      ...s,
      model: models.get(s.id)?.litellm_params?.model ?? null,
      cooldown_remaining_ms:
        s.cooldown_until_ms === null ? null : Math.max(0, Math.ceil(s.cooldown_until_ms - now)),
      requests: u.requests ?? 0,
      successes: u.successes ?? 0,
      failures: u.failures ?? 0,
      failures_by_kind: u.failures_by_kind ?? {},
      in_flight: u.in_flight ?? 0,
      cache_hits: u.cache_hits ?? 0,
      prompt_tokens: u.prompt_tokens ?? 0,
      completion_tokens: u.completion_tokens ?? 0,
      cost: u.cost ?? 0,
      latency_ms: u.latency_ms ?? { p50: null, p95: null, p99: null },
      history: history[s.id],
    };
    if (!groups.has(s.model_group)) groups.set(s.model_group, []);
    groups.get(s.model_group).push(row);
  }
  return {
    now_ms: now,
    started_at_ms: recorder.startedAt,
    groups: [...groups].map(([name, deployments]) => ({
      name,
      ...groupUsage(usage.model_groups?.[name]),
      deployments,
    })),
    calls: recorder.calls.list().reverse(),
    events: recorder.events.list().reverse(),
    last_health_check: recorder.lastHealthCheck,
    store: usage.state ? { configured: true, ...usage.state } : { configured: false },
  };
}

function groupUsage(g = {}) {
  return {
    requests: g.requests ?? 0,
    successes: g.successes ?? 0,
    failures: g.failures ?? 0,
    failures_by_kind: g.failures_by_kind ?? {},
    retries: g.retries ?? 0,
    fallbacks: g.fallbacks ?? 0,
    cache_hits: g.cache_hits ?? 0,
    prompt_tokens: g.prompt_tokens ?? 0,
    completion_tokens: g.completion_tokens ?? 0,
    cost: g.cost ?? 0,
    in_flight: g.in_flight ?? 0,
    latency_ms: g.latency_ms ?? { p50: null, p95: null, p99: null },
  };
}

/** `{ model? }` from a JSON body of at most 4 KiB (an empty body: every group). */
async function healthCheckTarget(request, router) {
  const text = new TextDecoder().decode(await readBody(request, 4096));
  let body = {};
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      throw new HttpError(400, "the request body is not valid JSON");
    }
  }
  const model = body?.model ?? null;
  if (model !== null && (typeof model !== "string" || !router.getModelNames().includes(model)))
    throw new HttpError(404, "no model group by that name", {
      code: "model_not_found",
      param: "model",
    });
  return model;
}

async function runHealthCheck(router, recorder, model) {
  const result = await router.healthCheck(model ?? undefined);
  const brief = (e) => ({
    model_id: e.model_id ?? null,
    model_name: e.model_name ?? null,
    ...(e.error ? { error: String(e.error).slice(0, 300) } : {}),
  });
  const summary = {
    at: Date.now(),
    model_group: model,
    healthy_count: result.healthy_count ?? 0,
    unhealthy_count: result.unhealthy_count ?? 0,
    healthy: (result.healthy_endpoints ?? []).map(brief),
    unhealthy: (result.unhealthy_endpoints ?? []).map(brief),
  };
  recorder.lastHealthCheck = summary;
  recorder.action("health_check", null, model);
  return summary;
}

const ACTIONS = {
  "clear-cooldown": (router, id) => router.clearCooldown(id),
  disable: (router, id) => router.disableDeployment(id),
  enable: (router, id) => router.enableDeployment(id),
};

function allow(request, method) {
  if (request.method === method) return;
  const e = new HttpError(405, `${request.method} is not allowed here; use ${method}`, {
    code: "method_not_allowed",
  });
  e.allow = method;
  throw e;
}

function nonce() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}

async function page() {
  const { PAGE } = await import("./page.js");
  const n = nonce();
  return new Response(PAGE.replaceAll("__NONCE__", n), {
    status: 200,
    headers: {
      "content-type": "text/html; charset=utf-8",
      ...NO_STORE,
      "content-security-policy": `default-src 'none'; script-src 'nonce-${n}'; style-src 'nonce-${n}'; img-src data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      "x-frame-options": "DENY",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
    },
  });
}

/**
 * Serves `sub` (the path below `gateway.ui`, "" for the page). `authenticate()` returns the
 * caller's principal or throws the gateway's 401; the JSON routes need the master key.
 */
export async function serveDashboard(router, recorder, request, sub, authenticate) {
  if (sub === "" || sub === "/") {
    allow(request, "GET");
    return page();
  }
  const principal = authenticate();
  if (principal.master !== true)
    throw new HttpError(403, "the dashboard needs the gateway's master key", {
      type: "permission_error",
      code: "master_key_required",
    });
  if (sub === "/state") {
    allow(request, "GET");
    return jsonResponse(await dashboardState(router, recorder), 200, NO_STORE);
  }
  if (sub === "/health-check") {
    allow(request, "POST");
    const model = await healthCheckTarget(request, router);
    return jsonResponse(await runHealthCheck(router, recorder, model), 200, NO_STORE);
  }
  const m = /^\/deployments\/([^/]+)\/([a-z-]+)$/.exec(sub);
  const action = m ? ACTIONS[m[2]] : undefined;
  if (action) {
    allow(request, "POST");
    let id;
    try {
      id = decodeURIComponent(m[1]);
    } catch {
      throw new HttpError(400, "the deployment id in the path is not valid percent-encoding", {
        code: "invalid_path",
      });
    }
    if (!action(router, id))
      throw new HttpError(404, "no deployment with that id", { code: "deployment_not_found" });
    const row = router.getDeploymentStatus().find((s) => s.id === id) ?? null;
    recorder.action(m[2].replace("-", "_"), id, row?.model_group);
    return jsonResponse(row, 200, NO_STORE);
  }
  throw new HttpError(404, `no dashboard route ${sub}`, { code: "not_found" });
}
