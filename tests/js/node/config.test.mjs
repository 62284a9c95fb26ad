// Router options: ConfigError with the exact field path for every kind of mistake, env
// resolution, default_litellm_params, the fetch option.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";

import {
  Router,
  T,
  chatRequest,
  deployment,
  errors,
  routerOver,
  startMockServer,
} from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

/** The ConfigError `new Router(options)` throws (fails the test when it does not throw). */
function configError(options) {
  try {
    new Router(options);
  } catch (e) {
    assert.ok(e instanceof errors.ConfigError, `expected a ConfigError, got ${e?.name}: ${e}`);
    assert.ok(e instanceof errors.LlmuxError);
    assert.ok(e.message.startsWith(`${e.field}: `), e.message);
    return e;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(options)}`);
}

/** Options with one deployment whose litellm_params are `params`. */
const oneDeployment = (params, extra = {}) => ({
  model_list: [{ model_name: "chat", litellm_params: { api_base: mock.base("a"), ...params } }],
  ...extra,
});

describe("ConfigError names the offending field", () => {
  it("model_list entry without model_name -> model_list[1].model_name", () => {
    const e = configError({
      model_list: [deployment(mock, "chat", "a"), { litellm_params: { model: "openai/x" } }],
    });
    assert.equal(e.field, "model_list[1].model_name");
  });

  it("model_list entry without litellm_params -> model_list[0].litellm_params", () => {
    assert.equal(
      configError({ model_list: [{ model_name: "chat" }] }).field,
      "model_list[0].litellm_params",
    );
  });

  it("litellm_params without model -> model_list[0].litellm_params.model", () => {
    const e = configError(oneDeployment({ api_key: "k" }));
    assert.equal(e.field, "model_list[0].litellm_params.model");
    assert.match(e.message, /required/);
  });

  it('model "sagemaker/x" -> not yet supported, at litellm_params.model', () => {
    const e = configError(oneDeployment({ model: "sagemaker/x" }));
    assert.equal(e.field, "model_list[0].litellm_params.model");
    assert.match(e.message, /not yet supported/);
    assert.match(e.message, /sagemaker/);
  });

  it('model "nosuchprovider/x" -> litellm_params.model', () => {
    const e = configError(oneDeployment({ model: "nosuchprovider/x" }));
    assert.equal(e.field, "model_list[0].litellm_params.model");
    assert.match(e.message, /nosuchprovider/);
  });

  it("a bare unknown model name -> litellm_params.model", () => {
    const e = configError(oneDeployment({ model: "definitely-not-a-model-name" }));
    assert.equal(e.field, "model_list[0].litellm_params.model");
    assert.match(e.message, /provider\/model/);
  });

  it("a bare known OpenAI model name is accepted (provider inferred)", T, async () => {
    const router = new Router(oneDeployment({ model: "gpt-4o-mini" }));
    const res = await router.completion(chatRequest());
    assert.equal(res._hidden_params.custom_llm_provider, "openai");
    assert.equal(mock.callsTo("a")[0].body.model, "gpt-4o-mini");
  });

  it("a LiteLLM setting that changes the call (aws_role_name) -> its path", () => {
    const e = configError(
      oneDeployment({ model: "openai/x", aws_role_name: "arn:aws:iam::1:role/r" }),
    );
    assert.equal(e.field, "model_list[0].litellm_params.aws_role_name");
    assert.match(e.message, /not supported by llmux/);
  });

  it("an unknown Router option -> the option name", () => {
    const e = configError({ model_list: [], not_an_option: 1 });
    assert.equal(e.field, "not_an_option");
    assert.match(e.message, /unknown Router option/);
  });

  it("a deliberately refused option set (alerting_config) says why; its default ({}) is accepted", () => {
    const e = configError({
      model_list: [deployment(mock, "chat", "a")],
      alerting_config: { webhook_url: "x" },
    });
    assert.equal(e.field, "alerting_config");
    assert.match(e.message, /not supported by llmux: .*`on` callbacks/);
    const ok = new Router({
      model_list: [deployment(mock, "chat", "a")],
      alerting_config: {},
    });
    assert.deepEqual(ok.getModelNames(), ["chat"]);
  });

  it("routing_strategy: an unknown name -> ConfigError; every LiteLLM strategy accepted", () => {
    const e = configError({ model_list: [], routing_strategy: "fastest" });
    assert.equal(e.field, "routing_strategy");
    assert.match(e.message, /least-busy/);
    for (const routing_strategy of [
      "simple-shuffle",
      "least-busy",
      "usage-based-routing",
      "usage-based-routing-v2",
      "latency-based-routing",
      "cost-based-routing",
    ]) {
      new Router({ model_list: [], routing_strategy });
    }
  });

  it("a per-second price that is not a non-negative number -> its path", () => {
    const e = configError(oneDeployment({ model: "openai/x", input_cost_per_second: -0.1 }));
    assert.equal(e.field, "model_list[0].litellm_params.input_cost_per_second");
    assert.match(e.message, /non-negative/);
  });

  it("an order that is not an integer -> its path", () => {
    const e = configError(oneDeployment({ model: "openai/x", order: 1.5 }));
    assert.equal(e.field, "model_list[0].litellm_params.order");
    assert.match(e.message, /integer/);
  });

  it("a duplicate model_info.id -> the second entry's model_info.id", () => {
    const e = configError({
      model_list: [deployment(mock, "chat", "a"), deployment(mock, "chat", "b", {}, { id: "a" })],
    });
    assert.equal(e.field, "model_list[1].model_info.id");
    assert.match(e.message, /duplicate/);
  });

  it("wrongly typed values -> their path", () => {
    const cases = [
      [{ model_list: [], num_retries: -1 }, "num_retries"],
      [{ model_list: [], timeout: "soon" }, "timeout"],
      [{ model_list: [], fallbacks: { chat: ["x"] } }, "fallbacks"],
      [oneDeployment({ model: "openai/x", weight: -1 }), "model_list[0].litellm_params.weight"],
      [
        oneDeployment({ model: "openai/x", api_base: "ftp://x" }),
        "model_list[0].litellm_params.api_base",
      ],
      [{ model_list: "nope" }, "model_list"],
    ];
    for (const [options, field] of cases) assert.equal(configError(options).field, field);
  });

  it('"os.environ/MISSING" -> the field path, and the variable name in the message', () => {
    assert.equal(process.env.LLMUX_TEST_MISSING_VAR, undefined);
    const e = configError(
      oneDeployment({ model: "openai/x", api_key: "os.environ/LLMUX_TEST_MISSING_VAR" }),
    );
    assert.equal(e.field, "model_list[0].litellm_params.api_key");
    assert.match(e.message, /LLMUX_TEST_MISSING_VAR/);
  });

  it("the fetch option must be a function -> field fetch", () => {
    const e = configError({ model_list: [], fetch: "https://example.invalid" });
    assert.equal(e.field, "fetch");
  });

  it("options that are not an object -> field options", () => {
    assert.equal(configError(null).field, "options");
    assert.equal(configError([]).field, "options");
  });
});

describe("environment references", () => {
  it('the env option resolves "os.environ/NAME" (sent upstream as the Bearer key)', T, async () => {
    const router = new Router({
      ...oneDeployment({ model: "openai/mock-a", api_key: "os.environ/LLMUX_TEST_KEY" }),
      env: { LLMUX_TEST_KEY: "sk-from-env-option" },
    });
    await router.completion(chatRequest());
    assert.equal(mock.callsTo("a")[0].headers.authorization, "Bearer sk-from-env-option");
  });

  it("process.env is used when the env option lacks the variable", T, async () => {
    process.env.LLMUX_TEST_PROCESS_KEY = "sk-from-process-env";
    try {
      const router = new Router({
        ...oneDeployment({ model: "openai/mock-a", api_key: "os.environ/LLMUX_TEST_PROCESS_KEY" }),
        env: { SOMETHING_ELSE: "x" },
      });
      await router.completion(chatRequest());
    } finally {
      delete process.env.LLMUX_TEST_PROCESS_KEY;
    }
    assert.equal(mock.callsTo("a")[0].headers.authorization, "Bearer sk-from-process-env");
  });

  it("the env option wins over process.env", T, async () => {
    process.env.LLMUX_TEST_BOTH_KEY = "sk-from-process-env";
    try {
      const router = new Router({
        ...oneDeployment({ model: "openai/mock-a", api_key: "os.environ/LLMUX_TEST_BOTH_KEY" }),
        env: { LLMUX_TEST_BOTH_KEY: "sk-from-env-option" },
      });
      await router.completion(chatRequest());
    } finally {
      delete process.env.LLMUX_TEST_BOTH_KEY;
    }
    assert.equal(mock.callsTo("a")[0].headers.authorization, "Bearer sk-from-env-option");
  });
});

describe("default_litellm_params and fetch", () => {
  it(
    "default_litellm_params are merged into every deployment (its own values win)",
    T,
    async () => {
      const router = new Router({
        model_list: [
          {
            model_name: "chat",
            litellm_params: { model: "openai/mock-a", api_base: mock.base("a") },
            model_info: { id: "a" },
          },
          {
            model_name: "other",
            litellm_params: {
              model: "openai/mock-b",
              api_base: mock.base("b"),
              api_key: "sk-own-key",
              temperature: 0.9,
            },
            model_info: { id: "b" },
          },
        ],
        default_litellm_params: {
          api_key: "sk-default-key",
          temperature: 0.3,
          extra_headers: { "x-custom": "from-defaults" },
        },
      });
      await router.completion(chatRequest());
      await router.completion(chatRequest("other"));
      const [a] = mock.callsTo("a");
      const [b] = mock.callsTo("b");
      assert.equal(a.headers.authorization, "Bearer sk-default-key");
      assert.equal(a.headers["x-custom"], "from-defaults");
      assert.equal(a.body.temperature, 0.3);
      assert.equal(b.headers.authorization, "Bearer sk-own-key");
      assert.equal(b.headers["x-custom"], "from-defaults");
      assert.equal(b.body.temperature, 0.9);
    },
  );

  it("the fetch option is used instead of the global fetch", T, async () => {
    const seen = [];
    const counting = (url, init) => {
      seen.push(String(url));
      return fetch(url, init);
    };
    const router = routerOver(mock, { chat: ["a"] }, { fetch: counting });
    await router.completion(chatRequest());
    await router.embedding({ model: "chat", input: "x" });
    assert.deepEqual(seen, [`${mock.base("a")}/chat/completions`, `${mock.base("a")}/embeddings`]);
    assert.equal(mock.callsTo("a").length, 2);
  });

  it("a fetch double can answer without any network", T, async () => {
    const fake = async () =>
      new Response(
        JSON.stringify({
          id: "chatcmpl-fake",
          object: "chat.completion",
          created: 1,
          model: "x",
          choices: [
            { index: 0, message: { role: "assistant", content: "fake" }, finish_reason: "stop" },
          ],
        }),
        { status: 200, headers: { "content-type": "application/json" } },
      );
    const router = routerOver(mock, { chat: ["a"] }, { fetch: fake });
    const res = await router.completion(chatRequest());
    assert.equal(res.id, "chatcmpl-fake");
    assert.equal(res.choices[0].message.content, "fake");
    assert.equal(mock.calls.length, 0);
  });

  it("a fetch that throws synchronously -> APIConnectionError", T, async () => {
    const throwing = () => {
      throw new TypeError("boom");
    };
    const router = routerOver(mock, { chat: ["a"] }, { fetch: throwing, num_retries: 0 });
    const err = await router.completion(chatRequest()).catch((e) => e);
    assert.ok(err instanceof errors.APIConnectionError, `${err?.name}: ${err?.message}`);
    assert.equal(err.deployment_id, "a");
  });

  it("a deployment's litellm_params.timeout applies when the request sets none", T, async () => {
    mock.script("a", { hang: true });
    const router = new Router({
      model_list: [deployment(mock, "chat", "a", { timeout: 0.15 })],
      num_retries: 0,
      timeout: 30,
    });
    const started = performance.now();
    const err = await router.completion(chatRequest()).catch((e) => e);
    assert.ok(err instanceof errors.Timeout, err?.name);
    assert.ok(performance.now() - started < 800);
    assert.equal(mock.callsTo("a").length, 1);
  });
});
