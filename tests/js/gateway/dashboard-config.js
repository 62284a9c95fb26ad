// The dashboard tests' gateway (dashboard-worker.js): `chat` has a preferred `primary` and a
// `secondary`, `solo` falls back to `backup`; every deployment points at the loopback mock.
export const MASTER_KEY = "sk-dash-master-e2e";
export const VIRTUAL_KEY = "sk-dash-virtual-all-groups";
export const UPSTREAM_KEY = "sk-dash-upstream-secret-0123456789";

export function dashboardConfig(mockUrl) {
  const deployment = (group, id, extra = {}) => ({
    model_name: group,
    litellm_params: {
      model: `openai/mock-${id}`,
      api_base: `${mockUrl}/${id}/v1`,
      api_key: "os.environ/UPSTREAM_KEY",
      ...extra,
    },
    model_info: { id, input_cost_per_token: 1e-6, output_cost_per_token: 2e-6 },
  });
  return {
    model_list: [
      deployment("chat", "primary", { weight: 1_000_000 }),
      deployment("chat", "secondary", { weight: 1 }),
      deployment("solo", "solo"),
      deployment("backup", "backup"),
      // Spends its whole budget on its first answer (the dashboard's "budget spent").
      deployment("capped", "capped", { max_budget: 1e-9, budget_duration: "1h" }),
    ],
    num_retries: 1,
    cooldown_time: 60,
    fallbacks: [{ solo: ["backup"] }],
    gateway: {
      master_key: "os.environ/MASTER_KEY",
      keys: { [VIRTUAL_KEY]: { models: ["*"] } },
      ui: true,
    },
  };
}
