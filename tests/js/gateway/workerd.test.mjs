// The gateway example for Cloudflare Workers (examples/cloudflare-worker) in workerd through
// Miniflare, under the openai client.
import { startWorkerd } from "./hosts.mjs";
import { gatewaySuite } from "./scenarios.mjs";

gatewaySuite("workerd", startWorkerd);
