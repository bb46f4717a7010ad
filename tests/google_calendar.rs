//! The google_calendar destination against a local stand-in for the API:
//! the exact events.insert body (valid against Google's schema), 409 as
//! done, rate limits retried, a validation error dead with its message.

mod support;

use callbridge::destinations::idempotency_key;
use serde_json::json;
use support::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn google_config(api: &str) -> String {
    config_yaml(&format!(
        r#"
destinations:
  google:
    type: google_calendar
    token: ya29-test-token-0123
    calendar_id: office@example.com
    api_base: "{api}"
routes:
  - name: callbacks
    match: {{ call_back_needed: true }}
    to: [google]
"#
    ))
}

const EVENTS: &str = "/calendar/v3/calendars/office%40example.com/events";

async fn api_answering(statuses: &[ResponseTemplate]) -> MockServer {
    let created = Mock::given(method("POST"))
        .and(path(EVENTS))
        .and(header("authorization", "Bearer ya29-test-token-0123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x", "status": "confirmed"})));
    sink_answering_then(statuses, created).await
}

#[tokio::test]
async fn the_callback_is_inserted_with_an_id_from_the_call_in_local_time() {
    let api = api_answering(&[]).await;
    let app = TestApp::spawn(&google_config(&api.uri())).await;
    let id = app.accept("02-dutch-callback.json").await;
    let delivery = app.wait_for_state(&id, "google", "delivered").await;
    let request = &received(&api, 1).await[0];
    assert_eq!(request.url.path(), EVENTS);
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        json!({
            "id": idempotency_key(&id, "google"),
            "summary": "Call back Sanne de Vries",
            "description": "Sanne de Vries wil een offerte voor zonnepanelen (ongeveer 12 panelen) en vraagt om morgenochtend na 9 uur teruggebeld te worden.\n\nNumber: +31612345678\nThe caller asked: Morgenochtend",
            "start": {"dateTime": "2024-12-04T09:00:00+01:00", "timeZone": "Europe/Amsterdam"},
            "end": {"dateTime": "2024-12-04T09:15:00+01:00", "timeZone": "Europe/Amsterdam"},
            "reminders": {"useDefault": false, "overrides": [{"method": "popup", "minutes": 5}]},
            "extendedProperties": {"private": {"callbridgeCallId": id}},
        })
    );
    assert_valid("google-calendar/events-insert.request.schema.json", &body);
    let recorded = app.attempts(delivery.id).await[0].request.clone().unwrap();
    assert!(recorded.contains("Authorization: [redacted]") && !recorded.contains("ya29-test-token-0123"));
}

#[tokio::test]
async fn an_event_that_exists_already_counts_as_done() {
    let api = api_answering(&[ResponseTemplate::new(409)
        .set_body_json(json!({"error": {"code": 409, "message": "The requested identifier already exists."}}))])
    .await;
    let app = TestApp::spawn(&google_config(&api.uri())).await;
    let id = app.accept("07-special-characters.json").await;
    let delivery = app.wait_for_state(&id, "google", "delivered").await;
    assert_eq!(app.attempts(delivery.id).await[0].status, Some(409));
}

#[tokio::test]
async fn a_rate_limit_is_retried_and_a_bad_request_is_dead_with_googles_message() {
    let limited = json!({"error": {"code": 403, "message": "Rate Limit Exceeded",
        "errors": [{"domain": "usageLimits", "reason": "rateLimitExceeded", "message": "Rate Limit Exceeded"}]}});
    let api = api_answering(&[ResponseTemplate::new(403).set_body_json(limited)]).await;
    let app = TestApp::spawn(&google_config(&api.uri())).await;
    let id = app.accept("02-dutch-callback.json").await;
    let delivery = app.wait_for_state(&id, "google", "delivered").await;
    let outcomes: Vec<(String, Option<i64>)> = app
        .attempts(delivery.id)
        .await
        .into_iter()
        .map(|a| (a.outcome, a.status))
        .collect();
    assert_eq!(outcomes, [("retry".into(), Some(403)), ("delivered".into(), Some(200))]);

    let invalid = json!({"error": {"code": 400, "message": "Invalid start time."}});
    let api = api_answering(&[ResponseTemplate::new(400).set_body_json(invalid.clone())]).await;
    let app = TestApp::spawn(&google_config(&api.uri())).await;
    let id = app.accept("02-dutch-callback.json").await;
    let dead = app.wait_for_state(&id, "google", "dead").await;
    assert_eq!(dead.last_error, Some(format!("HTTP 400: {invalid}")));
}
