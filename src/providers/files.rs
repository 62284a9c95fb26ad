//! Files and batches on OpenAI and Azure OpenAI: pure request builders for `/files`,
//! `/files/{id}/content` and `/batches`; every other provider is refused by name.

use super::{azure, join_url, openai, RequestContext};
use crate::config::Deployment;
use crate::error::LlmError;
use crate::ports::HttpRequest;
use crate::types::audio::{multipart, Upload};
use serde_json::{Map, Value};

/// One files or batches operation (a Router method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilesOp {
    CreateFile,
    FileContent,
    ListFiles,
    RetrieveFile,
    DeleteFile,
    CreateBatch,
    RetrieveBatch,
    CancelBatch,
    ListBatches,
}

impl FilesOp {
    pub fn parse(name: &str) -> Option<FilesOp> {
        Some(match name {
            "createFile" => FilesOp::CreateFile,
            "fileContent" => FilesOp::FileContent,
            "listFiles" => FilesOp::ListFiles,
            "retrieveFile" => FilesOp::RetrieveFile,
            "deleteFile" => FilesOp::DeleteFile,
            "createBatch" => FilesOp::CreateBatch,
            "retrieveBatch" => FilesOp::RetrieveBatch,
            "cancelBatch" => FilesOp::CancelBatch,
            "listBatches" => FilesOp::ListBatches,
            _ => return None,
        })
    }

    /// The JS method name, for error messages.
    pub fn method(self) -> &'static str {
        match self {
            FilesOp::CreateFile => "createFile",
            FilesOp::FileContent => "fileContent",
            FilesOp::ListFiles => "listFiles",
            FilesOp::RetrieveFile => "retrieveFile",
            FilesOp::DeleteFile => "deleteFile",
            FilesOp::CreateBatch => "createBatch",
            FilesOp::RetrieveBatch => "retrieveBatch",
            FilesOp::CancelBatch => "cancelBatch",
            FilesOp::ListBatches => "listBatches",
        }
    }
}

/// Request fields forwarded upstream, per operation (everything else is the router's).
const CREATE_BATCH_FIELDS: &[&str] = &[
    "input_file_id",
    "endpoint",
    "completion_window",
    "metadata",
    "output_expires_after",
];

/// Whether `d` can hold files and batches (OpenAI and Azure OpenAI only, as in LiteLLM).
pub fn check_provider(d: &Deployment, op: FilesOp) -> Result<(), LlmError> {
    match d.provider.as_str() {
        "openai" | "azure" => Ok(()),
        other => Err(LlmError::bad_request(format!(
            "{}() is for OpenAI and Azure deployments; deployment {} of {} is provider {other}",
            op.method(),
            d.id,
            d.model_group
        ))),
    }
}

/// The upstream request of `op` on `d`. `upstream_id` is the provider's own file or batch
/// id (decoded from llmux's id); `body` holds the caller's fields.
pub fn build(
    d: &Deployment,
    op: FilesOp,
    upstream_id: Option<&str>,
    body: &Map<String, Value>,
    upload: Option<&Upload>,
    ctx: &RequestContext,
) -> Result<HttpRequest, LlmError> {
    check_provider(d, op)?;
    let id = || encode_segment(upstream_id.unwrap_or_default());
    let (method, mut path) = match op {
        FilesOp::CreateFile => ("POST", "/files".to_string()),
        FilesOp::FileContent => ("GET", format!("/files/{}/content", id())),
        FilesOp::ListFiles => ("GET", "/files".to_string()),
        FilesOp::RetrieveFile => ("GET", format!("/files/{}", id())),
        FilesOp::DeleteFile => ("DELETE", format!("/files/{}", id())),
        FilesOp::CreateBatch => ("POST", "/batches".to_string()),
        FilesOp::RetrieveBatch => ("GET", format!("/batches/{}", id())),
        FilesOp::CancelBatch => ("POST", format!("/batches/{}/cancel", id())),
        FilesOp::ListBatches => ("GET", "/batches".to_string()),
    };
    if matches!(op, FilesOp::ListBatches | FilesOp::ListFiles) {
        let mut query = Vec::new();
        if let Some(limit) = body.get("limit").and_then(Value::as_u64) {
            query.push(format!("limit={limit}"));
        }
        if op == FilesOp::ListFiles {
            if let Some(Value::String(purpose)) = body.get("purpose") {
                query.push(format!("purpose={}", encode_segment(purpose)));
            }
        }
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
    }
    let (url, mut headers) = if d.provider == "azure" {
        let (path, query) = path.split_once('?').unwrap_or((&path, ""));
        let (url, headers) = azure::resource_target(d, path)?;
        let url = match (query.is_empty(), url.contains('?')) {
            (true, _) => url,
            (false, true) => format!("{url}&{query}"),
            (false, false) => format!("{url}?{query}"),
        };
        (url, headers)
    } else {
        let base = d.api_base.as_deref().unwrap_or(openai::DEFAULT_API_BASE);
        let mut headers = openai::auth(d);
        headers.extend(
            d.headers
                .iter()
                .map(|(k, v)| (k.clone(), v.expose().to_string())),
        );
        (join_url(base, &path), headers)
    };
    let mut request = HttpRequest {
        method,
        url,
        headers: Vec::new(),
        body: None,
        binary_body: None,
        form: None,
        timeout_ms: Some(ctx.timeout_ms),
    };
    match op {
        FilesOp::CreateFile => {
            let upload = upload
                .ok_or_else(|| LlmError::bad_request("createFile() needs a `file` to upload"))?;
            let mut fields = Map::new();
            match body.get("purpose") {
                Some(Value::String(p)) if !p.is_empty() => {
                    fields.insert("purpose".into(), Value::String(p.clone()));
                }
                _ => {
                    return Err(LlmError::bad_request(
                        "createFile() needs `purpose` (e.g. \"batch\")",
                    ))
                }
            }
            let (content_type, bytes) = multipart(&fields, upload, ctx.entropy)?;
            headers.insert(0, ("content-type".to_string(), content_type));
            request.binary_body = Some(std::rc::Rc::new(bytes));
        }
        FilesOp::CreateBatch => {
            let payload: Map<String, Value> = CREATE_BATCH_FIELDS
                .iter()
                .filter_map(|k| body.get(*k).map(|v| (k.to_string(), v.clone())))
                .collect();
            headers.insert(
                0,
                ("content-type".to_string(), "application/json".to_string()),
            );
            request.body = Some(Value::Object(payload).to_string());
        }
        _ => {}
    }
    request.headers = headers;
    Ok(request)
}

/// Percent-encodes an id for one URL path segment or query value.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RouterConfig;
    use serde_json::json;

    fn deployment(params: Value) -> Deployment {
        let options = json!({"model_list": [{"model_name": "g", "litellm_params": params}]});
        let config = RouterConfig::parse(&options, &Default::default());
        config
            .ok()
            .and_then(|c| c.deployments.into_iter().next())
            .unwrap_or_else(|| unreachable!("the test config parses"))
    }

    fn ctx() -> RequestContext {
        RequestContext {
            timeout_ms: 1000,
            ..Default::default()
        }
    }

    #[test]
    fn azure_batches_live_at_the_resource_level_with_api_version_and_api_key() {
        let d = deployment(json!({"model": "azure/gpt", "api_key": "azk",
            "api_base": "https://r.openai.azure.com/openai/deployments/gpt", "api_version": "2024-10-21"}));
        let r = build(
            &d,
            FilesOp::RetrieveBatch,
            Some("batch_1"),
            &Map::new(),
            None,
            &ctx(),
        );
        let r = r.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.url,
            "https://r.openai.azure.com/openai/batches/batch_1?api-version=2024-10-21"
        );
        assert_eq!(r.header("api-key"), Some("azk"));
    }

    #[test]
    fn openai_ids_are_escaped_into_the_path_and_other_providers_refused() {
        let d = deployment(json!({"model": "openai/gpt-4o", "api_key": "sk"}));
        let r = build(
            &d,
            FilesOp::CancelBatch,
            Some("b/../x"),
            &Map::new(),
            None,
            &ctx(),
        );
        let r = r.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(r.method, "POST");
        assert_eq!(r.url, "https://api.openai.com/v1/batches/b%2F..%2Fx/cancel");
        assert_eq!(r.header("authorization"), Some("Bearer sk"));
        let a = deployment(json!({"model": "anthropic/claude-3-5-haiku-latest", "api_key": "k"}));
        let e = build(&a, FilesOp::CreateBatch, None, &Map::new(), None, &ctx());
        assert!(e.is_err_and(|e| e.message.contains("OpenAI and Azure")));
    }

    #[test]
    fn files_are_listed_with_their_filters_retrieved_and_deleted_by_id() {
        let d = deployment(json!({"model": "openai/gpt-4o", "api_key": "sk"}));
        let body = json!({"purpose": "batch output", "limit": 5});
        let body = body.as_object().cloned().unwrap_or_default();
        let list = build(&d, FilesOp::ListFiles, None, &body, None, &ctx());
        let list = list.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            (list.method, list.url.as_str()),
            (
                "GET",
                "https://api.openai.com/v1/files?limit=5&purpose=batch%20output"
            )
        );
        let del = build(
            &d,
            FilesOp::DeleteFile,
            Some("file-1"),
            &Map::new(),
            None,
            &ctx(),
        );
        let del = del.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            (del.method, del.url.as_str()),
            ("DELETE", "https://api.openai.com/v1/files/file-1")
        );
        let az = deployment(json!({"model": "azure/gpt", "api_key": "azk",
            "api_base": "https://r.openai.azure.com", "api_version": "2024-10-21"}));
        let get = build(
            &az,
            FilesOp::RetrieveFile,
            Some("file-2"),
            &Map::new(),
            None,
            &ctx(),
        );
        let get = get.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            get.url,
            "https://r.openai.azure.com/openai/files/file-2?api-version=2024-10-21"
        );
    }
}
