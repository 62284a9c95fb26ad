//! Google OAuth for Vertex AI: `vertex_credentials` parsing, the token exchange, and a
//! per-credentials access-token cache with single-flight refresh.
//!
//! # Credentials
//!
//! `vertex_credentials` is the JSON text of a Google credentials file (or the same JSON as an
//! object in the config). Two kinds are understood:
//! - `service_account` (the default when `type` is absent): an RS256-signed JWT assertion
//!   (`iss` = `client_email`, `scope` = cloud-platform, `aud` = `token_uri`, one hour) is
//!   exchanged at `token_uri` (default `https://oauth2.googleapis.com/token`) with
//!   `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`. Signing uses the host's
//!   `Ports.signer` (WebCrypto `crypto.subtle` in every JS runtime); `private_key` must be
//!   the PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) Google issues.
//! - `authorized_user` (what `gcloud auth application-default login` writes): the
//!   `refresh_token` is exchanged with `grant_type=refresh_token`, `client_id` and
//!   `client_secret`; no signing needed.
//!
//! `external_account` (workload identity federation) and file paths are refused at
//! configuration time: llmux reads no files and runs no metadata-server lookups.
//!
//! # Cache
//!
//! Tokens live in a `thread_local!` map (wasm has one thread; each router instance in a JS
//! realm shares it), keyed by the account (`client_email` + `token_uri`, or `client_id` +
//! `token_uri` + a SHA-256 of the refresh token) — never by the private key. A token is
//! reused until 60 s before its `expires_in`, measured on the router's clock from the moment
//! the exchange started. While an exchange is in flight, every other caller for the same
//! account awaits that same exchange (`futures_util::future::Shared`): a burst of requests
//! causes exactly one token request (on the transport of the router that started it). A
//! failed exchange is not cached; the next call retries. A 401 from Vertex itself drops the
//! cached token (see [`forget`]), so a revoked token is replaced on the next request.
//!
//! # Errors
//!
//! A 4xx from the token endpoint (`invalid_grant`, `invalid_client`, …) is an
//! `AuthenticationError` (401) carrying the endpoint's `error` and `error_description`;
//! a 429/5xx keeps its status class (retryable); a timeout or connection failure is a
//! `Timeout`/`APIConnectionError`. No message ever contains the key or the assertion.

use super::jwt;
use crate::config::Secret;
use crate::error::{ErrorKind, LlmError};
use crate::hash::sha256_hex;
use crate::ports::{HttpRequest, HttpResponse, LocalFuture, Ports};
use crate::reliability::classify;
use futures_util::future::{FutureExt, Shared};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;

/// Google's OAuth 2.0 token endpoint, used when the credentials name none.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// Tokens are refreshed this long before they expire.
pub const REFRESH_MARGIN_MS: f64 = 60_000.0;
/// Assumed lifetime when the token endpoint reports no `expires_in`.
const DEFAULT_EXPIRES_IN_S: f64 = 3600.0;

/// How the credentials obtain an access token.
#[derive(Debug, Clone, PartialEq)]
pub enum Grant {
    ServiceAccount {
        client_email: String,
        private_key: Secret,
    },
    AuthorizedUser {
        client_id: String,
        client_secret: Secret,
        refresh_token: Secret,
    },
}

/// Parsed `vertex_credentials`.
#[derive(Debug, Clone, PartialEq)]
pub struct Credentials {
    pub grant: Grant,
    pub token_uri: String,
    /// `project_id` (service account) or `quota_project_id` (authorized user).
    pub project_id: Option<String>,
}

fn text_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

fn required(obj: &Map<String, Value>, key: &str, kind: &str) -> Result<String, String> {
    text_field(obj, key).ok_or_else(|| format!("{kind} credentials need a non-empty {key:?}"))
}

impl Credentials {
    /// Parses the credentials JSON. Messages never quote the key material.
    pub fn parse(text: &str) -> Result<Credentials, String> {
        let value: Value = serde_json::from_str(text.trim()).map_err(|_| {
            "must be the JSON of a Google credentials file (service account or authorized \
             user), inline or through \"os.environ/NAME\"; llmux reads no files"
                .to_string()
        })?;
        let Value::Object(obj) = value else {
            return Err("must be a JSON object".into());
        };
        let token_uri = text_field(&obj, "token_uri").unwrap_or_else(|| DEFAULT_TOKEN_URI.into());
        if !(token_uri.starts_with("https://") || token_uri.starts_with("http://")) {
            return Err("\"token_uri\" must be an http(s) URL".into());
        }
        let kind = text_field(&obj, "type").unwrap_or_else(|| "service_account".into());
        match kind.as_str() {
            "service_account" => {
                let client_email = required(&obj, "client_email", "service_account")?;
                let private_key = required(&obj, "private_key", "service_account")?;
                if !jwt::is_pkcs8_pem(&private_key) {
                    return Err("\"private_key\" must be a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) as Google issues it; convert a PKCS#1 key with `openssl pkcs8 -topk8 -nocrypt`".into());
                }
                jwt::pem_to_der(&private_key).map_err(|e| format!("\"private_key\": {e}"))?;
                Ok(Credentials {
                    grant: Grant::ServiceAccount {
                        client_email,
                        private_key: Secret::new(private_key),
                    },
                    token_uri,
                    project_id: text_field(&obj, "project_id"),
                })
            }
            "authorized_user" => Ok(Credentials {
                grant: Grant::AuthorizedUser {
                    client_id: required(&obj, "client_id", "authorized_user")?,
                    client_secret: Secret::new(required(&obj, "client_secret", "authorized_user")?),
                    refresh_token: Secret::new(required(&obj, "refresh_token", "authorized_user")?),
                },
                token_uri,
                project_id: text_field(&obj, "quota_project_id"),
            }),
            other => Err(format!(
                "credentials of type {other:?} are not yet supported by llmux (use a service_account or authorized_user JSON, or pass an access token as api_key)"
            )),
        }
    }

    /// The cache key: the account and its token endpoint, never the secret itself.
    pub fn cache_key(&self) -> String {
        match &self.grant {
            Grant::ServiceAccount { client_email, .. } => {
                format!("service_account\n{client_email}\n{}", self.token_uri)
            }
            Grant::AuthorizedUser {
                client_id,
                refresh_token,
                ..
            } => format!(
                "authorized_user\n{client_id}\n{}\n{}",
                self.token_uri,
                sha256_hex(refresh_token.expose().as_bytes())
            ),
        }
    }
}

type Exchange = Shared<LocalFuture<'static, Result<String, LlmError>>>;

enum Slot {
    Ready { token: String, refresh_at_ms: f64 },
    Pending(Exchange),
}

thread_local! {
    static TOKENS: RefCell<HashMap<String, Slot>> = RefCell::new(HashMap::new());
}

enum Lookup {
    Hit(String),
    Wait(Exchange),
}

/// An access token for `creds`: cached, joined to an exchange in flight, or a fresh exchange
/// (`timeout_ms` bounds it).
pub fn access_token(
    creds: &Credentials,
    ports: &Ports,
    timeout_ms: u64,
) -> LocalFuture<'static, Result<String, LlmError>> {
    let key = creds.cache_key();
    let now = ports.clock.now_ms();
    let lookup = TOKENS.with(|cell| {
        let mut map = cell.borrow_mut();
        match map.get(&key) {
            Some(Slot::Ready {
                token,
                refresh_at_ms,
            }) if now < *refresh_at_ms => return Lookup::Hit(token.clone()),
            Some(Slot::Pending(exchange)) => return Lookup::Wait(exchange.clone()),
            _ => {}
        }
        let exchange = exchange(creds.clone(), ports.clone(), key.clone(), timeout_ms)
            .boxed_local()
            .shared();
        map.insert(key, Slot::Pending(exchange.clone()));
        Lookup::Wait(exchange)
    });
    match lookup {
        Lookup::Hit(token) => Box::pin(std::future::ready(Ok(token))),
        Lookup::Wait(exchange) => Box::pin(exchange),
    }
}

/// Forgets the cached token of `creds` (not an exchange in flight): Vertex rejected it (a 401),
/// so the next request exchanges again instead of reusing it until it expires.
pub fn forget(creds: &Credentials) {
    let key = creds.cache_key();
    TOKENS.with(|cell| {
        let mut map = cell.borrow_mut();
        if matches!(map.get(&key), Some(Slot::Ready { .. })) {
            map.remove(&key);
        }
    });
}

/// Forgets every cached token (tests; a host that rotates credentials).
pub fn clear_cache() {
    TOKENS.with(|cell| cell.borrow_mut().clear());
}

struct Token {
    access_token: String,
    expires_in_ms: f64,
}

/// Runs one exchange and records its outcome in the cache (a failure is forgotten).
async fn exchange(
    creds: Credentials,
    ports: Ports,
    key: String,
    timeout_ms: u64,
) -> Result<String, LlmError> {
    let started_ms = ports.clock.now_ms();
    let result = fetch_token(&creds, &ports, started_ms, timeout_ms).await;
    TOKENS.with(|cell| {
        let mut map = cell.borrow_mut();
        match &result {
            Ok(token) => {
                map.insert(
                    key,
                    Slot::Ready {
                        token: token.access_token.clone(),
                        refresh_at_ms: started_ms + token.expires_in_ms - REFRESH_MARGIN_MS,
                    },
                );
            }
            Err(_) => {
                map.remove(&key);
            }
        }
    });
    result.map(|t| t.access_token)
}

fn auth_error(message: String) -> LlmError {
    LlmError::new(ErrorKind::AuthenticationError, message)
}

async fn fetch_token(
    creds: &Credentials,
    ports: &Ports,
    now_ms: f64,
    timeout_ms: u64,
) -> Result<Token, LlmError> {
    let body = match &creds.grant {
        Grant::ServiceAccount {
            client_email,
            private_key,
        } => {
            let Some(signer) = ports.signer.clone() else {
                return Err(auth_error(
                    "vertex_ai service-account credentials need RS256 signing, and this runtime has no WebCrypto (crypto.subtle); pass an OAuth access token as api_key instead".into(),
                ));
            };
            let issued_at_s = (now_ms / 1000.0).floor().max(0.0) as u64;
            let input = jwt::signing_input(client_email, &creds.token_uri, issued_at_s);
            let signature = signer
                .sign_rs256(private_key.expose(), input.as_bytes())
                .await
                .map_err(|e| {
                    auth_error(format!(
                        "could not sign the Vertex AI token request for {client_email}: {e}"
                    ))
                })?;
            jwt::form_encode(&[
                ("grant_type", jwt::JWT_BEARER_GRANT),
                ("assertion", &jwt::assemble(&input, &signature)),
            ])
        }
        Grant::AuthorizedUser {
            client_id,
            client_secret,
            refresh_token,
        } => jwt::form_encode(&[
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("client_secret", client_secret.expose()),
            ("refresh_token", refresh_token.expose()),
        ]),
    };
    let request = HttpRequest {
        method: "POST",
        url: creds.token_uri.clone(),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("accept".into(), "application/json".into()),
        ],
        body: Some(body),
        binary_body: None,
        form: None,
        timeout_ms: Some(timeout_ms),
    };
    let response = ports.transport.send(request).await.map_err(|e| {
        let mut err = classify::from_transport(&e, Some(timeout_ms));
        err.message = format!(
            "Vertex AI token request to {} failed: {}",
            creds.token_uri, err.message
        );
        err
    })?;
    parse_token_response(&response)
}

/// The token endpoint's reply: `{access_token, expires_in, token_type}` or an OAuth error
/// (`{error, error_description}`, or Google's `{error: {message}}`).
fn parse_token_response(response: &HttpResponse) -> Result<Token, LlmError> {
    let parsed = serde_json::from_slice::<Value>(&response.body).ok();
    if (200..300).contains(&response.status) {
        let token = parsed
            .as_ref()
            .and_then(|v| v.get("access_token"))
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| classify::malformed_body("the token endpoint sent no access_token"))?;
        let expires_in_s = parsed
            .as_ref()
            .and_then(|v| v.get("expires_in"))
            .and_then(|e| e.as_f64().or_else(|| e.as_str()?.parse().ok()))
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(DEFAULT_EXPIRES_IN_S);
        return Ok(Token {
            access_token: token.to_string(),
            expires_in_ms: expires_in_s * 1000.0,
        });
    }
    let field = |key: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let detail = match (field("error"), field("error_description")) {
        (Some(e), Some(d)) => format!("{e}: {d}"),
        (Some(e), None) => e,
        _ => super::super::error_message(response),
    };
    let message = format!(
        "Vertex AI token exchange failed (HTTP {} from the token endpoint): {detail}",
        response.status
    );
    if response.status == 429 || response.status >= 500 {
        return Err(classify::from_status(response, message));
    }
    let mut err = auth_error(message).with_status(401);
    err.from_upstream = true;
    Err(err)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\nZm9vYmFy\n-----END PRIVATE KEY-----\n";

    fn reply(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn service_account_json_parses_with_a_default_token_uri() {
        let text = serde_json::json!({
            "type": "service_account", "project_id": "p1", "client_email": "sa@p1.iam.gserviceaccount.com",
            "private_key": PEM, "private_key_id": "abc"
        })
        .to_string();
        let creds = Credentials::parse(&text).unwrap();
        assert_eq!(creds.token_uri, DEFAULT_TOKEN_URI);
        assert_eq!(creds.project_id.as_deref(), Some("p1"));
        assert_eq!(
            creds.cache_key(),
            format!("service_account\nsa@p1.iam.gserviceaccount.com\n{DEFAULT_TOKEN_URI}")
        );
        assert!(
            !format!("{creds:?}").contains("Zm9v"),
            "Debug hides the key"
        );
    }

    #[test]
    fn bad_credentials_are_refused_without_quoting_them() {
        let pkcs1 = serde_json::json!({"client_email": "a@b", "private_key": "-----BEGIN RSA PRIVATE KEY-----\nZm9v\n-----END RSA PRIVATE KEY-----"}).to_string();
        assert!(Credentials::parse(&pkcs1).unwrap_err().contains("PKCS#8"));
        let missing =
            serde_json::json!({"type": "service_account", "private_key": PEM}).to_string();
        assert!(Credentials::parse(&missing)
            .unwrap_err()
            .contains("client_email"));
        let path = Credentials::parse("/home/me/sa.json").unwrap_err();
        assert!(path.contains("reads no files"));
        let external = serde_json::json!({"type": "external_account"}).to_string();
        assert!(Credentials::parse(&external)
            .unwrap_err()
            .contains("not yet supported"));
    }

    #[test]
    fn authorized_user_is_keyed_by_client_and_a_hash_of_the_refresh_token() {
        let text = serde_json::json!({"type": "authorized_user", "client_id": "cid", "client_secret": "cs",
            "refresh_token": "1//secret-refresh", "quota_project_id": "qp"})
        .to_string();
        let creds = Credentials::parse(&text).unwrap();
        assert_eq!(creds.project_id.as_deref(), Some("qp"));
        assert!(creds.cache_key().starts_with("authorized_user\ncid\n"));
        assert!(!creds.cache_key().contains("secret-refresh"));
    }

    #[test]
    fn token_replies_parse_and_oauth_errors_become_authentication_errors() {
        let ok = parse_token_response(&reply(
            200,
            r#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#,
        ))
        .unwrap();
        assert_eq!(ok.access_token, "ya29.x");
        assert_eq!(ok.expires_in_ms, 3_599_000.0);
        let no_expiry = parse_token_response(&reply(200, r#"{"access_token":"t"}"#)).unwrap();
        assert_eq!(no_expiry.expires_in_ms, 3_600_000.0);

        let e = parse_token_response(&reply(
            400,
            r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
        ))
        .err()
        .unwrap();
        assert_eq!(e.kind, ErrorKind::AuthenticationError);
        assert_eq!(e.status, 401);
        assert!(e.message.contains("invalid_grant: Invalid JWT Signature."));

        let busy = parse_token_response(&reply(503, "")).err().unwrap();
        assert_eq!(busy.kind, ErrorKind::ServiceUnavailableError);
        let empty = parse_token_response(&reply(200, "{}")).err().unwrap();
        assert_eq!(empty.kind, ErrorKind::InternalServerError);
    }
}
