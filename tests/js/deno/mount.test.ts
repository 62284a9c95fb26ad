// Tier 3b: router.fetch is bound at construction, so the detached method is a whole handler:
// `Deno.serve(options, router.fetch)` and Hono's `app.mount("/v1", router.fetch)` served by
// Deno.serve, each over real loopback HTTP and read by the official `openai` client; a client
// that leaves a non-streaming call aborts the upstream request. Run by run.mjs.
import { Hono } from "hono";
import OpenAI from "openai";
// @ts-types="../../../js/index.d.ts"
import { Router } from "../../../js/browser.js";

const MOCK_URL = Deno.env.get("MOCK_URL") ?? "";
if (!MOCK_URL.startsWith("http://127.0.0.1:")) {
  throw new Error("MOCK_URL is not set: run `node tests/js/deno/run.mjs`");
}
const KEY = "sk-deno-mount";
const messages = [{ role: "user" as const, content: "hi" }];

async function control(path: string, body?: object): Promise<any> {
  const res = await fetch(`${MOCK_URL}/__mock/${path}`, {
    method: body ? "POST" : "GET",
    body: body ? JSON.stringify(body) : undefined,
  });
  return await res.json();
}
function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}
function assertEquals(actual: unknown, expected: unknown, what: string) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}
async function waitFor(pred: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

const routerFor = (name: string) =>
  new Router({
    model_list: [
      {
        model_name: "chat",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_base: `${MOCK_URL}/${name}/v1`,
          api_key: "sk-deno-mount-upstream",
        },
        model_info: { id: name },
      },
    ],
    num_retries: 0,
    gateway: { master_key: KEY },
  });

/** Deno.serve on a free loopback port; the handler is passed as is. */
function serve(
  handler: (request: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>,
) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const { port } = server.addr as Deno.NetAddr;
  return { server, base: `http://127.0.0.1:${port}` };
}

Deno.test("Deno.serve(router.fetch): the detached method serves the openai client", async () => {
  await control("reset", {});
  const router = routerFor("deno-serve");
  const { server, base } = serve(router.fetch);
  try {
    const client = new OpenAI({ apiKey: KEY, baseURL: `${base}/v1`, maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: "chat", messages })
      .withResponse();
    assertEquals(data.choices[0].message.content, "Hello from deno-serve", "answer");
    assertEquals(response.headers.get("x-litellm-model-id"), "deno-serve", "deployment header");
    const stream = await client.chat.completions.create({ model: "chat", messages, stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    assertEquals(text, "Hello from deno-serve", "streamed answer");
    const models = await client.models.list();
    assertEquals(
      models.data.map((m) => m.id),
      ["chat"],
      "models",
    );
    const bad = new OpenAI({ apiKey: "sk-wrong", baseURL: `${base}/v1`, maxRetries: 0 });
    const e = await bad.chat.completions.create({ model: "chat", messages }).catch((x) => x);
    assert(e instanceof OpenAI.AuthenticationError, `401 for a wrong key: ${e}`);
    assertEquals((await control("calls?name=deno-serve")).calls.length, 2, "upstream calls");
  } finally {
    await server.shutdown();
  }
});

Deno.test(
  'Hono: app.mount("/v1", router.fetch) beside the app\'s own routes, under Deno.serve',
  async () => {
    await control("reset", {});
    const router = routerFor("deno-hono");
    const app = new Hono();
    app.get("/", (c) => c.text("the app's own page"));
    // Hono strips the mount path: the gateway serves /chat/completions as /v1/chat/completions.
    app.mount("/v1", router.fetch);
    const { server, base } = serve(app.fetch);
    try {
      assertEquals(await (await fetch(`${base}/`)).text(), "the app's own page", "own route");
      const client = new OpenAI({ apiKey: KEY, baseURL: `${base}/v1`, maxRetries: 0 });
      const res = await client.chat.completions.create({ model: "chat", messages });
      assertEquals(res.choices[0].message.content, "Hello from deno-hono", "answer");
      const stream = await client.chat.completions.create({
        model: "chat",
        messages,
        stream: true,
      });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
      assertEquals(text, "Hello from deno-hono", "streamed answer");
      const embedUnknown = await client.embeddings
        .create({ model: "nope", input: "x" })
        .catch((x) => x);
      assert(embedUnknown instanceof OpenAI.APIError, "an unknown group is an API error");
      assertEquals((await control("calls?name=deno-hono")).calls.length, 2, "upstream calls");
    } finally {
      await server.shutdown();
    }
  },
);

Deno.test(
  "Deno.serve(router.fetch): a client that leaves a non-streaming call aborts the upstream",
  async () => {
    await control("reset", {});
    await control("script", { name: "deno-leave", steps: [{ hang: true }] });
    const router = routerFor("deno-leave");
    const { server, base } = serve(router.fetch);
    try {
      const c = new AbortController();
      const pending = fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "chat", messages }),
        signal: c.signal,
      }).catch((e) => e);
      assert(
        await waitFor(async () => (await control("calls?name=deno-leave")).calls.length === 1),
        "the upstream was reached",
      );
      c.abort();
      await pending;
      assert(
        await waitFor(async () => (await control("stats")).aborted === 1),
        "the upstream request was aborted",
      );
      assertEquals((await control("calls?name=deno-leave")).calls.length, 1, "no retry");
    } finally {
      await server.shutdown();
    }
  },
);
