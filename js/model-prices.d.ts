// `llmux/model-prices`: LiteLLM's whole price map (every provider), parsed on first call.
import type { ModelCost } from "./index.js";

/** Every model of LiteLLM's price list, keyed by model name: a fresh object per call. */
export declare function modelCostMap(): Record<string, ModelCost>;
export default modelCostMap;
