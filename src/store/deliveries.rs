//! Deliveries: claiming due ones with a lease, recording each attempt and
//! the state it leads to, and reading them back.

use super::{Store, StoreError};

/// A due delivery handed to a worker, with the call it carries.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub delivery_id: i64,
    pub call_id: String,
    pub destination: String,
    /// Attempts made before this one.
    pub attempts: i64,
    pub source: String,
    pub received_at: i64,
    pub payload: String,
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
}

/// Where a delivery goes after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum NextStep {
    Delivered,
    RetryAt(i64),
    Dead(String),
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub call_id: String,
    pub destination: String,
    pub state: String,
    pub attempts: i64,
    pub due_at: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
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
    /// Leases up to `limit` due deliveries of `destination` until
    /// `now + lease_ms`; a lease left by a crashed worker expires by itself.
    pub async fn claim(
        &self,
        destination: &str,
        now: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let ids: Vec<(i64,)> = sqlx::query_as(
            "UPDATE deliveries SET lease_until = ?2 + ?3
             WHERE id IN (
                 SELECT id FROM deliveries
                 WHERE destination = ?1 AND state = 'pending' AND due_at <= ?2
                   AND (lease_until IS NULL OR lease_until <= ?2)
                 ORDER BY due_at LIMIT ?4)
             RETURNING id",
        )
        .bind(destination)
        .bind(now)
        .bind(lease_ms)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(ids.len());
        for (id,) in ids {
            let row = sqlx::query_as::<_, Claimed>(
                "SELECT d.id AS delivery_id, d.call_id, d.destination, d.attempts,
                        c.source, c.received_at, c.payload
                 FROM deliveries d JOIN calls c ON c.id = d.call_id WHERE d.id = ?",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            claimed.push(row);
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records an attempt and moves the delivery on, in one transaction.
    /// A delivery already delivered or dead is never changed again.
    pub async fn record_attempt(
        &self,
        delivery_id: i64,
        attempt: &AttemptRecord,
        next: &NextStep,
    ) -> Result<(), StoreError> {
        let (state, due_at, error) = match next {
            NextStep::Delivered => ("delivered", None, None),
            NextStep::RetryAt(at) => ("pending", Some(*at), attempt.error.clone()),
            NextStep::Dead(reason) => ("dead", None, Some(reason.clone())),
        };
        let outcome = match next {
            NextStep::Delivered => "delivered",
            NextStep::RetryAt(_) => "retry",
            NextStep::Dead(_) => "dead",
        };
        let mut tx = self.writer.begin().await?;
        let updated = sqlx::query(
            "UPDATE deliveries
             SET state = ?, attempts = attempts + 1, due_at = COALESCE(?, due_at),
                 lease_until = NULL, last_error = ?, updated_at = ?
             WHERE id = ? AND state = 'pending'",
        )
        .bind(state)
        .bind(due_at)
        .bind(&error)
        .bind(attempt.started_at + attempt.duration_ms)
        .bind(delivery_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 1 {
            sqlx::query(
                "INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, outcome,
                                       status, error, request, response)
                 VALUES (?, (SELECT attempts FROM deliveries WHERE id = ?), ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(delivery_id)
            .bind(delivery_id)
            .bind(attempt.started_at)
            .bind(attempt.duration_ms)
            .bind(outcome)
            .bind(attempt.status.map(i64::from))
            .bind(&attempt.error)
            .bind(&attempt.request)
            .bind(&attempt.response)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Drops every lease. Call it holding [`Store::lock_for_serving`]: then
    /// any lease left is from a process that died mid-attempt.
    pub async fn release_leases(&self) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL")
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    /// The earliest due time among pending deliveries of `destination`.
    pub async fn next_due(&self, destination: &str) -> Result<Option<i64>, StoreError> {
        let (due,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(MAX(due_at, COALESCE(lease_until, 0))) FROM deliveries
             WHERE destination = ? AND state = 'pending'",
        )
        .bind(destination)
        .fetch_one(&self.reader)
        .await?;
        Ok(due)
    }

    pub async fn deliveries_of_call(&self, call_id: &str) -> Result<Vec<DeliveryRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, call_id, destination, state, attempts, due_at, last_error
             FROM deliveries WHERE call_id = ? ORDER BY id",
        )
        .bind(call_id)
        .fetch_all(&self.reader)
        .await?)
    }

    pub async fn attempts_of_delivery(&self, delivery_id: i64) -> Result<Vec<AttemptRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT attempt, started_at, duration_ms, outcome, status, error, request, response
             FROM attempts WHERE delivery_id = ? ORDER BY id",
        )
        .bind(delivery_id)
        .fetch_all(&self.reader)
        .await?)
    }

    pub async fn count_calls(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM calls")
            .fetch_one(&self.reader)
            .await?;
        Ok(n)
    }

    /// Calls that no route took.
    pub async fn count_unrouted(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM calls WHERE unrouted = 1")
            .fetch_one(&self.reader)
            .await?;
        Ok(n)
    }
}
