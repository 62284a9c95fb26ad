// Model group views and upserts end to end (#21): getModelGroupInfo merged as LiteLLM merges it,
// getRemainingModelGroupUsage counting real calls to the mock, getModelAccessGroups and gateway
// keys that name an access group, the gateway's x-ratelimit-* headers, and upsertDeployment's
// add / replace / unchanged outcomes.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";
import { MESSAGES, Router, T, deployment, errors, startMockServer } from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const MASTER = "sk-master-model-groups-0123";
const ANALYST = "sk-analyst-model-groups";

/**
 * Group `chat`: `a` prices and windows from the bundled data (gpt-4o), `b` from model_info.
 * Group `embed`: one deployment with neither limit. `fast` is an alias of `chat`.
 */
function router(options = {}) {
  const a = deployment(mock, "chat", "a", { rpm: 10, tpm: 1000 }, { access_groups: ["team"] });
  a.litellm_params.model = "openai/gpt-4o";
  const b = deployment(
    mock,
    "chat",
    "b",
    { rpm: 5 },
    {
      max_input_tokens: 2_000_000,
      input_cost_per_token: 0.001,
      supports_reasoning: true,
      description: "the big one",
    },
  );
  b.litellm_params.custom_llm_provider = "openai";
  const e = deployment(mock, "embed", "e", {}, { mode: "embedding", access_groups: ["team", "x"] });
  return new Router({ model_list: [a, b, e], model_group_alias: { fast: "chat" }, ...options });
}

describe("getModelGroupInfo", () => {
  it("merges the group's deployments as LiteLLM does", T, () => {
    const info = router().getModelGroupInfo("chat");
    assert.equal(info.model_group, "chat");
    assert.deepEqual(info.providers, ["openai"]);
    // The largest window and the highest price over the group (b's model_info beats gpt-4o).
    assert.equal(info.max_input_tokens, 2_000_000);
    assert.equal(info.input_cost_per_token, 0.001);
    // gpt-4o's output window and price come from the bundled data; b states none.
    assert.equal(info.max_output_tokens, 16384);
    assert.equal(info.output_cost_per_token, 1e-5);
    // Limits are summed over the deployments that set them.
    assert.equal(info.rpm, 15);
    assert.equal(info.tpm, 1000);
    assert.equal(info.mode, "chat");
    assert.equal(info.supports_reasoning, true, "from b's model_info");
    assert.equal(info.supports_function_calling, true, "from gpt-4o's price data");
    assert.equal(info.supports_web_search, false);
    assert.equal(info.description, "the big one");
  });

  it("answers for an alias under the alias's name, and null for an unknown group", T, () => {
    const r = router();
    const info = r.getModelGroupInfo("fast");
    assert.equal(info.model_group, "fast");
    assert.equal(info.rpm, 15);
    assert.equal(r.get_model_group_info("nope"), null);
    const embed = r.getModelGroupInfo("embed");
    assert.equal(embed.mode, "embedding");
    assert.equal(embed.rpm, null);
    assert.equal(embed.tpm, null);
  });

  it("never shows a credential", T, () => {
    const text = JSON.stringify(router().getModelGroupInfo("chat"));
    assert.doesNotMatch(text, /sk-test-/);
  });
});

describe("getRemainingModelGroupUsage", () => {
  it("counts this minute's calls against the group's summed limits", T, async () => {
    const before = await router().getRemainingModelGroupUsage("chat");
    assert.deepEqual(before, {
      "x-ratelimit-remaining-tokens": 1000,
      "x-ratelimit-limit-tokens": 1000,
      "x-ratelimit-remaining-requests": 15,
      "x-ratelimit-limit-requests": 15,
    });
    const r = new Router({
      model_list: [deployment(mock, "solo", "s", { rpm: 4, tpm: 500 })],
    });
    // The counters are per clock minute (a request is counted when it starts, its tokens when
    // it ends): two calls straddling a minute boundary would land in two windows.
    const msLeft = 60_000 - (Date.now() % 60_000);
    if (msLeft < 3_000) await new Promise((resolve) => setTimeout(resolve, msLeft + 50));
    let tokens = 0;
    for (let i = 0; i < 2; i++) {
      const out = await r.completion({ model: "solo", messages: MESSAGES });
      tokens += out.usage.total_tokens;
    }
    assert.equal(mock.callsTo("s").length, 2);
    assert.ok(tokens > 0);
    assert.deepEqual(await r.get_remaining_model_group_usage("solo"), {
      "x-ratelimit-remaining-tokens": 500 - tokens,
      "x-ratelimit-limit-tokens": 500,
      "x-ratelimit-remaining-requests": 2,
      "x-ratelimit-limit-requests": 4,
    });
  });

  it("is empty for a group without limits, or none at all", T, async () => {
    const r = router();
    assert.deepEqual(await r.getRemainingModelGroupUsage("embed"), {});
    assert.deepEqual(await r.getRemainingModelGroupUsage("nope"), {});
  });
});

describe("access groups", () => {
  it("getModelAccessGroups lists each access group's model groups and their aliases", T, () => {
    assert.deepEqual(router().getModelAccessGroups(), {
      team: ["chat", "embed", "fast"],
      x: ["embed"],
    });
  });

  it("refuses an access_groups that is not a list of names", T, () => {
    const d = deployment(mock, "chat", "a", {}, { access_groups: "team" });
    assert.throws(
      () => new Router({ model_list: [d] }),
      (e) =>
        e instanceof errors.ConfigError && e.field === "model_list[0].model_info.access_groups",
    );
  });

  it("a gateway key naming an access group reaches its groups and nothing else", T, async () => {
    const a = deployment(mock, "chat", "a", {}, { access_groups: ["analysts"] });
    const b = deployment(mock, "other", "b");
    const r = new Router({
      model_list: [a, b],
      gateway: { master_key: MASTER, keys: { [ANALYST]: { models: ["analysts"] } } },
    });
    const post = (model) =>
      r.fetch(
        new Request("http://gateway.test/v1/chat/completions", {
          method: "POST",
          headers: { authorization: `Bearer ${ANALYST}`, "content-type": "application/json" },
          body: JSON.stringify({ model, messages: MESSAGES }),
        }),
      );
    const ok = await post("chat");
    assert.equal(ok.status, 200, await ok.clone().text());
    const denied = await post("other");
    assert.equal(denied.status, 403);
    assert.equal((await denied.json()).error.code, "model_not_allowed");
    assert.equal(mock.callsTo("b").length, 0);
    const models = await r.fetch(
      new Request("http://gateway.test/v1/models", {
        headers: { authorization: `Bearer ${ANALYST}` },
      }),
    );
    assert.deepEqual(
      (await models.json()).data.map((m) => m.id),
      ["chat"],
    );
  });
});

describe("gateway x-ratelimit headers", () => {
  it(
    "carry the group's remaining rpm/tpm after the call, as LiteLLM's proxy sends",
    T,
    async () => {
      const r = router({ gateway: { master_key: MASTER } });
      const res = await r.fetch(
        new Request("http://gateway.test/v1/chat/completions", {
          method: "POST",
          headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "chat", messages: MESSAGES }),
        }),
      );
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-ratelimit-limit-requests"), "15");
      assert.equal(res.headers.get("x-ratelimit-remaining-requests"), "14");
      assert.equal(res.headers.get("x-ratelimit-limit-tokens"), "1000");
      const embed = await r.fetch(
        new Request("http://gateway.test/v1/embeddings", {
          method: "POST",
          headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "embed", input: "hello" }),
        }),
      );
      assert.equal(embed.status, 200, await embed.clone().text());
      assert.equal(embed.headers.get("x-ratelimit-limit-requests"), null, "no limit, no header");
    },
  );
});

describe("upsertDeployment", () => {
  it(
    "adds a new id, replaces a changed entry, and returns null for the same entry",
    T,
    async () => {
      const r = new Router({ model_list: [deployment(mock, "chat", "a")] });
      assert.equal(r.upsertDeployment(deployment(mock, "chat", "a")), null, "unchanged");
      assert.equal(r.getDeployments().length, 1);

      // Same id, new endpoint: replaced, and the next call goes to the new endpoint.
      const moved = deployment(mock, "chat", "a");
      moved.litellm_params.api_base = mock.base("a2");
      const replaced = r.upsert_deployment(moved);
      assert.equal(replaced.model_info.id, "a");
      assert.equal(replaced.litellm_params.api_key, "***");
      assert.equal(r.getDeployments().length, 1);
      await r.completion({ model: "chat", messages: MESSAGES });
      assert.equal(mock.callsTo("a2").length, 1);
      assert.equal(mock.callsTo("a").length, 0);

      const added = r.upsertDeployment(deployment(mock, "chat", "b"));
      assert.equal(added.model_info.id, "b");
      assert.deepEqual(
        r.getDeployments().map((d) => d.model_info.id),
        ["a", "b"],
      );
    },
  );

  it("refuses an invalid entry with a ConfigError and changes nothing", T, () => {
    const r = new Router({ model_list: [deployment(mock, "chat", "a")] });
    const bad = deployment(mock, "chat", "a");
    bad.litellm_params.timeout = "soon";
    assert.throws(() => r.upsertDeployment(bad), errors.ConfigError);
    assert.equal(r.getModelInfo("a").litellm_params.timeout, undefined);
  });
});
