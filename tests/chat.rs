//! Teams, Discord and Telegram: the exact bodies for known payloads, valid
//! against the vendors' schemas, caller text that never becomes markup or
//! a mention, the vendors' limits, their rate-limit answers, and a bot token
//! that is never recorded.

mod support;

use std::time::Duration;

use callbridge::store::AttemptRow;
use serde_json::{Value, json};
use support::chat_contracts::*;
use support::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TELEGRAM_TOKEN: &str = "123456789:AAFakeTelegramBotToken_secret-part";
const TELEGRAM_CHAT_ID: i64 = -1001234567890;
const TEAMS_PATH: &str = "/workflows/abc/triggers/manual/paths/invoke";
const DISCORD_PATH: &str = "/api/webhooks/1234/DISCORDSECRETTOKEN";

/// One destination of `kind` at `sink`, taking every call.
fn chat_config(kind: &str, sink: &str) -> String {
    config_yaml(&format!(
        "destinations:\n  {kind}:\n{}\nroutes:\n  - {{ name: all, to: [{kind}] }}\n",
        destination(kind, sink)
    ))
}

fn destination(kind: &str, sink: &str) -> String {
    match kind {
        "teams" => format!("    type: teams\n    webhook_url: \"{sink}{TEAMS_PATH}?sig=TEAMSSECRETSIG\""),
        "discord" => format!("    type: discord\n    webhook_url: \"{sink}{DISCORD_PATH}\""),
        // An unquoted chat id: YAML reads a number.
        "telegram" => format!(
            "    type: telegram\n    bot_token: \"{TELEGRAM_TOKEN}\"\n    chat_id: {TELEGRAM_CHAT_ID}\n    base_url: \"{sink}\""
        ),
        other => panic!("no {other}"),
    }
}

/// What each vendor answers a message it took.
fn accepted(kind: &str) -> ResponseTemplate {
    match kind {
        "teams" => ResponseTemplate::new(202),
        "discord" => ResponseTemplate::new(200).set_body_json(json!({"id": "1", "content": ""})),
        _ => ResponseTemplate::new(200).set_body_json(json!({"ok": true, "result": {"message_id": 1}})),
    }
}

async fn accepting_sink(kind: &str) -> MockServer {
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(accepted(kind))
        .mount(&sink)
        .await;
    sink
}

/// The body `kind` received for a payload file, with the call id replaced
/// by `CALL_ID`, after checking where it went.
async fn body_for(kind: &str, name: &str) -> Value {
    let sink = accepting_sink(kind).await;
    let app = TestApp::spawn(&chat_config(kind, &sink.uri())).await;
    let id = app.accept(name).await;
    let request = &received(&sink, 1).await[0];
    let (path, query) = (request.url.path(), request.url.query());
    match kind {
        "teams" => assert_eq!((path, query), (TEAMS_PATH, Some("sig=TEAMSSECRETSIG"))),
        "discord" => assert_eq!((path, query), (DISCORD_PATH, Some("wait=true"))),
        _ => assert_eq!(
            (path, query),
            (format!("/bot{TELEGRAM_TOKEN}/sendMessage").as_str(), None)
        ),
    }
    let raw = String::from_utf8(request.body.clone()).unwrap();
    serde_json::from_str(&raw.replace(&id, "CALL_ID")).unwrap()
}

/// The body for a payload file, which must equal
/// `tests/expected/<kind>-<payload>` and keep the vendor's contract.
async fn expected_body(kind: &str, name: &str) -> Value {
    let body = body_for(kind, name).await;
    let file = format!("{kind}-{name}");
    let expected: Value =
        serde_json::from_slice(&std::fs::read(repo_path("tests/expected").join(&file)).unwrap()).unwrap();
    assert_eq!(body, expected, "{file}");
    match kind {
        "teams" => assert_teams_contract(&body),
        "discord" => assert_discord_contract(&body),
        _ => assert_telegram_contract(&body, TELEGRAM_CHAT_ID),
    }
    body
}

const SPECIAL_SUMMARY: &str = "Zoë says: \"the heater is broken\" & needs help ASAP!\nSecond line with a backslash \\ and a tab\there. <!channel> @here <@U024BE7LH> *bold* _it_ ~st~ `code` 🔥🚒 مرحبا";

#[tokio::test]
async fn teams_payload_01_gives_the_expected_card() {
    expected_body("teams", "01-docs-example.json").await;
}

#[tokio::test]
async fn teams_payload_07_keeps_special_characters_and_makes_no_markup() {
    let body = expected_body("teams", "07-special-characters.json").await;
    let card = &body["attachments"][0]["content"];
    assert_eq!(
        card["body"][1]["text"],
        "Zoë says: \"the heater is broken\" & needs help ASAP!\n\nSecond line with a backslash \\\\ and a tab\there. \
         <!channel> @here <@U024BE7LH> \\*bold\\* \\_it\\_ ~st~ `code` 🔥🚒 مرحبا"
    );
    assert_eq!(
        card["body"][0]["text"],
        "📞 Missed call from Zoë \"Zee\" O'Brien <admin@example.com>"
    );
    assert!(!body.to_string().contains("&lt;") && !body.to_string().contains("&amp;"));
}

#[tokio::test]
async fn teams_link_injection_is_neutralised() {
    let sink = accepting_sink("teams").await;
    let app = TestApp::spawn(&chat_config("teams", &sink.uri())).await;
    let call = json!({"sort_key": "CALL-LINK", "caller_name": "[Click me](https://evil.test)", "callsummary": "- one\n1. two **x**"});
    assert_eq!(app.post_json(call.to_string()).await.0, 202);
    let body: Value = serde_json::from_slice(&received(&sink, 1).await[0].body).unwrap();
    let card = &body["attachments"][0]["content"]["body"];
    assert_eq!(card[0]["text"], "📞 Missed call from \\[Click me\\](https://evil.test)");
    assert_eq!(card[1]["text"], "\\- one\n\n1\\. two \\*\\*x\\*\\*");
}

#[tokio::test]
async fn discord_payload_01_gives_the_expected_message() {
    expected_body("discord", "01-docs-example.json").await;
}

#[tokio::test]
async fn discord_payload_07_keeps_special_characters_and_pings_nobody() {
    let body = expected_body("discord", "07-special-characters.json").await;
    assert_eq!(
        body["embeds"][0]["description"],
        "Zoë says: \"the heater is broken\" & needs help ASAP!\nSecond line with a backslash \\\\ and a tab\there. \
         \\<!channel\\> \\@here \\<\\@U024BE7LH\\> \\*bold\\* \\_it\\_ \\~st\\~ \\`code\\` 🔥🚒 مرحبا"
    );
    assert_eq!(
        body["content"],
        "📞 Missed call from Zoë \"Zee\" O'Brien \\<admin\\@example.com\\> (+31611112222)"
    );
}

#[tokio::test]
async fn discord_mentions_in_caller_text_are_escaped_everywhere() {
    let sink = accepting_sink("discord").await;
    let app = TestApp::spawn(&chat_config("discord", &sink.uri())).await;
    let call = json!({"sort_key": "CALL-PING", "caller_name": "@everyone <@&42>", "call_reason": "<@123> [x](https://evil.test) # big"});
    assert_eq!(app.post_json(call.to_string()).await.0, 202);
    let body: Value = serde_json::from_slice(&received(&sink, 1).await[0].body).unwrap();
    assert_eq!(body["content"], "📞 Missed call from \\@everyone \\<\\@&42\\>");
    assert_eq!(
        body["embeds"][0]["fields"][2]["value"],
        "\\<\\@123\\> \\[x\\](https://evil.test) \\# big"
    );
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
}

#[tokio::test]
async fn telegram_payload_01_gives_the_expected_message() {
    expected_body("telegram", "01-docs-example.json").await;
}

#[tokio::test]
async fn telegram_payload_07_keeps_special_characters_as_html_entities() {
    let body = expected_body("telegram", "07-special-characters.json").await;
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with(
        "📞 <b>Missed call from Zoë &quot;Zee&quot; O&#39;Brien &lt;admin@\u{2060}example.com&gt;</b>\n\n"
    ));
    assert!(text.contains("<b>Reason:</b> Complaint: &lt;b&gt;broken&lt;/b&gt; &amp; &quot;urgent&quot;\n"));
    // Caller text reads as said; `@` carries an invisible word joiner.
    assert!(
        visible(text).replace('\u{2060}', "").contains(SPECIAL_SUMMARY),
        "{text}"
    );
}

/// A summary of 20,000 characters ending in emoji and a transcript of 400
/// messages, to all three at once.
#[tokio::test]
async fn a_huge_call_is_cut_within_every_limit_on_a_character_and_marked() {
    let sink = MockServer::start().await;
    for (kind, path) in [
        ("teams", TEAMS_PATH.to_owned()),
        ("discord", DISCORD_PATH.to_owned()),
        ("telegram", format!("/bot{TELEGRAM_TOKEN}/sendMessage")),
    ] {
        Mock::given(method("POST"))
            .and(wiremock::matchers::path(path))
            .respond_with(accepted(kind))
            .mount(&sink)
            .await;
    }
    let destinations: String = ["teams", "discord", "telegram"]
        .iter()
        .map(|kind| format!("  {kind}:\n{}\n", destination(kind, &sink.uri())))
        .collect();
    let yaml = config_yaml(&format!(
        "destinations:\n{destinations}routes:\n  - {{ name: all, to: [teams, discord, telegram] }}\n"
    ));
    let app = TestApp::spawn(&yaml).await;
    let summary = format!("{}🔥🔥", "Zoë & <b> [x](y) @here *".repeat(800));
    let messages: Vec<Value> = (0..400)
        .map(|i| json!({"role": if i % 2 == 0 { "bot" } else { "user" }, "message": format!("line {i} 🚒 <i>&</i>"), "time": i}))
        .collect();
    let call = json!({"sort_key": "CALL-HUGE", "caller_name": "Big", "callsummary": summary, "messages": messages});
    let (status, answer) = app.post_json(call.to_string()).await;
    assert_eq!(status, 202, "{answer}");
    let id = answer["id"].as_str().unwrap();

    let requests = received(&sink, 3).await;
    let body_at = |prefix: &str| -> Value {
        let request = requests.iter().find(|r| r.url.path().starts_with(prefix)).unwrap();
        serde_json::from_slice(&request.body).unwrap()
    };
    // Each cut text is a prefix of what it stood for, then "…".
    let assert_cut = |text: &str, full: &str| {
        let kept = text.strip_suffix('…').unwrap_or_else(|| panic!("not marked: {text}"));
        assert!(full.starts_with(kept), "not a prefix: {kept}");
    };

    let teams = body_at("/workflows/");
    assert_teams_contract(&teams);
    assert!(teams.to_string().len() <= 20_000);
    let card = &teams["attachments"][0]["content"]["body"];
    let teams_full = summary.replace('*', "\\*").replace('[', "\\[").replace(']', "\\]");
    assert_cut(card[1]["text"].as_str().unwrap(), &teams_full);

    let discord = body_at("/api/webhooks/");
    assert_discord_contract(&discord);
    let embed = &discord["embeds"][0];
    let description = embed["description"].as_str().unwrap();
    // 3000 less at most the half of an escape that cannot be kept.
    assert!((2999..=3000).contains(&description.chars().count()));
    let discord_full = teams_full.replace('<', "\\<").replace('>', "\\>").replace('@', "\\@");
    assert_cut(description, &discord_full);
    let fields: usize = embed["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().chars().count() + f["value"].as_str().unwrap().chars().count())
        .sum();
    let title = embed["title"].as_str().unwrap().chars().count();
    let footer = embed["footer"]["text"].as_str().unwrap().chars().count();
    assert!(title + description.chars().count() + fields + footer <= 6000);

    let telegram = body_at("/bot");
    assert_telegram_contract(&telegram, TELEGRAM_CHAT_ID);
    let shown = visible(telegram["text"].as_str().unwrap());
    let kept = shown
        .strip_prefix("📞 Missed call from Big\n\n")
        .and_then(|rest| rest.split("\n\nNumber:").next())
        .unwrap();
    // The word joiners that break up caller mentions count as characters
    // (Telegram counts them too) but are not the caller's.
    let kept = kept.replace('\u{2060}', "");
    assert!(kept.chars().count() <= 2000, "{}", kept.chars().count());
    assert_cut(&kept, &summary);

    // The attempt records what was sent, which names the call; the stored
    // call keeps the whole summary.
    for delivery in app.deliveries(id).await {
        let delivered = app.wait_for_state(id, &delivery.destination, "delivered").await;
        let request = app.attempts(delivered.id).await[0].request.clone().unwrap();
        assert!(request.contains(&format!("call {id}")), "{}", delivery.destination);
    }
    let db = rusqlite::Connection::open(app.dir.path().join("callbridge.db")).unwrap();
    let stored: String = db
        .query_row("SELECT payload FROM calls WHERE id = ?1", [id], |row| row.get(0))
        .unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["callsummary"], summary);
}

/// Posts payload 01 to a `kind` stand-in answering `first` once, then as
/// the vendor does; returns the delivery once it is in `state`, with its
/// attempts.
async fn deliver_after(kind: &str, first: ResponseTemplate, state: &str) -> (Vec<AttemptRow>, MockServer) {
    let ok = Mock::given(method("POST")).respond_with(accepted(kind));
    let sink = sink_answering_then(&[first], ok).await;
    let app = TestApp::spawn(&chat_config(kind, &sink.uri())).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = app.wait_for_state(&id, kind, state).await;
    (app.attempts(delivery.id).await, sink)
}

#[tokio::test]
async fn discord_429_waits_the_retry_after_in_its_body_and_delivers() {
    let limited = ResponseTemplate::new(429)
        .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 0.6, "global": false}));
    let (attempts, sink) = deliver_after("discord", limited, "delivered").await;
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        [Some(429), Some(200)]
    );
    // The backoff alone would have come back within 200 ms.
    let waited = attempts[1].started_at - attempts[0].started_at;
    assert!(waited >= 600, "retried after {waited} ms");
    assert_eq!(sink.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn discord_404_means_the_webhook_is_gone_and_is_dead_at_once() {
    let gone = ResponseTemplate::new(404).set_body_json(json!({"message": "Unknown Webhook", "code": 10015}));
    let (attempts, sink) = deliver_after("discord", gone, "dead").await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        attempts[0].error.as_deref(),
        Some(r#"HTTP 404: {"code":10015,"message":"Unknown Webhook"}"#)
    );
    assert_eq!(sink.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn telegram_429_waits_parameters_retry_after_and_delivers() {
    let limited = ResponseTemplate::new(429).set_body_json(json!({
        "ok": false, "error_code": 429,
        "description": "Too Many Requests: retry after 2",
        "parameters": {"retry_after": 2},
    }));
    let (attempts, _) = deliver_after("telegram", limited, "delivered").await;
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        [Some(429), Some(200)]
    );
    // Longer than both the backoff and the one-second pacing.
    let waited = attempts[1].started_at - attempts[0].started_at;
    assert!(waited >= 2000, "retried after {waited} ms");
}

#[tokio::test]
async fn teams_429_is_retried_and_delivered() {
    let throttled = ResponseTemplate::new(429).insert_header("Retry-After", "1");
    let (attempts, _) = deliver_after("teams", throttled, "delivered").await;
    assert_eq!(
        attempts.iter().map(|a| a.status).collect::<Vec<_>>(),
        [Some(429), Some(202)]
    );
    // The webhook URL is the credential: sent as written, so it is redacted.
    assert!(attempts[0].request.as_deref().unwrap().starts_with("POST [redacted]\n"));
    let waited = attempts[1].started_at - attempts[0].started_at;
    assert!(waited >= 1000, "retried after {waited} ms");
}

#[tokio::test]
async fn the_telegram_token_is_never_recorded() {
    let not_found = ResponseTemplate::new(400)
        .set_body_json(json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}));
    let (attempts, _) = deliver_after("telegram", not_found, "dead").await;
    let attempt = &attempts[0];
    let request = attempt.request.as_deref().unwrap();
    assert!(request.starts_with("POST http://127.0.0.1:"), "{request}");
    assert!(request.contains("/bot[redacted]/sendMessage\n"), "{request}");
    assert_eq!(
        attempt.error.as_deref(),
        Some(r#"HTTP 400: {"description":"Bad Request: chat not found","error_code":400,"ok":false}"#)
    );
    for text in [&attempt.request, &attempt.error, &attempt.response]
        .into_iter()
        .flatten()
    {
        assert!(!text.contains(TELEGRAM_TOKEN) && !text.contains("AAFake"), "{text}");
    }
}

#[tokio::test]
async fn the_telegram_token_is_not_in_a_connection_error() {
    // Nothing listens on the discard port.
    let app = TestApp::spawn(&chat_config("telegram", "http://127.0.0.1:9")).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = &app.deliveries(&id).await[0];
    let attempts = poll(Duration::from_secs(20), || async {
        let attempts = app.attempts(delivery.id).await;
        (!attempts.is_empty()).then_some(attempts)
    })
    .await
    .unwrap();
    let error = attempts[0].error.as_deref().unwrap();
    assert!(error.starts_with("connection failed"), "{error}");
    assert!(!error.contains("AAFake") && !error.contains("/bot"), "{error}");
    assert!(!attempts[0].request.as_deref().unwrap().contains("AAFake"));
}

#[tokio::test]
async fn a_chat_destination_sends_reminders_with_its_reminder_template() {
    let sink = accepting_sink("discord").await;
    let yaml = config_yaml(&format!(
        "destinations:\n  discord:\n{}\n    template: discord/reminder.json.hbs\n  callback: {{ type: reminder, notify: [discord] }}\nroutes:\n  - {{ name: all, to: [callback] }}\n",
        destination("discord", &sink.uri())
    ));
    let app = TestApp::spawn(&yaml).await;
    // Asked 59 s ago to be called back in a minute: due in about a second.
    let called_at = jiff::Timestamp::now().as_second() - 59;
    let call = json!({
        "sort_key": "CALL-REMIND", "caller_name": "Ann @here", "caller_phone_number": "06 12 34 56 78",
        "call_reason": "a quote", "callsummary": "Ann wants a quote.", "call_back_needed": true,
        "callback_time": "in 1 minute", "calltimestamp": called_at,
    });
    assert_eq!(app.post_json(call.to_string()).await.0, 202);
    let body: Value = serde_json::from_slice(&received(&sink, 1).await[0].body).unwrap();
    assert_eq!(
        body,
        json!({
            "content": "⏰ Call back Ann \\@here now: +31612345678, about a quote",
            "embeds": [{"description": "Ann wants a quote.", "color": 15105570}],
            "allowed_mentions": {"parse": []},
        })
    );
    assert_discord_contract(&body);
}
