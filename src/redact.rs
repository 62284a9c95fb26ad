//! Scrubbing credentials out of text that came from an upstream (error messages) or that
//! describes a deployment (URLs in listings and transport errors).
//!
//! Two layers, both applied by [`Redactor::scrub`]:
//!
//! - **Known secrets** (the deployment's API key, header values, provider credentials,
//!   `api_base` userinfo and query tokens). The message is matched against each secret, its
//!   standard and URL-safe base64 (at every byte alignment, so a secret inside an encoded
//!   `user:secret` is found too) and its hex, case-insensitively, in the message as written
//!   and with `%XX` and `\uXXXX` escapes decoded. Any run of at least [`min_run`] characters
//!   of one of those forms is replaced: a truncated echo (the key minus its last characters)
//!   or a fragment of an encoded form is caught as well as the whole.
//! - **Credential-looking tokens** that no configuration names (a provider may echo an
//!   access token the router minted): `sk-…`, `sk-ant-…`, `AIza…`, `ya29.…`, `AKIA…`, JWTs,
//!   the word after `Bearer`/`Basic`, URL userinfo, and URL query values named like a key.
//!
//! Messages longer than [`MAX_MESSAGE_BYTES`] are cut first (the scrub costs linear time in
//! the message for each secret form).

use crate::providers::vertex::jwt::{base64, base64url};
use std::collections::HashSet;

/// Upstream error messages are cut to this many bytes (at a character boundary) before they
/// are scrubbed and shown.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// What replaces a credential.
pub const MASK: &str = "***";

/// Secrets shorter than this are not matched (too many false positives, nothing to hide).
const MIN_SECRET_BYTES: usize = 4;

/// The shortest run of a secret's characters that counts as an echo of it: the whole secret
/// up to 5 bytes, its length minus one up to 9, then 8.
pub fn min_run(secret_len: usize) -> usize {
    match secret_len {
        0..=5 => secret_len,
        6..=9 => secret_len - 1,
        _ => 8,
    }
}

/// Matches one deployment's (or one store's) known secrets in every encoding.
#[derive(Debug, Default)]
pub struct Redactor {
    /// Lower-cased forms of the secrets with the shortest run that counts.
    forms: Vec<(Vec<u8>, usize)>,
}

impl Redactor {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Redactor {
        let mut forms: Vec<(Vec<u8>, usize)> = Vec::new();
        let mut push = |form: Vec<u8>, run: usize| {
            let run = run.min(form.len());
            if run >= MIN_SECRET_BYTES && !forms.iter().any(|(f, r)| *f == form && *r == run) {
                forms.push((form, run));
            }
        };
        for secret in secrets {
            let bytes = secret.as_bytes();
            if bytes.len() < MIN_SECRET_BYTES {
                continue;
            }
            let run = min_run(bytes.len());
            push(bytes.to_ascii_lowercase(), run);
            push(crate::hash::hex(bytes).into_bytes(), run * 2);
            // Base64 at each alignment: only the characters fully determined by the secret.
            for pad in 0..3usize {
                let mut padded = vec![0u8; pad];
                padded.extend_from_slice(bytes);
                let first = (8 * pad).div_ceil(6);
                let last = (8 * (pad + bytes.len())) / 6; // exclusive
                let b64_run = (run * 4).div_ceil(3);
                for encoded in [base64(&padded), base64url(&padded)] {
                    if let Some(stable) = encoded.as_bytes().get(first..last) {
                        push(stable.to_ascii_lowercase(), b64_run);
                    }
                }
            }
        }
        Redactor { forms }
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `message` cut to [`MAX_MESSAGE_BYTES`], with every known secret (in any of its forms)
    /// and every credential-looking token replaced by `***`.
    pub fn scrub(&self, message: &str) -> String {
        let message = cut(message, MAX_MESSAGE_BYTES);
        let known = self.scrub_known(message);
        scrub_tokens(&known)
    }

    /// Replaces runs of the known secrets' forms only.
    pub fn scrub_known(&self, message: &str) -> String {
        if self.forms.is_empty() || message.len() < MIN_SECRET_BYTES {
            return message.to_string();
        }
        let raw = View::raw(message);
        let decoded = View::decoded(message);
        let mut covered = vec![false; message.len()];
        for (form, run) in &self.forms {
            let windows: HashSet<&[u8]> = form.windows(*run).collect();
            for view in [&raw, &decoded] {
                view.mark(&windows, *run, &mut covered);
            }
        }
        replace_covered(message, &covered)
    }
}

/// The message lower-cased, optionally with escapes decoded, and the original byte range of
/// every byte of the view.
struct View {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl View {
    fn raw(message: &str) -> View {
        View {
            bytes: message.as_bytes().to_ascii_lowercase(),
            spans: (0..message.len()).map(|i| (i, i + 1)).collect(),
        }
    }

    /// `%XX` and `\uXXXX` (ASCII) decoded, `\/` as `/`, `+` kept.
    fn decoded(message: &str) -> View {
        let src = message.as_bytes();
        let mut bytes = Vec::with_capacity(src.len());
        let mut spans = Vec::with_capacity(src.len());
        let mut i = 0;
        while let Some(&here) = src.get(i) {
            let (byte, len) = decode_escape(src, i).unwrap_or((here, 1));
            bytes.push(byte.to_ascii_lowercase());
            spans.push((i, i + len));
            i += len;
        }
        View { bytes, spans }
    }

    fn mark(&self, windows: &HashSet<&[u8]>, run: usize, covered: &mut [bool]) {
        if run == 0 || self.bytes.len() < run {
            return;
        }
        for (i, window) in self.bytes.windows(run).enumerate() {
            if windows.contains(window) {
                let start = self.spans.get(i).map_or(0, |s| s.0);
                let end = self.spans.get(i + run - 1).map_or(0, |s| s.1);
                for c in covered.iter_mut().take(end).skip(start) {
                    *c = true;
                }
            }
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte an escape at `i` stands for and the escape's length.
fn decode_escape(src: &[u8], i: usize) -> Option<(u8, usize)> {
    match src.get(i)? {
        b'%' => {
            let hi = hex_value(*src.get(i + 1)?)?;
            let lo = hex_value(*src.get(i + 2)?)?;
            Some((hi << 4 | lo, 3))
        }
        b'\\' => match src.get(i + 1)? {
            b'/' => Some((b'/', 2)),
            b'u' => {
                let mut v: u32 = 0;
                for k in 2..6 {
                    v = v << 4 | u32::from(hex_value(*src.get(i + k)?)?);
                }
                u8::try_from(v).ok().filter(u8::is_ascii).map(|b| (b, 6))
            }
            _ => None,
        },
        _ => None,
    }
}

/// `message` with each maximal covered run (widened to character boundaries) replaced by
/// `***`.
fn replace_covered(message: &str, covered: &[bool]) -> String {
    let mut out = String::with_capacity(message.len());
    let mut i = 0;
    let len = message.len();
    while i < len {
        if covered.get(i).copied().unwrap_or(false) {
            // `i` is always at a character boundary here.
            let mut end = i;
            while end < len && covered.get(end).copied().unwrap_or(false) {
                end += 1;
            }
            while end < len && !message.is_char_boundary(end) {
                end += 1;
            }
            out.push_str(MASK);
            i = end;
        } else {
            let next = (i + 1..=len)
                .find(|&j| message.is_char_boundary(j))
                .unwrap_or(len);
            out.push_str(message.get(i..next).unwrap_or_default());
            i = next;
        }
    }
    out
}

/// `text` cut to at most `max` bytes at a character boundary (with `…` when cut).
pub fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// Prefixes of provider credentials: the token after one is masked (the prefix is kept, so
/// a message still says which kind of key was meant).
const TOKEN_PREFIXES: &[&str] = &[
    "sk-ant-",
    "sk-proj-",
    "sk-",
    "sk_",
    "rk_",
    "xai-",
    "gsk_",
    "hf_",
    "ghp_",
    "gho_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "AIza",
    "ya29.",
    "AKIA",
    "ASIA",
    "eyJ",
];

/// Query parameter names whose values are credentials.
fn is_secret_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("key")
        || n.contains("token")
        || n.contains("secret")
        || n.contains("password")
        || n.contains("passwd")
        || n.contains("auth")
        || n.contains("credential")
        || matches!(n.as_str(), "sig" | "signature" | "x-amz-signature" | "code")
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=' | b'%')
}

/// Masks credential-looking tokens no configuration names: known key prefixes, the word
/// after `Bearer`/`Basic`, URL userinfo and URL query values named like credentials.
pub fn scrub_tokens(message: &str) -> String {
    let src = message.as_bytes();
    let mut covered = vec![false; src.len()];
    let cover = |from: usize, to: usize, covered: &mut [bool]| {
        for c in covered.iter_mut().take(to).skip(from) {
            *c = true;
        }
    };
    let lower = message.to_ascii_lowercase();
    let lower_b = lower.as_bytes();
    let token_end = |from: usize| {
        (from..src.len())
            .find(|&j| !src.get(j).copied().is_some_and(is_token_byte))
            .unwrap_or(src.len())
    };
    let mut i = 0;
    while i < src.len() {
        let at_word_start = i == 0 || !src.get(i - 1).copied().is_some_and(is_token_byte);
        if at_word_start {
            // Known prefixes (case-sensitive: `AKIA`, `AIza` are case-specific).
            if let Some(prefix) = TOKEN_PREFIXES
                .iter()
                .find(|p| message.get(i..).is_some_and(|rest| rest.starts_with(**p)))
            {
                let end = token_end(i);
                if end - i >= prefix.len() + 12 {
                    cover(i + prefix.len(), end, &mut covered);
                    i = end;
                    continue;
                }
            }
            // `Bearer <token>` / `Basic <token>`.
            for scheme in ["bearer ", "basic "] {
                if lower.get(i..).is_some_and(|rest| rest.starts_with(scheme)) {
                    let from = i + scheme.len();
                    let end = token_end(from);
                    if end - from >= 8 {
                        cover(from, end, &mut covered);
                    }
                }
            }
        }
        // `scheme://user:pass@host` → `scheme://***@host`.
        if lower_b.get(i..i + 3) == Some(b"://") {
            let from = i + 3;
            let end = (from..src.len())
                .find(|&j| {
                    src.get(j)
                        .is_some_and(|b| matches!(b, b'/' | b'?' | b'#') || b.is_ascii_whitespace())
                })
                .unwrap_or(src.len());
            if let Some(at) = message.get(from..end).and_then(|a| a.rfind('@')) {
                cover(from, from + at, &mut covered);
            }
        }
        // `?name=value` / `&name=value` with a credential-like name.
        if matches!(src.get(i), Some(b'?') | Some(b'&')) {
            let name_start = i + 1;
            let name_end = (name_start..src.len())
                .find(|&j| {
                    !src.get(j).is_some_and(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
                    })
                })
                .unwrap_or(src.len());
            if src.get(name_end) == Some(&b'=') && name_end > name_start {
                let name = message.get(name_start..name_end).unwrap_or_default();
                if is_secret_param(name) {
                    let from = name_end + 1;
                    let end = token_end(from);
                    if end > from {
                        cover(from, end, &mut covered);
                    }
                }
            }
        }
        i += 1;
    }
    replace_covered(message, &covered)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const KEY: &str = "sk-live-SECRET-1234abcd";

    fn leaks(text: &str) -> bool {
        let lower = text.to_ascii_lowercase();
        lower.contains("secret-1234") || lower.contains("live-secret")
    }

    #[test]
    fn every_encoding_of_a_known_secret_is_masked() {
        let r = Redactor::new([KEY]);
        let cases = [
            format!("Incorrect API key provided: {KEY}."),
            format!("key {}", KEY.to_uppercase()),
            format!("key {}", KEY.to_lowercase()),
            format!("key {}", &KEY[..KEY.len() - 1]),
            format!("key {}", &KEY[1..]),
            format!("url ?k={}", "sk%2Dlive%2DSECRET%2D1234abcd"),
            format!("url ?k={}", "%73%6B%2D%6C%69%76%65-SECRET-1234abcd"),
            "json \\u0073k-live-SECRET\\u002d1234abcd".to_string(),
            format!("b64 {}", base64(KEY.as_bytes())),
            format!("b64url {}", base64url(KEY.as_bytes())),
            format!("basic {}", base64(format!("user:{KEY}").as_bytes())),
            format!("hex {}", crate::hash::hex(KEY.as_bytes()).to_uppercase()),
        ];
        for case in &cases {
            let out = r.scrub_known(case);
            assert!(out.contains(MASK), "not masked: {case} -> {out}");
            let b64 = base64(KEY.as_bytes());
            assert!(!out.contains(&b64[4..16]), "base64 leaks: {out}");
            assert!(!leaks(&out), "leaks: {case} -> {out}");
        }
    }

    #[test]
    fn text_without_the_secret_is_kept() {
        let r = Redactor::new([KEY, "hdr-value"]);
        let text = "The model `gpt-4o` does not exist or you do not have access to it.";
        assert_eq!(r.scrub(text), text);
        assert_eq!(r.scrub("ünïcödé ✓ text"), "ünïcödé ✓ text");
    }

    #[test]
    fn short_secrets_need_a_whole_match() {
        let r = Redactor::new(["abcde", "abc"]);
        assert_eq!(r.scrub_known("x abcd y"), "x abcd y");
        assert_eq!(r.scrub_known("x abcde y"), "x *** y");
        assert_eq!(r.scrub_known("abc"), "abc");
    }

    #[test]
    fn credential_shaped_tokens_are_masked_without_configuration() {
        let cases = [
            ("bad key sk-proj-AbCdEf0123456789xyz", "bad key sk-proj-***"),
            (
                "token ya29.a0AfH6SMBxxxxxxxxxxxxx here",
                "token ya29.*** here",
            ),
            (
                "Authorization: Bearer abcdefgh12345678",
                "Authorization: Bearer ***",
            ),
            (
                "connect to http://user:pass@host:1/x failed",
                "connect to http://***@host:1/x failed",
            ),
            (
                "GET https://h/v1?key=AIzaSECRET&alt=sse&api-key=zz",
                "GET https://h/v1?key=***&alt=sse&api-key=***",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(scrub_tokens(input), expected, "{input}");
        }
        let plain = "model claude-3-5-haiku-20241022 is overloaded (request req_011CQ)";
        assert_eq!(scrub_tokens(plain), plain);
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_MESSAGE_BYTES);
        let out = Redactor::default().scrub(&long);
        assert!(out.len() <= MAX_MESSAGE_BYTES);
        assert!(out.chars().all(|c| c == 'é'));
    }

    #[test]
    fn multibyte_text_around_a_secret_survives() {
        let r = Redactor::new(["sécret-valué-42"]);
        let out = r.scrub_known("avant SÉCRET-VALUÉ-42 après sécret-valué-42 ✓");
        assert!(!out.contains("valu"), "{out}");
        assert!(out.starts_with("avant ") && out.ends_with(" ✓"), "{out}");
    }
}
