// Tier 3b: streaming in Deno — for-await over chunks, toReadableStream() in a Response read
// back by the official openai client's SSE parser, and cancellation seen by the mock.
// @ts-types="../../../js/index.d.ts"
import { errors, Router } from "../../../js/browser.js";
import { Stream } from "openai/core/streaming";

const MOCK_URL = Deno.env.get("MOCK_URL") ?? "";
const REPLY = "Deno streams the answer chunk by chunk";
const messages = [{ role: "user" as const, content: "hi" }];

async function control(path: string, body?: object): Promise<any> {
  const res = await fetch(`${MOCK_URL}/__mock/${path}`, {
    method: body ? "POST" : "GET",
    body: body ? JSON.stringify(body) : undefined,
  });
  return res.json();
}

function assertEquals(actual: unknown, expected: unknown, what: string) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

function router(mockName: string, options: object = {}) {
  return new Router({
    model_list: [
      {
        model_name: "chat",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_base: `${MOCK_URL}/${mockName}/v1`,
          api_key: "sk-deno-stream",
        },
        model_info: { id: mockName },
      },
    ],
    ...options,
  });
}

Deno.test("a stream is iterated with for await and its text is the answer", async () => {
  await control("reset", {});
  await control("script", { name: "ds", steps: [{ reply: REPLY }] });
  const stream = await router("ds").completion({ model: "chat", messages, stream: true });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
  assertEquals(text, REPLY, "streamed text");
  assertEquals(stream._hidden_params.model_id, "ds", "answering deployment");
});

Deno.test("toReadableStream() in a Response reads back with the openai parser", async () => {
  await control("reset", {});
  await control("script", { name: "ds", steps: [{ reply: REPLY }] });
  const stream = await router("ds").completion({ model: "chat", messages, stream: true });
  const response = new Response(stream.toReadableStream(), {
    headers: { "content-type": "text/event-stream" },
  });
  let text = "";
  for await (const chunk of Stream.fromSSEResponse<any>(response, new AbortController())) {
    text += chunk.choices[0]?.delta?.content ?? "";
  }
  assertEquals(text, REPLY, "text parsed by the openai client");
});

Deno.test("leaving for await closes the upstream connection", async () => {
  await control("reset", {});
  await control("script", { name: "ds", steps: [{ reply: REPLY, chunk_delay_ms: 50 }] });
  const stream = await router("ds").completion({ model: "chat", messages, stream: true });
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta?.content) break;
  }
  let aborted = 0;
  for (let i = 0; i < 100 && aborted === 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    aborted = (await control("stats")).aborted;
  }
  assertEquals(aborted, 1, "connections the mock saw closed early");
});

Deno.test("a mid-stream reset throws APIConnectionError from the iterator", async () => {
  await control("reset", {});
  await control("script", { name: "ds", steps: [{ reply: REPLY, reset: "mid_body" }] });
  const stream = await router("ds").completion({ model: "chat", messages, stream: true });
  let caught: unknown;
  try {
    for await (const _ of stream);
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof errors.APIConnectionError)) {
    throw new Error(`expected APIConnectionError, got ${caught}`);
  }
});

Deno.test("stream_timeout ends a stalled stream with Timeout", async () => {
  await control("reset", {});
  await control("script", { name: "ds", steps: [{ reply: REPLY, chunk_delay_ms: 3000 }] });
  const stream = await router("ds", { stream_timeout: 0.3 }).completion({
    model: "chat",
    messages,
    stream: true,
  });
  let caught: unknown;
  try {
    for await (const _ of stream);
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof errors.Timeout)) throw new Error(`expected Timeout, got ${caught}`);
});
