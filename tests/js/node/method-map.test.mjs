// The README's map of LiteLLM's Router methods ("LiteLLM `Router` methods") checked both ways
// against the code: every LiteLLM method is covered by a row, every llmux name the table
// claims is a method of Router, and every public Router method appears in the table.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Router } from "../../../js/node.js";

const root = new URL("../../../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");
const litellm = JSON.parse(
  readFileSync(new URL("litellm-router-methods.json", import.meta.url), "utf8"),
);

/** The rows of the section's table: [litellm cell, llmux cell]. */
function mapRows() {
  const start = readme.indexOf("\n## LiteLLM `Router` methods\n");
  assert.ok(start >= 0, "README has a 'LiteLLM `Router` methods' section");
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const rows = section
    .split("\n")
    .filter((line) => line.startsWith("| ") && !line.startsWith("| LiteLLM |"))
    .filter((line) => !/^\|[-| ]+\|$/.test(line))
    .map((line) => line.split(" | ").map((cell) => cell.replace(/^\| ?| ?\|$/g, "")));
  assert.ok(rows.length > 20, `the map has rows (found ${rows.length})`);
  return rows;
}

const names = (cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
const globRegex = (pattern) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);

/** Every public method on Router's prototype chain, aliases included. */
function routerMethods() {
  const out = new Set();
  for (let p = Router.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name === "constructor" || name.startsWith("_")) continue;
      if (typeof Object.getOwnPropertyDescriptor(p, name).value === "function") out.add(name);
    }
  }
  return out;
}

const STATUSES = [
  "planned",
  "not exposed",
  "not provided",
  "not in-process",
  "proxy-only",
  "internal",
  "option",
];

describe("README method map", () => {
  const rows = mapRows();
  const methods = routerMethods();

  it("covers every public method of LiteLLM's Router", () => {
    const patterns = rows.flatMap(([left]) => names(left)).map(globRegex);
    const missing = litellm.methods.filter((m) => !patterns.some((re) => re.test(m)));
    assert.deepEqual(missing, [], `LiteLLM ${litellm.litellm} methods with no row`);
  });

  it("names only LiteLLM methods that exist", () => {
    const exact = rows.flatMap(([left]) => names(left)).filter((n) => !n.includes("*"));
    const unknown = exact.filter((n) => !litellm.methods.includes(n));
    assert.deepEqual(unknown, [], "rows naming methods LiteLLM does not have");
  });

  it("every llmux name in the table is a Router method, or the row says why there is none", () => {
    for (const [left, middle] of rows) {
      const claimed = names(middle);
      if (claimed.length === 0) {
        assert.ok(
          STATUSES.some((s) => middle.startsWith(s)),
          `row ${left}: ${JSON.stringify(middle)} is neither methods nor a known status`,
        );
        continue;
      }
      for (const name of claimed) {
        assert.ok(methods.has(name), `row ${left} claims Router.${name}, which does not exist`);
      }
    }
  });

  it("lists every public Router method", () => {
    const listed = new Set(rows.flatMap(([, middle]) => names(middle)));
    const unlisted = [...methods].filter((m) => !listed.has(m)).sort();
    assert.deepEqual(unlisted, [], "Router methods missing from the README's method map");
  });

  it("a LiteLLM alias of an llmux method is the same function", () => {
    for (const [left, middle] of rows) {
      const ours = names(middle).filter((n) => methods.has(n));
      for (const name of names(left)) {
        if (!methods.has(name) || ours.length === 0) continue;
        assert.ok(ours.includes(name), `row ${left}: Router.${name} exists but the row omits it`);
      }
    }
  });
});
