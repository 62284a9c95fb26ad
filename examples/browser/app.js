// Calls an llmux gateway (router.fetch) from the browser: POST /v1/chat/completions with
// `stream: true`, reading the server-sent events as they arrive. Query parameters prefill the
// form (`?gateway=…&key=…&model=…&prompt=…&stream=0`); `auto=1` sends at once.
const $ = (id) => document.getElementById(id);
const answer = $("answer");
const status = $("status");

function setStatus(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}

/** Yields each `data:` payload of an SSE body until `[DONE]`. */
async function* events(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        yield JSON.parse(data);
      }
    }
  }
}

async function send() {
  const gateway = $("gateway").value.replace(/\/+$/, "");
  const stream = $("stream").checked;
  answer.textContent = "";
  answer.dataset.chunks = "0";
  setStatus("running", "waiting for the first token…");
  const res = await fetch(`${gateway}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${$("key").value}` },
    body: JSON.stringify({
      model: $("model").value,
      messages: [{ role: "user", content: $("prompt").value }],
      stream,
    }),
  });
  if (!res.ok) {
    const { error } = await res.json();
    throw new Error(`${res.status}: ${error?.message ?? res.statusText}`);
  }
  const servedBy = res.headers.get("x-litellm-model-id") ?? "?";
  if (!stream) {
    answer.textContent = (await res.json()).choices[0].message.content;
  } else {
    for await (const chunk of events(res.body)) {
      if (chunk.error) throw new Error(chunk.error.message);
      answer.textContent += chunk.choices[0]?.delta?.content ?? "";
      answer.dataset.chunks = String(Number(answer.dataset.chunks) + 1);
    }
  }
  setStatus("done", `done (deployment ${servedBy.slice(0, 12)})`);
}

function run() {
  send().catch((e) => setStatus("error", String(e.message ?? e)));
}

const params = new URLSearchParams(location.search);
for (const id of ["gateway", "key", "model", "prompt"]) {
  if (params.has(id)) $(id).value = params.get(id);
}
if (params.get("stream") === "0") $("stream").checked = false;
$("form").addEventListener("submit", (e) => {
  e.preventDefault();
  run();
});
if (params.get("auto") === "1") run();
