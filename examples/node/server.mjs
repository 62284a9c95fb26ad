// An OpenAI-compatible LLM gateway on node:http: `node examples/node/server.mjs`.
// Any OpenAI SDK pointed at http://127.0.0.1:8787/v1 with LLMUX_MASTER_KEY as its API key talks
// to the router, which holds the provider key (OPENAI_API_KEY) and never shows it to callers.
//
//   LLMUX_MASTER_KEY  the key callers send (required: without it every request is a 401)
//   OPENAI_API_KEY    the upstream key
//   OPENAI_BASE_URL   optional: any OpenAI-compatible server instead of api.openai.com
//   LLMUX_CORS        optional: "*" or comma-separated origins allowed to call from browsers
//   LLMUX_MAX_BODY_BYTES  optional: request body limit (default 25 MiB)
//   PORT, HOST        default 8787, 127.0.0.1
import http from "node:http";
import { fileURLToPath } from "node:url";
import { Router } from "llmux";

/** One model group per OpenAI endpoint, named like OpenAI's models. */
export function createRouter(env = process.env) {
  const params = (model) => ({
    model: `openai/${model}`,
    api_key: "os.environ/OPENAI_API_KEY",
    ...(env.OPENAI_BASE_URL ? { api_base: env.OPENAI_BASE_URL } : {}),
  });
  const group = (model, mode) => ({
    model_name: model,
    litellm_params: params(model),
    model_info: { mode },
  });
  return new Router({
    model_list: [
      group("gpt-4o-mini", "chat"),
      group("gpt-3.5-turbo-instruct", "completion"),
      group("text-embedding-3-small", "embedding"),
      group("dall-e-3", "image_generation"),
      group("whisper-1", "audio_transcription"),
      group("tts-1", "audio_speech"),
      group("omni-moderation-latest", "moderation"),
    ],
    num_retries: 2,
    env,
    gateway: {
      master_key: "os.environ/LLMUX_MASTER_KEY",
      cors: env.LLMUX_CORS ? env.LLMUX_CORS.split(",") : false,
      ...(env.LLMUX_MAX_BODY_BYTES ? { max_body_bytes: Number(env.LLMUX_MAX_BODY_BYTES) } : {}),
    },
  });
}

/** Writes a web `ReadableStream` to `res`, with backpressure; a client gone cancels it. */
async function sendBody(res, body) {
  const reader = body.getReader();
  res.once("close", () => {
    if (!res.writableFinished) reader.cancel().catch(() => {});
  });
  for (;;) {
    const { done, value } = await reader.read();
    if (done || res.destroyed) break;
    if (!res.write(value))
      await new Promise((resolve) => {
        res.once("drain", resolve);
        res.once("close", resolve);
      });
  }
  res.end();
}

/** A node:http listener that hands each request to `router.fetch` as a web `Request`. */
export function nodeListener(router) {
  return async (req, res) => {
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const headers = Object.entries(req.headersDistinct).flatMap(([k, vs]) => vs.map((v) => [k, v]));
    // A client that goes away before the answer is written aborts the router call (and its
    // upstream request): router.fetch passes the Request's signal on.
    const gone = new AbortController();
    res.once("close", () => {
      if (!res.writableFinished) gone.abort();
    });
    try {
      const response = await router.fetch(
        new Request(`http://${req.headers.host ?? "localhost"}${req.url}`, {
          method: req.method,
          headers,
          body: hasBody ? ReadableStream.from(req) : undefined,
          duplex: hasBody ? "half" : undefined,
          signal: gone.signal,
        }),
      );
      const out = Object.fromEntries(response.headers);
      // A body left unread (a refused upload) cannot be skipped: close instead of reusing.
      if (!req.complete) out.connection = "close";
      res.writeHead(response.status, out);
      if (response.body) await sendBody(res, response.body);
      else res.end();
    } catch {
      // The client went away mid-response, or writing failed: nothing left to answer.
      res.destroy();
    }
  };
}

/** Starts the gateway; resolves once listening. */
export async function start({ port = 8787, host = "127.0.0.1", env = process.env } = {}) {
  const server = http.createServer(nodeListener(createRouter(env)));
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const url = `http://${host}:${server.address().port}`;
  const close = () => {
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    return closed;
  };
  return { server, url, close };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.env.LLMUX_MASTER_KEY)
    console.warn("LLMUX_MASTER_KEY is not set: every request gets a 401");
  const { url } = await start({ port: Number(process.env.PORT ?? 8787), host: process.env.HOST });
  console.log(`llmux gateway on ${url}/v1`);
}
