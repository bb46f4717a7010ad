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
/// Items listed per kind; the rest is counted (a Slack section holds 3000 characters).
const LISTED: usize = 25;

/// `{digest: {job, today, due_today: [..], overdue: [..], due_today_more,
/// overdue_more}}`: pending reminders, each `{id, due, caller, number,
/// destination, source}`, at most 25 a list, with the count of those left out.
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
            "source": row.source,
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
    let more = |list: &[Value]| list.len().saturating_sub(LISTED);
    json!({
        "digest": {
            "job": job,
            "today": today.strftime("%a %-d %b").to_string(),
            "due_today_more": more(&due_today),
            "overdue_more": more(&overdue),
            "due_today": due_today.into_iter().take(LISTED).collect::<Vec<_>>(),
            "overdue": overdue.into_iter().take(LISTED).collect::<Vec<_>>(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, due_at: i64) -> ReminderRow {
        ReminderRow {
            id,
            call_id: format!("c{id}"),
            source: "voicemate".into(),
            reminder: "callback".into(),
            destination: "slack".into(),
            state: "pending".into(),
            due_at,
            caller_name: Some(format!("Caller {id}")),
            caller_phone_e164: None,
            reason: None,
        }
    }

    #[test]
    fn splits_overdue_from_due_today_and_caps_the_lists() {
        let zone = TimeZone::get("Europe/Amsterdam").unwrap();
        // Wednesday 2024-12-04 10:00 in Amsterdam.
        let now: Timestamp = "2024-12-04T09:00:00Z".parse().unwrap();
        let hour = 3_600_000;
        let mut pending: Vec<ReminderRow> = (0..30).map(|i| row(i, now.as_millisecond() - hour)).collect();
        pending.push(row(100, now.as_millisecond() + hour));
        pending.push(row(101, now.as_millisecond() + 24 * hour));
        let digest = &context("digest", &pending, &zone, now)["digest"];
        assert_eq!(digest["today"], "Wed 4 Dec");
        assert_eq!(digest["overdue"].as_array().unwrap().len(), 25);
        assert_eq!(digest["overdue_more"], 5);
        assert_eq!(
            digest["due_today"],
            json!([{"id": 100, "due": "Wed 4 Dec 11:00", "caller": "Caller 100", "number": null, "destination": "slack", "source": "voicemate"}])
        );
        assert_eq!(digest["due_today_more"], 0);
    }
}
