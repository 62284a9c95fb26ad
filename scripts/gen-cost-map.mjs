#!/usr/bin/env node
// Derives src/cost_map.tsv (the compact price table bundled by src/cost.rs: the providers llmux
// speaks) and src/cost_map_other.tsv (every other provider's rows, shipped only in the
// `llmux/model-prices` module that scripts/build.mjs writes) from LiteLLM's
// model_prices_and_context_window_backup.json.
//
// Usage: node scripts/gen-cost-map.mjs [path/to/model_prices.json]
// Default input: ../shared/data/model_prices.json relative to the repo root.
// Node 20+, no dependencies. Output is deterministic: same input, same bytes.

import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const inputPath = resolve(process.argv[2] ?? resolve(repoRoot, "../shared/data/model_prices.json"));
const outputPath = resolve(repoRoot, "src/cost_map.tsv");
const otherPath = resolve(repoRoot, "src/cost_map_other.tsv");

// The providers llmux speaks: src/providers/mod.rs's SUPPORTED list, read from the source so
// the two cannot drift (a unit test in src/cost.rs checks the bundled rows against it too).
function supportedProviders() {
  const source = readFileSync(resolve(repoRoot, "src/providers/mod.rs"), "utf8");
  const block = /const SUPPORTED: &\[&str\] = &\[([^\]]*)\]/.exec(source);
  if (!block) throw new Error("SUPPORTED not found in src/providers/mod.rs");
  return new Set([...block[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]));
}

// src/cost.rs's provider_family: "vertex_ai-language-models" -> "vertex_ai", and so on.
function providerFamily(p) {
  if (p.startsWith("text-completion-")) return p.slice("text-completion-".length);
  const dash = p.indexOf("-");
  if (dash >= 0 && p.slice(dash + 1).endsWith("models")) return p.slice(0, dash);
  return { azure_text: "azure", bedrock_converse: "bedrock", cohere_chat: "cohere" }[p] ?? p;
}

const SOURCE_NAME = "LiteLLM model_prices_and_context_window_backup.json";
const SOURCE_VERSION = "1.110.2";
// Exact line of the LICENSE file that ships beside model_prices.json.
const COPYRIGHT_FALLBACK = "Copyright (c) 2023 Berri AI";

// Modes the router serves; everything else (responses, realtime, video, ocr,
// search, ...) is dropped.
const MODES = new Set([
  "chat",
  "completion",
  "embedding",
  "image_generation",
  "audio_transcription",
  "audio_speech",
  "moderation",
  "rerank",
]);

// Numeric columns, in output order. `int` columns must be safe integers.
const NUMBER_COLUMNS = [
  ["input_cost_per_token", "price"],
  ["output_cost_per_token", "price"],
  ["cache_read_input_token_cost", "price"],
  ["cache_creation_input_token_cost", "price"],
  ["input_cost_per_image", "price"],
  ["output_cost_per_image", "price"],
  ["input_cost_per_second", "price"],
  ["output_cost_per_second", "price"],
  ["input_cost_per_character", "price"],
  ["input_cost_per_query", "price"],
  ["max_input_tokens", "int"],
  ["max_output_tokens", "int"],
  ["max_tokens", "int"],
];

// Boolean capability flags, packed as letters into the `flags` column
// (a letter is present when the JSON says `true`).
const FLAGS = [
  ["f", "supports_function_calling"],
  ["v", "supports_vision"],
  ["s", "supports_response_schema"],
  ["c", "supports_prompt_caching"],
  ["r", "supports_reasoning"],
];

function warn(msg) {
  process.stderr.write(`gen-cost-map: warning: ${msg}\n`);
}

function copyrightLine() {
  try {
    const license = readFileSync(resolve(dirname(inputPath), "LICENSE"), "utf8");
    const line = license.split(/\r?\n/).find((l) => /^\s*Copyright \(c\)/i.test(l));
    if (line) return line.trim();
    warn("no Copyright line in LICENSE; using the built-in one");
  } catch {
    warn("LICENSE not found beside the input; using the built-in copyright line");
  }
  return COPYRIGHT_FALLBACK;
}

// A cell must not break the line-oriented format.
function cleanText(s) {
  return typeof s === "string" && s !== "" && !/[\t\r\n]/.test(s);
}

// Shortest decimal string that reads back as exactly the same double:
// JS String(n) ("0.0000025") or its exponent form ("2.5e-6"), whichever is
// shorter. Rust's f64 parser reads both back exactly.
function shortestNumber(n) {
  const plain = String(n);
  const exp = n.toExponential().replace("e+", "e");
  const s = exp.length < plain.length ? exp : plain;
  if (Number(s) !== n) throw new Error(`number ${plain} does not round-trip as ${s}`);
  return s;
}

// Resolves `{"alias_of": "target"}` entries: the target's fields, overridden
// by any the alias sets itself. Returns undefined for a dangling alias.
function resolveAlias(data, key) {
  let entry = data[key];
  const seen = new Set([key]);
  let merged = {};
  while (entry && typeof entry.alias_of === "string") {
    const { alias_of: target, ...own } = entry;
    merged = { ...own, ...merged };
    if (seen.has(target)) return undefined;
    seen.add(target);
    entry = data[target];
  }
  return entry ? { ...entry, ...merged } : undefined;
}

const raw = JSON.parse(readFileSync(inputPath, "utf8"));
const rows = [];
const skipped = { mode: 0, alias: 0, key: 0 };

for (const key of Object.keys(raw).sort()) {
  if (key === "sample_spec") continue;
  let entry = raw[key];
  if (entry === null || typeof entry !== "object") continue;
  if (typeof entry.alias_of === "string") {
    entry = resolveAlias(raw, key);
    if (!entry) {
      warn(`dangling alias ${key} -> ${raw[key].alias_of}; skipped`);
      skipped.alias++;
      continue;
    }
  }
  if (!MODES.has(entry.mode)) {
    skipped.mode++;
    continue;
  }
  if (!cleanText(key) || key.startsWith("#") || !cleanText(entry.litellm_provider)) {
    warn(`unusable key or provider for ${JSON.stringify(key)}; skipped`);
    skipped.key++;
    continue;
  }
  const cells = [key, entry.litellm_provider, entry.mode];
  for (const [field, kind] of NUMBER_COLUMNS) {
    const v = entry[field];
    if (v === undefined || v === null) {
      cells.push("");
    } else if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      warn(`${key}.${field} = ${JSON.stringify(v)} is not a non-negative number; dropped`);
      cells.push("");
    } else if (kind === "int" && !Number.isSafeInteger(v)) {
      warn(`${key}.${field} = ${v} is not an integer; dropped`);
      cells.push("");
    } else {
      cells.push(kind === "int" ? String(v) : shortestNumber(v));
    }
  }
  cells.push(
    FLAGS.filter(([, field]) => entry[field] === true)
      .map(([l]) => l)
      .join(""),
  );
  rows.push(cells);
}

const header = ["key", "litellm_provider", "mode", ...NUMBER_COLUMNS.map(([f]) => f), "flags"];

// Columns empty in every row carry no information: drop them (the Rust
// parser maps columns by the header line, so any subset works).
const used = header.map((_, i) => i < 3 || rows.some((r) => r[i] !== ""));
const keepCols = (cells) => cells.filter((_, i) => used[i]);

const supported = supportedProviders();
const isSupported = (r) => supported.has(providerFamily(r[1]));

const table = (rows, what) => [
  `# Derived from ${SOURCE_NAME} v${SOURCE_VERSION}, MIT License,`,
  `# ${copyrightLine()}. Generated by scripts/gen-cost-map.mjs; do not edit.`,
  `# One model per line, tab-separated; prices in USD per token unless the column names another unit.`,
  `# Empty cell = absent. flags: ${FLAGS.map(([l, f]) => `${l}=${f}`).join(" ")}.`,
  `# Modes kept: ${[...MODES].join(" ")}. Aliases (alias_of) are resolved.`,
  `# ${what}`,
  keepCols(header).join("\t"),
  ...rows.map((r) => keepCols(r).join("\t")),
];
const outputs = [
  [
    outputPath,
    rows.filter(isSupported),
    "Providers llmux speaks (src/providers/mod.rs SUPPORTED); the rest are in cost_map_other.tsv.",
  ],
  [
    otherPath,
    rows.filter((r) => !isSupported(r)),
    "Providers llmux does not speak: shipped only in the llmux/model-prices module.",
  ],
];
for (const [path, subset, what] of outputs) {
  const out = table(subset, what).join("\n") + "\n";
  writeFileSync(path, out);
  const rawBytes = Buffer.byteLength(out);
  const gzBytes = gzipSync(out, { level: 9 }).length;
  console.log(`${path}: ${subset.length} entries`);
  console.log(
    `raw ${rawBytes} bytes (${(rawBytes / 1024).toFixed(1)} KiB), gzip ${gzBytes} bytes (${(gzBytes / 1024).toFixed(1)} KiB)`,
  );
}
const dropped = header.filter((_, i) => !used[i]);
console.log(
  `skipped: ${skipped.mode} other modes, ${skipped.alias} dangling aliases, ${skipped.key} bad keys` +
    (dropped.length ? `; empty columns omitted: ${dropped.join(", ")}` : ""),
);
