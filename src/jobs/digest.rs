//! The digest: the call-backs due today and those overdue, rendered by a
//! destination's own template and sent at once (retried a few times).

use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use crate::destinations::Outcome;
use crate::pipeline::Pipeline;
use crate::store::ReminderRow;

/// Sends after a failure worth retrying, waiting twice as long each time.
const TRIES: u32 = 3;
const FIRST_WAIT: Duration = Duration::from_secs(2);

/// `{digest: {job, today, due_today: [..], overdue: [..]}}`: pending
/// reminders, each `{id, due, caller, number, destination}`.
pub fn context(job: &str, pending: &[ReminderRow], zone: &TimeZone, now: Timestamp) -> Value {
    let today = now.to_zoned_datetime(zone.clone()).date();
    let local = |ms: i64| {
        Timestamp::from_millisecond(ms)
            .ok()
            .map(|t| t.to_zoned_datetime(zone.clone()))
    };
    let item = |row: &ReminderRow| {
        json!({
            "id": row.id,
            "due": local(row.due_at).map(|z| z.strftime("%a %-d %b %H:%M").to_string()),
            "caller": row.caller_name,
            "number": row.caller_phone_e164,
            "destination": row.destination,
        })
    };
    let overdue: Vec<Value> = pending
        .iter()
        .filter(|r| r.due_at < now.as_millisecond())
        .map(item)
        .collect();
    let due_today: Vec<Value> = pending
        .iter()
        .filter(|r| r.due_at >= now.as_millisecond() && local(r.due_at).is_some_and(|z| z.date() == today))
        .map(item)
        .collect();
    json!({
        "digest": {
            "job": job,
            "today": today.strftime("%a %-d %b").to_string(),
            "due_today": due_today,
            "overdue": overdue,
        }
    })
}

pub async fn send(pipeline: &Pipeline, context: Value, run_id: &str, destination: &str) {
    let rendered = match pipeline.render(context, run_id, destination) {
        Ok(rendered) => rendered,
        Err(error) => {
            tracing::error!(%destination, %error, "the digest cannot be rendered");
            return;
        }
    };
    let Some(route) = pipeline.destinations.get(destination) else {
        return;
    };
    let mut wait = FIRST_WAIT;
    for attempt in 1..=TRIES {
        let report = route.destination.send(&rendered).await;
        match report.outcome {
            Outcome::Delivered => {
                tracing::info!(%destination, "digest sent");
                return;
            }
            Outcome::Retry { .. } if attempt < TRIES => {
                tracing::warn!(%destination, attempt, error = ?report.error, "digest not sent yet; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            _ => {
                tracing::error!(%destination, error = ?report.error, "the digest was not sent");
                return;
            }
        }
    }
}
