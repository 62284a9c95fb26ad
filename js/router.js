// The Router class: options in, OpenAI-format responses out. The wasm core does the work;
// this file only converts at the boundary and attaches `_hidden_params`.

import { ConfigError, BadRequestError, toError } from "./errors.js";

const ENV_PREFIX = "os.environ/";

/** Host-provided options that are JS values, not JSON. */
const JS_OPTIONS = ["fetch", "logger", "env", "tokenizer"];

function hostEnv(name) {
  const proc = globalThis.process;
  if (proc?.env && typeof proc.env[name] === "string") return proc.env[name];
  try {
    const value = globalThis.Deno?.env?.get(name);
    if (typeof value === "string") return value;
  } catch {
    // Deno without --allow-env: only the `env` option is consulted.
  }
  return undefined;
}

/** The variables the options reference as "os.environ/NAME", from `env` then the host. */
function referencedEnv(value, env, out = {}) {
  if (typeof value === "string") {
    if (value.startsWith(ENV_PREFIX)) {
      const name = value.slice(ENV_PREFIX.length);
      const found = env?.[name] ?? hostEnv(name);
      if (typeof found === "string") out[name] = found;
    }
  } else if (Array.isArray(value)) {
    for (const item of value) referencedEnv(item, env, out);
  } else if (value && typeof value === "object") {
    for (const item of Object.values(value)) referencedEnv(item, env, out);
  }
  return out;
}

function optionsJson(options) {
  const rest = {};
  for (const [key, value] of Object.entries(options)) {
    if (JS_OPTIONS.includes(key) || value === undefined) continue;
    // Callback objects (cache, state) cross as a flag; the core decides if it supports them.
    rest[key] = (key === "cache" || key === "state") && value !== null ? true : value;
  }
  try {
    return JSON.stringify(rest);
  } catch (e) {
    throw new ConfigError(`options: not serialisable to JSON (${e.message})`, { field: "options" });
  }
}

function requestJson(request) {
  if (request === null || typeof request !== "object" || Array.isArray(request)) {
    throw new BadRequestError("the request must be an object like { model, messages }", {
      status: 400,
    });
  }
  try {
    return JSON.stringify(request);
  } catch (e) {
    throw new BadRequestError(`the request is not serialisable to JSON (${e.message})`, {
      status: 400,
    });
  }
}

function withHiddenParams(text) {
  const { hidden, body } = JSON.parse(text);
  Object.defineProperty(body, "_hidden_params", {
    value: hidden,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  return body;
}

/** Builds the Router class over an initialised wasm module's `RouterCore`. */
export function defineRouter(RouterCore) {
  class Router {
    #core;

    constructor(options = {}) {
      if (options === null || typeof options !== "object" || Array.isArray(options)) {
        throw new ConfigError("options: Router options must be an object", { field: "options" });
      }
      if (options.fetch !== undefined && typeof options.fetch !== "function") {
        throw new ConfigError("fetch: must be a function like globalThis.fetch", {
          field: "fetch",
        });
      }
      if (
        options.logger !== undefined &&
        (options.logger === null || typeof options.logger !== "object")
      ) {
        throw new ConfigError("logger: must be an object with debug/info/warn/error methods", {
          field: "logger",
        });
      }
      if (options.tokenizer !== undefined && typeof options.tokenizer !== "function") {
        throw new ConfigError(
          "tokenizer: must be a function (request, model) => number of input tokens",
          {
            field: "tokenizer",
          },
        );
      }
      if (options.env !== undefined && (options.env === null || typeof options.env !== "object")) {
        throw new ConfigError("env: must be an object of variable names to strings", {
          field: "env",
        });
      }
      const json = optionsJson(options);
      const env = JSON.stringify(referencedEnv(options, options.env));
      try {
        this.#core = new RouterCore(json, env, options.fetch, options.logger, options.tokenizer);
      } catch (e) {
        throw toError(e);
      }
    }

    async #call(endpoint, request) {
      const json = requestJson(request);
      let text;
      try {
        text = await this.#core.call(endpoint, json);
      } catch (e) {
        throw toError(e);
      }
      return withHiddenParams(text);
    }

    /** Chat completion (`/chat/completions`). */
    completion(request) {
      return this.#call("chat", request);
    }

    /** Legacy text completion (`/completions`). */
    textCompletion(request) {
      return this.#call("text", request);
    }

    /** Embeddings (`/embeddings`). */
    embedding(request) {
      return this.#call("embedding", request);
    }

    /** The deployments, with every credential replaced by "***". */
    getDeployments() {
      return JSON.parse(this.#core.deploymentsJson());
    }

    /** The model group names, in configuration order. */
    getModelNames() {
      return JSON.parse(this.#core.modelNamesJson());
    }

    /** Per-deployment counters: requests, successes, failures, tokens, cost, in-flight, cooldown. */
    async getUsageStats() {
      return JSON.parse(this.#core.usageJson());
    }
  }

  // LiteLLM's names, so Python code ports by search-and-replace.
  const aliases = {
    acompletion: "completion",
    atext_completion: "textCompletion",
    text_completion: "textCompletion",
    aembedding: "embedding",
    get_deployments: "getDeployments",
    get_model_names: "getModelNames",
    get_usage_stats: "getUsageStats",
  };
  for (const [alias, target] of Object.entries(aliases)) {
    Object.defineProperty(Router.prototype, alias, {
      value: Router.prototype[target],
      writable: true,
      configurable: true,
    });
  }
  return Router;
}
