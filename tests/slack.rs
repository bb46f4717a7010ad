//! What Slack receives: the exact Block Kit body for known payloads,
//! mentions neutralised, and every payload within Slack's contract.

mod support;

use serde_json::Value;
use support::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn slack_app() -> (TestApp, MockServer) {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&sink)
        .await;
    (TestApp::spawn(&slack_config(&sink.uri())).await, sink)
}

/// The body Slack received for one payload, with the call id replaced by
/// `CALL_ID` so it can be compared with a fixed file.
async fn slack_body_for(name: &str) -> (String, Value) {
    let (app, sink) = slack_app().await;
    let id = app.accept(name).await;
    let request = &received(&sink, 1).await[0];
    assert_eq!(request.url.path(), "/services/T000/B000/XXXXSECRETXXXX");
    let raw = String::from_utf8(request.body.clone()).unwrap();
    let body: Value = serde_json::from_str(&raw.replace(&id, "CALL_ID")).unwrap();
    (raw, body)
}

fn expected(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(repo_path("tests/expected").join(name)).unwrap()).unwrap()
}

#[tokio::test]
async fn payload_01_gives_the_expected_message() {
    let (_, body) = slack_body_for("01-docs-example.json").await;
    assert_eq!(body, expected("slack-01-docs-example.json"));
    assert_valid("slack/message-payload.schema.json", &body);
}

#[tokio::test]
async fn payload_02_gives_the_expected_dutch_message() {
    let (_, body) = slack_body_for("02-dutch-callback.json").await;
    assert_eq!(body, expected("slack-02-dutch-callback.json"));
    assert_valid("slack/message-payload.schema.json", &body);
}

#[tokio::test]
async fn payload_07_keeps_special_characters_and_pings_nobody() {
    let (raw, body) = slack_body_for("07-special-characters.json").await;
    assert_eq!(body, expected("slack-07-special-characters.json"));
    assert_valid("slack/message-payload.schema.json", &body);
    let summary = body["blocks"][1]["text"]["text"].as_str().unwrap();
    assert_eq!(
        summary,
        "Zoë says: \"the heater is broken\" &amp; needs help ASAP!\nSecond line with a backslash \\ and a tab\there. \
         &lt;!channel&gt; @here &lt;@U024BE7LH&gt; *bold* _it_ ~st~ `code` 🔥🚒 مرحبا"
    );
    for forbidden in ["<!channel>", "<@U024BE7LH>", "&quot;", "&#", "&#x27;", "&#x3D;"] {
        assert!(!raw.contains(forbidden), "Slack body contains {forbidden}: {raw}");
    }
}

#[tokio::test]
async fn every_payload_renders_within_slacks_limits() {
    let (app, sink) = slack_app().await;
    let names: Vec<String> = payload_names().into_iter().filter(|n| !n.starts_with("11-")).collect();
    for name in &names {
        app.accept(name).await;
    }
    for request in received(&sink, names.len()).await {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_valid("slack/message-payload.schema.json", &body);
        let blocks = body["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50);
        assert!(body["text"].as_str().is_some_and(|t| !t.is_empty()));
    }
}

#[tokio::test]
async fn a_long_summary_is_cut_at_a_character_and_marked() {
    let (_, body) = slack_body_for("06-long-transcript.json").await;
    let summary = body["blocks"][1]["text"]["text"].as_str().unwrap();
    assert_eq!(summary.chars().count(), 2900);
    assert!(summary.ends_with('…'));
    let original: Value = serde_json::from_slice(&payload("06-long-transcript.json")).unwrap();
    let kept = summary.trim_end_matches('…');
    assert!(original["callsummary"].as_str().unwrap().starts_with(kept));
}

#[tokio::test]
async fn a_callback_time_not_understood_says_so_and_quotes_the_caller() {
    let (app, sink) = slack_app().await;
    // Monday 2024-09-09 12:58:45 in Amsterdam, inside business hours.
    let call = serde_json::json!({
        "sort_key": "CALL-NOT-UNDERSTOOD",
        "caller_name": "Eve",
        "call_back_needed": true,
        "callback_time": "not <tomorrow>",
        "calltimestamp": 1725879525,
    });
    assert_eq!(app.post_json(call.to_string()).await.0, 202);
    let body: Value = serde_json::from_slice(&received(&sink, 1).await[0].body).unwrap();
    assert_eq!(
        body["blocks"][2]["fields"][2]["text"],
        "*Callback*\nMon 9 Sep 12:58 · time not understood: “not &lt;tomorrow&gt;”"
    );
}
