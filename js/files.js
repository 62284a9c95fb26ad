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

/** `createBatch({ input_file_id, endpoint, completion_window, metadata? })`. */
export async function createBatch(router, request, options) {
  const body = requestOf(request, "createBatch");
  return withHiddenParams(await router[FILES_CALL]("createBatch", body, undefined, options));
}

/** `retrieveBatch({ batch_id })`. */
export async function retrieveBatch(router, request, options) {
  const body = requestOf(request, "retrieveBatch");
  return withHiddenParams(await router[FILES_CALL]("retrieveBatch", body, undefined, options));
}

/** `cancelBatch({ batch_id })`. */
export async function cancelBatch(router, request, options) {
  const body = requestOf(request, "cancelBatch");
  return withHiddenParams(await router[FILES_CALL]("cancelBatch", body, undefined, options));
}

/** `listBatches({ model, limit? })`: the batches of every OpenAI/Azure deployment of `model`. */
export async function listBatches(router, request, options) {
  const body = requestOf(request, "listBatches");
  if (body.after !== undefined) {
    throw new BadRequestError(
      "listBatches(): `after` is not supported (the list merges several deployments); use `limit`",
      { status: 400 },
    );
  }
  return withHiddenParams(await router[FILES_CALL]("listBatches", body, undefined, options));
}

/** `listFiles({ model, purpose?, limit? })`: the files of every OpenAI/Azure deployment of `model`. */
export async function listFiles(router, request, options) {
  const body = requestOf(request, "listFiles");
  if (body.after !== undefined) {
    throw new BadRequestError(
      "listFiles(): `after` is not supported (the list merges several deployments); use `limit`",
      { status: 400 },
    );
  }
  return withHiddenParams(await router[FILES_CALL]("listFiles", body, undefined, options));
}

/** `retrieveFile({ file_id })`: the file object, from the deployment that holds it. */
export async function retrieveFile(router, request, options) {
  const body = requestOf(request, "retrieveFile");
  return withHiddenParams(await router[FILES_CALL]("retrieveFile", body, undefined, options));
}

/** `deleteFile({ file_id })`: deletes it on the deployment that holds it. */
export async function deleteFile(router, request, options) {
  const body = requestOf(request, "deleteFile");
  return withHiddenParams(await router[FILES_CALL]("deleteFile", body, undefined, options));
}
