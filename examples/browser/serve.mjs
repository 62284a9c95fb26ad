// Serves this folder (the example page) on http://127.0.0.1:8000: `node examples/browser/serve.mjs`.
import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

const dir = path.dirname(fileURLToPath(import.meta.url));
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8" };

/** Starts the static server; resolves once listening. */
export async function start({ port = 8000, host = "127.0.0.1" } = {}) {
  const server = http.createServer(async (req, res) => {
    const name =
      new URL(req.url ?? "/", "http://x").pathname === "/app.js" ? "app.js" : "index.html";
    const body = await readFile(path.join(dir, name));
    res.writeHead(200, { "content-type": TYPES[path.extname(name)], "cache-control": "no-store" });
    res.end(body);
  });
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
  return { url, close };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { url } = await start({ port: Number(process.env.PORT ?? 8000) });
  console.log(`browser example on ${url}/?gateway=http://127.0.0.1:8787`);
}
