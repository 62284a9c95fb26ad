//! Audio endpoints: the file a transcription uploads (sent as multipart/form-data) and the
//! binary audio a speech request returns.

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
pub fn multipart(
    fields: &Map<String, Value>,
    upload: &Upload,
    boundary_seed: u64,
) -> (String, Vec<u8>) {
    let boundary = format!("llmux-{boundary_seed:016x}");
    let mut body = Vec::with_capacity(upload.bytes.len() + 512);
    let mut part = |name: &str, value: &str| {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                escape(name)
            )
            .as_bytes(),
        );
    };
    for (name, value) in fields {
        match value {
            Value::Null => {}
            Value::String(s) => part(name, s),
            Value::Array(items) => {
                for item in items {
                    part(&format!("{name}[]"), &text_of(item));
                }
            }
            other => part(name, &text_of(other)),
        }
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            escape(&upload.filename),
            upload.content_type
        )
        .as_bytes(),
    );
    body.extend_from_slice(&upload.bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Quotes and line breaks cannot appear inside a part's quoted name or filename.
fn escape(s: &str) -> String {
    s.replace(['"', '\r', '\n'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_then_file_with_repeated_array_parts() {
        let upload = Upload {
            bytes: Rc::new(b"RIFF".to_vec()),
            filename: "a.wav".into(),
            content_type: "audio/wav".into(),
        };
        let fields = json!({"model": "whisper-1", "temperature": 0, "timestamp_granularities": ["word", "segment"]});
        let (ct, body) = multipart(fields.as_object().unwrap_or(&Map::new()), &upload, 1);
        assert_eq!(ct, "multipart/form-data; boundary=llmux-0000000000000001");
        let text = String::from_utf8_lossy(&body);
        let expected = "--llmux-0000000000000001\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n\
--llmux-0000000000000001\r\nContent-Disposition: form-data; name=\"temperature\"\r\n\r\n0\r\n\
--llmux-0000000000000001\r\nContent-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n\r\nword\r\n\
--llmux-0000000000000001\r\nContent-Disposition: form-data; name=\"timestamp_granularities[]\"\r\n\r\nsegment\r\n\
--llmux-0000000000000001\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n\
--llmux-0000000000000001--\r\n";
        assert_eq!(text, expected);
    }
}
