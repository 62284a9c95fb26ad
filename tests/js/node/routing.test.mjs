// End-to-end through a real fetch to the mock provider: response shapes, _hidden_params,
// cost, what goes upstream, weighted shuffle and the management methods.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";

import {
  MESSAGES,
  Router,
  T,
  chatRequest,
  deployment,
  keyOf,
  mockEmbedding,
  routerOver,
  startMockServer,
} from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const IN = 0.000001;
const OUT = 0.000002;
const HEX64 = /^[0-9a-f]{64}$/;

/** One deployment "a" in group "chat", without an explicit id, with model_info prices. */
function pricedRouter(info = {}) {
  return new Router({
    model_list: [
      {
        model_name: "chat",
        litellm_params: { model: "openai/mock-a", api_base: mock.base("a"), api_key: keyOf("a") },
        model_info: { input_cost_per_token: IN, output_cost_per_token: OUT, ...info },
      },
    ],
  });
}

/** Checks the router metadata every answered request carries. */
function assertHidden(res, { group = "chat", id, cost }) {
  assert.ok(!JSON.stringify(res).includes("_hidden_params"), "JSON.stringify(res) stays OpenAI");
  assert.ok(!Object.keys(res).includes("_hidden_params"), "_hidden_params is not enumerable");
  const h = res._hidden_params;
  assert.equal(h.model_group, group);
  if (id === undefined) assert.match(h.model_id, HEX64);
  else assert.equal(h.model_id, id);
  assert.equal(h.custom_llm_provider, "openai");
  assert.equal(h.api_base, mock.base("a"));
  assert.equal(h.attempts, 1);
  assert.equal(h.retries, 0);
  assert.equal(h.cache_hit, false);
  assert.equal(h.fallback_model_group, null);
  assert.equal(typeof h.latency_ms, "number");
  assert.equal(h.response_cost, cost);
}

describe("responses through a real fetch", () => {
  it(
    "completion returns the upstream chat.completion with _hidden_params and a 64-hex model_id",
    T,
    async () => {
      const router = pricedRouter();
      const res = await router.completion(chatRequest());
      assert.equal(res.object, "chat.completion");
      assert.match(res.id, /^chatcmpl-/);
      assert.equal(res.model, "mock-a");
      assert.equal(res.choices.length, 1);
      assert.deepEqual(res.choices[0].message, {
        role: "assistant",
        content: "Hello from a",
        refusal: null,
      });
      assert.equal(res.choices[0].finish_reason, "stop");
      const { prompt_tokens, completion_tokens } = res.usage;
      assert.equal(completion_tokens, 3);
      assert.ok(prompt_tokens > 0);
      assertHidden(res, { cost: prompt_tokens * IN + completion_tokens * OUT });
      assert.equal(res._hidden_params.model_id, router.getDeployments()[0].model_info.id);
      assert.equal(mock.callsTo("a").length, 1);
    },
  );

  it("completion reports model_info.id as model_id when one is given", T, async () => {
    const router = pricedRouter({ id: "my-deployment-1" });
    const res = await router.completion(chatRequest());
    const { prompt_tokens, completion_tokens } = res.usage;
    assertHidden(res, {
      id: "my-deployment-1",
      cost: prompt_tokens * IN + completion_tokens * OUT,
    });
  });

  it("the generated model_id is stable across Routers built from the same config", T, async () => {
    const a = await pricedRouter().completion(chatRequest());
    const b = await pricedRouter().completion(chatRequest());
    assert.equal(a._hidden_params.model_id, b._hidden_params.model_id);
  });

  it(
    "embedding returns the upstream list with the mock's vectors and input-only cost",
    T,
    async () => {
      const router = pricedRouter({ id: "emb" });
      const input = ["first text", "second"];
      const res = await router.embedding({ model: "chat", input });
      assert.equal(res.object, "list");
      assert.equal(res.model, "mock-a");
      assert.deepEqual(
        res.data.map((d) => [d.object, d.index]),
        [
          ["embedding", 0],
          ["embedding", 1],
        ],
      );
      // Within 1e-12: exact equality is the separate test below.
      for (const [i, text] of input.entries()) {
        const want = mockEmbedding(text);
        assert.equal(res.data[i].embedding.length, want.length);
        res.data[i].embedding.forEach((x, j) => assert.ok(Math.abs(x - want[j]) < 1e-12, `${x}`));
      }
      assertHidden(res, { id: "emb", cost: res.usage.prompt_tokens * IN });
      assert.equal(mock.callsTo("a")[0].path, "/a/v1/embeddings");
    },
  );

  it("embedding vectors reach the caller bit-exact (numbers are not re-rounded)", T, async () => {
    const router = pricedRouter();
    const inputs = Array.from({ length: 16 }, (_, i) => `text number ${i}`);
    const res = await router.embedding({ model: "chat", input: inputs });
    assert.deepEqual(
      res.data.map((d) => d.embedding),
      inputs.map((text) => mockEmbedding(text)),
    );
  });

  it("textCompletion returns the upstream text_completion with cost", T, async () => {
    const router = pricedRouter({ id: "txt" });
    const res = await router.textCompletion({ model: "chat", prompt: "Say hello" });
    assert.equal(res.object, "text_completion");
    assert.equal(res.choices[0].text, "Hello from a");
    const { prompt_tokens, completion_tokens } = res.usage;
    assertHidden(res, { id: "txt", cost: prompt_tokens * IN + completion_tokens * OUT });
    assert.equal(mock.callsTo("a")[0].path, "/a/v1/completions");
    assert.equal(mock.callsTo("a")[0].body.prompt, "Say hello");
  });

  it(
    "LiteLLM aliases acompletion, atext_completion, text_completion and aembedding behave identically",
    T,
    async () => {
      const router = pricedRouter({ id: "al" });
      const pairs = [
        ["completion", "acompletion", chatRequest()],
        ["textCompletion", "atext_completion", { model: "chat", prompt: "p" }],
        ["textCompletion", "text_completion", { model: "chat", prompt: "p" }],
        ["embedding", "aembedding", { model: "chat", input: "x" }],
      ];
      for (const [method, alias, request] of pairs) {
        const before = mock.calls.length;
        const viaMethod = await router[method](request);
        const viaAlias = await router[alias](request);
        assert.equal(mock.calls.length, before + 2, alias);
        const [m, a] = mock.calls.slice(before);
        assert.equal(a.path, m.path, alias);
        assert.deepEqual(a.body, m.body, alias);
        const strip = ({ id, created, ...rest }) => rest;
        assert.deepEqual(strip(viaAlias), strip(viaMethod), alias);
        const { latency_ms: _x, ...hm } = viaMethod._hidden_params;
        const { latency_ms: _y, ...ha } = viaAlias._hidden_params;
        assert.deepEqual(ha, hm, alias);
      }
    },
  );
});

describe("the upstream request", () => {
  function router() {
    return new Router({
      model_list: [
        deployment(mock, "chat", "a", {
          model: "openai/upstream-model-x",
          organization: "org-test-123",
          headers: { "x-custom": "from-headers" },
          extra_headers: { "x-extra": "from-extra-headers" },
          temperature: 0.1,
          max_tokens: 50,
        }),
        deployment(mock, "other", "o"),
      ],
    });
  }

  it("carries the deployment's model, Bearer key, organization and extra headers", T, async () => {
    await router().completion(chatRequest());
    const [call] = mock.callsTo("a");
    assert.equal(call.method, "POST");
    assert.equal(call.path, "/a/v1/chat/completions");
    assert.equal(call.body.model, "upstream-model-x");
    assert.equal(call.headers.authorization, `Bearer ${keyOf("a")}`);
    assert.equal(call.headers["openai-organization"], "org-test-123");
    assert.equal(call.headers["x-custom"], "from-headers");
    assert.equal(call.headers["x-extra"], "from-extra-headers");
    assert.match(call.headers["content-type"], /^application\/json/);
  });

  it(
    "merges litellm_params OpenAI defaults under the request and strips router kwargs",
    T,
    async () => {
      const r = router();
      await r.completion(chatRequest());
      await r.completion(
        chatRequest("chat", {
          temperature: 0.7,
          user: "u-1",
          num_retries: 1,
          metadata: { trace: "t-1" },
          timeout: 30,
          fallbacks: [{ chat: ["other"] }],
        }),
      );
      const [first, second] = mock.callsTo("a");
      assert.deepEqual(first.body, {
        model: "upstream-model-x",
        messages: MESSAGES,
        temperature: 0.1,
        max_tokens: 50,
      });
      assert.deepEqual(second.body, {
        model: "upstream-model-x",
        messages: MESSAGES,
        temperature: 0.7,
        max_tokens: 50,
        user: "u-1",
      });
      assert.equal(mock.callsTo("o").length, 0);
    },
  );
});

describe("simple-shuffle", () => {
  /** Sends `n` sequential requests; returns how many each deployment answered (mock counts). */
  async function spread(router, n, names) {
    for (let i = 0; i < n; i++) await router.completion(chatRequest());
    assert.equal(mock.calls.length, n);
    return Object.fromEntries(names.map((name) => [name, mock.callsTo(name).length]));
  }

  it("weight 9 vs 1: the heavy deployment gets 82-97% of 400 requests", T, async () => {
    const router = routerOver(mock, {
      chat: [
        ["h", { weight: 9 }],
        ["l", { weight: 1 }],
      ],
    });
    const counts = await spread(router, 400, ["h", "l"]);
    assert.equal(counts.h + counts.l, 400);
    const share = counts.h / 400;
    assert.ok(share >= 0.82 && share <= 0.97, `heavy share ${share}`);
  });

  it("rpm is the weight when no weight is set", T, async () => {
    const router = routerOver(mock, {
      chat: [
        ["h", { rpm: 900 }],
        ["l", { rpm: 100 }],
      ],
    });
    const counts = await spread(router, 400, ["h", "l"]);
    const share = counts.h / 400;
    assert.ok(share >= 0.82 && share <= 0.97, `heavy share ${share}`);
  });

  it("is uniform when neither weight nor rpm nor tpm is set", T, async () => {
    const router = routerOver(mock, { chat: ["u1", "u2"] });
    const counts = await spread(router, 400, ["u1", "u2"]);
    assert.ok(counts.u1 > 120 && counts.u2 > 120, JSON.stringify(counts));
  });
});

describe("management methods", () => {
  const router = () =>
    new Router({
      model_list: [
        deployment(mock, "chat", "a", { organization: "org-1", rpm: 10 }),
        {
          model_name: "embed",
          litellm_params: { model: "openai/mock-e", api_base: mock.base("e"), api_key: "sk-e" },
        },
        deployment(mock, "chat", "b"),
      ],
    });

  it("getModelNames lists each model group once, in configuration order", () => {
    const r = router();
    assert.deepEqual(r.getModelNames(), ["chat", "embed"]);
    assert.deepEqual(r.get_model_names(), ["chat", "embed"]);
  });

  it("getDeployments returns model_name, litellm_params with api_key '***' and model_info.id", () => {
    const list = router().getDeployments();
    assert.equal(list.length, 3);
    assert.deepEqual(list[0], {
      model_name: "chat",
      litellm_params: {
        model: "openai/mock-a",
        api_base: mock.base("a"),
        api_key: "***",
        organization: "org-1",
        rpm: 10,
      },
      model_info: { id: "a" },
    });
    assert.equal(list[1].model_name, "embed");
    assert.equal(list[1].litellm_params.api_key, "***");
    assert.match(list[1].model_info.id, HEX64);
    assert.deepEqual(
      list.map((d) => d.model_info.id),
      ["a", list[1].model_info.id, "b"],
    );
  });

  it("getUsageStats counts requests, successes and tokens per deployment id", T, async () => {
    const r = routerOver(mock, { chat: ["a"] });
    const res1 = await r.completion(chatRequest());
    const res2 = await r.completion(chatRequest());
    const stats = (await r.getUsageStats()).deployments;
    assert.deepEqual(Object.keys(stats), ["a"]);
    const a = stats.a;
    assert.equal(a.model_group, "chat");
    assert.equal(a.requests, 2);
    assert.equal(a.successes, 2);
    assert.equal(a.failures, 0);
    assert.equal(a.in_flight, 0);
    assert.equal(a.prompt_tokens, res1.usage.prompt_tokens + res2.usage.prompt_tokens);
    assert.equal(a.completion_tokens, res1.usage.completion_tokens + res2.usage.completion_tokens);
    assert.equal(a.cooldown_until_ms, null);
  });
});
