// llmux/model-prices (js/model-prices.js): LiteLLM's whole price map, parsed in JS from the
// tables scripts/build.mjs writes; the wasm's bundled map (getModelCostMap) is its subset for the
// providers llmux speaks, entry for entry.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Router } from "../../../js/node.js";
import { modelCostMap } from "../../../js/model-prices.js";

const router = new Router({
  model_list: [
    { model_name: "chat", litellm_params: { model: "openai/gpt-4o-mini", api_key: "k" } },
  ],
});

describe("llmux/model-prices", () => {
  it("holds every bundled entry exactly as the core serialises it, plus the other providers", () => {
    const all = modelCostMap();
    const bundled = router.getModelCostMap();
    assert.equal(Object.keys(all).length, 4371);
    // 2308 + Jina AI's three rerank models (jina_ai is spoken since #18).
    assert.equal(Object.keys(bundled).length, 2311);
    // Rerank prices per search unit are in both (#18).
    assert.equal(bundled["rerank-v3.5"].input_cost_per_query, 0.002);
    assert.equal(all["cohere.rerank-v3-5:0"].input_cost_per_query, 0.002);
    for (const [key, entry] of Object.entries(bundled)) {
      assert.deepStrictEqual(all[key], entry, key);
      // Same field order too, so JSON.stringify agrees.
      assert.equal(JSON.stringify(all[key]), JSON.stringify(entry), key);
    }
    // A provider llmux does not speak: only in the full map.
    assert.equal(bundled["fal_ai/fal-ai/flux/dev"], undefined);
    assert.deepStrictEqual(all["fal_ai/fal-ai/flux/dev"], {
      litellm_provider: "fal_ai",
      mode: "image_generation",
      output_cost_per_image: 0.025,
    });
    const keys = Object.keys(all);
    assert.deepEqual(keys, [...keys].sort());
  });

  it("returns a fresh object each call", () => {
    const a = modelCostMap();
    a["gpt-4o-mini"].input_cost_per_token = 1;
    assert.equal(modelCostMap()["gpt-4o-mini"].input_cost_per_token, 1.5e-7);
  });
});
