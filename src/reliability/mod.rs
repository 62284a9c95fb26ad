//! Retry policy and backoff, error classification and cooldowns: the decisions the router
//! makes when a provider misbehaves, as pure functions and small state machines.

pub mod backoff;
pub mod bounds;
pub mod classify;
pub mod cooldown;
pub mod limits;
pub mod policy;
