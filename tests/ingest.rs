//! The receiver: what it accepts, what it refuses, and that nothing
//! refused is stored.

mod support;

use std::io::Write;

use serde_json::json;
use support::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn app_with_sink() -> (TestApp, MockServer) {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&sink)
        .await;
    (TestApp::spawn(&slack_config(&sink.uri())).await, sink)
}

#[tokio::test]
async fn every_shared_payload_is_accepted_and_the_resend_is_a_duplicate() {
    let (app, sink) = app_with_sink().await;
    let mut ids = std::collections::HashMap::new();
    for name in payload_names() {
        let (status, answer) = app.post_json(payload(&name)).await;
        if name.starts_with("11-") {
            assert_eq!(status, 200, "{name}: {answer}");
            assert_eq!(answer, json!({"id": ids["02-dutch-callback.json"], "duplicate": true}));
        } else {
            assert_eq!(status, 202, "{name}: {answer}");
            let id = answer["id"].as_str().unwrap().to_owned();
            assert_eq!(answer["deliveries"][0]["destination"], "slack", "{name}");
            assert_eq!(answer["deliveries"].as_array().unwrap().len(), 1, "{name}");
            ids.insert(name, id);
        }
    }
    assert_eq!(ids.len(), 12);
    assert_eq!(app.store.count_calls().await.unwrap(), 12);
    for id in ids.values() {
        app.wait_for_state(id, "slack", "delivered").await;
    }
    assert_eq!(sink.received_requests().await.unwrap().len(), 12);
}

#[tokio::test]
async fn concurrent_copies_of_one_call_plan_one_delivery() {
    let (app, sink) = app_with_sink().await;
    let body = payload("02-dutch-callback.json");
    let (a, b, c) = tokio::join!(
        app.post_json(body.clone()),
        app.post_json(body.clone()),
        app.post_json(body.clone())
    );
    let mut statuses = [a.0, b.0, c.0];
    statuses.sort();
    assert_eq!(statuses, [200, 200, 202]);
    let id = [&a, &b, &c].iter().find(|r| r.0 == 202).unwrap().1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (status, answer) in [&a, &b, &c] {
        if *status == 200 {
            assert_eq!(answer, &json!({"id": id, "duplicate": true}));
        }
    }
    app.wait_for_state(&id, "slack", "delivered").await;
    // A later resend still plans nothing.
    assert_eq!(
        app.post_json(payload("11-retry-duplicate-of-02.json")).await,
        (200, json!({"id": id, "duplicate": true}))
    );
    assert_eq!(app.deliveries(&id).await.len(), 1);
    assert_eq!(app.store.count_calls().await.unwrap(), 1);
    assert_eq!(sink.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_name_cut_mid_emoji_is_accepted_and_sent_with_a_replacement_character() {
    let (app, sink) = app_with_sink().await;
    let body = br#"{"sort_key": "CUT-1", "caller_name": "Ann \ud83d", "callsummary": "hi"}"#.to_vec();
    assert_eq!(app.post_json(body).await.0, 202);
    let sent: serde_json::Value = serde_json::from_slice(&received(&sink, 1).await[0].body).unwrap();
    assert_eq!(sent["blocks"][0]["text"]["text"], "📞 Ann \u{fffd}");
}

#[tokio::test]
async fn a_call_time_no_timestamp_can_hold_is_read_as_absent_and_the_call_still_sent() {
    let (app, sink) = app_with_sink().await;
    let mut call: serde_json::Value = serde_json::from_slice(&payload("01-docs-example.json")).unwrap();
    call["calltimestamp"] = json!(1725879525000000000u64); // nanoseconds
    let (status, answer) = app.post_json(call.to_string()).await;
    assert_eq!(status, 202, "{answer}");
    let id = answer["id"].as_str().unwrap();
    app.wait_for_state(id, "slack", "delivered").await;
    assert_eq!(received(&sink, 1).await.len(), 1);
}

#[tokio::test]
async fn a_body_without_sort_key_is_deduplicated_by_its_hash() {
    let (app, _sink) = app_with_sink().await;
    let body = br#"{"caller_name": "No Key", "callsummary": "hi"}"#.to_vec();
    let (first, answer) = app.post_json(body.clone()).await;
    assert_eq!(first, 202);
    assert_eq!(
        app.post_json(body).await,
        (200, json!({"id": answer["id"], "duplicate": true}))
    );
    let (other, _) = app
        .post_json(br#"{"caller_name": "No Key", "callsummary": "hello"}"#.to_vec())
        .await;
    assert_eq!(other, 202);
}

#[tokio::test]
async fn bad_requests_get_the_right_status_a_json_reason_and_store_nothing() {
    let (app, sink) = app_with_sink().await;
    let body = payload("01-docs-example.json");
    let hook = |query: &str| format!("{}/hooks/voicemate{query}", app.address);
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "no token",
            app.client.post(hook("")).body(body.clone()),
            401,
            "missing token: pass it as ?token=… or Authorization: Bearer …",
        ),
        (
            "wrong token",
            app.client.post(hook("?token=wrong-token-000000")).body(body.clone()),
            401,
            "wrong token for source `voicemate`",
        ),
        (
            "wrong bearer",
            app.client
                .post(hook(""))
                .bearer_auth("wrong-token-000000")
                .body(body.clone()),
            401,
            "wrong token for source `voicemate`",
        ),
        (
            "unknown source",
            app.client
                .post(format!("{}/hooks/nobody?token={TOKEN}", app.address))
                .body(body.clone()),
            404,
            "unknown source `nobody`",
        ),
        (
            "not json",
            app.client.post(app.hook_url()).body("{\"caller_name\": oops}"),
            400,
            "body is not valid JSON: expected value at line 1, column 17",
        ),
        (
            "not an object",
            app.client.post(app.hook_url()).body("[1, 2]"),
            400,
            "body must be a JSON object, got an array",
        ),
        (
            "invalid utf-8",
            app.client.post(app.hook_url()).body(b"{\"a\": \"\xff\"}".to_vec()),
            400,
            "body is not valid UTF-8 (first bad byte at offset 7)",
        ),
        (
            "form body",
            app.client
                .post(app.hook_url())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body("caller_name=Bob"),
            415,
            "unsupported content type `application/x-www-form-urlencoded`: send the call summary as a JSON body",
        ),
        (
            "multipart",
            app.client
                .post(app.hook_url())
                .header("Content-Type", "multipart/form-data; boundary=x")
                .body("--x--"),
            415,
            "unsupported content type `multipart/form-data`: send the call summary as a JSON body",
        ),
        (
            "brotli",
            app.client
                .post(app.hook_url())
                .header("Content-Encoding", "br")
                .body(body.clone()),
            415,
            "unsupported content encoding `br`: use gzip or none",
        ),
        (
            "too large",
            app.client.post(app.hook_url()).body(vec![b' '; 64 * 1024 + 1]),
            413,
            "body is larger than the limit of 65536 bytes",
        ),
        (
            "gzip bomb",
            app.client
                .post(app.hook_url())
                .header("Content-Encoding", "gzip")
                .body(gzip(&vec![b' '; 1024 * 1024])),
            413,
            "gzip body decodes to more than the limit of 262144 bytes",
        ),
        (
            "GET",
            app.client.get(app.hook_url()),
            405,
            "method not allowed: calls are sent with POST",
        ),
        (
            "other path",
            app.client.post(format!("{}/hooks", app.address)),
            404,
            "no such endpoint: calls are posted to /hooks/{source}",
        ),
        (
            "trailing slash",
            app.client
                .post(format!("{}/hooks/voicemate/?token={TOKEN}", app.address)),
            404,
            "no such endpoint: calls are posted to /hooks/voicemate, without the trailing slash",
        ),
    ];
    for (case, request, status, message) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{case}");
        assert_eq!(
            response.json::<serde_json::Value>().await.unwrap(),
            json!({"error": message}),
            "{case}"
        );
    }
    assert_eq!(app.store.count_calls().await.unwrap(), 0);
    assert!(sink.received_requests().await.unwrap().is_empty());
    // The server keeps serving after all of that.
    app.accept("01-docs-example.json").await;
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_gets_413_and_the_server_keeps_serving() {
    let (app, _sink) = app_with_sink().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..20).map(|_| Ok(vec![b' '; 8 * 1024])).collect();
    let response = app
        .client
        .post(app.hook_url())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    app.accept("01-docs-example.json").await;
}

#[tokio::test]
async fn a_body_that_stalls_gets_408_its_connection_closed_and_nothing_stored() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sink = MockServer::start().await;
    let config = slack_config(&sink.uri()).replace("max_body: 64KiB", "max_body: 64KiB\n  body_timeout: 1s");
    let app = TestApp::spawn(&config).await;
    let mut stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /hooks/voicemate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 100\r\n\r\n{{\"a\""
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server answers, then closes: reading to the end returns.
    let mut answer = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the stalled connection is closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"), "{answer}");
    assert!(
        answer.ends_with(r#"{"error":"the body did not arrive within 1 s of the headers"}"#),
        "{answer}"
    );
    assert_eq!(app.store.count_calls().await.unwrap(), 0);
    assert!(
        app.metrics()
            .await
            .contains(r#"callbridge_calls_received_total{source="voicemate",outcome="rejected",reason="body_read"} 1"#)
    );
    app.accept("01-docs-example.json").await;
}

#[tokio::test]
async fn lenient_content_types_bearer_auth_and_gzip_are_accepted() {
    let (app, _sink) = app_with_sink().await;
    let accepted = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 202, "{answer}");
    };
    let body = |n: u32| format!(r#"{{"sort_key": "CALL-{n}", "caller_name": "Bob"}}"#);
    accepted(app.client.post(app.hook_url()).body(body(1))).await;
    accepted(
        app.client
            .post(app.hook_url())
            .header("Content-Type", "text/plain")
            .body(body(2)),
    )
    .await;
    accepted(
        app.client
            .post(app.hook_url())
            .header("Content-Type", "application/json; charset=ISO-8859-1")
            .body(body(3)),
    )
    .await;
    accepted(
        app.client
            .post(format!("{}/hooks/voicemate", app.address))
            .bearer_auth(TOKEN)
            .body(body(4)),
    )
    .await;
    accepted(
        app.client
            .post(app.hook_url())
            .header("Content-Encoding", "gzip")
            .body(gzip(body(5).as_bytes())),
    )
    .await;
    assert_eq!(app.store.count_calls().await.unwrap(), 5);
}

#[tokio::test]
async fn a_call_no_route_takes_is_accepted_and_recorded_as_unrouted() {
    let sink = MockServer::start().await;
    let yaml = config_yaml(&format!(
        r#"
destinations:
  slack: {{ type: slack, webhook_url: "{}/hook" }}
routes:
  - name: callbacks-only
    match: {{ call_back_needed: true }}
    to: [slack]
"#,
        sink.uri()
    ));
    let app = TestApp::spawn(&yaml).await;
    let (status, answer) = app.post_json(payload("03-answered-no-callback.json")).await;
    assert_eq!(status, 202);
    assert_eq!(answer["deliveries"], json!([]));
    let id = answer["id"].as_str().unwrap();
    assert!(app.deliveries(id).await.is_empty());
    assert_eq!(app.store.count_unrouted().await.unwrap(), 1);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn a_store_that_cannot_commit_refuses_calls_and_is_not_ready_until_it_can() {
    if !can_make_immutable() {
        return;
    }
    let (app, _sink) = app_with_sink().await;
    let ready = || async {
        let response = app.client.get(format!("{}/readyz", app.address)).send().await.unwrap();
        (
            response.status().as_u16(),
            response.json::<serde_json::Value>().await.unwrap(),
        )
    };
    assert_eq!(ready().await, (200, json!({"status": "ready"})));
    let wal = app.dir.path().join("callbridge.db-wal");
    let (refused, not_ready) = {
        let _unwritable = Immutable::new(&wal);
        (app.post_json(payload("01-docs-example.json")).await, ready().await)
    };
    assert_eq!(
        refused,
        (503, json!({"error": "the call could not be stored; try again"}))
    );
    assert_eq!(
        not_ready,
        (
            503,
            json!({"status": "the store cannot commit: calls are refused (is the disk full or read-only?)"})
        )
    );
    // The disk is writable again: ready, and the call Voice Mate resends is taken.
    assert_eq!(ready().await, (200, json!({"status": "ready"})));
    assert_eq!(app.post_json(payload("01-docs-example.json")).await.0, 202);
}
