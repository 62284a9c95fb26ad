//! One attempt with one deployment: planned without I/O (`Plan`), then exchanged over the
//! transport; its latency and failures are booked against the deployment (cooldowns).

use super::call::{Call, Reply};
use super::Router;
use crate::config::{Deployment, RoutingStrategy};
use crate::error::LlmError;
use crate::ports::{HttpRequest, HttpResponse, LogLevel, OpenBody};
use crate::providers::{self, openai};
use crate::reliability::classify;
use crate::reliability::{backoff, bounds, cooldown::CooldownRule};
use crate::stream::{StreamContext, StreamDecoder};
use crate::types::audio::{Audio, AudioBody};
use crate::types::{text_completion, Endpoint};
use serde_json::{Map, Value};
use std::rc::Rc;

/// One attempt with a deployment, planned without I/O (`Router::plan_attempt`).
pub(super) struct Plan {
    pub(super) provider: &'static dyn providers::Provider,
    /// The endpoint the provider serves the call by (chat for a text completion via chat).
    pub(super) endpoint: Endpoint,
    pub(super) via_chat: bool,
    /// The upstream body (taken by `build_attempt`).
    pub(super) body: Map<String, Value>,
    pub(super) timeout_ms: u64,
    pub(super) stream_ctx: StreamContext,
}

impl Plan {
    /// A decoder for the attempt's stream, or the error of a provider that cannot stream.
    pub(super) fn decoder(
        &self,
        d: &Deployment,
        endpoint: Endpoint,
    ) -> Result<Box<dyn StreamDecoder>, LlmError> {
        self.provider
            .stream_decoder(d, self.endpoint, &self.stream_ctx)
            .ok_or_else(|| {
                LlmError::bad_request(format!(
                    "provider {} cannot stream {}()",
                    d.provider,
                    endpoint.method()
                ))
            })
    }
}

impl Router {
    pub(super) fn record_latency(&self, d: &Deployment, latency_ms: f64) {
        if let RoutingStrategy::LatencyBased { max_samples, .. } = self.strategy_for(&d.model_group)
        {
            let now = self.now();
            self.inner.usage.borrow_mut().record_latency(
                &d.id,
                &d.model_group,
                now,
                latency_ms,
                max_samples,
            );
            self.share_latency(&d.id, latency_ms, now);
        }
    }

    pub(super) fn record_failure(&self, d: &Deployment, err: &LlmError, single_deployment: bool) {
        let cfg = &self.inner.config;
        let allowed_fails = cfg
            .allowed_fails_policy
            .as_ref()
            .and_then(|p| p.allowed_fails_for(err))
            .unwrap_or(cfg.allowed_fails);
        let rule = CooldownRule {
            allowed_fails,
            cooldown_ms: d.cooldown_time_ms.unwrap_or(cfg.cooldown_ms),
            single_deployment,
            disabled: cfg.disable_cooldowns,
        };
        let now = self.now();
        let counted = !rule.disabled
            && !rule.single_deployment
            && crate::reliability::cooldown::counts_against_deployment(err.status);
        let elsewhere = if counted {
            let local = self.inner.cooldowns.borrow().fails_this_minute(&d.id, now);
            self.failures_elsewhere(&d.id, local, now)
        } else {
            0
        };
        let until = self
            .inner
            .cooldowns
            .borrow_mut()
            .record_failure_with(&d.id, err, rule, now, elsewhere);
        if counted {
            self.share_failure(&d.id, now, until);
        }
        self.inner
            .usage
            .borrow_mut()
            .failed(&d.id, &d.model_group, err.kind.name());
        if let Some(until) = until {
            self.inner
                .usage
                .borrow_mut()
                .cooled_down(&d.id, &d.model_group);
            self.emit("cooldown", || {
                crate::obj!{
                    "model_id": d.id.clone(), "model_group": d.model_group.clone(), "until_ms": until,
                    "cooldown_ms": until - now, "error": err.kind.name(), "status": err.status,
                }
            });
            self.log(LogLevel::Info, || {
                format!(
                    "llmux: deployment {} ({}) cooling down for {:.1} s after {}",
                    d.id,
                    d.model_group,
                    (until - now) / 1000.0,
                    err.kind
                )
            });
        }
    }

    /// Everything about one attempt with `d` that needs no I/O: the provider, the endpoint
    /// it is served by, the upstream body and the timeout.
    pub(super) fn plan_attempt(&self, call: &Call, d: &Deployment) -> Result<Plan, LlmError> {
        let provider = providers::lookup(&d.provider).ok_or_else(|| {
            LlmError::bad_request(format!("provider {} is not supported", d.provider))
        })?;
        // Text completion on a chat-only provider goes through chat, as in LiteLLM.
        let via_chat = call.endpoint == Endpoint::TextCompletion
            && !provider.supports(Endpoint::TextCompletion)
            && provider.supports(Endpoint::ChatCompletion);
        let endpoint = if via_chat {
            Endpoint::ChatCompletion
        } else {
            call.endpoint
        };
        if !provider.supports(endpoint) {
            return Err(LlmError::bad_request(format!(
                "provider {} does not serve {}()",
                d.provider,
                call.endpoint.method()
            )));
        }
        let mut body = d.request_defaults.0.clone();
        body.extend(call.body.iter().map(|(k, v)| (k.clone(), v.clone())));
        if via_chat {
            body = text_completion::to_chat_request(body)?;
        }
        let mut timeout_ms = call
            .opts
            .timeout_ms
            .or(d.timeout_ms)
            .unwrap_or(self.inner.config.timeout_ms);
        if call.opts.stream {
            // `stream_timeout` bounds the wait for the headers and for each later piece.
            timeout_ms = call
                .opts
                .stream_timeout_ms
                .or(d.stream_timeout_ms)
                .or(self.inner.config.stream_timeout_ms)
                .unwrap_or(timeout_ms);
        }
        let stream_ctx = StreamContext {
            id: format!(
                "chatcmpl-{:016x}",
                (self.inner.ports.rng.next_f64() * 2f64.powi(53)) as u64
            ),
            created: (self.now() / 1000.0) as u64,
            model: d.model.clone(),
        };
        let plan = Plan {
            provider,
            endpoint,
            via_chat,
            body,
            timeout_ms,
            stream_ctx,
        };
        if call.opts.stream {
            // Refuse before any upstream call when the provider cannot stream.
            plan.decoder(d, call.endpoint)?;
        }
        Ok(plan)
    }

    /// The upstream request of `plan` (with the access token `auth` obtained, if any).
    pub(super) fn build_attempt(
        &self,
        call: &mut Call,
        d: &Deployment,
        plan: &mut Plan,
        bearer_token: Option<String>,
    ) -> Result<HttpRequest, LlmError> {
        let ctx = providers::RequestContext {
            timeout_ms: plan.timeout_ms,
            now_ms: self.now(),
            bearer_token,
            stream: call.opts.stream,
            entropy: self.inner.ports.rng.next_u64(),
        };
        let body = std::mem::take(&mut plan.body);
        if let Some(form) = &call.form {
            return plan.provider.build_form(d, plan.endpoint, body, form, &ctx);
        }
        match &call.upload {
            Some(upload) => plan
                .provider
                .build_upload(d, plan.endpoint, body, upload, &ctx),
            None => plan.provider.build_request(d, plan.endpoint, body, &ctx),
        }
    }

    /// One upstream exchange with a deployment (plus its own `max_retries`).
    pub(super) async fn exchange(
        &self,
        call: &mut Call,
        d: &Deployment,
    ) -> Result<Reply, LlmError> {
        if let Some(op) = call.files_op {
            return Box::pin(self.files_exchange(call, d, op)).await;
        }
        let mut plan = self.plan_attempt(call, d)?;
        let provider = plan.provider;
        let (endpoint, via_chat, timeout_ms) = (plan.endpoint, plan.via_chat, plan.timeout_ms);
        let bearer_token = match provider.auth(d, &self.inner.ports) {
            Some(pending) => Some(pending.await?),
            None => None,
        };
        let request = self.build_attempt(call, d, &mut plan, bearer_token)?;
        let mut local_retries = 0;
        loop {
            call.attempts += 1;
            let outcome = if call.opts.stream {
                let decoder = plan.decoder(d, call.endpoint)?;
                self.open_stream(
                    provider,
                    d,
                    endpoint,
                    request.clone(),
                    decoder,
                    timeout_ms,
                    via_chat,
                )
                .await
                .map(Reply::Stream)
            } else if endpoint == Endpoint::Speech {
                self.send_speech(provider, d, request.clone(), timeout_ms)
                    .await
                    .map(Reply::Audio)
            } else {
                match self.inner.ports.transport.send(request.clone()).await {
                    Ok(response) => provider.parse_response(d, endpoint, &response).map(|v| {
                        Reply::Json(if via_chat {
                            text_completion::from_chat_response(v)
                        } else {
                            v
                        })
                    }),
                    Err(te) => Err(classify::from_transport(&te, Some(timeout_ms))),
                }
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

    /// Waits before retry `n` (from 0) of one deployment's own `max_retries`, honouring the
    /// error's `retry-after`.
    pub(super) async fn local_backoff(&self, n: u32, e: &LlmError) {
        let delay =
            backoff::retry_delay_ms(n, e.retry_after_ms, 0, self.inner.ports.rng.next_f64());
        self.inner.ports.sleeper.sleep(delay).await;
    }

    /// Opens `request` through the transport (a 2xx body arrives as a `ByteStream`); a
    /// transport failure is classified against the attempt's timeout.
    pub(super) async fn open(
        &self,
        request: HttpRequest,
        timeout_ms: u64,
    ) -> Result<crate::ports::OpenResponse, LlmError> {
        self.inner
            .ports
            .transport
            .open(request)
            .await
            .map_err(|te| classify::from_transport(&te, Some(timeout_ms)))
    }

    /// One speech exchange: the audio body is handed to the host unread when it can take
    /// it; otherwise (and for errors) the provider parses the body, read here up to
    /// `max_response_bytes`.
    async fn send_speech(
        &self,
        provider: &dyn providers::Provider,
        d: &Deployment,
        request: HttpRequest,
        timeout_ms: u64,
    ) -> Result<Audio, LlmError> {
        let reply = self.open(request, timeout_ms).await?;
        let head = HttpResponse {
            status: reply.status,
            headers: reply.headers,
            body: Vec::new(),
        };
        let stream = match reply.body {
            OpenBody::Read(body) => return provider.parse_audio(d, &HttpResponse { body, ..head }),
            OpenBody::Stream(stream) => stream,
        };
        if let Some(handle) = stream.host_body() {
            return openai::audio_content_type(&head).map(|content_type| Audio {
                content_type,
                body: AudioBody::Stream(handle),
            });
        }
        let limit = self.inner.config.max_response_bytes;
        let mut body = Vec::new();
        while let Some(piece) = stream
            .read()
            .await
            .map_err(|te| classify::from_transport(&te, Some(timeout_ms)))?
        {
            if (body.len() + piece.len()) as u64 > limit {
                stream.cancel();
                return Err(bounds::response_too_large(limit));
            }
            body.extend_from_slice(&piece);
        }
        provider.parse_audio(d, &HttpResponse { body, ..head })
    }
}

/// Counts a request in flight for as long as it lives, even if its future is dropped.
pub(super) struct InFlight {
    router: Router,
    deployment: Rc<Deployment>,
}

impl InFlight {
    pub(super) fn start(router: &Router, d: Rc<Deployment>) -> InFlight {
        router
            .inner
            .usage
            .borrow_mut()
            .started(&d.id, &d.model_group);
        router
            .inner
            .minute_usage
            .borrow_mut()
            .record_request(&d.id, router.now());
        router.share_request(&d.id, router.now());
        InFlight {
            router: router.clone(),
            deployment: d,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let d = &self.deployment;
        if let Ok(mut usage) = self.router.inner.usage.try_borrow_mut() {
            usage.finished(&d.id, &d.model_group);
        }
        self.router.share_request_end(&d.id);
        self.router.inner.slots.notify();
    }
}

/// Adds the deployment's identity to an error and scrubs its credentials (the API key, every
/// extra header value, provider credentials, `api_base` userinfo and query values) from the
/// message in any encoding, even when the upstream echoed them altered, and masks tokens that
/// look like credentials ([`crate::redact`]).
pub(super) fn annotate(mut e: LlmError, d: &Deployment) -> LlmError {
    e.message = d.redactor().scrub(&e.message);
    e.llm_provider = Some(d.provider.clone());
    e.model = Some(d.model.clone());
    e.model_group = Some(d.model_group.clone());
    e.deployment_id = Some(d.id.clone());
    e
}
