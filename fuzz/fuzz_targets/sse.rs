//! `cargo fuzz run sse`: the invariants of `invariants::check_sse` (see `fuzz/src/invariants.rs`).
#![no_main]

#[path = "../src/invariants.rs"]
mod invariants;

#[global_allocator]
static ALLOC: invariants::Counting = invariants::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| invariants::check_sse(data));
