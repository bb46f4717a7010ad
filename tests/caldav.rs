//! The caldav destination against a real CalDAV server (Radicale on
//! loopback): the event is stored once, read back at the right local time,
//! folded and escaped as RFC 5545 wants, and a resend counts as done.

mod support;

use callbridge::destinations::idempotency_key;
use icalendar::Component;
use support::radicale::{self, Radicale};
use support::*;

fn caldav_config(collection: &str) -> String {
    config_yaml(&format!(
        r#"
destinations:
  calendar:
    type: caldav
    url: "{collection}"
    username: {user}
    password: {password}
routes:
  - name: callbacks
    match: {{ call_back_needed: true }}
    to: [calendar]
"#,
        user = radicale::USER,
        password = radicale::PASSWORD
    ))
}

fn resource(call_id: &str) -> String {
    format!("callbridge-{}.ics", idempotency_key(call_id, "calendar"))
}

fn event_of(ics: &str) -> icalendar::Event {
    let calendar: icalendar::Calendar = ics.parse().unwrap_or_else(|e| panic!("{e}\n{ics}"));
    calendar
        .components
        .iter()
        .find_map(|c| c.as_event().cloned())
        .expect("a VEVENT")
}

#[tokio::test]
async fn the_callback_is_stored_as_an_event_at_the_right_local_time() {
    let radicale = Radicale::start().await;
    let app = TestApp::spawn(&caldav_config(&radicale.collection)).await;
    // Sanne, Tue 3 Dec 2024 09:00, "Morgenochtend": Wed 4 Dec 09:00 in Amsterdam.
    let id = app.accept("02-dutch-callback.json").await;
    let delivery = app.wait_for_state(&id, "calendar", "delivered").await;
    assert_eq!(app.attempts(delivery.id).await[0].status, Some(201));

    let (status, stored) = radicale.get(&resource(&id)).await;
    assert_eq!(status, 200, "{stored}");
    let event = event_of(&stored);
    assert_eq!(event.get_summary(), Some("Call back Sanne de Vries"));
    assert_eq!(
        event.get_description(),
        Some(
            "Sanne de Vries wil een offerte voor zonnepanelen (ongeveer 12 panelen) en vraagt om morgenochtend na 9 uur teruggebeld te worden.\n\nNumber: +31612345678\nThe caller asked: Morgenochtend"
        )
    );
    assert_eq!(
        event.get_uid(),
        Some(format!("{}@callbridge", resource(&id).trim_end_matches(".ics")).as_str())
    );
    let start = stored.lines().find(|l| l.starts_with("DTSTART")).unwrap().trim_end();
    assert_eq!(start, "DTSTART:20241204T080000Z");
    let local = "2024-12-04T08:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Amsterdam").unwrap());
    assert_eq!(local.strftime("%a %Y-%m-%d %H:%M").to_string(), "Wed 2024-12-04 09:00");
    assert!(stored.contains("END:VALARM"), "{stored}");
}

#[tokio::test]
async fn caller_text_is_escaped_and_folded_and_a_resend_counts_as_done() {
    let radicale = Radicale::start().await;
    let app = TestApp::spawn(&caldav_config(&radicale.collection)).await;
    let id = app.accept("07-special-characters.json").await;
    let delivery = app.wait_for_state(&id, "calendar", "delivered").await;
    let request = app.attempts(delivery.id).await[0].request.clone().unwrap();
    let (head, body) = request.split_once("\n\n").unwrap();
    assert!(head.contains("If-None-Match: *"), "{head}");
    assert!(head.contains("Authorization: [redacted]"), "{head}");
    assert!(!request.contains(radicale::PASSWORD));

    // What was sent: CRLF lines of at most 75 octets, parsed back intact.
    assert!(body.ends_with("END:VCALENDAR\r\n"));
    for line in body.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
        assert!(!line.contains('\n'), "bare LF in {line:?}");
    }
    let sent = event_of(body);
    assert_eq!(
        sent.get_summary(),
        Some("Call back Zoë \"Zee\" O'Brien <admin@example.com>")
    );
    let description = sent.get_description().unwrap();
    assert!(
        description.starts_with(
            "Zoë says: \"the heater is broken\" & needs help ASAP!\nSecond line with a backslash \\ and a tab\there. <!channel>"
        ),
        "{description:?}"
    );
    assert!(
        description.ends_with("🔥🚒 مرحبا\n\nNumber: +31611112222\nThe caller asked: ASAP"),
        "{description:?}"
    );
    assert!(
        body.contains("backslash \\\\ and"),
        "TEXT escaping of the backslash: {body}"
    );
    assert_eq!(radicale.get(&resource(&id)).await.0, 200);

    // Sent again (as after a crash between the PUT and its record): the
    // server answers 412 and the delivery is done, with one event stored.
    let db = rusqlite::Connection::open(app.dir.path().join("callbridge.db")).unwrap();
    db.execute("UPDATE deliveries SET state = 'pending' WHERE id = ?", [delivery.id])
        .unwrap();
    let again = poll(std::time::Duration::from_secs(20), || async {
        let attempts = app.attempts(delivery.id).await;
        (attempts.len() == 2).then(|| attempts[1].clone())
    })
    .await
    .expect("a second attempt");
    assert_eq!((again.outcome.as_str(), again.status), ("delivered", Some(412)));
}

#[tokio::test]
async fn a_call_without_a_call_back_makes_no_event() {
    let radicale = Radicale::start().await;
    let yaml = caldav_config(&radicale.collection).replace("    match: { call_back_needed: true }\n", "");
    let app = TestApp::spawn(&yaml).await;
    let id = app.accept("03-answered-no-callback.json").await;
    let dead = app.wait_for_state(&id, "calendar", "dead").await;
    assert_eq!(
        dead.last_error.as_deref(),
        Some("template calendar: this call asks for no call-back, so there is no event to make")
    );
}
