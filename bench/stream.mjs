// One case of `npm run bench` alone: the streaming case (harness.mjs `streamingCase`) in Node,
// `rounds` times (default 5) against a loopback mock started here, and its median. Prints
// the per-chunk figures of each round and the median overhead per chunk (µs).
//
//   node bench/stream.mjs [rounds]
import { startMockServer } from "../tests/mock/server.mjs";
import { Router } from "../js/node.js";
import { median, streamingCase } from "./harness.mjs";

const rounds = Math.max(1, Math.min(50, Number(process.argv[2] ?? 5) || 5));
const mock = await startMockServer();
const now = () => performance.now();
const overheads = [];
try {
  for (let i = 0; i < rounds; i++) {
    const r = await streamingCase({ Router, mockUrl: mock.url, now });
    overheads.push(r.overhead_per_chunk_us);
    const f = (x) => x.toFixed(2);
    process.stdout.write(
      `round ${i + 1}: ${r.chunks} chunks, floor ${f(r.per_chunk_floor_us)} µs/chunk, ` +
        `llmux ${f(r.per_chunk_llmux_us)}, overhead ${f(r.overhead_per_chunk_us)}${r.truncated ? " ⚠" : ""}\n`,
    );
  }
  process.stdout.write(`median overhead per chunk: ${median(overheads).toFixed(2)} µs\n`);
} finally {
  await mock.close();
}
