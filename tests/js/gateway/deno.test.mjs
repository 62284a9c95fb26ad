// The gateway example for Deno (examples/deno/main.js, Deno.serve in a real `deno` process)
// under the openai client.
import { startDeno } from "./hosts.mjs";
import { gatewaySuite } from "./scenarios.mjs";

gatewaySuite("Deno", startDeno);
