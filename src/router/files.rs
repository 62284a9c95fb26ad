//! Files and batches routed to the deployment that holds them: the signed ids llmux returns
//! (`llmux-file-…` / `llmux-batch-…`) and the calls that create, read and cancel them.

use super::call::{Call, Reply};
use super::{annotate, CallOptions, Routed, Router};
use crate::config::Deployment;
use crate::error::{ErrorKind, LlmError};
use crate::hash::hmac_sha256;
use crate::providers::files::{self, FilesOp};
use crate::providers::{error_message, RequestContext};
use crate::reliability::classify;
use crate::types::audio::{Audio, AudioBody, Upload};
use crate::types::Endpoint;
use serde_json::{Map, Value};
use std::rc::Rc;

/// The longest id llmux decodes (ids it issues are far shorter); longer is refused unread.
pub const MAX_ID_BYTES: usize = 1024;

/// Batches one `listBatches()` call asks each deployment for at most (OpenAI's own cap).
const MAX_LIST_LIMIT: u64 = 100;

/// What an id names: a file or a batch (part of the signed text, so one is never the other).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Batch,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::File => "llmux-file-",
            Kind::Batch => "llmux-batch-",
        }
    }
}

/// llmux's id for the upstream object `upstream` on deployment `deployment_id`:
/// `llmux-{file|batch}-` + base64url(`{deployment_id}\n{upstream}`) + `.` + base64url of the
/// first 16 bytes of HMAC-SHA256(`files_secret`, `llmux-files-v1\n{kind}\n{payload}`).
pub fn encode_id(secret: &[u8], kind: Kind, deployment_id: &str, upstream: &str) -> String {
    let payload = format!("{deployment_id}\n{upstream}");
    let tag = tag_of(secret, kind, &payload);
    format!(
        "{}{}.{}",
        kind.prefix(),
        b64url(payload.as_bytes()),
        b64url(&tag)
    )
}

/// The deployment id and upstream id inside `id`, when `secret` signed it as `kind`.
pub fn decode_id(secret: &[u8], kind: Kind, id: &str) -> Option<(String, String)> {
    if id.len() > MAX_ID_BYTES {
        return None;
    }
    let rest = id.strip_prefix(kind.prefix())?;
    let (payload, tag) = rest.split_once('.')?;
    let payload = String::from_utf8(unb64url(payload)?).ok()?;
    let tag = unb64url(tag)?;
    let expected = tag_of(secret, kind, &payload);
    if tag.len() != expected.len() {
        return None;
    }
    // Constant time: every byte compared whatever the first difference.
    let diff = tag
        .iter()
        .zip(expected.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff != 0 {
        return None;
    }
    let (deployment, upstream) = payload.split_once('\n')?;
    Some((deployment.to_string(), upstream.to_string()))
}

fn tag_of(secret: &[u8], kind: Kind, payload: &str) -> [u8; 16] {
    let kind = match kind {
        Kind::File => "file",
        Kind::Batch => "batch",
    };
    let mac = hmac_sha256(
        secret,
        format!("llmux-files-v1\n{kind}\n{payload}").as_bytes(),
    );
    let mut tag = [0u8; 16];
    tag.copy_from_slice(mac.get(..16).unwrap_or(&[0u8; 16]));
    tag
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            let digit = B64.get(((n >> (18 - 6 * i)) & 63) as usize).copied();
            out.push(char::from(digit.unwrap_or(b'A')));
        }
    }
    out
}

fn unb64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = B64.iter().position(|&x| x == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero padding (one encoding per byte string).
    (acc == 0 && bits < 6).then_some(out)
}

impl Router {
    /// Serves one files or batches call (`createFile`, `createBatch`, …).
    pub async fn files(
        &self,
        op: FilesOp,
        mut body: Map<String, Value>,
        upload: Option<Upload>,
    ) -> Result<Routed, LlmError> {
        let secret = match &self.inner.config.files_secret {
            Some(s) => s.expose().as_bytes().to_vec(),
            None => {
                return Err(LlmError::config(
                    "files_secret",
                    format!(
                        "is required by {}() (it signs the file and batch ids llmux returns)",
                        op.method()
                    ),
                ))
            }
        };
        self.await_first_sync().await;
        let (kind, field) = match op {
            FilesOp::CreateFile => return self.create_file(&secret, body, upload).await,
            FilesOp::ListBatches | FilesOp::ListFiles => return self.list(&secret, op, body).await,
            FilesOp::CreateBatch
            | FilesOp::FileContent
            | FilesOp::RetrieveFile
            | FilesOp::DeleteFile => (Kind::File, op_field(op)),
            FilesOp::RetrieveBatch | FilesOp::CancelBatch => (Kind::Batch, "batch_id"),
        };
        let (d, upstream) = self.holder(&secret, kind, &body, field)?;
        let upstream = if op == FilesOp::CreateBatch {
            body.insert("input_file_id".into(), Value::String(upstream));
            None
        } else {
            Some(upstream)
        };
        let mut routed = self
            .on_deployment(&d, op, upstream.as_deref(), body)
            .await?;
        match op {
            FilesOp::FileContent => {}
            FilesOp::RetrieveFile | FilesOp::DeleteFile => {
                sign(&secret, Kind::File, &d.id, routed.body.get_mut("id"));
            }
            _ => sign_batch(&secret, &d.id, &mut routed.body),
        }
        Ok(routed)
    }

    /// Uploads to a deployment of the `model` group, chosen, retried and failed over as any
    /// call of that group.
    async fn create_file(
        &self,
        secret: &[u8],
        mut body: Map<String, Value>,
        upload: Option<Upload>,
    ) -> Result<Routed, LlmError> {
        let started = self.now();
        self.state_tick();
        let opts = CallOptions::extract(&mut body)?;
        let mut call = Call::new(Endpoint::ChatCompletion, body, opts);
        call.upload = upload;
        call.files_op = Some(FilesOp::CreateFile);
        let mut routed = self.call_upstream(call, started).await?;
        let d = routed.hidden.model_id.clone();
        sign(secret, Kind::File, &d, routed.body.get_mut("id"));
        Ok(routed)
    }

    /// Every batch (`listBatches`) or file (`listFiles`) of the `model` group's OpenAI and
    /// Azure deployments, ids signed; `limit` (default 20, at most 100) applies per deployment.
    async fn list(
        &self,
        secret: &[u8],
        op: FilesOp,
        mut body: Map<String, Value>,
    ) -> Result<Routed, LlmError> {
        let opts = CallOptions::extract(&mut body)?;
        let limit = body
            .get("limit")
            .and_then(Value::as_u64)
            .unwrap_or(20)
            .clamp(1, MAX_LIST_LIMIT);
        body.insert("limit".into(), Value::from(limit));
        let table = self.table();
        let group = self.resolve_alias(&opts.model);
        let deployments: Vec<Rc<Deployment>> = table
            .group(&group)
            .iter()
            .filter(|d| files::check_provider(d, op).is_ok())
            .cloned()
            .collect();
        let Some(first) = deployments.first().cloned() else {
            return Err(LlmError::new(
                ErrorKind::NoDeploymentsAvailableError,
                format!(
                    "model group {group} has no OpenAI or Azure deployment for {}()",
                    op.method()
                ),
            )
            .with_status(404));
        };
        let mut data = Vec::new();
        let mut has_more = false;
        let mut last = None;
        for d in &deployments {
            let routed = self.on_deployment(d, op, None, body.clone()).await?;
            has_more |= routed.body.get("has_more").and_then(Value::as_bool) == Some(true);
            if let Some(Value::Array(items)) = routed.body.get("data") {
                for item in items {
                    let mut item = item.clone();
                    if op == FilesOp::ListFiles {
                        sign(secret, Kind::File, &d.id, item.get_mut("id"));
                    } else {
                        sign_batch(secret, &d.id, &mut item);
                    }
                    data.push(item);
                }
            }
            last = Some(routed.hidden);
        }
        let mut hidden = last.unwrap_or_else(|| self.bare_hidden(&first, 0));
        hidden.attempts = deployments.len() as u32;
        let first_id = data.first().and_then(|b| b.get("id")).cloned();
        let last_id = data.last().and_then(|b| b.get("id")).cloned();
        Ok(Routed {
            body: serde_json::json!({
                "object": "list", "data": data, "first_id": first_id, "last_id": last_id,
                "has_more": has_more,
            }),
            audio: None,
            hidden,
        })
    }

    /// The deployment and upstream id named by the signed id in `body[field]`.
    fn holder(
        &self,
        secret: &[u8],
        kind: Kind,
        body: &Map<String, Value>,
        field: &str,
    ) -> Result<(Rc<Deployment>, String), LlmError> {
        let id = match body.get(field) {
            Some(Value::String(s)) if !s.is_empty() => s,
            _ => {
                return Err(LlmError::bad_request(format!(
                    "`{field}` is required (an id llmux returned)"
                )))
            }
        };
        let what = match kind {
            Kind::File => "file",
            Kind::Batch => "batch",
        };
        let Some((deployment, upstream)) = decode_id(secret, kind, id) else {
            return Err(LlmError::new(
                ErrorKind::NotFoundError,
                format!(
                    "`{field}` is not a {what} id this router issued (tampered, from another router, or signed with another files_secret)"
                ),
            )
            .with_status(404));
        };
        let table = self.table();
        let d = table
            .deployments()
            .iter()
            .find(|d| d.id == deployment)
            .cloned()
            .ok_or_else(|| {
                LlmError::new(
                    ErrorKind::NotFoundError,
                    format!("the deployment holding this {what} is no longer in model_list"),
                )
                .with_status(404)
            })?;
        Ok((d, upstream))
    }

    /// One exchange of `op` with `d` (plus `d`'s own `max_retries`): no other deployment
    /// holds the object, so there is no failover.
    async fn on_deployment(
        &self,
        d: &Rc<Deployment>,
        op: FilesOp,
        upstream_id: Option<&str>,
        mut body: Map<String, Value>,
    ) -> Result<Routed, LlmError> {
        let started = self.now();
        body.insert("model".into(), Value::String(d.model_group.clone()));
        let opts = CallOptions::extract(&mut body)?;
        let mut call = Call::new(Endpoint::ChatCompletion, body, opts);
        call.files_op = Some(op);
        call.files_upstream_id = upstream_id.map(str::to_string);
        let reply = self
            .files_exchange(&mut call, d, op)
            .await
            .map_err(|e| annotate(e, d))?;
        let mut hidden = self.bare_hidden(d, call.attempts);
        hidden.latency_ms = self.now() - started;
        Ok(match reply {
            Reply::Audio(audio) => Routed {
                body: Value::Object(Map::new()),
                audio: Some(audio),
                hidden,
            },
            other => Routed {
                body: other.into_json()?,
                audio: None,
                hidden,
            },
        })
    }

    fn bare_hidden(&self, d: &Deployment, attempts: u32) -> super::HiddenParams {
        super::HiddenParams::of(d, None, attempts, 0, None, 0.0)
    }

    /// One files or batches exchange with `d` (the attempt of `Router::exchange`).
    pub(super) async fn files_exchange(
        &self,
        call: &mut Call,
        d: &Deployment,
        op: FilesOp,
    ) -> Result<Reply, LlmError> {
        let timeout_ms = call
            .opts
            .timeout_ms
            .or(d.timeout_ms)
            .unwrap_or(self.inner.config.timeout_ms);
        let ctx = RequestContext {
            timeout_ms,
            now_ms: self.now(),
            bearer_token: None,
            stream: false,
            entropy: self.inner.ports.rng.next_u64(),
        };
        let request = files::build(
            d,
            op,
            call.files_upstream_id.as_deref(),
            &call.body,
            call.upload.as_ref(),
            &ctx,
        )?;
        let mut local_retries = 0;
        loop {
            call.attempts += 1;
            let outcome = match self.inner.ports.transport.send(request.clone()).await {
                Err(te) => Err(classify::from_transport(&te, Some(timeout_ms))),
                Ok(r) if !(200..300).contains(&r.status) => {
                    Err(classify::from_status(&r, error_message(&r)))
                }
                Ok(r) if op == FilesOp::FileContent => Ok(Reply::Audio(Audio {
                    content_type: r
                        .header("content-type")
                        .unwrap_or("application/octet-stream")
                        .to_string(),
                    body: AudioBody::Bytes(r.body),
                })),
                Ok(r) => classify::json_body(&r.body).and_then(|v| {
                    let list = matches!(op, FilesOp::ListBatches | FilesOp::ListFiles);
                    if v.get("id").is_some_and(Value::is_string) || list {
                        Ok(Reply::Json(v))
                    } else {
                        Err(classify::malformed_body("no `id` in the reply"))
                    }
                }),
            };
            match outcome {
                Err(e) if e.retryable() && local_retries < d.max_retries => {
                    self.local_backoff(local_retries, &e).await;
                    local_retries += 1;
                }
                other => return other,
            }
        }
    }
}

/// The request field holding the id a file operation names.
fn op_field(op: FilesOp) -> &'static str {
    match op {
        FilesOp::CreateBatch => "input_file_id",
        _ => "file_id",
    }
}

/// Replaces the string at `slot` with its signed llmux id.
fn sign(secret: &[u8], kind: Kind, deployment_id: &str, slot: Option<&mut Value>) {
    if let Some(v) = slot {
        if let Value::String(upstream) = v {
            *v = Value::String(encode_id(secret, kind, deployment_id, upstream));
        }
    }
}

/// Signs a batch object's own id and the ids of its input, output and error files.
fn sign_batch(secret: &[u8], deployment_id: &str, batch: &mut Value) {
    let Some(obj) = batch.as_object_mut() else {
        return;
    };
    sign(secret, Kind::Batch, deployment_id, obj.get_mut("id"));
    for field in ["input_file_id", "output_file_id", "error_file_id"] {
        sign(secret, Kind::File, deployment_id, obj.get_mut(field));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_id_decodes_to_its_deployment_and_upstream_id() {
        let id = encode_id(b"0123456789abcdef", Kind::File, "dep-1", "file-abc");
        assert!(id.starts_with("llmux-file-"));
        assert_eq!(
            decode_id(b"0123456789abcdef", Kind::File, &id),
            Some(("dep-1".into(), "file-abc".into()))
        );
    }

    #[test]
    fn an_id_signed_with_another_secret_or_kind_or_tampered_is_refused() {
        let id = encode_id(b"0123456789abcdef", Kind::Batch, "dep-1", "batch_1");
        assert_eq!(decode_id(b"another-secret-xx", Kind::Batch, &id), None);
        assert_eq!(decode_id(b"0123456789abcdef", Kind::File, &id), None);
        let forged = encode_id(b"0123456789abcdef", Kind::Batch, "dep-2", "batch_1");
        let (_, tag) = id.rsplit_once('.').unwrap_or_default();
        let (payload, _) = forged.rsplit_once('.').unwrap_or_default();
        assert!(!tag.is_empty() && !payload.is_empty());
        assert_eq!(
            decode_id(
                b"0123456789abcdef",
                Kind::Batch,
                &format!("{payload}.{tag}")
            ),
            None
        );
        assert_eq!(decode_id(b"0123456789abcdef", Kind::Batch, "batch_1"), None);
    }

    #[test]
    fn base64url_round_trips_every_length() {
        for n in 0..10 {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 200) as u8).collect();
            assert_eq!(unb64url(&b64url(&bytes)), Some(bytes));
        }
    }
}
