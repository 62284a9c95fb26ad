// Worker for tests/js/workerd/cache.test.mjs: a Router per request whose response cache is a
// real Workers KV namespace (the CACHE binding) through `workersKvCache`.
//   POST /chat  { mock, request, cache_kwargs?, endpoint? } → { body, hidden } | { error }
import { Router, workersKvCache } from "../../../js/workerd.js";

const json = (value, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

async function chat(env, spec) {
  const router = new Router({
    model_list: [
      {
        model_name: "chat",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_base: `${env.MOCK_URL}/${spec.mock}/v1`,
          api_key: "sk-workerd-cache",
        },
        model_info: { id: spec.mock },
      },
    ],
    cache_responses: true,
    cache_kwargs: spec.cache_kwargs,
    cache: workersKvCache(env.CACHE),
  });
  try {
    const body = await router[spec.endpoint ?? "completion"](spec.request);
    return { body, hidden: body._hidden_params };
  } catch (e) {
    return { error: { name: e?.name, message: String(e?.message ?? e) } };
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (request.method === "POST" && pathname === "/chat")
      return json(await chat(env, await request.json()));
    return json({ error: `no route ${request.method} ${pathname}` }, 404);
  },
};
