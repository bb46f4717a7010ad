//! Turns a free-text `callback_time` ("morgenmiddag om half drie",
//! "after 3pm", an ISO timestamp) into a due instant, as specified in
//! `callback-time-spec.md`. Pure: the only "now" is the call's timestamp.
//!
//! The text is normalised (§3), lexed with longest-match wins (§4), split
//! into alternatives whose parts must agree (§5), and each alternative is
//! placed in a window (§6, §8). Anything not fully understood falls back to
//! the next business slot, flagged so that a human reads the original.

mod business_hours;
mod calendar;
mod clock;
mod combine;
mod day_parts;
mod days;
mod iso;
mod lexer;
mod lexicon;
mod normalise;
mod specs;
mod windows;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

pub use business_hours::{BusinessHours, BusinessHoursError, OpeningHours};
use calendar::Calendar;
use combine::{Plan, WindowSpec};
use iso::IsoText;
use normalise::Normalised;

/// Resolver configuration (§1). The day-part windows are the fixed §6 defaults.
#[derive(Clone, Debug)]
pub struct Settings {
    /// All local dates and clock times are in this zone.
    pub timezone: TimeZone,
    pub business_hours: BusinessHours,
    /// Dates closed all day.
    pub holidays: Vec<Date>,
    /// A due time further than this many days after the call is `too_far`.
    pub horizon_days: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// Always set: the fallback (next business slot) when not understood.
    pub due: Timestamp,
    pub understood: bool,
    /// Why the text was not understood; `None` when it was.
    pub reason: Option<Reason>,
    /// The raw `callback_time`, unchanged.
    pub original: Option<String>,
}

/// Why a `callback_time` was not understood (§11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Empty,
    NoTime,
    Unparsed,
    Conflict,
    Ambiguous,
    BadReference,
    ImplausibleTime,
    Past,
    TooFar,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Empty => "empty",
            Reason::NoTime => "no_time",
            Reason::Unparsed => "unparsed",
            Reason::Conflict => "conflict",
            Reason::Ambiguous => "ambiguous",
            Reason::BadReference => "bad_reference",
            Reason::ImplausibleTime => "implausible_time",
            Reason::Past => "past",
            Reason::TooFar => "too_far",
        }
    }
}

impl Resolution {
    /// RFC 3339 in `tz` with seconds and a numeric offset (`+00:00`, never `Z`).
    pub fn due_rfc3339(&self, tz: &TimeZone) -> String {
        let local = tz.to_datetime(self.due);
        let offset = tz.to_offset(self.due).seconds();
        let sign = if offset < 0 { '-' } else { '+' };
        let (hours, minutes) = (offset.unsigned_abs() / 3600, offset.unsigned_abs() % 3600 / 60);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{hours:02}:{minutes:02}",
            local.year(),
            local.month(),
            local.day(),
            local.hour(),
            local.minute(),
            local.second(),
        )
    }
}

/// §2: a call timestamp outside 2000-01-01 ≤ t < 2100-01-01 is not trusted.
const TRUSTED_SECONDS: std::ops::Range<i64> = 946_684_800..4_102_444_800;

/// Resolves `callback_time` relative to the call at `calltimestamp` (unix
/// seconds). `received_at` is only used when `calltimestamp` is missing or
/// implausible, and the result is then flagged `bad_reference`.
pub fn resolve(
    callback_time: Option<&str>,
    calltimestamp: Option<i64>,
    received_at: Timestamp,
    settings: &Settings,
) -> Resolution {
    let calendar = Calendar::new(settings);
    let trusted = calltimestamp.filter(|seconds| TRUSTED_SECONDS.contains(seconds));
    let (reference, outcome) = match trusted.and_then(|seconds| Timestamp::from_second(seconds).ok()) {
        Some(reference) => (reference, understood_due(callback_time, reference, &calendar)),
        None => (whole_seconds(received_at), Err(Reason::BadReference)),
    };
    let outcome = outcome.and_then(|due| within_horizon(due, reference, settings));
    let original = callback_time.map(str::to_owned);
    match outcome {
        Ok(due) => Resolution {
            due,
            understood: true,
            reason: None,
            original,
        },
        Err(reason) => Resolution {
            due: calendar.next_business_slot(reference),
            understood: false,
            reason: Some(reason),
            original,
        },
    }
}

fn understood_due(callback_time: Option<&str>, reference: Timestamp, calendar: &Calendar) -> Result<Timestamp, Reason> {
    let tokens = match normalise::normalise(callback_time)? {
        Normalised::Iso(iso) => return iso_due(iso, reference, calendar),
        Normalised::Tokens(tokens) => tokens,
    };
    let lexemes = lexer::lex(&tokens)?;
    let today = calendar.local_date(reference);
    // R7: a past alternative gives way to another; any other failure flags the text.
    let mut earliest: Option<Timestamp> = None;
    for alternative in specs::alternatives(&lexemes)? {
        let plan = combine::plan(&alternative, today, calendar)?;
        match windows::due(plan, reference, calendar) {
            Ok(due) => earliest = Some(earliest.map_or(due, |earliest| earliest.min(due))),
            Err(Reason::Past) => {}
            Err(reason) => return Err(reason),
        }
    }
    earliest.ok_or(Reason::Past)
}

/// §10: an ISO date is an explicit day; a date-time is taken as stated.
fn iso_due(iso: IsoText, reference: Timestamp, calendar: &Calendar) -> Result<Timestamp, Reason> {
    let due = match iso {
        IsoText::Date(date) => {
            return windows::due(Plan::OnDay(date, WindowSpec::WholeDay), reference, calendar);
        }
        IsoText::Local(local) => calendar.instant(local).ok_or(Reason::Unparsed)?,
        IsoText::Instant(instant) => instant,
    };
    if due < reference { Err(Reason::Past) } else { Ok(due) }
}

/// R8: the horizon counts local calendar days, like every other day count.
fn within_horizon(due: Timestamp, reference: Timestamp, settings: &Settings) -> Result<Timestamp, Reason> {
    let horizon = Span::new().try_days(settings.horizon_days).ok().and_then(|days| {
        reference
            .to_zoned_datetime(settings.timezone.clone())
            .checked_add(days)
            .ok()
    });
    match horizon {
        Some(horizon) if due > horizon.timestamp() => Err(Reason::TooFar),
        // A horizon beyond the representable range excludes nothing.
        _ => Ok(due),
    }
}

/// §2: precision is seconds.
fn whole_seconds(instant: Timestamp) -> Timestamp {
    Timestamp::from_second(instant.as_second()).unwrap_or(instant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(timezone: &str) -> Settings {
        Settings {
            timezone: TimeZone::get(timezone).expect("known zone"),
            business_hours: "Mon-Fri 09:00-17:00".parse().expect("valid hours"),
            holidays: Vec::new(),
            horizon_days: 90,
        }
    }

    /// Tue 2024-03-12 10:15 in Amsterdam, inside business hours.
    const TUESDAY_MORNING: i64 = 1_710_234_900;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("in range")
    }

    #[test]
    fn odd_input_is_flagged_and_falls_back_to_now() {
        let settings = settings("Europe/Amsterdam");
        let long_number = "9".repeat(10_000);
        let texts = [
            "99:99",
            "🙏",
            "غدا الساعة ٣",
            long_number.as_str(),
            "\u{0}\u{7}",
            "2024-99-99",
            "in 99999999999999999999 hours",
            "—",
            "between 25 and 26",
            "1.2.3",
            "’’’",
            "a.m.p.m.",
            "tomorrow tomorrow tomorrow or or or",
        ];
        for text in texts {
            let resolution = resolve(Some(text), Some(TUESDAY_MORNING), at(0), &settings);
            assert!(!resolution.understood, "{text:?}");
            assert_eq!(resolution.due, at(TUESDAY_MORNING), "{text:?}");
            assert_eq!(resolution.original.as_deref(), Some(text));
        }
    }

    #[test]
    fn a_call_timestamp_outside_2000_to_2100_is_a_bad_reference() {
        let settings = settings("UTC");
        let received = at(TUESDAY_MORNING);
        for (calltimestamp, trusted) in [
            (946_684_799, false),
            (946_684_800, true),
            (4_102_444_799, true),
            (4_102_444_800, false),
        ] {
            let resolution = resolve(Some("asap"), Some(calltimestamp), received, &settings);
            assert_eq!(resolution.understood, trusted, "{calltimestamp}");
        }
        let resolution = resolve(Some("asap"), None, received, &settings);
        assert_eq!(resolution.reason, Some(Reason::BadReference));
        assert_eq!(resolution.due, received);
    }

    #[test]
    fn due_is_printed_with_a_numeric_offset() {
        let resolution = resolve(Some("asap"), Some(TUESDAY_MORNING), at(0), &settings("UTC"));
        assert_eq!(resolution.due_rfc3339(&TimeZone::UTC), "2024-03-12T09:15:00+00:00");
        let st_johns = TimeZone::get("America/St_Johns").expect("known zone");
        assert_eq!(resolution.due_rfc3339(&st_johns), "2024-03-12T06:45:00-02:30");
    }
}
