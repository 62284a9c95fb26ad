// The dashboard page (`GET <gateway.ui>`): one self-contained HTML document, CSS and JS inline
// (allowed by a per-response CSP nonce), no network access beyond its own JSON routes.

export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>llmux dashboard</title>
<style nonce="__NONCE__">
:root { --fg: #1b1f24; --muted: #57606a; --bg: #fff; --panel: #f6f8fa; --line: #d0d7de;
  --ok: #0969da; --warn: #9a4d00; --bad: #a40e26; --off: #57606a; --focus: #8250df;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9da7b3; --bg: #0d1117;
  --panel: #161b22; --line: #30363d; --ok: #58a6ff; --warn: #e3b341; --bad: #ff7b72; --off: #9da7b3; } }
* { box-sizing: border-box; }
body { margin: 0; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .75rem 1rem;
  border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { font-size: 1.15rem; margin: 0; }
main { padding: 1rem; max-width: 1400px; margin: 0 auto; }
h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
section.group { border: 1px solid var(--line); border-radius: 6px; padding: .25rem 1rem 1rem; margin: 1rem 0; }
.summary { display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; margin: .25rem 0 .75rem; color: var(--muted); }
.summary b { color: var(--fg); font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
.status { font-weight: 600; white-space: nowrap; }
.status[data-status="healthy"] { color: var(--ok); }
.status[data-status="cooling_down"] { color: var(--warn); }
.status[data-status="over_limit"] { color: var(--warn); }
.status[data-status="budget_spent"] { color: var(--warn); }
.status[data-status="disabled"] { color: var(--off); }
.bad { color: var(--bad); font-weight: 600; }
.small { font-size: .85rem; color: var(--muted); }
button, select, input { font: inherit; color: inherit; }
button { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .25rem .6rem; cursor: pointer; margin: 0 .25rem .25rem 0; }
td.actions button { display: block; white-space: nowrap; }
button:hover { border-color: var(--muted); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
input[type=password] { padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); min-width: 16rem; max-width: 100%; }
#login { border: 1px solid var(--line); border-radius: 6px; padding: 1rem; max-width: 34rem; }
#notice { min-height: 1.5em; }
svg.spark { display: block; }
svg.spark .ok { fill: var(--ok); } svg.spark .failed { fill: var(--bad); }
svg.spark .lat { fill: none; stroke: var(--fg); stroke-width: 1.5; }
.legend { display: flex; gap: 1rem; flex-wrap: wrap; }
.sw { display: inline-block; width: .8em; height: .8em; margin-right: .3em; vertical-align: -.05em; }
.sw.ok { background: var(--ok); } .sw.failed { background: var(--bad); } .sw.lat { border-top: 2px solid var(--fg); height: 0; }
[hidden] { display: none !important; }
@media (max-width: 1300px) { th.mid, td.mid { display: none; } }
@media (max-width: 700px) {
  th.wide, td.wide { display: none; }
  main { padding: .5rem; } section.group { padding: .25rem .5rem .5rem; }
}
</style>
</head>
<body>
<header>
  <h1>llmux dashboard</h1>
  <span id="conn" class="small" role="status">not connected</span>
  <label class="small">Refresh
    <select id="every">
      <option value="1000">1 s</option><option value="2000" selected>2 s</option>
      <option value="5000">5 s</option><option value="10000">10 s</option>
    </select>
  </label>
  <button id="pause" type="button" aria-pressed="false" hidden>Pause</button>
  <button id="logout" type="button" hidden>Forget key</button>
</header>
<main>
  <form id="login">
    <h2>Connect</h2>
    <p class="small">The dashboard needs the gateway's master key. It is kept in this page's memory only
      (never stored, never in a URL) and sent in the <code>Authorization</code> header of its requests.</p>
    <label for="key">Master key</label><br>
    <input id="key" type="password" autocomplete="off" spellcheck="false" required>
    <button type="submit">Connect</button>
    <p id="login-error" class="bad" role="alert"></p>
  </form>
  <div id="notice" role="status" aria-live="polite"></div>
  <div id="app" hidden>
    <p class="legend small" aria-hidden="true"><span><span class="sw ok"></span>answered per 10 s</span>
      <span><span class="sw failed"></span>failed attempts</span><span><span class="sw lat"></span>mean latency</span>
      <span>History: last 5 minutes</span></p>
    <div id="groups"></div>
    <section aria-labelledby="calls-h"><h2 id="calls-h">Recent calls</h2>
      <div class="scroll"><table id="calls"><thead><tr>
        <th scope="col">Time</th><th scope="col">Group</th><th scope="col">Deployment</th><th scope="col">Result</th>
        <th scope="col" class="num">Attempts</th><th scope="col" class="num wide">Retries</th><th scope="col">Fallback</th>
        <th scope="col" class="wide">Cache</th><th scope="col" class="num">Latency</th><th scope="col" class="num wide">Cost</th>
      </tr></thead><tbody></tbody></table></div></section>
    <section aria-labelledby="events-h"><h2 id="events-h">Recent events</h2><ul id="events"></ul></section>
    <section aria-labelledby="hc-h"><h2 id="hc-h">Last health check</h2><div id="health"><p class="small">None run yet.</p></div></section>
    <section aria-labelledby="store-h"><h2 id="store-h">Shared state store</h2><p id="store"></p></section>
  </div>
</main>
<script nonce="__NONCE__">
(() => {
  "use strict";
  const base = location.pathname.replace(/\\/+$/, "");
  const $ = (id) => document.getElementById(id);
  let key = null;
  let timer = null;
  let paused = false;
  let failures = 0;
  let offset = 0; // server clock - local clock
  let last = null;
  const rows = new Map();
  const sections = new Map();

  const el = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  };
  const fmt = {
    n: (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US")),
    ms: (v) => (v === null || v === undefined ? "–" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms"),
    usd: (v) => (v ? "$" + Number(v).toPrecision(3) : "$0"),
    time: (t) => new Date(t).toLocaleTimeString("en-GB"),
    kinds: (o) => Object.entries(o || {}).map(([k, v]) => k + " " + v).join(", "),
    secs: (ms) => Math.max(0, Math.ceil(ms / 1000)) + " s",
  };

  async function api(path, method = "GET", body) {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: "Bearer " + key, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const err = new Error((data && data.error && data.error.message) || "HTTP " + res.status);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  function disconnect(message) {
    key = null;
    clearTimeout(timer);
    $("app").hidden = true;
    $("login").hidden = false;
    $("pause").hidden = $("logout").hidden = true;
    $("conn").textContent = "not connected";
    $("login-error").textContent = message || "";
    $("key").focus();
  }

  let generation = 0;
  async function poll() {
    clearTimeout(timer);
    if (key === null) return;
    // One chain of polls: a poll started later (a button, a new interval) supersedes this one.
    const mine = ++generation;
    try {
      const state = await api("/state");
      if (mine !== generation) return;
      failures = 0;
      offset = state.now_ms - Date.now();
      render(state);
      $("conn").textContent = "updated " + fmt.time(state.now_ms);
    } catch (e) {
      if (mine !== generation) return;
      if (e.status === 401 || e.status === 403) return disconnect(e.message);
      failures++;
      $("conn").textContent = "connection problem (" + e.message + "), retrying";
    }
    // Backs off on errors (up to 30 s); never more often than the chosen interval.
    const every = Number($("every").value);
    const wait = Math.min(30000, every * 2 ** Math.min(failures, 5));
    if (!paused && key !== null) timer = setTimeout(poll, wait);
  }

  function statusText(d) {
    if (d.status === "cooling_down") {
      const left = d.cooldown_until_ms - (Date.now() + offset);
      return left > 0 ? "\\u25D0 cooling down, " + fmt.secs(left) + " left" : "\\u25D0 cooldown ending";
    }
    if (d.status === "disabled") return "\\u25A0 disabled";
    if (d.status === "budget_spent") {
      const left = d.budget_resets_at_ms === null ? 0 : d.budget_resets_at_ms - (Date.now() + offset);
      return left > 0 ? "\\u25C6 budget spent, resets in " + fmt.secs(left) : "\\u25C6 budget spent";
    }
    if (d.status === "over_limit") return "\\u25B2 over rpm/tpm";
    return "\\u2714 healthy";
  }

  function sparkline(h, label) {
    const ns = "http://www.w3.org/2000/svg";
    const w = 120, ht = 32, n = h.requests.length, bw = w / n;
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "spark");
    svg.setAttribute("width", w);
    svg.setAttribute("height", ht);
    svg.setAttribute("viewBox", "0 0 " + w + " " + ht);
    svg.setAttribute("role", "img");
    const total = h.requests.reduce((a, b) => a + b, 0);
    const failed = h.failures.reduce((a, b) => a + b, 0);
    const lats = h.latency_ms.filter((v) => v !== null);
    svg.setAttribute("aria-label", label + ", last 5 minutes: " + total + " answered, " + failed + " failed attempts" +
      (lats.length ? ", mean latency " + fmt.ms(Math.min(...lats)) + " to " + fmt.ms(Math.max(...lats)) : ""));
    const max = Math.max(1, ...h.requests.map((v, i) => v + h.failures[i]));
    h.requests.forEach((ok, i) => {
      const fh = (h.failures[i] / max) * (ht - 2), oh = (ok / max) * (ht - 2);
      for (const [cls, y, hh] of [["ok", ht - oh, oh], ["failed", ht - oh - fh, fh]]) {
        if (hh <= 0) continue;
        const r = document.createElementNS(ns, "rect");
        r.setAttribute("class", cls);
        r.setAttribute("x", (i * bw + 0.5).toFixed(1));
        r.setAttribute("width", Math.max(1, bw - 1).toFixed(1));
        r.setAttribute("y", y.toFixed(1));
        r.setAttribute("height", hh.toFixed(1));
        svg.append(r);
      }
    });
    const lmax = Math.max(1, ...lats);
    const pts = h.latency_ms.map((v, i) => (v === null ? null : ((i + 0.5) * bw).toFixed(1) + "," + (ht - 1 - (v / lmax) * (ht - 4)).toFixed(1)))
      .filter(Boolean);
    if (pts.length > 1) {
      const p = document.createElementNS(ns, "polyline");
      p.setAttribute("class", "lat");
      p.setAttribute("points", pts.join(" "));
      svg.append(p);
    }
    return svg;
  }

  async function act(path, what, button) {
    button.disabled = true;
    try {
      await api(path, "POST");
      $("notice").textContent = what + ": done";
      await poll();
    } catch (e) {
      $("notice").textContent = what + " failed: " + e.message;
      if (e.status === 401 || e.status === 403) disconnect(e.message);
    } finally {
      button.disabled = false;
    }
  }

  function groupSection(name) {
    let s = sections.get(name);
    if (s) return s;
    const id = "g-" + sections.size;
    const h = el("h2", { id: id + "-h", text: name });
    const summary = el("p", { class: "summary" });
    const hc = el("button", { type: "button", text: "Run health check" });
    hc.addEventListener("click", async () => {
      hc.disabled = true;
      $("notice").textContent = "Health check of " + name + " running…";
      try {
        const r = await api("/health-check", "POST", { model: name });
        $("notice").textContent = "Health check of " + name + ": " + r.healthy_count + " healthy, " + r.unhealthy_count + " unhealthy";
        await poll();
      } catch (e) {
        $("notice").textContent = "Health check failed: " + e.message;
      } finally {
        hc.disabled = false;
      }
    });
    const tbody = el("tbody");
    const table = el("table", {},
      el("caption", { class: "small", text: "Deployments of " + name }),
      el("thead", {}, el("tr", {}, ...[["Deployment"], ["Status"], ["Requests", "num"], ["Failures"], ["p50 / p95", "num"],
        ["Tokens in / out", "num mid"], ["Cost", "num wide"], ["Last 5 min"], ["Actions"]]
        .map(([t, c]) => el("th", { scope: "col", class: c || "", text: t })))),
      tbody);
    const sec = el("section", { class: "group", "aria-labelledby": id + "-h" }, h, summary, hc, el("div", { class: "scroll" }, table));
    $("groups").append(sec);
    s = { sec, summary, tbody };
    sections.set(name, s);
    return s;
  }

  function deploymentRow(tbody, d) {
    let r = rows.get(d.id);
    if (r && r.tr.parentNode === tbody) return r;
    const cells = {};
    const tr = el("tr", { "data-deployment": d.id });
    for (const [k, c] of [["name"], ["status"], ["requests", "num"], ["failures"], ["latency", "num"], ["tokens", "num mid"], ["cost", "num wide"], ["spark"], ["actions", "actions"]]) {
      cells[k] = el(k === "name" ? "th" : "td", k === "name" ? { scope: "row" } : { class: c || "" });
      tr.append(cells[k]);
    }
    const mk = (label, path, cls) => {
      const b = el("button", { type: "button", class: cls, text: label });
      b.addEventListener("click", () => act("/deployments/" + encodeURIComponent(d.id) + path, label + " (" + d.id + ")", b));
      cells.actions.append(b);
      return b;
    };
    const buttons = {
      clear: mk("Clear cooldown", "/clear-cooldown", "clear-cooldown"),
      disable: mk("Disable", "/disable", "disable"),
      enable: mk("Enable", "/enable", "enable"),
    };
    tbody.append(tr);
    r = { tr, cells, buttons };
    rows.set(d.id, r);
    return r;
  }

  function render(state) {
    last = state;
    const seen = new Set();
    for (const g of state.groups) {
      const s = groupSection(g.name);
      s.summary.replaceChildren(...[
        ["requests", fmt.n(g.requests)], ["failures", fmt.n(g.failures) + (g.failures ? " (" + fmt.kinds(g.failures_by_kind) + ")" : "")],
        ["retries", fmt.n(g.retries)], ["fallbacks", fmt.n(g.fallbacks)], ["cache hits", fmt.n(g.cache_hits)],
        ["tokens in / out", fmt.n(g.prompt_tokens) + " / " + fmt.n(g.completion_tokens)], ["cost", fmt.usd(g.cost)],
        ["p50 / p95", fmt.ms(g.latency_ms.p50) + " / " + fmt.ms(g.latency_ms.p95)], ["in flight", fmt.n(g.in_flight)],
      ].map(([k, v]) => el("span", {}, k + " ", el("b", { text: v }))));
      for (const d of g.deployments) {
        seen.add(d.id);
        const r = deploymentRow(s.tbody, d);
        r.cells.name.replaceChildren(el("span", { text: d.id }), el("br"), el("span", { class: "small", text: (d.model || "") + " · " + d.provider }));
        r.cells.status.replaceChildren(el("span", { class: "status", "data-status": d.status, text: statusText(d) }));
        r.tr.dataset.status = d.status;
        r.cells.requests.textContent = fmt.n(d.requests);
        r.cells.failures.replaceChildren(fmt.n(d.failures), ...(d.failures ? [el("br"), el("span", { class: "small", text: fmt.kinds(d.failures_by_kind) })] : []));
        r.cells.latency.textContent = fmt.ms(d.latency_ms.p50) + " / " + fmt.ms(d.latency_ms.p95);
        r.cells.tokens.textContent = fmt.n(d.prompt_tokens) + " / " + fmt.n(d.completion_tokens);
        r.cells.cost.textContent = fmt.usd(d.cost);
        r.cells.spark.replaceChildren(sparkline(d.history, d.id));
        r.buttons.clear.hidden = d.status !== "cooling_down";
        r.buttons.disable.hidden = d.disabled;
        r.buttons.enable.hidden = !d.disabled;
      }
    }
    for (const [id, r] of rows) if (!seen.has(id)) { r.tr.remove(); rows.delete(id); }
    const names = new Set(state.groups.map((g) => g.name));
    for (const [name, s] of sections) if (!names.has(name)) { s.sec.remove(); sections.delete(name); }

    $("calls").tBodies[0].replaceChildren(...state.calls.map((c) => el("tr", { "data-ok": String(c.ok) },
      el("td", { text: fmt.time(c.at) }), el("td", { text: c.model_group || "–" }), el("td", { text: c.deployment || "–" }),
      c.ok ? el("td", { text: "\\u2714 ok" }) : el("td", { class: "bad", text: "\\u2716 " + (c.error || "error") + (c.status ? " " + c.status : ""), title: c.message || "" }),
      el("td", { class: "num", text: fmt.n(c.attempts) }), el("td", { class: "num wide", text: fmt.n(c.retries) }),
      el("td", { class: "fallback", text: c.fallback ? "\\u21AA " + c.fallback : "–" }), el("td", { class: "wide", text: c.cache_hit ? "hit" : "–" }),
      el("td", { class: "num", text: fmt.ms(c.latency_ms) }), el("td", { class: "num wide", text: c.ok ? fmt.usd(c.cost) : "–" }))));
    if (state.calls.length === 0) $("calls").tBodies[0].append(el("tr", {}, el("td", { colspan: "10", class: "small", text: "No calls yet." })));

    $("events").replaceChildren(...state.events.slice(0, 20).map((e) => el("li", { text: fmt.time(e.at) + " · " + describe(e) })));
    if (state.events.length === 0) $("events").append(el("li", { class: "small", text: "No retries, fallbacks or cooldowns yet." }));

    const hc = state.last_health_check;
    if (hc) {
      $("health").replaceChildren(el("p", { text: fmt.time(hc.at) + " · " + (hc.model_group || "all groups") + ": " + hc.healthy_count + " healthy, " + hc.unhealthy_count + " unhealthy" }),
        el("ul", {}, ...hc.unhealthy.map((u) => el("li", { class: "bad", text: u.model_id + ": " + (u.error || "unhealthy") }))));
    }
    const st = state.store;
    $("store").textContent = st.configured
      ? (st.store_down ? "\\u2716 unreachable (routing on local state)" : "\\u2714 reachable") + " · " + st.syncs + " syncs, " + st.store_failures + " failures, " + st.pending_keys + " keys pending"
      : "None configured: cooldowns and usage are this instance's own.";
  }

  function describe(e) {
    switch (e.type) {
      case "cooldown": return "cooldown: " + e.model_id + " (" + e.model_group + ") for " + fmt.secs(e.cooldown_ms) + " after " + e.error;
      case "fallback": return "fallback: " + e.from + " \\u2192 " + e.to + " after " + e.error;
      case "retry": return "retry " + e.retry + ": " + e.model_group + " after " + e.error + " from " + e.model_id;
      case "health_check": return "health check run (" + (e.model_group || "all groups") + ")";
      default: return e.type.replace(/_/g, " ") + ": " + e.model_id;
    }
  }

  // Countdowns tick between polls.
  setInterval(() => {
    if (!last) return;
    for (const g of last.groups) for (const d of g.deployments) {
      if (d.status !== "cooling_down" && d.status !== "budget_spent") continue;
      const r = rows.get(d.id);
      const s = r && r.cells.status.firstChild;
      if (s) s.textContent = statusText(d);
    }
  }, 500);

  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    key = $("key").value.trim();
    $("key").value = "";
    if (!key) return disconnect("Enter the master key.");
    $("login").hidden = true;
    $("app").hidden = false;
    $("pause").hidden = $("logout").hidden = false;
    $("login-error").textContent = "";
    poll();
  });
  $("logout").addEventListener("click", () => disconnect("Key forgotten."));
  $("pause").addEventListener("click", () => {
    paused = !paused;
    $("pause").setAttribute("aria-pressed", String(paused));
    $("pause").textContent = paused ? "Resume" : "Pause";
    if (!paused) poll(); else clearTimeout(timer);
  });
  $("every").addEventListener("change", () => poll());
  document.addEventListener("visibilitychange", () => { if (!document.hidden && !paused) poll(); });
  $("key").focus();
})();
</script>
</body>
</html>
`;
