//! The webhook receiver: authenticate, read and parse the body leniently,
//! route, and store the call with its deliveries before answering.

mod body;
mod error;

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

pub use body::BodyLimits;
pub use error::IngestError;

use crate::call::CallSummary;
use crate::dispatch::Wakers;
use crate::live::{Current, Live};
use crate::metrics::Metrics;
use crate::pipeline::CallMeta;
use crate::store::{IngestOutcome, NewCall, PlannedDelivery, Store, now_ms};

pub struct IngestState {
    live: Arc<Live>,
    store: Store,
    wakers: Wakers,
    limits: BodyLimits,
    metrics: Arc<Metrics>,
}

impl IngestState {
    pub fn new(live: Arc<Live>, store: Store, wakers: Wakers, limits: BodyLimits, metrics: Arc<Metrics>) -> Self {
        Self {
            live,
            store,
            wakers,
            limits,
            metrics,
        }
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/hooks/{source}")
            .route(web::post().to(receive))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(IngestError::MethodNotAllowed)
            })),
    );
}

/// Counts every call posted to a hook by outcome, and how long storing it took.
async fn receive(
    request: HttpRequest,
    source: web::Path<String>,
    payload: web::Payload,
    state: web::Data<IngestState>,
) -> Result<HttpResponse, IngestError> {
    let started = std::time::Instant::now();
    let source = source.into_inner();
    // One config for the whole request, even if a reload lands meanwhile.
    let current = state.live.current();
    // An unknown source's name is the caller's choice: not a label.
    let label = if current.tokens.contains_key(&source) {
        source.clone()
    } else {
        "unknown".into()
    };
    let result = accept(request, source, payload, &state, &current).await;
    match &result {
        Ok((_, outcome)) => {
            state.metrics.call(&label, outcome, "");
            state.metrics.ingested_in(started.elapsed());
        }
        Err(error) => state.metrics.call(&label, "rejected", error.reason()),
    }
    result.map(|(response, _)| response)
}

/// The call stored (or recognised as a resend), with `accepted` or `duplicate`.
async fn accept(
    request: HttpRequest,
    source: String,
    payload: web::Payload,
    state: &IngestState,
    current: &Current,
) -> Result<(HttpResponse, &'static str), IngestError> {
    let token = current
        .tokens
        .get(&source)
        .ok_or_else(|| IngestError::UnknownSource(source.clone()))?;
    let presented = crate::auth::presented(&request).ok_or(IngestError::MissingToken)?;
    if !token.matches(&presented) {
        tracing::warn!(%source, "rejected call: wrong token");
        return Err(IngestError::WrongToken(source));
    }
    body::check_content_type(&request)?;
    let body = body::read(&request, payload, state.limits).await?;
    let call = CallSummary::parse(&body, current.pipeline.region).map_err(|e| IngestError::BadBody(e.to_string()))?;

    let id = uuid::Uuid::now_v7().to_string();
    let received_at = now_ms();
    let meta = CallMeta {
        call_id: &id,
        source: &source,
        received_at_ms: received_at,
    };
    let callback = current.pipeline.resolve_callback(&call, &meta);
    let callback_json = callback.as_ref().map(|r| current.pipeline.callback_json(r));
    let context = current
        .pipeline
        .context_with(&call, &meta, callback_json.clone().unwrap_or_default());
    let decision = current.pipeline.router.route(&context);
    let deliveries = current.pipeline.plan(&decision.destinations, callback.as_ref(), &meta);
    let new_call = NewCall {
        id,
        source: source.clone(),
        dedupe_key: call.dedupe_key(&body),
        received_at,
        // The body is valid UTF-8: parse checked it.
        payload: String::from_utf8_lossy(&body).into_owned(),
        caller_name: call.caller_name.clone(),
        caller_phone_e164: call.caller_phone_e164.clone(),
        caller_phone_country: call.caller_phone_country.clone(),
        callback: callback_json.map(|v| v.to_string()),
        routes: decision.routes,
        deliveries,
    };
    // Caller content stays out of logs unless asked for (RUST_LOG=debug).
    tracing::debug!(caller = ?new_call.caller_name, summary = ?call.summary, reason = ?call.call_reason, "call content");
    let outcome = state.store.ingest(new_call).await.map_err(|error| {
        tracing::error!(%source, %error, "storing a call failed");
        IngestError::StoreUnavailable
    })?;
    Ok(match outcome {
        IngestOutcome::Accepted { id, deliveries } => {
            if deliveries.is_empty() {
                state.metrics.unrouted(&source);
                tracing::warn!(call_id = %id, %source, "call accepted but nothing is planned for it (unrouted)");
            } else {
                tracing::info!(call_id = %id, %source, deliveries = deliveries.len(), "call accepted");
            }
            // Only work due now: a reminder for tomorrow is found by the
            // destination's own timer, and a wake would cost it a claim.
            for (_, planned) in deliveries.iter().filter(|(_, p)| p.due_at <= received_at) {
                state.wakers.wake(&planned.destination);
            }
            let deliveries: Vec<_> = deliveries
                .iter()
                .map(|(id, planned)| delivery_json(*id, planned))
                .collect();
            (
                HttpResponse::Accepted().json(json!({"id": id, "deliveries": deliveries})),
                "accepted",
            )
        }
        IngestOutcome::Duplicate { id } => {
            tracing::info!(call_id = %id, %source, "duplicate call ignored");
            (
                HttpResponse::Ok().json(json!({"id": id, "duplicate": true})),
                "duplicate",
            )
        }
    })
}

/// A planned delivery in the answer; a reminder says when it is due.
fn delivery_json(id: i64, planned: &PlannedDelivery) -> serde_json::Value {
    match (&planned.reminder, jiff::Timestamp::from_millisecond(planned.due_at)) {
        (Some(reminder), Ok(due)) => {
            json!({"id": id, "destination": planned.destination, "reminder": reminder, "due": due.to_string()})
        }
        _ => json!({"id": id, "destination": planned.destination}),
    }
}

/// JSON 404 for every other path; a hook URL pasted with a trailing slash
/// is told so.
pub async fn not_found(request: HttpRequest) -> Result<HttpResponse, IngestError> {
    let source = request
        .path()
        .strip_prefix("/hooks/")
        .and_then(|rest| rest.strip_suffix('/'))
        .filter(|source| !source.is_empty() && !source.contains('/'));
    Err(match source {
        Some(source) => IngestError::TrailingSlash(source.to_owned()),
        None => IngestError::NotFound,
    })
}
