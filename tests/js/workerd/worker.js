// Worker for tier 3c (tests/js/workerd/workerd.test.mjs), run by Miniflare/workerd. It imports
// the package's workerd entry by file path (modulesRoot = repo root) and builds one Router per
// request from a JSON spec. The mock provider's URL and the upstream key arrive as bindings:
//   MOCK_URL      base URL of tests/mock/server.mjs; deployments point at `${MOCK_URL}/<mock>/v1`
//   UPSTREAM_KEY  resolved through `api_key: "os.environ/UPSTREAM_KEY"` via the `env` option
//
// POST /run  { deployments?: [{ group, mock, id, weight?, params? }], model_list?, options?,
//              endpoint?: "completion" | "embedding" | "rerank", request, count?, abort_after_ms?,
//              via_gateway? }
//   `abort_after_ms`: each call gets `{ signal }` from an AbortController aborted then;
//   `via_gateway`: the call goes through router.fetch (master key "sk-gw") with that signal
//   on the Request, and its result is { ok, status }.
//   `prefer`: a custom routing strategy (setCustomRoutingStrategy) that chooses the candidate
//   with that id when offered, else the last candidate; `asked` in the result lists the
//   candidate ids of every ask, and `then` calls run one after another after the first batch.
//   → { config_error } when `new Router` throws, else { elapsed_ms, results: [...] } with one
//     entry per call (`count` calls in parallel): { ok, body, hidden } or { ok: false, error }.
// POST /stream { deployments, options?, request, break_after? }
//   → the stream piped through toReadableStream() as the response (SSE), or with
//     `break_after: n`, { text } after leaving `for await` at the n-th content chunk; an error
//     before the first chunk → 502 { error }.
// GET /version → { version }
import { Router, errors, version } from "../../../js/workerd.js";

const json = (value, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

function routerOptions(env, spec) {
  const model_list =
    spec.model_list ??
    (spec.deployments ?? []).map((d) => ({
      model_name: d.group,
      litellm_params: {
        model: "openai/gpt-4o-mini",
        api_base: `${env.MOCK_URL}/${d.mock}/v1`,
        api_key: "os.environ/UPSTREAM_KEY",
        ...(d.weight === undefined ? {} : { weight: d.weight }),
        ...d.params,
      },
      model_info: { id: d.id },
    }));
  return { ...spec.options, model_list, env: { UPSTREAM_KEY: env.UPSTREAM_KEY } };
}

/** Every field a test asserts, with the `errors` classes the value is an instance of. */
function describeError(e) {
  return {
    name: e?.name,
    constructor: e?.constructor?.name,
    message: String(e?.message ?? e),
    status: e?.status,
    field: e?.field,
    model_group: e?.model_group,
    deployment_id: e?.deployment_id,
    retryable: e?.retryable,
    attempts: e?.attempts,
    instance_of: Object.keys(errors).filter((name) => e instanceof errors[name]),
    is_error: e instanceof Error,
  };
}

async function run(env, spec) {
  let router;
  try {
    router = new Router(routerOptions(env, spec));
  } catch (e) {
    return { config_error: describeError(e) };
  }
  const asked = [];
  if (spec.prefer !== undefined) {
    router.setCustomRoutingStrategy({
      async getAvailableDeployment(_model, _request, candidates) {
        asked.push(candidates.map((c) => c.model_info.id));
        await new Promise((resolve) => setTimeout(resolve, 1));
        return candidates.find((c) => c.model_info.id === spec.prefer) ?? candidates.at(-1);
      },
    });
  }
  const method = spec.endpoint ?? "completion";
  const count = Math.min(Math.max(spec.count ?? 1, 1), 200);
  const started = Date.now();
  const options = () => {
    if (spec.abort_after_ms === undefined) return undefined;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), spec.abort_after_ms);
    return { signal: controller.signal };
  };
  const one = (request) => {
    if (!spec.via_gateway) return router[method](request, options());
    return router
      .fetch(
        new Request("http://gateway.test/v1/chat/completions", {
          method: "POST",
          headers: { authorization: "Bearer sk-gw", "content-type": "application/json" },
          body: JSON.stringify(request),
          signal: options()?.signal,
        }),
      )
      .then((res) => ({ status: res.status, _hidden_params: null }));
  };
  const settled = await Promise.allSettled(
    Array.from({ length: count }, (_, i) =>
      one(
        count === 1
          ? spec.request
          : { ...spec.request, messages: [{ role: "user", content: `request ${i}` }] },
      ),
    ),
  );
  for (let i = 0; i < (spec.then ?? 0); i++) {
    settled.push(
      await one(spec.request).then(
        (value) => ({ status: "fulfilled", value }),
        (reason) => ({ status: "rejected", reason }),
      ),
    );
  }
  return {
    elapsed_ms: Date.now() - started,
    asked,
    results: settled.map((s) =>
      s.status === "fulfilled"
        ? {
            ok: true,
            body: s.value,
            hidden: s.value._hidden_params,
            hidden_enumerable: Object.keys(s.value).includes("_hidden_params"),
          }
        : { ok: false, error: describeError(s.reason) },
    ),
  };
}

/** A streamed completion as the worker's response (what a gateway Worker does). */
async function stream(env, spec) {
  let chunks;
  try {
    const router = new Router(routerOptions(env, spec));
    chunks = await router.completion({ ...spec.request, stream: true });
  } catch (e) {
    return json({ error: describeError(e) }, 502);
  }
  if (spec.break_after === undefined) {
    return new Response(chunks.toReadableStream(), {
      headers: {
        "content-type": "text/event-stream",
        "x-llmux-model-id": chunks._hidden_params.model_id,
      },
    });
  }
  let text = "";
  let seen = 0;
  for await (const chunk of chunks) {
    const piece = chunk.choices[0]?.delta?.content;
    if (!piece) continue;
    text += piece;
    if (++seen >= spec.break_after) break;
  }
  return json({ text });
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/version") return json({ version: version() });
    if (request.method === "POST" && pathname === "/stream")
      return stream(env, await request.json());
    if (request.method === "POST" && pathname === "/run")
      return json(await run(env, await request.json()));
    return json({ error: `no route ${request.method} ${pathname}` }, 404);
  },
};
