// Tier 5: bundler smoke. A small app importing "llmux" by name is bundled with esbuild, Vite
// and webpack 5 (each with the configuration the README gives), and each bundle, served by the
// mock on the same origin as its API, makes a routed call in headless Chromium.
//   esbuild: `llmux/wasm` + `init(url)`, the .wasm imported with `--loader:.wasm=file`
//            (esbuild leaves `new URL(…, import.meta.url)` alone, so the default entry would
//            look for the wasm beside the bundle's source path).
//   Vite:    the default import; `build.target: "es2022"` for the entry's top-level await.
//   webpack: the default import; webpack 5 emits the `new URL(…, import.meta.url)` asset.
import assert from "node:assert/strict";
import { cp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startMockServer } from "../../mock/server.mjs";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const work = path.join(root, "tests", ".tmp", "bundles");
const app = path.join(work, "app");

/** @type {Awaited<ReturnType<typeof startMockServer>>} */
let mock;
/** @type {import("playwright-core").Browser} */
let browser;

const page = (bundler, script) => `<!doctype html>
<html data-bundler="${bundler}">
  <head><meta charset="utf-8" /><link rel="icon" href="data:," /></head>
  <body><pre id="result"></pre>${script}</body>
</html>
`;

before(async () => {
  await rm(work, { recursive: true, force: true });
  await mkdir(path.join(app, "node_modules"), { recursive: true });
  for (const f of ["main.js", "byo.js"]) {
    await cp(fileURLToPath(new URL(`app/${f}`, import.meta.url)), path.join(app, f));
  }
  // "llmux" resolves like an installed package: through package.json's exports.
  await symlink(root, path.join(app, "node_modules", "llmux"));
  mock = await startMockServer({ port: 0, staticRoot: root });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
});

after(async () => {
  await browser?.close();
  await mock?.close();
});

/** Loads tests/.tmp/bundles/<name>/index.html and returns what the app wrote. */
async function runInChromium(name) {
  const tab = await browser.newPage();
  const errors = [];
  tab.on("pageerror", (e) => errors.push(String(e)));
  try {
    await tab.goto(`${mock.url}/__static/tests/.tmp/bundles/${name}/index.html`);
    await tab.waitForSelector("#result[data-done]", { state: "attached", timeout: 20_000 });
    const out = JSON.parse(await tab.textContent("#result"));
    assert.deepEqual(errors, []);
    return out;
  } catch (e) {
    throw new Error(`${name}: ${e.message}; page errors: ${errors.join("; ")}`);
  } finally {
    await tab.close();
  }
}

function assertRouted(name, out) {
  assert.equal(out.error, undefined, out.error);
  assert.equal(out.content, `Hello from bundle-${name}`);
  assert.match(out.model_id, new RegExp(`^${name}-[ab]$`));
  assert.ok(out.cost > 0, "priced from the bundled table");
  assert.equal(out.field, "model_list[0].litellm_params.model");
  assert.equal(mock.callsTo(`bundle-${name}`).length, 1);
}

test("esbuild: llmux/wasm with the .wasm as a file asset", async () => {
  const esbuild = await import("esbuild");
  const outdir = path.join(work, "esbuild");
  await esbuild.build({
    entryPoints: [path.join(app, "byo.js")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outdir,
    loader: { ".wasm": "file" },
    logLevel: "silent",
  });
  await writeFile(
    path.join(outdir, "index.html"),
    page("esbuild", `<script type="module" src="./byo.js"></script>`),
  );
  assertRouted("esbuild", await runInChromium("esbuild"));
});

test("Vite: the default import, build.target es2022", async () => {
  const { build } = await import("vite");
  const outDir = path.join(work, "vite");
  await writeFile(
    path.join(app, "index.html"),
    page("vite", `<script type="module" src="./main.js"></script>`),
  );
  await build({
    root: app,
    base: "./",
    logLevel: "silent",
    configFile: false,
    build: { outDir, target: "es2022", emptyOutDir: true },
  });
  assertRouted("vite", await runInChromium("vite"));
});

test("webpack 5: the default import", async () => {
  const { default: webpack } = await import("webpack");
  const outdir = path.join(work, "webpack");
  const stats = await new Promise((resolve, reject) =>
    webpack(
      {
        mode: "production",
        context: app,
        entry: "./main.js",
        target: "web",
        output: { path: outdir, filename: "main.js", publicPath: "auto" },
        performance: { hints: false },
      },
      (err, s) => (err ? reject(err) : resolve(s)),
    ),
  );
  assert.equal(stats.hasErrors(), false, stats.toString("errors-only"));
  await writeFile(
    path.join(outdir, "index.html"),
    page("webpack", `<script src="./main.js"></script>`),
  );
  assertRouted("webpack", await runInChromium("webpack"));
});
