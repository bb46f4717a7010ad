//! Operational endpoints: liveness and readiness here, the admin API in
//! `api`.

pub mod api;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::store::Store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // HEAD too: some health checkers probe with it.
    cfg.service(
        get_only("/healthz")
            .route(web::get().to(healthz))
            .route(web::head().to(healthz)),
    )
    .service(
        get_only("/readyz")
            .route(web::get().to(readyz))
            .route(web::head().to(readyz)),
    );
}

/// A resource that answers a method it has no route for with a JSON 405.
pub fn get_only(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(api::method_not_allowed))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn readyz(store: web::Data<Store>) -> HttpResponse {
    if store.can_commit().await {
        HttpResponse::Ok().json(json!({"status": "ready"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(json!({"status": "the store cannot commit: calls are refused (is the disk full or read-only?)"}))
    }
}
