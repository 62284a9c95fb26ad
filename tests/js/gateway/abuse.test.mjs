// router.fetch against abusive callers (#16): the response cache scoped by gateway key, client
// disconnects cancelling the upstream call on every route, multipart injection, malformed
// paths, model groups not disclosed to key holders, readiness details only with a key.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { Router, T, deployment, startMockServer, waitFor } from "../node/fixture.mjs";

const MASTER = "sk-master-abuse-0123456789";
const K1 = "sk-team-one-abuse";
const K2 = "sk-team-two-abuse";
const messages = [{ role: "user", content: "hi" }];

let mock;
before(async () => {
  mock = await startMockServer();
});
after(() => mock.close());
beforeEach(() => mock.reset());

function call(router, path, { key, body, method, headers = {}, signal } = {}) {
  const h = { ...headers };
  if (key !== undefined) h.authorization = `Bearer ${key}`;
  if (body !== undefined) h["content-type"] ??= "application/json";
  const init = {
    method: method ?? (body === undefined ? "GET" : "POST"),
    headers: h,
    body: typeof body === "string" || body === undefined ? body : JSON.stringify(body),
    signal,
  };
  return router.fetch(new Request(`http://gateway.test${path}`, init));
}

async function errorOf(res, status) {
  assert.equal(res.status, status);
  const body = await res.json();
  return body.error;
}

const keys = { [K1]: { models: ["chat"] }, [K2]: { models: ["chat"] } };

describe("the response cache across gateway keys", () => {
  const cachedRouter = (gateway = {}) =>
    new Router({
      model_list: [deployment(mock, "chat", "a")],
      cache_responses: true,
      gateway: { master_key: MASTER, keys, ...gateway },
    });
  const ask = (router, key) =>
    call(router, "/v1/chat/completions", { key, body: { model: "chat", messages } });

  it("two keys never share an answer, and the hit header says nothing across keys", T, async () => {
    const router = cachedRouter();
    const first = await ask(router, K1);
    assert.equal(first.headers.get("x-llmux-cache-hit"), "false");
    assert.equal((await ask(router, K1)).headers.get("x-llmux-cache-hit"), "true");
    const other = await ask(router, K2);
    assert.equal(other.headers.get("x-llmux-cache-hit"), "false", "K2 does not see K1's entry");
    assert.equal(mock.callsTo("a").length, 2);
    assert.equal((await ask(router, MASTER)).headers.get("x-llmux-cache-hit"), "false");
    assert.equal(mock.callsTo("a").length, 3);
  });

  it("a caller namespace stays inside the key's scope", T, async () => {
    const router = cachedRouter();
    const body = { model: "chat", messages, cache: { namespace: "shared-name" } };
    await call(router, "/v1/chat/completions", { key: K1, body });
    const res = await call(router, "/v1/chat/completions", { key: K2, body });
    assert.equal(res.headers.get("x-llmux-cache-hit"), "false");
    assert.equal(mock.callsTo("a").length, 2);
  });

  it('cache_scope: "shared" lets every key share entries (the operator\'s choice)', T, async () => {
    const router = cachedRouter({ cache_scope: "shared" });
    await ask(router, K1);
    assert.equal((await ask(router, K2)).headers.get("x-llmux-cache-hit"), "true");
    assert.equal(mock.callsTo("a").length, 1);
  });

  it("an unknown cache_scope is a ConfigError naming it", () => {
    assert.throws(
      () => cachedRouter({ cache_scope: "tenant" }),
      (e) => e.field === "gateway.cache_scope",
    );
  });
});

describe("a client that goes away cancels the upstream call", () => {
  const router = () =>
    new Router({
      model_list: [
        deployment(mock, "chat", "a"),
        deployment(mock, "emb", "e", {}, { mode: "embedding" }),
        deployment(mock, "img", "i", {}, { mode: "image_generation" }),
        deployment(mock, "mod", "m", {}, { mode: "moderation" }),
        deployment(
          mock,
          "stt",
          "w",
          { model: "openai/whisper-1" },
          { mode: "audio_transcription" },
        ),
        deployment(mock, "tts", "t", { model: "openai/tts-1" }, { mode: "audio_speech" }),
        // Not the host loop's passthrough: the core's own fetch.
        deployment(mock, "retrying", "r", { max_retries: 1 }),
      ],
      gateway: { master_key: MASTER },
      num_retries: 0,
    });
  const form = () => {
    const f = new FormData();
    f.set("file", new File([new Uint8Array([82, 73, 70, 70])], "a.wav"));
    f.set("model", "stt");
    return f;
  };
  const routes = [
    ["chat (host loop)", "a", "/v1/chat/completions", { model: "chat", messages }],
    ["chat stream", "a", "/v1/chat/completions", { model: "chat", messages, stream: true }],
    ["chat (core fetch)", "r", "/v1/chat/completions", { model: "retrying", messages }],
    ["embeddings", "e", "/v1/embeddings", { model: "emb", input: "x" }],
    ["images", "i", "/v1/images/generations", { model: "img", prompt: "x" }],
    ["moderations", "m", "/v1/moderations", { model: "mod", input: "x" }],
    ["speech", "t", "/v1/audio/speech", { model: "tts", input: "x", voice: "alloy" }],
    ["transcriptions", "w", "/v1/audio/transcriptions", form],
  ];
  for (const [name, dep, path, body] of routes) {
    it(`${name}: the upstream request is aborted`, T, async () => {
      const r = router();
      mock.script(dep, { hang: true });
      const client = new AbortController();
      const pending =
        typeof body === "function"
          ? r.fetch(
              new Request(`http://gateway.test${path}`, {
                method: "POST",
                headers: { authorization: `Bearer ${MASTER}` },
                body: body(),
                signal: client.signal,
              }),
            )
          : call(r, path, { key: MASTER, body, signal: client.signal });
      assert.ok(await waitFor(() => mock.callsTo(dep).length === 1, 3000), "upstream reached");
      client.abort();
      await pending.catch(() => {});
      assert.ok(
        await waitFor(() => mock.stats.aborted === 1, 3000),
        `upstream aborted: ${JSON.stringify(mock.stats)}`,
      );
      assert.equal(mock.callsTo(dep).length, 1, "no retry after the caller left");
    });
  }

  it(
    "over HTTP (the Node example adapter): a client that disconnects aborts the upstream",
    T,
    async () => {
      const http = await import("node:http");
      const { nodeListener } = await import("../../../examples/node/server.mjs");
      const server = http.createServer(nodeListener(router()));
      await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        mock.script("a", { hang: true });
        const req = http.request({
          host: "127.0.0.1",
          port: server.address().port,
          method: "POST",
          path: "/v1/chat/completions",
          headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
        });
        req.on("error", () => {});
        req.end(JSON.stringify({ model: "chat", messages }));
        assert.ok(await waitFor(() => mock.callsTo("a").length === 1, 3000), "upstream reached");
        req.destroy();
        assert.ok(
          await waitFor(() => mock.stats.aborted === 1, 3000),
          `upstream aborted: ${JSON.stringify(mock.stats)}`,
        );
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  );

  it(
    "Router methods take { signal } directly; an aborted call rejects with its reason",
    T,
    async () => {
      const r = router();
      mock.script("a", { hang: true });
      const c = new AbortController();
      const p = r.completion({ model: "chat", messages }, { signal: c.signal });
      assert.ok(await waitFor(() => mock.callsTo("a").length === 1, 3000));
      c.abort(new Error("caller left"));
      await assert.rejects(p, /caller left/);
      assert.ok(await waitFor(() => mock.stats.aborted === 1, 3000));
      // A deployment is not blamed for the caller leaving: the next call goes to it.
      const ok = await r.completion({ model: "chat", messages });
      assert.equal(ok._hidden_params.model_id, "a");
    },
  );
});

describe("multipart uploads", () => {
  it(
    "a field value cannot inject another part; the boundary is random per request",
    T,
    async () => {
      const router = new Router({
        model_list: [
          deployment(
            mock,
            "stt",
            "w",
            { model: "openai/whisper-1" },
            { mode: "audio_transcription" },
          ),
        ],
        gateway: { master_key: MASTER },
      });
      const injected = (b) =>
        `hello\r\n--${b}\r\nContent-Disposition: form-data; name="model"\r\n\r\nevil-model\r\n`;
      const send = (prompt) => {
        const f = new FormData();
        f.set("file", new File([new Uint8Array([82, 73, 70, 70])], 'a".wav'));
        f.set("model", "stt");
        f.set("prompt", prompt);
        return router.fetch(
          new Request("http://gateway.test/v1/audio/transcriptions", {
            method: "POST",
            headers: { authorization: `Bearer ${MASTER}` },
            body: f,
          }),
        );
      };
      mock.script("w", { body: { text: "one" } }, { body: { text: "two" } });
      // Guess the boundary the old scheme would use and try every shape of it.
      for (const guess of ["llmux-0000000000000000", "llmux-"]) {
        assert.equal((await send(injected(guess))).status, 200);
      }
      const seen = [];
      for (const c of mock.callsTo("w")) {
        const type = c.headers["content-type"];
        seen.push(type);
        assert.match(type, /^multipart\/form-data; boundary=llmux-[0-9a-f]{32}$/);
        const parsed = await new Response(String(c.body), {
          headers: { "content-type": type },
        }).formData();
        assert.deepEqual(parsed.getAll("model"), ["whisper-1"], "exactly one model part");
        assert.ok(String(parsed.get("prompt")).includes("evil-model"), "the prompt arrived whole");
      }
      assert.notEqual(seen[0], seen[1], "a new boundary per request");
    },
  );
});

describe("gateway small items", () => {
  const router = (gateway = { master_key: MASTER, keys }, options = {}) =>
    new Router({
      model_list: [deployment(mock, "chat", "a"), deployment(mock, "secret-group", "b")],
      gateway,
      ...options,
    });

  it("a malformed % escape in a path is a 400, not a 500", T, async () => {
    const e = await errorOf(await call(router(), "/v1/models/%E0%A4%A", { key: MASTER }), 400);
    assert.equal(e.code, "invalid_path");
    assert.equal((await call(router(), "/v1/models/%ZZ", { key: MASTER })).status, 400);
  });

  it("a missing model group does not list the other groups", T, async () => {
    const r = router(
      { master_key: MASTER, keys: { [K1]: { models: ["ghost-alias"] } } },
      { model_group_alias: { "ghost-alias": "ghost" } },
    );
    const res = await call(r, "/v1/chat/completions", {
      key: K1,
      body: { model: "ghost-alias", messages },
    });
    assert.equal(res.status, 400);
    const e = (await res.json()).error;
    assert.match(e.message, /ghost/);
    assert.ok(!e.message.includes("secret-group"), e.message);
    assert.ok(!e.message.includes("available"), e.message);
    assert.equal(mock.calls.length, 0);
  });

  it("/health/readiness shows counts only with a key", T, async () => {
    const r = router();
    const open = await call(r, "/health/readiness");
    assert.equal(open.status, 200);
    assert.deepEqual(await open.json(), { status: "ready" });
    const wrong = await call(r, "/health/readiness", { key: "sk-wrong" });
    assert.deepEqual(await wrong.json(), { status: "ready" });
    const keyed = await call(r, "/health/readiness", { key: K1 });
    assert.deepEqual(await keyed.json(), { status: "ready", deployments: 2, available: 2 });
  });
});
