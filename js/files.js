// Files and batches (README, "Files and batches"): Router methods loaded on first use. The
// core signs every id it returns with `files_secret`, so a later call reaches the same deployment.

import { BadRequestError } from "./errors.js";
import { FILES_CALL } from "./adapters.js";
import { attachHidden, uploadBytes, withHiddenParams } from "./wire.js";

function requestOf(request, method) {
  if (request === null || typeof request !== "object" || Array.isArray(request)) {
    throw new BadRequestError(`${method}() takes one object`, { status: 400 });
  }
  return request;
}

/** The bytes, name and type of a `Blob | File | ArrayBuffer | Uint8Array | string` to upload. */
async function uploadOf(file, filename) {
  const { bytes, name, type } = await uploadBytes(file, filename, "createFile", { text: true });
  return { bytes, name: name ?? "file.jsonl", type: type ?? "application/jsonl" };
}

/** `createFile({ model, file, purpose, filename? })`: uploads to a deployment of `model`. */
export async function createFile(router, request, options) {
  const { file, filename, ...rest } = requestOf(request, "createFile");
  const upload = await uploadOf(file, filename);
  return withHiddenParams(await router[FILES_CALL]("createFile", rest, upload, options));
}

/** `fileContent({ file_id })`: a `Response` with the file's bytes (e.g. a batch's output). */
export async function fileContent(router, request, options) {
  const out = await router[FILES_CALL](
    "fileContent",
    requestOf(request, "fileContent"),
    undefined,
    options,
  );
  const response = new Response(out.bytes, {
    status: 200,
    headers: { "content-type": out.contentType },
  });
  return attachHidden(response, JSON.parse(out.hidden));
}

/** The operation `name` (also the method's name), whose request is its JSON body. */
function jsonOp(name) {
  return async (router, request, options) =>
    withHiddenParams(await router[FILES_CALL](name, requestOf(request, name), undefined, options));
}

/** A list merged from several deployments: it takes `limit`, but no `after` cursor. */
function listOp(name) {
  const list = jsonOp(name);
  return async (router, request, options) => {
    if (requestOf(request, name).after !== undefined) {
      throw new BadRequestError(
        `${name}(): \`after\` is not supported (the list merges several deployments); use \`limit\``,
        { status: 400 },
      );
    }
    return list(router, request, options);
  };
}

/** `createBatch({ input_file_id, endpoint, completion_window, metadata? })`. */
export const createBatch = jsonOp("createBatch");

/** `retrieveBatch({ batch_id })`. */
export const retrieveBatch = jsonOp("retrieveBatch");

/** `cancelBatch({ batch_id })`. */
export const cancelBatch = jsonOp("cancelBatch");

/** `listBatches({ model, limit? })`: the batches of every OpenAI/Azure deployment of `model`. */
export const listBatches = listOp("listBatches");

/** `listFiles({ model, purpose?, limit? })`: the files of every OpenAI/Azure deployment of `model`. */
export const listFiles = listOp("listFiles");

/** `retrieveFile({ file_id })`: the file object, from the deployment that holds it. */
export const retrieveFile = jsonOp("retrieveFile");

/** `deleteFile({ file_id })`: deletes it on the deployment that holds it. */
export const deleteFile = jsonOp("deleteFile");
