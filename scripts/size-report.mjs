#!/usr/bin/env node
// Size profile of a wasm module (a small twiggy): bytes of code per crate and the largest
// functions, from the module's `name` section, plus the data segments.
//
//   node scripts/size-report.mjs [file.wasm] [--top N] [--json]
//
// Default input: target/wasm32-unknown-unknown/release/llmux.wasm (rustc's output, which keeps
// function names; dist/wasm/llmux_bg.wasm has none after wasm-opt). Proportions carry over to
// the optimised module; `npm run size` prints the shipped figures.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const file =
  args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--top") ??
  join(root, "target", "wasm32-unknown-unknown", "release", "llmux.wasm");
const top = Number(option("--top", "25"));

const ESCAPES = { SP: "@", BP: "*", RF: "&", LT: "<", GT: ">", LP: "(", RP: ")", C: "," };

const bytes = readFileSync(file);

/** Reads LEB128 unsigned integers and names from `buf` starting at `pos`. */
function reader(buf, pos = 0) {
  return {
    get pos() {
      return pos;
    },
    set pos(p) {
      pos = p;
    },
    u32() {
      let result = 0;
      let shift = 0;
      for (;;) {
        const b = buf[pos++];
        result += (b & 0x7f) * 2 ** shift;
        if ((b & 0x80) === 0) return result;
        shift += 7;
      }
    },
    name() {
      const len = this.u32();
      const s = buf.toString("utf8", pos, pos + len);
      pos += len;
      return s;
    },
  };
}

const r = reader(bytes, 8);
const sections = [];
while (r.pos < bytes.length) {
  const id = bytes[r.pos++];
  const size = r.u32();
  const start = r.pos;
  let name = ["custom", "type", "import", "function", "table", "memory", "global", "export"][id];
  name ??= ["start", "element", "code", "data", "datacount"][id - 8] ?? `section ${id}`;
  if (id === 0) name = `custom "${reader(bytes, start).name()}"`;
  sections.push({ id, name, start, size });
  r.pos = start + size;
}

// Imported functions come first in the function index space.
let importedFunctions = 0;
const imports = sections.find((s) => s.id === 2);
if (imports) {
  const ir = reader(bytes, imports.start);
  for (let n = ir.u32(); n > 0; n--) {
    ir.name();
    ir.name();
    const kind = bytes[ir.pos++];
    if (kind === 0) {
      ir.u32();
      importedFunctions++;
    } else if (kind === 1) {
      ir.pos++;
      const flags = ir.u32();
      ir.u32();
      if (flags & 1) ir.u32();
    } else if (kind === 2) {
      const flags = ir.u32();
      ir.u32();
      if (flags & 1) ir.u32();
    } else if (kind === 3) {
      ir.pos += 2;
    } else {
      ir.pos++;
      ir.u32();
    }
  }
}

const names = new Map();
const nameSection = sections.find((s) => s.name === 'custom "name"');
if (nameSection) {
  const nr = reader(bytes, nameSection.start);
  nr.name();
  while (nr.pos < nameSection.start + nameSection.size) {
    const sub = bytes[nr.pos++];
    const len = nr.u32();
    const end = nr.pos + len;
    if (sub === 1) {
      for (let n = nr.u32(); n > 0; n--) {
        const index = nr.u32();
        names.set(index, nr.name());
      }
    }
    nr.pos = end;
  }
}

const functions = [];
const code = sections.find((s) => s.id === 10);
if (code) {
  const cr = reader(bytes, code.start);
  const count = cr.u32();
  for (let i = 0; i < count; i++) {
    const size = cr.u32();
    const index = importedFunctions + i;
    functions.push({ name: demangle(names.get(index) ?? `func[${index}]`), size });
    cr.pos += size;
  }
}

/** Rust's legacy mangling (`_ZN…E`) -> `a::b::c` without the hash; other names unchanged. */
function demangle(name) {
  if (!name.startsWith("_ZN")) return name;
  const parts = [];
  let i = 3;
  while (i < name.length && name[i] !== "E") {
    const m = /^\d+/.exec(name.slice(i));
    if (!m) break;
    i += m[0].length;
    parts.push(name.slice(i, i + Number(m[0])));
    i += Number(m[0]);
  }
  if (/^h[0-9a-f]{16}$/.test(parts.at(-1) ?? "")) parts.pop();
  return parts
    .map((p) =>
      p
        .replace(/^_\$/, "$")
        .replace(/\$([A-Z]{1,2})\$/g, (_, e) => ESCAPES[e] ?? e)
        .replace(/\$u([0-9a-f]+)\$/g, (_, h) => String.fromCodePoint(parseInt(h, 16)))
        .replace(/\.\./g, "::"),
    )
    .join("::");
}

/** The crate a function belongs to: the first path segment (v0 names: the first crate root). */
function crateOf(name) {
  if (name.startsWith("func[")) return "(unnamed)";
  if (name.startsWith("_R")) {
    const m = /C(?:s[0-9A-Za-z]*_)?(\d+)/.exec(name);
    if (m) return name.substr(m.index + m[0].length, Number(m[1]));
  }
  const m = /^[<&*\s(]*(?:mut |const |dyn |impl )*([A-Za-z_][A-Za-z0-9_]*)/.exec(name);
  return m ? m[1] : "(other)";
}

const byCrate = new Map();
for (const f of functions) {
  const c = crateOf(f.name);
  byCrate.set(c, (byCrate.get(c) ?? 0) + f.size);
}
const codeBytes = functions.reduce((n, f) => n + f.size, 0);
const data = sections.find((s) => s.id === 11);
const total = bytes.length;
const pct = (n) => `${((100 * n) / total).toFixed(1)}%`;
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;

const crates = [...byCrate].sort((a, b) => b[1] - a[1]);
const largest = [...functions].sort((a, b) => b.size - a.size).slice(0, top);
if (flag("--json")) {
  console.log(
    JSON.stringify(
      {
        file,
        total,
        gzip: gzipSync(bytes, { level: 9 }).length,
        code: codeBytes,
        data: data?.size ?? 0,
        sections: sections.map(({ name, size }) => ({ name, size })),
        crates: Object.fromEntries(crates),
        largest,
      },
      null,
      2,
    ),
  );
} else {
  console.log(`${file}: ${kb(total)} (${kb(gzipSync(bytes, { level: 9 }).length)} gzipped)`);
  console.log(`\nsections:`);
  for (const s of [...sections].sort((a, b) => b.size - a.size)) {
    console.log(`  ${kb(s.size).padStart(11)}  ${pct(s.size).padStart(6)}  ${s.name}`);
  }
  console.log(`\ncode by crate (${functions.length} functions, ${kb(codeBytes)}):`);
  for (const [c, n] of crates.slice(0, 20)) {
    console.log(`  ${kb(n).padStart(11)}  ${pct(n).padStart(6)}  ${c}`);
  }
  console.log(`\nlargest functions:`);
  for (const f of largest) {
    console.log(
      `  ${kb(f.size).padStart(11)}  ${pct(f.size).padStart(6)}  ${f.name.slice(0, 140)}`,
    );
  }
}
