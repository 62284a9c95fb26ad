// Tier 4: packaging smoke. Copy the repo's tracked files into a clean checkout (no dist/, no
// target/), `npm pack` it there (the `prepack` script builds dist/), check the tarball's file
// list, install it into a scratch project, then import "llmux" by name from Node and Deno (each
// resolving its own export condition), use the subpaths (`llmux/wasm`, `llmux/model-prices`,
// `llmux/package.json`), resolve the `edge-light` condition, and type-check a TypeScript file
// against the shipped declarations.
//
// The checkout lives at target/pack-clone/src and builds into the repository's own target/ (the
// CARGO_TARGET_DIR the rest of `npm test` used), so the dependencies are never compiled twice:
// only the llmux crate recompiles for the checkout's path, then wasm-bindgen and wasm-opt run.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startMockServer } from "../../mock/server.mjs";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const bin = (name) => path.join(root, "node_modules", ".bin", name);

/** @type {Awaited<ReturnType<typeof startMockServer>>} */
let mock;
let tmp = "";
let tarball = "";
let project = "";
/** @type {string[]} */
let files = [];

/** Runs a command with a 30 s cap (unless told); the error names the command and its output. */
async function sh(file, args, options = {}) {
  try {
    return await run(file, args, { timeout: 30_000, maxBuffer: 16 << 20, ...options });
  } catch (e) {
    const err = /** @type {any} */ (e);
    err.message = `${file} ${args.join(" ")} failed (${err.code}):\n${err.stdout}\n${err.stderr}`;
    throw err;
  }
}

// What the scratch project's smoke script prints, under Node and under Deno alike.
const SMOKE = `import { Router, errors, version } from "llmux";

const api_base = \`\${process.env.MOCK_URL ?? Deno.env.get("MOCK_URL")}/\${globalThis.Deno ? "pack-deno" : "pack-node"}/v1\`;
const router = new Router({
  model_list: [
    { model_name: "chat", litellm_params: { model: "openai/gpt-4o-mini", api_base, api_key: "sk-pack" }, model_info: { id: "pack-1" } },
  ],
  num_retries: 0,
});
const res = await router.completion({ model: "chat", messages: [{ role: "user", content: "hi" }] });
let field = null;
try {
  new Router({ model_list: [{ model_name: "x", litellm_params: { model: "" } }] });
} catch (e) {
  field = e instanceof errors.ConfigError ? e.field : \`not a ConfigError: \${e}\`;
}
console.log(JSON.stringify({
  entry: import.meta.resolve("llmux"),
  version: version(),
  content: res.choices[0].message.content,
  hidden: res._hidden_params,
  field,
}));
`;

// Type-checked with the repo's tsc; each @ts-expect-error must be a real error, which proves
// the declarations resolved (with `any` types every directive would be unused, an error too).
const CHECK_TS = `import { Router, errors, version, workersKvCache, type CacheStore, type ChatCompletion, type RouterOptions } from "llmux";

const options: RouterOptions = {
  model_list: [{ model_name: "chat", litellm_params: { model: "openai/gpt-4o-mini", api_key: "sk-x" } }],
  num_retries: 1,
};
const router = new Router(options);

export async function ask(prompt: string): Promise<string | null> {
  const res: ChatCompletion = await router.completion({ model: "chat", messages: [{ role: "user", content: prompt }] });
  const modelId: string = res._hidden_params.model_id;
  // @ts-expect-error model_id is a string
  const wrong: number = res._hidden_params.model_id;
  void wrong;
  return res.choices[0].message.content ?? modelId;
}

export function fieldOf(e: unknown): string | null {
  if (e instanceof errors.ConfigError) return e.field;
  if (e instanceof errors.RateLimitError) return String(e.retry_after_ms);
  return null;
}

export const v: string = version();

// @ts-expect-error litellm_params is required
export const broken = new Router({ model_list: [{ model_name: "chat" }] });

// @ts-expect-error completion takes one request object with model and messages
void router.completion("hi");

const store: CacheStore = workersKvCache({ get: async () => null, put: async () => {}, delete: async () => {} });
export const cached = new Router({ ...options, cache_responses: true, cache: store, cache_kwargs: { ttl: 60 } });
// @ts-expect-error a cache store needs get and set
export const badStore: CacheStore = { get: () => null };
void router.completion({ model: "chat", messages: [], cache: { "no-cache": true, ttl: 5 }, caching: true });
`;

/** The repo's tracked (and untracked, not ignored) files copied to target/pack-clone/src. */
async function cleanCheckout() {
  const clone = path.join(root, "target", "pack-clone", "src");
  await rm(clone, { recursive: true, force: true });
  const { stdout } = await sh(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    {
      cwd: root,
    },
  );
  for (const file of stdout.split("\0").filter(Boolean)) {
    if (!existsSync(path.join(root, file))) continue; // deleted, not yet committed
    await mkdir(path.dirname(path.join(clone, file)), { recursive: true });
    // Timestamps kept: cargo's fingerprints (mtimes) then hold between runs.
    await cp(path.join(root, file), path.join(clone, file), { preserveTimestamps: true });
  }
  // The build's tools (wasm-opt) come from the repo's npm install; nothing else is shared.
  await symlink(path.join(root, "node_modules"), path.join(clone, "node_modules"));
  return clone;
}

/** The clean checkout (for the tests that inspect it). */
let clone = "";
let distBeforePack = true;

before(async () => {
  mock = await startMockServer({ port: 0 });
  tmp = await mkdtemp(path.join(tmpdir(), "llmux-pack-"));
  clone = await cleanCheckout();
  distBeforePack = existsSync(path.join(clone, "dist"));
  const packed = await sh("npm", ["pack", "--json", "--pack-destination", tmp], {
    cwd: clone,
    timeout: 900_000,
    env: { ...process.env, CARGO_TARGET_DIR: path.join(root, "target") },
  });
  // prepack's build output goes to stdout before npm's JSON.
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("[")));
  tarball = path.join(tmp, info.filename);
  files = (await sh("tar", ["-tzf", tarball])).stdout.split("\n").filter(Boolean);

  project = path.join(tmp, "project");
  await mkdir(project);
  await sh("npm", ["init", "-y"], { cwd: project });
  const pkgPath = path.join(project, "package.json");
  const pkg = JSON.parse(await readFile(pkgPath, "utf8"));
  await writeFile(pkgPath, JSON.stringify({ ...pkg, type: "module" }, null, 2));
  await sh("npm", ["install", tarball, "--no-audit", "--no-fund", "--offline"], { cwd: project });
  await writeFile(path.join(project, "smoke.mjs"), SMOKE);
  await writeFile(path.join(project, "check.ts"), CHECK_TS);
  const tsconfig = {
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: [],
    },
    files: ["check.ts"],
  };
  await writeFile(path.join(project, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
});

after(async () => {
  await mock?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test("the clean checkout had no dist/: prepack built it", () => {
  assert.equal(distBeforePack, false);
  assert.ok(existsSync(path.join(clone, "dist", "wasm", "llmux_bg.wasm")));
});

test("the tarball ships js/, the wasm build, README.md, LICENSE and package.json", () => {
  const names = files.map((f) => f.replace(/^package\//, ""));
  for (const required of [
    "package.json",
    "README.md",
    "LICENSE",
    "dist/wasm/llmux.js",
    "dist/wasm/llmux_bg.wasm",
    "js/node.js",
    "js/browser.js",
    "js/workerd.js",
    "js/edge-light.js",
    "js/wasm.js",
    "js/model-prices.js",
    "dist/wasm/model-prices-data.js",
    "js/router.js",
    "js/errors.js",
    "js/index.d.ts",
    "js/ai-sdk.js",
    "js/ai-sdk.d.ts",
  ]) {
    assert.ok(
      names.includes(required),
      `${required} missing from the tarball: ${names.join(", ")}`,
    );
  }
  assert.ok(
    files.every((f) => f.startsWith("package/")),
    "every entry is under package/",
  );
});

test("the tarball leaves out sources, tests and build output", () => {
  const names = files.map((f) => f.replace(/^package\//, ""));
  const leaked = names.filter(
    (f) =>
      /^(src|tests|target|node_modules|scripts|bench|examples|\.ci|\.git)\//.test(f) ||
      /^Cargo\.(toml|lock)$/.test(f),
  );
  assert.deepEqual(leaked, []);
  const dist = names.filter((f) => f.startsWith("dist/"));
  assert.deepEqual(dist.sort(), [
    "dist/wasm/llmux.js",
    "dist/wasm/llmux_bg.wasm",
    "dist/wasm/model-prices-data.js",
  ]);
});

test("Node imports the installed package by name and completes against the mock", async () => {
  const { stdout } = await sh(process.execPath, ["smoke.mjs"], {
    cwd: project,
    env: { ...process.env, MOCK_URL: mock.url },
  });
  const out = JSON.parse(stdout);
  assert.equal(out.entry, `file://${path.join(project, "node_modules/llmux/js/node.js")}`);
  assert.match(out.version, /^\d+\.\d+\.\d+/);
  assert.equal(out.content, "Hello from pack-node");
  assert.equal(out.hidden.model_id, "pack-1");
  assert.equal(out.hidden.model_group, "chat");
  assert.equal(out.hidden.api_base, mock.base("pack-node"));
  assert.equal(out.field, "model_list[0].litellm_params.model");
  assert.equal(mock.callsTo("pack-node").length, 1);
});

/** What smoke.mjs printed under Deno (set by the first Deno test). */
let denoOut;

test("Deno imports the installed package by name and completes against the mock", async () => {
  // A package.json next to node_modules: Deno 2 resolves "llmux" through
  // node_modules/llmux/package.json's exports ("manual" node_modules mode, also its default here).
  const { stdout } = await sh(
    bin("deno"),
    [
      "run",
      "--no-lock",
      "--node-modules-dir=manual",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-env",
      "smoke.mjs",
    ],
    { cwd: project, env: { ...process.env, MOCK_URL: mock.url, NO_COLOR: "1" } },
  );
  denoOut = JSON.parse(stdout);
  const out = denoOut;
  assert.ok(
    out.entry.startsWith(`file://${path.join(project, "node_modules/llmux/js/")}`),
    `resolved to the installed package: ${out.entry}`,
  );
  assert.match(out.version, /^\d+\.\d+\.\d+/);
  assert.equal(out.content, "Hello from pack-deno");
  assert.equal(out.hidden.model_id, "pack-1");
  assert.equal(out.hidden.api_base, mock.base("pack-deno"));
  assert.equal(out.field, "model_list[0].litellm_params.model");
  assert.equal(mock.callsTo("pack-deno").length, 1);
});

test('Deno resolves "llmux" through the "deno" export condition to js/browser.js', () => {
  assert.ok(denoOut, "the Deno smoke run produced output");
  assert.equal(denoOut.entry, `file://${path.join(project, "node_modules/llmux/js/browser.js")}`);
});

test("tsc type-checks a TypeScript file importing llmux against the shipped declarations", async () => {
  const { stdout, stderr } = await sh(bin("tsc"), ["-p", "tsconfig.json"], { cwd: project });
  assert.equal(stdout.trim(), "", "tsc reports no errors");
  assert.equal(stderr.trim(), "");
});

// The subpaths: bring-your-own-init, the full price map, package.json; and the edge-light entry.
const SUBPATHS = `import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as byo from "llmux/wasm";
import { modelCostMap } from "llmux/model-prices";
import pkg from "llmux/package.json" with { type: "json" };

const before = byo.Router;
const bytes = readFileSync(new URL(import.meta.resolve("llmux/llmux_bg.wasm")));
const { Router } = await byo.init(new WebAssembly.Module(bytes));
const api_base = \`\${process.env.MOCK_URL}/pack-byo/v1\`;
const router = new Router({
  model_list: [{ model_name: "chat", litellm_params: { model: "openai/gpt-4o-mini", api_base, api_key: "sk-pack" } }],
});
const res = await router.completion({ model: "chat", messages: [{ role: "user", content: "hi" }] });
const all = modelCostMap();
const bundled = router.getModelCostMap();
console.log(JSON.stringify({
  before: typeof before,
  same: byo.Router === Router,
  content: res.choices[0].message.content,
  version: byo.version(),
  pkgVersion: pkg.version,
  all: Object.keys(all).length,
  bundled: Object.keys(bundled).length,
  fal: all["fal_ai/fal-ai/flux/dev"] ?? null,
  bundledFal: bundled["fal_ai/fal-ai/flux/dev"] ?? null,
  gpt: [all["gpt-4o-mini"], bundled["gpt-4o-mini"]],
  edge: import.meta.resolve("llmux"),
}));
`;

test("llmux/wasm, llmux/model-prices and llmux/package.json work from the installed package", async () => {
  await writeFile(path.join(project, "subpaths.mjs"), SUBPATHS);
  const { stdout } = await sh(process.execPath, ["--conditions=edge-light", "subpaths.mjs"], {
    cwd: project,
    env: { ...process.env, MOCK_URL: mock.url },
  });
  const out = JSON.parse(stdout);
  // Nothing is instantiated at import; init() sets the live Router binding.
  assert.equal(out.before, "undefined");
  assert.equal(out.same, true);
  assert.equal(out.content, "Hello from pack-byo");
  assert.equal(mock.callsTo("pack-byo").length, 1);
  assert.equal(out.version, out.pkgVersion);
  // The full map: every provider; the bundled one only llmux's own (fal_ai is not one).
  assert.ok(out.all > 4000, `${out.all} entries`);
  assert.ok(out.bundled > 2000 && out.bundled < out.all, `${out.bundled} bundled`);
  assert.equal(out.bundledFal, null);
  assert.equal(out.fal?.litellm_provider, "fal_ai");
  assert.deepEqual(out.gpt[0], out.gpt[1]);
  // Vercel Edge's condition picks the entry that imports the wasm as `?module`.
  assert.equal(out.edge, `file://${path.join(project, "node_modules/llmux/js/edge-light.js")}`);
});
