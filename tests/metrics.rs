//! /metrics after a known sequence of calls: exact counter values, bounded
//! labels (no numbers or call ids), queue and reminder gauges.

mod support;

use std::collections::BTreeMap;

use support::*;
use wiremock::ResponseTemplate;

/// `name{labels} value` lines, without comments.
fn samples(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[tokio::test]
async fn metrics_count_calls_attempts_and_deliveries_exactly() {
    let sink = sink_answering(&[ResponseTemplate::new(500)]).await;
    let app = TestApp::spawn(&config_yaml(&format!(
        "destinations:\n  slack: {{ type: slack, webhook_url: \"{}/hook\" }}\n  callback: {{ type: reminder, notify: [slack] }}\nroutes:\n  - {{ name: nl, match: {{ caller_phone_country: {{ equals: NL }} }}, to: [slack, callback] }}\n",
        sink.uri()
    )))
    .await;
    let first = app.accept("01-docs-example.json").await;
    let second = app.accept("02-dutch-callback.json").await;
    // Asks for a call-back tomorrow, said now: its reminder waits.
    let now = jiff::Timestamp::now().as_second();
    let fresh = serde_json::json!({"sort_key": "CALL-METRICS-1", "caller_name": "Ann", "caller_phone_number": "0612345678",
        "call_back_needed": true, "callback_time": "tomorrow morning", "calltimestamp": now});
    let (status, answer) = app.post_json(fresh.to_string()).await;
    assert_eq!(status, 202, "{answer}");
    let third = answer["id"].as_str().unwrap().to_owned();
    let (status, _) = app.post_json(payload("11-retry-duplicate-of-02.json")).await;
    assert_eq!(status, 200);
    let (status, _) = app.post_json(payload("04-anonymous-caller.json")).await;
    assert_eq!(status, 202, "accepted, but no route takes it");
    let wrong = app
        .client
        .post(format!("{}/hooks/voicemate?token=nope", app.address))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let unknown = app
        .client
        .post(format!("{}/hooks/+31612345678?token=x", app.address))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    let (status, _) = app.post_json("not json").await;
    assert_eq!(status, 400);
    app.wait_for_state(&first, "slack", "delivered").await;
    app.wait_for_state(&second, "slack", "delivered").await;
    app.wait_for_state(&third, "slack", "delivered").await;
    app.wait_for_state(&first, "slack", "missed").await;
    app.wait_for_state(&second, "slack", "missed").await;

    let text = app.metrics().await;
    let got = samples(&text);
    let expect = |name: &str, value: &str| {
        assert_eq!(got.get(name).map(String::as_str), Some(value), "{name} in\n{text}");
    };
    expect(
        r#"callbridge_calls_received_total{source="voicemate",outcome="accepted",reason=""}"#,
        "4",
    );
    expect(
        r#"callbridge_calls_received_total{source="voicemate",outcome="duplicate",reason=""}"#,
        "1",
    );
    expect(
        r#"callbridge_calls_received_total{source="voicemate",outcome="rejected",reason="wrong_token"}"#,
        "1",
    );
    expect(
        r#"callbridge_calls_received_total{source="voicemate",outcome="rejected",reason="bad_body"}"#,
        "1",
    );
    expect(
        r#"callbridge_calls_received_total{source="unknown",outcome="rejected",reason="unknown_source"}"#,
        "1",
    );
    expect(r#"callbridge_calls_unrouted_total{source="voicemate"}"#, "1");
    expect(
        r#"callbridge_delivery_attempts_total{destination="slack",outcome="retry"}"#,
        "1",
    );
    expect(
        r#"callbridge_delivery_attempts_total{destination="slack",outcome="delivered"}"#,
        "3",
    );
    expect(
        r#"callbridge_deliveries_total{destination="slack",outcome="delivered"}"#,
        "3",
    );
    expect(r#"callbridge_delivery_latency_seconds_count{destination="slack"}"#, "3");
    expect("callbridge_ingest_latency_seconds_count", "5");
    expect(r#"callbridge_queue_depth{destination="slack"}"#, "0");
    expect(r#"callbridge_oldest_pending_age_seconds{destination="slack"}"#, "0.0");
    // 01 and 02 were made in 2024: their reminders came due long ago and
    // are missed (not sent, no attempt); the fresh call's waits.
    expect(
        r#"callbridge_deliveries_total{destination="slack",outcome="missed"}"#,
        "2",
    );
    expect("callbridge_reminders_pending", "1");
    expect("callbridge_reminders_due", "0");
    assert!(
        !text.contains("+316") && !text.contains(&first),
        "no number or call id as a label"
    );
    assert!(!got.keys().any(|k| k.contains("dead")), "nothing died:\n{text}");
}
