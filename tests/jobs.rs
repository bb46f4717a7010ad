//! Cron jobs in the running daemon: a retention purge fired by a
//! per-second schedule removes old finished calls and keeps pending ones.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A stand-in that answers POSTs to `fast` at once and to `hanging` not
/// within the send timeout, so work sent there stays pending.
async fn sink_with(fast: &str, hanging: &str) -> MockServer {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(fast))
        .respond_with(ResponseTemplate::new(200))
        .mount(&sink)
        .await;
    Mock::given(method("POST"))
        .and(path(hanging))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&sink)
        .await;
    sink
}

#[tokio::test]
async fn the_purge_removes_old_finished_calls_and_keeps_pending_ones() {
    let sink = sink_with("/fast", "/slow").await;
    let app = TestApp::spawn(&config_yaml(&format!(
        r#"
destinations:
  fast: {{ type: http, url: "{uri}/fast", template: http/call.json.hbs }}
  slow: {{ type: http, url: "{uri}/slow", template: http/call.json.hbs }}
routes:
  - name: slow-ones
    match: {{ caller_name: Slow }}
    to: [slow]
  - name: the-rest
    to: [fast]
jobs:
  retention:
    type: purge
    schedule: "* * * * * *"
    older_than: 1s
"#,
        uri = sink.uri()
    )))
    .await;
    let (_, finished) = app
        .post_json(json!({"sort_key": "OLD-DONE", "caller_name": "Done"}).to_string())
        .await;
    let finished = finished["id"].as_str().unwrap().to_owned();
    app.wait_for_state(&finished, "fast", "delivered").await;
    let (_, pending) = app
        .post_json(json!({"sort_key": "OLD-PENDING", "caller_name": "Slow"}).to_string())
        .await;
    let pending = pending["id"].as_str().unwrap().to_owned();

    let purged = poll(Duration::from_secs(20), || async {
        app.deliveries(&finished).await.is_empty().then_some(())
    })
    .await;
    assert!(purged.is_some(), "the finished call was never purged");
    assert_eq!(app.store.count_calls().await.unwrap(), 1);
    let kept = app.deliveries(&pending).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].state, "pending");
    // The resend of a purged call is a new call again: nothing is left of it.
    let (status, _) = app
        .post_json(json!({"sort_key": "OLD-DONE", "caller_name": "Done"}).to_string())
        .await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn a_job_run_is_claimed_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = callbridge::store::Store::open("sqlite://s.db", dir.path())
        .await
        .unwrap();
    let other = callbridge::store::Store::open("sqlite://s.db", dir.path())
        .await
        .unwrap();
    assert!(store.claim_job_run("digest", 1_700_000_000_000).await.unwrap());
    assert!(!other.claim_job_run("digest", 1_700_000_000_000).await.unwrap());
    assert!(other.claim_job_run("digest", 1_700_000_060_000).await.unwrap());
}

#[tokio::test]
async fn the_digest_lists_overdue_call_backs() {
    // The reminder's own destination never answers: it stays pending.
    let sink = sink_with("/digest", "/reminders").await;
    let app = TestApp::spawn(&config_yaml(&format!(
        r#"
destinations:
  slack-reminder: {{ type: slack, webhook_url: "{uri}/reminders", template: slack/reminder.json.hbs }}
  callback: {{ type: reminder, notify: [slack-reminder], grace: 1d }}
  slack-digest: {{ type: slack, webhook_url: "{uri}/digest", template: slack/digest.json.hbs }}
routes:
  - name: all
    to: [callback]
jobs:
  digest:
    type: digest
    schedule: "* * * * * *"
    to: [slack-digest]
"#,
        uri = sink.uri()
    )))
    .await;
    // "in 1 minute", said an hour ago: overdue.
    let called_at = jiff::Timestamp::now().as_second() - 3600;
    let call = json!({"sort_key": "DIGEST-1", "caller_name": "Ann <Admin>", "caller_phone_number": "0612345678",
        "call_back_needed": true, "callback_time": "in 1 minute", "calltimestamp": called_at});
    assert_eq!(app.post_json(call.to_string()).await.0, 202);

    let zone = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap();
    let due = jiff::Timestamp::from_second(called_at + 60)
        .unwrap()
        .to_zoned_datetime(zone.clone())
        .strftime("%a %-d %b %H:%M")
        .to_string();
    let digest = poll(Duration::from_secs(20), || async {
        let requests = sink.received_requests().await.unwrap_or_default();
        requests
            .into_iter()
            .filter(|r| r.url.path() == "/digest")
            .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap())
            .find(|body| body["text"].as_str().is_some_and(|t| t.ends_with("1 overdue")))
    })
    .await;
    let all: Vec<String> = sink
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.url.path(), String::from_utf8_lossy(&r.body)))
        .collect();
    let digest = digest.unwrap_or_else(|| panic!("no digest with the overdue call-back: {all:#?}"));
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(zone)
        .strftime("%a %-d %b")
        .to_string();
    assert_eq!(
        digest["text"],
        format!("Call-backs for {today}: 0 due today, 1 overdue")
    );
    assert_eq!(
        digest["blocks"][1]["text"]["text"],
        format!("*Overdue*\n• {due} — Ann &lt;Admin&gt; <tel:+31612345678|+31612345678>\n")
    );
    assert_eq!(digest["blocks"][2]["text"]["text"], "*Due today*\nnone");
    assert_valid("slack/message-payload.schema.json", &digest);
}
