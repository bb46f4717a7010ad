//! The JSON admin API under `/admin/`, behind its own token (header only,
//! so it stays out of access logs): the delivery log and replay.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{Token, bearer};
use crate::store::{Replay, Store, now_ms};

pub struct AdminState {
    /// None: the admin API is off.
    pub token: Option<Token>,
    pub store: Store,
    pub reloader: std::sync::Arc<crate::reload::Reloader>,
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
    #[error("the store could not be read; try again")]
    Store,
}

impl ResponseError for AdminError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Off | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorised => StatusCode::UNAUTHORIZED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Refused(_) => StatusCode::UNPROCESSABLE_ENTITY,
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
    // Malformed queries and bodies get the same JSON errors as the rest.
    let query = web::QueryConfig::default().error_handler(|e, _| AdminError::BadRequest(e.to_string()).into());
    let body = web::JsonConfig::default().error_handler(|e, _| AdminError::BadRequest(e.to_string()).into());
    cfg.service(
        web::scope("/admin")
            .app_data(query)
            .app_data(body)
            .route("/calls", web::get().to(calls))
            .route("/calls/{id}", web::get().to(call))
            .route("/deliveries", web::get().to(deliveries))
            .route("/replay", web::post().to(replay))
            .route("/reload", web::post().to(reload)),
    );
}

fn authorise(request: &HttpRequest, state: &AdminState) -> Result<(), AdminError> {
    let token = state.token.as_ref().ok_or(AdminError::Off)?;
    match bearer(request) {
        Some(presented) if token.matches(&presented) => Ok(()),
        _ => Err(AdminError::Unauthorised),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default = "default_limit")]
    limit: i64,
    state: Option<String>,
    destination: Option<String>,
}

fn default_limit() -> i64 {
    50
}

async fn calls(
    request: HttpRequest,
    query: web::Query<ListQuery>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse, AdminError> {
    authorise(&request, &state)?;
    Ok(HttpResponse::Ok().json(state.store.list_calls(query.limit).await?))
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

async fn deliveries(
    request: HttpRequest,
    query: web::Query<ListQuery>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse, AdminError> {
    authorise(&request, &state)?;
    let ListQuery {
        limit,
        state: wanted,
        destination,
    } = query.into_inner();
    Ok(HttpResponse::Ok().json(state.store.list_deliveries(wanted, destination, limit).await?))
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

async fn replay(
    request: HttpRequest,
    body: web::Json<ReplayRequest>,
    state: web::Data<AdminState>,
) -> Result<HttpResponse, AdminError> {
    authorise(&request, &state)?;
    let which = match body.into_inner() {
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
        _ => {
            return Err(AdminError::BadRequest(
                "say which: {\"delivery\": ID}, {\"call\": ID} or {\"dead\": true} (optionally with \"destination\")"
                    .into(),
            ));
        }
    };
    let replayed = state.store.replay(which, now_ms()).await?;
    Ok(HttpResponse::Ok().json(json!({"replayed": replayed})))
}

/// Reloads the config file; 422 with the reason when it is refused.
async fn reload(request: HttpRequest, state: web::Data<AdminState>) -> Result<HttpResponse, AdminError> {
    authorise(&request, &state)?;
    let outcome = state.reloader.reload().await;
    state.reloader.log(&outcome);
    Ok(HttpResponse::Ok().json(outcome.map_err(AdminError::Refused)?))
}
