//! The delivery log for operators: calls and deliveries as stored, and
//! replaying what failed.

use rusqlite::{Row, params};
use serde::Serialize;

use super::{Store, StoreError};
use crate::store::deliveries::{delivery_row, select_deliveries};
use crate::store::{AttemptRow, DeliveryRow};

/// Which deliveries a list shows; each part that is set must match.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub state: Option<String>,
    pub destination: Option<String>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRow {
    pub id: String,
    pub source: String,
    pub received_at: i64,
    pub caller_name: Option<String>,
    pub caller_phone_e164: Option<String>,
    pub unrouted: bool,
}

/// One call with its payload, deliveries and their attempts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallDetail {
    #[serde(flatten)]
    pub call: CallRow,
    pub payload: serde_json::Value,
    pub deliveries: Vec<DeliveryDetail>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryRow,
    pub attempts: Vec<AttemptRow>,
}

/// Which failed deliveries to replay.
#[derive(Debug, Clone, PartialEq)]
pub enum Replay {
    Delivery(i64),
    /// Every dead delivery of one call.
    Call(String),
    /// Every dead delivery, or those of one destination.
    AllDead {
        destination: Option<String>,
    },
}

impl std::fmt::Display for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Delivery(id) => write!(f, "delivery {id}"),
            Self::Call(id) => write!(f, "call {id}"),
            Self::AllDead { destination: Some(d) } => write!(f, "destination `{d}`"),
            Self::AllDead { destination: None } => write!(f, "dead delivery"),
        }
    }
}

fn call_row(row: &Row<'_>) -> rusqlite::Result<CallRow> {
    Ok(CallRow {
        id: row.get(0)?,
        source: row.get(1)?,
        received_at: row.get(2)?,
        caller_name: row.get(3)?,
        caller_phone_e164: row.get(4)?,
        unrouted: row.get(5)?,
    })
}

const CALL_COLUMNS: &str = "id, source, received_at, caller_name, caller_phone_e164, unrouted";

impl Store {
    /// The latest calls, newest first; only one source's if given.
    pub async fn list_calls(&self, source: Option<String>, limit: i64) -> Result<Vec<CallRow>, StoreError> {
        self.read(move |db| {
            db.prepare_cached(&format!(
                "SELECT {CALL_COLUMNS} FROM calls WHERE (?1 IS NULL OR source = ?1)
                 ORDER BY received_at DESC, id DESC LIMIT ?2"
            ))?
            .query_map(params![source, limit], call_row)?
            .collect()
        })
        .await
    }

    pub async fn call_detail(&self, id: &str) -> Result<Option<CallDetail>, StoreError> {
        let Some((call, payload)) = self
            .read({
                let id = id.to_owned();
                move |db| {
                    let found = db
                        .prepare_cached(&format!("SELECT {CALL_COLUMNS}, payload FROM calls WHERE id = ?"))?
                        .query_map([id], |row| Ok((call_row(row)?, row.get::<_, String>(6)?)))?
                        .next()
                        .transpose()?;
                    Ok(found)
                }
            })
            .await?
        else {
            return Ok(None);
        };
        let mut deliveries = Vec::new();
        for delivery in self.deliveries_of_call(id).await? {
            let attempts = self.attempts_of_delivery(delivery.id).await?;
            deliveries.push(DeliveryDetail { delivery, attempts });
        }
        Ok(Some(CallDetail {
            call,
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload)),
            deliveries,
        }))
    }

    /// Deliveries, newest first, optionally in one state, to one
    /// destination or of calls from one source.
    pub async fn list_deliveries(&self, filter: DeliveryFilter, limit: i64) -> Result<Vec<DeliveryRow>, StoreError> {
        self.read(move |db| {
            db.prepare_cached(select_deliveries!(
                "WHERE (?1 IS NULL OR d.state = ?1) AND (?2 IS NULL OR d.destination = ?2)
                   AND (?3 IS NULL OR c.source = ?3)
                 ORDER BY d.id DESC LIMIT ?4"
            ))?
            .query_map(
                params![filter.state, filter.destination, filter.source, limit],
                delivery_row,
            )?
            .collect()
        })
        .await
    }

    /// Whether what a replay names exists at all (a delivery, a call, a
    /// destination with deliveries), to tell "nothing failed" from a typo.
    pub async fn replay_target_exists(&self, which: &Replay) -> Result<bool, StoreError> {
        let which = which.clone();
        self.read(move |db| {
            let (sql, key): (&str, String) = match which {
                Replay::Delivery(id) => ("SELECT EXISTS (SELECT 1 FROM deliveries WHERE id = ?)", id.to_string()),
                Replay::Call(id) => ("SELECT EXISTS (SELECT 1 FROM calls WHERE id = ?)", id),
                Replay::AllDead { destination: Some(d) } => {
                    ("SELECT EXISTS (SELECT 1 FROM deliveries WHERE destination = ?)", d)
                }
                Replay::AllDead { destination: None } => return Ok(true),
            };
            db.query_row(sql, [key], |row| row.get(0))
        })
        .await
    }

    /// Makes dead deliveries pending again, due now, with a fresh budget of
    /// attempts; delivered ones are never touched. Returns the ids replayed.
    /// Only deliveries to `configured` destinations are replayed (no loop
    /// would send the others); a reminder not yet due keeps its time.
    pub async fn replay(&self, which: Replay, configured: Vec<String>, now: i64) -> Result<Vec<i64>, StoreError> {
        let configured = serde_json::to_string(&configured).unwrap_or_default();
        self.writer
            .write(move |db| {
                let (delivery, call, all, destination) = match &which {
                    Replay::Delivery(id) => (Some(*id), None, false, None),
                    Replay::Call(id) => (None, Some(id.clone()), false, None),
                    Replay::AllDead { destination } => (None, None, true, destination.clone()),
                };
                db.prepare_cached(
                    "UPDATE deliveries
                     SET state = 'pending', attempts = 0, lease_until = NULL, last_error = NULL, updated_at = ?1,
                         due_at = CASE WHEN kind = 'reminder' THEN MAX(due_at, ?1) ELSE ?1 END
                     WHERE state = 'dead'
                       AND (id = ?2 OR call_id = ?3 OR ?4)
                       AND (?5 IS NULL OR destination = ?5)
                       AND destination IN (SELECT value FROM json_each(?6))
                     RETURNING id",
                )?
                .query_map(params![now, delivery, call, all, destination, configured], |row| {
                    row.get(0)
                })?
                .collect()
            })
            .await
    }
}
