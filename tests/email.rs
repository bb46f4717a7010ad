//! The email destination against a real SMTP server on loopback: what
//! arrives (recipients, decoded subject, MIME structure, escaping), header
//! safety, and how SMTP answers steer retries.

mod support;

use mail_parser::{HeaderValue, MimeHeaders};
use serde_json::json;
use support::smtp::{SmtpSink, silent_server};
use support::*;

/// An email destination through a plain local relay on `port`, plus
/// whatever `extra` YAML adds under `destinations` (a Slack one, say).
fn email_config(port: u16, extra_destinations: &str, to: &str) -> String {
    config_yaml(&format!(
        r#"
smtp:
  relay:
    host: 127.0.0.1
    port: {port}
    security: none
    timeout: 2s
destinations:
  office-email:
    type: email
    smtp: relay
    from: "Voice Mate <calls@bakery.test>"
    from_name: "{{{{default caller_name \"Unknown caller\"}}}} via Voice Mate"
    to: ["Office <office@bakery.test>", "owner@bakery.test"]
    cc: ["sales@bakery.test"]
    bcc: ["archive@bakery.test"]
    reply_to: "{{{{#if caller_email}}}}{{{{caller_email}}}}{{{{/if}}}}"
    text: email/call.txt.hbs
    html: email/call.html.hbs
{extra_destinations}
routes:
  - name: all
    to: [{to}]
"#
    ))
}

fn addresses(value: &HeaderValue<'_>) -> Vec<String> {
    value
        .as_address()
        .map(|list| list.iter().filter_map(|a| a.address().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_email_reaches_every_recipient_with_a_decoded_subject_and_both_parts() {
    let smtp = SmtpSink::start(&[]);
    let app = TestApp::spawn(&email_config(smtp.port, "", "office-email")).await;
    let id = app.accept("07-special-characters.json").await;
    app.wait_for_state(&id, "office-email", "delivered").await;

    let received = &smtp.received(1).await[0];
    assert_eq!(received.from, "calls@bakery.test");
    assert_eq!(
        received.to,
        [
            "office@bakery.test",
            "owner@bakery.test",
            "sales@bakery.test",
            "archive@bakery.test"
        ]
    );
    let message = received.parsed();
    assert_eq!(
        message.subject(),
        Some("Missed call from Zoë \"Zee\" O'Brien <admin@example.com>")
    );
    // The caller's text is only the display name; the address is ours.
    let from = message.from().unwrap().first().unwrap();
    assert_eq!(from.address(), Some("calls@bakery.test"));
    assert_eq!(
        from.name(),
        Some("Zoë \"Zee\" O'Brien <admin@example.com> via Voice Mate")
    );
    assert_eq!(
        addresses(message.header("To").unwrap()),
        ["office@bakery.test", "owner@bakery.test"]
    );
    assert_eq!(addresses(message.header("Cc").unwrap()), ["sales@bakery.test"]);
    assert!(message.header("Bcc").is_none(), "Bcc must not be in the headers");
    // 07 has no caller_email field: no Reply-To.
    assert!(message.header("Reply-To").is_none());
    assert!(message.date().is_some());

    // multipart/alternative: text first, then HTML.
    let root = message.content_type().unwrap();
    assert_eq!((root.ctype(), root.subtype()), ("multipart", Some("alternative")));
    assert_eq!(message.text_body.len(), 1);
    assert_eq!(message.html_body.len(), 1);
    let text = message.body_text(0).unwrap();
    let html = message.body_html(0).unwrap();
    // Plain text shows caller text as it is; HTML escapes it.
    assert!(
        text.contains("Reason:    Complaint: <b>broken</b> & \"urgent\""),
        "{text}"
    );
    assert!(
        html.contains("<td>Complaint: &lt;b&gt;broken&lt;/b&gt; &amp; &quot;urgent&quot;</td>"),
        "{html}"
    );
    assert!(!html.contains("<b>broken</b>"), "{html}");
    assert!(
        html.contains(r#"<a href="tel:+31611112222">+31611112222</a>"#),
        "{html}"
    );
    assert!(
        html.contains("<strong>Caller:</strong> Hello, this is Bob from Acme Recruiting."),
        "{html}"
    );
    assert!(text.contains("Caller: Tomorrow morning works best."), "{text}");
    assert!(text.contains("🔥🚒 مرحبا"), "{text}");

    // RFC 5322: header lines fit in 78 octets, every one ASCII.
    for line in received.header_lines() {
        assert!(line.len() <= 78, "header line of {} octets: {line}", line.len());
        assert!(line.is_ascii(), "{line}");
    }
}

#[tokio::test]
async fn a_dutch_call_gets_its_subject_and_a_stable_message_id() {
    let smtp = SmtpSink::start(&[]);
    let app = TestApp::spawn(&email_config(smtp.port, "", "office-email")).await;
    let id = app.accept("02-dutch-callback.json").await;
    let delivery = app.wait_for_state(&id, "office-email", "delivered").await;
    let received = &smtp.received(1).await[0];
    let message = received.parsed();
    assert_eq!(message.subject(), Some("Missed call from Sanne de Vries"));
    // "Morgenochtend", said Tue 3 Dec 09:00: tomorrow's morning window opens at 09:00.
    let text = message.body_text(0).unwrap();
    assert!(text.contains("Callback:  Wed 4 Dec 09:00 (Morgenochtend)"), "{text}");
    let html = message.body_html(0).unwrap();
    assert!(
        html.contains("<strong>Wed 4 Dec 09:00</strong> (Morgenochtend)"),
        "{html}"
    );
    let message_id = message.message_id().unwrap().to_owned();
    assert!(message_id.ends_with("@bakery.test"), "{message_id}");

    // The recorded attempt holds the message as sent, and the reply.
    let attempt = &app.attempts(delivery.id).await[0];
    assert_eq!(attempt.status, Some(250));
    let recorded = attempt.request.as_deref().unwrap();
    assert!(
        recorded.starts_with("SMTP relay\nMAIL FROM:<calls@bakery.test>\n"),
        "{recorded}"
    );
    assert!(recorded.contains(&format!("Message-ID: <{message_id}>")), "{recorded}");
}

#[tokio::test]
async fn the_callers_address_becomes_reply_to_only_when_it_is_one_address() {
    let smtp = SmtpSink::start(&[]);
    let app = TestApp::spawn(&email_config(smtp.port, "", "office-email")).await;
    let good = json!({"sort_key": "CALL-RT-1", "caller_name": "Ann", "caller_email": "ann@example.com"});
    let bad =
        json!({"sort_key": "CALL-RT-2", "caller_name": "Eve", "caller_email": "eve@example.com, boss@bakery.test"});
    for body in [&good, &bad] {
        assert_eq!(app.post_json(body.to_string()).await.0, 202);
    }
    let received = smtp.received(2).await;
    let by_subject = |subject: &str| {
        received
            .iter()
            .find(|r| r.parsed().subject() == Some(subject))
            .unwrap_or_else(|| panic!("no message {subject}"))
    };
    let good = by_subject("Missed call from Ann");
    assert_eq!(
        addresses(good.parsed().header("Reply-To").unwrap()),
        ["ann@example.com"]
    );
    let bad = by_subject("Missed call from Eve");
    assert!(bad.parsed().header("Reply-To").is_none());
    assert!(!bad.to.iter().any(|to| to == "boss@bakery.test"));
}

#[tokio::test]
async fn a_caller_name_with_line_breaks_cannot_add_a_header_or_a_recipient() {
    let smtp = SmtpSink::start(&[]);
    let app = TestApp::spawn(&email_config(smtp.port, "", "office-email")).await;
    let body = json!({
        "sort_key": "CALL-CRLF",
        "caller_name": "Mallory\r\nBcc: victim@evil.test\r\nX-Injected: yes\n\nfake body",
    });
    assert_eq!(app.post_json(body.to_string()).await.0, 202);
    let received = &smtp.received(1).await[0];
    assert!(
        !received.to.iter().any(|to| to.contains("evil.test")),
        "{:?}",
        received.to
    );
    for line in received.header_lines() {
        assert!(!line.starts_with("Bcc:") && !line.starts_with("X-Injected:"), "{line}");
    }
    let message = received.parsed();
    assert!(message.header("X-Injected").is_none());
    assert_eq!(
        message.subject(),
        Some("Missed call from Mallory Bcc: victim@evil.test X-Injected: yes fake body")
    );
}

#[tokio::test]
async fn a_temporary_refusal_is_retried_until_delivered() {
    let smtp = SmtpSink::start(&[(421, "Service not available, try later")]);
    let app = TestApp::spawn(&email_config(smtp.port, "", "office-email")).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = app.wait_for_state(&id, "office-email", "delivered").await;
    let attempts = app.attempts(delivery.id).await;
    let summary: Vec<(&str, Option<i64>)> = attempts.iter().map(|a| (a.outcome.as_str(), a.status)).collect();
    assert_eq!(summary, [("retry", Some(421)), ("delivered", Some(250))]);
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("transient error (421): Service not available, try later")
    );
    assert_eq!(smtp.received(1).await.len(), 1);
}

#[tokio::test]
async fn a_permanent_refusal_is_dead_at_once_with_the_reply() {
    let smtp = SmtpSink::refusing_recipients(550, "Mailbox unavailable: office@bakery.test");
    let app = TestApp::spawn(&email_config(smtp.port, "", "office-email")).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = app.wait_for_state(&id, "office-email", "dead").await;
    assert_eq!(delivery.attempts, 1);
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("permanent error (550): Mailbox unavailable: office@bakery.test")
    );
    assert_eq!(app.attempts(delivery.id).await[0].status, Some(550));
}

#[tokio::test]
async fn a_server_that_never_answers_does_not_delay_slack() {
    let slack = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&slack)
        .await;
    let extra = format!(
        "  slack:\n    type: slack\n    webhook_url: \"{}/services/T/B/XXXXSECRETXXXX\"",
        slack.uri()
    );
    let app = TestApp::spawn(&email_config(silent_server(), &extra, "office-email, slack")).await;
    let id = app.accept("01-docs-example.json").await;
    app.wait_for_state(&id, "slack", "delivered").await;
    let email = app
        .deliveries(&id)
        .await
        .into_iter()
        .find(|d| d.destination == "office-email")
        .unwrap();
    assert_eq!(email.state, "pending");
    // The silent server times out and the email waits for its retry.
    let timed_out = poll(std::time::Duration::from_secs(20), || async {
        let attempts = app.attempts(email.id).await;
        attempts.first().cloned()
    })
    .await
    .expect("an attempt is recorded");
    assert_eq!(timed_out.outcome, "retry");
    assert!(
        timed_out.error.as_deref().unwrap_or_default().contains("timed out"),
        "{:?}",
        timed_out.error
    );
}

#[tokio::test]
async fn a_call_back_travels_as_a_calendar_invitation() {
    let smtp = SmtpSink::start(&[]);
    let yaml = email_config(smtp.port, "", "office-email").replace(
        "    html: email/call.html.hbs\n",
        "    html: email/call.html.hbs\n    invite: true\n",
    );
    let app = TestApp::spawn(&yaml).await;
    let id = app.accept("02-dutch-callback.json").await;
    app.wait_for_state(&id, "office-email", "delivered").await;
    let received = &smtp.received(1).await[0];
    let message = received.parsed();
    let root = message.content_type().unwrap();
    assert_eq!((root.ctype(), root.subtype()), ("multipart", Some("alternative")));
    let calendar = message
        .parts
        .iter()
        .find(|part| {
            part.content_type()
                .is_some_and(|t| t.ctype() == "text" && t.subtype() == Some("calendar"))
        })
        .expect("a text/calendar part");
    assert_eq!(calendar.content_type().unwrap().attribute("method"), Some("REQUEST"));
    let ics = calendar.text_contents().unwrap();
    for line in [
        "METHOD:REQUEST\r\n",
        "SEQUENCE:0\r\n",
        "ORGANIZER:mailto:calls@bakery.test\r\n",
        "ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:office@bakery.test\r\n",
        "ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:owner@bakery.test\r\n",
        "DTSTART:20241204T080000Z\r\n",
        "SUMMARY:Call back Sanne de Vries\r\n",
    ] {
        assert!(ics.contains(line), "{line:?} missing in\n{ics}");
    }
    let parsed: icalendar::Calendar = ics.parse().unwrap();
    assert_eq!(parsed.property_value("METHOD"), Some("REQUEST"));

    // A call that needs no call-back gets the email without an invitation.
    let id = app.accept("03-answered-no-callback.json").await;
    app.wait_for_state(&id, "office-email", "delivered").await;
    let plain = &smtp.received(2).await[1];
    assert!(!String::from_utf8_lossy(&plain.data).contains("text/calendar"));
}

#[tokio::test]
async fn starttls_with_a_trusted_ca_and_a_login() {
    let (smtp, tls) = SmtpSink::with_starttls();
    let yaml = email_config(smtp.port, "", "office-email").replace(
        "    security: none\n",
        &format!(
            "    security: starttls\n    username: calls\n    password: {}\n    ca_file: {}\n",
            support::smtp::PASSWORD,
            tls.ca_file.display()
        ),
    );
    let app = TestApp::spawn(&yaml).await;
    let id = app.accept("02-dutch-callback.json").await;
    let delivery = app.wait_for_state(&id, "office-email", "delivered").await;
    assert_eq!(smtp.logins(), ["calls"]);
    assert_eq!(
        smtp.received(1).await[0].parsed().subject(),
        Some("Missed call from Sanne de Vries")
    );
    let recorded = app.attempts(delivery.id).await[0].request.clone().unwrap();
    assert!(!recorded.contains(support::smtp::PASSWORD));
}

#[tokio::test]
async fn starttls_refuses_a_server_it_does_not_trust() {
    let (smtp, _tls) = SmtpSink::with_starttls();
    let yaml = email_config(smtp.port, "", "office-email").replace(
        "    security: none\n",
        "    security: starttls\n    username: calls\n    password: smtp-secret-password\n",
    );
    let app = TestApp::spawn(&yaml).await;
    let id = app.accept("02-dutch-callback.json").await;
    let attempt = poll(std::time::Duration::from_secs(20), || async {
        let delivery = app.deliveries(&id).await.into_iter().next()?;
        app.attempts(delivery.id).await.into_iter().next()
    })
    .await
    .expect("an attempt");
    assert_eq!(attempt.outcome, "retry");
    let error = attempt.error.unwrap();
    assert!(error.contains("tls error") || error.contains("certificate"), "{error}");
    assert!(smtp.logins().is_empty(), "no password was sent to an untrusted server");
}
