// Fault-injection suite (issue 4) in Node: every scenario of scenarios.mjs on a fresh Router
// against the in-process loopback mock, asserting the upstream call sequence, the outcome
// (error class by instanceof, status), attempts and the cooldown state afterwards.
import assert from "node:assert/strict";
import { after, beforeEach, test } from "node:test";

import { Router, errors } from "../../../js/node.js";
import { startMockServer } from "../../mock/server.mjs";
import { SCENARIOS, prepareMock, runScenario, verify } from "./scenarios.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

for (const scenario of SCENARIOS) {
  test(scenario.name, { timeout: 15_000, todo: scenario.todo }, async () => {
    prepareMock(mock, scenario);
    const observed = await runScenario(scenario, { Router, errors, base: mock.base });
    const calls = mock.calls.map((c) => c.name);
    verify(assert, scenario, { ...observed, calls });
    // The same outcomes, checked on the raw values this runtime produced.
    scenario.requests.forEach(({ outcome }, i) => {
      const s = observed.settled[i];
      if (outcome.ok !== undefined) {
        assert.equal(s.status, "fulfilled");
        assert.equal(s.value._hidden_params.model_id, outcome.ok);
        assert.equal(s.value._hidden_params.api_base, mock.base(outcome.ok));
      } else {
        assert.equal(s.status, "rejected");
        assert.ok(s.reason instanceof errors[outcome.error], `${s.reason?.name}`);
        assert.ok(s.reason instanceof errors.LlmuxError);
        assert.equal(s.reason.status, outcome.status);
      }
    });
  });
}
