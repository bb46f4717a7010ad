//! Queue figures for metrics, read in one go.

use std::collections::HashMap;

use super::{Store, StoreError};

#[derive(Debug, Default, Clone, PartialEq)]
pub struct QueueStats {
    /// Per destination: calls waiting to be sent, and when the oldest was
    /// planned (unix ms).
    pub calls: HashMap<String, (i64, i64)>,
    pub reminders_pending: i64,
    pub reminders_due: i64,
}

impl Store {
    pub async fn queue_stats(&self, now: i64) -> Result<QueueStats, StoreError> {
        self.read(move |db| {
            let mut stats = QueueStats::default();
            let mut calls = db.prepare_cached(
                "SELECT destination, COUNT(*), MIN(created_at) FROM deliveries
                 WHERE state = 'pending' AND kind = 'call' GROUP BY destination",
            )?;
            for row in calls.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))? {
                let (destination, figures) = row?;
                stats.calls.insert(destination, figures);
            }
            (stats.reminders_pending, stats.reminders_due) = db.query_row(
                "SELECT COUNT(*), COALESCE(SUM(due_at <= ?), 0) FROM deliveries
                 WHERE state = 'pending' AND kind = 'reminder'",
                [now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(stats)
        })
        .await
    }
}
