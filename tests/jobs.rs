//! Cron jobs in the running daemon: a retention purge fired by a
//! per-second schedule removes old finished calls and keeps pending ones.

mod support;

use std::time::Duration;

use serde_json::json;
use support::chat_contracts::*;
use support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A stand-in that answers POSTs to `fast` at once and to `hanging` not
/// within the send timeout, so work sent there stays pending.
async fn sink_with(fast: &str, hanging: &str) -> MockServer {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(fast))
        .respond_with(ResponseTemplate::new(200))
        .mount(&sink)
        .await;
    Mock::given(method("POST"))
        .and(path(hanging))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&sink)
        .await;
    sink
}

#[tokio::test]
async fn the_purge_removes_old_finished_calls_and_keeps_pending_ones() {
    let sink = sink_with("/fast", "/slow").await;
    let app = TestApp::spawn(&config_yaml(&format!(
        r#"
destinations:
  fast: {{ type: http, url: "{uri}/fast", template: http/call.json.hbs }}
  slow: {{ type: http, url: "{uri}/slow", template: http/call.json.hbs }}
routes:
  - name: slow-ones
    match: {{ caller_name: Slow }}
    to: [slow]
  - name: the-rest
    to: [fast]
jobs:
  retention:
    type: purge
    schedule: "* * * * * *"
    older_than: 1s
"#,
        uri = sink.uri()
    )))
    .await;
    let (_, finished) = app
        .post_json(json!({"sort_key": "OLD-DONE", "caller_name": "Done"}).to_string())
        .await;
    let finished = finished["id"].as_str().unwrap().to_owned();
    app.wait_for_state(&finished, "fast", "delivered").await;
    let (_, pending) = app
        .post_json(json!({"sort_key": "OLD-PENDING", "caller_name": "Slow"}).to_string())
        .await;
    let pending = pending["id"].as_str().unwrap().to_owned();

    let purged = poll(Duration::from_secs(20), || async {
        app.deliveries(&finished).await.is_empty().then_some(())
    })
    .await;
    assert!(purged.is_some(), "the finished call was never purged");
    assert_eq!(app.store.count_calls().await.unwrap(), 1);
    let kept = app.deliveries(&pending).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].state, "pending");
    // The resend of a purged call is a new call again: nothing is left of it.
    let (status, _) = app
        .post_json(json!({"sort_key": "OLD-DONE", "caller_name": "Done"}).to_string())
        .await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn a_job_run_is_claimed_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = callbridge::store::Store::open("sqlite://s.db", dir.path())
        .await
        .unwrap();
    let other = callbridge::store::Store::open("sqlite://s.db", dir.path())
        .await
        .unwrap();
    assert!(store.claim_job_run("digest", 1_700_000_000_000).await.unwrap());
    assert!(!other.claim_job_run("digest", 1_700_000_000_000).await.unwrap());
    assert!(other.claim_job_run("digest", 1_700_000_060_000).await.unwrap());
}

/// Every call planned as a reminder through a Slack destination at
/// `{uri}/reminders`, the `digests` destinations (YAML lines), and a job
/// every second with `job` (its `to`, and more).
fn digest_config(uri: &str, digests: &str, job: &str) -> String {
    config_yaml(&format!(
        r#"
destinations:
  slack-reminder: {{ type: slack, webhook_url: "{uri}/reminders", template: slack/reminder.json.hbs }}
  callback: {{ type: reminder, notify: [slack-reminder], grace: 1d }}{digests}
routes:
  - name: all
    to: [callback]
jobs:
  digest:
    type: digest
    schedule: "* * * * * *"
    {job}
"#
    ))
}

#[tokio::test]
async fn the_digest_lists_overdue_call_backs_in_every_chat() {
    // The reminder's own destination never answers: it stays pending.
    let sink = sink_with("/digest", "/reminders").await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": {}})))
        .mount(&sink)
        .await;
    let uri = sink.uri();
    let app = TestApp::spawn(&digest_config(
        &uri,
        &format!(
            r#"
  slack-digest: {{ type: slack, webhook_url: "{uri}/digest", template: slack/digest.json.hbs }}
  teams-digest: {{ type: teams, webhook_url: "{uri}/teams", template: teams/digest.json.hbs }}
  discord-digest: {{ type: discord, webhook_url: "{uri}/discord", template: discord/digest.json.hbs }}
  telegram-digest:
    {{ type: telegram, bot_token: "123456:digest-token", chat_id: -100777, base_url: "{uri}", template: telegram/digest.json.hbs }}"#
        ),
        "to: [slack-digest, teams-digest, discord-digest, telegram-digest]",
    ))
    .await;
    // "in 1 minute", said an hour ago: overdue.
    let called_at = jiff::Timestamp::now().as_second() - 3600;
    let call = json!({"sort_key": "DIGEST-1", "caller_name": "Ann <Admin>", "caller_phone_number": "0612345678",
        "call_back_needed": true, "callback_time": "in 1 minute", "calltimestamp": called_at});
    assert_eq!(app.post_json(call.to_string()).await.0, 202);

    let zone = jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap();
    let due = jiff::Timestamp::from_second(called_at + 60)
        .unwrap()
        .to_zoned_datetime(zone.clone())
        .strftime("%a %-d %b %H:%M")
        .to_string();
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(zone)
        .strftime("%a %-d %b")
        .to_string();
    // The latest digest each vendor got, once every one lists the call-back
    // (runs before the call was stored list nothing).
    let paths = ["/digest", "/teams", "/discord", "/bot123456:digest-token/sendMessage"];
    let digests = poll(Duration::from_secs(20), || async {
        let requests = sink.received_requests().await.unwrap_or_default();
        let latest: Vec<serde_json::Value> = paths
            .iter()
            .filter_map(|wanted| {
                let request = requests.iter().rev().find(|r| r.url.path() == *wanted)?;
                let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
                body.to_string().contains("+31612345678").then_some(body)
            })
            .collect();
        (latest.len() == paths.len()).then_some(latest)
    })
    .await;
    let all: Vec<String> = sink
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.url.path(), String::from_utf8_lossy(&r.body)))
        .collect();
    let [slack, teams, discord, telegram] = digests
        .unwrap_or_else(|| panic!("not every chat got the overdue call-back: {all:#?}"))
        .try_into()
        .unwrap();

    assert_eq!(slack["text"], format!("Call-backs for {today}: 0 due today, 1 overdue"));
    assert_eq!(
        slack["blocks"][1]["text"]["text"],
        format!("*Overdue*\n• {due} — Ann &lt;Admin&gt; <tel:+31612345678|+31612345678>\n")
    );
    assert_eq!(slack["blocks"][2]["text"]["text"], "*Due today*\nnone");
    assert_valid("slack/message-payload.schema.json", &slack);

    let card = &teams["attachments"][0]["content"];
    assert_eq!(card["body"][0]["text"], format!("☎️ Call-backs for {today}"));
    assert_eq!(
        card["body"][2]["facts"],
        json!([{"title": due, "value": "Ann <Admin> +31612345678"}])
    );
    assert_eq!(card["body"][4]["facts"], json!([{"title": "none", "value": ""}]));
    assert_teams_contract(&teams);

    assert_eq!(
        discord["content"],
        format!("☎️ Call-backs for {today}: 0 due today, 1 overdue")
    );
    assert_eq!(
        discord["embeds"][0]["description"],
        format!("• {due} — Ann \\<Admin\\> +31612345678\n")
    );
    assert_eq!(discord["embeds"][1]["description"], "none");
    assert_discord_contract(&discord);

    assert_eq!(
        telegram["text"],
        format!(
            "☎️ <b>Call-backs for {today}</b>\n\n<b>Overdue</b>\n• {due} — Ann &lt;Admin&gt; +31612345678\n\n<b>Due today</b>\nnone\n"
        )
    );
    assert_telegram_contract(&telegram, -100777);
}

#[tokio::test]
async fn a_digest_for_some_sources_lists_only_their_callers() {
    let sink = sink_with("/digest", "/reminders").await;
    let uri = sink.uri();
    let yaml = digest_config(
        &uri,
        &format!(
            r#"
  dental-digest: {{ type: slack, webhook_url: "{uri}/digest", template: slack/digest.json.hbs }}"#
        ),
        "sources: [dental]\n    to: [dental-digest]",
    )
    .replace(
        "sources:\n  voicemate:",
        "sources:\n  dental:\n    token: dental-token-0123456789\n  voicemate:",
    );
    let app = TestApp::spawn(&yaml).await;
    let called_at = jiff::Timestamp::now().as_second() - 3600;
    let call = |key: &str, number: &str| {
        json!({"sort_key": key, "caller_name": key, "caller_phone_number": number,
            "call_back_needed": true, "callback_time": "in 1 minute", "calltimestamp": called_at})
        .to_string()
    };
    assert_eq!(app.post_json(call("other-client", "0611110001")).await.0, 202);
    let dental = app
        .client
        .post(format!("{}/hooks/dental", app.address))
        .bearer_auth("dental-token-0123456789")
        .body(call("dental-patient", "0622220002"))
        .send()
        .await
        .unwrap();
    assert_eq!(dental.status().as_u16(), 202);

    // The first digest that lists the dental patient lists no one else.
    let digest = poll(Duration::from_secs(20), || async {
        let requests = sink.received_requests().await.unwrap_or_default();
        requests
            .iter()
            .filter(|r| r.url.path() == "/digest")
            .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap())
            .find(|body| body.to_string().contains("+31622220002"))
    })
    .await
    .expect("a digest lists the dental patient");
    assert!(
        digest["text"].as_str().unwrap().ends_with(": 0 due today, 1 overdue"),
        "{digest}"
    );
    assert!(!digest.to_string().contains("+31611110001"), "{digest}");
}
