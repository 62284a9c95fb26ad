// The Router's API adapters (README, "Gemini-format requests", "Anthropic Messages requests",
// "Responses API requests"): Router methods that load their translation module on first use,
// so an app that never calls them never downloads them, and the error bodies the gateway
// answers on those APIs' routes (small, and needed before any adapter has loaded).

/**
 * The Router method that sends a request of a core endpoint as is (`"responses"`: the native
 * Responses pass-through to OpenAI and Azure), for the adapters; not public API.
 */
export const NATIVE_CALL = Symbol.for("llmux.nativeCall");

/** The Router method that runs one files or batches operation in the core; not public API. */
export const FILES_CALL = Symbol.for("llmux.filesCall");

/** The Router method that sends a call whose files stay in JS (`imageEdit`); not public API. */
export const FORM_CALL = Symbol.for("llmux.formCall");

/**
 * A per-call option key: the id the call's events carry when the request names none (the
 * gateway passes the id of its `x-litellm-call-id` header); not public API.
 */
export const CALL_ID = Symbol.for("llmux.callId");

/** The Router method that opens a realtime socket (js/realtime.js); not public API. */
export const REALTIME_CALL = Symbol.for("llmux.realtimeCall");

const files = () => import("./files.js");

/** Router method -> [module loader, exported function]. */
const ADAPTERS = {
  createFile: [files, "createFile"],
  fileContent: [files, "fileContent"],
  createBatch: [files, "createBatch"],
  retrieveBatch: [files, "retrieveBatch"],
  cancelBatch: [files, "cancelBatch"],
  listBatches: [files, "listBatches"],
  listFiles: [files, "listFiles"],
  retrieveFile: [files, "retrieveFile"],
  deleteFile: [files, "deleteFile"],
  imageEdit: [() => import("./images.js"), "imageEdit"],
  generateContent: [() => import("./gemini.js"), "generateContent"],
  generateContentStream: [() => import("./gemini.js"), "generateContentStream"],
  messages: [() => import("./messages.js"), "messages"],
  countMessageTokens: [() => import("./messages.js"), "countMessageTokens"],
  responses: [() => import("./responses.js"), "responses"],
  realtime: [() => import("./realtime.js"), "realtime"],
};

/** LiteLLM's names of the adapter methods. */
export const adapterAliases = {
  agenerate_content: "generateContent",
  generate_content: "generateContent",
  aadapter_generate_content: "generateContent",
  agenerate_content_stream: "generateContentStream",
  generate_content_stream: "generateContentStream",
  anthropic_messages: "messages",
  aanthropic_messages: "messages",
  aresponses: "responses",
  acreate_file: "createFile",
  afile_content: "fileContent",
  acreate_batch: "createBatch",
  aretrieve_batch: "retrieveBatch",
  acancel_batch: "cancelBatch",
  alist_batches: "listBatches",
  afile_list: "listFiles",
  afile_delete: "deleteFile",
  aimage_edit: "imageEdit",
  image_edit: "imageEdit",
  arealtime: "realtime",
};

/** Adds the adapter methods to a Router class; each resolves once its module has loaded. */
export function installAdapters(Router) {
  for (const [name, [load, fn]] of Object.entries(ADAPTERS))
    Object.defineProperty(Router.prototype, name, {
      async value(request, options) {
        return (await load())[fn](this, request, options);
      },
      writable: true,
      configurable: true,
    });
}

/** Gemini's `status` names for HTTP statuses, for errors answered on the Gemini routes. */
const STATUS_NAMES = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  405: "INVALID_ARGUMENT",
  408: "DEADLINE_EXCEEDED",
  409: "ABORTED",
  413: "INVALID_ARGUMENT",
  422: "INVALID_ARGUMENT",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** An OpenAI-shaped error body as Google's `{ error: { code, message, status } }`. */
export function geminiErrorBody(status, message) {
  return {
    error: {
      code: status,
      message,
      status: STATUS_NAMES[status] ?? (status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT"),
    },
  };
}

/** Anthropic's error `type` for an HTTP status, for errors answered on `/v1/messages`. */
const ERROR_TYPES = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
  503: "overloaded_error",
};

/** Anthropic's error body `{ type: "error", error: { type, message } }`. */
export function messagesErrorBody(status, message) {
  return {
    type: "error",
    error: {
      type: ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error"),
      message,
    },
  };
}
