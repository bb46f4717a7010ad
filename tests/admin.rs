//! The delivery log and replay, through the admin API (its own token) and
//! the CLI: only failed deliveries are replayed, never delivered ones.

mod support;

use serde_json::{Value, json};
use support::*;
use wiremock::ResponseTemplate;

const ADMIN_TOKEN: &str = "admin-token-0123456789";

async fn app_with_admin(sink: &wiremock::MockServer) -> TestApp {
    let yaml = slack_config(&sink.uri()) + &format!("admin:\n  token: \"{ADMIN_TOKEN}\"\n");
    TestApp::spawn(&yaml).await
}

async fn admin(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.client.request(method, format!("{}/admin{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn the_admin_api_refuses_a_missing_or_wrong_token_and_is_off_without_one() {
    let sink = sink_answering(&[]).await;
    let app = app_with_admin(&sink).await;
    let unauthorised = json!({"error": "missing or wrong admin token: send Authorization: Bearer <admin.token>"});
    assert_eq!(
        admin(&app, reqwest::Method::GET, "/calls", None, None).await,
        (401, unauthorised.clone())
    );
    assert_eq!(
        admin(&app, reqwest::Method::GET, "/calls", Some("admin-token-wrong"), None).await,
        (401, unauthorised.clone())
    );
    // A source's token is not the admin's.
    assert_eq!(
        admin(
            &app,
            reqwest::Method::POST,
            "/replay",
            Some(TOKEN),
            Some(json!({"dead": true}))
        )
        .await,
        (401, unauthorised)
    );
    let (status, _) = admin(&app, reqwest::Method::GET, "/calls", Some(ADMIN_TOKEN), None).await;
    assert_eq!(status, 200);

    let without = TestApp::spawn(&slack_config(&sink.uri())).await;
    assert_eq!(
        admin(&without, reqwest::Method::GET, "/calls", Some(ADMIN_TOKEN), None).await,
        (404, json!({"error": "the admin API is off: set admin.token to use it"}))
    );
}

#[tokio::test]
async fn a_dead_delivery_is_replayed_after_the_sink_recovers_and_a_delivered_one_never() {
    let sink = sink_answering(&[ResponseTemplate::new(400).set_body_string("invalid_blocks")]).await;
    let app = app_with_admin(&sink).await;
    let id = app.accept("01-docs-example.json").await;
    let dead = app.wait_for_state(&id, "slack", "dead").await;

    let (status, listed) = admin(
        &app,
        reqwest::Method::GET,
        "/deliveries?state=dead",
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], dead.id);
    assert_eq!(listed[0]["last_error"], "HTTP 400: invalid_blocks");
    for (query, count) in [
        ("/deliveries?source=voicemate", 1),
        ("/deliveries?source=other", 0),
        ("/calls?source=other", 0),
    ] {
        let (status, listed) = admin(&app, reqwest::Method::GET, query, Some(ADMIN_TOKEN), None).await;
        assert_eq!((status, listed.as_array().unwrap().len()), (200, count), "{query}");
    }

    let (status, answer) = admin(
        &app,
        reqwest::Method::POST,
        "/replay",
        Some(ADMIN_TOKEN),
        Some(json!({"delivery": dead.id})),
    )
    .await;
    assert_eq!((status, answer), (200, json!({"replayed": [dead.id]})));
    app.wait_for_state(&id, "slack", "delivered").await;
    let attempts = app.attempts(dead.id).await;
    assert_eq!(attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(
        attempts.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(),
        vec!["dead", "delivered"]
    );

    // Delivered now: replaying it (or all dead ones, or its call) sends nothing.
    for body in [json!({"delivery": dead.id}), json!({"dead": true}), json!({"call": id})] {
        let (status, answer) = admin(&app, reqwest::Method::POST, "/replay", Some(ADMIN_TOKEN), Some(body)).await;
        assert_eq!((status, answer), (200, json!({"replayed": []})));
    }
    let (status, detail) = admin(
        &app,
        reqwest::Method::GET,
        &format!("/calls/{id}"),
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(detail["caller_name"], "Bob");
    assert_eq!(
        detail["payload"]["sort_key"],
        "CALL-1742933883-fcf944e9-41ab-4eeb-ac47-90680b5adce6"
    );
    assert_eq!(detail["deliveries"][0]["state"], "delivered");
    assert_eq!(detail["deliveries"][0]["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(sink.received_requests().await.unwrap().len(), 2);

    let (status, answer) = admin(
        &app,
        reqwest::Method::POST,
        "/replay",
        Some(ADMIN_TOKEN),
        Some(json!({"nope": 1})),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("nope"), "{answer}");
    let (status, answer) = admin(
        &app,
        reqwest::Method::GET,
        "/calls/no-such-call",
        Some(ADMIN_TOKEN),
        None,
    )
    .await;
    assert_eq!((status, answer), (404, json!({"error": "call no-such-call not found"})));
    let (status, answer) = admin(
        &app,
        reqwest::Method::POST,
        "/replay",
        Some(ADMIN_TOKEN),
        Some(json!({"delivery": 999})),
    )
    .await;
    assert_eq!((status, answer), (404, json!({"error": "delivery 999 not found"})));
}

#[tokio::test]
async fn admin_errors_are_json_and_the_token_is_checked_before_anything_else() {
    let sink = sink_answering(&[]).await;
    let app = app_with_admin(&sink).await;
    let (status, _) = admin(&app, reqwest::Method::GET, "/deliveries?limit=abc", None, None).await;
    assert_eq!(status, 401);
    assert_eq!(
        admin(
            &app,
            reqwest::Method::GET,
            "/deliveries?state=bogus",
            Some(ADMIN_TOKEN),
            None
        )
        .await,
        (
            400,
            json!({"error": "unknown state `bogus` (use one of pending, delivered, dead, missed, cancelled)"})
        )
    );
    assert_eq!(
        admin(&app, reqwest::Method::GET, "/calls?limit=0", Some(ADMIN_TOKEN), None).await,
        (400, json!({"error": "limit `0` is not a whole number from 1 to 1000"}))
    );
    assert_eq!(
        admin(
            &app,
            reqwest::Method::GET,
            "/deliveries?limit=abc",
            Some(ADMIN_TOKEN),
            None
        )
        .await,
        (
            400,
            json!({"error": "limit `abc` is not a whole number from 1 to 1000"})
        )
    );
    assert_eq!(
        admin(&app, reqwest::Method::GET, "/replay", Some(ADMIN_TOKEN), None).await,
        (405, json!({"error": "method not allowed here"}))
    );
    for path in ["/healthz", "/readyz"] {
        let response = app.client.head(format!("{}{path}", app.address)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "HEAD {path}");
    }
    for path in ["/healthz", "/readyz", "/metrics"] {
        let response = app.client.post(format!("{}{path}", app.address)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 405, "{path}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"error": "method not allowed here"}),
            "{path}"
        );
    }
    // A form-encoded body (curl -d's default type) is still read as JSON.
    let response = app
        .client
        .post(format!("{}/admin/replay", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(r#"{"dead": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"replayed": []}));
    // A big body: refused unread without the token, a JSON 413 with it.
    let big = json!({"dead": true, "pad": "x".repeat(64 << 10)});
    let (status, _) = admin(&app, reqwest::Method::POST, "/replay", None, Some(big.clone())).await;
    assert_eq!(status, 401);
    assert_eq!(
        admin(&app, reqwest::Method::POST, "/replay", Some(ADMIN_TOKEN), Some(big)).await,
        (
            413,
            json!({"error": "the body is over 4096 bytes; a replay request is a few"})
        )
    );
}

fn cli(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_callbridge"))
        .arg("--config")
        .arg(app.dir.path().join("callbridge.yaml"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_lists_dead_deliveries_and_replays_them() {
    let sink = sink_answering(&[ResponseTemplate::new(404).set_body_string("no_service")]).await;
    let app = app_with_admin(&sink).await;
    let id = app.accept("02-dutch-callback.json").await;
    let dead = app.wait_for_state(&id, "slack", "dead").await;

    let (code, out, err) = cli(&app, &["deliveries", "list", "--state", "dead"]);
    assert_eq!(code, 0, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed[0]["id"], dead.id);
    assert_eq!(listed[0]["call_id"], id.as_str());

    let (code, out, err) = cli(&app, &["calls", "show", &id]);
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["caller_phone_e164"], "+31612345678");
    assert_eq!(shown["deliveries"][0]["last_error"], "HTTP 404: no_service");

    let (code, out, err) = cli(&app, &["replay", "--dead", "--destination", "slack"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("replaying 1 deliveries: {}\n", dead.id));
    app.wait_for_state(&id, "slack", "delivered").await;

    let (code, out, _) = cli(&app, &["replay", &id]);
    assert_eq!(
        (code, out.as_str()),
        (
            0,
            "nothing to replay: no dead delivery to a configured destination matches\n"
        )
    );
    let (code, out, _) = cli(&app, &["replay", &dead.id.to_string()]);
    assert_eq!(
        (code, out),
        (
            0,
            format!(
                "nothing to replay: delivery {} is delivered; only dead deliveries are sent again\n",
                dead.id
            )
        )
    );
    let (code, _, err) = cli(&app, &["calls", "show", "no-such-call"]);
    assert_eq!(code, 1);
    assert!(err.contains("call no-such-call not found"), "{err}");

    // Filtered by source: the call and its delivery, or nothing.
    let listed = |args: &[&str]| -> Value { serde_json::from_str(&cli(&app, args).1).unwrap() };
    let calls = listed(&["calls", "list", "--source", "voicemate"]);
    assert_eq!(
        (calls[0]["id"].as_str(), calls[0]["source"].as_str()),
        (Some(id.as_str()), Some("voicemate"))
    );
    assert_eq!(listed(&["calls", "list", "--source", "other-client"]), json!([]));
    let deliveries = listed(&["deliveries", "list", "--source", "voicemate"]);
    assert_eq!(
        (deliveries[0]["id"].as_i64(), deliveries[0]["source"].as_str()),
        (Some(dead.id), Some("voicemate"))
    );
    assert_eq!(listed(&["deliveries", "list", "--source", "other-client"]), json!([]));

    // A filter naming no destination answers `[]`, and says why on stderr.
    let config = app.dir.path().join("callbridge.yaml");
    let (code, out, err) = cli(&app, &["deliveries", "list", "--destination", "slakc"]);
    assert_eq!((code, out.as_str()), (0, "[]\n"));
    assert_eq!(
        err,
        format!(
            "warning: {}: `slakc` is not a destination (configured: slack)\n",
            config.display()
        )
    );
}
