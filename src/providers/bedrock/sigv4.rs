//! AWS Signature Version 4 (header signing) over `crate::hash`, with no clock and no crypto
//! crate: the caller passes the time, and the date arithmetic lives here.
//!
//! The rules are those of the AWS SigV4 test suite for every service but S3:
//! - canonical URI: the path *as sent* is URI-encoded once more, segment by segment, so a
//!   Bedrock model id `…-v1:0` travels as `…-v1%3A0` and is signed as `…-v1%253A0`;
//! - canonical query: names and values decoded, re-encoded (RFC 3986 unreserved kept), sorted;
//! - canonical headers: names lower-cased, values trimmed with inner runs of spaces collapsed,
//!   repeated names joined with `,`, sorted by name; every header given is signed.

use crate::hash::{hex, hmac_sha256, sha256_hex};

/// `AWS4-HMAC-SHA256`, the only algorithm llmux signs with.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Long-term or temporary (STS) credentials.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    /// Sent (and signed) as `x-amz-security-token` when set.
    pub session_token: Option<&'a str>,
}

/// Everything a signature depends on besides the request itself.
#[derive(Clone, Copy)]
pub struct SigningParams<'a> {
    pub credentials: Credentials<'a>,
    pub region: &'a str,
    pub service: &'a str,
    /// `YYYYMMDDTHHMMSSZ`, see [`amz_date`].
    pub amz_date: &'a str,
}

/// The intermediate strings and the final header of one signature (for tests and debugging;
/// none of them contains the secret key).
#[derive(Debug, Clone, PartialEq)]
pub struct Signature {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signed_headers: String,
    pub signature: String,
    pub authorization: String,
}

/// The parts of an absolute `http(s)` URL a signature needs.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlParts<'a> {
    /// `host[:port]` as the `Host` header carries it (default ports dropped).
    pub host: String,
    /// The path as sent, `/` when empty.
    pub path: &'a str,
    /// The query string without `?` (empty when absent).
    pub query: &'a str,
}

/// Splits `http(s)://authority/path?query#fragment`.
pub fn parse_url(url: &str) -> Result<UrlParts<'_>, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url:?} is not an absolute URL"))?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return Err(format!("{url:?} is not an http(s) URL")),
    };
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if authority.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    let host = authority
        .strip_suffix(default_port)
        .unwrap_or(authority)
        .to_ascii_lowercase();
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    Ok(UrlParts {
        host,
        path: if path.is_empty() { "/" } else { path },
        query,
    })
}

/// Percent-encodes every byte except RFC 3986 unreserved characters (`A-Z a-z 0-9 - _ . ~`),
/// with upper-case hex: AWS's `UriEncode` with `/` encoded too.
pub fn uri_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (invalid ones are kept literally); `+` is not a space in SigV4.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex_pair = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(decoded) = hex_pair {
                out.push(decoded);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The canonical URI of a path as sent: each segment URI-encoded (again).
pub fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// The canonical query string: parameters decoded, re-encoded and sorted by name, then value.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(name)),
                uri_encode(&percent_decode(value)),
            )
        })
        .collect();
    crate::sort::sort(&mut pairs);
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Trims a header value and collapses inner runs of spaces to one.
fn normalize_header_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical header block (each `name:value` line ending in `\n`) and the signed-header
/// list (`a;b;c`) of `headers`, which must include `host`.
pub fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut merged: Vec<(String, String)> = Vec::with_capacity(headers.len());
    let mut sorted: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), normalize_header_value(v)))
        .collect();
    // Stable: repeated names keep their order of appearance.
    crate::sort::sort_by(&mut sorted, |a, b| a.0.cmp(&b.0));
    for (name, value) in sorted {
        match merged.last_mut() {
            Some((last, joined)) if *last == name => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => merged.push((name, value)),
        }
    }
    let block = merged.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed = merged
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (block, signed)
}

/// The canonical request and its signed-header list.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    payload_sha256_hex: &str,
) -> (String, String) {
    let (block, signed) = canonical_headers(headers);
    let request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        canonical_uri(path),
        canonical_query(query),
        block,
        signed,
        payload_sha256_hex
    );
    (request, signed)
}

/// `YYYYMMDD/region/service/aws4_request`.
pub fn credential_scope(amz_date: &str, region: &str, service: &str) -> String {
    let date = amz_date.get(..8).unwrap_or(amz_date);
    format!("{date}/{region}/{service}/aws4_request")
}

pub fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret_access_key: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(
        format!("AWS4{secret_access_key}").as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// Signs a request whose `headers` already hold everything to sign (`host` and `x-amz-date`
/// included).
pub fn sign(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    payload: &[u8],
    params: &SigningParams<'_>,
) -> Signature {
    let (canonical_request, signed_headers) =
        canonical_request(method, path, query, headers, &sha256_hex(payload));
    let scope = credential_scope(params.amz_date, params.region, params.service);
    let string_to_sign = string_to_sign(params.amz_date, &scope, &canonical_request);
    let date = params.amz_date.get(..8).unwrap_or(params.amz_date);
    let key = signing_key(
        params.credentials.secret_access_key,
        date,
        params.region,
        params.service,
    );
    let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        params.credentials.access_key_id
    );
    Signature {
        canonical_request,
        string_to_sign,
        signed_headers,
        signature,
        authorization,
    }
}

/// Signs an HTTP request to `url`: returns the headers to add to `headers` (`x-amz-date`,
/// `x-amz-security-token` when a session token is set, `authorization`). `host` is signed
/// from the URL and not returned (fetch sets it).
pub fn sign_request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    payload: &[u8],
    params: &SigningParams<'_>,
) -> Result<(Vec<(String, String)>, Signature), String> {
    let parts = parse_url(url)?;
    let mut added = vec![("x-amz-date".to_string(), params.amz_date.to_string())];
    if let Some(token) = params.credentials.session_token {
        added.push(("x-amz-security-token".to_string(), token.to_string()));
    }
    let mut to_sign: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| {
            !n.eq_ignore_ascii_case("authorization") && !n.eq_ignore_ascii_case("user-agent")
        })
        .cloned()
        .collect();
    to_sign.push(("host".to_string(), parts.host.clone()));
    to_sign.extend(added.iter().cloned());
    let signature = sign(method, parts.path, parts.query, &to_sign, payload, params);
    added.push(("authorization".to_string(), signature.authorization.clone()));
    Ok((added, signature))
}

// ---------------------------------------------------------------------------------------------
// Civil time without std::time: days since 1970-01-01 <-> (year, month, day), after Howard
// Hinnant's `civil_from_days` / `days_from_civil` (proleptic Gregorian calendar).

/// `(year, month 1-12, day 1-31)` of a count of days since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// Days since 1970-01-01 of a civil date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400); // [0, 399]
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The SigV4 timestamp (`20150830T123600Z`) of epoch milliseconds, in UTC.
pub fn amz_date(epoch_ms: f64) -> String {
    let secs = if epoch_ms.is_finite() {
        (epoch_ms / 1000.0).floor() as i64
    } else {
        0
    };
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Epoch seconds of an IMF-fixdate HTTP `Date` header (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_http_date(value: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let mut parts = value.split_whitespace();
    let _weekday = parts.next()?;
    let day: u32 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?.to_ascii_lowercase();
    let month = MONTHS.iter().position(|m| *m == month_name)? as u32 + 1;
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if !(1..=31).contains(&day) || !(0..24).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn civil_from_days_matches_known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(16_677), (2015, 8, 30));
        assert_eq!(civil_from_days(47_540), (2100, 2, 28));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
    }

    #[test]
    fn days_from_civil_inverts_civil_from_days() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn amz_date_formats_utc_seconds() {
        // 2015-08-30T12:36:00Z, the AWS test-suite date.
        assert_eq!(amz_date(1_440_938_160_000.0), "20150830T123600Z");
        assert_eq!(amz_date(1_440_938_160_999.9), "20150830T123600Z");
        assert_eq!(amz_date(0.0), "19700101T000000Z");
        assert_eq!(amz_date(951_868_799_000.0), "20000229T235959Z");
        assert_eq!(amz_date(f64::NAN), "19700101T000000Z");
    }

    #[test]
    fn http_dates_parse_to_epoch_seconds() {
        assert_eq!(
            parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(1_440_938_160)
        );
        assert_eq!(parse_http_date("not a date"), None);
    }

    #[test]
    fn urls_split_into_host_path_and_query() {
        let p = parse_url(
            "https://bedrock-runtime.us-east-1.amazonaws.com:443/model/a%3A0/converse?x=1#f",
        )
        .unwrap();
        assert_eq!(p.host, "bedrock-runtime.us-east-1.amazonaws.com");
        assert_eq!(p.path, "/model/a%3A0/converse");
        assert_eq!(p.query, "x=1");
        let p = parse_url("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            (p.host.as_str(), p.path, p.query),
            ("127.0.0.1:8080", "/", "")
        );
        assert!(parse_url("ftp://x/").is_err());
    }

    #[test]
    fn canonical_uri_encodes_the_sent_path_again() {
        assert_eq!(
            canonical_uri("/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"),
            "/model/anthropic.claude-3-5-sonnet-20241022-v2%253A0/converse"
        );
        assert_eq!(canonical_uri("/example space/"), "/example%20space/");
    }
}
