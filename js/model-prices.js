// `llmux/model-prices`: LiteLLM's whole price map (every provider, not only those llmux speaks).
// The wasm module bundles the rows of llmux's own providers (`router.getModelCostMap()`); this
// module carries all of them as text and parses them on the first call, so an app that never
// imports it never downloads them.
import tables from "../dist/wasm/model-prices-data.js";

const FLAGS = {
  f: "supports_function_calling",
  v: "supports_vision",
  s: "supports_response_schema",
  c: "supports_prompt_caching",
  r: "supports_reasoning",
};
const TEXT = new Set(["litellm_provider", "mode"]);

let cached;

/** Parses one table of scripts/gen-cost-map.mjs into `into` (the same fields as the core's). */
function parseTable(tsv, into) {
  let columns;
  for (const line of tsv.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const cells = line.split("\t");
    if (!columns) {
      columns = cells;
      continue;
    }
    const entry = {};
    let key;
    columns.forEach((column, i) => {
      const cell = cells[i] ?? "";
      if (column === "key") key = cell;
      else if (column === "flags") for (const letter of cell) entry[FLAGS[letter]] = true;
      else if (cell === "") return;
      else if (TEXT.has(column)) entry[column] = cell;
      else entry[column] = Number(cell);
    });
    if (key) into.push([key, entry]);
  }
}

/**
 * Every model of LiteLLM's price list (`model_prices_and_context_window_backup.json`, the modes
 * the router serves), keyed by model name, keys sorted: the same shape as
 * `router.getModelCostMap()`, which holds only the providers llmux speaks. A fresh object each
 * call (parsed once, then copied), so callers may modify it.
 * @returns {Record<string, import("./index.d.ts").ModelCost>}
 */
export function modelCostMap() {
  if (!cached) {
    const rows = [];
    for (const tsv of tables) parseTable(tsv, rows);
    rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    cached = rows;
  }
  const out = {};
  for (const [key, entry] of cached) out[key] = { ...entry };
  return out;
}

export default modelCostMap;
