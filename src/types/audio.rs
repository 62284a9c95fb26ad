//! Audio endpoints: the file a transcription uploads (sent as multipart/form-data) and the
//! binary audio a speech request returns.

use crate::error::LlmError;
use crate::ports::BodyHandle;
use serde_json::{Map, Value};
use std::rc::Rc;

/// A file to upload (`transcription({ file })`), shared across retries without copying.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub bytes: Rc<Vec<u8>>,
    pub filename: String,
    pub content_type: String,
}

/// The images (and mask) of an `imageEdit()` call, held by the host and never copied into the
/// core: `parts` holds `images` image parts, then the mask when `mask`.
#[derive(Debug, Clone, PartialEq)]
pub struct FormUpload {
    pub parts: crate::ports::HostParts,
    pub images: usize,
    pub mask: bool,
}

/// The most images one `imageEdit()` call sends (OpenAI's own limit for `gpt-image-1`).
pub const MAX_EDIT_IMAGES: usize = 16;

/// Every request field as a form text field (`null` dropped, arrays as repeated `name[]`,
/// objects as JSON text), for a form the host encodes. A name with a quote, CR or LF is refused.
pub fn form_fields(fields: &Map<String, Value>) -> Result<Vec<(String, String)>, LlmError> {
    let mut out = Vec::new();
    for (name, value) in fields {
        if name.contains(['"', '\r', '\n']) {
            return Err(LlmError::bad_request(
                "a form field name cannot contain quotes or line breaks",
            ));
        }
        match value {
            Value::Null => {}
            Value::Array(items) => {
                for item in items {
                    out.push((format!("{name}[]"), text_of(item)));
                }
            }
            other => out.push((name.clone(), text_of(other))),
        }
    }
    Ok(out)
}

/// Audio from `/audio/speech`: read into memory, or the upstream body left unread for the
/// host to stream to its caller.
#[derive(Clone)]
pub enum AudioBody {
    Bytes(Vec<u8>),
    Stream(BodyHandle),
}

impl std::fmt::Debug for AudioBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AudioBody::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            AudioBody::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Audio {
    pub content_type: String,
    pub body: AudioBody,
}

/// A multipart/form-data body: every request field as a text part (arrays as repeated
/// `name[]` parts, as OpenAI's SDKs send `timestamp_granularities[]`), then the file.
/// Returns the content type (with its boundary) and the body bytes.
///
/// The boundary is `llmux-` and 32 hex digits drawn from `entropy` (the host's randomness
/// port), and is checked not to occur in any name, value or the file: no content can end a
/// part early or inject another. A field name with a quote, CR or LF is refused (the caller
/// chose it); the filename's are percent-escaped as browsers do (`%22`, `%0D`, `%0A`); a
/// content type with a line break is replaced by `application/octet-stream`.
pub fn multipart(
    fields: &Map<String, Value>,
    upload: &Upload,
    entropy: u64,
) -> Result<(String, Vec<u8>), LlmError> {
    let parts = form_fields(fields)?;
    let filename = escape(&upload.filename);
    let content_type = if upload.content_type.contains(['\r', '\n']) {
        "application/octet-stream"
    } else {
        upload.content_type.as_str()
    };
    let boundary = (0..16u64)
        .map(|round| boundary_of(entropy, round))
        .find(|b| {
            let b = b.as_bytes();
            !contains(&upload.bytes, b)
                && !contains(filename.as_bytes(), b)
                && !contains(content_type.as_bytes(), b)
                && parts
                    .iter()
                    .all(|(n, v)| !contains(n.as_bytes(), b) && !contains(v.as_bytes(), b))
        })
        .ok_or_else(|| LlmError::bad_request("no multipart boundary fits this upload"))?;
    let mut body = Vec::with_capacity(upload.bytes.len() + 512);
    for (name, value) in &parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&upload.bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok((format!("multipart/form-data; boundary={boundary}"), body))
}

/// Candidate boundary `round` for `entropy`: 128 bits spread from the 64 random ones.
fn boundary_of(entropy: u64, round: u64) -> String {
    let mut seed = Vec::with_capacity(16);
    seed.extend_from_slice(&entropy.to_le_bytes());
    seed.extend_from_slice(&round.to_le_bytes());
    let digest = crate::hash::sha256(&seed);
    format!(
        "llmux-{}",
        crate::hash::hex(digest.get(..16).unwrap_or_default())
    )
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Quotes and line breaks cannot appear inside a part's quoted filename: percent-escaped,
/// as the HTML form encoder does.
fn escape(s: &str) -> String {
    s.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;

    fn upload(bytes: &[u8]) -> Upload {
        Upload {
            bytes: Rc::new(bytes.to_vec()),
            filename: "a.wav".into(),
            content_type: "audio/wav".into(),
        }
    }

    #[test]
    fn fields_then_file_with_repeated_array_parts() {
        let fields = json!({"model": "whisper-1", "temperature": 0, "timestamp_granularities": ["word", "segment"]});
        let (ct, body) = multipart(
            fields.as_object().unwrap_or(&Map::new()),
            &upload(b"RIFF"),
            1,
        )
        .unwrap();
        let b = boundary_of(1, 0);
        assert_eq!(b.len(), "llmux-".len() + 32);
        assert_eq!(ct, format!("multipart/form-data; boundary={b}"));
        let text = String::from_utf8_lossy(&body);
        let expected = format!("--{b}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n\
--{b}\r\nContent-Disposition: form-data; name=\"temperature\"\r\n\r\n0\r\n\
--{b}\r\nContent-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n\r\nword\r\n\
--{b}\r\nContent-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n\r\nsegment\r\n\
--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n\
--{b}--\r\n");
        assert_eq!(text, expected);
    }

    #[test]
    fn the_boundary_is_random_and_never_occurs_in_the_content() {
        let fields = json!({"model": "whisper-1"});
        let fields = fields.as_object().unwrap();
        let (a, _) = multipart(fields, &upload(b"x"), 1).unwrap();
        let (b, _) = multipart(fields, &upload(b"x"), 2).unwrap();
        assert_ne!(a, b, "another draw, another boundary");
        // Content that contains the first candidate gets the next one.
        let first = boundary_of(7, 0);
        let injected = json!({"prompt": format!("hi\r\n--{first}\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nevil")});
        let (ct, body) =
            multipart(injected.as_object().unwrap(), &upload(first.as_bytes()), 7).unwrap();
        let used = ct.trim_start_matches("multipart/form-data; boundary=");
        assert_ne!(used, first);
        let text = String::from_utf8_lossy(&body);
        assert_eq!(
            text.matches(&format!("--{used}\r\n")).count(),
            2,
            "one prompt part and the file"
        );
        assert_eq!(
            text.matches("name=\"model\"").count(),
            1,
            "only the injected text names model"
        );
    }

    #[test]
    fn names_with_quotes_or_line_breaks_are_refused_and_filenames_escaped() {
        let bad = json!({"x\"\r\nContent-Type: text/html": "v"});
        assert!(multipart(bad.as_object().unwrap(), &upload(b"x"), 1).is_err());
        let mut up = upload(b"x");
        up.filename = "a\"\r\nb.wav".into();
        up.content_type = "audio/wav\r\nX-Injected: 1".into();
        let (_, body) = multipart(&Map::new(), &up, 1).unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("filename=\"a%22%0D%0Ab.wav\""), "{text}");
        assert!(
            text.contains("Content-Type: application/octet-stream\r\n"),
            "{text}"
        );
        assert!(!text.contains("X-Injected"));
    }
}
