//! `cargo fuzz run cache_key`: the invariants of `invariants::check_cache_key` (see `fuzz/src/invariants.rs`).
#![no_main]

#[path = "../src/invariants.rs"]
mod invariants;

#[global_allocator]
static ALLOC: invariants::Counting = invariants::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| invariants::check_cache_key(data));
