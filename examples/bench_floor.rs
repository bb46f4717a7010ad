//! Reference point for `bench/run.sh`: the least a durable relay can do per
//! call, with callbridge's guarantees and none of its features. It checks
//! the token in constant time, parses the body as JSON, commits the call and
//! its delivery to SQLite (WAL, synchronous=FULL, one group commit for
//! whatever is waiting) before answering 202, POSTs the body as it came to
//! the sink, and records the attempt (request included) in a later group
//! commit. No routing, templates, phone numbers, logs or metrics: what it
//! reaches bounds what any design on the same store and machine can.
//!
//! Usage: `bench_floor LISTEN SINK_URL DB_PATH TOKEN`

use std::sync::{Arc, mpsc};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use rusqlite::{Connection, params};
use subtle::ConstantTimeEq;
use tokio::sync::{Semaphore, oneshot};

/// Sends in flight to the sink, as callbridge's `delivery.concurrency`.
const CONCURRENCY: usize = 16;
const MAX_BATCH: usize = 1024;

enum Write {
    Call {
        sort_key: String,
        body: web::Bytes,
        stored: oneshot::Sender<Option<i64>>,
    },
    Attempt {
        delivery: i64,
        status: u16,
        request: web::Bytes,
    },
}

/// A committed delivery, ready to send.
struct Ready {
    delivery: i64,
    body: web::Bytes,
}

struct Hook {
    token: Vec<u8>,
    writes: mpsc::Sender<Write>,
}

async fn receive(request: HttpRequest, body: web::Bytes, hook: web::Data<Hook>) -> HttpResponse {
    let presented = request
        .headers()
        .get("authorization")
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or_default();
    if !bool::from(presented.ct_eq(&hook.token)) {
        return HttpResponse::Unauthorized().finish();
    }
    let Ok(serde_json::Value::Object(call)) = serde_json::from_slice(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    let sort_key = call
        .get("sort_key")
        .and_then(|k| k.as_str())
        .unwrap_or_default()
        .to_owned();
    let (stored, answer) = oneshot::channel();
    if hook.writes.send(Write::Call { sort_key, body, stored }).is_err() {
        return HttpResponse::ServiceUnavailable().finish();
    }
    match answer.await {
        Ok(Some(_)) => HttpResponse::Accepted().body(r#"{"status":"accepted"}"#),
        Ok(None) => HttpResponse::Ok().body(r#"{"status":"duplicate"}"#),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

fn open(path: &str) -> rusqlite::Result<Connection> {
    let db = Connection::open(path)?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "FULL")?;
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS calls (id INTEGER PRIMARY KEY, sort_key TEXT NOT NULL UNIQUE, body BLOB NOT NULL);
         CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY, call_id INTEGER NOT NULL, state TEXT NOT NULL);
         CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (id) WHERE state = 'pending';
         CREATE TABLE IF NOT EXISTS attempts (id INTEGER PRIMARY KEY, delivery_id INTEGER NOT NULL,
                                              status INTEGER NOT NULL, request BLOB NOT NULL);
         CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts (delivery_id);",
    )?;
    Ok(db)
}

/// The one writer thread: every write waiting is one transaction, one fsync.
fn write_loop(mut db: Connection, writes: mpsc::Receiver<Write>, sends: tokio::sync::mpsc::UnboundedSender<Ready>) {
    while let Ok(first) = writes.recv() {
        let batch: Vec<Write> = std::iter::once(first)
            .chain(writes.try_iter().take(MAX_BATCH))
            .collect();
        let tx = db.transaction().expect("begin");
        let mut answers = Vec::new();
        let mut ready = Vec::new();
        for write in batch {
            match write {
                Write::Call { sort_key, body, stored } => {
                    let call = tx
                        .prepare_cached("INSERT INTO calls (sort_key, body) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
                        .and_then(|mut s| s.execute(params![sort_key, body.as_ref()]))
                        .expect("insert call");
                    let delivery = (call == 1).then(|| {
                        tx.prepare_cached("INSERT INTO deliveries (call_id, state) VALUES (?1, 'pending')")
                            .and_then(|mut s| s.execute([tx.last_insert_rowid()]))
                            .expect("insert delivery");
                        tx.last_insert_rowid()
                    });
                    if let Some(delivery) = delivery {
                        ready.push(Ready { delivery, body });
                    }
                    answers.push((stored, delivery));
                }
                Write::Attempt {
                    delivery,
                    status,
                    request,
                } => {
                    tx.prepare_cached("UPDATE deliveries SET state = 'delivered' WHERE id = ?1")
                        .and_then(|mut s| s.execute([delivery]))
                        .expect("update delivery");
                    tx.prepare_cached("INSERT INTO attempts (delivery_id, status, request) VALUES (?1, ?2, ?3)")
                        .and_then(|mut s| s.execute(params![delivery, status, request.as_ref()]))
                        .expect("insert attempt");
                }
            }
        }
        tx.commit().expect("commit");
        for (stored, delivery) in answers {
            let _ = stored.send(delivery);
        }
        for send in ready {
            let _ = sends.send(send);
        }
    }
}

/// Sends each committed delivery to the sink and has its attempt recorded.
async fn send_loop(sink: String, mut ready: tokio::sync::mpsc::UnboundedReceiver<Ready>, writes: mpsc::Sender<Write>) {
    let client = reqwest::Client::new();
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    while let Some(Ready { delivery, body }) = ready.recv().await {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (client, sink, writes) = (client.clone(), sink.clone(), writes.clone());
        tokio::spawn(async move {
            let sent = client
                .post(&sink)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await;
            let status = match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let _ = response.bytes().await;
                    status
                }
                Err(_) => 0,
            };
            drop(slot);
            let _ = writes.send(Write::Attempt {
                delivery,
                status,
                request: body,
            });
        });
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, sink, db, token] = <[String; 4]>::try_from(args)
        .map_err(|_| std::io::Error::other("usage: bench_floor LISTEN SINK_URL DB_PATH TOKEN"))?;
    let db = open(&db).map_err(std::io::Error::other)?;
    let (writes, written) = mpsc::channel();
    let (ready, to_send) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || write_loop(db, written, ready));
    tokio::spawn(send_loop(sink, to_send, writes.clone()));
    let hook = web::Data::new(Hook {
        token: token.into_bytes(),
        writes,
    });
    eprintln!("bench_floor listening on {listen}");
    // One HTTP worker, as callbridge's default `server.workers`.
    HttpServer::new(move || {
        App::new()
            .app_data(hook.clone())
            .route("/hooks/{source}", web::post().to(receive))
    })
    .workers(1)
    .bind(&listen)?
    .run()
    .await
}
