//! Operator actions on deployments (the dashboard's buttons): clear a cooldown, disable or
//! enable a deployment, and each deployment's routing status right now.

use super::Router;
use serde_json::Value;

impl Router {
    fn has_deployment(&self, id: &str) -> bool {
        self.table().deployments().iter().any(|d| d.id == id)
    }

    /// Ends deployment `id`'s cooldown now and forgets its failures this minute, here and in
    /// the shared store's mark (other instances keep a cooldown they already applied until it
    /// ends). Returns false when no deployment has that id.
    pub fn clear_cooldown(&self, id: &str) -> bool {
        if !self.has_deployment(id) {
            return false;
        }
        self.inner.cooldowns.borrow_mut().clear(id, self.now());
        if let Some(shared) = self.shared() {
            shared.clear_cooldown(id);
        }
        true
    }

    /// Takes deployment `id` out of rotation (`true`) or puts it back (`false`), on this
    /// instance, until changed again or the deployment is deleted. Returns false when no
    /// deployment has that id.
    pub fn set_deployment_disabled(&self, id: &str, disabled: bool) -> bool {
        if !self.has_deployment(id) {
            return false;
        }
        self.inner.cooldowns.borrow_mut().set_disabled(id, disabled);
        true
    }

    /// Every deployment's routing status, in table order: `status` is `"disabled"`,
    /// `"cooling_down"` (with `cooldown_until_ms`), `"budget_spent"` (a `max_budget` or its
    /// provider's budget is spent; `budget_resets_at_ms`: when its window ends), `"over_limit"`
    /// (this minute's requests or tokens reached its `rpm` / `tpm`) or `"healthy"`.
    pub fn deployment_status(&self) -> Value {
        let now = self.now();
        let table = self.table();
        let cooldowns = self.inner.cooldowns.borrow();
        let minute = self.inner.minute_usage.borrow();
        let rows = table
            .deployments()
            .iter()
            .map(|d| {
                let until = cooldowns.cooling_until(&d.id, now);
                let disabled = cooldowns.is_disabled(&d.id);
                let (requests, tokens) = self.global_minute(&d.id, minute.current(&d.id, now), now);
                let over =
                    d.rpm.is_some_and(|l| requests >= l) || d.tpm.is_some_and(|l| tokens >= l);
                let spent = if d.budget.is_some() || !self.inner.config.provider_budgets.is_empty()
                {
                    self.over_budget_info(d, now)
                } else {
                    None
                };
                let status = if disabled {
                    "disabled"
                } else if until.is_some() {
                    "cooling_down"
                } else if spent.is_some() {
                    "budget_spent"
                } else if over {
                    "over_limit"
                } else {
                    "healthy"
                };
                crate::obj!{
                    "id": d.id.clone(), "model_group": d.model_group.clone(), "provider": d.provider.clone(),
                    "status": status, "disabled": disabled, "cooldown_until_ms": until,
                    "rpm": d.rpm, "tpm": d.tpm,
                    "minute_requests": requests, "minute_tokens": tokens,
                    "budget_resets_at_ms": spent.and_then(|(_, reset)| reset),
                }
            })
            .collect();
        Value::Array(rows)
    }
}
