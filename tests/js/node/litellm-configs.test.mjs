// LiteLLM 1.110.2's 27 example proxy configs (tests/fixtures/litellm-configs, vendored by
// scripts/litellm-configs.py: each file's model_list + router_settings) passed to the JS
// `new Router(...)` unchanged, with every variable they or their providers read set in `env`:
// 24 construct; the 3 listed refuse with a ConfigError at the named field (README,
// "Configuration"). The same list as tests/litellm_configs.rs, here through the package.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { it } from "node:test";

import { Router, errors } from "./fixture.mjs";

const DIR = new URL("../../fixtures/litellm-configs/", import.meta.url);
const REFUSED = {
  // LiteLLM's auto routers are not part of llmux.
  "example_config_yaml__adaptive_router_example.json":
    "model_list[0].litellm_params.adaptive_router_config",
  // "mistralai/mistral-7b-instruct" names no provider: LiteLLM's Router refuses it too.
  "example_config_yaml__load_balancer.json": "model_list[3].litellm_params.model",
  // An entry without litellm_params: LiteLLM's Router refuses it too (KeyError).
  "example_config_yaml__langfuse_config.json": "model_list[0].litellm_params",
};
// The provider variables llmux reads (README, "Credentials from the environment"): the configs
// name Bedrock, Azure, Vertex and others without keys, as LiteLLM allows.
const PROVIDER_VARS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_REGION_NAME",
  "OPENAI_API_KEY",
  "AZURE_API_KEY",
  "AZURE_API_BASE",
  "AZURE_API_VERSION",
  "ANTHROPIC_API_KEY",
  "GEMINI_API_KEY",
  "VERTEXAI_PROJECT",
  "VERTEXAI_LOCATION",
  "VERTEXAI_CREDENTIALS",
  "COHERE_API_KEY",
  "OPENROUTER_API_KEY",
  "MISTRAL_API_KEY",
  "GROQ_API_KEY",
];
const SERVICE_ACCOUNT = readFileSync(
  new URL("../../fixtures/vertex/service_account.json", import.meta.url),
  "utf8",
);
const fake = (name) =>
  name.endsWith("_CREDENTIALS")
    ? SERVICE_ACCOUNT
    : /_(BASE|URL|ENDPOINT)$/.test(name)
      ? "https://example.test/v1"
      : /REGION|LOCATION/.test(name)
        ? "us-east-1"
        : name === "AZURE_API_VERSION"
          ? "2024-10-21"
          : /KEY|SECRET|TOKEN|PASSWORD/.test(name)
            ? `test-secret-${name.toLowerCase()}-0123456789`
            : `test-${name.toLowerCase()}`;

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

// Which configs LiteLLM 1.110.2's own Router constructs (scripts/litellm-configs.py).
const litellm = JSON.parse(
  readFileSync(new URL("../../fixtures/acceptance/litellm-configs.json", import.meta.url), "utf8"),
);
// The one config LiteLLM constructs and llmux refuses on purpose: its auto router.
const DELIBERATE = ["example_config_yaml__adaptive_router_example.json"];

it("LiteLLM 1.110.2's example configs construct through new Router, except the three listed", () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith(".json"));
  assert.equal(files.length, 27);
  const built = [];
  for (const file of files) {
    const text = readFileSync(new URL(file, DIR), "utf8");
    const names = new Set(PROVIDER_VARS);
    for (const m of text.matchAll(/os\.environ\/([A-Za-z0-9_]+)/g)) names.add(m[1]);
    const env = Object.fromEntries([...names].map((n) => [n, fake(n)]));
    const options = { ...JSON.parse(text), env, logger: quiet };
    if (REFUSED[file]) {
      assert.throws(
        () => new Router(options),
        (e) => e instanceof errors.ConfigError && e.field === REFUSED[file],
        file,
      );
      continue;
    }
    let router;
    try {
      router = new Router(options);
    } catch (e) {
      assert.fail(`${file}: ${e.name} at ${e.field}: ${e.message}`);
    }
    const listed = JSON.stringify(router.getDeployments());
    // No secret from the environment shows in the listing (the fake values are recognisable).
    assert.doesNotMatch(listed, /test-secret-|BEGIN PRIVATE KEY/, file);
    router.close?.();
    built.push(file);
  }
  assert.equal(built.length, 24);
  // Compared with LiteLLM: every config its Router constructs, llmux does too, except the auto
  // router; the two others llmux refuses, LiteLLM's Router refuses as well.
  assert.equal(litellm.litellm, "1.110.2");
  assert.deepEqual(Object.keys(litellm.results).sort(), [...files].sort());
  const theirs = files.filter((f) => litellm.results[f] === null && !DELIBERATE.includes(f));
  assert.deepEqual(built.sort(), theirs.sort());
  for (const f of Object.keys(REFUSED).filter((f) => !DELIBERATE.includes(f)))
    assert.notEqual(litellm.results[f], null, `${f}: LiteLLM refuses it too`);
});
