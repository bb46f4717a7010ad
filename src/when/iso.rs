//! ISO 8601 text (N4, §10): a date, a local date-time, or an exact instant.

use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::Offset;
use regex::{Captures, Regex};

use super::Reason;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IsoText {
    Date(Date),
    /// A wall-clock time in the configured zone.
    Local(DateTime),
    Instant(Timestamp),
}

/// `None` when the (lowercased) text is not ISO-shaped; `Some(Err)` when it
/// is but names no real date or time, such as `2024-02-30`.
pub(super) fn parse(text: &str) -> Option<Result<IsoText, Reason>> {
    static ISO: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^(\d{4})-(\d{2})-(\d{2})",
            r"(?:[t ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?",
            r"(z|([+-])(\d{2}):?(\d{2}))?)?$",
        ))
        .expect("valid regex")
    });
    ISO.captures(text).map(|found| from_fields(&found))
}

fn from_fields(found: &Captures) -> Result<IsoText, Reason> {
    // Absent groups (seconds) count as 0; present ones are all digits.
    let number = |group: usize| -> Result<i16, Reason> {
        found
            .get(group)
            .map_or(Ok(0), |value| value.as_str().parse().map_err(|_| Reason::Unparsed))
    };
    let small = |group: usize| number(group).and_then(|value| i8::try_from(value).map_err(|_| Reason::Unparsed));
    let date = Date::new(number(1)?, small(2)?, small(3)?).map_err(|_| Reason::Unparsed)?;
    if found.get(4).is_none() {
        return Ok(IsoText::Date(date));
    }
    // Fractional seconds are dropped.
    let time = Time::new(small(4)?, small(5)?, small(6)?, 0).map_err(|_| Reason::Unparsed)?;
    let local = date.to_datetime(time);
    let Some(zone) = found.get(7) else {
        return Ok(IsoText::Local(local));
    };
    let offset_seconds = if zone.as_str() == "z" {
        0
    } else {
        let sign = if found.get(8).is_some_and(|sign| sign.as_str() == "-") {
            -1
        } else {
            1
        };
        sign * (i32::from(number(9)?) * 3600 + i32::from(number(10)?) * 60)
    };
    let offset = Offset::from_seconds(offset_seconds).map_err(|_| Reason::Unparsed)?;
    offset
        .to_timestamp(local)
        .map(IsoText::Instant)
        .map_err(|_| Reason::Unparsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn reads_each_iso_shape() {
        let local = date(2024, 3, 31).at(2, 30, 0, 0);
        assert_eq!(parse("2024-03-31"), Some(Ok(IsoText::Date(date(2024, 3, 31)))));
        assert_eq!(parse("2024-03-31t02:30"), Some(Ok(IsoText::Local(local))));
        assert_eq!(parse("2024-03-31 02:30:00.999"), Some(Ok(IsoText::Local(local))));
        let instant: Timestamp = "2024-03-31T00:30:00Z".parse().expect("instant");
        assert_eq!(parse("2024-03-31t02:30+02:00"), Some(Ok(IsoText::Instant(instant))));
        assert_eq!(parse("2024-03-31t01:30+0100"), Some(Ok(IsoText::Instant(instant))));
        assert_eq!(parse("2024-03-31t00:30:00z"), Some(Ok(IsoText::Instant(instant))));
    }

    #[test]
    fn impossible_values_are_unparsed_and_other_text_is_not_iso() {
        assert_eq!(parse("2024-02-30"), Some(Err(Reason::Unparsed)));
        assert_eq!(parse("2024-03-31t25:00"), Some(Err(Reason::Unparsed)));
        assert_eq!(parse("2024-03-31t10:00+99:00"), Some(Err(Reason::Unparsed)));
        assert_eq!(parse("2024-03-31 at 10"), None);
        assert_eq!(parse("31-03-2024"), None);
    }
}
