// Worker for tests/js/workerd/files.test.mjs: files and batches (js/files.js, loaded on first
// use) in workerd, with files_secret from the env (`os.environ/`).
//   POST /create            → createFile + createBatch → { file, batch, holder }
//   GET  /retrieve?id=…     → retrieveBatch + fileContent of its output → { status, holder, output }
//   GET  /forged?id=…       → retrieveBatch of that id → { name, status }
//   POST /edit              → imageEdit of the body's bytes (a Blob and a Uint8Array, in
//                             the Worker) → { data, holder, cost }
//   /gw/…                   → router.fetch (the gateway, master key "sk-worker-master-01"):
//                             the image edit and files routes
import { Router } from "../../../js/workerd.js";

const INPUT = JSON.stringify({
  custom_id: "w1",
  method: "POST",
  url: "/v1/chat/completions",
  body: { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
});

let router;
function routerOf(env) {
  router ??= new Router({
    model_list: [
      ...["wa", "wb"].map((name) => ({
        model_name: "batch",
        litellm_params: {
          model: "openai/gpt-4o-mini",
          api_base: `${env.MOCK_URL}/${name}/v1`,
          api_key: "k",
        },
        model_info: { id: name },
      })),
      {
        model_name: "img",
        litellm_params: {
          model: "openai/gpt-image-1",
          api_base: `${env.MOCK_URL}/wimg/v1`,
          api_key: "k",
        },
        model_info: { id: "wimg" },
      },
    ],
    files_secret: "os.environ/FILES_SECRET",
    gateway: { master_key: "sk-worker-master-01", prefix: "/gw" },
    env,
  });
  return router;
}

const json = (value) =>
  new Response(JSON.stringify(value), { headers: { "content-type": "application/json" } });

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const r = routerOf(env);
    try {
      if (url.pathname === "/create") {
        const file = await r.createFile({
          model: "batch",
          file: new Blob([INPUT]),
          purpose: "batch",
        });
        const batch = await r.createBatch({
          input_file_id: file.id,
          endpoint: "/v1/chat/completions",
          completion_window: "24h",
        });
        return json({ file: file.id, batch: batch.id, holder: batch._hidden_params.model_id });
      }
      if (url.pathname === "/retrieve") {
        const batch = await r.retrieveBatch({ batch_id: url.searchParams.get("id") });
        const output = await (await r.fileContent({ file_id: batch.output_file_id })).text();
        return json({ status: batch.status, holder: batch._hidden_params.model_id, output });
      }
      if (url.pathname.startsWith("/gw/")) return r.fetch(request, env);
      if (url.pathname === "/edit") {
        const bytes = new Uint8Array(await request.arrayBuffer());
        const res = await r.imageEdit({
          model: "img",
          image: [new Blob([bytes], { type: "image/png" }), bytes],
          prompt: "in a worker",
        });
        return json({
          data: res.data,
          holder: res._hidden_params.model_id,
          cost: res._hidden_params.response_cost,
        });
      }
      if (url.pathname === "/forged") {
        await r.retrieveBatch({ batch_id: url.searchParams.get("id") });
        return json({ name: "none" });
      }
    } catch (e) {
      return json({ name: e.name, status: e.status, message: e.message });
    }
    return new Response("not found", { status: 404 });
  },
};
