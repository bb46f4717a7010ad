//! The dispatcher end to end: retries, Retry-After, dead letters,
//! independence of destinations and what is recorded per attempt.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn server_errors_are_retried_until_delivered() {
    let sink = sink_answering(&[ResponseTemplate::new(500), ResponseTemplate::new(500)]).await;
    let app = TestApp::spawn(&slack_config(&sink.uri())).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = app.wait_for_state(&id, "slack", "delivered").await;
    assert_eq!(delivery.attempts, 3);
    let attempts = app.attempts(delivery.id).await;
    let summary: Vec<(i64, &str, Option<i64>)> = attempts
        .iter()
        .map(|a| (a.attempt, a.outcome.as_str(), a.status))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "retry", Some(500)),
            (2, "retry", Some(500)),
            (3, "delivered", Some(200))
        ]
    );
    assert_eq!(attempts[0].error.as_deref(), Some("HTTP 500: "));
    // Every attempt sent the same body.
    let requests = received(&sink, 3).await;
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.body == requests[0].body));
}

#[tokio::test]
async fn retry_after_is_waited_for() {
    let sink = sink_answering(&[ResponseTemplate::new(429).insert_header("Retry-After", "1")]).await;
    let app = TestApp::spawn(&slack_config(&sink.uri())).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = app.wait_for_state(&id, "slack", "delivered").await;
    let attempts = app.attempts(delivery.id).await;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status, Some(429));
    let first_ended = attempts[0].started_at + attempts[0].duration_ms;
    let waited = attempts[1].started_at - first_ended;
    // Without Retry-After the backoff here is at most 200 ms.
    assert!(waited >= 1000, "waited only {waited} ms");
}

#[tokio::test]
async fn a_client_error_is_dead_at_once_with_the_reason() {
    let sink = sink_answering(&[ResponseTemplate::new(400).set_body_string("invalid_blocks")]).await;
    let app = TestApp::spawn(&slack_config(&sink.uri())).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = app.wait_for_state(&id, "slack", "dead").await;
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.last_error.as_deref(), Some("HTTP 400: invalid_blocks"));
    let attempts = app.attempts(delivery.id).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].response.as_deref(), Some("invalid_blocks"));
}

#[tokio::test]
async fn attempts_are_capped_then_dead() {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&sink)
        .await;
    let app = TestApp::spawn(&slack_config(&sink.uri())).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = app.wait_for_state(&id, "slack", "dead").await;
    assert_eq!(delivery.attempts, 5);
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("gave up after 5 attempts: HTTP 503: ")
    );
    assert_eq!(sink.received_requests().await.unwrap().len(), 5);
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = TestApp::spawn(&slack_config(&format!("http://{closed}"))).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = app.wait_for_state(&id, "slack", "dead").await;
    let attempts = app.attempts(delivery.id).await;
    assert_eq!(attempts.len(), 5);
    assert_eq!(attempts[0].status, None);
    assert!(
        attempts[0].error.as_deref().unwrap().starts_with("connection failed"),
        "{:?}",
        attempts[0].error
    );
}

fn crm_and_slack_config(slack: &str, crm: &str) -> String {
    config_yaml(&format!(
        r#"
destinations:
  slack:
    type: slack
    webhook_url: "{slack}/services/T000/B000/XXXXSECRETXXXX"
  crm:
    type: http
    url: "{crm}/api/calls/{{{{sort_key}}}}?from={{{{caller_phone_e164}}}}"
    method: put
    headers:
      Authorization: "Bearer crm-secret-token-123"
      X-Caller: "{{{{caller_name}}}}"
    template: http/call.json.hbs
    expected_status: [200, 201]
routes:
  - name: all
    to: [slack, crm]
"#
    ))
}

#[tokio::test]
async fn the_http_destination_sends_the_templated_request_with_an_idempotency_key() {
    let slack = sink_answering(&[]).await;
    let crm = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&crm)
        .await;
    let app = TestApp::spawn(&crm_and_slack_config(&slack.uri(), &crm.uri())).await;
    let id = app.accept("07-special-characters.json").await;
    let delivery = app.wait_for_state(&id, "crm", "delivered").await;

    let request = &received(&crm, 1).await[0];
    assert_eq!(
        request.url.path(),
        "/api/calls/CALL-1733241600-0f0f0f0f-1e1e-4d2d-8c3c-4b4b4b4b4b4b"
    );
    assert_eq!(request.url.query(), Some("from=%2B31611112222"));
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|v| String::from_utf8(v.as_bytes().to_vec()).unwrap())
    };
    assert_eq!(header("authorization").as_deref(), Some("Bearer crm-secret-token-123"));
    assert_eq!(
        header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    // The caller's newline-free name passes as is; the key is stable.
    assert_eq!(
        header("x-caller").as_deref(),
        Some("Zoë \"Zee\" O'Brien <admin@example.com>")
    );
    let key = header("idempotency-key").unwrap();
    assert_eq!(key.len(), 32);
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["caller_name"], "Zoë \"Zee\" O'Brien <admin@example.com>");
    assert_eq!(body["phone"], "+31611112222");
    assert_eq!(
        body["summary"],
        "Zoë says: \"the heater is broken\" & needs help ASAP!\nSecond line with a backslash \\ and a tab\there. <!channel> @here <@U024BE7LH> *bold* _it_ ~st~ `code` 🔥🚒 مرحبا"
    );
    assert_eq!(body["call_id"], id.as_str());

    // What was sent is recorded, without the credential.
    let attempt = &app.attempts(delivery.id).await[0];
    let recorded = attempt.request.as_deref().unwrap();
    assert!(
        recorded.starts_with(&format!("PUT {}/api/calls/CALL-1733241600", crm.uri())),
        "{recorded}"
    );
    assert!(recorded.contains("Authorization: [redacted]"), "{recorded}");
    assert!(!recorded.contains("crm-secret-token-123"), "{recorded}");

    let slack_delivery = app.wait_for_state(&id, "slack", "delivered").await;
    let slack_recorded = app.attempts(slack_delivery.id).await[0].request.clone().unwrap();
    assert!(slack_recorded.starts_with("POST [redacted]\n"), "{slack_recorded}");
    assert!(!slack_recorded.contains("XXXXSECRETXXXX"));
}

#[tokio::test]
async fn a_request_that_cannot_be_made_is_dead_at_once_with_the_reason() {
    let (slack, crm) = (sink_answering(&[]).await, sink_answering(&[]).await);
    let app = TestApp::spawn(&crm_and_slack_config(&slack.uri(), &crm.uri())).await;
    // A sort_key that makes the URL longer than any URL can be.
    let mut call: serde_json::Value = serde_json::from_slice(&payload("01-docs-example.json")).unwrap();
    call["sort_key"] = json!("é".repeat(30_000));
    let (status, answer) = app.post_json(call.to_string()).await;
    assert_eq!(status, 202, "{answer}");
    let dead = app.wait_for_state(answer["id"].as_str().unwrap(), "crm", "dead").await;
    assert_eq!(dead.attempts, 1);
    let reason = dead.last_error.unwrap();
    assert!(
        reason.starts_with("the request cannot be made (is the rendered URL or a header value valid?)"),
        "{reason}"
    );
    assert!(crm.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn caller_text_cannot_add_a_header() {
    let slack = sink_answering(&[]).await;
    let crm = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&crm)
        .await;
    let app = TestApp::spawn(&crm_and_slack_config(&slack.uri(), &crm.uri())).await;
    let body = json!({"sort_key": "CALL-HDR", "caller_name": "Eve\r\nX-Injected: yes\r\n\r\nbody"});
    let (status, _) = app.post_json(body.to_string()).await;
    assert_eq!(status, 202);
    let request = &received(&crm, 1).await[0];
    assert!(request.headers.get("x-injected").is_none());
    assert_eq!(
        request.headers.get("x-caller").unwrap().to_str().unwrap(),
        "Eve  X-Injected: yes    body"
    );
}

#[tokio::test]
async fn a_slow_destination_does_not_delay_another() {
    let slack = sink_answering(&[]).await;
    let crm = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&crm)
        .await;
    let app = TestApp::spawn(&crm_and_slack_config(&slack.uri(), &crm.uri())).await;
    let id = app.accept("01-docs-example.json").await;
    app.wait_for_state(&id, "slack", "delivered").await;
    let crm_delivery = app
        .deliveries(&id)
        .await
        .into_iter()
        .find(|d| d.destination == "crm")
        .unwrap();
    assert_eq!(crm_delivery.state, "pending");
    assert_eq!(received(&crm, 1).await.len(), 1);
}

#[tokio::test]
async fn a_template_that_fails_for_a_call_dead_letters_with_the_reason() {
    let crm = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/x"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&crm)
        .await;
    let templates = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(templates.path().join("http")).unwrap();
    std::fs::write(templates.path().join("http/x.json.hbs"), r#"{"lang": "{{language}}"}"#).unwrap();
    let yaml = config_yaml(&format!(
        r#"
destinations:
  crm: {{ type: http, url: "{}/x", template: http/x.json.hbs }}
routes:
  - name: all
    to: [crm]
"#,
        crm.uri()
    ))
    .replace(
        &repo_path("templates").display().to_string(),
        &templates.path().display().to_string(),
    );
    let app = TestApp::spawn(&yaml).await;
    // 09 has the extra field `language`; 01 does not.
    let with = app.accept("09-extra-fields.json").await;
    app.wait_for_state(&with, "crm", "delivered").await;
    let without = app.accept("01-docs-example.json").await;
    let dead = app.wait_for_state(&without, "crm", "dead").await;
    let reason = dead.last_error.unwrap();
    assert!(reason.starts_with("template http/x.json.hbs:"), "{reason}");
    assert!(reason.contains("language"), "{reason}");
    let requests = received(&crm, 1).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&requests[0].body).unwrap(),
        json!({"lang": "nl"})
    );
}

/// A send that happened while the store refused writes is recorded once
/// the store is back, not sent again when its lease runs out.
#[tokio::test]
async fn an_attempt_the_store_could_not_record_is_recorded_once_it_can_and_not_sent_again() {
    if !can_make_immutable() {
        return;
    }
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(500)))
        .mount(&sink)
        .await;
    let app = TestApp::spawn(&slack_config(&sink.uri())).await;
    let id = app.accept("01-docs-example.json").await;
    // The send is under way (the stand-in answers in 0.5 s): the store
    // stops taking writes before the answer comes.
    received(&sink, 1).await;
    let wal = app.dir.path().join("callbridge.db-wal");
    let failed = {
        let _unwritable = Immutable::new(&wal);
        poll(Duration::from_secs(10), || async {
            app.metrics()
                .await
                .contains("callbridge_store_write_failures_total{write=\"record\"} ")
                .then_some(())
        })
        .await
    };
    assert!(
        failed.is_some(),
        "recording the attempt never failed: {}",
        app.metrics().await
    );
    // Recorded within seconds of the store coming back, long before the lease (minutes) ends.
    let delivery = app.wait_for_state(&id, "slack", "delivered").await;
    let attempts = app.attempts(delivery.id).await;
    let summary: Vec<(i64, &str, Option<i64>)> = attempts
        .iter()
        .map(|a| (a.attempt, a.outcome.as_str(), a.status))
        .collect();
    assert_eq!(summary, [(1, "delivered", Some(200))]);
    assert_eq!(sink.received_requests().await.unwrap().len(), 1);
}
