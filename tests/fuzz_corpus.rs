//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/*`) through the same invariant
//! checks the `cargo fuzz` targets run (`fuzz/src/invariants.rs`, included here), so a
//! regression on any saved input fails `cargo test` on stable, without nightly or libFuzzer.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../fuzz/src/invariants.rs"]
mod invariants;

#[global_allocator]
static ALLOC: invariants::Counting = invariants::Counting;

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

/// Runs `target`'s check on each of its corpus files, naming the file that fails.
fn replay(target: &str) {
    let check = invariants::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, check)| *check)
        .unwrap();
    invariants::set_amplify(true);
    let files = corpus(target);
    assert!(!files.is_empty(), "fuzz/corpus/{target} is empty");
    for (path, bytes) in files {
        let outcome = std::panic::catch_unwind(|| check(&bytes));
        assert!(
            outcome.is_ok(),
            "{target}: {} fails its invariants",
            path.display()
        );
    }
}

#[test]
fn every_target_has_a_committed_corpus() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, _) in invariants::TARGETS {
        assert!(dir.join(target).is_dir(), "no fuzz/corpus/{target}");
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/fuzz_targets")
            .join(format!("{target}.rs"));
        assert!(src.is_file(), "no fuzz target {target}");
    }
}

#[test]
fn sse_corpus() {
    replay("sse");
}

#[test]
fn eventstream_corpus() {
    replay("eventstream");
}

#[test]
fn provider_stream_corpus() {
    replay("provider_stream");
}

#[test]
fn provider_response_corpus() {
    replay("provider_response");
}

#[test]
fn config_corpus() {
    replay("config");
}

#[test]
fn cache_key_corpus() {
    replay("cache_key");
}

/// The allocator the memory checks read is live: a 1 MiB vector shows as 1 MiB of growth.
#[test]
fn the_heap_counter_sees_allocations() {
    let (v, grown) = invariants::peak_growth(|| vec![1u8; 1 << 20]);
    assert_eq!(v.len(), 1 << 20);
    assert!(grown >= 1 << 20, "counted {grown} bytes");
}

/// `scripts/fuzz-seed.mjs` names each provider seed `<provider>__<endpoint>__…`: the header
/// bytes must select that provider and endpoint (and status), so the seeds exercise what
/// their names say even if the tables in `invariants.rs` change.
#[test]
fn provider_seed_headers_match_their_names() {
    let endpoint_index = |name: &str| {
        ["chat", "text", "embedding", "image", "moderation"]
            .iter()
            .position(|e| *e == name)
            .unwrap_or_else(|| panic!("endpoint {name}")) as u8
    };
    let mut checked = 0;
    for target in ["provider_stream", "provider_response"] {
        for (path, bytes) in corpus(target) {
            let file = path.file_name().unwrap().to_str().unwrap();
            let Some(name) = file.strip_prefix("seed-") else {
                continue;
            };
            let parts: Vec<&str> = name.split("__").collect();
            if parts.len() < 3 {
                continue;
            }
            let provider = invariants::provider_index(parts[0])
                .unwrap_or_else(|| panic!("{file}: unknown provider"));
            assert_eq!(bytes[0], provider, "{file}: provider byte");
            let endpoint = endpoint_index(parts[1]);
            if target == "provider_stream" {
                assert_eq!(bytes[1] >> 4, endpoint, "{file}: endpoint nibble");
            } else {
                assert_eq!(bytes[1], endpoint, "{file}: endpoint byte");
                let status: u16 = parts[2].parse().unwrap();
                assert_eq!(
                    invariants::STATUSES[usize::from(bytes[2])],
                    status,
                    "{file}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 80, "only {checked} named provider seeds");
}

/// The stream seeds reach the decoders' happy paths: a fixture not named for an error
/// decodes to chunks and ends cleanly; one named for an error ends with an error.
#[test]
fn provider_stream_seeds_decode_as_their_fixtures_do() {
    for (path, bytes) in corpus("provider_stream") {
        let file = path.file_name().unwrap().to_str().unwrap();
        if !file.starts_with("seed-") || file.contains("amplify") {
            continue;
        }
        let (provider, chunks, error) = invariants::provider_stream_summary(&bytes).unwrap();
        let failing = [
            "error",
            "quota",
            "throttling",
            "validation",
            "internal",
            "unavailable",
            "blocked",
        ]
        .iter()
        .any(|w| file.contains(w));
        if failing {
            assert!(error.is_some(), "{file} ({provider}) should fail");
        } else {
            assert!(error.is_none(), "{file} ({provider}): {error:?}");
            assert!(chunks > 0, "{file} ({provider}): no chunks");
        }
    }
}

/// The config check guards the credential where a secret field names it (`api_key`: it is
/// redacted everywhere) and not where a non-secret field was given it (`vertex_location`
/// shows as given, as LiteLLM shows it): both configs pass.
#[test]
fn the_config_check_guards_secret_fields_only() {
    let check = |field: &str| {
        let mut params = serde_json::json!({"model": "vertex_ai/gemini-2.5-flash", "api_key": "k",
            "vertex_project": "p", "vertex_location": "us-central1"});
        params[field] = serde_json::json!("os.environ/FUZZ_SECRET");
        let options =
            serde_json::json!({"model_list": [{"model_name": "g", "litellm_params": params}]});
        std::panic::catch_unwind(|| invariants::check_config(options.to_string().as_bytes()))
    };
    assert!(check("vertex_location").is_ok());
    assert!(check("api_key").is_ok());
}
