// Node host for bench/gateway.mjs, in its own process: one node:http server where `/proxy/...`
// is a minimal proxy (read the body, fetch the mock, send its reply) and every other path is
// `router.fetch` through the Node example's adapter (examples/node/server.mjs). Prints
// `HOST_URL=<url>` once listening.
import http from "node:http";
import { nodeListener } from "../examples/node/server.mjs";
import { Router } from "../js/node.js";
import { API_KEY, GATEWAY_KEY, deploymentName, routerOptions } from "./harness.mjs";

const mockUrl = process.argv[2];
if (!mockUrl) throw new Error("usage: node bench/gateway-node-host.mjs MOCK_URL");
const router = new Router({ ...routerOptions(mockUrl, 1), gateway: { master_key: GATEWAY_KEY } });
const gateway = nodeListener(router);
const upstreamUrl = `${mockUrl}/${deploymentName(0)}/v1/chat/completions`;

async function proxy(req, res) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const upstream = await fetch(upstreamUrl, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${API_KEY}` },
    body: Buffer.concat(chunks),
  });
  const body = Buffer.from(await upstream.arrayBuffer());
  res.writeHead(upstream.status, { "content-type": "application/json" });
  res.end(body);
}

const server = http.createServer((req, res) => {
  if (req.url?.startsWith("/proxy/")) {
    proxy(req, res).catch(() => res.destroy());
  } else {
    gateway(req, res);
  }
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`HOST_URL=http://127.0.0.1:${server.address().port}\n`);
});
process.once("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
