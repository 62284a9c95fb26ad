// Worker for the workerd fault-injection runner (workerd.test.mjs), run by Miniflare/workerd.
// It imports the package's workerd entry and the shared scenario table by file path
// (modulesRoot = repo root), so the scenarios run on the same code path as in production
// Workers. The mock provider's URL arrives as the MOCK_URL binding; the Node side scripts the
// mock before each dispatch and reads the mock's call log afterwards.
//
// POST /run { name } → runs scenario `name` on a fresh Router and answers
//   { results: [describeOutcome…], usage: getUsageStats(), now_ms, elapsed_ms }
//   or 404 { error } for an unknown scenario.
import { Router, errors } from "../../../js/workerd.js";
import { SCENARIOS, runScenario } from "./scenarios.mjs";

const json = (value, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (request.method !== "POST" || pathname !== "/run")
      return json({ error: `no route ${request.method} ${pathname}` }, 404);
    const { name } = await request.json();
    const scenario = SCENARIOS.find((s) => s.name === name);
    if (!scenario) return json({ error: `no scenario named ${JSON.stringify(name)}` }, 404);
    const base = (deployment) => `${env.MOCK_URL}/${encodeURIComponent(deployment)}/v1`;
    const { results, usage, now_ms, elapsed_ms } = await runScenario(scenario, {
      Router,
      errors,
      base,
    });
    return json({ results, usage, now_ms, elapsed_ms });
  },
};
