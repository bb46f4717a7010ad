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
