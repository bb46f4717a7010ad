//! Durability across a crash: a call acknowledged with 202 is delivered
//! after the daemon is killed with SIGKILL and started again.

mod support;

use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::process::*;
use support::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Starts the daemon again, waits (bounded) until a delivery of `call_id`
/// is recorded delivered, then kills it; says whether one was.
async fn restart_until_delivered(
    config: &std::path::Path,
    client: &reqwest::Client,
    base: &str,
    dir: &std::path::Path,
    call_id: &str,
) -> bool {
    let mut daemon = start_healthy(config, client, base).await;
    let store = callbridge::store::Store::open("sqlite://callbridge.db", dir)
        .await
        .unwrap();
    let delivered = poll(Duration::from_secs(20), || async {
        let deliveries = store.deliveries_of_call(call_id).await.unwrap();
        deliveries.into_iter().find(|d| d.state == "delivered")
    })
    .await;
    kill(Pid::from_raw(daemon.id() as i32), Signal::SIGKILL).unwrap();
    daemon.wait().unwrap();
    delivered.is_some()
}

#[tokio::test]
async fn an_acknowledged_call_is_delivered_after_a_kill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sink_port = free_port();
    let yaml = slack_config(&format!("http://127.0.0.1:{sink_port}")).replace("max_attempts: 5", "max_attempts: 1000");
    let (config, base) = own_config(dir.path(), &yaml);
    let client = reqwest::Client::new();

    // Slack is down: the call is stored and acknowledged, not delivered.
    let mut daemon = start_healthy(&config, &client, &base).await;
    let (status, answer) = post_call(&client, &base, payload("01-docs-example.json")).await;
    assert_eq!(status, 202);
    let id = answer["id"].as_str().unwrap().to_owned();
    kill(Pid::from_raw(daemon.id() as i32), Signal::SIGKILL).unwrap();
    daemon.wait().unwrap();

    // Slack comes back, then the daemon.
    let sink = MockServer::builder()
        .listener(TcpListener::bind(("127.0.0.1", sink_port)).unwrap())
        .start()
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&sink)
        .await;
    let delivered = restart_until_delivered(&config, &client, &base, dir.path(), &id).await;
    assert!(delivered, "the call was not delivered after the restart");
    let requests = sink.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["blocks"][0]["text"]["text"], "📞 Bob");
}

#[tokio::test]
async fn a_second_daemon_on_the_same_store_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let app_port = free_port();
    let yaml = slack_config("http://127.0.0.1:9").replace("127.0.0.1:0", &format!("127.0.0.1:{app_port}"));
    let config = dir.path().join("callbridge.yaml");
    std::fs::write(&config, yaml).unwrap();
    let mut daemon = start(&config);
    wait_healthy(&reqwest::Client::new(), &format!("http://127.0.0.1:{app_port}")).await;

    let second = Command::new(env!("CARGO_BIN_EXE_callbridge"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("CALLBRIDGE__SERVER__LISTEN", format!("127.0.0.1:{}", free_port()))
        .output()
        .unwrap();
    kill(Pid::from_raw(daemon.id() as i32), Signal::SIGKILL).unwrap();
    daemon.wait().unwrap();
    assert_eq!(second.status.code(), Some(1));
    let message = String::from_utf8_lossy(&second.stderr);
    let expected = format!(
        "{}: storage.url: another callbridge is already serving {}",
        config.display(),
        dir.path().join("callbridge.db").display()
    );
    assert!(message.contains(&expected), "{message}");
}

#[tokio::test]
async fn a_pending_reminder_fires_once_after_a_kill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&sink)
        .await;
    let yaml = config_yaml(&format!(
        "destinations:\n  slack-reminder: {{ type: slack, webhook_url: \"{}/reminders/XXXXSECRETXXXX\", template: slack/reminder.json.hbs }}\n  callback: {{ type: reminder, notify: [slack-reminder] }}\nroutes:\n  - {{ name: all, to: [callback] }}\n",
        sink.uri()
    ));
    let (config, base) = own_config(dir.path(), &yaml);
    let client = reqwest::Client::new();

    let mut daemon = start_healthy(&config, &client, &base).await;
    // "in 1 minute", said 52 s ago: due 8 s from now, well after the kill below.
    let called_at = jiff::Timestamp::now().as_second() - 52;
    let body = serde_json::json!({"sort_key": "CALL-REM-RESTART", "caller_name": "Ann", "call_back_needed": true,
        "callback_time": "in 1 minute", "calltimestamp": called_at});
    let (status, answer) = post_call(&client, &base, body.to_string()).await;
    assert_eq!(status, 202);
    let id = answer["id"].as_str().unwrap().to_owned();
    kill(Pid::from_raw(daemon.id() as i32), Signal::SIGKILL).unwrap();
    daemon.wait().unwrap();
    assert!(
        sink.received_requests().await.unwrap().is_empty(),
        "sent before it was due"
    );

    let delivered = restart_until_delivered(&config, &client, &base, dir.path(), &id).await;
    assert!(delivered, "the reminder was not sent after the restart");
    let requests = sink.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "the reminder fires exactly once");
    let sent: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["text"], "⏰ Call back Ann now, about their call");
}
