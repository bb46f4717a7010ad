//! Shared test harness: the real server on a random loopback port with a
//! temp SQLite file and the repo's templates; wiremock servers stand in
//! for Slack and a CRM.

#![allow(dead_code)]

pub mod chat_contracts;
pub mod fake_crm;
pub mod process;
pub mod radicale;
pub mod smtp;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use callbridge::config::Config;
use callbridge::server::Application;
use callbridge::store::{AttemptRow, DeliveryRow, Store};
use serde_json::Value;

pub const TOKEN: &str = "test-token-0123456789";

pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn payload_path(name: &str) -> PathBuf {
    repo_path("../shared/payloads").join(name)
}

pub fn payload(name: &str) -> Vec<u8> {
    std::fs::read(payload_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every shared payload file, sorted by name.
pub fn payload_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_path("../shared/payloads"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

/// A config with one source and fast retries; `destinations_and_routes`
/// is YAML appended at the top level.
pub fn config_yaml(destinations_and_routes: &str) -> String {
    format!(
        r#"
server:
  listen: "127.0.0.1:0"
  max_body: 64KiB
  max_decompressed_body: 256KiB
storage:
  url: "sqlite://callbridge.db"
templates_dir: "{templates}"
defaults:
  timezone: Europe/Amsterdam
  phone_region: NL
delivery:
  max_attempts: 5
  initial_backoff: 50ms
  max_backoff: 200ms
  max_retry_after: 5s
  timeout: 5s
  poll_interval: 100ms
sources:
  voicemate:
    token: "{TOKEN}"
{destinations_and_routes}
"#,
        templates = repo_path("templates").display()
    )
}

/// A Slack destination at `url` taking every call.
pub fn slack_config(url: &str) -> String {
    config_yaml(&format!(
        r#"
destinations:
  slack:
    type: slack
    webhook_url: "{url}/services/T000/B000/XXXXSECRETXXXX"
routes:
  - name: all
    to: [slack]
"#
    ))
}

pub struct TestApp {
    pub address: String,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
    pub store: Store,
    server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn spawn(yaml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("callbridge.yaml");
        std::fs::write(&file, yaml).unwrap();
        let config = Config::load(&file).expect("test config loads");
        let app = Application::build(config).await.expect("app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(async move {
            let _ = app.run_until_stopped().await;
        });
        let store = Store::open(
            &format!("sqlite://{}", dir.path().join("callbridge.db").display()),
            dir.path(),
        )
        .await
        .unwrap();
        Self {
            address,
            dir,
            client: reqwest::Client::new(),
            store,
            server,
        }
    }

    pub fn hook_url(&self) -> String {
        format!("{}/hooks/voicemate?token={TOKEN}", self.address)
    }

    pub async fn post(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.hook_url())
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts and returns the status and the JSON answer.
    pub async fn post_json(&self, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self.post(body).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Posts a payload file that must be accepted; returns the call id.
    pub async fn accept(&self, name: &str) -> String {
        let (status, answer) = self.post_json(payload(name)).await;
        assert_eq!(status, 202, "{name}: {answer}");
        answer["id"].as_str().unwrap().to_owned()
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        let response = self
            .client
            .get(format!("{}/metrics", self.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        response.text().await.unwrap()
    }

    pub async fn deliveries(&self, call_id: &str) -> Vec<DeliveryRow> {
        self.store.deliveries_of_call(call_id).await.unwrap()
    }

    /// Waits until the call's delivery to `destination` reaches `state`.
    pub async fn wait_for_state(&self, call_id: &str, destination: &str, state: &str) -> DeliveryRow {
        let found = poll(Duration::from_secs(20), || async {
            self.deliveries(call_id)
                .await
                .into_iter()
                .find(|d| d.destination == destination && d.state == state)
        })
        .await;
        match found {
            Some(delivery) => delivery,
            None => {
                let now = self.deliveries(call_id).await;
                panic!("delivery of {call_id} to {destination} never became {state}: {now:?}")
            }
        }
    }

    pub async fn attempts(&self, delivery_id: i64) -> Vec<AttemptRow> {
        self.store.attempts_of_delivery(delivery_id).await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Polls `check` until it returns Some, or gives up after `limit`.
pub async fn poll<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Requests a wiremock server received, waiting until there are `n`.
pub async fn received(server: &wiremock::MockServer, n: usize) -> Vec<wiremock::Request> {
    poll(Duration::from_secs(20), || async {
        let requests = server.received_requests().await.unwrap_or_default();
        (requests.len() >= n).then_some(requests)
    })
    .await
    .unwrap_or_else(|| panic!("expected {n} requests at the sink"))
}

/// Validates `instance` against a JSON Schema file from shared/contracts.
pub fn assert_valid(schema_file: &str, instance: &Value) {
    assert_valid_against(schema_file, &contract(schema_file), instance);
}

/// A JSON file from shared/contracts.
pub fn contract(file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(repo_path("../shared/contracts").join(file)).unwrap()).unwrap()
}

/// Validates `instance` against `schema`, named `name` in the message.
pub fn assert_valid_against(name: &str, schema: &Value, instance: &Value) {
    let validator = jsonschema::validator_for(schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{instance:#}");
}

/// Validates `instance` against one `$defs` entry of a contracts schema.
pub fn assert_valid_def(schema_file: &str, definition: &str, instance: &Value) {
    let mut schema: Value =
        serde_json::from_slice(&std::fs::read(repo_path("../shared/contracts").join(schema_file)).unwrap()).unwrap();
    schema["$ref"] = Value::String(format!("#/$defs/{definition}"));
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{schema_file}#{definition}: {errors:#?}\n{instance:#}"
    );
}

/// A stand-in that answers POSTs with each of `statuses` in turn (once
/// each), then with `then` for good.
pub async fn sink_answering_then(
    statuses: &[wiremock::ResponseTemplate],
    then: wiremock::Mock,
) -> wiremock::MockServer {
    let sink = wiremock::MockServer::start().await;
    for (i, template) in statuses.iter().enumerate() {
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(template.clone())
            .up_to_n_times(1)
            .with_priority(i as u8 + 1)
            .mount(&sink)
            .await;
    }
    then.with_priority(100).mount(&sink).await;
    sink
}

/// Each of `statuses` in turn, then `200 ok`.
pub async fn sink_answering(statuses: &[wiremock::ResponseTemplate]) -> wiremock::MockServer {
    let ok = wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("ok"));
    sink_answering_then(statuses, ok).await
}

/// Makes a file immutable (as a read-only or full disk would make it
/// unwritable) until dropped. Needs root: see [`can_make_immutable`].
pub struct Immutable<'a>(&'a std::path::Path);

impl<'a> Immutable<'a> {
    pub fn new(path: &'a std::path::Path) -> Self {
        let status = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "chattr +i {}", path.display());
        Self(path)
    }
}

impl Drop for Immutable<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr").arg("-i").arg(self.0).status();
    }
}

/// Whether this test run may use [`Immutable`] (chattr needs root); a
/// test that cannot says so and checks nothing.
pub fn can_make_immutable() -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        eprintln!("skipped: making the store's log unwritable (chattr +i) needs root");
    }
    root
}
