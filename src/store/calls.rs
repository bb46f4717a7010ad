//! Storing a received call with its planned deliveries, and recognising a
//! resend, in one job of the group commit.

use rusqlite::{Connection, OptionalExtension, params};

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
    pub caller_phone_country: Option<String>,
    /// The resolved call-back as the templates see it (JSON), if asked for.
    pub callback: Option<String>,
    pub routes: Vec<String>,
    pub deliveries: Vec<PlannedDelivery>,
}

/// One delivery routing planned for a call.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedDelivery {
    pub destination: String,
    /// The reminder that planned it; None for a call sent now.
    pub reminder: Option<String>,
    /// Unix milliseconds.
    pub due_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IngestOutcome {
    /// Stored with the deliveries planned for it, each with its id.
    Accepted {
        id: String,
        deliveries: Vec<(i64, PlannedDelivery)>,
    },
    /// The source sent this key before: nothing new was planned.
    Duplicate { id: String },
}

fn insert(db: &Connection, call: &NewCall) -> rusqlite::Result<IngestOutcome> {
    let inserted: Option<String> = db
        .prepare_cached(
            "INSERT INTO calls (id, source, dedupe_key, received_at, payload, caller_name,
                                caller_phone_e164, caller_phone_country, callback, routes, unrouted)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (source, dedupe_key) DO NOTHING
             RETURNING id",
        )?
        .query_row(
            params![
                call.id,
                call.source,
                call.dedupe_key,
                call.received_at,
                call.payload,
                call.caller_name,
                call.caller_phone_e164,
                call.caller_phone_country,
                call.callback,
                serde_json::to_string(&call.routes).unwrap_or_default(),
                call.routes.is_empty(),
            ],
            |row| row.get(0),
        )
        .optional()?;
    if inserted.is_none() {
        let id = db
            .prepare_cached("SELECT id FROM calls WHERE source = ? AND dedupe_key = ?")?
            .query_row(params![call.source, call.dedupe_key], |row| row.get(0))?;
        return Ok(IngestOutcome::Duplicate { id });
    }
    let mut plan = db.prepare_cached(
        "INSERT INTO deliveries (call_id, destination, kind, reminder, state, due_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?6) RETURNING id",
    )?;
    let mut deliveries = Vec::with_capacity(call.deliveries.len());
    for planned in &call.deliveries {
        let kind = if planned.reminder.is_some() { "reminder" } else { "call" };
        let id = plan.query_row(
            params![
                call.id,
                planned.destination,
                kind,
                planned.reminder,
                planned.due_at,
                call.received_at
            ],
            |row| row.get(0),
        )?;
        deliveries.push((id, planned.clone()));
    }
    Ok(IngestOutcome::Accepted {
        id: call.id.clone(),
        deliveries,
    })
}

impl Store {
    /// Stores a call and its deliveries durably, or recognises a resend.
    /// Returns only once the commit is on disk; calls arriving together
    /// share one commit.
    pub async fn ingest(&self, call: NewCall) -> Result<IngestOutcome, StoreError> {
        self.writer.write(move |db| insert(db, &call)).await
    }

    pub async fn count_calls(&self) -> Result<i64, StoreError> {
        self.read(|db| db.query_row("SELECT COUNT(*) FROM calls", [], |row| row.get(0)))
            .await
    }

    /// Calls that no route took.
    pub async fn count_unrouted(&self) -> Result<i64, StoreError> {
        self.read(|db| db.query_row("SELECT COUNT(*) FROM calls WHERE unrouted = 1", [], |row| row.get(0)))
            .await
    }
}
