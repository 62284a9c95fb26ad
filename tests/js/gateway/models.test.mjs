// GET /v1/models per gateway key (#18): each key lists exactly what it may call — its groups,
// the groups of its access groups, aliases of those groups — and GET /v1/models/{id} answers
// 404 for the rest, as a call of that model would be refused.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Router, T, deployment, startMockServer } from "../node/fixture.mjs";

const MASTER = "sk-master-models-0123456789";
const TEAM = "sk-team-models-0123456789";
const ACCESS = "sk-access-models-0123456789";
const STAR = "sk-star-models-0123456789";
const RERANK = "sk-rerank-models-0123456789";

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());

const router = () =>
  new Router({
    model_list: [
      deployment(mock, "chat", "a", {}, { access_groups: ["beta"] }),
      deployment(mock, "other", "b"),
      deployment(mock, "embed", "e", {}, { mode: "embedding", access_groups: ["beta"] }),
      {
        model_name: "rerank",
        litellm_params: { model: "cohere/rerank-v3.5", api_base: `${mock.url}/r`, api_key: "co-k" },
        model_info: { id: "r" },
      },
    ],
    model_group_alias: { "gpt-4o": "chat" },
    gateway: {
      master_key: MASTER,
      keys: {
        [TEAM]: { models: ["other"] },
        [ACCESS]: { models: ["beta"] },
        [STAR]: { models: ["*"] },
        [RERANK]: { models: ["rerank"] },
      },
    },
  });

const get = (r, path, key) =>
  r.fetch(
    new Request(`http://gateway.test${path}`, { headers: { authorization: `Bearer ${key}` } }),
  );
const ids = async (r, key) =>
  (await (await get(r, "/v1/models", key)).json()).data.map((m) => m.id);

describe("GET /v1/models per key", () => {
  it("the master key and a * key list every group and alias", T, async () => {
    const r = router();
    const all = ["chat", "other", "embed", "rerank", "gpt-4o"];
    assert.deepEqual(await ids(r, MASTER), all);
    assert.deepEqual(await ids(r, STAR), all);
  });

  it("a key scoped to one group lists only that group", T, async () => {
    const r = router();
    assert.deepEqual(await ids(r, TEAM), ["other"]);
    assert.deepEqual(await ids(r, RERANK), ["rerank"]);
    assert.equal((await get(r, "/v1/models/rerank", RERANK)).status, 200);
    assert.equal((await get(r, "/v1/models/chat", RERANK)).status, 404);
  });

  it("a key naming an access group lists that group's groups and their aliases", T, async () => {
    const r = router();
    assert.deepEqual(await ids(r, ACCESS), ["chat", "embed", "gpt-4o"]);
    assert.equal((await get(r, "/v1/models/gpt-4o", ACCESS)).status, 200);
    assert.equal((await get(r, "/v1/models/other", ACCESS)).status, 404);
  });

  it("what a key lists is what it may call", T, async () => {
    const r = router();
    for (const key of [TEAM, ACCESS, RERANK]) {
      const listed = new Set(await ids(r, key));
      for (const model of ["chat", "other", "embed", "rerank", "gpt-4o"]) {
        const res = await r.fetch(
          new Request("http://gateway.test/v1/embeddings", {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify({ model, input: "x" }),
          }),
        );
        assert.equal(res.status === 403, !listed.has(model), `${key} ${model}: ${res.status}`);
      }
    }
  });
});
