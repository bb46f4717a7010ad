//! A stand-in for Slack in `bench/run.sh`: every POST gets `200 ok` and is
//! counted; `GET /count` returns the count as plain text.
//!
//! Usage: `bench_sink 127.0.0.1:PORT`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::Method;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

type Counter = Arc<AtomicU64>;

async fn count(counter: web::Data<Counter>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(counter.load(Ordering::Relaxed).to_string())
}

/// Any other path: POST is a delivery, anything else is not found.
async fn deliver(request: HttpRequest, body: web::Bytes, counter: web::Data<Counter>) -> HttpResponse {
    if request.method() != Method::POST {
        return HttpResponse::NotFound().finish();
    }
    std::hint::black_box(body.len());
    counter.fetch_add(1, Ordering::Relaxed);
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18082".into());
    let counter = web::Data::new(Counter::default());
    eprintln!("bench_sink listening on {listen}");
    HttpServer::new(move || {
        App::new()
            .app_data(counter.clone())
            .route("/count", web::get().to(count))
            .default_service(web::to(deliver))
    })
    .bind(&listen)?
    .run()
    .await
}
