//! SIGTERM while deliveries are in flight: the daemon finishes and
//! records what it is sending, hands back what it had not started, exits
//! 0, and after a restart every call has reached the sink exactly once.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::process::*;
use support::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CALLS: usize = 4;

/// A Slack stand-in that takes `delay` to answer each message.
async fn slow_slack(delay: Duration) -> MockServer {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok").set_delay(delay))
        .mount(&sink)
        .await;
    sink
}

#[tokio::test]
async fn sigterm_during_deliveries_loses_nothing_and_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    // A slow Slack, one send at a time: at SIGTERM one is in flight, the
    // rest are claimed or queued.
    let sink = slow_slack(Duration::from_millis(700)).await;
    let yaml = slack_config(&sink.uri()).replace("    type: slack\n", "    type: slack\n    concurrency: 1\n");
    let (config, base) = own_config(dir.path(), &yaml);
    let client = reqwest::Client::new();

    let mut daemon = start_healthy(&config, &client, &base).await;
    let mut ids = Vec::new();
    for i in 0..CALLS {
        let body = serde_json::json!({"sort_key": format!("CALL-TERM-{i}"), "caller_name": format!("Caller {i}")});
        let (status, answer) = post_call(&client, &base, body.to_string()).await;
        assert_eq!(status, 202);
        ids.push(answer["id"].as_str().unwrap().to_owned());
    }
    received(&sink, 1).await;
    kill(Pid::from_raw(daemon.id() as i32), Signal::SIGTERM).unwrap();
    let exited = wait_exit(&mut daemon).await;
    assert_eq!(exited.and_then(|status| status.code()), Some(0), "a clean exit");

    // Everything the sink received is recorded delivered; nothing is leased.
    let store = callbridge::store::Store::open("sqlite://callbridge.db", dir.path())
        .await
        .unwrap();
    let mut delivered_before = 0;
    for id in &ids {
        let deliveries = store.deliveries_of_call(id).await.unwrap();
        assert_eq!(deliveries.len(), 1);
        assert!(
            ["delivered", "pending"].contains(&deliveries[0].state.as_str()),
            "{deliveries:?}"
        );
        delivered_before += (deliveries[0].state == "delivered") as usize;
    }
    let seen_before = sink.received_requests().await.unwrap().len();
    assert!(seen_before >= 1);
    assert_eq!(
        delivered_before, seen_before,
        "every send that reached Slack is recorded"
    );
    let db = rusqlite::Connection::open(dir.path().join("callbridge.db")).unwrap();
    let leased: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM deliveries WHERE lease_until IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leased, 0, "unstarted deliveries were handed back");

    // Started again, the rest go out; each call reached Slack once.
    let mut daemon = start_healthy(&config, &client, &base).await;
    let requests = received(&sink, CALLS).await;
    let all_delivered = poll(Duration::from_secs(20), || async {
        let mut states = Vec::new();
        for id in &ids {
            states.extend(store.deliveries_of_call(id).await.unwrap().into_iter().map(|d| d.state));
        }
        states.iter().all(|s| s == "delivered").then_some(())
    })
    .await;
    kill(Pid::from_raw(daemon.id() as i32), Signal::SIGKILL).unwrap();
    daemon.wait().unwrap();
    assert!(
        all_delivered.is_some(),
        "not every call was delivered after the restart"
    );
    let mut per_caller: BTreeMap<String, usize> = BTreeMap::new();
    for request in sink.received_requests().await.unwrap() {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        *per_caller
            .entry(body["blocks"][0]["text"]["text"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(requests.len(), CALLS);
    let expected: BTreeMap<String, usize> = (0..CALLS).map(|i| (format!("📞 Caller {i}"), 1)).collect();
    assert_eq!(per_caller, expected);
}

#[tokio::test]
async fn an_attempt_cut_off_at_the_bound_is_recorded_and_stays_pending() {
    let dir = tempfile::tempdir().unwrap();
    let sink = slow_slack(Duration::from_secs(4)).await;
    let yaml = slack_config(&sink.uri()).replace("  max_body: 64KiB\n", "  max_body: 64KiB\n  shutdown_timeout: 1s\n");
    let (config, base) = own_config(dir.path(), &yaml);
    let client = reqwest::Client::new();
    let mut daemon = start_healthy(&config, &client, &base).await;
    let (status, answer) = post_call(&client, &base, payload("01-docs-example.json")).await;
    assert_eq!(status, 202);
    let id = answer["id"].as_str().unwrap().to_owned();
    received(&sink, 1).await;
    kill(Pid::from_raw(daemon.id() as i32), Signal::SIGTERM).unwrap();
    let exited = wait_exit(&mut daemon).await;
    assert_eq!(exited.and_then(|status| status.code()), Some(0));

    let store = callbridge::store::Store::open("sqlite://callbridge.db", dir.path())
        .await
        .unwrap();
    let delivery = store.deliveries_of_call(&id).await.unwrap().remove(0);
    assert_eq!(delivery.state, "pending");
    let attempts = store.attempts_of_delivery(delivery.id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "retry");
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("cut off by shutdown after 1 s; sent again at the next start")
    );
}
