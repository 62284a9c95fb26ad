// Issue #17's config-acceptance cases against LiteLLM 1.110.2: scripts/litellm-acceptance.py ran
// them through LiteLLM's Router against the mock (tests/fixtures/acceptance/litellm-results.json);
// here the same configs go through llmux's `new Router` against the same mock over real HTTP,
// and what a caller can observe (constructor error class, deployments listed, the request the
// mock received) must be LiteLLM's, except for the differences below (README, "Deployments").
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, beforeEach, it } from "node:test";

import { Router, startMockServer } from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const { litellm, results } = JSON.parse(
  readFileSync(new URL("../../fixtures/acceptance/litellm-results.json", import.meta.url), "utf8"),
);
const fixture = (path) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), "utf8"));
const MESSAGES = [{ role: "user", content: "hi" }];
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const entry = (name, params = {}) => ({
  model_name: "chat",
  litellm_params: { model: "openai/mock-model", api_base: mock.base(name), ...params },
});

function construct(model_list, options = {}) {
  let router;
  try {
    router = new Router({ model_list, logger: quiet, ...options });
  } catch (e) {
    return [null, { error: e.name }];
  }
  const listed = router.getDeployments();
  return [
    router,
    {
      error: null,
      deployments: listed.length,
      ids: new Set(listed.map((d) => d.model_info.id)).size,
      rpm: listed.map((d) => d.litellm_params.rpm ?? null),
    },
  ];
}

async function call(router) {
  mock.reset();
  await router.completion({ model: "chat", messages: MESSAGES });
  const c = mock.calls.at(-1);
  return {
    path: c.path,
    authorization: c.headers.authorization ?? "",
    body_keys: Object.keys(c.body).sort(),
  };
}

/**
 * A call priced per second: which rate was billed, read as the one of 0.5 (input), 2 (output)
 * and 2.5 (their sum) nearest to cost / the call's time, as the script reads LiteLLM's.
 */
async function perSecond(prices) {
  const [router, r] = construct([entry("persec", { api_key: "sk-test", ...prices })]);
  mock.script("persec", { delay_ms: 300 });
  const started = performance.now();
  const res = await router.completion({ model: "chat", messages: MESSAGES });
  const perS = res._hidden_params.response_cost / ((performance.now() - started) / 1000);
  const rate = [0.5, 2, 2.5].reduce((a, b) => (Math.abs(b - perS) < Math.abs(a - perS) ? b : a));
  // The router times the upstream call, the test the whole call: a little under the rate.
  assert.ok(perS > rate * 0.7 && perS <= rate * 1.01, `cost per second ${perS}`);
  return { ...r, rate_billed: rate };
}

/** Each case as llmux runs it: the same config as the script's, the environment in `env`. */
const CASES = {
  async "OPENAI_API_KEY from the environment"() {
    const [router, r] = construct([entry("envkey")], {
      env: { OPENAI_API_KEY: "sk-from-the-environment-0123456789" },
    });
    return { ...r, call: await call(router) };
  },
  async "AWS keys and region from the environment"() {
    const [router, r] = construct(
      [
        {
          model_name: "chat",
          litellm_params: {
            model: "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0",
            aws_bedrock_runtime_endpoint: `${mock.url}/bedrockenv`,
          },
        },
      ],
      {
        env: {
          AWS_ACCESS_KEY_ID: "AKIDENVIRONMENT0001",
          AWS_SECRET_ACCESS_KEY: "env-secret/key",
          AWS_REGION_NAME: "eu-west-3",
        },
      },
    );
    mock.reset();
    mock.script("bedrockenv", {
      status: 200,
      body: fixture("bedrock/converse/response_text.json"),
    });
    await router.completion({ model: "chat", messages: MESSAGES });
    const c = mock.calls.at(-1);
    const scope = /Credential=([^,]+)/.exec(c.headers.authorization ?? "")?.[1].split("/");
    return {
      ...r,
      call: { path: c.path, credential: scope ? [scope[0], ...scope.slice(2)] : null },
    };
  },
  async "an entry's top-level rpm"() {
    return construct([{ ...entry("toprpm", { api_key: "sk-test" }), rpm: 7 }])[1];
  },
  async "an exact repeat of an entry"() {
    const same = entry("dup", { api_key: "sk-test" });
    return construct([same, structuredClone(same)])[1];
  },
  async "an entry without litellm_params"() {
    return construct([{ model_name: "chat" }])[1];
  },
  async "an unknown litellm_params key"() {
    const [router, r] = construct([
      entry("unknown", { api_key: "sk-test", some_provider_flag: "on" }),
    ]);
    return { ...r, call: await call(router) };
  },
  async "region_name on an OpenAI entry"() {
    const [router, r] = construct([
      entry("region", { api_key: "sk-test", region_name: "us-east-1" }),
    ]);
    return { ...r, call: await call(router) };
  },
  input_cost_per_second: () => perSecond({ input_cost_per_second: 0.5 }),
  // Both rates set: one rate is billed (cost_per_second, else input, else output), as LiteLLM.
  "input and output_cost_per_second": () =>
    perSecond({ input_cost_per_second: 0.5, output_cost_per_second: 2 }),
};

/** Where llmux differs from LiteLLM 1.110.2, each in the README ("Deployments"). */
const DIFFERENCES = {
  // LiteLLM keeps both copies under one id, doubling that deployment's share of the traffic;
  // llmux skips the repeat with a warning.
  "an exact repeat of an entry": { error: null, deployments: 1, ids: 1, rpm: [null] },
  // Both refuse the entry: LiteLLM with a KeyError, llmux with a ConfigError naming the field.
  "an entry without litellm_params": { error: "ConfigError" },
};

it("the LiteLLM results were recorded with 1.110.2, one per case", () => {
  assert.equal(litellm, "1.110.2");
  assert.deepEqual(Object.keys(results).sort(), Object.keys(CASES).sort());
});

for (const [name, run] of Object.entries(CASES)) {
  it(name, async () => {
    assert.deepEqual(await run(), DIFFERENCES[name] ?? results[name]);
  });
}
