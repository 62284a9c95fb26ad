// A local realtime provider for the tests: OpenAI's (`/v1/realtime?model=…`, `Authorization:
// Bearer`, `OpenAI-Beta: realtime=v1`) or Azure's (`/openai/realtime?api-version=…&deployment=…`,
// `api-key`) WebSocket upgrade over real loopback HTTP (a browser's key may come as OpenAI's
// `openai-insecure-api-key.<key>` subprotocol). It checks the URL and the auth, answers
// `session.created` on connect, echoes every event (text as `{ type: "echo", event }`, binary
// as the same bytes) and closes with the code a `{ type: "test.close", code, reason }` asks for.
// `refuse: status` answers the upgrade with that HTTP status; `hang: true` never answers it.
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

/**
 * @param {{ key: string, model?: string, azure?: boolean, refuse?: number, hang?: boolean,
 *   retryAfter?: number, name?: string }} options
 */
export async function startRealtimeProvider(options) {
  const log = { upgrades: [], open: 0, opened: 0, closes: [], messages: [] };
  // Browsers send the key as OpenAI's subprotocols; the server answers with "realtime".
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has("realtime") ? "realtime" : false),
  });
  const held = new Set();
  const server = createServer((req, res) => {
    res.writeHead(426, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: "upgrade required" } }));
  });
  const refuse = (socket, status, message, extra = "") => {
    const body = JSON.stringify({ error: { message, type: "invalid_request_error" } });
    socket.end(
      `HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\n${extra}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  };
  server.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url, "http://x");
    const entry = { url: req.url, headers: { ...req.headers } };
    log.upgrades.push(entry);
    if (options.hang) {
      held.add(socket);
      return;
    }
    if (options.refuse) {
      const extra = options.retryAfter ? `retry-after: ${options.retryAfter}\r\n` : "";
      return refuse(socket, options.refuse, `refused with ${options.refuse}`, extra);
    }
    if (options.azure) {
      if (url.pathname !== "/openai/realtime" || !url.searchParams.get("api-version"))
        return refuse(socket, 404, `no route ${url.pathname}`);
      if (req.headers["api-key"] !== options.key) return refuse(socket, 401, "bad api-key");
      entry.model = url.searchParams.get("deployment");
    } else {
      if (url.pathname !== "/v1/realtime") return refuse(socket, 404, `no route ${url.pathname}`);
      const protocols = (req.headers["sec-websocket-protocol"] ?? "")
        .split(",")
        .map((p) => p.trim());
      entry.subprotocolAuth = protocols.includes(`openai-insecure-api-key.${options.key}`);
      if (req.headers.authorization !== `Bearer ${options.key}` && !entry.subprotocolAuth)
        return refuse(socket, 401, "Incorrect API key provided");
      if (
        req.headers["openai-beta"] !== "realtime=v1" &&
        !protocols.includes("openai-beta.realtime-v1")
      )
        return refuse(socket, 400, "missing OpenAI-Beta: realtime=v1");
      entry.model = url.searchParams.get("model");
    }
    if (options.model && entry.model !== options.model)
      return refuse(socket, 404, `model ${entry.model} does not exist`);
    wss.handleUpgrade(req, socket, head, (ws) => {
      log.open++;
      log.opened++;
      ws.send(
        JSON.stringify({
          type: "session.created",
          event_id: `event_${log.opened}`,
          session: { model: entry.model, provider: options.name ?? "mock" },
        }),
      );
      ws.on("message", (data, isBinary) => {
        log.messages.push(isBinary ? { binary: data.length } : String(data));
        if (isBinary) return ws.send(data, { binary: true });
        let event;
        try {
          event = JSON.parse(String(data));
        } catch {
          return ws.send(JSON.stringify({ type: "error", error: { message: "not JSON" } }));
        }
        if (event.type === "test.close") return ws.close(event.code ?? 1000, event.reason ?? "");
        if (event.type === "test.flood") {
          const chunk = "x".repeat(64 * 1024);
          for (let i = 0; i < (event.count ?? 128); i++) ws.send(chunk);
          return;
        }
        ws.send(JSON.stringify({ type: "echo", event, provider: options.name ?? "mock" }));
      });
      ws.on("close", (code, reason) => {
        log.open--;
        log.closes.push({ code, reason: String(reason) });
      });
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    log,
    port,
    base: options.azure ? `http://127.0.0.1:${port}` : `http://127.0.0.1:${port}/v1`,
    async close() {
      for (const s of held) s.destroy();
      for (const ws of wss.clients) ws.terminate();
      await new Promise((resolve) => server.close(resolve));
      server.closeAllConnections?.();
    },
  };
}
