//! Clock times as stated, and how they become a time of day (§4.3, and the
//! range rules of §4.4).

use jiff::SignedDuration;
use jiff::civil::Time;

use super::Reason;
use super::day_parts::DayPart;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Meridiem {
    Am,
    Pm,
}

impl Meridiem {
    fn opposite(self) -> Meridiem {
        match self {
            Meridiem::Am => Meridiem::Pm,
            Meridiem::Pm => Meridiem::Am,
        }
    }
}

/// How the hour was written, which decides how it is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    /// 1–12 with no marker (`3`, `three`, `half 4`): the context picks am or pm.
    Bare,
    /// `0`, `13`…`23`, or a leading zero (`07:30`): as written.
    TwentyFourHour,
    Marked(Meridiem),
    /// `noon`, `midnight`.
    Fixed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct StatedClock {
    hour: i8,
    minute: i8,
    second: i8,
    style: Style,
}

impl StatedClock {
    pub(super) const fn fixed(hour: i8) -> StatedClock {
        StatedClock {
            hour,
            minute: 0,
            second: 0,
            style: Style::Fixed,
        }
    }

    /// A 1–12 hour from a word or a half/quarter form; `None` outside 1–12.
    pub(super) fn bare(hour: i8, minute: i8) -> Option<StatedClock> {
        (1..=12).contains(&hour).then_some(StatedClock {
            hour,
            minute,
            second: 0,
            style: Style::Bare,
        })
    }

    /// `H`, `HH`, `H:MM`, `H.MM` or `HH:MM:SS`; `None` when malformed or out of range.
    pub(super) fn from_digits(text: &str) -> Option<StatedClock> {
        let (hour_text, rest) = match text.find([':', '.']) {
            Some(at) => (&text[..at], Some((&text[at..at + 1], &text[at + 1..]))),
            None => (text, None),
        };
        let (minute, second) = match rest {
            None => (0, 0),
            Some((".", minute)) => (two_digits(minute)?, 0),
            Some((_, rest)) => match rest.split_once(':') {
                Some((minute, second)) => (two_digits(minute)?, two_digits(second)?),
                None => (two_digits(rest)?, 0),
            },
        };
        if hour_text.is_empty() || hour_text.len() > 2 || !hour_text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let hour: i8 = hour_text.parse().ok()?;
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let style = if hour == 0 || hour >= 13 || hour_text.starts_with('0') {
            Style::TwentyFourHour
        } else {
            Style::Bare
        };
        Some(StatedClock {
            hour,
            minute,
            second,
            style,
        })
    }

    /// The clock with an explicit `am`/`pm`; `None` unless the hour is 1–12.
    pub(super) fn with_meridiem(self, meridiem: Meridiem) -> Option<StatedClock> {
        let markable = matches!(self.style, Style::Bare | Style::TwentyFourHour) && (1..=12).contains(&self.hour);
        markable.then(|| self.marked(meridiem))
    }

    /// The time of day, with `part` (if any) deciding a bare hour.
    pub(super) fn time_of_day(self, part: Option<DayPart>) -> Result<Time, Reason> {
        let hour = match self.style {
            Style::Fixed | Style::TwentyFourHour => self.hour,
            Style::Marked(meridiem) => on_twelve_hour_clock(self.hour, meridiem),
            Style::Bare => match part.map(DayPart::meridiem) {
                // "12 in the morning" could be noon or midnight.
                Some(Meridiem::Am) if self.hour == 12 => return Err(Reason::Conflict),
                Some(meridiem) => on_twelve_hour_clock(self.hour, meridiem),
                // No clue: read it within 08:00–19:59.
                None if self.hour >= 8 => self.hour,
                None => self.hour + 12,
            },
        };
        Time::new(hour, self.minute, self.second, 0).map_err(|_| Reason::Unparsed)
    }

    /// A bare hour given the `am`/`pm` of the other end of a range.
    fn marked(self, meridiem: Meridiem) -> StatedClock {
        StatedClock {
            style: Style::Marked(meridiem),
            ..self
        }
    }

    /// Whether a bare hour was read as morning only for lack of a clue.
    fn guessed_morning(self, part: Option<DayPart>) -> bool {
        self.style == Style::Bare && part.is_none() && (8..=11).contains(&self.hour)
    }
}

/// Start and end of a range `A–B` (§4.4): a lone `am`/`pm` is shared if that
/// keeps A before B (else the bare end takes the other one), and a bare
/// `between 6 and 8` means the evening.
pub(super) fn range(start: StatedClock, end: StatedClock, part: Option<DayPart>) -> Result<(Time, Time), Reason> {
    let readings = match (start.style, end.style) {
        (Style::Marked(meridiem), Style::Bare) => {
            [(start, end.marked(meridiem)), (start, end.marked(meridiem.opposite()))]
        }
        (Style::Bare, Style::Marked(meridiem)) => {
            [(start.marked(meridiem), end), (start.marked(meridiem.opposite()), end)]
        }
        _ => {
            let (start_time, mut end_time) = (start.time_of_day(part)?, end.time_of_day(part)?);
            if start_time >= end_time && end.guessed_morning(part) {
                end_time = end_time
                    .checked_add(SignedDuration::from_hours(12))
                    .map_err(|_| Reason::Unparsed)?;
            }
            return ordered(start_time, end_time).ok_or(Reason::Unparsed);
        }
    };
    for (start, end) in readings {
        if let Some(range) = ordered(start.time_of_day(part)?, end.time_of_day(part)?) {
            return Ok(range);
        }
    }
    Err(Reason::Unparsed)
}

fn ordered(start: Time, end: Time) -> Option<(Time, Time)> {
    (start < end).then_some((start, end))
}

fn on_twelve_hour_clock(hour: i8, meridiem: Meridiem) -> i8 {
    match meridiem {
        Meridiem::Am => hour % 12,
        Meridiem::Pm => hour % 12 + 12,
    }
}

/// Exactly two ASCII digits, as in `HH:MM`.
pub(super) fn two_digits(text: &str) -> Option<i8> {
    if text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(text: &str) -> StatedClock {
        StatedClock::from_digits(text).expect("a clock time")
    }

    fn read(text: &str) -> Time {
        clock(text).time_of_day(None).expect("readable")
    }

    #[test]
    fn digits_follow_the_daytime_reading_unless_twenty_four_hour() {
        assert_eq!(read("8"), Time::constant(8, 0, 0, 0));
        assert_eq!(read("7"), Time::constant(19, 0, 0, 0));
        assert_eq!(read("07"), Time::constant(7, 0, 0, 0));
        assert_eq!(read("12.30"), Time::constant(12, 30, 0, 0));
        assert_eq!(read("0:15:30"), Time::constant(0, 15, 30, 0));
        assert_eq!(read("13"), Time::constant(13, 0, 0, 0));
    }

    #[test]
    fn malformed_digits_are_not_clock_times() {
        for text in [
            "24", "99:99", "10:60", "10:3", "123", "1.2.3", "10:30.00", ":30", "10:", "٣",
        ] {
            assert_eq!(StatedClock::from_digits(text), None, "{text:?}");
        }
    }

    #[test]
    fn meridiem_needs_a_twelve_hour_value() {
        assert_eq!(clock("13").with_meridiem(Meridiem::Pm), None);
        assert_eq!(clock("0").with_meridiem(Meridiem::Am), None);
        let midnight = clock("12").with_meridiem(Meridiem::Am).expect("12am");
        assert_eq!(midnight.time_of_day(None), Ok(Time::midnight()));
    }

    #[test]
    fn a_morning_part_makes_twelve_a_conflict() {
        assert_eq!(clock("12").time_of_day(Some(DayPart::Morning)), Err(Reason::Conflict));
        assert_eq!(
            clock("12").time_of_day(Some(DayPart::Afternoon)),
            Ok(Time::constant(12, 0, 0, 0))
        );
    }
}
