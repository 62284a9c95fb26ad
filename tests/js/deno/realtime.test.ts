// Tier 3b: realtime in Deno (README, "Realtime"): `router.realtime()` opens the upstream with
// Deno's `new WebSocket(url, { headers })`; the provider is a local Deno.serve WebSocket echo
// server that checks the URL and auth and speaks a bit of OpenAI realtime. Also the gateway's
// `GET /v1/realtime` upgrade (Deno.upgradeWebSocket) relaying both ways, with its auth.
// @ts-types="../../../js/index.d.ts"
import { Router, errors } from "../../../js/browser.js";

const KEY = "sk-deno-realtime-secret-42";
const GW_KEY = "sk-deno-realtime-gateway";

function assertEquals(actual: unknown, expected: unknown, what: string) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}
function assert(ok: unknown, what: string) {
  if (!ok) throw new Error(what);
}

type Log = { upgrades: string[]; closes: Array<{ code: number; reason: string }>; open: number };

/** A realtime provider: OpenAI's URL and headers, session.created, echoes, test.close. */
function provider(name: string, refuse?: number) {
  const log: Log = { upgrades: [], closes: [], open: 0 };
  const ac = new AbortController();
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen() {} },
    (req) => {
      const url = new URL(req.url);
      log.upgrades.push(url.pathname + url.search);
      if (refuse) return Response.json({ error: { message: "busy" } }, { status: refuse });
      if (req.headers.get("authorization") !== `Bearer ${KEY}`)
        return Response.json({ error: { message: "Incorrect API key" } }, { status: 401 });
      if (req.headers.get("openai-beta") !== "realtime=v1")
        return Response.json({ error: { message: "no beta header" } }, { status: 400 });
      const model = url.searchParams.get("model");
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onopen = () => {
        log.open++;
        socket.send(
          JSON.stringify({ type: "session.created", session: { model, provider: name } }),
        );
      };
      socket.onmessage = (e) => {
        if (typeof e.data !== "string") return socket.send(e.data);
        const event = JSON.parse(e.data);
        if (event.type === "test.close") return socket.close(event.code, event.reason);
        socket.send(JSON.stringify({ type: "echo", event, provider: name }));
      };
      socket.onclose = (e) => {
        log.open--;
        log.closes.push({ code: e.code, reason: e.reason });
      };
      return response;
    },
  );
  return {
    log,
    base: `http://127.0.0.1:${server.addr.port}/v1`,
    async close() {
      ac.abort();
      await server.finished;
    },
  };
}

const entry = (p: { base: string }, id: string, extra: Record<string, unknown> = {}) => ({
  model_name: "voice",
  litellm_params: { model: `openai/rt-${id}`, api_base: p.base, api_key: KEY, ...extra },
  model_info: { id },
});

// deno-lint-ignore no-explicit-any
type Socket = any;

function next(socket: Socket): Promise<any> {
  return new Promise((resolve, reject) => {
    socket.addEventListener(
      "message",
      (e: MessageEvent) =>
        resolve(typeof e.data === "string" ? JSON.parse(e.data) : new Uint8Array(e.data)),
      { once: true },
    );
    socket.addEventListener("close", () => reject(new Error("closed")), { once: true });
  });
}
const closed = (socket: Socket) =>
  new Promise<CloseEvent>((resolve) => socket.addEventListener("close", resolve, { once: true }));
const opened = (socket: WebSocket) =>
  new Promise<void>((resolve, reject) => {
    socket.addEventListener("open", () => resolve(), { once: true });
    socket.addEventListener("error", () => reject(new Error("upgrade refused")), { once: true });
  });

Deno.test(
  "realtime() in Deno: the deployment's socket, a refused upgrade cools down and the next answers",
  async () => {
    const busy = provider("busy", 503);
    const good = provider("good");
    try {
      const router = new Router({
        model_list: [entry(busy, "busy", { order: 1 }), entry(good, "good", { order: 2 })],
        allowed_fails: 0,
        num_retries: 2,
      });
      const socket = await router.realtime("voice");
      assertEquals(socket._hidden_params.model_id, "good", "answering deployment");
      assertEquals(busy.log.upgrades.length, 1, "the busy deployment was tried once");
      assertEquals(good.log.upgrades, ["/v1/realtime?model=rt-good"], "upstream URL");
      const created = await next(socket);
      assertEquals(created.type, "session.created", "first event");
      socket.send(JSON.stringify({ type: "input_audio_buffer.commit" }));
      assertEquals((await next(socket)).event, { type: "input_audio_buffer.commit" }, "echo");
      const status = router.getDeploymentStatus().find((d: { id: string }) => d.id === "busy");
      assertEquals(status?.status, "cooling_down", "busy deployment status");
      const ended = closed(socket);
      socket.send(JSON.stringify({ type: "test.close", code: 4002, reason: "provider done" }));
      const e = await ended;
      assertEquals([e.code, e.reason], [4002, "provider done"], "close from the provider");
      router.close();
    } finally {
      await busy.close();
      await good.close();
    }
  },
);

Deno.test("realtime() in Deno: a wrong key is an AuthenticationError without the key", async () => {
  const good = provider("good");
  try {
    const router = new Router({
      model_list: [entry(good, "good", { api_key: "sk-deno-wrong-key-777" })],
    });
    let caught: unknown;
    try {
      await router.realtime("voice");
    } catch (e) {
      caught = e;
    }
    assert(caught instanceof errors.AuthenticationError, `AuthenticationError, got ${caught}`);
    assert(
      !String((caught as Error).message).includes("sk-deno-wrong-key-777"),
      "no key in message",
    );
    router.close();
  } finally {
    await good.close();
  }
});

Deno.test(
  "the gateway upgrades GET /v1/realtime in Deno, after its auth, and relays both ways",
  async () => {
    const good = provider("good");
    const ac = new AbortController();
    const router = new Router({
      model_list: [entry(good, "good"), { ...entry(good, "other"), model_name: "private" }],
      gateway: { keys: { [GW_KEY]: { models: ["voice"] } } },
    });
    const gw = Deno.serve(
      { port: 0, hostname: "127.0.0.1", signal: ac.signal, onListen() {} },
      (request) => router.fetch(request),
    );
    const base = `ws://127.0.0.1:${gw.addr.port}/v1/realtime`;
    try {
      const client = new WebSocket(`${base}?model=voice`, {
        headers: { authorization: `Bearer ${GW_KEY}` },
      } as unknown as string[]);
      client.binaryType = "arraybuffer";
      const first = next(client);
      await opened(client);
      assertEquals((await first).type, "session.created", "relayed session.created");
      client.send(JSON.stringify({ type: "response.create" }));
      const echo = await next(client);
      assertEquals([echo.type, echo.provider], ["echo", "good"], "relayed echo");
      client.send(new Uint8Array([7, 8, 9]));
      assertEquals([...(await next(client))], [7, 8, 9], "binary relayed as binary");
      assertEquals(good.log.open, 1, "one upstream socket");
      const ended = closed(client);
      client.close(4003, "client done");
      await ended;
      for (let i = 0; i < 100 && good.log.closes.length === 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      assertEquals(
        good.log.closes.at(-1),
        { code: 4003, reason: "client done" },
        "upstream saw the client's close",
      );
      // Without the key, or for a model the key may not use: refused before any upgrade.
      const upgrades = good.log.upgrades.length;
      const plain = await fetch(`http://127.0.0.1:${gw.addr.port}/v1/realtime?model=voice`, {
        headers: { upgrade: "websocket" },
      });
      assertEquals(plain.status, 401, "no key");
      await plain.body?.cancel();
      const denied = await fetch(`http://127.0.0.1:${gw.addr.port}/v1/realtime?model=private`, {
        headers: { upgrade: "websocket", authorization: `Bearer ${GW_KEY}` },
      });
      assertEquals(denied.status, 403, "model not allowed");
      await denied.body?.cancel();
      assertEquals(good.log.upgrades.length, upgrades, "no upstream upgrade for refused clients");
    } finally {
      router.close();
      ac.abort();
      await gw.finished;
      await good.close();
    }
  },
);
