// Image edits (README, "Image edits"): `imageEdit`, loaded on first use. The images and the
// mask stay JS `Blob`s: the core plans the request (URL, headers, form fields) and its
// transport hands the `Blob`s to fetch in a `FormData`, so no image byte enters wasm memory.

import { BadRequestError } from "./errors.js";
import { FORM_CALL } from "./adapters.js";
import { MAX_UPLOAD_BYTES } from "./wire.js";

/** The most images one call sends (OpenAI's limit for gpt-image-1; the core checks it too). */
export const MAX_EDIT_IMAGES = 16;

const bad = (message) => new BadRequestError(`imageEdit(): ${message}`, { status: 400 });

/** An image's type and extension from its first bytes (PNG, JPEG, WebP), else `undefined`. */
function sniff(head) {
  if (head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47)
    return ["image/png", "png"];
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return ["image/jpeg", "jpg"];
  const text = String.fromCharCode(...head.subarray(0, 12));
  if (text.startsWith("RIFF") && text.slice(8, 12) === "WEBP") return ["image/webp", "webp"];
  return undefined;
}

/** One image or mask as `{ blob, name }`: a `Blob`/`File` as is, bytes wrapped in a `Blob`. */
async function partOf(value, field, index) {
  let blob;
  let name;
  if (typeof Blob !== "undefined" && value instanceof Blob) {
    blob = value;
    if (typeof value.name === "string" && value.name) name = value.name;
  } else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    const bytes =
      value instanceof ArrayBuffer
        ? new Uint8Array(value)
        : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    blob = new Blob([bytes]);
  } else {
    throw bad(`\`${field}\` must be a Blob, File, ArrayBuffer or Uint8Array (or an array of them)`);
  }
  if (!blob.type || name === undefined) {
    const found = sniff(new Uint8Array(await blob.slice(0, 12).arrayBuffer()));
    // OpenAI reads the part's content type: a typeless Blob gets the sniffed one.
    if (!blob.type) blob = new Blob([blob], { type: found?.[0] ?? "application/octet-stream" });
    name ??= `${field}${index > 0 ? `-${index}` : ""}.${found?.[1] ?? "png"}`;
  }
  return { blob, name };
}

/**
 * `imageEdit({ model, image, prompt, mask?, n?, size?, quality?, response_format?, user?, … })`:
 * `image` is one image or an array of 1–16; the whole upload is at most 100 MiB.
 */
export async function imageEdit(router, request, options) {
  if (request === null || typeof request !== "object" || Array.isArray(request))
    throw bad("takes one object");
  const { image, mask, ...rest } = request;
  if (typeof rest.prompt !== "string" || rest.prompt === "")
    throw bad("`prompt` is required (a string)");
  if (image === undefined || image === null) throw bad("`image` is required");
  const images = Array.isArray(image) ? image : [image];
  if (images.length === 0 || images.length > MAX_EDIT_IMAGES)
    throw bad(`\`image\` takes 1 to ${MAX_EDIT_IMAGES} images (got ${images.length})`);
  const parts = [];
  for (const [i, one] of images.entries()) parts.push(await partOf(one, "image", i));
  if (mask !== undefined && mask !== null) parts.push(await partOf(mask, "mask", 0));
  const total = parts.reduce((sum, p) => sum + p.blob.size, 0);
  if (total > MAX_UPLOAD_BYTES)
    throw bad(`the images are ${total} bytes, more than the ${MAX_UPLOAD_BYTES} llmux uploads`);
  return router[FORM_CALL](
    "imageEdit",
    rest,
    parts.map((p) => p.blob),
    parts.map((p) => p.name),
    images.length,
    options,
  );
}
