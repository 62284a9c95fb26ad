// The Worker run by bench/workerd.mjs under Miniflare: floor and llmux calls made inside workerd,
// either one per dispatch (timed by the host) or many per dispatch (timed here, see below).
//
// workerd's clocks have 1 ms resolution and, in production, only advance across I/O. So a
// batch is timed between two I/O boundaries (a fetch of the mock's /__mock/stats): the start
// is read after the first, the end after the second, which makes the CPU work of the batch (even
// a batch with no network at all, as with the fake fetch) land inside the interval. The cost of
// one boundary is measured by /bracket and subtracted by the host.
import { Router, version } from "../js/workerd.js";
import {
  checkReply,
  fakeFetch,
  floorCall,
  replyText,
  routerCall,
  routerOptions,
  runBatch,
} from "./harness.mjs";

/** @type {Promise<Record<string, () => Promise<unknown>>> | undefined} */
let variantsOnce;

async function makeVariants(mockUrl) {
  const fake = fakeFetch(await replyText(mockUrl));
  return {
    floor: floorCall(mockUrl),
    llmux: routerCall(new Router(routerOptions(mockUrl, 1))),
    llmux3: routerCall(new Router(routerOptions(mockUrl, 3))),
    fake_floor: floorCall(mockUrl, fake),
    fake_llmux: routerCall(new Router(routerOptions(mockUrl, 1, { fetch: fake }))),
  };
}

const now = () => Date.now();

async function ioBoundary(mockUrl) {
  const res = await fetch(`${mockUrl}/__mock/stats`);
  await res.text();
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const mockUrl = env.MOCK_URL;
    variantsOnce ??= makeVariants(mockUrl);
    const variants = await variantsOnce;
    const name = url.searchParams.get("v") ?? "";
    const fn = variants[name];
    try {
      switch (url.pathname) {
        case "/info":
          return Response.json({ llmux: version() });
        case "/one":
          if (!fn) break;
          await fn();
          return new Response("ok");
        case "/check":
          if (!fn) break;
          return Response.json({ api_base: await checkReply(fn, name) });
        case "/batch": {
          if (!fn) break;
          const n = Number(url.searchParams.get("n"));
          const concurrency = Number(url.searchParams.get("c"));
          await ioBoundary(mockUrl);
          const t0 = now();
          const b = await runBatch(fn, { n, concurrency, now, record: false });
          await ioBoundary(mockUrl);
          return Response.json({ count: b.count, elapsed: now() - t0 });
        }
        case "/bracket": {
          await ioBoundary(mockUrl);
          const t0 = now();
          await ioBoundary(mockUrl);
          return Response.json({ elapsed: now() - t0 });
        }
      }
      return new Response(`unknown bench route ${url.pathname} ${name}`, { status: 404 });
    } catch (e) {
      return new Response(`bench worker error: ${e?.stack ?? e}`, { status: 500 });
    }
  },
};
