//! Callback reminders: planned at ingest for the caller's callback time,
//! sent once when due, late within the grace period, missed after it.

mod support;

use serde_json::{Value, json};
use support::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Slack now, and a reminder through a second Slack destination with the
/// reminder template.
fn reminder_config(sink: &str, grace: &str) -> String {
    config_yaml(&format!(
        r#"
destinations:
  slack:
    type: slack
    webhook_url: "{sink}/calls/XXXXSECRETXXXX"
  slack-reminder:
    type: slack
    webhook_url: "{sink}/reminders/XXXXSECRETXXXX"
    template: slack/reminder.json.hbs
  callback:
    type: reminder
    notify: [slack-reminder]
    grace: {grace}
routes:
  - name: all
    to: [slack, callback]
"#
    ))
}

async fn sink() -> MockServer {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&sink)
        .await;
    sink
}

fn now_s() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// A call asking to be called back "in 1 minute", made at `called_at`.
fn call(sort_key: &str, called_at: i64) -> String {
    json!({
        "sort_key": sort_key,
        "caller_name": "Ann de Wit",
        "caller_phone_number": "06 12 34 56 78",
        "call_reason": "a quote",
        "callsummary": "Ann wants a quote.",
        "call_back_needed": true,
        "callback_time": "in 1 minute",
        "calltimestamp": called_at,
    })
    .to_string()
}

async fn reminder_requests(sink: &MockServer) -> Vec<Value> {
    sink.received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().starts_with("/reminders/"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

#[tokio::test]
async fn a_reminder_is_planned_for_the_callback_time_and_sent_once_when_due() {
    let sink = sink().await;
    let app = TestApp::spawn(&reminder_config(&sink.uri(), "2h")).await;
    // Said 58 s ago: due 2 s from now.
    let called_at = now_s() - 58;
    let due_ms = (called_at + 60) * 1000;
    let (status, answer) = app.post_json(call("CALL-REM-1", called_at)).await;
    assert_eq!(status, 202, "{answer}");
    let id = answer["id"].as_str().unwrap().to_owned();
    let due = jiff::Timestamp::from_millisecond(due_ms).unwrap().to_string();
    assert_eq!(
        answer["deliveries"],
        json!([
            {"id": 1, "destination": "slack"},
            {"id": 2, "destination": "slack-reminder", "reminder": "callback", "due": due},
        ])
    );
    let planned = &app.deliveries(&id).await[1];
    assert_eq!(
        (planned.destination.as_str(), planned.due_at),
        ("slack-reminder", due_ms)
    );

    let sent = app.wait_for_state(&id, "slack-reminder", "delivered").await;
    let attempt = &app.attempts(sent.id).await[0];
    assert!(
        attempt.started_at >= due_ms,
        "sent {} ms early",
        due_ms - attempt.started_at
    );
    let reminders = reminder_requests(&sink).await;
    assert_eq!(reminders.len(), 1);
    assert_eq!(
        reminders[0]["text"],
        "⏰ Call back Ann de Wit now: +31612345678, about a quote"
    );
    assert_eq!(
        reminders[0]["blocks"][0]["text"]["text"],
        "*⏰ Call back Ann de Wit now*\n<tel:+31612345678|+31612345678> · a quote"
    );
    assert_valid("slack/message-payload.schema.json", &reminders[0]);
}

#[tokio::test]
async fn a_reminder_due_while_down_is_sent_late_within_the_grace_period() {
    let sink = sink().await;
    let app = TestApp::spawn(&reminder_config(&sink.uri(), "2h")).await;
    // Due 59 minutes ago.
    let called_at = now_s() - 3600;
    let local = jiff::Timestamp::from_second(called_at + 60)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
        .strftime("%a %-d %b %H:%M")
        .to_string();
    let id = {
        let (status, answer) = app.post_json(call("CALL-REM-LATE", called_at)).await;
        assert_eq!(status, 202, "{answer}");
        answer["id"].as_str().unwrap().to_owned()
    };
    app.wait_for_state(&id, "slack-reminder", "delivered").await;
    let reminders = reminder_requests(&sink).await;
    assert_eq!(
        reminders[0]["blocks"][0]["text"]["text"],
        format!("*⏰ Call back Ann de Wit now* (late: it was due {local})\n<tel:+31612345678|+31612345678> · a quote")
    );
}

#[tokio::test]
async fn a_reminder_past_its_grace_period_is_missed_and_not_sent() {
    let sink = sink().await;
    let app = TestApp::spawn(&reminder_config(&sink.uri(), "10m")).await;
    let (_, answer) = app.post_json(call("CALL-REM-MISSED", now_s() - 3600)).await;
    let id = answer["id"].as_str().unwrap().to_owned();
    let missed = app.wait_for_state(&id, "slack-reminder", "missed").await;
    let reason = missed.last_error.unwrap();
    assert!(reason.starts_with("missed: came due 59m"), "{reason}");
    assert!(reason.ends_with("past the grace period of 10m"), "{reason}");
    assert!(app.attempts(missed.id).await.is_empty(), "nothing was tried");
    // The call itself still went out; the reminder did not.
    app.wait_for_state(&id, "slack", "delivered").await;
    assert!(reminder_requests(&sink).await.is_empty());
}

#[tokio::test]
async fn a_call_that_needs_no_call_back_plans_no_reminder() {
    let sink = sink().await;
    let app = TestApp::spawn(&reminder_config(&sink.uri(), "2h")).await;
    let (status, answer) = app.post_json(payload("03-answered-no-callback.json")).await;
    assert_eq!(status, 202);
    assert_eq!(answer["deliveries"], json!([{"id": 1, "destination": "slack"}]));
}

#[tokio::test]
async fn a_reminder_must_notify_a_sending_destination() {
    let yaml = reminder_config("http://127.0.0.1:9", "2h").replace("notify: [slack-reminder]", "notify: [callback]");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("callbridge.yaml");
    std::fs::write(&file, yaml).unwrap();
    let config = callbridge::config::Config::load(&file).unwrap();
    let error = callbridge::pipeline::Pipeline::build(&config)
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        error,
        format!(
            "{}: destinations.callback.notify: `callback` is not a destination that sends (slack, http, email, …)",
            file.display()
        )
    );
}

#[tokio::test]
async fn reminders_can_be_listed_and_closed_from_the_command_line() {
    let sink = sink().await;
    let app = TestApp::spawn(&reminder_config(&sink.uri(), "2h")).await;
    let called_at = now_s();
    let body = call("CALL-REM-CLI", called_at).replace("in 1 minute", "tomorrow morning");
    let (status, answer) = app.post_json(body).await;
    assert_eq!(status, 202, "{answer}");
    let reminder_id = answer["deliveries"][1]["id"].as_i64().unwrap();
    let config = app.dir.path().join("callbridge.yaml");
    let cli = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_callbridge"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let tomorrow = jiff::Timestamp::from_second(called_at)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap())
        .date()
        .tomorrow()
        .unwrap()
        .strftime("%a %Y-%m-%d")
        .to_string();
    let header = "ID     DUE                  STATE     CALLER / NUMBER / VIA\n";
    let line = format!("{reminder_id:<6} {tomorrow} 09:00 pending   Ann de Wit  +31612345678  via slack-reminder\n");
    assert_eq!(
        cli(&["reminders", "list"]),
        (Some(0), format!("{header}{line}"), String::new())
    );

    let id = reminder_id.to_string();
    assert_eq!(
        cli(&["reminders", "cancel", &id]),
        (
            Some(0),
            format!("reminder {id}: cancelled by an operator\n"),
            String::new()
        )
    );
    assert_eq!(cli(&["reminders", "list"]), (Some(0), String::new(), String::new()));
    assert_eq!(
        cli(&["reminders", "list", "--all"]).1,
        format!(
            "{header}{}",
            line.replace("pending  ", "cancelled")
                .replace('\n', "  (cancelled by an operator)\n")
        )
    );
    assert_eq!(
        cli(&["reminders", "done", &id]),
        (
            Some(1),
            String::new(),
            format!("error: reminder {id} is cancelled, not pending\n")
        )
    );
    assert_eq!(
        cli(&["reminders", "done", "999"]).2,
        "error: there is no reminder 999\n"
    );
}
