//! Group commit for ingest: requests that arrive while a commit is being
//! fsync'd are written together in the next transaction, so throughput
//! does not stop at one fsync per call.

use sqlx::{Sqlite, SqlitePool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::{Store, StoreError};

/// A call to store together with the deliveries routing planned for it.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub id: String,
    pub source: String,
    pub dedupe_key: String,
    pub received_at: i64,
    pub payload: String,
    pub caller_name: Option<String>,
    pub caller_phone_e164: Option<String>,
    pub routes: Vec<String>,
    pub destinations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IngestOutcome {
    /// Stored with one delivery per destination.
    Accepted { id: String, deliveries: Vec<(i64, String)> },
    /// The source sent this key before: nothing new was planned.
    Duplicate { id: String },
}

const MAX_BATCH: usize = 512;

type Request = (NewCall, oneshot::Sender<Result<IngestOutcome, String>>);

#[derive(Clone)]
pub(super) struct Handle(mpsc::Sender<Request>);

pub(super) fn spawn(pool: SqlitePool) -> Handle {
    let (tx, mut rx) = mpsc::channel::<Request>(4 * MAX_BATCH);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            let calls: Vec<&NewCall> = batch.iter().map(|(call, _)| call).collect();
            match write(&pool, &calls).await {
                Ok(outcomes) => {
                    for ((_, reply), outcome) in batch.drain(..).zip(outcomes) {
                        let _ = reply.send(Ok(outcome));
                    }
                }
                Err(error) => {
                    tracing::error!(%error, calls = batch.len(), "storing calls failed");
                    for (_, reply) in batch.drain(..) {
                        let _ = reply.send(Err(error.to_string()));
                    }
                }
            }
        }
    });
    Handle(tx)
}

async fn write(pool: &SqlitePool, calls: &[&NewCall]) -> Result<Vec<IngestOutcome>, StoreError> {
    let mut tx = pool.begin().await?;
    let mut outcomes = Vec::with_capacity(calls.len());
    for call in calls {
        outcomes.push(insert(&mut tx, call).await?);
    }
    tx.commit().await?;
    Ok(outcomes)
}

async fn insert(tx: &mut Transaction<'_, Sqlite>, call: &NewCall) -> Result<IngestOutcome, StoreError> {
    let inserted: Option<(String,)> = sqlx::query_as(
        "INSERT INTO calls (id, source, dedupe_key, received_at, payload, caller_name,
                            caller_phone_e164, routes, unrouted)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (source, dedupe_key) DO NOTHING
         RETURNING id",
    )
    .bind(&call.id)
    .bind(&call.source)
    .bind(&call.dedupe_key)
    .bind(call.received_at)
    .bind(&call.payload)
    .bind(&call.caller_name)
    .bind(&call.caller_phone_e164)
    .bind(serde_json::to_string(&call.routes).unwrap_or_default())
    .bind(call.destinations.is_empty())
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_none() {
        let (id,): (String,) = sqlx::query_as("SELECT id FROM calls WHERE source = ? AND dedupe_key = ?")
            .bind(&call.source)
            .bind(&call.dedupe_key)
            .fetch_one(&mut **tx)
            .await?;
        return Ok(IngestOutcome::Duplicate { id });
    }
    let mut deliveries = Vec::with_capacity(call.destinations.len());
    for destination in &call.destinations {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO deliveries (call_id, destination, state, due_at, created_at, updated_at)
             VALUES (?, ?, 'pending', ?, ?, ?) RETURNING id",
        )
        .bind(&call.id)
        .bind(destination)
        .bind(call.received_at)
        .bind(call.received_at)
        .bind(call.received_at)
        .fetch_one(&mut **tx)
        .await?;
        deliveries.push((id, destination.clone()));
    }
    Ok(IngestOutcome::Accepted {
        id: call.id.clone(),
        deliveries,
    })
}

impl Store {
    /// Stores a call and its deliveries durably, or recognises a resend.
    /// Returns only once the commit is on disk.
    pub async fn ingest(&self, call: NewCall) -> Result<IngestOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.batcher
            .0
            .send((call, reply))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer
            .await
            .map_err(|_| StoreError::Closed)?
            .map_err(|e| StoreError::Database(sqlx::Error::Protocol(e)))
    }
}
