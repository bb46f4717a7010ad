//! The call-back as an RFC 5545 event: UTC times (so no VTIMEZONE is
//! needed, and no TZID stands alone), TEXT escaping, lines folded at 75
//! octets on character boundaries, CRLF line ends.
//!
//! Written here rather than with the icalendar crate: it stamps every
//! component it writes with DTSTAMP (the wall clock) and a random UID,
//! VALARM included, where RFC 5545 has neither — and every attempt of one
//! call must send the same bytes. The crate's parser checks the result in
//! the tests.

use jiff::{SignedDuration, Timestamp};

/// A call-back event lasts this long (callback-time spec §12).
pub const LENGTH: SignedDuration = SignedDuration::from_mins(15);
/// RFC 5545 §3.1: content lines SHOULD NOT exceed 75 octets.
const FOLD_AT: usize = 75;

#[derive(Debug, Clone, PartialEq)]
pub struct CallbackEvent {
    /// Stable per call, so a resend updates nothing and duplicates nothing.
    pub uid: String,
    pub start: Timestamp,
    /// When the event was made: the call's receipt, so every attempt sends the same event.
    pub stamp: Timestamp,
    pub summary: String,
    pub description: String,
}

/// Who sends an emailed invitation (iMIP, RFC 6047) and who gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub organizer: String,
    pub attendees: Vec<String>,
}

impl CallbackEvent {
    /// A VCALENDAR holding just this event, as a CalDAV resource (no METHOD).
    pub fn to_ics(&self) -> String {
        self.calendar(None)
    }

    /// The event as an iTIP REQUEST, for a `text/calendar; method=REQUEST`
    /// part of an email.
    pub fn to_invitation(&self, invitation: &Invitation) -> String {
        self.calendar(Some(invitation))
    }

    fn calendar(&self, invitation: Option<&Invitation>) -> String {
        let end = self.start.checked_add(LENGTH).unwrap_or(self.start);
        let mut lines = vec![
            "BEGIN:VCALENDAR".to_owned(),
            "VERSION:2.0".to_owned(),
            "PRODID:-//callbridge//callbridge//EN".to_owned(),
        ];
        if invitation.is_some() {
            lines.push("METHOD:REQUEST".to_owned());
        }
        lines.extend([
            "BEGIN:VEVENT".to_owned(),
            format!("UID:{}", text(&self.uid)),
            format!("DTSTAMP:{}", utc(self.stamp)),
            format!("DTSTART:{}", utc(self.start)),
            format!("DTEND:{}", utc(end)),
            format!("SUMMARY:{}", text(&self.summary)),
            format!("DESCRIPTION:{}", text(&self.description)),
        ]);
        if let Some(invitation) = invitation {
            lines.push("SEQUENCE:0".to_owned());
            lines.push(format!("ORGANIZER:mailto:{}", invitation.organizer));
            for attendee in &invitation.attendees {
                lines.push(format!("ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{attendee}"));
            }
        }
        lines.extend([
            "BEGIN:VALARM".to_owned(),
            "ACTION:DISPLAY".to_owned(),
            "TRIGGER:-PT5M".to_owned(),
            format!("DESCRIPTION:{}", text(&self.summary)),
            "END:VALARM".to_owned(),
            "END:VEVENT".to_owned(),
            "END:VCALENDAR".to_owned(),
        ]);
        lines.iter().map(|line| fold(line)).collect()
    }
}

/// RFC 5545 UTC form: `20240313T080000Z`.
fn utc(at: Timestamp) -> String {
    at.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT escaping (§3.3.11): backslash, semicolon, comma and line breaks.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => out.push_str("\\n"),
            c if c.is_control() && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// One content line, folded (CRLF + space) so no physical line passes 75
/// octets and no UTF-8 character is split.
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / FOLD_AT * 3 + 2);
    let mut used = 0;
    for c in line.chars() {
        if used + c.len_utf8() > FOLD_AT {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_and_the_event_lasts_a_quarter_of_an_hour() {
        let event = CallbackEvent {
            uid: "callbridge-abc@callbridge".into(),
            start: "2024-03-13T08:00:00Z".parse().unwrap(),
            stamp: "2024-03-12T09:15:00Z".parse().unwrap(),
            summary: "Call back Sanne".into(),
            description: "Quote; panels, 12".into(),
        };
        let ics = event.to_ics();
        for line in [
            "BEGIN:VCALENDAR\r\n",
            "VERSION:2.0\r\n",
            "DTSTART:20240313T080000Z\r\n",
            "DTEND:20240313T081500Z\r\n",
            "DTSTAMP:20240312T091500Z\r\n",
            "UID:callbridge-abc@callbridge\r\n",
            "DESCRIPTION:Quote\\; panels\\, 12\r\n",
            "TRIGGER:-PT5M\r\n",
            "END:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        ] {
            assert!(ics.contains(line), "{line:?} missing in\n{ics}");
        }
        assert!(!ics.contains("METHOD"), "a CalDAV resource has no METHOD");
        assert!(!ics.contains("TZID"), "UTC times need no time zone");
    }

    #[test]
    fn long_lines_fold_on_character_boundaries() {
        let line = format!("DESCRIPTION:{}", "é".repeat(60));
        let folded = fold(&line);
        for physical in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= FOLD_AT, "{} octets: {physical}", physical.len());
        }
        assert_eq!(folded.replace("\r\n ", "").trim_end(), line);
        assert_eq!(text("a\r\nb\nc\\d"), "a\\nb\\nc\\\\d");
    }
}
