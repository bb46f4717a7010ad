//! Cron jobs in the running daemon: a retention purge fired by a
//! per-second schedule removes old finished calls and keeps pending ones.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn the_purge_removes_old_finished_calls_and_keeps_pending_ones() {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/fast"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&sink)
        .await;
    Mock::given(method("POST"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&sink)
        .await;
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
