// Helpers for the shared-state tests: a real redis-server on a free loopback port, and router
// instances in child processes (Node or Deno) driven line by line (./instance.mjs).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = path.join(here, "..", "..", "..");
export const denoBin = path.join(root, "node_modules", ".bin", "deno");

/** A port free on 127.0.0.1 right now. */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = /** @type {net.AddressInfo} */ (server.address());
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Sends one RESP command to 127.0.0.1:port and resolves to the raw reply text. */
export function redisRaw(port, ...args) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port });
    let out = "";
    s.on("data", (d) => {
      out += d;
      if (out.endsWith("\r\n")) {
        s.end();
        resolve(out);
      }
    });
    s.on("error", reject);
    s.write(
      `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join("")}`,
    );
  });
}

/**
 * Starts `/usr/bin/redis-server` on a free loopback port without persistence; resolves once
 * it answers PING. `stop()` kills it (SIGKILL: "redis died").
 */
export async function startRedis({ password } = {}) {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  if (password) args.push("--requirepass", password);
  const child = spawn("redis-server", args, { stdio: "ignore" });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  for (let i = 0; i < 100; i++) {
    try {
      const reply = await redisRaw(port, "PING");
      if (reply.startsWith("+PONG") || reply.startsWith("-NOAUTH")) break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (i === 99) throw new Error("redis-server did not start");
  }
  return {
    port,
    url: password ? `redis://:${password}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/**
 * A router in a child process. `runtime`: "node" or "deno". `send(cmd, args)` resolves to
 * the instance's answer.
 */
export async function startInstance(config, { runtime = "node" } = {}) {
  const script = path.join(here, "instance.mjs");
  const child =
    runtime === "deno"
      ? spawn(
          denoBin,
          ["run", "--no-lock", "--unstable-kv", "-A", script, JSON.stringify(config)],
          { cwd: root, stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, NO_COLOR: "1" } },
        )
      : spawn(process.execPath, [script, JSON.stringify(config)], {
          cwd: root,
          stdio: ["pipe", "pipe", "inherit"],
        });
  const lines = createInterface({ input: child.stdout });
  const waiting = new Map();
  let ready;
  const readyP = new Promise((r) => (ready = r));
  lines.on("line", (line) => {
    const msg = JSON.parse(line);
    if (msg.ready) return ready();
    waiting.get(msg.seq)?.(msg);
    waiting.delete(msg.seq);
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await Promise.race([
    readyP,
    exited.then((code) => {
      throw new Error(`instance exited early (${code})`);
    }),
  ]);
  let seq = 0;
  return {
    send(cmd, args = {}) {
      const id = ++seq;
      const answer = new Promise((resolve) => waiting.set(id, resolve));
      child.stdin.write(`${JSON.stringify({ cmd, seq: id, ...args })}\n`);
      return answer;
    },
    async stop() {
      if (child.exitCode === null) {
        child.stdin.write(`${JSON.stringify({ cmd: "exit", seq: 0 })}\n`);
        const t = setTimeout(() => child.kill("SIGKILL"), 3_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

export const hasDeno = () => existsSync(denoBin);
