// LiteLLM configs that load unchanged, end to end: provider credentials from the `env` option
// and from process.env, never shown; settings forwarded or refused; functions refused by name.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";

import { Router, T, chatRequest, errors, rejection, startMockServer } from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const SECRET = "sk-from-the-environment-0123456789";

/** A logger that keeps every line. */
function recordingLogger() {
  const lines = [];
  const log = (level) => (msg) => lines.push([level, String(msg)]);
  return {
    lines,
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  };
}

describe("provider settings from the environment", () => {
  it(
    "OPENAI_API_KEY and OPENAI_BASE_URL from `env` serve an entry that names neither",
    T,
    async () => {
      const router = new Router({
        model_list: [{ model_name: "chat", litellm_params: { model: "openai/gpt-4o-mini" } }],
        env: { OPENAI_API_KEY: SECRET, OPENAI_BASE_URL: mock.base("a") },
      });
      const res = await router.completion(chatRequest());
      assert.equal(res.object, "chat.completion");
      const [call] = mock.callsTo("a");
      assert.equal(call.headers.authorization, `Bearer ${SECRET}`);
      // Never listed: getDeployments shows the entry as written.
      const listed = JSON.stringify(router.getDeployments());
      assert.ok(!listed.includes(SECRET), listed);
      assert.ok(!listed.includes("api_key"), listed);
    },
  );

  it("process.env is read when `env` leaves a variable unset", T, async () => {
    process.env.ANTHROPIC_API_KEY = SECRET;
    try {
      const router = new Router({
        model_list: [
          {
            model_name: "claude",
            litellm_params: {
              model: "anthropic/claude-3-5-haiku-latest",
              api_base: mock.base("c"),
            },
          },
        ],
      });
      mock.script("c", {
        status: 401,
        body: {
          type: "error",
          error: { type: "authentication_error", message: `bad key ${SECRET}` },
        },
      });
      const err = await rejection(router.completion(chatRequest("claude")));
      assert.ok(err instanceof errors.AuthenticationError, `${err.name}: ${err.message}`);
      assert.equal(mock.callsTo("c")[0].headers["x-api-key"], SECRET);
      // The key read from the environment is scrubbed from errors like any other.
      assert.ok(!err.message.includes(SECRET), err.message);
    } finally {
      delete process.env.ANTHROPIC_API_KEY;
    }
  });

  it("a Bedrock entry without keys and no AWS variables -> ConfigError naming them", () => {
    try {
      new Router({
        model_list: [
          {
            model_name: "b",
            litellm_params: {
              model: "bedrock/amazon.nova-lite-v1:0",
              aws_region_name: "us-east-1",
            },
          },
        ],
        env: { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
      });
      assert.fail("expected a ConfigError");
    } catch (e) {
      assert.ok(e instanceof errors.ConfigError, `${e.name}: ${e.message}`);
      assert.equal(e.field, "model_list[0].litellm_params");
      assert.match(e.message, /AWS_ACCESS_KEY_ID/);
    }
  });
});

describe("LiteLLM settings llmux does not implement", () => {
  it("an unknown key is sent to the provider with a warning naming it", T, async () => {
    const logger = recordingLogger();
    const router = new Router({
      model_list: [
        {
          model_name: "chat",
          litellm_params: {
            model: "openai/x",
            api_key: "k",
            api_base: mock.base("a"),
            safe_prompt: true,
          },
          tpm: 1000,
        },
      ],
      logger,
    });
    await router.completion(chatRequest());
    assert.equal(mock.callsTo("a")[0].body.safe_prompt, true);
    assert.ok(
      logger.lines.some(([l, m]) => l === "warn" && m.includes("litellm_params.safe_prompt")),
      JSON.stringify(logger.lines),
    );
    // The entry's own tpm is a deployment limit, as in LiteLLM.
    assert.equal(router.getDeployments()[0].litellm_params.tpm, 1000);
  });

  it("a function for fallback_access_check -> ConfigError at that option, with the reason", () => {
    try {
      new Router({ model_list: [], fallback_access_check: async () => true });
      assert.fail("expected a ConfigError");
    } catch (e) {
      assert.ok(e instanceof errors.ConfigError, `${e.name}: ${e.message}`);
      assert.equal(e.field, "fallback_access_check");
      assert.match(e.message, /not supported by llmux/);
    }
  });

  it("plugins -> ConfigError at plugins, saying why and what to use instead", () => {
    // A JS object with a run() method is what a LiteLLM RoutingPlugin would look like here.
    const plugin = { run: async (context) => context };
    for (const plugins of [[plugin], [{ name: "x" }]]) {
      try {
        new Router({ model_list: [], plugins });
        assert.fail("expected a ConfigError");
      } catch (e) {
        assert.ok(e instanceof errors.ConfigError, `${e.name}: ${e.message}`);
        assert.equal(e.field, "plugins");
        assert.match(e.message, /not supported by llmux: .*Python objects/);
        assert.match(e.message, /setCustomRoutingStrategy/);
      }
    }
    // The default (none) is accepted, as every refused option's.
    for (const plugins of [null, []]) new Router({ model_list: [], plugins });
  });

  it("router_general_settings: async_only_mode accepted, pass_through_all_models refused", () => {
    for (const async_only_mode of [true, false])
      new Router({ model_list: [], router_general_settings: { async_only_mode } });
    new Router({ model_list: [], router_general_settings: { pass_through_all_models: false } });
    const refused = (settings, field, why) => {
      try {
        new Router({ model_list: [], router_general_settings: settings });
        assert.fail("expected a ConfigError");
      } catch (e) {
        assert.ok(e instanceof errors.ConfigError, `${e.name}: ${e.message}`);
        assert.equal(e.field, field);
        assert.match(e.message, why);
      }
    };
    refused(
      { pass_through_all_models: true },
      "router_general_settings.pass_through_all_models",
      /wildcard deployment/,
    );
    refused({ nope: 1 }, "router_general_settings.nope", /unknown setting/);
    refused("yes", "router_general_settings", /must be an object/);
  });

  it("a repeated entry is skipped with a warning", () => {
    const logger = recordingLogger();
    const entry = {
      model_name: "chat",
      litellm_params: { model: "openai/x", api_key: "k", api_base: mock.base("a") },
    };
    const router = new Router({ model_list: [entry, entry], logger });
    assert.equal(router.getDeployments().length, 1);
    assert.ok(logger.lines.some(([, m]) => m.includes("repeats model_list[0]")));
  });
});
