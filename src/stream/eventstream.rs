//! An incremental decoder of the AWS event-stream binary framing
//! (`application/vnd.amazon.eventstream`), as Bedrock's `converse-stream` sends it.
//!
//! A message is: total length (u32, big-endian, the whole message), headers length (u32),
//! prelude CRC32 (of those 8 bytes), the headers, the payload, and the message CRC32 (of
//! everything before it). A header is a name (u8 length + bytes), a value type (u8) and a value:
//! 0 true, 1 false, 2 byte, 3 int16, 4 int32, 5 int64, 6 byte array (u16 length + bytes),
//! 7 string (u16 length + UTF-8), 8 timestamp (int64 milliseconds), 9 UUID (16 bytes). CRC32 is
//! the IEEE one (as zlib's `crc32`). Bytes may arrive split anywhere; a bad checksum, a length
//! out of bounds or a malformed header is an `APIConnectionError` naming the failure.

use crate::error::{ErrorKind, LlmError};

/// The prelude (two lengths and their CRC) plus the message CRC: the smallest message.
const PRELUDE_BYTES: usize = 12;
const MIN_MESSAGE_BYTES: usize = 16;
/// AWS's limits: 16 MiB per message, 128 KiB of headers.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
pub const MAX_HEADERS_BYTES: usize = 128 * 1024;

/// A header value, by its wire type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue {
    Bool(bool),
    Byte(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Bytes(Vec<u8>),
    String(String),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
    Uuid([u8; 16]),
}

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    pub headers: Vec<(String, HeaderValue)>,
    pub payload: Vec<u8>,
}

impl Message {
    /// The value of a string header (`:message-type`, `:event-type`, …).
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(k, v)| match v {
            HeaderValue::String(s) if k == name => Some(s.as_str()),
            _ => None,
        })
    }
}

// Evaluated at compile time with `i < 256`: an out-of-bounds index would fail the build, and
// `get_mut` is not callable in a `const fn`.
#[allow(clippy::indexing_slicing)]
const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = crc_table();

/// CRC32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib computes it.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for b in bytes {
        let slot = ((c ^ u32::from(*b)) & 0xFF) as usize;
        c = CRC_TABLE.get(slot).copied().unwrap_or(0) ^ (c >> 8);
    }
    !c
}

fn error(detail: impl std::fmt::Display) -> LlmError {
    LlmError::new(
        ErrorKind::APIConnectionError,
        format!("Malformed AWS event stream: {detail}"),
    )
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

/// Feed it bytes; it returns each message once all of it has arrived and its CRCs match.
#[derive(Debug, Default)]
pub struct EventStreamDecoder {
    buffer: Vec<u8>,
    /// An error found after messages that were returned: reported on the next call.
    failed: Option<LlmError>,
}

impl EventStreamDecoder {
    pub fn new() -> EventStreamDecoder {
        EventStreamDecoder::default()
    }

    /// Consumes `bytes`; returns the messages they complete, in order.
    /// A corrupt message after complete ones in the same piece: those are returned, and the
    /// error on the next call.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Message>, LlmError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.buffer.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut start = 0;
        let result = loop {
            let total = match self.frame_length(start) {
                Ok(Some(total)) => total,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            let Some(frame) = self.buffer.get(start..start + total) else {
                break Ok(());
            };
            match decode_frame(frame) {
                Ok(message) => out.push(message),
                Err(e) => break Err(e),
            }
            start += total;
        };
        match result {
            Ok(()) => {
                self.buffer.drain(..start);
                Ok(out)
            }
            Err(e) => {
                // Nothing after a corrupt frame can be trusted.
                self.buffer.clear();
                if out.is_empty() {
                    return Err(e);
                }
                self.failed = Some(e);
                Ok(out)
            }
        }
    }

    /// Bytes of an incomplete message held back (a body ending now would be cut short).
    pub fn partial_bytes(&self) -> usize {
        self.buffer.len()
    }

    /// The body ended: an error when it stopped inside a message.
    pub fn finish(&mut self) -> Result<(), LlmError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.buffer.is_empty() {
            return Ok(());
        }
        let pending = self.buffer.len();
        self.buffer.clear();
        Err(LlmError::new(
            ErrorKind::APIConnectionError,
            format!("the AWS event stream ended inside a message ({pending} bytes of it received)"),
        ))
    }

    /// The length of the message starting at `start` once its prelude has arrived (checked
    /// before waiting for the rest, so a corrupt length never makes the decoder wait forever).
    fn frame_length(&self, start: usize) -> Result<Option<usize>, LlmError> {
        let Some(prelude) = self.buffer.get(start..start + PRELUDE_BYTES) else {
            return Ok(None);
        };
        let (Some(total), Some(headers), Some(crc)) =
            (be_u32(prelude, 0), be_u32(prelude, 4), be_u32(prelude, 8))
        else {
            return Ok(None);
        };
        let computed = crc32(prelude.get(..8).unwrap_or_default());
        if computed != crc {
            return Err(error(format_args!(
                "prelude CRC mismatch (expected {crc:#010x}, computed {computed:#010x})"
            )));
        }
        let total = total as usize;
        let headers = headers as usize;
        if total < MIN_MESSAGE_BYTES {
            return Err(error(format_args!(
                "message length {total} is below the minimum of {MIN_MESSAGE_BYTES}"
            )));
        }
        if total > MAX_MESSAGE_BYTES {
            return Err(error(format_args!(
                "message length {total} exceeds the maximum of {MAX_MESSAGE_BYTES}"
            )));
        }
        if headers > MAX_HEADERS_BYTES || headers > total - MIN_MESSAGE_BYTES {
            return Err(error(format_args!(
                "headers length {headers} does not fit the message length {total}"
            )));
        }
        Ok(Some(total))
    }
}

/// A whole message whose prelude was checked: message CRC, headers, payload.
fn decode_frame(frame: &[u8]) -> Result<Message, LlmError> {
    let total = frame.len();
    let headers_len = be_u32(frame, 4).unwrap_or(0) as usize;
    let crc = be_u32(frame, total - 4).unwrap_or(0);
    let computed = crc32(frame.get(..total - 4).unwrap_or_default());
    if computed != crc {
        return Err(error(format_args!(
            "message CRC mismatch (expected {crc:#010x}, computed {computed:#010x})"
        )));
    }
    let headers_end = PRELUDE_BYTES + headers_len;
    let headers = frame
        .get(PRELUDE_BYTES..headers_end)
        .ok_or_else(|| error("headers out of bounds"))?;
    let payload = frame
        .get(headers_end..total - 4)
        .ok_or_else(|| error("payload out of bounds"))?;
    Ok(Message {
        headers: decode_headers(headers)?,
        payload: payload.to_vec(),
    })
}

/// Reads headers until `bytes` is used up.
fn decode_headers(bytes: &[u8]) -> Result<Vec<(String, HeaderValue)>, LlmError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while let Some((&name_len, tail)) = rest.split_first() {
        let (name, tail) = take(tail, usize::from(name_len), "header name")?;
        let name = std::str::from_utf8(name)
            .map_err(|_| error("a header name is not UTF-8"))?
            .to_string();
        let (&kind, tail) = tail
            .split_first()
            .ok_or_else(|| error(format_args!("header {name:?} has no value type")))?;
        let (value, tail) = match kind {
            0 => (HeaderValue::Bool(true), tail),
            1 => (HeaderValue::Bool(false), tail),
            2 => {
                let (v, t) = take_array::<1>(tail, &name)?;
                (HeaderValue::Byte(i8::from_be_bytes(v)), t)
            }
            3 => {
                let (v, t) = take_array::<2>(tail, &name)?;
                (HeaderValue::Int16(i16::from_be_bytes(v)), t)
            }
            4 => {
                let (v, t) = take_array::<4>(tail, &name)?;
                (HeaderValue::Int32(i32::from_be_bytes(v)), t)
            }
            5 | 8 => {
                let (v, t) = take_array::<8>(tail, &name)?;
                let n = i64::from_be_bytes(v);
                let value = if kind == 5 {
                    HeaderValue::Int64(n)
                } else {
                    HeaderValue::Timestamp(n)
                };
                (value, t)
            }
            6 | 7 => {
                let (len, t) = take_array::<2>(tail, &name)?;
                let (v, t) = take(t, usize::from(u16::from_be_bytes(len)), &name)?;
                let value = if kind == 6 {
                    HeaderValue::Bytes(v.to_vec())
                } else {
                    HeaderValue::String(
                        std::str::from_utf8(v)
                            .map_err(|_| error(format_args!("header {name:?} is not UTF-8")))?
                            .to_string(),
                    )
                };
                (value, t)
            }
            9 => {
                let (v, t) = take_array::<16>(tail, &name)?;
                (HeaderValue::Uuid(v), t)
            }
            other => {
                return Err(error(format_args!(
                    "header {name:?} has the unknown value type {other}"
                )))
            }
        };
        out.push((name, value));
        rest = tail;
    }
    Ok(out)
}

fn take<'a>(bytes: &'a [u8], n: usize, what: &str) -> Result<(&'a [u8], &'a [u8]), LlmError> {
    if bytes.len() < n {
        return Err(error(format_args!("{what:?} runs past the headers")));
    }
    Ok(bytes.split_at(n))
}

fn take_array<'a, const N: usize>(
    bytes: &'a [u8],
    name: &str,
) -> Result<([u8; N], &'a [u8]), LlmError> {
    let (head, tail) = take(bytes, N, name)?;
    let array: [u8; N] = head
        .try_into()
        .map_err(|_| error(format_args!("header {name:?} is truncated")))?;
    Ok((array, tail))
}

/// Encodes one message (tests and fixtures; the decoder's inverse).
pub fn encode(headers: &[(&str, HeaderValue)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        h.push(name.len() as u8);
        h.extend_from_slice(name.as_bytes());
        match value {
            HeaderValue::Bool(true) => h.push(0),
            HeaderValue::Bool(false) => h.push(1),
            HeaderValue::Byte(v) => {
                h.push(2);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Int16(v) => {
                h.push(3);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Int32(v) => {
                h.push(4);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Int64(v) => {
                h.push(5);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Bytes(v) => {
                h.push(6);
                h.extend_from_slice(&(v.len() as u16).to_be_bytes());
                h.extend_from_slice(v);
            }
            HeaderValue::String(v) => {
                h.push(7);
                h.extend_from_slice(&(v.len() as u16).to_be_bytes());
                h.extend_from_slice(v.as_bytes());
            }
            HeaderValue::Timestamp(v) => {
                h.push(8);
                h.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Uuid(v) => {
                h.push(9);
                h.extend_from_slice(v);
            }
        }
    }
    let total = (MIN_MESSAGE_BYTES + h.len() + payload.len()) as u32;
    let mut out = Vec::with_capacity(total as usize);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let prelude_crc = crc32(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// AWS's documented frames (awslabs/aws-c-event-stream, message_deserializer_test.c).
    const NO_OP: &[u8] = &[
        0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8,
        0xff,
    ];
    const NO_HEADERS: &[u8] = &[
        0x00, 0x00, 0x00, 0x1D, 0x00, 0x00, 0x00, 0x00, 0xfd, 0x52, 0x8c, 0x5a, 0x7b, 0x27, 0x66,
        0x6f, 0x6f, 0x27, 0x3a, 0x27, 0x62, 0x61, 0x72, 0x27, 0x7d, 0xc3, 0x65, 0x39, 0x36,
    ];

    fn one_header() -> Vec<u8> {
        let mut v = vec![
            0x00, 0x00, 0x00, 0x3D, 0x00, 0x00, 0x00, 0x20, 0x07, 0xFD, 0x83, 0x96, 0x0C,
        ];
        v.extend_from_slice(b"content-type");
        v.extend_from_slice(&[0x07, 0x00, 0x10]);
        v.extend_from_slice(b"application/json");
        v.extend_from_slice(b"{'foo':'bar'}");
        v.extend_from_slice(&[0x8D, 0x9C, 0x08, 0xB1]);
        v
    }

    fn all_types() -> Vec<(&'static str, HeaderValue)> {
        vec![
            ("t", HeaderValue::Bool(true)),
            ("f", HeaderValue::Bool(false)),
            ("byte", HeaderValue::Byte(-3)),
            ("i16", HeaderValue::Int16(-300)),
            ("i32", HeaderValue::Int32(70_000)),
            ("i64", HeaderValue::Int64(-5_000_000_000)),
            ("bytes", HeaderValue::Bytes(vec![0, 1, 2, 255])),
            (":event-type", HeaderValue::String("chunk \u{e9}".into())),
            ("ts", HeaderValue::Timestamp(1_764_112_500_000)),
            ("id", HeaderValue::Uuid(*b"0123456789abcdef")),
        ]
    }

    fn decode_all(pieces: &[&[u8]]) -> Result<Vec<Message>, LlmError> {
        let mut d = EventStreamDecoder::new();
        let mut out = Vec::new();
        for p in pieces {
            out.extend(d.feed(p)?);
        }
        d.finish()?;
        Ok(out)
    }

    #[test]
    fn crc32_is_zlibs() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn aws_documented_frames_decode_and_encode_byte_for_byte() {
        let m = decode_all(&[NO_OP]).unwrap();
        assert_eq!(m, vec![Message::default()]);
        assert_eq!(encode(&[], b""), NO_OP);

        let m = decode_all(&[NO_HEADERS]).unwrap();
        assert_eq!(m[0].payload, b"{'foo':'bar'}");
        assert!(m[0].headers.is_empty());
        assert_eq!(encode(&[], b"{'foo':'bar'}"), NO_HEADERS);

        let frame = one_header();
        let m = decode_all(&[&frame]).unwrap();
        assert_eq!(m[0].header_str("content-type"), Some("application/json"));
        assert_eq!(m[0].payload, b"{'foo':'bar'}");
        let header = [(
            "content-type",
            HeaderValue::String("application/json".into()),
        )];
        assert_eq!(encode(&header, b"{'foo':'bar'}"), frame);
    }

    #[test]
    fn every_header_type_is_read_and_skipped_past() {
        let headers = all_types();
        let frame = encode(&headers, b"payload");
        let m = decode_all(&[&frame]).unwrap();
        let expected: Vec<(String, HeaderValue)> = headers
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        assert_eq!(m[0].headers, expected);
        assert_eq!(m[0].header_str(":event-type"), Some("chunk \u{e9}"));
        assert_eq!(m[0].payload, b"payload");
    }

    #[test]
    fn every_split_point_gives_the_same_messages() {
        let mut body = one_header();
        body.extend_from_slice(NO_OP);
        body.extend(encode(&all_types(), b"{\"x\":1}"));
        body.extend_from_slice(NO_HEADERS);
        let whole = decode_all(&[&body]).unwrap();
        assert_eq!(whole.len(), 4);
        for i in 0..=body.len() {
            let (a, b) = body.split_at(i);
            assert_eq!(decode_all(&[a, b]).unwrap(), whole, "split at {i}");
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(decode_all(&bytes).unwrap(), whole);
    }

    #[test]
    fn a_corrupt_prelude_crc_is_reported_before_the_message_arrives() {
        let mut frame = NO_HEADERS.to_vec();
        frame[8] ^= 1;
        let mut d = EventStreamDecoder::new();
        let e = d.feed(&frame[..12]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::APIConnectionError);
        assert!(e.message.contains("prelude CRC mismatch"), "{}", e.message);
    }

    #[test]
    fn a_corrupt_payload_fails_the_message_crc() {
        let mut frame = NO_HEADERS.to_vec();
        frame[14] ^= 0x20;
        let e = decode_all(&[&frame]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::APIConnectionError);
        assert!(e.message.contains("message CRC mismatch"), "{}", e.message);
    }

    #[test]
    fn lengths_out_of_bounds_are_errors() {
        // A prelude with a valid CRC and a 17 MiB length.
        let mut prelude = Vec::new();
        prelude.extend_from_slice(&(17u32 * 1024 * 1024).to_be_bytes());
        prelude.extend_from_slice(&0u32.to_be_bytes());
        let crc = crc32(&prelude);
        prelude.extend_from_slice(&crc.to_be_bytes());
        let e = decode_all(&[&prelude]).unwrap_err();
        assert!(e.message.contains("exceeds the maximum"), "{}", e.message);

        let mut short = Vec::new();
        short.extend_from_slice(&8u32.to_be_bytes());
        short.extend_from_slice(&0u32.to_be_bytes());
        let crc = crc32(&short);
        short.extend_from_slice(&crc.to_be_bytes());
        let e = decode_all(&[&short]).unwrap_err();
        assert!(e.message.contains("below the minimum"), "{}", e.message);

        let mut headers = Vec::new();
        headers.extend_from_slice(&20u32.to_be_bytes());
        headers.extend_from_slice(&10u32.to_be_bytes());
        let crc = crc32(&headers);
        headers.extend_from_slice(&crc.to_be_bytes());
        let e = decode_all(&[&headers]).unwrap_err();
        assert!(e.message.contains("headers length"), "{}", e.message);
    }

    #[test]
    fn a_header_running_past_its_block_is_an_error() {
        // A string header claiming 300 bytes inside a 20-byte header block.
        let mut h = vec![1u8, b'x', 7, 0x01, 0x2c];
        h.resize(20, b'a');
        let mut frame = Vec::new();
        frame.extend_from_slice(&((16 + h.len()) as u32).to_be_bytes());
        frame.extend_from_slice(&(h.len() as u32).to_be_bytes());
        let crc = crc32(&frame);
        frame.extend_from_slice(&crc.to_be_bytes());
        frame.extend_from_slice(&h);
        let crc = crc32(&frame);
        frame.extend_from_slice(&crc.to_be_bytes());
        let e = decode_all(&[&frame]).unwrap_err();
        assert!(e.message.contains("runs past the headers"), "{}", e.message);
    }

    #[test]
    fn a_body_ending_inside_a_message_is_an_error() {
        let e = decode_all(&[&NO_HEADERS[..20]]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::APIConnectionError);
        assert!(
            e.message.contains("ended inside a message"),
            "{}",
            e.message
        );
    }
}
