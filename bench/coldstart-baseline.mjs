// bench/coldstart.mjs's floor: a Worker with no llmux, answering its first request at once.
export default {
  async fetch() {
    return new Response("ok");
  },
};
