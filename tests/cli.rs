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

/// A config file in a temp folder: one source, the repo's templates, and
/// `rest`.
fn config_file(rest: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("callbridge.yaml");
    let head = format!(
        "templates_dir: {}\nsources: {{ vm: {{ token: check-token-0123 }} }}\n",
        repo_path("templates").display()
    );
    std::fs::write(&file, head + rest).unwrap();
    (dir, file)
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn check_passes_on_the_shipped_config() {
    let output = callbridge(&["check"], SHIPPED_ENV);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "config/callbridge.yaml: ok (1 sources, 1 destinations, 1 routes, 24 templates)\n"
    );
    assert_eq!(stderr(&output), "", "the shipped templates render the sample call");
}

#[test]
fn check_without_a_token_names_the_key_and_the_variable() {
    let output = callbridge(&["check"], &[SHIPPED_ENV[1]]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: config/callbridge.yaml: sources.voicemate.token: is empty: every source needs a token \
         (unset or empty environment variables: VOICEMATE_TOKEN)\n"
    );
}

#[test]
fn check_refuses_a_listen_address_serve_could_not_bind() {
    let mut env = SHIPPED_ENV.to_vec();
    env.push(("CALLBRIDGE__SERVER__LISTEN", "localhost"));
    let output = callbridge(&["check"], &env);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with(
            "error: config/callbridge.yaml: server.listen: `localhost` is not an address to listen on, such as 0.0.0.0:8080"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn check_refuses_a_digest_job_that_sends_to_a_call_template() {
    let (_dir, file) = config_file(
        "destinations: { team: { type: slack, webhook_url: \"https://hooks.slack.com/services/T/B/x\" } }\n\
         routes: [ { name: all, to: [team] } ]\n\
         jobs: { morning: { type: digest, schedule: \"30 8 * * *\", to: [team] } }\n",
    );
    let output = callbridge(&["--config", file.to_str().unwrap(), "check"], &[]);
    assert_eq!(output.status.code(), Some(1));
    let expected = format!(
        "error: {}: destinations.team: cannot render a digest (a digest job sends to it; use a digest template \
         such as slack/digest.json.hbs): template slack/call.json.hbs: ",
        file.display()
    );
    assert!(stderr(&output).starts_with(&expected), "{}", stderr(&output));
}

#[test]
fn check_warns_of_a_digest_for_every_client_and_refuses_an_unknown_source() {
    let digest = |sources: &str| {
        let (dir, file) = config_file(&format!(
            "destinations: {{ team: {{ type: slack, webhook_url: \"https://hooks.slack.com/services/T/B/x\", template: slack/digest.json.hbs }} }}\n\
             routes: [ {{ name: all, to: [team] }} ]\n\
             jobs: {{ morning: {{ type: digest, schedule: \"30 8 * * *\", to: [team]{sources} }} }}\n"
        ));
        let two_clients = std::fs::read_to_string(&file).unwrap().replace(
            "sources: { vm: { token: check-token-0123 } }",
            "sources: { vm: { token: check-token-0123 }, dental: { token: dental-token-0123 } }",
        );
        std::fs::write(&file, two_clients).unwrap();
        let output = callbridge(&["--config", file.to_str().unwrap(), "check"], &[]);
        (dir, file, output)
    };
    let (_dir, file, output) = digest("");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        format!(
            "warning: {}: jobs.morning: lists the call-backs of every source; set `sources` to keep them apart\n",
            file.display()
        )
    );
    let (_dir, _, output) = digest(", sources: [dental]");
    assert_eq!((output.status.code(), stderr(&output)), (Some(0), String::new()));
    let (_dir, file, output) = digest(", sources: [dentl]");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "error: {}: jobs.morning.sources: `dentl` is not a source\n",
            file.display()
        )
    );
}

#[test]
fn check_warns_of_two_clients_sharing_a_token_or_a_webhook() {
    let (_dir, file) = config_file(
        "destinations:\n  a-slack: { type: slack, webhook_url: \"https://hooks.slack.com/services/T/B/same\" }\n  \
         b-slack: { type: slack, webhook_url: \"HTTPS://Hooks.Slack.com/services/T/B/same/\" }\n\
         routes: [ { name: all, to: [a-slack] } ]\n",
    );
    let two_clients = std::fs::read_to_string(&file).unwrap().replace(
        "sources: { vm: { token: check-token-0123 } }",
        "sources: { vm: { token: check-token-0123 }, other: { token: check-token-0123 } }",
    );
    std::fs::write(&file, two_clients).unwrap();
    let output = callbridge(&["--config", file.to_str().unwrap(), "check"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let shown = file.display();
    assert_eq!(
        stderr(&output),
        format!(
            "warning: {shown}: sources.vm: has the same token as sources.other\n\
             warning: {shown}: destinations.b-slack: has the same webhook URL as destinations.a-slack\n"
        )
    );
}

#[test]
fn check_warns_of_a_route_matching_a_misspelt_field() {
    let (_dir, file) = config_file(
        "destinations: { team: { type: slack, webhook_url: \"https://hooks.slack.com/services/T/B/x\" } }\n\
         routes: [ { name: callbacks, match: { call_back_neded: true, agent.id: a-7 }, to: [team] } ]\n",
    );
    let output = callbridge(&["--config", file.to_str().unwrap(), "check"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        format!(
            "warning: {}: routes[0].match.call_back_neded: no call has this field; did you mean `call_back_needed`?\n",
            file.display()
        )
    );
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let payload = payload_path("01-docs-example.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_callbridge"))
        .args(["render", "--payload", payload.to_str().unwrap()])
        .current_dir(repo_path("."))
        .envs(SHIPPED_ENV.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // As `| head -c 0` does: the reader is gone before anything is written.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!((output.status.code(), stderr(&output)), (Some(0), String::new()));
}

#[test]
fn check_refuses_a_store_url_serve_could_not_open() {
    let mut env = SHIPPED_ENV.to_vec();
    env.push(("CALLBRIDGE__STORAGE__URL", "postgres://db/callbridge"));
    let output = callbridge(&["check"], &env);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with(
            "error: config/callbridge.yaml: storage.url: storage url `postgres://db/callbridge` is not supported (use sqlite://PATH)"
        ),
        "{}",
        stderr(&output)
    );
}

#[test]
fn check_wants_one_way_to_a_google_access_token() {
    let google = |auth: &str| {
        config_file(&format!(
            "destinations: {{ cal: {{ type: google_calendar{auth} }} }}\nroutes: [ {{ name: all, to: [cal] }} ]\n"
        ))
    };
    let oauth = ", oauth: { client_id: c, client_secret: s, refresh_token: r }";
    for (auth, key, message) in [
        (
            "",
            "destinations.cal",
            "needs `token` (an access token) or `oauth` (client_id, client_secret, refresh_token)",
        ),
        (
            &format!(", token: ya29-x{oauth}") as &str,
            "destinations.cal.oauth",
            "`token` is set too: use one of `token` (kept fresh elsewhere) and `oauth`",
        ),
    ] {
        let (_dir, file) = google(auth);
        let output = callbridge(&["--config", file.to_str().unwrap(), "check"], &[]);
        assert_eq!(output.status.code(), Some(1), "{auth}");
        assert_eq!(
            stderr(&output),
            format!("error: {}: {key}: {message}\n", file.display()),
            "{auth}"
        );
    }
    let (_dir, file) = google(oauth);
    let output = callbridge(&["--config", file.to_str().unwrap(), "check"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn render_takes_the_only_source_when_none_is_named() {
    let (_dir, file) = config_file(
        "destinations: { team: { type: slack, webhook_url: \"https://hooks.slack.com/services/T/B/x\" } }\n\
         routes: [ { name: all, to: [team] } ]\n",
    );
    let payload = payload_path("01-docs-example.json");
    let output = callbridge(
        &[
            "--config",
            file.to_str().unwrap(),
            "render",
            "--payload",
            payload.to_str().unwrap(),
        ],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["routes"], serde_json::json!(["all"]));
}

#[test]
fn render_names_an_unknown_source() {
    let payload = payload_path("01-docs-example.json");
    let output = callbridge(
        &["render", "--payload", payload.to_str().unwrap(), "--source", "nope"],
        SHIPPED_ENV,
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: unknown source `nope` (the config has: voicemate)\n"
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
fn an_unset_crm_token_is_named_with_its_variable() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        &dir,
        "destinations:\n  crm: { type: hubspot, token: \"${HUBSPOT_TOKEN_UNSET}\" }\nroutes:\n  - { name: a, to: [crm] }\n",
    );
    let output = callbridge(&["--config", &file, "check"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "error: {file}: destinations.crm.token: is empty (unset or empty environment variables: HUBSPOT_TOKEN_UNSET)\n"
        )
    );
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

#[tokio::test]
async fn send_test_sends_one_call_to_one_destination_and_stores_nothing() {
    let smtp = support::smtp::SmtpSink::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        &dir,
        &format!(
            "smtp:\n  relay: {{ host: 127.0.0.1, port: {}, security: none }}\n\
             destinations:\n  office: {{ type: email, smtp: relay, from: calls@bakery.test, to: [office@bakery.test], text: email/call.txt.hbs }}\n",
            smtp.port
        ),
    );
    let output = callbridge(&["--config", &file, "send-test", "--destination", "office"], &[]);
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["destination"], "office");
    assert_eq!(report["outcome"], "delivered");
    assert_eq!(report["status"], 250);
    // The built-in sample call went out.
    let received = &smtp.received(1).await[0];
    assert_eq!(received.to, ["office@bakery.test"]);
    assert_eq!(received.parsed().subject(), Some("Missed call from Bob"));
    assert!(
        !dir.path().join("callbridge.db").exists(),
        "send-test must not touch the store"
    );

    let output = callbridge(&["--config", &file, "send-test", "--destination", "offcie"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "error: no destination `offcie` (configured: office)\n");
}

#[tokio::test]
async fn send_test_reports_a_refusal_and_exits_non_zero() {
    let sink = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(404).set_body_string("no_service"))
        .mount(&sink)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        &dir,
        &format!(
            "destinations:\n  slack: {{ type: slack, webhook_url: \"{}/services/T/B/XXXXSECRETXXXX\" }}\n",
            sink.uri()
        ),
    );
    let payload = payload_path("02-dutch-callback.json");
    let output = callbridge(
        &[
            "--config",
            &file,
            "send-test",
            "--destination",
            "slack",
            "--payload",
            payload.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report,
        serde_json::json!({
            "destination": "slack",
            "outcome": "failed (would not be retried)",
            "status": 404,
            "error": "HTTP 404: no_service",
            "response": "no_service",
        })
    );
    assert_eq!(stderr(&output), "error: the test send to `slack` failed\n");
    let sent = &sink.received_requests().await.unwrap()[0];
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("Missed call from Sanne de Vries"),
        "{body}"
    );
}

/// `check` on a config whose one Slack destination uses `template`.
fn check_with_slack_template(template: &str) -> (tempfile::TempDir, std::path::PathBuf, Output) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("t/slack")).unwrap();
    std::fs::write(dir.path().join("t/slack/call.json.hbs"), template).unwrap();
    let yaml = config_yaml("destinations:\n  slack: { type: slack, webhook_url: \"http://127.0.0.1:9/x\" }\nroutes:\n  - { name: a, to: [slack] }\n")
        .replace(&repo_path("templates").display().to_string(), "t");
    let file = dir.path().join("cb.yaml");
    std::fs::write(&file, yaml).unwrap();
    let output = callbridge(&["--config", file.to_str().unwrap(), "check"], &[]);
    (dir, file, output)
}

#[test]
fn check_warns_about_a_template_that_fails_for_the_sample_call() {
    let (_dir, file, output) = check_with_slack_template(r#"{"text": "{{caler_name}}"}"#);
    assert!(output.status.success(), "{}", stderr(&output));
    let warning = stderr(&output);
    assert!(
        warning.starts_with(&format!(
            "warning: {}: destinations.slack: fails for the sample call",
            file.display()
        )),
        "{warning}"
    );
    assert!(warning.contains("caler_name"), "{warning}");
}

#[test]
fn check_refuses_a_template_that_fails_for_every_call() {
    for (template, cause) in [
        (r#"{"text": "{{nohelper callsummary}}"}"#, "Helper not found nohelper"),
        (r#"{"text": "{{truncate callsummary}}"}"#, "truncate"),
        (r#"{"text": {{caller_name}}}"#, "produced invalid JSON"),
    ] {
        let (_dir, file, output) = check_with_slack_template(template);
        assert_eq!(output.status.code(), Some(1), "{template}: {}", stderr(&output));
        let error = stderr(&output);
        assert!(
            error.starts_with(&format!(
                "error: {}: destinations.slack: fails for the sample call, which has every field, so for every call: template slack/call.json.hbs",
                file.display()
            )),
            "{error}"
        );
        assert!(error.contains(cause), "{template}: {error}");
    }
}

#[test]
fn smtp_settings_errors_name_the_key_and_the_choices() {
    let dir = tempfile::tempdir().unwrap();
    let email = "destinations:\n  mail: { type: email, smtp: relay, from: a@b.test, to: [c@d.test], text: email/call.txt.hbs }\nroutes:\n  - { name: a, to: [mail] }\n";
    let file = write_config(
        &dir,
        &format!("smtp:\n  relay: {{ host: 127.0.0.1, security: ssl }}\n{email}"),
    );
    let output = callbridge(&["--config", &file, "check"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("unknown security `ssl` (use tls, starttls, starttls_opportunistic or none)"),
        "{}",
        stderr(&output)
    );

    let file = write_config(
        &dir,
        &format!(
            "smtp:\n  relay: {{ host: 127.0.0.1, security: none, username: u, password: smtp-password-1 }}\n{email}"
        ),
    );
    let output = callbridge(&["--config", &file, "check"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "error: {file}: smtp.relay.username: credentials need `security: tls` or `starttls`: without them the password could travel in the clear\n"
        )
    );
}

#[test]
fn when_prints_how_a_phrase_is_read() {
    let when = |args: &[&str]| {
        let mut all = vec!["when"];
        all.extend_from_slice(args);
        callbridge(&all, &[])
    };
    // Friday 2024-03-15 17:45 in Amsterdam: an explicit day is kept, even a Saturday.
    let output = when(&["morgenochtend", "--at", "1710521100"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"due\":\"2024-03-16T09:00:00+01:00\",\"original\":\"morgenochtend\",\"reason\":null,\"understood\":true}\n"
    );
    // Not understood: due at the next business slot (Monday 08:00 with these hours), flagged.
    let output = when(&[
        "niet morgen",
        "--at",
        "1710521100",
        "--business-hours",
        "Mon-Fri 08:00-17:00",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"due\":\"2024-03-18T08:00:00+01:00\",\"original\":\"niet morgen\",\"reason\":\"unparsed\",\"understood\":false}\n"
    );
    let output = when(&[
        "today",
        "--at",
        "1710521100",
        "--timezone",
        "UTC",
        "--holidays",
        "2024-03-15",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"due\":\"2024-03-15T16:45:00+00:00\",\"original\":\"today\",\"reason\":null,\"understood\":true}\n"
    );
    let output = when(&["today", "--at", "1710521100", "--business-hours", "Mon-Fri 9-17"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("error: defaults.business_hours: "),
        "{}",
        stderr(&output)
    );
}
