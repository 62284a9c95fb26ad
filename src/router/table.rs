//! The deployments of one router, indexed by model group. Immutable: a change builds a new
//! table, so requests in flight keep the snapshot they started with.

use crate::config::Deployment;
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Debug, Default)]
pub struct DeploymentTable {
    deployments: Vec<Rc<Deployment>>,
    groups: HashMap<String, Vec<Rc<Deployment>>>,
    /// Group names in first-seen order.
    group_names: Vec<String>,
}

impl DeploymentTable {
    pub fn new(deployments: Vec<Deployment>) -> DeploymentTable {
        Self::from_shared(deployments.into_iter().map(Rc::new).collect())
    }

    /// A table over deployments shared with the previous table (unchanged ones keep their `Rc`).
    pub fn from_shared(deployments: Vec<Rc<Deployment>>) -> DeploymentTable {
        let mut table = DeploymentTable::default();
        for d in deployments {
            if !table.groups.contains_key(&d.model_group) {
                table.group_names.push(d.model_group.clone());
            }
            table
                .groups
                .entry(d.model_group.clone())
                .or_default()
                .push(Rc::clone(&d));
            table.deployments.push(d);
        }
        table
    }

    pub fn group(&self, name: &str) -> &[Rc<Deployment>] {
        self.groups.get(name).map_or(&[], Vec::as_slice)
    }

    pub fn group_names(&self) -> &[String] {
        &self.group_names
    }

    pub fn deployments(&self) -> &[Rc<Deployment>] {
        &self.deployments
    }
}
