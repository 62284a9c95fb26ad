// Fault-injection scenarios (issue 4), shared by the Node runner (node.test.mjs) and the
// workerd runner (worker.js + workerd.test.mjs). Plain data and plain JS only: no Node imports,
// because workerd imports this module too.
//
// A scenario:
//   name         the test name: the fault and the behaviour it must produce
//   deployments  [{ name, group, weight?, params?, info? }]: one model_list entry per mock
//                deployment `name` (model `openai/mock-<name>`, model_info.id = name)
//   script       { name: [step, …] }: one-shot mock steps (tests/mock/server.mjs `Step`)
//   modes        { name: ModeSpec }: persistent mock behaviour
//   options      Router options besides model_list
//   requests     [{ request?, start_ms?, calls, outcome }] run one after another, or all at
//                once when `concurrent` (each started `start_ms` after the first):
//                  calls    the deployments its upstream calls went to, in order (every
//                           request's `calls`, concatenated, is the mock's whole call log)
//                  outcome  { ok: "<deployment>", fallback?: "<group>" | null }
//                           or { error: "<ErrorClass>", status, retryable? }
//   cooldown     { name: false | true | [min_ms, max_ms] } after the last request: not cooling,
//                cooling, or cooling for that much longer
//   failures     { name: failures_by_kind } after the last request ({} when none)
//   elapsed_ms   [min, max] wall time of all requests, when timing is the point
//
// Selection is deterministic: weights 1e6 vs 1 make the first pick known (a wrong pick has a
// one-in-a-million chance), and a retry goes to a healthy untried deployment whatever its weight.

export const MESSAGES = [{ role: "user", content: "Hi there!" }];

/** A prompt of about 100 tokens (the router estimates 4 characters per token). */
export const LONG_MESSAGES = [{ role: "user", content: "word ".repeat(80) }];

const FIRST = 1_000_000;
const SECOND = 1;
/** The usual pair: `a` is always picked first, `b` takes the retry. */
const PAIR = [
  { name: "a", group: "chat", weight: FIRST },
  { name: "b", group: "chat", weight: SECOND },
];
const COOL = 30; // seconds: long enough that a cooldown is still visible when the test checks
const HTML_502 =
  "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const HTML_200 = "<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>";

const chat = (extra = {}) => ({ model: "chat", messages: MESSAGES, ...extra });

/** @type {Array<Record<string, any>>} */
export const SCENARIOS = [
  // ---- rate limits -------------------------------------------------------------------------
  {
    name: "429 with retry-after: 2 -> retried at once on b; a cools down for the retry-after, not cooldown_time",
    deployments: PAIR,
    script: { a: [{ error: "rate_limit", headers: { "retry-after": "2" } }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: [1_000, 2_000], b: false },
    failures: { a: { RateLimitError: 1 }, b: {} },
  },
  {
    name: "429 without retry-after -> retried at once on b; a cools down for cooldown_time",
    deployments: PAIR,
    script: { a: [{ error: "rate_limit" }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: [COOL * 1000 - 5_000, COOL * 1000], b: false },
    failures: { a: { RateLimitError: 1 }, b: {} },
  },
  {
    name: "429 on both deployments (num_retries 1) -> RateLimitError 429 after one call each; both cool down",
    deployments: PAIR,
    script: { a: [{ error: "rate_limit" }], b: [{ error: "rate_limit" }] },
    options: { cooldown_time: COOL, num_retries: 1 },
    requests: [{ calls: ["a", "b"], outcome: { error: "RateLimitError", status: 429 } }],
    cooldown: { a: true, b: true },
    failures: { a: { RateLimitError: 1 }, b: { RateLimitError: 1 } },
  },

  // ---- 5xx ---------------------------------------------------------------------------------
  {
    name: "500 on a -> retried at once on b; one failure does not cool a down (allowed_fails 3)",
    deployments: PAIR,
    script: { a: [{ error: "server" }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: false, b: false },
    failures: { a: { InternalServerError: 1 }, b: {} },
  },
  {
    name: "500 on a with allowed_fails: 0 -> retried on b; the single failure cools a down",
    deployments: PAIR,
    script: { a: [{ error: "server" }] },
    options: { cooldown_time: COOL, allowed_fails: 0 },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: [COOL * 1000 - 5_000, COOL * 1000], b: false },
    failures: { a: { InternalServerError: 1 }, b: {} },
  },
  {
    name: "502 on both deployments (num_retries 1) -> InternalServerError with status 502",
    deployments: PAIR,
    script: { a: [{ error: "bad_gateway" }], b: [{ error: "bad_gateway" }] },
    options: { cooldown_time: COOL, num_retries: 1 },
    requests: [
      {
        calls: ["a", "b"],
        outcome: { error: "InternalServerError", status: 502, retryable: true },
      },
    ],
    cooldown: { a: false, b: false },
    failures: { a: { InternalServerError: 1 }, b: { InternalServerError: 1 } },
  },
  {
    name: "503 on a -> ServiceUnavailableError counted against a; retried on b",
    deployments: PAIR,
    script: { a: [{ error: "unavailable" }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: false, b: false },
    failures: { a: { ServiceUnavailableError: 1 }, b: {} },
  },
  {
    name: "503 on both deployments (num_retries 1) -> ServiceUnavailableError 503",
    deployments: PAIR,
    script: { a: [{ error: "unavailable" }], b: [{ error: "unavailable" }] },
    options: { cooldown_time: COOL, num_retries: 1 },
    requests: [{ calls: ["a", "b"], outcome: { error: "ServiceUnavailableError", status: 503 } }],
    cooldown: { a: false, b: false },
    failures: { a: { ServiceUnavailableError: 1 }, b: { ServiceUnavailableError: 1 } },
  },
  {
    name: "504 on a -> Timeout counted against a (not benched at once); retried on b",
    deployments: PAIR,
    script: { a: [{ status: 504 }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: false, b: false },
    failures: { a: { Timeout: 1 }, b: {} },
  },
  {
    name: "504 on both deployments (num_retries 1) -> Timeout with status 504",
    deployments: PAIR,
    script: { a: [{ status: 504 }], b: [{ status: 504 }] },
    options: { cooldown_time: COOL, num_retries: 1 },
    requests: [{ calls: ["a", "b"], outcome: { error: "Timeout", status: 504, retryable: true } }],
    cooldown: { a: false, b: false },
    failures: { a: { Timeout: 1 }, b: { Timeout: 1 } },
  },
  {
    name: "a 200 whose body is an error object -> InternalServerError on a; retried on b",
    deployments: PAIR,
    script: {
      a: [
        { status: 200, body: { error: { message: "upstream overloaded", type: "server_error" } } },
      ],
    },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: false, b: false },
    failures: { a: { InternalServerError: 1 }, b: {} },
  },

  // ---- timeouts ----------------------------------------------------------------------------
  {
    name: "a hang past timeout (0.3 s) -> Timeout on a, retried on b; the client timeout counts toward allowed_fails: 0",
    deployments: PAIR,
    script: { a: [{ hang: true }] },
    options: { cooldown_time: COOL, timeout: 0.3, allowed_fails: 0 },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: [COOL * 1000 - 5_000, COOL * 1000], b: false },
    failures: { a: { Timeout: 1 }, b: {} },
    elapsed_ms: [280, 3_000],
  },
  {
    name: "a hang on both deployments (timeout 0.3 s, num_retries 1) -> Timeout 408; a client timeout does not bench at once",
    deployments: PAIR,
    script: { a: [{ hang: true }], b: [{ hang: true }] },
    options: { cooldown_time: COOL, timeout: 0.3, num_retries: 1 },
    requests: [{ calls: ["a", "b"], outcome: { error: "Timeout", status: 408, retryable: true } }],
    cooldown: { a: false, b: false },
    failures: { a: { Timeout: 1 }, b: { Timeout: 1 } },
    elapsed_ms: [580, 4_000],
  },

  // ---- transport faults and broken bodies ---------------------------------------------------
  {
    name: "connection reset before headers -> APIConnectionError on a; retried on b",
    deployments: PAIR,
    script: { a: [{ reset: "before_headers" }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: false, b: false },
    failures: { a: { APIConnectionError: 1 }, b: {} },
  },
  {
    name: "connection reset before headers on both (num_retries 1) -> APIConnectionError, retryable",
    deployments: PAIR,
    script: { a: [{ reset: "before_headers" }], b: [{ reset: "before_headers" }] },
    options: { cooldown_time: COOL, num_retries: 1 },
    requests: [
      { calls: ["a", "b"], outcome: { error: "APIConnectionError", status: 500, retryable: true } },
    ],
    cooldown: { a: false, b: false },
    failures: { a: { APIConnectionError: 1 }, b: { APIConnectionError: 1 } },
  },
  {
    name: "connection reset mid-body -> APIConnectionError on a; retried on b",
    deployments: PAIR,
    script: { a: [{ reset: "mid_body" }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: false, b: false },
    failures: { a: { APIConnectionError: 1 }, b: {} },
  },
  {
    name: "connection reset mid-body on both (num_retries 1) -> APIConnectionError",
    deployments: PAIR,
    script: { a: [{ reset: "mid_body" }], b: [{ reset: "mid_body" }] },
    options: { cooldown_time: COOL, num_retries: 1 },
    requests: [
      { calls: ["a", "b"], outcome: { error: "APIConnectionError", status: 500, retryable: true } },
    ],
    cooldown: { a: false, b: false },
    failures: { a: { APIConnectionError: 1 }, b: { APIConnectionError: 1 } },
  },
  {
    name: "malformed JSON in a 200 -> InternalServerError on a; retried on b",
    deployments: PAIR,
    script: { a: [{ body_raw: '{"id": ' }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: false, b: false },
    failures: { a: { InternalServerError: 1 }, b: {} },
  },
  {
    name: "malformed JSON in a 200 on the only deployment (num_retries 0) -> InternalServerError",
    deployments: [{ name: "solo", group: "chat" }],
    script: { solo: [{ body_raw: '{"id": ' }] },
    options: { num_retries: 0 },
    requests: [{ calls: ["solo"], outcome: { error: "InternalServerError", status: 500 } }],
    cooldown: { solo: false },
    failures: { solo: { InternalServerError: 1 } },
  },
  {
    name: "an empty 200 body -> InternalServerError on a; retried on b",
    deployments: PAIR,
    script: { a: [{ body_raw: "" }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: false, b: false },
    failures: { a: { InternalServerError: 1 }, b: {} },
  },
  {
    name: "an empty 200 body on both (num_retries 1) -> InternalServerError",
    deployments: PAIR,
    script: { a: [{ body_raw: "" }], b: [{ body_raw: "" }] },
    options: { cooldown_time: COOL, num_retries: 1 },
    requests: [{ calls: ["a", "b"], outcome: { error: "InternalServerError", status: 500 } }],
    cooldown: { a: false, b: false },
    failures: { a: { InternalServerError: 1 }, b: { InternalServerError: 1 } },
  },
  {
    name: "an HTML error page with 502 -> InternalServerError 502 on a; retried on b",
    deployments: PAIR,
    script: { a: [{ status: 502, body_raw: HTML_502 }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: false, b: false },
    failures: { a: { InternalServerError: 1 }, b: {} },
  },
  {
    name: "an HTML error page with 502 on both (num_retries 1) -> InternalServerError 502",
    deployments: PAIR,
    script: { a: [{ status: 502, body_raw: HTML_502 }], b: [{ status: 502, body_raw: HTML_502 }] },
    options: { cooldown_time: COOL, num_retries: 1 },
    requests: [{ calls: ["a", "b"], outcome: { error: "InternalServerError", status: 502 } }],
    cooldown: { a: false, b: false },
    failures: { a: { InternalServerError: 1 }, b: { InternalServerError: 1 } },
  },
  {
    name: "an HTML page with 200 -> InternalServerError on a; retried on b",
    deployments: PAIR,
    script: { a: [{ status: 200, body_raw: HTML_200 }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: false, b: false },
    failures: { a: { InternalServerError: 1 }, b: {} },
  },
  {
    name: "an HTML page with 200 on both (num_retries 1) -> InternalServerError",
    deployments: PAIR,
    script: { a: [{ status: 200, body_raw: HTML_200 }], b: [{ status: 200, body_raw: HTML_200 }] },
    options: { cooldown_time: COOL, num_retries: 1 },
    requests: [{ calls: ["a", "b"], outcome: { error: "InternalServerError", status: 500 } }],
    cooldown: { a: false, b: false },
    failures: { a: { InternalServerError: 1 }, b: { InternalServerError: 1 } },
  },

  // ---- request errors and fallbacks ---------------------------------------------------------
  {
    name: "context-window error -> not retried in its group; context_window_fallbacks answer, not the generic fallbacks",
    deployments: [
      ...PAIR,
      { name: "big", group: "chat-big" },
      { name: "other", group: "chat-other" },
    ],
    script: { a: [{ error: "context_window" }] },
    options: {
      cooldown_time: COOL,
      context_window_fallbacks: [{ chat: ["chat-big"] }],
      fallbacks: [{ chat: ["chat-other"] }],
    },
    requests: [{ calls: ["a", "big"], outcome: { ok: "big", fallback: "chat-big" } }],
    cooldown: { a: false, b: false, big: false },
    failures: { a: { ContextWindowExceededError: 1 }, b: {}, big: {}, other: {} },
  },
  {
    name: "context-window error without context_window_fallbacks -> the generic fallbacks answer",
    deployments: [...PAIR, { name: "other", group: "chat-other" }],
    script: { a: [{ error: "context_window" }] },
    options: { cooldown_time: COOL, fallbacks: [{ chat: ["chat-other"] }] },
    requests: [{ calls: ["a", "other"], outcome: { ok: "other", fallback: "chat-other" } }],
    cooldown: { a: false, b: false },
    failures: { a: { ContextWindowExceededError: 1 }, b: {} },
  },
  {
    name: "context-window error with no fallbacks at all -> ContextWindowExceededError 400 after one call",
    deployments: PAIR,
    script: { a: [{ error: "context_window" }] },
    options: { cooldown_time: COOL },
    requests: [
      {
        calls: ["a"],
        outcome: { error: "ContextWindowExceededError", status: 400, retryable: false },
      },
    ],
    cooldown: { a: false, b: false },
    failures: { a: { ContextWindowExceededError: 1 }, b: {} },
  },
  {
    name: "content-policy error -> not retried; content_policy_fallbacks answer, not the generic fallbacks",
    deployments: [
      ...PAIR,
      { name: "safe", group: "chat-safe" },
      { name: "other", group: "chat-other" },
    ],
    script: { a: [{ error: "content_policy" }] },
    options: {
      cooldown_time: COOL,
      content_policy_fallbacks: [{ chat: ["chat-safe"] }],
      fallbacks: [{ chat: ["chat-other"] }],
    },
    requests: [{ calls: ["a", "safe"], outcome: { ok: "safe", fallback: "chat-safe" } }],
    cooldown: { a: false, b: false, safe: false },
    failures: { a: { ContentPolicyViolationError: 1 }, b: {}, safe: {}, other: {} },
  },
  {
    name: "401 on a -> retried on b; a is benched at once for cooldown_time",
    deployments: PAIR,
    script: { a: [{ error: "auth" }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: [COOL * 1000 - 5_000, COOL * 1000], b: false },
    failures: { a: { AuthenticationError: 1 }, b: {} },
  },
  {
    name: "401 on both deployments -> AuthenticationError 401, not retried once every deployment was tried",
    deployments: PAIR,
    script: { a: [{ error: "auth" }], b: [{ error: "auth" }] },
    options: { cooldown_time: COOL, num_retries: 2 },
    requests: [
      {
        calls: ["a", "b"],
        outcome: { error: "AuthenticationError", status: 401, retryable: false },
      },
    ],
    cooldown: { a: true, b: true },
    failures: { a: { AuthenticationError: 1 }, b: { AuthenticationError: 1 } },
  },
  {
    name: "404 on a -> retried on b; a is benched at once",
    deployments: PAIR,
    script: { a: [{ error: "not_found" }] },
    options: { cooldown_time: COOL },
    requests: [{ calls: ["a", "b"], outcome: { ok: "b" } }],
    cooldown: { a: true, b: false },
    failures: { a: { NotFoundError: 1 }, b: {} },
  },
  {
    name: "400 -> BadRequestError after one call: not retried on b, nothing counted or cooled",
    deployments: PAIR,
    script: { a: [{ error: "bad_request" }] },
    options: { cooldown_time: COOL, allowed_fails: 0 },
    requests: [
      { calls: ["a"], outcome: { error: "BadRequestError", status: 400, retryable: false } },
    ],
    cooldown: { a: false, b: false },
    failures: { a: { BadRequestError: 1 }, b: {} },
  },

  // ---- retry order and backoff --------------------------------------------------------------
  {
    name: "retries go to untried deployments first: a (500), then b (500), then c answers",
    deployments: [
      { name: "a", group: "chat", weight: 1e12 },
      { name: "b", group: "chat", weight: 1e6 },
      { name: "c", group: "chat", weight: 1 },
    ],
    script: { a: [{ error: "server" }], b: [{ error: "server" }] },
    options: { cooldown_time: COOL, num_retries: 2 },
    requests: [{ calls: ["a", "b", "c"], outcome: { ok: "c" } }],
    cooldown: { a: false, b: false, c: false },
    failures: { a: { InternalServerError: 1 }, b: { InternalServerError: 1 }, c: {} },
    elapsed_ms: [0, 1_400], // a backoff would take at least 0.5 s + 1 s
  },
  {
    name: "single-deployment group: a 500, then success after one backoff (0.5-1.25 s); never cooled down",
    deployments: [{ name: "solo", group: "chat" }],
    script: { solo: [{ error: "server" }] },
    options: { cooldown_time: COOL, num_retries: 1, allowed_fails: 0 },
    requests: [{ calls: ["solo", "solo"], outcome: { ok: "solo" } }],
    cooldown: { solo: false },
    failures: { solo: { InternalServerError: 1 } },
    elapsed_ms: [480, 2_500],
  },

  // ---- cooldowns -> NoDeploymentsAvailableError ---------------------------------------------
  {
    name: "every deployment cooling -> NoDeploymentsAvailableError (retryable) with zero upstream calls; fallbacks still answer",
    deployments: [...PAIR, { name: "fb", group: "chat-fb" }],
    script: { a: [{ error: "rate_limit" }], b: [{ error: "rate_limit" }] },
    options: { cooldown_time: COOL, num_retries: 1, fallbacks: [{ chat: ["chat-fb"] }] },
    requests: [
      {
        request: chat({ disable_fallbacks: true }),
        calls: ["a", "b"],
        outcome: { error: "RateLimitError", status: 429 },
      },
      {
        request: chat({ disable_fallbacks: true }),
        calls: [],
        outcome: { error: "NoDeploymentsAvailableError", status: 429, retryable: true },
      },
      { calls: ["fb"], outcome: { ok: "fb", fallback: "chat-fb" } },
    ],
    cooldown: { a: true, b: true, fb: false },
    failures: { a: { RateLimitError: 1 }, b: { RateLimitError: 1 }, fb: {} },
  },

  {
    name: "both deployments rate-limited with fallbacks configured -> falls back at once, without a backoff sleep",
    deployments: [...PAIR, { name: "fb", group: "chat-fb" }],
    script: { a: [{ error: "rate_limit" }], b: [{ error: "rate_limit" }] },
    options: { cooldown_time: COOL, num_retries: 2, fallbacks: [{ chat: ["chat-fb"] }] },
    requests: [{ calls: ["a", "b", "fb"], outcome: { ok: "fb", fallback: "chat-fb" } }],
    cooldown: { a: true, b: true, fb: false },
    failures: { a: { RateLimitError: 1 }, b: { RateLimitError: 1 }, fb: {} },
    elapsed_ms: [0, 400],
  },

  // ---- max_fallbacks ------------------------------------------------------------------------
  {
    name: "max_fallbacks: 2 bounds the depth of a fallback chain: g0 -> g1 -> g2 fail, g3 is never called",
    deployments: [0, 1, 2, 3].map((i) => ({ name: `d${i}`, group: `g${i}` })),
    modes: { d0: { kind: "down" }, d1: { kind: "down" }, d2: { kind: "down" } },
    options: {
      num_retries: 0,
      max_fallbacks: 2,
      fallbacks: [{ g0: ["g1"] }, { g1: ["g2"] }, { g2: ["g3"] }],
    },
    requests: [
      {
        request: { model: "g0", messages: MESSAGES },
        calls: ["d0", "d1", "d2"],
        outcome: { error: "InternalServerError", status: 500 },
      },
    ],
    cooldown: { d0: false, d1: false, d2: false },
    failures: {
      d0: { InternalServerError: 1 },
      d1: { InternalServerError: 1 },
      d2: { InternalServerError: 1 },
      d3: {},
    },
  },
  {
    name: "max_fallbacks: 3 lets the same chain reach g3, which answers",
    deployments: [0, 1, 2, 3].map((i) => ({ name: `d${i}`, group: `g${i}` })),
    modes: { d0: { kind: "down" }, d1: { kind: "down" }, d2: { kind: "down" } },
    options: {
      num_retries: 0,
      max_fallbacks: 3,
      fallbacks: [{ g0: ["g1"] }, { g1: ["g2"] }, { g2: ["g3"] }],
    },
    requests: [
      {
        request: { model: "g0", messages: MESSAGES },
        calls: ["d0", "d1", "d2", "d3"],
        outcome: { ok: "d3", fallback: "g3" },
      },
    ],
    cooldown: { d0: false, d1: false, d2: false, d3: false },
    failures: { d0: { InternalServerError: 1 }, d3: {} },
  },

  // ---- pre-call checks and parallel limits --------------------------------------------------
  {
    name: "enable_pre_call_checks drops the favoured deployment whose context window is too small",
    deployments: [
      { name: "a", group: "chat", weight: FIRST, info: { max_input_tokens: 16 } },
      { name: "b", group: "chat", weight: SECOND, info: { max_input_tokens: 100_000 } },
    ],
    options: { enable_pre_call_checks: true },
    requests: [
      { request: { model: "chat", messages: LONG_MESSAGES }, calls: ["b"], outcome: { ok: "b" } },
    ],
    cooldown: { a: false, b: false },
    failures: { a: {}, b: {} },
  },
  {
    name: "enable_pre_call_checks with every window too small -> no upstream call to the group; context_window_fallbacks answer",
    deployments: [
      { name: "a", group: "chat", weight: FIRST, info: { max_input_tokens: 16 } },
      { name: "b", group: "chat", weight: SECOND, info: { max_input_tokens: 16 } },
      { name: "big", group: "chat-big", info: { max_input_tokens: 100_000 } },
    ],
    options: { enable_pre_call_checks: true, context_window_fallbacks: [{ chat: ["chat-big"] }] },
    requests: [
      {
        request: { model: "chat", messages: LONG_MESSAGES },
        calls: ["big"],
        outcome: { ok: "big", fallback: "chat-big" },
      },
      {
        request: { model: "chat", messages: LONG_MESSAGES, disable_fallbacks: true },
        calls: [],
        outcome: { error: "ContextWindowExceededError", status: 400 },
      },
    ],
    cooldown: { a: false, b: false, big: false },
    failures: { a: {}, b: {}, big: {} },
  },
  {
    name: "max_parallel_requests: 1 -> a second concurrent request goes to the other deployment",
    deployments: [
      { name: "a", group: "chat", weight: FIRST, params: { max_parallel_requests: 1 } },
      { name: "b", group: "chat", weight: SECOND },
    ],
    script: { a: [{ delay_ms: 400 }] },
    concurrent: true,
    requests: [
      { start_ms: 0, calls: ["a"], outcome: { ok: "a" } },
      { start_ms: 100, calls: ["b"], outcome: { ok: "b" } },
    ],
    cooldown: { a: false, b: false },
    failures: { a: {}, b: {} },
  },
  {
    name: "default_max_parallel_requests: 1 on a single deployment -> the second concurrent request waits for the first",
    deployments: [{ name: "solo", group: "chat" }],
    script: { solo: [{ delay_ms: 300 }] },
    options: { default_max_parallel_requests: 1 },
    concurrent: true,
    requests: [
      { start_ms: 0, calls: ["solo"], outcome: { ok: "solo" } },
      { start_ms: 50, calls: ["solo"], outcome: { ok: "solo" } },
    ],
    cooldown: { solo: false },
    failures: { solo: {} },
    elapsed_ms: [290, 3_000],
  },
];

/** The Router options of a scenario; `base(name)` is the api_base of mock deployment `name`. */
export function routerOptions(scenario, base) {
  const model_list = scenario.deployments.map((d) => ({
    model_name: d.group,
    litellm_params: {
      model: `openai/mock-${d.name}`,
      api_base: base(d.name),
      api_key: `sk-fault-${d.name}`,
      ...(d.weight === undefined ? {} : { weight: d.weight }),
      ...d.params,
    },
    model_info: { id: d.name, ...d.info },
  }));
  return { ...scenario.options, model_list };
}

/** Queues the scenario's scripts and modes on a mock (an in-process MockServer). */
export function prepareMock(mock, scenario) {
  for (const [name, spec] of Object.entries(scenario.modes ?? {})) mock.mode(name, spec);
  for (const [name, steps] of Object.entries(scenario.script ?? {})) mock.script(name, ...steps);
}

/** A plain, JSON-safe description of one settled request (instanceof checks done here). */
export function describeOutcome(settled, errors) {
  if (settled.status === "fulfilled") {
    const h = settled.value._hidden_params;
    return {
      ok: true,
      model_id: h.model_id,
      model_group: h.model_group,
      attempts: h.attempts,
      retries: h.retries,
      fallback_model_group: h.fallback_model_group,
      content: settled.value.choices?.[0]?.message?.content ?? null,
    };
  }
  const e = settled.reason;
  return {
    ok: false,
    name: e?.name,
    constructor: e?.constructor?.name,
    message: String(e?.message ?? e),
    instance_of: Object.keys(errors).filter((k) => e instanceof errors[k]),
    status: e?.status,
    retryable: e?.retryable,
    attempts: e?.attempts,
    deployment_id: e?.deployment_id,
    model_group: e?.model_group,
  };
}

/**
 * Per-deployment usage from `getUsageStats()`: its `deployments` map (the stats also carry
 * `model_groups`); a flat map keyed by deployment id is taken as is.
 */
export function deploymentUsage(stats) {
  const nested = stats && typeof stats.deployments === "object" && "model_groups" in stats;
  return nested ? stats.deployments : stats;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs a scenario's requests on one fresh Router. Returns the raw settled results, their
 * descriptions, the usage stats afterwards, the clock then, and the elapsed wall time.
 * @param {Record<string, any>} scenario
 * @param {{ Router: any, errors: Record<string, any>, base: (name: string) => string }} host
 */
export async function runScenario(scenario, { Router, errors, base }) {
  const router = new Router(routerOptions(scenario, base));
  const started = Date.now();
  const one = (r) =>
    router.completion(r.request ?? chat()).then(
      (value) => ({ status: "fulfilled", value }),
      (reason) => ({ status: "rejected", reason }),
    );
  /** @type {Array<{status: string, value?: any, reason?: any}>} */
  let settled = [];
  if (scenario.concurrent) {
    settled = await Promise.all(
      scenario.requests.map(async (r) => {
        if (r.start_ms) await sleep(r.start_ms);
        return one(r);
      }),
    );
  } else {
    for (const r of scenario.requests) settled.push(await one(r));
  }
  const elapsed_ms = Date.now() - started;
  const usage = deploymentUsage(await router.getUsageStats());
  return {
    settled,
    results: settled.map((s) => describeOutcome(s, errors)),
    usage,
    now_ms: Date.now(),
    elapsed_ms,
  };
}

/**
 * Asserts a scenario's expectations. `observed` = runScenario's result plus `calls`, the mock's
 * call log as deployment names in arrival order. `assert` is node:assert/strict (passed in so
 * this module stays free of Node imports).
 */
export function verify(assert, scenario, observed) {
  const { calls, results, usage, now_ms } = observed;
  const expectedCalls = scenario.requests.flatMap((r) => r.calls);
  assert.deepEqual(calls, expectedCalls, "the upstream call sequence (mock call log)");
  assert.equal(results.length, scenario.requests.length, "one outcome per request");
  scenario.requests.forEach((r, i) => {
    const got = results[i];
    const want = r.outcome;
    const label = `request ${i}`;
    if (want.ok !== undefined) {
      assert.equal(got.ok, true, `${label} should answer; got ${got.name}: ${got.message}`);
      assert.equal(got.model_id, want.ok, `${label}: the deployment that answered`);
      assert.equal(got.content, `Hello from ${want.ok}`, `${label}: the answer's content`);
      if (want.fallback !== undefined)
        assert.equal(got.fallback_model_group, want.fallback, `${label}: fallback_model_group`);
      else assert.equal(got.fallback_model_group, null, `${label}: no fallback`);
    } else {
      assert.equal(got.ok, false, `${label} should fail; got an answer from ${got.model_id}`);
      assert.ok(
        got.instance_of.includes(want.error),
        `${label}: instanceof errors.${want.error} (${got.name}: ${got.message})`,
      );
      assert.ok(got.instance_of.includes("LlmuxError"), `${label}: instanceof LlmuxError`);
      assert.equal(got.name, want.error, `${label}: the most specific class (${got.message})`);
      assert.equal(got.constructor, want.error, `${label}: constructor`);
      assert.equal(got.status, want.status, `${label}: status`);
      if (want.retryable !== undefined)
        assert.equal(got.retryable, want.retryable, `${label}: retryable`);
    }
    assert.equal(got.attempts, r.calls.length, `${label}: attempts = its upstream calls`);
  });
  for (const [id, want] of Object.entries(scenario.cooldown ?? {})) {
    const until = usage[id]?.cooldown_until_ms ?? null;
    if (want === false) assert.equal(until, null, `${id} must not be cooling down`);
    else {
      assert.equal(typeof until, "number", `${id} must be cooling down`);
      const left = until - now_ms;
      assert.ok(left > 0, `${id}: cooldown ends in the future (${left} ms)`);
      if (Array.isArray(want))
        assert.ok(
          left >= want[0] && left <= want[1],
          `${id}: cooling for ${left} ms more, expected ${want[0]}-${want[1]}`,
        );
    }
  }
  for (const [id, want] of Object.entries(scenario.failures ?? {}))
    assert.deepEqual(usage[id]?.failures_by_kind ?? {}, want, `${id}: failures_by_kind`);
  const requests = Object.values(usage).reduce((n, u) => n + u.requests, 0);
  assert.equal(requests, calls.length, "Σ usage requests = upstream calls");
  for (const [id, u] of Object.entries(usage)) assert.equal(u.in_flight, 0, `${id}: in_flight`);
  if (scenario.elapsed_ms) {
    const [min, max] = scenario.elapsed_ms;
    const e = observed.elapsed_ms;
    assert.ok(e >= min && e <= max, `elapsed ${e} ms, expected ${min}-${max}`);
  }
}
