// Realtime in Node (README, "Realtime"): a ws server on :8788 whose clients are each paired
// with a realtime session that the Router opened on one of its deployments. Node's own servers
// cannot upgrade router.fetch's Request, so the pairing is done here with the `ws` package.
//
//   npm install llmux ws
//   OPENAI_API_KEY=sk-… CLIENT_KEY=sk-local node realtime.mjs
//   # then connect: new WebSocket("ws://127.0.0.1:8788/?model=voice", { headers: { authorization: "Bearer sk-local" } })
import { Router } from "llmux";
import WebSocket, { WebSocketServer } from "ws";

const router = new Router({
  model_list: [
    {
      model_name: "voice",
      litellm_params: {
        model: "openai/gpt-4o-realtime-preview",
        api_key: "os.environ/OPENAI_API_KEY",
      },
      model_info: { mode: "realtime" },
    },
  ],
  routing_strategy: "least-busy", // open sockets count as in flight
  WebSocket, // Node has no WebSocket that can send headers
});

const wss = new WebSocketServer({ port: 8788, maxPayload: 4 * 1024 * 1024 });
wss.on("connection", async (client, request) => {
  if (request.headers.authorization !== `Bearer ${process.env.CLIENT_KEY}`) {
    client.close(4001, "unauthorized");
    return;
  }
  const model = new URL(request.url, "http://x").searchParams.get("model") ?? "voice";
  let upstream;
  try {
    upstream = await router.realtime(model);
  } catch (e) {
    client.close(1011, e.message.slice(0, 120)); // never carries the api key
    return;
  }
  console.log(`client paired with deployment ${upstream._hidden_params.model_id}`);
  client.on("message", (data, isBinary) => upstream.send(isBinary ? data : String(data)));
  upstream.addEventListener("message", (e) => client.send(e.data));
  client.on("close", (code, reason) => upstream.close(code === 1005 ? 1000 : code, String(reason)));
  upstream.addEventListener("close", (e) =>
    client.close(e.code === 1005 ? 1000 : e.code, e.reason),
  );
});
console.log("realtime relay on ws://127.0.0.1:8788/?model=voice");
