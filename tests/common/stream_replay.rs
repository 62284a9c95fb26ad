//! Replays a recorded stream through a `StreamDecoder`: whole, byte by byte, split at every
//! point and at seeded sets of split points; every replay must give the same outcome.
//! Included by the `stream_*` tests with `#[path = "common/stream_replay.rs"]`.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use llmux::error::{ErrorKind, LlmError};
use llmux::stream::StreamDecoder;
use serde_json::Value;

/// What a decoder made of a body: the chunks, and the error that ended it, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub chunks: Vec<Value>,
    pub error: Option<(ErrorKind, u16, String)>,
}

impl Outcome {
    /// The chunks of a stream that must have ended cleanly.
    pub fn ok(self) -> Vec<Value> {
        if let Some(e) = &self.error {
            panic!("the stream failed: {e:?}");
        }
        self.chunks
    }

    /// The error of a stream that must have failed.
    pub fn err(&self) -> &(ErrorKind, u16, String) {
        self.error.as_ref().expect("the stream should have failed")
    }
}

fn outcome(chunks: Vec<Value>, error: Option<LlmError>) -> Outcome {
    Outcome {
        chunks,
        error: error.map(|e| (e.kind, e.status, e.message)),
    }
}

/// Feeds `pieces` in order, then finishes; stops at the first error.
pub fn replay_pieces(mut decoder: Box<dyn StreamDecoder>, pieces: &[&[u8]]) -> Outcome {
    let mut chunks = Vec::new();
    for piece in pieces {
        match decoder.feed(piece) {
            Ok(more) => chunks.extend(more),
            Err(e) => return outcome(chunks, Some(e)),
        }
    }
    match decoder.finish() {
        Ok(more) => {
            chunks.extend(more);
            outcome(chunks, None)
        }
        Err(e) => outcome(chunks, Some(e)),
    }
}

/// `bytes` cut at the (sorted, deduplicated) `points`.
fn split_at(bytes: &[u8], points: &[usize]) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    let mut from = 0;
    for &p in points {
        pieces.push(bytes[from..p].to_vec());
        from = p;
    }
    pieces.push(bytes[from..].to_vec());
    pieces
}

fn replay_split(
    make: &dyn Fn() -> Box<dyn StreamDecoder>,
    bytes: &[u8],
    points: &[usize],
) -> Outcome {
    let pieces = split_at(bytes, points);
    let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
    replay_pieces(make(), &refs)
}

/// The outcome of `bytes` fed whole, after checking that feeding them byte by byte, split at
/// every single point, and split at 200 seeded random sets of 2–8 points gives the same.
pub fn replay(make: &dyn Fn() -> Box<dyn StreamDecoder>, bytes: &[u8]) -> Outcome {
    let whole = replay_pieces(make(), &[bytes]);
    let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(replay_pieces(make(), &bytewise), whole, "byte by byte");
    for point in 0..=bytes.len() {
        assert_eq!(
            replay_split(make, bytes, &[point]),
            whole,
            "split at {point}"
        );
    }
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    for round in 0..200 {
        let count = 2 + next() % 7;
        let mut points: Vec<usize> = (0..count).map(|_| next() % (bytes.len() + 1)).collect();
        points.sort_unstable();
        points.dedup();
        assert_eq!(
            replay_split(make, bytes, &points),
            whole,
            "round {round}, split at {points:?}"
        );
    }
    whole
}

/// `tests/fixtures/<dir>/<name>` parsed as a JSON list of chunks. With `LLMUX_BLESS=1` the
/// file is first (re)written from `actual` (review the diff before committing it).
pub fn expected_chunks(dir: &str, name: &str, actual: &[Value]) -> Vec<Value> {
    let path = format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("LLMUX_BLESS").as_deref() == Ok("1") {
        let text = serde_json::to_string_pretty(actual).unwrap();
        std::fs::write(&path, format!("{text}\n")).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
