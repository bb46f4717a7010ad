//! Operational endpoints: liveness and readiness here, the admin API in
//! `api`.

pub mod api;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::store::Store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
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
