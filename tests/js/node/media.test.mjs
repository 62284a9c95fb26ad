// Image generation and moderation through the OpenAI provider, against scripted OpenAI
// payloads (tests/fixtures/openai/), plus the endpoint/mode checks.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, beforeEach, describe, it } from "node:test";
import { T, Router, errors, startMockServer, deployment } from "./fixture.mjs";

const fixture = (name) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/openai/${name}`, import.meta.url), "utf8"));

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

describe("imageGeneration and moderation", () => {
  it("imageGeneration posts to /images/generations and returns the OpenAI body", T, async () => {
    const router = new Router({
      model_list: [
        deployment(
          mock,
          "img",
          "dalle",
          { model: "openai/dall-e-3" },
          { mode: "image_generation" },
        ),
      ],
    });
    mock.script("dalle", { body: fixture("image_generation.response.json") });
    const res = await router.imageGeneration({
      model: "img",
      prompt: "a sea otter",
      size: "1024x1024",
      response_format: "b64_json",
    });
    assert.deepEqual(JSON.parse(JSON.stringify(res)), fixture("image_generation.response.json"));
    assert.equal(res._hidden_params.model_id, "dalle");
    const call = mock.callsTo("dalle")[0];
    assert.equal(call.path, "/dalle/v1/images/generations");
    assert.deepEqual(call.body, {
      model: "dall-e-3",
      prompt: "a sea otter",
      size: "1024x1024",
      response_format: "b64_json",
    });
    assert.equal(router.aimage_generation, router.imageGeneration, "LiteLLM's name is an alias");
  });

  it("moderation posts to /moderations; it costs nothing", T, async () => {
    const router = new Router({
      model_list: [
        deployment(
          mock,
          "mod",
          "omni",
          { model: "openai/omni-moderation-latest" },
          { mode: "moderation" },
        ),
      ],
    });
    mock.script("omni", { body: fixture("moderation.response.json") });
    const res = await router.moderation({ model: "mod", input: "I want to hurt them." });
    assert.equal(res.results[0].flagged, true);
    assert.equal(res.results[0].category_scores.violence, 0.9999992735124786);
    assert.equal(res._hidden_params.response_cost, 0);
    assert.equal(mock.callsTo("omni")[0].path, "/omni/v1/moderations");
  });

  it("a deployment answers only the endpoint of its mode", T, async () => {
    const router = new Router({
      model_list: [
        deployment(
          mock,
          "img",
          "dalle",
          { model: "openai/dall-e-3" },
          { mode: "image_generation" },
        ),
      ],
    });
    await assert.rejects(
      router.completion({ model: "img", messages: [{ role: "user", content: "hi" }] }),
      (e) => e instanceof errors.BadRequestError && /image_generation/.test(e.message),
    );
    assert.equal(mock.callsTo("dalle").length, 0);
  });

  it("an image reply without a data array is an APIConnectionError", T, async () => {
    const router = new Router({
      model_list: [
        deployment(
          mock,
          "img",
          "dalle",
          { model: "openai/dall-e-3" },
          { mode: "image_generation" },
        ),
      ],
      num_retries: 0,
    });
    mock.script("dalle", { body: { created: 1 } });
    await assert.rejects(
      router.imageGeneration({ model: "img", prompt: "x" }),
      (e) => e instanceof errors.APIConnectionError,
    );
  });
});
