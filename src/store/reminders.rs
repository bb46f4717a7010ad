//! Reminders as an operator sees them: the pending ones, and marking one
//! done or cancelled so it is never sent.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, now_ms};

#[derive(Debug, Clone, PartialEq)]
pub struct ReminderRow {
    pub id: i64,
    pub call_id: String,
    /// The source the call came from.
    pub source: String,
    pub reminder: String,
    pub destination: String,
    pub state: String,
    /// Unix milliseconds.
    pub due_at: i64,
    pub caller_name: Option<String>,
    pub caller_phone_e164: Option<String>,
    /// Why it was closed or missed.
    pub reason: Option<String>,
}

/// Why a reminder could not be closed.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    #[error("there is no reminder {0}")]
    NotFound(i64),
    #[error("reminder {id} is {state}, not pending")]
    NotPending { id: i64, state: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Reminders by due time: only the pending ones unless `all`.
    pub async fn reminders(&self, all: bool) -> Result<Vec<ReminderRow>, StoreError> {
        self.read(move |db| {
            db.prepare_cached(
                "SELECT d.id, d.call_id, d.reminder, d.destination, d.state, d.due_at,
                        c.caller_name, c.caller_phone_e164, d.last_error, c.source
                 FROM deliveries d JOIN calls c ON c.id = d.call_id
                 WHERE d.kind = 'reminder' AND (?1 OR d.state = 'pending')
                 ORDER BY d.due_at, d.id",
            )?
            .query_map([all], |row| {
                Ok(ReminderRow {
                    id: row.get(0)?,
                    call_id: row.get(1)?,
                    reminder: row.get(2)?,
                    destination: row.get(3)?,
                    state: row.get(4)?,
                    due_at: row.get(5)?,
                    caller_name: row.get(6)?,
                    caller_phone_e164: row.get(7)?,
                    reason: row.get(8)?,
                    source: row.get(9)?,
                })
            })?
            .collect()
        })
        .await
    }

    /// Closes a pending reminder so it is never sent, with `reason` recorded.
    pub async fn close_reminder(&self, id: i64, reason: &'static str) -> Result<(), CloseError> {
        // The state it was in when it could not be closed; None once closed.
        let refused: Option<Option<String>> = self
            .writer
            .write(move |db| {
                let closed = db.execute(
                    "UPDATE deliveries SET state = 'cancelled', last_error = ?, lease_until = NULL, updated_at = ?
                     WHERE id = ? AND kind = 'reminder' AND state = 'pending'",
                    params![reason, now_ms(), id],
                )?;
                if closed == 1 {
                    return Ok(None);
                }
                db.query_row(
                    "SELECT state FROM deliveries WHERE id = ? AND kind = 'reminder'",
                    [id],
                    |row| row.get(0),
                )
                .optional()
                .map(Some)
            })
            .await?;
        match refused {
            None => Ok(()),
            Some(None) => Err(CloseError::NotFound(id)),
            Some(Some(state)) => Err(CloseError::NotPending { id, state }),
        }
    }
}
