//! AWS event-stream decoder: no panic, bounded partial buffer, split-anywhere equals whole.
#![no_main]
use libfuzzer_sys::fuzz_target;
use llmux::stream::eventstream::{EventStreamDecoder, MAX_MESSAGE_BYTES};

fn decode(pieces: &[&[u8]]) -> Result<usize, ()> {
    let mut d = EventStreamDecoder::new();
    let mut n = 0;
    for p in pieces {
        n += d.feed(p).map_err(|_| ())?.len();
        assert!(d.partial_bytes() <= MAX_MESSAGE_BYTES + p.len());
    }
    d.finish().map_err(|_| ())?;
    Ok(n)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, body)) = data.split_first() else {
        return;
    };
    let whole = decode(&[body]);
    let at = usize::from(split) % (body.len() + 1);
    let (a, b) = body.split_at(at);
    if let (Ok(w), Ok(p)) = (whole, decode(&[a, b])) {
        assert_eq!(w, p, "split at {at} changed the message count");
    }
});
