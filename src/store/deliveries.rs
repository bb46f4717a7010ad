//! Deliveries: claiming due ones with a lease, recording each attempt and
//! the state it leads to, and reading them back.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Store, StoreError};
use crate::destinations::Progress;

/// A due delivery handed to a worker, with the call it carries.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub delivery_id: i64,
    pub call_id: String,
    pub destination: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub source: String,
    pub received_at: i64,
    pub payload: String,
    /// The reminder that planned it; None for a call sent now.
    pub reminder: Option<String>,
    /// When it fell due, unix milliseconds.
    pub due_at: i64,
    /// The caller's number as normalised at ingest.
    pub caller_phone_e164: Option<String>,
    pub caller_phone_country: Option<String>,
    /// The call-back resolved at ingest (JSON); None if none was asked for
    /// or the call predates storing it.
    pub callback: Option<String>,
    /// Steps earlier attempts finished (multi-step destinations).
    pub progress: Progress,
    /// Until when the claim holds (unix ms): after it, the delivery may be
    /// claimed and sent again.
    pub lease_until: i64,
}

/// One try at sending, as it is recorded (secrets already redacted).
#[derive(Debug, Clone, Default)]
pub struct AttemptRecord {
    pub started_at: i64,
    pub duration_ms: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub request: Option<String>,
    pub response: Option<String>,
    /// Steps done so far, when the destination has steps.
    pub progress: Option<Progress>,
}

/// Where a delivery goes after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum NextStep {
    Delivered,
    RetryAt(i64),
    Dead(String),
    /// A reminder that came due too long ago to be worth sending.
    Missed(String),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeliveryRow {
    pub id: i64,
    pub call_id: String,
    pub destination: String,
    pub state: String,
    /// Attempts since it was planned or last replayed.
    #[serde(rename = "attempt_count")]
    pub attempts: i64,
    pub due_at: i64,
    pub last_error: Option<String>,
    /// The source of its call.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AttemptRow {
    pub attempt: i64,
    pub started_at: i64,
    pub duration_ms: i64,
    pub outcome: String,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub request: Option<String>,
    pub response: Option<String>,
}

impl Store {
    /// Leases up to `limit` due deliveries of `destination` until
    /// `now + lease_ms`; a lease left by a crashed worker expires by itself.
    pub async fn claim(
        &self,
        destination: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let destination = destination.to_owned();
        self.writer
            .write(move |db| claim(db, &destination, now, lease_ms, limit))
            .await
    }

    /// Records an attempt and moves the delivery on, in one job.
    /// A delivery already delivered or dead is never changed again.
    pub async fn record_attempt(
        &self,
        delivery_id: i64,
        attempt: &AttemptRecord,
        next: &NextStep,
    ) -> Result<(), StoreError> {
        let (attempt, next) = (attempt.clone(), next.clone());
        self.writer
            .write(move |db| record(db, delivery_id, &attempt, &next))
            .await
    }

    /// Drops every lease. Call it holding [`Store::lock_for_serving`]: then
    /// any lease left is from a process that died mid-attempt.
    pub async fn release_leases(&self) -> Result<u64, StoreError> {
        self.writer
            .write(|db| {
                db.execute(
                    "UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL",
                    [],
                )
                .map(|n| n as u64)
            })
            .await
    }

    /// Hands claimed deliveries back before their lease runs out.
    pub async fn release(&self, ids: Vec<i64>) -> Result<(), StoreError> {
        let ids = serde_json::to_string(&ids).unwrap_or_default();
        self.writer
            .write(move |db| {
                db.execute(
                    "UPDATE deliveries SET lease_until = NULL WHERE id IN (SELECT value FROM json_each(?))",
                    [ids],
                )
                .map(|_| ())
            })
            .await
    }

    /// Dead-letters pending deliveries (not in flight) to destinations the
    /// config no longer has, with that reason; returns the destination of
    /// each.
    pub async fn dead_letter_unconfigured(&self, configured: Vec<String>, now: i64) -> Result<Vec<String>, StoreError> {
        let configured = serde_json::to_string(&configured).unwrap_or_default();
        self.writer
            .write(move |db| {
                db.prepare_cached(
                    "UPDATE deliveries
                     SET state = 'dead', last_error = 'destination `' || destination || '` is no longer configured',
                         updated_at = ?2
                     WHERE state = 'pending' AND (lease_until IS NULL OR lease_until <= ?2)
                       AND destination NOT IN (SELECT value FROM json_each(?1))
                     RETURNING destination",
                )?
                .query_map(params![configured, now], |row| row.get(0))?
                .collect()
            })
            .await
    }

    /// The earliest due time among pending deliveries of `destination`
    /// that are not leased at `now` (one in flight is recorded by whoever
    /// sends it). Walks the pending index in due order and stops at the
    /// first: thousands of reminders due later cost nothing here.
    pub async fn next_due(&self, destination: &str, now: i64) -> Result<Option<i64>, StoreError> {
        let destination = destination.to_owned();
        self.read(move |db| {
            db.prepare_cached(
                "SELECT due_at FROM deliveries
                 WHERE destination = ?1 AND state = 'pending' AND (lease_until IS NULL OR lease_until <= ?2)
                 ORDER BY due_at LIMIT 1",
            )?
            .query_row(params![destination, now], |row| row.get(0))
            .optional()
        })
        .await
    }

    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        self.read(move |db| {
            db.prepare_cached(select_deliveries!("WHERE d.id = ?"))?
                .query_row([id], delivery_row)
                .optional()
        })
        .await
    }

    pub async fn deliveries_of_call(&self, call_id: &str) -> Result<Vec<DeliveryRow>, StoreError> {
        let call_id = call_id.to_owned();
        self.read(move |db| {
            db.prepare_cached(select_deliveries!("WHERE d.call_id = ? ORDER BY d.id"))?
                .query_map([call_id], delivery_row)?
                .collect()
        })
        .await
    }

    pub async fn attempts_of_delivery(&self, delivery_id: i64) -> Result<Vec<AttemptRow>, StoreError> {
        self.read(move |db| {
            db.prepare_cached(
                "SELECT attempt, started_at, duration_ms, outcome, status, error, request, response
                 FROM attempts WHERE delivery_id = ? ORDER BY id",
            )?
            .query_map([delivery_id], attempt_row)?
            .collect()
        })
        .await
    }
}

fn claim(db: &Connection, destination: &str, now: i64, lease_ms: i64, limit: i64) -> rusqlite::Result<Vec<Claimed>> {
    // id, call_id, attempts, reminder, due_at, progress
    type Leased = (i64, String, i64, Option<String>, i64, Option<String>);
    let leased: Vec<Leased> = db
        .prepare_cached(
            "UPDATE deliveries SET lease_until = ?2 + ?3
             WHERE id IN (
                 SELECT id FROM deliveries
                 WHERE destination = ?1 AND state = 'pending' AND due_at <= ?2
                   AND (lease_until IS NULL OR lease_until <= ?2)
                 ORDER BY due_at LIMIT ?4)
             RETURNING id, call_id, attempts, reminder, due_at, progress",
        )?
        .query_map(params![destination, now, lease_ms, limit], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut call = db.prepare_cached(
        "SELECT source, received_at, payload, caller_phone_e164, caller_phone_country, callback
         FROM calls WHERE id = ?",
    )?;
    leased
        .into_iter()
        .map(|(delivery_id, call_id, attempts, reminder, due_at, progress)| {
            call.query_row([&call_id], |row| {
                Ok(Claimed {
                    delivery_id,
                    destination: destination.to_owned(),
                    attempts,
                    reminder: reminder.clone(),
                    due_at,
                    source: row.get(0)?,
                    received_at: row.get(1)?,
                    payload: row.get(2)?,
                    caller_phone_e164: row.get(3)?,
                    caller_phone_country: row.get(4)?,
                    callback: row.get(5)?,
                    progress: progress
                        .as_deref()
                        .and_then(|p| serde_json::from_str(p).ok())
                        .unwrap_or_default(),
                    call_id: call_id.clone(),
                    lease_until: now + lease_ms,
                })
            })
        })
        .collect()
}

fn record(db: &Connection, delivery_id: i64, attempt: &AttemptRecord, next: &NextStep) -> rusqlite::Result<()> {
    let (state, due_at, error) = match next {
        NextStep::Delivered => ("delivered", None, None),
        NextStep::RetryAt(at) => ("pending", Some(*at), attempt.error.clone()),
        NextStep::Dead(reason) => ("dead", None, Some(reason.clone())),
        NextStep::Missed(reason) => ("missed", None, Some(reason.clone())),
    };
    // A missed reminder was never tried: it gets no attempt row.
    let outcome = match next {
        NextStep::Delivered => Some("delivered"),
        NextStep::RetryAt(_) => Some("retry"),
        NextStep::Dead(_) => Some("dead"),
        NextStep::Missed(_) => None,
    };
    let updated = db
        .prepare_cached(
            "UPDATE deliveries
             SET state = ?, attempts = attempts + ?, due_at = COALESCE(?, due_at),
                 lease_until = NULL, last_error = ?, updated_at = ?, progress = COALESCE(?, progress)
             WHERE id = ? AND state = 'pending'",
        )?
        .execute(params![
            state,
            outcome.is_some() as i64,
            due_at,
            error,
            attempt.started_at + attempt.duration_ms,
            attempt
                .progress
                .as_ref()
                .map(|p| serde_json::to_string(p).unwrap_or_default()),
            delivery_id
        ])?;
    if let (1, Some(outcome)) = (updated, outcome) {
        db.prepare_cached(
            "INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, outcome,
                                   status, error, request, response)
             VALUES (?1, (SELECT COUNT(*) + 1 FROM attempts WHERE delivery_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            delivery_id,
            attempt.started_at,
            attempt.duration_ms,
            outcome,
            attempt.status,
            attempt.error,
            attempt.request,
            attempt.response
        ])?;
    }
    Ok(())
}

/// A query for rows that `delivery_row` reads, in its column order.
macro_rules! select_deliveries {
    ($rest:literal) => {
        concat!(
            "SELECT d.id, d.call_id, d.destination, d.state, d.attempts, d.due_at, d.last_error, c.source
             FROM deliveries d JOIN calls c ON c.id = d.call_id ",
            $rest
        )
    };
}
pub(super) use select_deliveries;

pub(super) fn delivery_row(row: &Row<'_>) -> rusqlite::Result<DeliveryRow> {
    Ok(DeliveryRow {
        id: row.get(0)?,
        call_id: row.get(1)?,
        destination: row.get(2)?,
        state: row.get(3)?,
        attempts: row.get(4)?,
        due_at: row.get(5)?,
        last_error: row.get(6)?,
        source: row.get(7)?,
    })
}

fn attempt_row(row: &Row<'_>) -> rusqlite::Result<AttemptRow> {
    Ok(AttemptRow {
        attempt: row.get(0)?,
        started_at: row.get(1)?,
        duration_ms: row.get(2)?,
        outcome: row.get(3)?,
        status: row.get(4)?,
        error: row.get(5)?,
        request: row.get(6)?,
        response: row.get(7)?,
    })
}
