//! Logs: one JSON object a line when asked for, one line per received call
//! and per attempt with the call id and destination; no caller content and
//! no secret at the default level.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use support::process::*;
use support::*;

#[tokio::test]
async fn json_logs_name_the_call_and_destination_and_keep_caller_text_and_secrets_out() {
    let dir = tempfile::tempdir().unwrap();
    let sink = sink_answering(&[]).await;
    let (config, base) = own_config(dir.path(), &slack_config(&sink.uri()));
    let log = dir.path().join("log.jsonl");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_callbridge"))
        .args(["--config", config.to_str().unwrap(), "--log-format", "json", "serve"])
        .env_remove("RUST_LOG")
        .stderr(std::fs::File::create(&log).unwrap())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;
    let (status, answer) = post_call(&client, &base, payload("07-special-characters.json")).await;
    assert_eq!(status, 202);
    let id = answer["id"].as_str().unwrap().to_owned();
    received(&sink, 1).await;
    let logged = poll(Duration::from_secs(20), || async {
        let text = std::fs::read_to_string(&log).unwrap();
        text.contains("\"delivery attempt\"").then_some(text)
    })
    .await
    .expect("an attempt was logged");
    kill(Pid::from_raw(daemon.id() as i32), Signal::SIGTERM).unwrap();
    daemon.wait().unwrap();

    let lines: Vec<Value> = logged
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let accepted: Vec<&Value> = lines.iter().filter(|l| l["message"] == "call accepted").collect();
    assert_eq!(accepted.len(), 1, "{logged}");
    assert_eq!(accepted[0]["call_id"], id.as_str());
    assert_eq!(accepted[0]["source"], "voicemate");
    assert_eq!(accepted[0]["level"], "INFO");
    let attempts: Vec<&Value> = lines.iter().filter(|l| l["message"] == "delivery attempt").collect();
    assert_eq!(attempts.len(), 1, "{logged}");
    assert_eq!(attempts[0]["call_id"], id.as_str());
    assert_eq!(attempts[0]["destination"], "slack");
    assert_eq!(attempts[0]["status"], 200);
    for secret_or_caller_text in ["Zoë", "heater", "XXXXSECRETXXXX", TOKEN] {
        assert!(
            !logged.contains(secret_or_caller_text),
            "{secret_or_caller_text} is in the logs:\n{logged}"
        );
    }
}
