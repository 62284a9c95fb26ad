//! Replays a stream body through a `StreamDecoder` whole, byte by byte, split at every point
//! and at seeded sets of split points, asserting every way of cutting it gives the same result.
//! Include with `#[path = "common/replay.rs"] mod replay;`.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use llmux::error::{ErrorKind, LlmError};
use llmux::stream::{StreamContext, StreamDecoder};
use serde_json::Value;

/// The stream context every fixture's expected chunks are stamped with.
pub fn ctx(model: &str) -> StreamContext {
    StreamContext {
        id: "chatcmpl-llmux-stream-test".into(),
        created: 1_764_112_500,
        model: model.into(),
    }
}

/// What a decoder made of a body: its chunks, then the error that ended it, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub chunks: Vec<Value>,
    pub error: Option<(ErrorKind, String, u16)>,
}

impl Outcome {
    pub fn ok(self) -> Vec<Value> {
        if let Some(e) = self.error {
            panic!("the stream failed: {e:?}");
        }
        self.chunks
    }

    pub fn err(&self) -> &(ErrorKind, String, u16) {
        self.error.as_ref().expect("the stream should have failed")
    }
}

fn failed(chunks: Vec<Value>, e: LlmError) -> Outcome {
    Outcome {
        chunks,
        error: Some((e.kind, e.message, e.status)),
    }
}

/// Feeds `pieces` in order, then finishes; stops at the first error.
pub fn run(decoder: &mut dyn StreamDecoder, pieces: &[&[u8]]) -> Outcome {
    let mut chunks = Vec::new();
    for piece in pieces {
        match decoder.feed(piece) {
            Ok(c) => chunks.extend(c),
            Err(e) => return failed(chunks, e),
        }
    }
    match decoder.finish() {
        Ok(c) => chunks.extend(c),
        Err(e) => return failed(chunks, e),
    }
    Outcome {
        chunks,
        error: None,
    }
}

/// A small deterministic generator (splitmix64) for seeded split points.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Decodes `body` whole, byte by byte, split at every point and at 200 seeded sets of 2–12
/// split points; panics unless every way gives the same outcome; returns it.
pub fn replay(make: &dyn Fn() -> Box<dyn StreamDecoder>, body: &[u8]) -> Outcome {
    let whole = run(make().as_mut(), &[body]);
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    assert_eq!(run(make().as_mut(), &bytes), whole, "byte by byte");
    for i in 0..=body.len() {
        let (a, b) = body.split_at(i);
        assert_eq!(run(make().as_mut(), &[a, b]), whole, "split at {i}");
    }
    let mut rng = Rng(0x5EED_0006);
    for round in 0..200 {
        let cuts = 2 + (rng.next() % 11) as usize;
        let mut points: Vec<usize> = (0..cuts)
            .map(|_| (rng.next() % (body.len() as u64 + 1)) as usize)
            .collect();
        points.sort_unstable();
        let mut pieces = Vec::new();
        let mut last = 0;
        for p in points {
            pieces.push(&body[last..p]);
            last = p;
        }
        pieces.push(&body[last..]);
        assert_eq!(run(make().as_mut(), &pieces), whole, "seeded round {round}");
    }
    whole
}

/// `tests/fixtures/<dir>/<name>.chunks.json`, the chunks a fixture stream must give. With
/// `LLMUX_BLESS=1` the file is first rewritten from `actual` (review the diff before committing).
pub fn expected_chunks(dir: &str, name: &str, actual: &[Value]) -> Value {
    let path = format!(
        "{}/tests/fixtures/{dir}/{name}.chunks.json",
        env!("CARGO_MANIFEST_DIR")
    );
    if std::env::var_os("LLMUX_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&Value::from(actual.to_vec())).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
