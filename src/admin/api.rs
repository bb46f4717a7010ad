//! The JSON admin API under `/admin/`, behind its own token (header only,
//! so it stays out of access logs): the delivery log and replay.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Token, bearer};
use crate::store::{DeliveryFilter, Replay, Store, now_ms};

pub struct AdminState {
    /// None: the admin API is off.
    pub token: Option<Token>,
    pub store: Store,
    pub reloader: std::sync::Arc<crate::reload::Reloader>,
    pub live: std::sync::Arc<crate::live::Live>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("the admin API is off: set admin.token to use it")]
    Off,
    #[error("missing or wrong admin token: send Authorization: Bearer <admin.token>")]
    Unauthorised,
    #[error("{0}")]
    BadRequest(String),
    #[error("the new config was refused; the one in force stays: {0}")]
    Refused(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("method not allowed here")]
    MethodNotAllowed,
    #[error("the body is over {0} bytes; a replay request is a few")]
    TooLarge(usize),
    #[error("the store is unavailable; try again")]
    Store,
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Off | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorised => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Store => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(json!({"error": self.to_string()}))
    }
}

impl From<crate::store::StoreError> for AdminError {
    fn from(error: crate::store::StoreError) -> Self {
        tracing::error!(%error, "admin API: store error");
        Self::Store
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    let resource = |path: &str| web::resource(path).default_service(web::to(method_not_allowed));
    cfg.service(
        web::scope("/admin")
            .service(resource("/calls").route(web::get().to(calls)))
            .service(resource("/calls/{id}").route(web::get().to(call)))
            .service(resource("/deliveries").route(web::get().to(deliveries)))
            .service(resource("/replay").route(web::post().to(replay)))
            .service(resource("/reload").route(web::post().to(reload)))
            .default_service(web::to(not_found)),
    );
}

async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, AdminError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AdminError::BadRequest(format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(AdminError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(super) async fn method_not_allowed() -> Result<HttpResponse, AdminError> {
    Err(AdminError::MethodNotAllowed)
}

async fn not_found() -> Result<HttpResponse, AdminError> {
    Err(AdminError::NotFound(
        "admin endpoint (there are /admin/calls, /admin/calls/ID, /admin/deliveries, /admin/replay, /admin/reload)"
            .into(),
    ))
}

/// The token first, so nothing about a request is looked at before it
/// is known to be the operator's.
fn authorise(request: &HttpRequest, state: &AdminState) -> Result<(), AdminError> {
    let token = state.token.as_ref().ok_or(AdminError::Off)?;
    match bearer(request) {
        Some(presented) if token.matches(&presented) => Ok(()),
        _ => Err(AdminError::Unauthorised),
    }
}

fn query<T: serde::de::DeserializeOwned>(request: &HttpRequest) -> Result<T, AdminError> {
    web::Query::<T>::from_query(request.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| AdminError::BadRequest(format!("bad query: {e}")))
}

const STATES: [&str; 5] = ["pending", "delivered", "dead", "missed", "cancelled"];

/// A list's query string as given; `limit` stays text so a bad one is
/// named in the answer.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<String>,
    state: Option<String>,
    destination: Option<String>,
    source: Option<String>,
}

/// A list query, checked.
struct Listing {
    limit: i64,
    filter: DeliveryFilter,
}

const DEFAULT_LIMIT: i64 = 50;

impl ListQuery {
    fn checked(self) -> Result<Listing, AdminError> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    AdminError::BadRequest(format!("limit `{text}` is not a whole number from 1 to 1000"))
                })?,
        };
        if let Some(state) = self.state.as_deref().filter(|s| !STATES.contains(s)) {
            return Err(AdminError::BadRequest(format!(
                "unknown state `{state}` (use one of {})",
                STATES.join(", ")
            )));
        }
        Ok(Listing {
            limit,
            filter: DeliveryFilter {
                state: self.state,
                destination: self.destination,
                source: self.source,
            },
        })
    }
}

async fn calls(request: HttpRequest, state: web::Data<AdminState>) -> Result<HttpResponse, AdminError> {
    authorise(&request, &state)?;
    let Listing { limit, filter } = query::<ListQuery>(&request)?.checked()?;
    Ok(HttpResponse::Ok().json(state.store.list_calls(filter.source, limit).await?))
}

async fn call(
    request: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse, AdminError> {
    authorise(&request, &state)?;
    let detail = state.store.call_detail(&id).await?;
    let detail = detail.ok_or_else(|| AdminError::NotFound(format!("call {id}")))?;
    Ok(HttpResponse::Ok().json(detail))
}

async fn deliveries(request: HttpRequest, state: web::Data<AdminState>) -> Result<HttpResponse, AdminError> {
    authorise(&request, &state)?;
    let Listing { limit, filter } = query::<ListQuery>(&request)?.checked()?;
    Ok(HttpResponse::Ok().json(state.store.list_deliveries(filter, limit).await?))
}

/// `{"delivery": 12}`, `{"call": "…"}` or `{"dead": true, "destination": "slack"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayRequest {
    delivery: Option<i64>,
    call: Option<String>,
    #[serde(default)]
    dead: bool,
    destination: Option<String>,
}

const REPLAY_USAGE: &str =
    "say which: {\"delivery\": ID}, {\"call\": ID} or {\"dead\": true} (optionally with \"destination\")";

/// The largest replay request read.
const MAX_REPLAY_BODY: usize = 4096;

/// Any content type: the body is read as JSON whatever curl says it is,
/// and only once the token is known to be right.
async fn replay(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AdminState>,
) -> Result<HttpResponse, AdminError> {
    authorise(&request, &state)?;
    let body = read_body(payload, MAX_REPLAY_BODY).await?;
    let body: ReplayRequest = serde_json::from_slice(&body)
        .map_err(|e| AdminError::BadRequest(format!("{REPLAY_USAGE}; the body is not that ({e})")))?;
    let which = match body {
        ReplayRequest {
            delivery: Some(id),
            call: None,
            dead: false,
            destination: None,
        } => Replay::Delivery(id),
        ReplayRequest {
            delivery: None,
            call: Some(id),
            dead: false,
            destination: None,
        } => Replay::Call(id),
        ReplayRequest {
            delivery: None,
            call: None,
            dead: true,
            destination,
        } => Replay::AllDead { destination },
        _ => return Err(AdminError::BadRequest(REPLAY_USAGE.into())),
    };
    let configured = state.live.current().pipeline.destinations.keys().cloned().collect();
    let replayed = state.store.replay(which.clone(), configured, now_ms()).await?;
    if replayed.is_empty() && !state.store.replay_target_exists(&which).await? {
        return Err(AdminError::NotFound(which.to_string()));
    }
    Ok(HttpResponse::Ok().json(json!({"replayed": replayed})))
}

/// Reloads the config file; 422 with the reason when it is refused.
async fn reload(request: HttpRequest, state: web::Data<AdminState>) -> Result<HttpResponse, AdminError> {
    authorise(&request, &state)?;
    let outcome = state.reloader.reload().await;
    state.reloader.log(&outcome);
    Ok(HttpResponse::Ok().json(outcome.map_err(AdminError::Refused)?))
}
