// Worker for the providers-in-workerd suite (workerd.test.mjs), run by Miniflare/workerd. It
// imports the package's workerd entry by file path (modulesRoot = repo root) and, per request,
// builds a Router from a JSON spec and makes one call:
//
// POST /run  { model_list, options?, method, request, file_bytes? }
//   `method` is a Router method name ("completion", "embedding", "transcription", "speech", …);
//   `file_bytes` (an array of byte values) becomes `request.file` as a Uint8Array built here.
//   → { body, hidden }                      the call resolved to a JSON object
//   → { body, content_type, hidden, is_response: true }   it resolved to a Response (speech):
//                                           `body` is `await res.text()`
//   → { chunks, hidden, error? }            it resolved to a stream (`stream: true`): every
//                                           chunk read with for-await, then the error it threw
//   → { error: { name, status, message, … } }  `new Router` threw or the call rejected
import { Router, errors } from "../../../js/workerd.js";

const json = (value, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

/** The fields the tests assert, with the `errors` classes the value is an instance of. */
function describeError(e) {
  return {
    name: e?.name,
    constructor: e?.constructor?.name,
    status: e?.status,
    message: String(e?.message ?? e),
    llm_provider: e?.llm_provider,
    model: e?.model,
    model_group: e?.model_group,
    deployment_id: e?.deployment_id,
    retryable: e?.retryable,
    retry_after_ms: e?.retry_after_ms,
    attempts: e?.attempts,
    instance_of: Object.keys(errors).filter(
      (name) => typeof errors[name] === "function" && e instanceof errors[name],
    ),
  };
}

async function run(spec) {
  let res;
  try {
    const router = new Router({ ...spec.options, model_list: spec.model_list });
    if (typeof router[spec.method] !== "function")
      return { error: { name: "TestSpecError", message: `no Router method ${spec.method}` } };
    const request = { ...spec.request };
    if (Array.isArray(spec.file_bytes)) request.file = new Uint8Array(spec.file_bytes);
    res = await router[spec.method](request);
  } catch (e) {
    return { error: describeError(e) };
  }
  if (typeof res?.[Symbol.asyncIterator] === "function") {
    const chunks = [];
    try {
      for await (const chunk of res) chunks.push(chunk);
    } catch (e) {
      return { chunks, hidden: res._hidden_params, error: describeError(e) };
    }
    return { chunks, hidden: res._hidden_params };
  }
  if (res instanceof Response)
    return {
      body: await res.text(),
      content_type: res.headers.get("content-type"),
      hidden: res._hidden_params,
      is_response: true,
    };
  return { body: res, hidden: res._hidden_params };
}

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (request.method === "POST" && pathname === "/run")
      return json(await run(await request.json()));
    return json({ error: `no route ${request.method} ${pathname}` }, 404);
  },
};
