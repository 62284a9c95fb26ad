//! The deployments of one router, indexed by model group. Immutable: a change builds a new
//! table, so requests in flight keep the snapshot they started with.

use crate::config::wildcard::{self, Pattern};
use crate::config::Deployment;
use crate::providers;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// Requested model names whose wildcard deployments are kept ready; past this the memo is
/// emptied (callers choose the names, so it is bounded).
const MAX_MATCHED: usize = 1024;

/// The deployments that serve a requested model name.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The configured `model_name` that matched: the name itself, or a wildcard pattern.
    pub group: Rc<str>,
    /// Whether `group` is a wildcard pattern.
    pub wildcard: bool,
    pub members: Rc<[Rc<Deployment>]>,
}

/// Why a name resolves to no deployment.
#[derive(Debug, Clone, PartialEq)]
pub enum Unresolved {
    /// Neither a group nor matched by a pattern.
    Unknown,
    /// The name is a wildcard pattern itself (a request names a model it matches).
    Pattern,
    /// A pattern matched but its deployment could not be made (the message says why).
    Invalid(String),
}

#[derive(Debug, Default)]
pub struct DeploymentTable {
    deployments: Vec<Rc<Deployment>>,
    groups: HashMap<Rc<str>, Rc<[Rc<Deployment>]>>,
    /// Group names in first-seen order.
    group_names: Vec<String>,
    /// Wildcard groups, most specific first (LiteLLM's order), with their deployments.
    patterns: Vec<(Pattern, Vec<Rc<Deployment>>)>,
    /// Deployments made for requested names, by name (bounded by [`MAX_MATCHED`]).
    matched: RefCell<HashMap<String, Resolved>>,
}

impl DeploymentTable {
    pub fn new(deployments: Vec<Deployment>) -> DeploymentTable {
        Self::from_shared(deployments.into_iter().map(Rc::new).collect())
    }

    /// A table over deployments shared with the previous table (unchanged ones keep their `Rc`).
    pub fn from_shared(deployments: Vec<Rc<Deployment>>) -> DeploymentTable {
        let mut table = DeploymentTable::default();
        let mut groups: HashMap<String, Vec<Rc<Deployment>>> = HashMap::new();
        for d in deployments {
            if !groups.contains_key(&d.model_group) {
                table.group_names.push(d.model_group.clone());
            }
            groups
                .entry(d.model_group.clone())
                .or_default()
                .push(Rc::clone(&d));
            table.deployments.push(d);
        }
        table.groups = groups
            .into_iter()
            .map(|(k, v)| (Rc::from(k), v.into()))
            .collect();
        for name in &table.group_names {
            if !wildcard::is_pattern(name) {
                continue;
            }
            // Validated when the deployment was parsed.
            if let Ok(p) = Pattern::parse(name) {
                let members = table
                    .groups
                    .get(name.as_str())
                    .map(|m| m.to_vec())
                    .unwrap_or_default();
                table.patterns.push((p, members));
            }
        }
        // Stable: equally specific patterns keep configuration order.
        crate::sort::sort_by_key(&mut table.patterns, |(p, _)| std::cmp::Reverse(p.rank));
        table
    }

    /// The deployments serving the requested model `name`: the group of that name; else the
    /// most specific wildcard pattern matching `name`; else the most specific one matching
    /// `provider/name` with the provider the price data names for `name` (as LiteLLM).
    pub fn resolve(&self, name: &str) -> Result<Resolved, Unresolved> {
        if let Some((group, members)) = self.groups.get_key_value(name) {
            if wildcard::is_pattern(name) {
                return Err(Unresolved::Pattern);
            }
            return Ok(Resolved {
                group: Rc::clone(group),
                wildcard: false,
                members: Rc::clone(members),
            });
        }
        if self.patterns.is_empty() {
            return Err(Unresolved::Unknown);
        }
        if let Some(hit) = self.matched.borrow().get(name) {
            return Ok(hit.clone());
        }
        let (pattern, members, segment) = self.matching(name).ok_or(Unresolved::Unknown)?;
        let segment = segment.as_str();
        let mut made = Vec::with_capacity(members.len());
        for d in members {
            if d.is_wildcard() {
                let made_one = d.for_match(segment, providers::validate).map_err(|msg| {
                    Unresolved::Invalid(format!(
                        "{name:?} matches model_name {:?}, whose deployment cannot serve it: {msg}",
                        pattern.name
                    ))
                })?;
                made.push(Rc::new(made_one));
            } else {
                made.push(Rc::clone(d));
            }
        }
        let resolved = Resolved {
            group: Rc::from(pattern.name.as_str()),
            wildcard: true,
            members: made.into(),
        };
        let mut memo = self.matched.borrow_mut();
        if memo.len() >= MAX_MATCHED {
            memo.clear();
        }
        memo.insert(name.to_string(), resolved.clone());
        Ok(resolved)
    }

    /// The configured `model_name` that serves `name` (itself, or the wildcard pattern
    /// matching it), without making deployments.
    pub fn group_of(&self, name: &str) -> Option<&str> {
        if let Some((key, _)) = self.groups.get_key_value(name) {
            return Some(key);
        }
        self.matching(name).map(|(p, _, _)| p.name.as_str())
    }

    /// The wildcard pattern serving `name`, its deployments and what its `*` matched.
    fn matching(&self, name: &str) -> Option<(&Pattern, &[Rc<Deployment>], String)> {
        if let Some(found) = self
            .patterns
            .iter()
            .find_map(|(p, m)| p.capture(name).map(|s| (p, m.as_slice(), s.to_string())))
        {
            return Some(found);
        }
        // "gpt-4.1" also matches "openai/*": LiteLLM retries with the inferred provider.
        let (provider, _) = crate::config::provider_names::split_model(name, None).ok()?;
        if name.starts_with(&format!("{provider}/")) {
            return None;
        }
        let prefixed = format!("{provider}/{name}");
        self.patterns.iter().find_map(|(p, m)| {
            p.capture(&prefixed)
                .map(|s| (p, m.as_slice(), s.to_string()))
        })
    }

    /// The model names a listing shows (`/v1/models`): every concrete group, then for each
    /// wildcard pattern whose name starts with its deployments' provider (`"openai/*"`,
    /// `"anthropic/claude-*"`) the price data's models of that provider it matches, as
    /// `provider/model`; any other pattern (`"*"`, `"team-a/*"`) is listed as itself.
    pub fn listed_models(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .group_names
            .iter()
            .filter(|n| !wildcard::is_pattern(n))
            .cloned()
            .collect();
        let mut in_config_order: Vec<&(Pattern, Vec<Rc<Deployment>>)> =
            self.patterns.iter().collect();
        crate::sort::sort_by_key(&mut in_config_order, |(p, _)| {
            self.group_names
                .iter()
                .position(|n| *n == p.name)
                .unwrap_or(usize::MAX)
        });
        for (p, members) in in_config_order {
            let provider = p
                .provider()
                .filter(|prov| !members.is_empty() && members.iter().all(|d| d.provider == *prov));
            let Some(provider) = provider else {
                out.push(p.name.clone());
                continue;
            };
            let prefix = format!("{provider}/");
            for key in crate::cost::CostMap::bundled().models_of(provider) {
                let id = if key.starts_with(&prefix) {
                    key.to_string()
                } else {
                    format!("{prefix}{key}")
                };
                if p.capture(&id).is_some() && !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        out
    }

    /// The wildcard patterns, most specific first.
    pub fn patterns(&self) -> impl Iterator<Item = &Pattern> {
        self.patterns.iter().map(|(p, _)| p)
    }

    pub fn group(&self, name: &str) -> &[Rc<Deployment>] {
        self.groups.get(name).map_or(&[], |m| &m[..])
    }

    pub fn group_names(&self) -> &[String] {
        &self.group_names
    }

    pub fn deployments(&self) -> &[Rc<Deployment>] {
        &self.deployments
    }
}
