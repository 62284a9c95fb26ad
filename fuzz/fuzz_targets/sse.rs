//! SSE decoder: no panic, bounded buffers, and a split-anywhere decode equals a whole decode.
#![no_main]
use libfuzzer_sys::fuzz_target;
use llmux::stream::sse::SseDecoder;

fn decode(pieces: &[&[u8]]) -> Result<Vec<llmux::stream::sse::SseEvent>, ()> {
    let mut d = SseDecoder::new();
    let mut out = Vec::new();
    for p in pieces {
        out.extend(d.feed(p).map_err(|_| ())?);
    }
    out.extend(d.finish().map_err(|_| ())?);
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let whole = decode(&[body]);
    let at = usize::from(split) % (body.len() + 1);
    let (a, b) = body.split_at(at);
    let parts = decode(&[a, b]);
    if let (Ok(w), Ok(p)) = (&whole, &parts) {
        assert_eq!(w, p, "split at {at} changed the events");
    }
    let bytes: Vec<&[u8]> = body.chunks(1).collect();
    if let (Ok(w), Ok(p)) = (&whole, decode(&bytes)) {
        assert_eq!(w, &p, "byte-at-a-time decode changed the events");
    }
});
