#!/usr/bin/env node
// Tier 3b: runs the Deno end-to-end tests (tests/js/deno/*.test.ts) against the loopback mock.
// Starts the mock in-process, runs `deno test` with MOCK_URL set, streams Deno's own output
// unchanged, exits with Deno's exit code and always closes the mock.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startMockServer } from "../../mock/server.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const denoBin = path.join(root, "node_modules", ".bin", "deno");
const testDir = fileURLToPath(new URL(".", import.meta.url));

if (!existsSync(denoBin)) {
  console.error(`deno not found at ${denoBin}: run npm install (devDependency "deno")`);
  process.exit(1);
}

const mock = await startMockServer({ port: 0 });
/** @type {import("node:child_process").ChildProcess | undefined} */
let child;
const stop = (signal) => {
  if (child && child.exitCode === null) child.kill(signal);
};
process.once("SIGINT", () => stop("SIGINT"));
process.once("SIGTERM", () => stop("SIGTERM"));

let code = 1;
try {
  child = spawn(
    denoBin,
    // --allow-sys=hostname: the `ai` package (ai-sdk.test.ts) reads it at import (@vercel/oidc).
    [
      "test",
      "--no-lock",
      "--allow-net",
      "--allow-read",
      "--allow-env",
      "--allow-sys=hostname",
      testDir,
    ],
    {
      cwd: root,
      stdio: "inherit",
      env: { ...process.env, MOCK_URL: mock.url, NO_COLOR: process.env.NO_COLOR ?? "1" },
    },
  );
  code = await new Promise((resolve) => {
    child?.once("error", (err) => {
      console.error(`failed to start deno: ${err.message}`);
      resolve(1);
    });
    child?.once("exit", (status, signal) => resolve(status ?? (signal ? 1 : 0)));
  });
} finally {
  await mock.close();
}
process.exit(code);
