// Deno side of `npm run bench` (`deno run -A bench/deno.mjs MOCK_URL`), importing the browser
// entry as the `deno` export condition does. Prints one `BENCH_RESULT <json>` line on stdout.
import { Router, version } from "../js/browser.js";
import { runLocalSuite } from "./harness.mjs";

const mockUrl = Deno.args[0];
if (!mockUrl) throw new Error("usage: deno run -A bench/deno.mjs MOCK_URL");
const encoder = new TextEncoder();
const log = (msg) => Deno.stderr.writeSync(encoder.encode(`  [deno] ${msg}\n`));
const now = () => performance.now();

const results = await runLocalSuite({ Router, mockUrl, now, log });
const runtime = { name: "deno", version: Deno.version.deno, v8: Deno.version.v8, llmux: version() };
console.log(`BENCH_RESULT ${JSON.stringify({ runtime, clock: "performance.now()", ...results })}`);
