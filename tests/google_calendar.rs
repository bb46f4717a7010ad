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
    config_with_auth("token: ya29-test-token-0123", api)
}

/// One google destination with `auth` (YAML at the destination's indent)
/// and a route for the calls that ask for a call-back.
fn config_with_auth(auth: &str, api: &str) -> String {
    config_yaml(&format!(
        r#"
destinations:
  google:
    type: google_calendar
    {auth}
    calendar_id: office@example.com
    api_base: "{api}"
routes:
  - name: callbacks
    match: {{ call_back_needed: true }}
    to: [google]
"#
    ))
}

/// Each attempt's outcome and status, in order.
async fn outcomes(app: &TestApp, delivery: i64) -> Vec<(String, Option<i64>)> {
    app.attempts(delivery)
        .await
        .into_iter()
        .map(|a| (a.outcome, a.status))
        .collect()
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
    let outcomes = outcomes(&app, delivery.id).await;
    assert_eq!(outcomes, [("retry".into(), Some(403)), ("delivered".into(), Some(200))]);

    let invalid = json!({"error": {"code": 400, "message": "Invalid start time."}});
    let api = api_answering(&[ResponseTemplate::new(400).set_body_json(invalid.clone())]).await;
    let app = TestApp::spawn(&google_config(&api.uri())).await;
    let id = app.accept("02-dutch-callback.json").await;
    let dead = app.wait_for_state(&id, "google", "dead").await;
    assert_eq!(dead.last_error, Some(format!("HTTP 400: {invalid}")));
}

const TOKEN_PATH: &str = "/token";

fn oauth_config(api: &str, oauth: &str) -> String {
    let auth = format!(
        "oauth:
      client_id: callbridge-test.apps.googleusercontent.com
      client_secret: GOCSPX-test-client-secret
      refresh_token: 1//test-refresh-token-0123
      token_url: \"{oauth}{TOKEN_PATH}\""
    );
    config_with_auth(&auth, api)
}

fn access_token(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": token, "expires_in": 3599, "token_type": "Bearer",
        "scope": "https://www.googleapis.com/auth/calendar.events"
    }))
}

/// Answers the token endpoint with each of `answers` in turn, the last for good.
async fn token_endpoint(answers: &[ResponseTemplate]) -> MockServer {
    let (last, first) = answers.split_last().unwrap();
    let then = Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(last.clone());
    sink_answering_then(first, then).await
}

/// The events API, creating events for requests bearing `token` only.
async fn api_accepting(token: &str) -> MockServer {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(EVENTS))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "x", "status": "confirmed"})))
        .with_priority(1)
        .mount(&api)
        .await;
    let refused = json!({"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}});
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(refused))
        .with_priority(2)
        .mount(&api)
        .await;
    api
}

#[tokio::test]
async fn an_access_token_is_fetched_from_the_refresh_token_and_kept_for_later_sends() {
    let oauth = token_endpoint(&[access_token("ya29.fetched-1")]).await;
    let api = api_accepting("ya29.fetched-1").await;
    let app = TestApp::spawn(&oauth_config(&api.uri(), &oauth.uri())).await;
    let first = app.accept("02-dutch-callback.json").await;
    let delivery = app.wait_for_state(&first, "google", "delivered").await;
    let second = app.accept("07-special-characters.json").await;
    app.wait_for_state(&second, "google", "delivered").await;

    let fetches = received(&oauth, 1).await;
    assert_eq!(fetches.len(), 1, "one token serves both sends");
    assert_eq!(fetches[0].headers["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(
        String::from_utf8_lossy(&fetches[0].body),
        "grant_type=refresh_token&refresh_token=1%2F%2Ftest-refresh-token-0123\
         &client_id=callbridge-test.apps.googleusercontent.com&client_secret=GOCSPX-test-client-secret"
    );
    let attempts = app.attempts(delivery.id).await;
    assert_eq!(attempts.len(), 1);
    let recorded = attempts[0].request.clone().unwrap();
    assert!(recorded.contains("Authorization: [redacted]"), "{recorded}");
    assert!(!recorded.contains("ya29.fetched-1") && !recorded.contains("test-refresh-token"));
}

#[tokio::test]
async fn a_refused_access_token_is_replaced_within_the_same_attempt() {
    let oauth = token_endpoint(&[access_token("ya29.revoked"), access_token("ya29.fresh")]).await;
    let api = api_accepting("ya29.fresh").await;
    let app = TestApp::spawn(&oauth_config(&api.uri(), &oauth.uri())).await;
    let id = app.accept("02-dutch-callback.json").await;
    let delivery = app.wait_for_state(&id, "google", "delivered").await;

    let bearers: Vec<String> = received(&api, 2)
        .await
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(bearers, ["Bearer ya29.revoked", "Bearer ya29.fresh"]);
    assert_eq!(received(&oauth, 2).await.len(), 2);
    let outcomes = outcomes(&app, delivery.id).await;
    assert_eq!(outcomes, [("delivered".into(), Some(200))]);
}

#[tokio::test]
async fn a_revoked_refresh_token_is_dead_with_what_to_do() {
    let revoked = json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."});
    let oauth = token_endpoint(&[ResponseTemplate::new(400).set_body_json(revoked)]).await;
    let api = api_accepting("ya29.never").await;
    let app = TestApp::spawn(&oauth_config(&api.uri(), &oauth.uri())).await;
    let id = app.accept("02-dutch-callback.json").await;
    let dead = app.wait_for_state(&id, "google", "dead").await;
    assert_eq!(
        dead.last_error,
        Some(format!(
            "fetching an access token from {}{TOKEN_PATH}: HTTP 400: invalid_grant (Token has been expired or revoked.): \
             the refresh token was revoked or has expired; authorise again and set destinations.google.oauth.refresh_token",
            oauth.uri()
        ))
    );
    assert!(api.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_fetched_token_echoed_by_the_api_is_never_recorded() {
    let oauth = token_endpoint(&[access_token("ya29.echoed-secret")]).await;
    let echo = json!({"error": {"code": 400, "message": "bad auth Bearer ya29.echoed-secret"}});
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(echo))
        .mount(&api)
        .await;
    let app = TestApp::spawn(&oauth_config(&api.uri(), &oauth.uri())).await;
    let id = app.accept("02-dutch-callback.json").await;
    let dead = app.wait_for_state(&id, "google", "dead").await;
    let redacted = json!({"error": {"code": 400, "message": "bad auth Bearer [redacted]"}});
    assert_eq!(dead.last_error, Some(format!("HTTP 400: {redacted}")));
    let attempt = &app.attempts(dead.id).await[0];
    assert_eq!(attempt.response, Some(redacted.to_string()));
}
