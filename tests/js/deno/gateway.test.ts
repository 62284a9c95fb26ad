// Tier 3b: router.fetch inside Deno (the package's Deno entry), called with web Requests, against
// the loopback mock provider. Run by run.mjs with the other Deno tests.
// @ts-types="../../../js/index.d.ts"
import { Router } from "../../../js/browser.js";

const MOCK_URL = Deno.env.get("MOCK_URL") ?? "";
if (!MOCK_URL.startsWith("http://127.0.0.1:")) {
  throw new Error("MOCK_URL is not set: run `node tests/js/deno/run.mjs`");
}
const KEY = "sk-deno-gateway";
const messages = [{ role: "user", content: "hi" }];

function assertEquals(actual: unknown, expected: unknown, what: string) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}
const callsTo = async (
  name: string,
): Promise<Array<{ path: string; headers: Record<string, string> }>> =>
  (await (await fetch(`${MOCK_URL}/__mock/calls?name=${name}`)).json()).calls;

const router = new Router({
  model_list: [
    {
      model_name: "chat",
      litellm_params: {
        model: "openai/gpt-4o-mini",
        api_base: `${MOCK_URL}/deno-gw/v1`,
        api_key: "sk-deno-upstream",
      },
      model_info: { id: "deno-gw-1" },
    },
  ],
  gateway: { master_key: "os.environ/DENO_GW_KEY" },
});

const post = (body: unknown, key?: string, env?: Record<string, string>) =>
  router.fetch(
    new Request("http://gateway.test/v1/chat/completions", {
      method: "POST",
      headers: key ? { authorization: `Bearer ${key}` } : {},
      body: JSON.stringify(body),
    }),
    env,
  );

Deno.test(
  "router.fetch in Deno: the key from env answers; wrong or missing keys are 401s",
  async () => {
    const env = { DENO_GW_KEY: KEY };
    const ok = await post({ model: "chat", messages }, KEY, env);
    assertEquals(ok.status, 200, "status");
    assertEquals(ok.headers.get("x-litellm-model-id"), "deno-gw-1", "x-litellm-model-id");
    assertEquals((await ok.json()).choices[0].message.content, "Hello from deno-gw", "answer");
    for (const key of [undefined, "sk-wrong"]) {
      const res = await post({ model: "chat", messages }, key, env);
      assertEquals(res.status, 401, `status with key ${key}`);
      assertEquals((await res.json()).error.code, "invalid_api_key", "code");
    }
    const unset = await post({ model: "chat", messages }, KEY);
    assertEquals(unset.status, 401, "DENO_GW_KEY not set anywhere");
    await unset.body?.cancel();
    const calls = await callsTo("deno-gw");
    assertEquals(calls.length, 1, "upstream calls");
    assertEquals(calls[0].headers.authorization, "Bearer sk-deno-upstream", "upstream key");
  },
);

Deno.test(
  "router.fetch in Deno: api_base in the body is refused before any upstream call",
  async () => {
    const before = (await callsTo("deno-gw")).length;
    const res = await post({ model: "chat", messages, api_base: "http://127.0.0.1:9/x" }, KEY, {
      DENO_GW_KEY: KEY,
    });
    assertEquals(res.status, 400, "status");
    const { error } = await res.json();
    assertEquals([error.param, error.code], ["api_base", "forbidden_parameter"], "error");
    assertEquals((await callsTo("deno-gw")).length, before, "no upstream call");
  },
);
