// Tier 3b: the package's Deno entry (js/browser.js, top-level `await init(new URL(...))`)
// against the loopback mock provider, driven over its HTTP control API. Run by run.mjs.
// @ts-types="../../../js/index.d.ts"
import { errors, Router, version } from "../../../js/browser.js";

const MOCK_URL = Deno.env.get("MOCK_URL") ?? "";
if (!MOCK_URL.startsWith("http://127.0.0.1:")) {
  throw new Error("MOCK_URL is not set: run `node tests/js/deno/run.mjs`");
}

type Call = { name: string; path: string; headers: Record<string, string>; body: unknown };

const base = (name: string) => `${MOCK_URL}/${name}/v1`;
const messages = [{ role: "user" as const, content: "hi" }];

async function getJson(path: string, init?: RequestInit): Promise<any> {
  const res = await fetch(`${MOCK_URL}${path}`, init);
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}
const callsTo = async (name: string): Promise<Call[]> =>
  (await getJson(`/__mock/calls?name=${encodeURIComponent(name)}`)).calls;
const script = (name: string, ...steps: object[]) =>
  getJson("/__mock/script", { method: "POST", body: JSON.stringify({ name, steps }) });
const stats = (): Promise<{ open: number; aborted: number }> => getJson("/__mock/stats");

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}
function assertEquals(actual: unknown, expected: unknown, what: string) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected the promise to reject, it resolved");
}

function deployment(group: string, mockName: string, id: string, extra: object = {}) {
  return {
    model_name: group,
    litellm_params: {
      model: "openai/gpt-4o-mini",
      api_base: base(mockName),
      api_key: "sk-deno-test",
      ...extra,
    },
    model_info: { id },
  };
}

Deno.test("version() reports the wasm core's crate version", () => {
  assert(/^\d+\.\d+\.\d+/.test(version()), `version() = ${version()}`);
});

Deno.test(
  "chat completion is answered by the mock with _hidden_params naming the deployment",
  async () => {
    const router = new Router({ model_list: [deployment("chat", "deno-chat", "deno-chat-1")] });
    const res = await router.completion({ model: "chat", messages });
    assertEquals(res.object, "chat.completion", "object");
    assertEquals(res.choices[0].message.content, "Hello from deno-chat", "reply content");
    assertEquals(res._hidden_params.model_group, "chat", "model_group");
    assertEquals(res._hidden_params.model_id, "deno-chat-1", "model_id");
    assertEquals(res._hidden_params.api_base, base("deno-chat"), "api_base");
    assertEquals(res._hidden_params.attempts, 1, "attempts");
    assert(!Object.keys(res).includes("_hidden_params"), "_hidden_params is non-enumerable");
    const calls = await callsTo("deno-chat");
    assertEquals(calls.length, 1, "mock calls to deno-chat");
    assertEquals(calls[0].path, "/deno-chat/v1/chat/completions", "upstream path");
  },
);

Deno.test("embedding is answered by the mock with one vector per input", async () => {
  const router = new Router({
    model_list: [
      deployment("emb", "deno-emb", "deno-emb-1", { model: "openai/text-embedding-3-small" }),
    ],
  });
  const res = await router.embedding({ model: "emb", input: ["alpha", "beta"] });
  assertEquals(res.data.length, 2, "embeddings returned");
  assertEquals((res.data[1].embedding as number[]).length, 8, "mock vector length");
  assertEquals(res._hidden_params.model_group, "emb", "model_group");
  assertEquals(res._hidden_params.model_id, "deno-emb-1", "model_id");
  const calls = await callsTo("deno-emb");
  assertEquals(calls.length, 1, "mock calls to deno-emb");
  assertEquals(calls[0].path, "/deno-emb/v1/embeddings", "upstream path");
});

Deno.test(
  "a scripted 500 on the first deployment is retried on the second deployment",
  async () => {
    // weight 1 vs 0: the first pick is always deno-r-a; the retry can only go to deno-r-b.
    const router = new Router({
      model_list: [
        deployment("retry", "deno-r-a", "deno-r-a", { weight: 1 }),
        deployment("retry", "deno-r-b", "deno-r-b", { weight: 0 }),
      ],
      num_retries: 2,
    });
    await script("deno-r-a", { error: "server" });
    const res = await router.completion({ model: "retry", messages });
    assertEquals(res._hidden_params.model_id, "deno-r-b", "answering deployment");
    assertEquals(res._hidden_params.attempts, 2, "attempts");
    assertEquals(res._hidden_params.retries, 1, "retries");
    assertEquals(res.choices[0].message.content, "Hello from deno-r-b", "reply content");
    assertEquals((await callsTo("deno-r-a")).length, 1, "calls to deno-r-a");
    assertEquals((await callsTo("deno-r-b")).length, 1, "calls to deno-r-b");
  },
);

Deno.test("a hung upstream raises Timeout and the upstream request is aborted", async () => {
  const router = new Router({
    model_list: [deployment("slow", "deno-hang", "deno-hang-1")],
    timeout: 0.3,
    num_retries: 0,
  });
  const before = (await stats()).aborted;
  await script("deno-hang", { hang: true });
  const started = performance.now();
  const err = await rejection(router.completion({ model: "slow", messages }));
  const elapsed = performance.now() - started;
  assert(err instanceof errors.Timeout, `expected Timeout, got ${err}`);
  assertEquals(err.status, 408, "Timeout status");
  assertEquals(err.model_group, "slow", "Timeout model_group");
  assert(elapsed >= 250 && elapsed < 3000, `timed out after ${elapsed.toFixed(0)} ms`);
  assertEquals((await callsTo("deno-hang")).length, 1, "calls to deno-hang");
  let aborted = before;
  for (let i = 0; i < 100 && aborted <= before; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    aborted = (await stats()).aborted;
  }
  assertEquals(aborted, before + 1, "mock's aborted counter");
});

Deno.test("an invalid model string throws ConfigError naming the field", () => {
  let err: unknown;
  try {
    new Router({
      model_list: [
        deployment("ok", "deno-cfg", "deno-cfg-1"),
        { model_name: "bad", litellm_params: { model: "" } },
      ],
    });
  } catch (e) {
    err = e;
  }
  assert(err instanceof errors.ConfigError, `expected ConfigError, got ${err}`);
  assertEquals(err.field, "model_list[1].litellm_params.model", "ConfigError.field");
});

Deno.test("os.environ/NAME api_key is resolved from Deno.env and sent upstream", async () => {
  Deno.env.set("LLMUX_DENO_TEST_KEY", "sk-from-deno-env");
  try {
    const router = new Router({
      model_list: [
        deployment("envchat", "deno-env", "deno-env-1", {
          api_key: "os.environ/LLMUX_DENO_TEST_KEY",
        }),
      ],
    });
    const res = await router.completion({ model: "envchat", messages });
    assertEquals(res._hidden_params.model_id, "deno-env-1", "model_id");
    assert(
      !JSON.stringify(router.getDeployments()).includes("sk-from-deno-env"),
      "getDeployments() redacts the resolved key",
    );
  } finally {
    Deno.env.delete("LLMUX_DENO_TEST_KEY");
  }
  const calls = await callsTo("deno-env");
  assertEquals(calls.length, 1, "calls to deno-env");
  assertEquals(calls[0].headers.authorization, "Bearer sk-from-deno-env", "authorization header");
});

Deno.test("rerank on Cohere's /v2/rerank and a passed-through Responses call", async () => {
  const router = new Router({
    model_list: [
      {
        model_name: "rerank",
        litellm_params: {
          model: "cohere/rerank-v3.5",
          api_base: `${MOCK_URL}/deno-rerank`,
          api_key: "co-deno-test",
        },
        model_info: { id: "deno-rerank-1" },
      },
      deployment("gpt", "deno-resp", "deno-resp-1"),
    ],
  });
  const ranked: any = await router.rerank({
    model: "rerank",
    query: "capital of France",
    documents: ["Berlin is in Germany.", "Paris is the capital of France."],
    top_n: 1,
  });
  assertEquals(
    ranked.results.map((r: any) => r.index),
    [1],
    "rerank order",
  );
  assertEquals(ranked._hidden_params.response_cost, 0.002, "rerank cost");
  assertEquals((await callsTo("deno-rerank"))[0].path, "/deno-rerank/v2/rerank", "rerank path");
  const out: any = await router.responses({ model: "gpt", input: "Hi", store: true });
  assertEquals(out.object, "response", "a Responses object");
  const [call] = await callsTo("deno-resp");
  assertEquals(call.path, "/deno-resp/v1/responses", "passed through to /v1/responses");
  assertEquals((call.body as any).store, true, "the request as sent");
});

Deno.test("a deployment priced per second costs rate × its response time", async () => {
  const rate = 0.25;
  const router = new Router({
    model_list: [
      deployment("timed", "deno-timed", "deno-timed-1", { input_cost_per_second: rate }),
    ],
  });
  await script("deno-timed", { delay_ms: 200 });
  const t0 = performance.now();
  const res = await router.completion({ model: "timed", messages });
  const seconds = (performance.now() - t0) / 1000;
  const cost = res._hidden_params.response_cost as number;
  assert(cost >= rate * 0.2, `cost ${cost} covers the 200 ms delay`);
  // The router times the call with Date.now (whole milliseconds), the test with
  // performance.now: allow a millisecond of disagreement at each end.
  const bound = seconds + 0.002;
  assert(cost <= rate * bound, `cost ${cost} within the call's ${seconds} s (+2 ms clock grain)`);
});

Deno.test(
  "a custom routing strategy chooses among candidates in Deno, cooldowns respected (#21)",
  async () => {
    const names = ["cs-a", "cs-b", "cs-c"];
    const router = new Router({ model_list: names.map((n) => deployment("chat", n, n)) });
    const asked: string[][] = [];
    router.setCustomRoutingStrategy({
      async getAvailableDeployment(_model, _request, candidates) {
        asked.push(candidates.map((c) => c.model_info.id));
        await new Promise((resolve) => setTimeout(resolve, 1));
        return candidates.find((c) => c.model_info.id === "cs-c") ?? candidates.at(-1);
      },
    });
    await script("cs-c", { error: "rate_limit" });
    const first = await router.completion({ model: "chat", messages });
    assertEquals(first._hidden_params.model_id, "cs-b", "first answer");
    const stream = await router.completion({ model: "chat", messages, stream: true });
    for await (const _ of stream) {
      /* drain */
    }
    assertEquals(stream._hidden_params.model_id, "cs-b", "streamed answer");
    assertEquals(asked, [names, ["cs-a", "cs-b"], ["cs-a", "cs-b"]], "candidates asked");
    assertEquals((await callsTo("cs-c")).length, 1, "calls to the cooled-down deployment");
  },
);

Deno.test(
  "imageEdit sends Deno Blobs as a FormData; files list and delete by signed id",
  async () => {
    const router = new Router({
      model_list: [
        deployment("img", "deno-img", "deno-img-1", { model: "openai/gpt-image-1" }),
        deployment("batch", "deno-files", "deno-files-1"),
      ],
      files_secret: "deno-files-secret-0123",
    });
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 3, 3]);
    const out: any = await router.imageEdit({
      model: "img",
      image: [png, new File([png], "b.png", { type: "image/png" })],
      mask: new Blob([png], { type: "image/png" }),
      prompt: "in deno",
    });
    const made = JSON.parse(atob(out.data[0].b64_json));
    assertEquals(made.deployment, "deno-img", "the deployment that edited");
    assertEquals(made.images.length, 2, "both images arrived");
    const [call] = (await callsTo("deno-img")) as any[];
    assertEquals(
      call.form.files.map((f: any) => [f.field, f.filename, f.size]),
      [
        ["image[]", "image.png", png.length],
        ["image[]", "b.png", png.length],
        ["mask", "mask.png", png.length],
      ],
      "the multipart parts",
    );
    const file: any = await router.createFile({ model: "batch", file: "{}", purpose: "batch" });
    const list: any = await router.listFiles({ model: "batch" });
    assertEquals(
      list.data.map((f: any) => f.id),
      [file.id],
      "listed with the signed id",
    );
    const gone: any = await router.deleteFile({ file_id: file.id });
    assertEquals(gone.deleted, true, "deleted");
    const e = await rejection(router.deleteFile({ file_id: "file-deno-files-1" }));
    assert(e instanceof errors.NotFoundError, `a made-up id is a NotFoundError, got ${e}`);
  },
);

Deno.test(
  "background_health_check_model_groups probes on a Deno timer; the failing deployment leaves rotation; close() stops it",
  async () => {
    await getJson("/__mock/mode", {
      method: "POST",
      body: JSON.stringify({ name: "deno-hc-a", spec: { kind: "down", error: "server" } }),
    });
    const router = new Router({
      model_list: [
        deployment("hc", "deno-hc-a", "deno-hc-a"),
        deployment("hc", "deno-hc-b", "deno-hc-b"),
      ],
      enable_health_check_routing: true,
      background_health_check_model_groups: ["hc"],
      health_check_interval: 1,
    });
    try {
      assertEquals((await callsTo("deno-hc-a")).length, 0, "no probe at construction");
      const deadline = Date.now() + 5000;
      while (
        (await callsTo("deno-hc-a")).length === 0 ||
        (await callsTo("deno-hc-b")).length === 0
      ) {
        assert(Date.now() < deadline, "a background probe of both deployments ran");
        await new Promise((r) => setTimeout(r, 50));
      }
      // The probe's result is booked once its reply has been read.
      await new Promise((r) => setTimeout(r, 300));
      const probes = (await callsTo("deno-hc-a")).length;
      for (let i = 0; i < 10; i++) {
        const res = await router.completion({ model: "hc", messages });
        assertEquals(res._hidden_params.model_id, "deno-hc-b", `request ${i}`);
      }
      const served = (await callsTo("deno-hc-a")).slice(probes);
      assert(
        served.every((c) => (c.body as any)?.messages?.[0]?.content === "ping"),
        "only probes reached the unhealthy deployment",
      );
    } finally {
      router.close();
    }
    const total = (await callsTo("deno-hc-a")).length + (await callsTo("deno-hc-b")).length;
    await new Promise((r) => setTimeout(r, 1300));
    const later = (await callsTo("deno-hc-a")).length + (await callsTo("deno-hc-b")).length;
    assertEquals(later, total, "no probe after close()");
  },
);
