//! Which groups a call falls back to, and model-group aliases.

use super::{CallOptions, Router};
use crate::config::FallbackMap;
use crate::error::{ErrorKind, LlmError};

impl Router {
    pub(super) fn resolve_alias(&self, group: &str) -> String {
        self.alias_target(group).unwrap_or(group).to_string()
    }

    /// The group `group` is an alias of (`model_group_alias`), if it is one.
    pub(super) fn alias_target(&self, group: &str) -> Option<&str> {
        self.inner
            .config
            .model_group_alias
            .get(group)
            .map(String::as_str)
    }

    /// The fallback groups for `err` in `group`: the specific list for context-window and
    /// content-policy errors when one applies, else `fallbacks` (the group's entry, the
    /// `"*"` entry, then `default_fallbacks`).
    pub(super) fn fallback_targets(
        &self,
        opts: &CallOptions,
        group: &str,
        err: &LlmError,
    ) -> Vec<String> {
        let cfg = &self.inner.config;
        // A name served by a wildcard pattern also takes the pattern's entry.
        let table = self.table();
        let pattern = table.group_of(group).filter(|g| *g != group);
        let find = |map: &FallbackMap| -> Option<Vec<String>> {
            map.iter()
                .find(|(g, _)| g == group)
                .or_else(|| pattern.and_then(|p| map.iter().find(|(g, _)| g == p)))
                .or_else(|| map.iter().find(|(g, _)| g == "*"))
                .map(|(_, t)| t.clone())
        };
        let specific = match err.kind {
            ErrorKind::ContextWindowExceededError => find(
                opts.context_window_fallbacks
                    .as_ref()
                    .unwrap_or(&cfg.context_window_fallbacks),
            ),
            ErrorKind::ContentPolicyViolationError => find(
                opts.content_policy_fallbacks
                    .as_ref()
                    .unwrap_or(&cfg.content_policy_fallbacks),
            ),
            _ => None,
        };
        specific
            .or_else(|| find(opts.fallbacks.as_ref().unwrap_or(&cfg.fallbacks)))
            .unwrap_or_else(|| cfg.default_fallbacks.clone())
    }
}
