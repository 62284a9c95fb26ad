// The gateway example for Node (examples/node/server.mjs, node:http) under the openai client.
import { startNode } from "./hosts.mjs";
import { gatewaySuite } from "./scenarios.mjs";

gatewaySuite("Node", startNode);
