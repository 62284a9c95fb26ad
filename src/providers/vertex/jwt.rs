//! The pure pieces of Google's service-account OAuth flow: base64 (standard and URL-safe),
//! PEM → DER, the RS256 JWT's signing input, and `application/x-www-form-urlencoded` bodies.
//! Signing itself happens in the host (`Ports.signer`, WebCrypto in wasm).

/// The OAuth scope every Vertex AI call needs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// Lifetime asked for in the assertion (Google's maximum).
pub const ASSERTION_LIFETIME_S: u64 = 3600;
/// The grant type of a JWT-bearer token request (RFC 7523).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode(bytes: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    let sextet = |n: u32, shift: u32| {
        char::from(
            alphabet
                .get(((n >> shift) & 63) as usize)
                .copied()
                .unwrap_or(b'='),
        )
    };
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sextet(n, 18));
        out.push(sextet(n, 12));
        if chunk.len() > 1 {
            out.push(sextet(n, 6));
        } else if pad {
            out.push('=');
        }
        if chunk.len() > 2 {
            out.push(sextet(n, 0));
        } else if pad {
            out.push('=');
        }
    }
    out
}

/// Base64url without padding (RFC 7515 §2), as JWTs use.
pub fn base64url(bytes: &[u8]) -> String {
    encode(bytes, URL_SAFE, false)
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    encode(bytes, STANDARD, true)
}

/// Decodes standard or URL-safe base64; padding is optional, ASCII whitespace is skipped.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut padding = false;
    for (i, c) in text.bytes().enumerate() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padding = true;
                continue;
            }
            c if c.is_ascii_whitespace() => continue,
            _ => return Err(format!("invalid base64 character at offset {i}")),
        };
        if padding {
            return Err("base64 data continues after padding".into());
        }
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    if bits >= 6 {
        return Err("truncated base64 data".into());
    }
    Ok(out)
}

/// The DER bytes of a PEM block (`-----BEGIN …-----` lines dropped). Literal `\n` escapes,
/// as a key copied out of a JSON file into an environment variable often has, count as
/// line breaks.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    let unescaped = pem.replace("\\r", "\n").replace("\\n", "\n");
    let body: String = unescaped
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("-----"))
        .collect();
    if body.is_empty() {
        return Err("the PEM block is empty".into());
    }
    base64_decode(&body).map_err(|e| format!("the PEM block is not valid base64 ({e})"))
}

/// True when `pem` holds a PKCS#8 private key (`BEGIN PRIVATE KEY`), the form Google issues
/// and WebCrypto imports.
pub fn is_pkcs8_pem(pem: &str) -> bool {
    pem.contains("-----BEGIN PRIVATE KEY-----")
}

/// `base64url(header).base64url(claims)` of the assertion a service account signs to get an
/// access token: `iss` = the account, `scope` = cloud-platform, `aud` = the token endpoint,
/// `iat` = now, `exp` = an hour later.
pub fn signing_input(client_email: &str, token_uri: &str, issued_at_s: u64) -> String {
    let header = crate::obj! {"alg": "RS256", "typ": "JWT"};
    let claims = crate::obj! {
        "iss": client_email,
        "scope": SCOPE,
        "aud": token_uri,
        "iat": issued_at_s,
        "exp": issued_at_s + ASSERTION_LIFETIME_S,
    };
    format!(
        "{}.{}",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes())
    )
}

/// Appends the base64url signature to a signing input: the complete JWT.
pub fn assemble(signing_input: &str, signature: &[u8]) -> String {
    format!("{signing_input}.{}", base64url(signature))
}

/// `application/x-www-form-urlencoded` (WHATWG URL spec): unreserved bytes as is, space as
/// `+`, everything else percent-encoded.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    fn component(text: &str, out: &mut String) {
        for b in text.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    out.push(char::from(b));
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        component(name, &mut out);
        out.push('=');
        component(value, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use serde_json::json;
    use serde_json::Value;

    #[test]
    fn base64url_matches_the_rfc_4648_vectors_without_padding() {
        let cases = [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64url(plain.as_bytes()), encoded, "{plain:?}");
        }
        // The URL-safe alphabet: 0xfb 0xff -> "-_8" (standard: "+/8=").
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"f"), "Zg==");
    }

    #[test]
    fn base64_decoding_round_trips_both_alphabets_and_rejects_garbage() {
        let bytes: Vec<u8> = (0..=255u8).collect();
        assert_eq!(base64_decode(&base64(&bytes)).unwrap(), bytes);
        assert_eq!(base64_decode(&base64url(&bytes)).unwrap(), bytes);
        assert_eq!(base64_decode("Zm9v\nYmFy").unwrap(), b"foobar");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert!(base64_decode("Zm9v!").is_err());
        assert!(base64_decode("Zg==Zg").is_err());
        assert!(base64_decode("Z").is_err());
    }

    #[test]
    fn pem_to_der_strips_armour_whitespace_and_escaped_newlines() {
        let pem = "-----BEGIN PRIVATE KEY-----\nZm9v\nYmFy\n-----END PRIVATE KEY-----\n";
        assert_eq!(pem_to_der(pem).unwrap(), b"foobar");
        let escaped = "-----BEGIN PRIVATE KEY-----\\nZm9v\\nYmFy\\n-----END PRIVATE KEY-----\\n";
        assert_eq!(pem_to_der(escaped).unwrap(), b"foobar");
        assert!(pem_to_der("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----").is_err());
        assert!(is_pkcs8_pem(pem));
        assert!(!is_pkcs8_pem("-----BEGIN RSA PRIVATE KEY-----\nZm9v\n"));
    }

    #[test]
    fn signing_input_is_the_encoded_header_and_claims() {
        let input = signing_input("sa@p.iam.gserviceaccount.com", "https://t.test/token", 1000);
        let (header, claims) = input.split_once('.').unwrap();
        let header: Value = serde_json::from_slice(&base64_decode(header).unwrap()).unwrap();
        let claims: Value = serde_json::from_slice(&base64_decode(claims).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
        assert_eq!(
            claims,
            json!({"iss": "sa@p.iam.gserviceaccount.com", "scope": SCOPE,
                   "aud": "https://t.test/token", "iat": 1000, "exp": 4600})
        );
        assert!(!input.contains('='));
        assert_eq!(assemble("a.b", &[0xfb, 0xff]), "a.b.-_8");
    }

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        assert_eq!(
            form_encode(&[("grant_type", JWT_BEARER_GRANT), ("assertion", "a.b-_c")]),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b-_c"
        );
        assert_eq!(form_encode(&[("q", "a b/é")]), "q=a+b%2F%C3%A9");
    }
}
