// Node side of `npm run bench`: the suite in this process against the mock at argv[2].
// Prints one `BENCH_RESULT <json>` line on stdout; progress goes to stderr.
import { Router, version } from "../js/node.js";
import { runLocalSuite } from "./harness.mjs";

const mockUrl = process.argv[2];
if (!mockUrl) throw new Error("usage: node bench/node.mjs MOCK_URL");
const log = (msg) => process.stderr.write(`  [node] ${msg}\n`);
const now = () => performance.now();

const results = await runLocalSuite({ Router, mockUrl, now, log });
const runtime = { name: "node", version: process.versions.node, llmux: version() };
process.stdout.write(
  `BENCH_RESULT ${JSON.stringify({ runtime, clock: "performance.now()", ...results })}\n`,
);
