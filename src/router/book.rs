//! Booking a finished call: usage and cost counters, spend, pins and the `success` /
//! `failure` events, and the `_hidden_params` the caller sees; the price of an answer.

use super::call::Call;
use super::{CallOutcome, HiddenParams, Router};
use crate::config::Deployment;
use crate::cost::{completion_cost, CostMap, ModelCost, TokenUsage};
use crate::error::LlmError;
use crate::types::Endpoint;
use serde_json::Value;
use std::rc::Rc;

impl Router {
    /// Books an answered call: usage and cost counters, tokens per minute and the `success`
    /// event (`hidden_params` then makes its `_hidden_params`). `deployment_ms`: the answering
    /// exchange alone (for a stream, from its request to its last chunk); `ttft_ms`: a
    /// stream's time to its first chunk.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn book_success(
        &self,
        group: &str,
        call: &Call,
        d: &Deployment,
        usage: Option<TokenUsage>,
        response_cost: Option<f64>,
        latency_ms: f64,
        deployment_ms: f64,
        ttft_ms: Option<f64>,
    ) {
        self.inner.usage.borrow_mut().call_finished(CallOutcome {
            group,
            error_kind: None,
            retries: call.retries,
            fell_back: call.fallback_model_group.is_some(),
            usage,
            cost: response_cost,
            latency_ms,
        });
        self.book_spend(d, response_cost);
        self.emit("success", || {
            crate::obj!{
                "model_group": group, "model_id": d.id.clone(), "answered_by_group": d.model_group.clone(),
                "custom_llm_provider": d.provider.clone(), "latency_ms": latency_ms,
                "response_cost": response_cost, "attempts": call.attempts,
                "retries": call.retries, "fallback_model_group": call.fallback_model_group.clone(),
                "stream": call.opts.stream, "time_to_first_token_ms": ttft_ms,
                "deployment_latency_ms": deployment_ms, "call_id": call.opts.call_id.clone(),
                "model": d.model.clone(), "usage": usage.map(usage_json),
            }
        });
        self.repin_after_success(call, d);
        self.pin_prompt(call, d);
        self.inner.usage.borrow_mut().succeeded(
            &d.id,
            &d.model_group,
            usage,
            response_cost,
            deployment_ms,
        );
        if let Some(u) = usage {
            let tokens = u.prompt_tokens.saturating_add(u.completion_tokens);
            self.inner
                .minute_usage
                .borrow_mut()
                .record_tokens(&d.id, tokens, self.now());
            self.share_tokens(&d.id, tokens, self.now());
        }
    }

    pub(super) fn hidden_params(
        &self,
        call: &Call,
        d: &Deployment,
        response_cost: Option<f64>,
        latency_ms: f64,
    ) -> HiddenParams {
        HiddenParams::of(
            d,
            response_cost,
            call.attempts,
            call.retries,
            call.fallback_model_group.clone(),
            latency_ms,
        )
    }

    /// Books a failed call (counters and the `failure` event); returns the error with the
    /// number of attempts made.
    pub(super) fn book_failure(
        &self,
        group: &str,
        call: &Call,
        mut e: LlmError,
        latency_ms: f64,
    ) -> LlmError {
        e.attempts = Some(call.attempts);
        self.inner.usage.borrow_mut().call_finished(CallOutcome {
            group,
            error_kind: Some(e.kind.name()),
            retries: call.retries,
            fell_back: false,
            usage: None,
            cost: None,
            latency_ms,
        });
        self.emit("failure", || {
            crate::obj! {
                "model_group": group, "error": e.kind.name(), "status": e.status,
                "message": e.message.clone(), "deployment_id": e.deployment_id.clone(),
                "attempts": call.attempts, "latency_ms": latency_ms, "stream": call.opts.stream,
                "call_id": call.opts.call_id.clone(), "llm_provider": e.llm_provider.clone(),
            }
        });
        e
    }
}

/// USD cost of an answer: per token from usage, per image, per second of transcribed audio
/// or per character of synthesised speech, as the price data prices the model; per second of
/// `response_ms` (the answering exchange) for a model priced so ([`crate::cost::time_cost`]).
pub(super) fn response_cost(
    call: &Call,
    d: &Deployment,
    body: &Value,
    usage: Option<TokenUsage>,
    response_ms: f64,
) -> Option<f64> {
    let cost = model_cost(d);
    match call.endpoint {
        Endpoint::ImageGeneration => {
            let images = body
                .get("data")
                .and_then(Value::as_array)
                .map_or(0, |a| a.len() as u64);
            crate::cost::image_cost(&cost, images)
        }
        // Per image when the price data prices the model so; else per token from the
        // reply's `usage` (`input_tokens`/`output_tokens`, gpt-image-1); else unpriced.
        Endpoint::ImageEdit => {
            let images = body
                .get("data")
                .and_then(Value::as_array)
                .map_or(0, |a| a.len() as u64);
            crate::cost::image_cost(&cost, images).or_else(|| {
                let usage = body.get("usage")?;
                let tokens = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0) as f64;
                let input = cost.input_cost_per_token? * tokens("input_tokens");
                let output = cost.output_cost_per_token.unwrap_or(0.0) * tokens("output_tokens");
                Some(input + output)
            })
        }
        Endpoint::Moderation => Some(0.0),
        // Per second of audio, when the reply says how long it was (`verbose_json`).
        Endpoint::Transcription => body
            .get("duration")
            .and_then(Value::as_f64)
            .and_then(|seconds| crate::cost::audio_cost(&cost, seconds))
            .or_else(|| usage.and_then(|u| completion_cost(&cost, &u))),
        // Per character of the input text.
        Endpoint::Speech => {
            let chars = call
                .body
                .get("input")
                .and_then(Value::as_str)
                .map(|t| t.chars().count())?;
            cost.input_cost_per_character.map(|c| c * chars as f64)
        }
        // Per search unit or per token, as the price data prices the model (#18).
        Endpoint::Rerank => crate::cost::rerank_cost(&cost, body),
        _ => crate::cost::call_cost(&cost, usage.as_ref(), response_ms),
    }
}

/// Prices for a deployment: litellm_params, then model_info, then the bundled cost map
/// (under `model_info.base_model` when set, else the deployment's model).
pub(super) fn model_cost(d: &Deployment) -> Rc<ModelCost> {
    Rc::clone(d.priced.get_or_init(|| Rc::new(resolve_model_cost(d))))
}

fn resolve_model_cost(d: &Deployment) -> ModelCost {
    // `model_info.base_model` names the priced model behind a custom deployment name (Azure).
    let priced = d
        .model_info
        .raw
        .get("base_model")
        .and_then(Value::as_str)
        .unwrap_or(&d.model);
    let mut cost = CostMap::bundled()
        .lookup(&d.provider, priced)
        .cloned()
        .unwrap_or_default();
    if let Some(c) = d.input_cost_per_token.or(d.model_info.input_cost_per_token) {
        cost.input_cost_per_token = Some(c);
    }
    if let Some(c) = d
        .output_cost_per_token
        .or(d.model_info.output_cost_per_token)
    {
        cost.output_cost_per_token = Some(c);
    }
    crate::cost::apply_deployment_per_second(&mut cost, d);
    cost
}

/// Token counts for event payloads (the `success` event's `usage`).
fn usage_json(u: crate::cost::TokenUsage) -> serde_json::Value {
    crate::obj! {
        "prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
        "total_tokens": u.prompt_tokens.saturating_add(u.completion_tokens),
        "cache_read_input_tokens": u.cached_prompt_tokens,
        "cache_creation_input_tokens": u.cache_creation_tokens,
    }
}
