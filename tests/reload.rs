//! Config reload: a good config takes over (new destinations get work,
//! pending deliveries to a removed one are dead-lettered with the reason);
//! a bad one is refused with the reason and the old one keeps running.
//! Through the admin API and SIGHUP.

mod support;

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use support::process::*;
use support::*;
use wiremock::ResponseTemplate;

const ADMIN_TOKEN: &str = "admin-token-0123456789";

fn config_to(destination: &str, url: &str) -> String {
    config_yaml(&format!(
        "destinations:\n  {destination}: {{ type: slack, webhook_url: \"{url}/hook\" }}\nroutes:\n  - {{ name: all, to: [{destination}] }}\nadmin:\n  token: \"{ADMIN_TOKEN}\"\n"
    ))
    .replace("max_attempts: 5", "max_attempts: 1000")
}

async fn reload(app: &TestApp) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/admin/reload", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_good_config_takes_over_and_a_removed_destinations_work_is_dead_lettered() {
    // The first Slack is down: its delivery keeps retrying.
    let down = sink_answering_then(
        &[],
        wiremock::Mock::given(wiremock::matchers::method("POST")).respond_with(ResponseTemplate::new(503)),
    )
    .await;
    let up = sink_answering(&[]).await;
    let app = TestApp::spawn(&config_to("old-slack", &down.uri())).await;
    let stuck = app.accept("01-docs-example.json").await;
    received(&down, 1).await;

    std::fs::write(
        app.dir.path().join("callbridge.yaml"),
        config_to("new-slack", &up.uri()),
    )
    .unwrap();
    let (status, answer) = reload(&app).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["destinations"], json!(["new-slack"]));
    assert_eq!(answer["restart_needed"], json!([]));
    let dead = app.wait_for_state(&stuck, "old-slack", "dead").await;
    let reason = dead.last_error.unwrap();
    assert!(
        reason.contains("destination `old-slack` is no longer configured"),
        "{reason}"
    );

    let fresh = app.accept("02-dutch-callback.json").await;
    app.wait_for_state(&fresh, "new-slack", "delivered").await;
    assert_eq!(received(&up, 1).await.len(), 1);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("callbridge_queue_depth{destination=\"new-slack\"} 0"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("callbridge_queue_depth{destination=\"old-slack\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_bad_config_is_refused_with_the_reason_and_the_old_one_keeps_running() {
    let sink = sink_answering(&[]).await;
    let app = TestApp::spawn(&config_to("slack", &sink.uri())).await;
    let file = app.dir.path().join("callbridge.yaml");
    let good = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        good.replace(
            "routes:\n  - { name: all, to: [slack] }",
            "routes:\n  - { name: all, to: [slak] }",
        ),
    )
    .unwrap();

    let (status, answer) = reload(&app).await;
    assert_eq!(status, 422, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.starts_with("the new config was refused; the one in force stays: "),
        "{error}"
    );
    assert!(
        error.contains(&file.display().to_string()) && error.contains("routes[0]"),
        "{error}"
    );
    assert!(error.contains("slak"), "{error}");

    let id = app.accept("01-docs-example.json").await;
    app.wait_for_state(&id, "slack", "delivered").await;

    // A template no call can get through (an unknown helper) is refused too.
    let broken = app.dir.path().join("broken.json.hbs");
    std::fs::write(&broken, r#"{"text": "{{nohelper callsummary}}"}"#).unwrap();
    std::fs::write(
        &file,
        good.replace("/hook\" }", &format!("/hook\", template: \"{}\" }}", broken.display())),
    )
    .unwrap();
    let (status, answer) = reload(&app).await;
    let error = answer["error"].as_str().unwrap();
    assert_eq!(status, 422, "{answer}");
    assert!(
        error.contains("destinations.slack: fails for the sample call, which has every field, so for every call")
            && error.contains("Helper not found nohelper"),
        "{error}"
    );

    // A secret from a variable the daemon's environment lacks says how to
    // give it without a restart.
    std::fs::write(
        &file,
        good.replace(
            &format!("token: \"{TOKEN}\""),
            "token: \"${CALLBRIDGE_TEST_NEVER_SET}\"",
        ),
    )
    .unwrap();
    let (status, answer) = reload(&app).await;
    let error = answer["error"].as_str().unwrap();
    assert_eq!(status, 422, "{answer}");
    assert!(
        error.ends_with(
            "(unset or empty environment variables: CALLBRIDGE_TEST_NEVER_SET); a reload sees the environment \
             the daemon started with: give such a secret as `<key>_file`, or restart"
        ),
        "{error}"
    );

    // A change only a restart applies is taken, and said to wait.
    std::fs::write(&file, good.replace("max_body: 64KiB", "max_body: 32KiB")).unwrap();
    let (status, answer) = reload(&app).await;
    assert_eq!(
        (status, &answer["restart_needed"]),
        (200, &json!(["server"])),
        "{answer}"
    );
}

#[tokio::test]
async fn sighup_reloads_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (sink_answering(&[]).await, sink_answering(&[]).await);
    let (config, base) = own_config(dir.path(), &config_to("first", &first.uri()));
    // The same port, the other destination.
    let listen = base.trim_start_matches("http://").to_owned();
    let listen = |yaml: String| yaml.replace("127.0.0.1:0", &listen);
    let client = reqwest::Client::new();
    let mut daemon = start_healthy(&config, &client, &base).await;

    std::fs::write(&config, listen(config_to("second", &second.uri()))).unwrap();
    kill(Pid::from_raw(daemon.id() as i32), Signal::SIGHUP).unwrap();
    // Calls posted until the reload is in force go to the first; poll
    // until one reaches the second.
    let sent = std::sync::atomic::AtomicUsize::new(0);
    let reached = poll(Duration::from_secs(20), || async {
        let n = sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let body = json!({"sort_key": format!("HUP-{n}"), "caller_name": "Ann"});
        let (status, _) = post_call(&client, &base, body.to_string()).await;
        assert_eq!(status, 202);
        let seen = second.received_requests().await.unwrap_or_default();
        (!seen.is_empty()).then_some(())
    })
    .await;
    let alive = daemon.try_wait().unwrap().is_none();
    kill(Pid::from_raw(daemon.id() as i32), Signal::SIGKILL).unwrap();
    daemon.wait().unwrap();
    assert!(alive, "SIGHUP must not end the daemon");
    assert!(reached.is_some(), "after SIGHUP no call reached the new destination");
}

/// A call-back reminder's destinations removed, then put back: the
/// dead-lettering is counted, a replay while they are gone does nothing,
/// and a replay after keeps the reminder's time instead of sending it now.
#[tokio::test]
async fn a_reminder_dead_lettered_by_a_reload_is_replayed_at_its_own_time() {
    let sink = sink_answering(&[]).await;
    let with_reminder = config_yaml(&format!(
        "destinations:\n  cb-slack: {{ type: slack, webhook_url: \"{}/hook\", template: slack/reminder.json.hbs }}\n  callback: {{ type: reminder, notify: [cb-slack] }}\nroutes:\n  - {{ name: all, to: [callback] }}\nadmin:\n  token: \"{ADMIN_TOKEN}\"\n",
        sink.uri()
    ));
    let app = TestApp::spawn(&with_reminder).await;
    let now = jiff::Timestamp::now().as_second();
    let call = json!({"sort_key": "CALL-REM-RELOAD", "caller_name": "Ann", "call_back_needed": true,
        "callback_time": "in 2 hours", "calltimestamp": now});
    let (status, answer) = app.post_json(call.to_string()).await;
    assert_eq!(status, 202, "{answer}");
    let id = answer["id"].as_str().unwrap().to_owned();
    let planned = app.deliveries(&id).await.remove(0);

    let file = app.dir.path().join("callbridge.yaml");
    std::fs::write(&file, config_to("other", &sink.uri())).unwrap();
    assert_eq!(reload(&app).await.0, 200);
    let dead = app.wait_for_state(&id, "cb-slack", "dead").await;
    assert_eq!(dead.due_at, planned.due_at);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("callbridge_deliveries_total{destination=\"cb-slack\",outcome=\"dead\"} 1"),
        "{metrics}"
    );
    let replay = |app: &TestApp| {
        app.client
            .post(format!("{}/admin/replay", app.address))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"delivery": dead.id}))
            .send()
    };
    let gone = replay(&app).await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(gone, json!({"replayed": []}), "cb-slack is not configured");

    std::fs::write(&file, &with_reminder).unwrap();
    assert_eq!(reload(&app).await.0, 200);
    let back = replay(&app).await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(back, json!({"replayed": [dead.id]}));
    let pending = app.deliveries(&id).await.remove(0);
    assert_eq!((pending.state.as_str(), pending.due_at), ("pending", planned.due_at));
    assert!(
        sink.received_requests().await.unwrap().is_empty(),
        "not sent before its time"
    );
}

#[tokio::test]
async fn a_reload_starts_a_new_digest_job_sending_to_a_new_destination() {
    let sink = sink_answering(&[]).await;
    let app = TestApp::spawn(&config_to("slack", &sink.uri())).await;
    let file = app.dir.path().join("callbridge.yaml");
    let with_digest = std::fs::read_to_string(&file).unwrap().replace(
        "routes:",
        "jobs:\n  digest: { type: digest, schedule: \"* * * * * *\", to: [digest] }\nroutes:",
    )
    .replace(
        "destinations:\n",
        &format!(
            "destinations:\n  digest: {{ type: slack, webhook_url: \"{}/digest\", template: slack/digest.json.hbs }}\n",
            sink.uri()
        ),
    );
    std::fs::write(&file, with_digest).unwrap();
    let (status, answer) = reload(&app).await;
    assert_eq!((status, &answer["restart_needed"]), (200, &json!([])), "{answer}");

    let digest = poll(Duration::from_secs(20), || async {
        let requests = sink.received_requests().await.unwrap_or_default();
        let sent = requests.iter().find(|r| r.url.path() == "/digest")?;
        Some(serde_json::from_slice::<Value>(&sent.body).unwrap())
    })
    .await
    .expect("the new job sent a digest");
    assert!(
        digest["text"].as_str().unwrap().ends_with(": 0 due today, 0 overdue"),
        "{digest}"
    );
}
