// Plain-text output helpers for the demo: aligned tables and colours (only on a TTY).

const useColor = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
/** @param {string} code */
const paint = (code) => (/** @type {unknown} */ s) =>
  useColor ? `\x1b[${code}m${s}\x1b[0m` : String(s);

export const c = {
  bold: paint("1"),
  dim: paint("2"),
  red: paint("31"),
  green: paint("32"),
  yellow: paint("33"),
  cyan: paint("36"),
};

/** Visible width (ANSI colour codes do not count). @param {string} s */
const width = (s) => s.replace(/\x1b\[[0-9;]*m/g, "").length;

/**
 * An aligned table: the first column is left-aligned, the others right-aligned unless
 * `left` lists them. Returns the lines (header first).
 * @param {string[]} header
 * @param {Array<Array<string | number>>} rows
 * @param {{ left?: number[] }} [opts]
 */
export function table(header, rows, opts = {}) {
  const left = new Set([0, ...(opts.left ?? [])]);
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => width(r[i] ?? ""))));
  return cells.map((r, n) => {
    const line = r
      .map((cell, i) => {
        const pad = " ".repeat(widths[i] - width(cell));
        return left.has(i) ? cell + pad : pad + cell;
      })
      .join("  ")
      .trimEnd();
    return n === 0 ? c.dim(line) : line;
  });
}

/** @param {string} title */
export const section = (title) => console.log(`\n${c.bold(c.cyan(title))}`);

/** @param {string[]} lines */
export const print = (lines) => lines.forEach((l) => console.log(`  ${l}`));

/** @param {number | null | undefined} ms */
export const ms = (ms) => (ms == null ? "—" : `${Math.round(ms)} ms`);

/** USD with enough digits for mock-sized token counts. @param {number | null | undefined} usd */
export const usd = (usd) =>
  usd == null ? "—" : usd === 0 ? "$0" : `$${usd.toFixed(usd < 0.01 ? 7 : 4)}`;

/** @param {number} part @param {number} whole */
export const pct = (part, whole) => (whole ? `${Math.round((100 * part) / whole)}%` : "—");

/** @param {number[]} xs */
export function median(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
