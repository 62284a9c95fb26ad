// API keys never leave the Router: not in responses, errors (even when the upstream echoes the
// key), config errors, getDeployments(), getUsageStats() or log lines.
import assert from "node:assert/strict";
import { after, beforeEach, describe, it } from "node:test";

import { Router, T, chatRequest, errors, rejection, startMockServer } from "./fixture.mjs";

const mock = await startMockServer();
after(() => mock.close());
beforeEach(() => mock.reset());

const SECRET = "sk-live-SECRET-1234";
const SECRET_2 = "sk-live-OTHER-5678";
const HEADER_SECRET = "hdr-SECRET-9999";
const ALL = [SECRET, SECRET_2, HEADER_SECRET];

/** Every rendering of `value` a caller might log. */
function renderings(value) {
  if (value instanceof Error) {
    return [
      value.message,
      String(value.stack),
      String(value),
      JSON.stringify(value),
      JSON.stringify({ ...value }),
      ...Object.values(value).map((v) => (typeof v === "string" ? v : JSON.stringify(v))),
    ];
  }
  return [typeof value === "string" ? value : JSON.stringify(value)];
}

function assertNoSecret(value, what) {
  for (const text of renderings(value)) {
    for (const secret of ALL) {
      assert.ok(!String(text).includes(secret), `${what} leaks ${secret}: ${text}`);
    }
  }
}

/** A Router over deployments "a" and "b" with secret keys, capturing every log line. */
function secretRouter(options = {}) {
  const lines = [];
  const logger = Object.fromEntries(
    ["debug", "info", "warn", "error"].map((level) => [level, (m) => lines.push(`${level} ${m}`)]),
  );
  const router = new Router({
    model_list: [
      {
        model_name: "chat",
        litellm_params: {
          model: "openai/mock-a",
          api_base: mock.base("a"),
          api_key: SECRET,
          weight: 1_000_000,
          headers: { "x-api-key": HEADER_SECRET },
        },
        model_info: { id: "a" },
      },
      {
        model_name: "chat",
        litellm_params: {
          model: "openai/mock-b",
          api_base: mock.base("b"),
          api_key: "os.environ/LLMUX_TEST_SECRET_B",
          weight: 1,
        },
        model_info: { id: "b" },
      },
      {
        model_name: "solo",
        litellm_params: { model: "openai/mock-s", api_base: mock.base("s"), api_key: SECRET },
        model_info: { id: "s" },
      },
    ],
    env: { LLMUX_TEST_SECRET_B: SECRET_2 },
    set_verbose: true,
    debug_level: "DEBUG",
    logger,
    num_retries: 1,
    ...options,
  });
  return { router, lines };
}

const echo401 = (key) => ({
  status: 401,
  body: { error: { message: `Incorrect API key provided: ${key}`, type: "invalid_request_error" } },
});

describe("secrets stay secret", () => {
  it(
    "an os.environ/ secret nested in model_info or a forwarded object shows as ***",
    T,
    async () => {
      const router = new Router({
        model_list: [
          {
            model_name: "chat",
            litellm_params: {
              model: "openai/gpt-4o-mini",
              api_base: mock.base("a"),
              api_key: "os.environ/K",
              extra_body: { auth: { api_key: "os.environ/K" } },
            },
            model_info: { id: "a", api_key: "os.environ/K", nested: [{ token: "os.environ/K" }] },
          },
        ],
        env: { K: SECRET },
      });
      const [d] = router.getDeployments();
      assert.equal(d.model_info.api_key, "***");
      assert.equal(d.model_info.nested[0].token, "***");
      assert.equal(d.litellm_params.extra_body.auth.api_key, "***");
      assert.equal(JSON.stringify(router.getModelInfo("a")).includes(SECRET), false);
      // The forwarded object still goes upstream as configured.
      await router.completion(chatRequest());
      assert.equal(mock.callsTo("a")[0].body.auth.api_key, SECRET);
    },
  );

  it("the key is sent upstream, and appears nowhere in a successful answer", T, async () => {
    const { router, lines } = secretRouter();
    const res = await router.completion(chatRequest());
    assert.equal(mock.callsTo("a")[0].headers.authorization, `Bearer ${SECRET}`);
    assert.equal(mock.callsTo("a")[0].headers["x-api-key"], HEADER_SECRET);
    assertNoSecret(res, "response");
    assertNoSecret(res._hidden_params, "_hidden_params");
    assertNoSecret(lines, "log lines");
  });

  it("a 401 whose body echoes the key: the error carries no key", T, async () => {
    mock.script("s", echo401(SECRET));
    const { router, lines } = secretRouter();
    const err = await rejection(router.completion(chatRequest("solo")));
    assert.ok(err instanceof errors.AuthenticationError, err.name);
    assert.equal(err.status, 401);
    assert.match(err.message, /Incorrect API key provided/);
    assertNoSecret(err, "AuthenticationError");
    assertNoSecret(lines, "log lines");
  });

  it("echoed keys are scrubbed through retries, cooldowns and the retry's own 401", T, async () => {
    mock.script("a", echo401(SECRET));
    mock.script("b", echo401(SECRET_2));
    const { router, lines } = secretRouter();
    const err = await rejection(router.completion(chatRequest()));
    assert.ok(err instanceof errors.AuthenticationError, err.name);
    assert.equal(err.attempts, 2);
    assertNoSecret(err, "AuthenticationError after a retry");
    assert.ok(lines.length > 0, "set_verbose logged the retry and the cooldowns");
    assertNoSecret(lines, "log lines");
    assertNoSecret(await router.getUsageStats(), "getUsageStats()");
  });

  it(
    "a secret header value (api-key) echoed by the upstream is scrubbed from the error",
    T,
    async () => {
      const router = new Router({
        model_list: [
          {
            model_name: "chat",
            litellm_params: {
              model: "openai/mock-h",
              api_base: mock.base("h"),
              headers: { "api-key": HEADER_SECRET },
            },
          },
        ],
        num_retries: 0,
      });
      mock.script("h", echo401(HEADER_SECRET));
      const err = await rejection(router.completion(chatRequest()));
      assert.ok(err instanceof errors.AuthenticationError, err.name);
      assert.equal(router.getDeployments()[0].litellm_params.headers["api-key"], "***");
      assertNoSecret(err, "AuthenticationError");
    },
  );

  it("a timeout and a connection error carry no key", T, async () => {
    mock.script("s", { hang: true });
    const { router, lines } = secretRouter({ timeout: 0.1, num_retries: 0 });
    const timeout = await rejection(router.completion(chatRequest("solo")));
    assert.ok(timeout instanceof errors.Timeout, timeout.name);
    assertNoSecret(timeout, "Timeout");
    mock.script("s", { reset: "before_headers" });
    const reset = await rejection(router.completion(chatRequest("solo")));
    assert.ok(reset instanceof errors.APIConnectionError, reset.name);
    assertNoSecret(reset, "APIConnectionError");
    assertNoSecret(lines, "log lines");
  });

  it("getDeployments() and getUsageStats() carry no key", T, async () => {
    const { router } = secretRouter();
    await router.completion(chatRequest());
    const deployments = router.getDeployments();
    assertNoSecret(deployments, "getDeployments()");
    assert.equal(deployments[0].litellm_params.api_key, "***");
    assert.equal(deployments[0].litellm_params.headers["x-api-key"], "***");
    assert.equal(deployments[1].litellm_params.api_key, "***");
    assertNoSecret(await router.getUsageStats(), "getUsageStats()");
  });

  it("config errors carry no key", () => {
    const base = (params, extra = {}) => ({
      model_list: [
        {
          model_name: "chat",
          litellm_params: { model: "openai/mock-a", api_key: SECRET, ...params },
        },
      ],
      ...extra,
    });
    const bad = [
      base({ aws_role_name: SECRET }),
      base({ api_base: "not-a-url" }),
      base({ headers: { Authorization: `Bearer ${HEADER_SECRET}\n` } }),
      base({ model: "sagemaker/x" }),
      base({}, { cache_responses: true, cache_kwargs: { password: SECRET } }),
      base({}, { not_an_option: SECRET }),
      base({ api_key: "os.environ/LLMUX_TEST_UNSET_VAR" }, { env: { OTHER: SECRET } }),
      base({}, { model_list: [{ model_name: "chat", litellm_params: { api_key: SECRET } }] }),
    ];
    for (const options of bad) {
      let err;
      try {
        new Router(options);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof errors.ConfigError, `expected a ConfigError for ${options}`);
      assertNoSecret(err, `ConfigError at ${err.field}`);
    }
  });
});

describe("redirects never carry credentials", () => {
  /** A server that answers every request with `status` and `location`, or records it. */
  async function server(handler) {
    const { createServer } = await import("node:http");
    const seen = [];
    const srv = createServer((req, res) => {
      seen.push({ url: req.url, headers: req.headers });
      req.resume();
      req.on("end", () => handler(req, res));
    });
    await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${srv.address().port}`;
    return { base, seen, close: () => new Promise((resolve) => srv.close(resolve)) };
  }

  // One deployment per auth style: OpenAI (the host loop), Anthropic and Azure (the core's
  // own fetch), Gemini (x-goog-api-key).
  const providers = [
    ["openai", (base) => ({ model: "openai/gpt-4o-mini", api_base: `${base}/v1` })],
    ["anthropic", (base) => ({ model: "anthropic/claude-3-5-haiku-latest", api_base: base })],
    ["azure", (base) => ({ model: "azure/dep", api_base: base, api_version: "2024-10-21" })],
    ["gemini", (base) => ({ model: "gemini/gemini-2.0-flash", api_base: base })],
  ];

  for (const [name, params] of providers) {
    it(
      `${name}: a 307 to another origin is an error; the other origin sees nothing`,
      T,
      async () => {
        const other = await server((req, res) => res.writeHead(200).end("{}"));
        const origin = await server((req, res) =>
          res.writeHead(307, { location: `${other.base}${req.url}` }).end(),
        );
        try {
          const router = new Router({
            model_list: [
              { model_name: "chat", litellm_params: { ...params(origin.base), api_key: SECRET } },
            ],
            num_retries: 0,
          });
          const err = await rejection(router.completion(chatRequest()));
          assert.ok(err instanceof errors.LlmuxError, `${err?.name}: ${err?.message}`);
          assert.equal(origin.seen.length, 1);
          assert.equal(other.seen.length, 0, "the redirect was not followed");
          for (const text of renderings(err)) assert.ok(!text.includes(SECRET));
        } finally {
          await other.close();
          await origin.close();
        }
      },
    );
  }
});

describe("altered echoes, api_base credentials and header values (#16)", () => {
  // A key with characters that URL-encoding and base64 change.
  const KEY = "sk-live/SECRET+key=1234/abcd";
  const router = (params = {}, options = {}) =>
    new Router({
      model_list: [
        {
          model_name: "solo",
          litellm_params: {
            model: "openai/mock-s",
            api_base: mock.base("s"),
            api_key: KEY,
            ...params,
          },
          model_info: { id: "s" },
        },
      ],
      num_retries: 0,
      ...options,
    });
  const b64 = (s) => Buffer.from(s).toString("base64");
  const variants = {
    "URL-encoded": encodeURIComponent(KEY),
    "upper-cased": KEY.toUpperCase(),
    "lower-cased": KEY.toLowerCase(),
    "minus its last character": KEY.slice(0, -1),
    "minus its first character": KEY.slice(1),
    base64: b64(KEY),
    base64url: Buffer.from(KEY).toString("base64url"),
    "base64 of user:key (Basic auth)": b64(`user:${KEY}`),
    hex: Buffer.from(KEY).toString("hex"),
    "JSON-escaped slashes": KEY.replaceAll("/", "\\/"),
  };

  for (const [how, echoed] of Object.entries(variants)) {
    it(`an upstream error echoing the key ${how} reaches the caller scrubbed`, T, async () => {
      mock.script("s", echo401(echoed));
      const err = await rejection(router().completion(chatRequest("solo")));
      assert.ok(err instanceof errors.AuthenticationError, err.name);
      assert.match(err.message, /Incorrect API key provided: /);
      for (const text of renderings(err)) {
        assert.ok(!text.includes(echoed), `${how} leaks: ${text}`);
        assert.ok(!text.toLowerCase().includes("secret+key"), `${how} leaks: ${text}`);
      }
    });
  }

  it("a credential-shaped token no deployment holds is masked too", T, async () => {
    const minted = "ya29.a0AfH6SMBc-minted-access-token-0123456789";
    mock.script("s", echo401(`Bearer ${minted}`));
    const err = await rejection(router().completion(chatRequest("solo")));
    for (const text of renderings(err)) assert.ok(!text.includes("minted-access"), text);
  });

  it(
    "a query token in api_base is sent upstream, after the path, and shown nowhere",
    T,
    async () => {
      const TOKEN = "qtok-SECRET-77aa";
      const store = new Map();
      const r = router(
        { api_base: `${mock.base("s")}?token=${TOKEN}&key=k2-SECRET-88bb` },
        { cache_responses: true, cache: store },
      );
      const res = await r.completion(chatRequest("solo"));
      const call = mock.callsTo("s")[0];
      assert.equal(call.path, "/s/v1/chat/completions", "the path goes before the query");
      assert.equal(call.query.token, TOKEN);
      assert.equal(res._hidden_params.api_base, `${mock.base("s")}?token=***&key=***`);
      const shown = JSON.stringify([
        r.getDeployments(),
        res._hidden_params,
        await r.healthCheck(),
        await r.getUsageStats(),
      ]);
      assert.ok(!shown.includes(TOKEN) && !shown.includes("k2-SECRET"), shown);
      assert.ok(shown.includes("token=***"));
      // The cached entry (and its hit) carry the shown form only.
      const hit = await r.completion(chatRequest("solo"));
      assert.equal(hit._hidden_params.cache_hit, true);
      assert.ok(!JSON.stringify(hit._hidden_params).includes(TOKEN));
      const stored = [...store.values()].join("\n");
      assert.ok(stored.includes('"api_base"') && stored.includes("token=***"), stored);
      assert.ok(!stored.includes(TOKEN) && !stored.includes("k2-SECRET"), stored);
      // An upstream error echoing the whole URL is scrubbed as well.
      mock.script("s", echo401(`${mock.base("s")}/chat/completions?token=${TOKEN}`));
      const err = await rejection(r.completion(chatRequest("solo", { temperature: 0.3 })));
      for (const text of renderings(err)) assert.ok(!text.includes(TOKEN), text);
    },
  );

  it(
    "userinfo in api_base never appears in listings, health output or transport errors",
    T,
    async () => {
      const base = mock.base("s").replace("http://", "http://admin:pw-SECRET-99@");
      const r = router({ api_base: base });
      const listed = r.getDeployments()[0].litellm_params.api_base;
      assert.equal(listed, mock.base("s").replace("http://", "http://***@"));
      const health = await r.healthCheck();
      // Node's fetch refuses a URL with credentials: a transport error that quotes the URL.
      const err = await rejection(r.completion(chatRequest("solo")));
      assert.ok(err instanceof errors.LlmuxError, `${err.name}: ${err.message}`);
      for (const text of [...renderings(err), JSON.stringify(health), JSON.stringify(listed)]) {
        assert.ok(!text.includes("pw-SECRET") && !text.includes("admin:"), text);
      }
    },
  );

  it("every configured header value is hidden, whatever the header's name", T, async () => {
    const VALUE = "custom-SECRET-value-42";
    const r = router({
      headers: { "x-tenant": VALUE },
      extra_headers: { "x-other": "plain-ish-value" },
    });
    const listed = r.getDeployments()[0].litellm_params;
    assert.deepEqual(listed.headers, { "x-tenant": "***" });
    assert.deepEqual(listed.extra_headers, { "x-other": "***" });
    mock.script("s", echo401(`tenant ${VALUE} unknown`));
    const err = await rejection(r.completion(chatRequest("solo")));
    assert.equal(mock.callsTo("s")[0].headers["x-tenant"], VALUE, "still sent upstream");
    for (const text of renderings(err)) assert.ok(!text.includes(VALUE), text);
    assert.ok(!JSON.stringify(await r.healthCheck()).includes(VALUE));
  });
});
