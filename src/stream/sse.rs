//! An incremental Server-Sent Events decoder (the WHATWG `text/event-stream` rules).
//!
//! Bytes may arrive split anywhere — inside a UTF-8 character, between the `\r` and `\n` of a
//! line ending, inside a field name — and the decoder yields exactly the events the whole body
//! would. Comments (`:` lines) and `retry:` are skipped; `data:` lines of one event are joined
//! with `\n`; `event:` names and `id:` are kept.

use crate::error::LlmError;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, when the event had one (`None` means the default "message").
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
}

impl SseEvent {
    /// The event name, `"message"` when none was given.
    pub fn name(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// Feed it bytes; it returns each event once its terminating blank line has arrived.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// The bytes of the line being read (not yet terminated).
    line: Vec<u8>,
    /// The previous byte was a `\r`: a `\n` right after it ends nothing new.
    after_cr: bool,
    /// Fields of the event being assembled.
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
    /// An error met after events of the same `feed`, which were returned: reported by the
    /// next call, so a split of the body never changes what the caller receives.
    failed: Option<LlmError>,
}

/// Upper bound on one line: a stream that never ends a line is broken, not a long answer.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// Upper bound on one event's joined `data:` lines: `data:` lines with no blank line between
/// them would otherwise grow one event without bound (wasm memory never shrinks).
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

impl SseDecoder {
    pub fn new() -> SseDecoder {
        SseDecoder::default()
    }

    /// Whether no part of an event is pending: the next byte starts a new line of a new
    /// event.
    pub fn idle(&self) -> bool {
        self.line.is_empty()
            && !self.after_cr
            && self.event.is_none()
            && !self.has_data
            && self.failed.is_none()
    }

    /// Consumes `bytes`; returns the events they complete, in order. An error after
    /// complete events in the same piece: those are returned, and the error on the next call.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, LlmError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut out = Vec::new();
        match self.feed_into(bytes, &mut out) {
            Ok(()) => Ok(out),
            Err(e) if out.is_empty() => Err(e),
            Err(e) => {
                self.failed = Some(e);
                Ok(out)
            }
        }
    }

    fn feed_into(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), LlmError> {
        let mut rest = bytes;
        if rest.is_empty() {
            return Ok(());
        }
        if self.after_cr {
            if let Some((b'\n', tail)) = rest.split_first() {
                rest = tail;
            }
            self.after_cr = false;
        }
        while let Some(pos) = memchr::memchr2(b'\n', b'\r', rest) {
            let (head, tail) = rest.split_at(pos);
            let mut tail = tail;
            match tail.split_first() {
                Some((b'\r', after)) => {
                    tail = after;
                    match after.split_first() {
                        Some((b'\n', after_lf)) => tail = after_lf,
                        Some(_) => {}
                        // The chunk ends on `\r`: a `\n` may open the next one.
                        None => self.after_cr = true,
                    }
                }
                Some((_, after)) => tail = after,
                None => {}
            }
            let event = if self.line.is_empty() {
                // The whole line is in this piece: read it in place.
                self.line_done(head)?
            } else {
                // The line began in an earlier piece; its buffer keeps its capacity.
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(head);
                let event = self.line_done(&line);
                line.clear();
                self.line = line;
                event?
            };
            if let Some(event) = event {
                out.push(event);
            }
            rest = tail;
        }
        self.line.extend_from_slice(rest);
        if self.line.len() > MAX_LINE_BYTES {
            return Err(LlmError::new(
                crate::error::ErrorKind::APIConnectionError,
                "the event stream sent a line longer than 16 MiB",
            ));
        }
        Ok(())
    }

    /// The body ended. An event whose blank line never came is still dispatched (servers
    /// that close right after the last `data:` line are common); a partial line is kept.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, LlmError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            if let Some(event) = self.line_done(&line)? {
                return Ok(Some(event));
            }
        }
        Ok(self.dispatch())
    }

    fn line_done(&mut self, line: &[u8]) -> Result<Option<SseEvent>, LlmError> {
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        let line = std::str::from_utf8(line).map_err(|_| {
            LlmError::new(
                crate::error::ErrorKind::APIConnectionError,
                "the event stream is not valid UTF-8",
            )
        })?;
        if line.starts_with(':') {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                if self.data.len().saturating_add(value.len()) > MAX_EVENT_BYTES {
                    self.data = String::new();
                    self.has_data = false;
                    return Err(LlmError::new(
                        crate::error::ErrorKind::APIConnectionError,
                        "the event stream sent an event larger than 16 MiB",
                    ));
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_string()),
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        Some(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
            id: self.id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn decode_all(pieces: &[&[u8]]) -> Vec<SseEvent> {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        for p in pieces {
            out.extend(d.feed(p).unwrap());
        }
        out.extend(d.finish().unwrap());
        out
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_string),
            data: data.to_string(),
            id: None,
        }
    }

    #[test]
    fn an_event_that_never_ends_is_refused_at_the_cap() {
        let mut d = SseDecoder::new();
        let line = format!("data: {}\n", "x".repeat(1024 * 1024 - 7));
        let mut fed = 0usize;
        let err = loop {
            match d.feed(line.as_bytes()) {
                Ok(events) => assert!(events.is_empty()),
                Err(e) => break e,
            }
            fed += line.len();
            assert!(
                fed <= MAX_EVENT_BYTES + line.len(),
                "no cap after {fed} bytes"
            );
        };
        assert_eq!(err.kind, crate::error::ErrorKind::APIConnectionError);
        assert!(err.message.contains("16 MiB"), "{}", err.message);
        assert!(d.data.len() <= MAX_EVENT_BYTES);
    }

    const BODY: &str = ": comment\r\nevent: message_start\r\ndata: {\"a\":\"h\u{e9}llo \u{1F600}\"}\r\n\r\ndata: line one\ndata:line two\n\nretry: 10\nid: 7\ndata: x\r\rdata: [DONE]\n\n";

    fn expected() -> Vec<SseEvent> {
        vec![
            ev(Some("message_start"), "{\"a\":\"h\u{e9}llo \u{1F600}\"}"),
            ev(None, "line one\nline two"),
            SseEvent {
                event: None,
                data: "x".into(),
                id: Some("7".into()),
            },
            SseEvent {
                event: None,
                data: "[DONE]".into(),
                id: Some("7".into()),
            },
        ]
    }

    #[test]
    fn decodes_fields_comments_and_every_line_ending() {
        assert_eq!(decode_all(&[BODY.as_bytes()]), expected());
    }

    #[test]
    fn every_split_point_and_every_pair_of_split_points_gives_the_same_events() {
        let bytes = BODY.as_bytes();
        for i in 0..=bytes.len() {
            let (a, b) = bytes.split_at(i);
            assert_eq!(decode_all(&[a, b]), expected(), "split at {i}");
            for j in i..=bytes.len() {
                let (b1, b2) = b.split_at(j - i);
                assert_eq!(decode_all(&[a, b1, b2]), expected(), "split at {i},{j}");
            }
        }
    }

    #[test]
    fn byte_at_a_time() {
        let pieces: Vec<&[u8]> = BODY.as_bytes().chunks(1).collect();
        assert_eq!(decode_all(&pieces), expected());
    }

    #[test]
    fn an_event_without_its_blank_line_is_dispatched_at_the_end() {
        assert_eq!(decode_all(&[b"data: tail"]), vec![ev(None, "tail")]);
        assert_eq!(decode_all(&[b"data: tail\n"]), vec![ev(None, "tail")]);
    }

    #[test]
    fn events_without_data_are_not_dispatched() {
        assert!(decode_all(&[b"event: ping\n\n: keepalive\n\n"]).is_empty());
    }

    /// Found by `cargo fuzz run sse` (and `provider_stream`, through Gemini): events before
    /// an error in the same piece were dropped, so a split before the error changed them.
    #[test]
    fn events_before_an_error_are_kept_whatever_the_split() {
        let body: &[u8] = b"data: a\n\ndata: \xff\n\n";
        for at in 0..=body.len() {
            let (x, y) = body.split_at(at);
            let mut d = SseDecoder::new();
            let mut events = Vec::new();
            let mut error = None;
            for piece in [x, y] {
                match d.feed(piece) {
                    Ok(more) => events.extend(more),
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            let error = error.or_else(|| d.finish().err());
            assert_eq!(events, vec![ev(None, "a")], "split at {at}");
            assert!(error.unwrap().message.contains("UTF-8"), "split at {at}");
        }
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut d = SseDecoder::new();
        assert!(d.feed(b"data: \xff\xfe\n\n").is_err());
    }
}
