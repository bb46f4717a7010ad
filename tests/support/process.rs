//! The daemon as its own process, for tests that signal or kill it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::poll;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn start(config: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_callbridge"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Starts the daemon on `config` and waits (bounded) until it answers.
pub async fn start_healthy(config: &std::path::Path, client: &reqwest::Client, base: &str) -> Child {
    let daemon = start(config);
    wait_healthy(client, base).await;
    daemon
}

pub async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let up = poll(Duration::from_secs(20), || async {
        client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    assert!(up.is_some(), "daemon did not come up at {base}");
}

/// `yaml` (written for 127.0.0.1:0) moved to a free port and saved as
/// `dir/callbridge.yaml`: the file, and the daemon's base URL.
pub fn own_config(dir: &std::path::Path, yaml: &str) -> (std::path::PathBuf, String) {
    let port = free_port();
    let config = dir.join("callbridge.yaml");
    std::fs::write(&config, yaml.replace("127.0.0.1:0", &format!("127.0.0.1:{port}"))).unwrap();
    (config, format!("http://127.0.0.1:{port}"))
}

/// Posts a call to a daemon's `voicemate` hook: the status and the answer.
pub async fn post_call(
    client: &reqwest::Client,
    base: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, serde_json::Value) {
    let response = client
        .post(format!("{base}/hooks/voicemate?token={}", super::TOKEN))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// Waits (up to 20 s) for the daemon to exit; its status, if it did.
pub async fn wait_exit(daemon: &mut Child) -> Option<std::process::ExitStatus> {
    for _ in 0..200 {
        if let Some(status) = daemon.try_wait().unwrap() {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
