// #19's packaging rule: no runtime dependency in the core package; an integration that needs a
// package takes it as an optional peer dependency in its own subpath export. Checked on
// package.json and on what esbuild pulls into each entry (only the package's own files and the
// runtime's builtins), and on each integration subpath (its one peer, nothing else).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const pkg = JSON.parse(readFileSync(new URL("package.json", `file://${root}`), "utf8"));

test("package.json: no dependencies; the integrations' packages are optional peers", () => {
  assert.deepEqual(Object.keys(pkg.dependencies ?? {}), []);
  assert.deepEqual(Object.keys(pkg.optionalDependencies ?? {}), []);
  for (const peer of ["@ai-sdk/provider", "@opentelemetry/api"]) {
    assert.ok(pkg.peerDependencies?.[peer], `${peer} is a peer dependency`);
    assert.equal(pkg.peerDependenciesMeta?.[peer]?.optional, true, `${peer} is optional`);
  }
  assert.deepEqual(Object.keys(pkg.peerDependencies).sort(), [
    "@ai-sdk/provider",
    "@opentelemetry/api",
  ]);
});

/** The bare (package) imports esbuild finds from `entry`, dynamic ones included. */
async function packagesOf(entry, platform) {
  const seen = new Set();
  await build({
    entryPoints: [`${root}${entry}`],
    bundle: true,
    write: false,
    platform,
    format: "esm",
    logLevel: "silent",
    external: ["*.wasm", "*.wasm?module"],
    plugins: [
      {
        name: "record-packages",
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) => {
            seen.add(args.path);
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  return [...seen].sort();
}

const builtin = (name) => name.startsWith("node:") || name.startsWith("cloudflare:");

for (const [entry, platform] of [
  ["js/node.js", "node"],
  ["js/browser.js", "browser"],
  ["js/workerd.js", "browser"],
  ["js/edge-light.js", "browser"],
  ["js/wasm.js", "browser"],
  ["js/model-prices.js", "browser"],
]) {
  test(`${entry} imports no package (only its own files and the runtime's builtins)`, async () => {
    const packages = (await packagesOf(entry, platform)).filter((name) => !builtin(name));
    assert.deepEqual(packages, []);
  });
}

for (const [entry, peer] of [
  ["js/ai-sdk.js", "@ai-sdk/provider"],
  ["js/otel.js", "@opentelemetry/api"],
]) {
  test(`${entry} imports only its optional peer, ${peer}`, async () => {
    const packages = (await packagesOf(entry, "browser")).filter((name) => !builtin(name));
    assert.deepEqual(packages, [peer]);
  });
}
