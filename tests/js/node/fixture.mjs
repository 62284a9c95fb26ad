// Shared helpers for the Node end-to-end tests: Routers over named deployments of the loopback
// mock provider (tests/mock/server.mjs). Each test file starts its own mock.
import assert from "node:assert/strict";

export { Router, errors, version } from "../../../js/node.js";
export { startMockServer, mockEmbedding } from "../../mock/server.mjs";
import { Router } from "../../../js/node.js";

/** Per-test timeout: a hang fails the test instead of the whole run. */
export const T = { timeout: 15_000 };

export const MESSAGES = [{ role: "user", content: "Hi there!" }];

/** The API key the fixture gives mock deployment `name`. */
export const keyOf = (name) => `sk-test-${name}`;

/**
 * One model_list entry for mock deployment `name`: model `openai/mock-<name>`, its mock
 * api_base, key `sk-test-<name>` and `model_info.id` = `name` (unless `info.id` says otherwise).
 * @param {import("../../mock/server.mjs").MockServer} mock
 * @param {string} group @param {string} name
 * @param {Record<string, unknown>} [params] extra litellm_params
 * @param {Record<string, unknown>} [info] extra model_info
 */
export function deployment(mock, group, name, params = {}, info = {}) {
  return {
    model_name: group,
    litellm_params: {
      model: `openai/mock-${name}`,
      api_base: mock.base(name),
      api_key: keyOf(name),
      ...params,
    },
    model_info: { id: name, ...info },
  };
}

/** The mock's Anthropic and Gemini deployments: provider, the mock path speaking its wire format, a key. */
const NATIVE = {
  anthropic: ["anthropic/claude-haiku-4-5-20251001", "anthropic", "sk-ant-mock-key-0123456789"],
  gemini: ["gemini/gemini-2.5-flash", "gemini", "AIzaSyD-mock-key-0123456789abcdefghij"],
};

/**
 * A `model_list` entry for the mock's Anthropic or Gemini endpoint (replies scripted with the
 * provider's own payloads, `mock.script("anthropic" | "gemini", …)`).
 * @param {import("../../mock/server.mjs").MockServer} mock
 * @param {"anthropic" | "gemini"} provider @param {string} group @param {string} id
 */
export function nativeDeployment(mock, provider, group, id) {
  const [model, path, api_key] = NATIVE[provider];
  return {
    model_name: group,
    litellm_params: { model, api_base: `${mock.url}/${path}`, api_key },
    model_info: { id },
  };
}

/**
 * A Router over `groups`: `{ chat: ["a", ["b", { weight: 9 }]] }` (a name, or a name and its
 * extra litellm_params), plus Router `options`.
 * @param {import("../../mock/server.mjs").MockServer} mock
 * @param {Record<string, Array<string | [string, Record<string, unknown>]>>} groups
 * @param {Record<string, unknown>} [options]
 */
export function routerOver(mock, groups, options = {}) {
  const model_list = Object.entries(groups).flatMap(([group, names]) =>
    names.map((n) =>
      Array.isArray(n) ? deployment(mock, group, n[0], n[1]) : deployment(mock, group, n),
    ),
  );
  return new Router({ model_list, ...options });
}

/** A chat completion request for `model` with the fixture's messages. */
export const chatRequest = (model = "chat", extra = {}) => ({
  model,
  messages: MESSAGES,
  ...extra,
});

/** The error `promise` rejects with (fails the test when it resolves). */
export async function rejection(promise) {
  try {
    const value = await promise;
    assert.fail(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    return e;
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `pred` every 5 ms for at most `ms`; returns whether it became true. */
export async function waitFor(pred, ms = 1000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}
