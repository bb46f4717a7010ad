//! Baseline for `bench/run.sh`: a bare actix-web server with callbridge's
//! route shape, doing nothing but read the body and answer `200 {}`.
//!
//! Usage: `bench_bare 127.0.0.1:PORT`

use actix_web::{App, HttpResponse, HttpServer, web};

async fn hook(_source: web::Path<String>, body: web::Bytes) -> HttpResponse {
    // Keep the body read from being optimised away.
    std::hint::black_box(body.len());
    HttpResponse::Ok().content_type("application/json").body("{}")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18081".into());
    eprintln!("bench_bare listening on {listen}");
    HttpServer::new(|| App::new().route("/hooks/{source}", web::post().to(hook)))
        .bind(&listen)?
        .run()
        .await
}
