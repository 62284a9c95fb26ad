// router.fetch's routes for image edits, files and batches (README, "Gateway"), in OpenAI's
// API shapes so the `openai` client works unchanged; loaded on the first such request.
// The gateway's key auth, model access checks and body bound (`max_body_bytes`) apply: a
// route that names a model group checks it like any call, and a route that names a signed
// file or batch id checks the group of the deployment the id names, before any upstream call.

import { HttpError } from "./gateway-config.js";

/** Fields `POST /v1/batches` forwards (everything else in the body is ignored, as OpenAI does). */
const BATCH_FIELDS = [
  "input_file_id",
  "endpoint",
  "completion_window",
  "metadata",
  "output_expires_after",
];

function methodNotAllowed(method, allow) {
  const e = new HttpError(405, `${method} is not allowed here; use ${allow}`, {
    code: "method_not_allowed",
  });
  e.allow = allow;
  return e;
}

/** The multipart body: text fields, and the file parts by field name (`name[]` kept as is). */
async function formOf(c) {
  const form = await c.h.readForm(c.request, c.gw, "");
  const fields = {};
  const files = {};
  for (const [name, value] of form.entries()) {
    if (typeof value === "string") fields[name] = value;
    else (files[name] ??= []).push(value);
  }
  return { fields, files };
}

/**
 * The model group a list or upload names: the `model` form field or query parameter, else the
 * key's only group (a key scoped to exactly one group, no pattern); checked like any call.
 */
function modelOf(c, given) {
  let model = given ?? c.url.searchParams.get("model") ?? undefined;
  const scoped = c.principal.models === null ? [] : [...c.principal.models];
  if (model === undefined && scoped.length === 1 && !scoped[0].includes("*")) model = scoped[0];
  if (model === undefined)
    throw new HttpError(
      400,
      "name the model group: `?model=<group>` (or a `model` form field); a key scoped to one group may leave it out",
      { param: "model" },
    );
  c.h.checkRequest({ model }, c.principal, c.gw, c.router);
  return model;
}

/**
 * The model group of the deployment a llmux id names (`llmux-file-` / `llmux-batch-` +
 * base64url of `{deployment id}\n{upstream id}` + `.` + tag), or undefined. Not verified
 * here: the router checks the signature on the call itself, so a forged id gets past this
 * check only when it names a group the key may use anyway, and is then a 404.
 */
function groupOf(router, id) {
  const m = /^llmux-(?:file|batch)-([A-Za-z0-9_-]+)\./.exec(id);
  if (!m || id.length > 1024) return undefined;
  let payload;
  try {
    const text = atob(m[1].replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
    payload = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const info = router.getModelInfo?.(payload.split("\n")[0]);
  return typeof info?.model_name === "string" ? info.model_name : undefined;
}

/**
 * A signed id from the path or body, once the key may use the group holding it. A restricted
 * key gets the same 404 for another group's id as for an unknown one (nothing is revealed);
 * for an unrestricted key the router itself refuses ids it did not issue (also a 404).
 */
function idOf(c, raw, what) {
  let id;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `the ${what} id in the path is not valid percent-encoding`, {
      code: "invalid_path",
    });
  }
  if (c.principal.models !== null) {
    const group = groupOf(c.router, id);
    if (typeof group !== "string" || !c.h.allows(c.principal, group, c.router))
      throw new HttpError(404, `No such ${what}: ${id.slice(0, 64)}`, { code: "not_found" });
  }
  return id;
}

/** `?limit=` as a number (the router clamps it to 1–100). */
function listQuery(c) {
  const out = {};
  const limit = c.url.searchParams.get("limit");
  if (limit !== null) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1)
      throw new HttpError(400, "`limit` must be a positive integer", { param: "limit" });
    out.limit = n;
  }
  if (c.url.searchParams.has("after"))
    throw new HttpError(
      400,
      "`after` is not supported (the list merges several deployments); use `limit`",
      { param: "after" },
    );
  return out;
}

/** `POST /v1/images/edits`: OpenAI's multipart request (`image` or `image[]`, `mask`). */
async function imageEdit(c) {
  const { fields, files } = await formOf(c);
  const images = [...(files.image ?? []), ...(files["image[]"] ?? [])];
  if (images.length === 0)
    throw new HttpError(400, "the `image` part (or `image[]` parts) is required", {
      param: "image",
    });
  const body = { ...fields };
  if (typeof body.n === "string" && /^\d+$/.test(body.n)) body.n = Number(body.n);
  // Form fields are text: `stream=true` is the boolean the router refuses (no partial images).
  if (body.stream === "true") body.stream = true;
  c.h.checkRequest(body, c.principal, c.gw, c.router);
  const mask = files.mask?.[0];
  const request = { ...body, image: images.length === 1 ? images[0] : images };
  if (mask !== undefined) request.mask = mask;
  return c.h.resultResponse(await c.router.imageEdit(request, c.options), c.router);
}

/** `POST /v1/files`: multipart `file` and `purpose` (and the group, see `modelOf`). */
async function createFile(c) {
  const { fields, files } = await formOf(c);
  const file = files.file?.[0];
  if (file === undefined)
    throw new HttpError(400, "the `file` part is required", { param: "file" });
  if (typeof fields.purpose !== "string" || fields.purpose === "")
    throw new HttpError(400, "`purpose` is required", { param: "purpose" });
  const model = modelOf(c, fields.model);
  const made = await c.router.createFile({ model, file, purpose: fields.purpose }, c.options);
  return c.h.resultResponse(made, c.router);
}

/** `GET /v1/files/{id}/content`: the bytes, with the upstream's content type. */
async function fileContent(c, id) {
  const out = await c.router.fileContent({ file_id: id }, c.options);
  return new Response(out.body, {
    status: 200,
    headers: {
      "content-type": out.headers.get("content-type") ?? "application/octet-stream",
      ...c.h.routerHeaders(out._hidden_params, c.router),
    },
  });
}

/** Serves `c.path` (matched by gateway.js's `FILES_PATH`). */
export async function serveFiles(c) {
  const [, kind, raw, tail] = /^\/([a-z]+)(?:\/([^/]+))?(?:\/([a-z]+))?$/.exec(
    c.path === "/images/edits" ? "/images" : c.path,
  );
  const method = c.request.method;
  const answer = async (promise) => c.h.resultResponse(await promise, c.router);
  if (kind === "images") {
    if (method !== "POST") throw methodNotAllowed(method, "POST");
    return imageEdit(c);
  }
  if (kind === "files" && raw === undefined) {
    if (method === "POST") return createFile(c);
    if (method !== "GET") throw methodNotAllowed(method, "GET, POST");
    const model = modelOf(c);
    const purpose = c.url.searchParams.get("purpose") ?? undefined;
    return answer(c.router.listFiles({ model, purpose, ...listQuery(c) }, c.options));
  }
  if (kind === "files") {
    const id = idOf(c, raw, "file");
    if (tail === "content") {
      if (method !== "GET") throw methodNotAllowed(method, "GET");
      return fileContent(c, id);
    }
    if (tail !== undefined) throw new HttpError(404, `no route ${c.path}`, { code: "not_found" });
    if (method === "GET") return answer(c.router.retrieveFile({ file_id: id }, c.options));
    if (method === "DELETE") return answer(c.router.deleteFile({ file_id: id }, c.options));
    throw methodNotAllowed(method, "GET, DELETE");
  }
  // batches
  if (raw === undefined) {
    if (method === "GET") {
      const model = modelOf(c);
      return answer(c.router.listBatches({ model, ...listQuery(c) }, c.options));
    }
    if (method !== "POST") throw methodNotAllowed(method, "GET, POST");
    const body = await c.h.jsonBody(c.request, c.gw);
    if (typeof body.input_file_id !== "string" || body.input_file_id === "")
      throw new HttpError(400, "`input_file_id` is required (an id POST /v1/files returned)", {
        param: "input_file_id",
      });
    const request = {};
    for (const field of BATCH_FIELDS) if (body[field] !== undefined) request[field] = body[field];
    request.input_file_id = idOf(c, encodeURIComponent(body.input_file_id), "file");
    return answer(c.router.createBatch(request, c.options));
  }
  const id = idOf(c, raw, "batch");
  if (tail === "cancel") {
    if (method !== "POST") throw methodNotAllowed(method, "POST");
    return answer(c.router.cancelBatch({ batch_id: id }, c.options));
  }
  if (tail !== undefined) throw new HttpError(404, `no route ${c.path}`, { code: "not_found" });
  if (method !== "GET") throw methodNotAllowed(method, "GET");
  return answer(c.router.retrieveBatch({ batch_id: id }, c.options));
}
