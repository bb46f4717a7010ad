//! What cron jobs need from the store: claiming a run, and the retention
//! purge.

use rusqlite::params;

use super::{Store, StoreError, now_ms};

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub calls: usize,
    pub deliveries: usize,
    pub attempts: usize,
}

impl Store {
    /// True for the one caller that gets to run `job`'s run due at `due_at`.
    pub async fn claim_job_run(&self, job: &str, due_at: i64) -> Result<bool, StoreError> {
        let job = job.to_owned();
        self.writer
            .write(move |db| {
                db.execute(
                    "INSERT INTO job_runs (job, due_at, claimed_at) VALUES (?, ?, ?)
                     ON CONFLICT (job, due_at) DO NOTHING",
                    params![job, due_at, now_ms()],
                )
                .map(|inserted| inserted == 1)
            })
            .await
    }

    /// Removes calls received before `before` (unix ms) with their
    /// deliveries and attempts — but never a call with work still pending.
    pub async fn purge(&self, before: i64) -> Result<Purged, StoreError> {
        self.writer
            .write(move |db| {
                db.execute("CREATE TEMP TABLE IF NOT EXISTS purged (id TEXT PRIMARY KEY)", [])?;
                db.execute("DELETE FROM temp.purged", [])?;
                db.execute(
                    "INSERT INTO temp.purged SELECT id FROM calls c WHERE c.received_at < ?
                     AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.call_id = c.id AND d.state = 'pending')",
                    [before],
                )?;
                let attempts = db.execute(
                    "DELETE FROM attempts WHERE delivery_id IN
                     (SELECT id FROM deliveries WHERE call_id IN (SELECT id FROM temp.purged))",
                    [],
                )?;
                let deliveries = db.execute(
                    "DELETE FROM deliveries WHERE call_id IN (SELECT id FROM temp.purged)",
                    [],
                )?;
                let calls = db.execute("DELETE FROM calls WHERE id IN (SELECT id FROM temp.purged)", [])?;
                db.execute("DELETE FROM job_runs WHERE due_at < ?", [before])?;
                Ok(Purged {
                    calls,
                    deliveries,
                    attempts,
                })
            })
            .await
    }
}
