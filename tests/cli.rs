//! The command line: `check` names file and key, `render` shows what
//! would be sent and sends nothing.

mod support;

use std::process::{Command, Output};

use support::*;
use wiremock::MockServer;

fn callbridge(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_callbridge"));
    command
        .args(args)
        .current_dir(repo_path("."))
        .env_remove("VOICEMATE_TOKEN")
        .env_remove("SLACK_WEBHOOK_URL");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

const SHIPPED_ENV: &[(&str, &str)] = &[
    ("VOICEMATE_TOKEN", "shipped-config-token"),
    (
        "SLACK_WEBHOOK_URL",
        "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX",
    ),
];

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn check_passes_on_the_shipped_config() {
    let output = callbridge(&["check"], SHIPPED_ENV);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "config/callbridge.yaml: ok (1 sources, 1 destinations, 1 routes, 2 templates)\n"
    );
}

#[test]
fn check_without_a_token_names_the_key_and_the_variable() {
    let output = callbridge(&["check"], &[SHIPPED_ENV[1]]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: config/callbridge.yaml: sources.voicemate.token: is empty: every source needs a token \
         (unset environment variables: VOICEMATE_TOKEN)\n"
    );
}

#[test]
fn serve_refuses_to_start_without_a_token() {
    let output = callbridge(&["serve"], &[SHIPPED_ENV[1]]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("sources.voicemate.token: is empty"),
        "{}",
        stderr(&output)
    );
}

fn write_config(dir: &tempfile::TempDir, body: &str) -> String {
    let file = dir.path().join("cb.yaml");
    std::fs::write(&file, config_yaml(body)).unwrap();
    file.display().to_string()
}

#[test]
fn check_names_file_and_key_of_a_bad_route_or_template() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        &dir,
        "destinations:\n  slack: { type: slack, webhook_url: \"http://127.0.0.1:9/x\" }\nroutes:\n  - { name: a, to: [slak] }\n",
    );
    let output = callbridge(&["--config", &file, "check"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!("error: {file}: routes[0].to: destination `slak` is not defined under destinations\n")
    );

    let file = write_config(
        &dir,
        "destinations:\n  slack: { type: slack, webhook_url: \"http://127.0.0.1:9/x\", template: slack/nope.json.hbs }\nroutes:\n  - { name: a, to: [slack] }\n",
    );
    let output = callbridge(&["--config", &file, "check"], &[]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.starts_with(&format!(
            "error: {file}: destinations.slack.template: cannot read template "
        )),
        "{message}"
    );

    let file = dir.path().join("typo.yaml");
    std::fs::write(&file, "delivery: { max_attempts: many }\n").unwrap();
    let file = file.display().to_string();
    let output = callbridge(&["--config", &file, "check"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("delivery.max_attempts"), "{}", stderr(&output));
}

#[test]
fn check_finds_a_broken_template_no_route_uses_yet() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("t/slack")).unwrap();
    std::fs::write(dir.path().join("t/slack/call.json.hbs"), "{}").unwrap();
    std::fs::write(dir.path().join("t/unused.txt.hbs"), "{{#if x}}unclosed").unwrap();
    let yaml = config_yaml("destinations:\n  slack: { type: slack, webhook_url: \"http://127.0.0.1:9/x\" }\n")
        .replace(&repo_path("templates").display().to_string(), "t");
    let file = dir.path().join("cb.yaml");
    std::fs::write(&file, yaml).unwrap();
    let output = callbridge(&["--config", file.to_str().unwrap(), "check"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("templates_dir: template unused.txt.hbs does not compile"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn render_shows_routes_and_requests_and_sends_nothing() {
    let sink = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        &dir,
        &format!(
            "destinations:\n  slack: {{ type: slack, webhook_url: \"{}/hook\" }}\nroutes:\n  - {{ name: callbacks, match: {{ call_back_needed: true }}, to: [slack] }}\n",
            sink.uri()
        ),
    );
    let payload = payload_path("07-special-characters.json");
    let output = callbridge(
        &["--config", &file, "render", "--payload", payload.to_str().unwrap()],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["routes"], serde_json::json!(["callbacks"]));
    assert_eq!(report["deliveries"][0]["destination"], "slack");
    let request = report["deliveries"][0]["request"].as_str().unwrap();
    assert!(
        request.starts_with("POST [redacted]\nContent-Type: application/json; charset=utf-8\n\n{"),
        "{request}"
    );
    assert!(
        request.contains(r#"&lt;!channel&gt; @here &lt;@U024BE7LH&gt;"#),
        "{request}"
    );

    let unrouted = payload_path("03-answered-no-callback.json");
    let output = callbridge(
        &["--config", &file, "render", "--payload", unrouted.to_str().unwrap()],
        &[],
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report, serde_json::json!({"routes": [], "deliveries": []}));
    assert!(sink.received_requests().await.unwrap().is_empty());
}
