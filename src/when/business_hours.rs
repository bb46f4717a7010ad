//! Opening hours per weekday, parsed from the `business_hours` setting (§9).

use std::str::FromStr;

use jiff::civil::{Time, Weekday};

use super::clock::two_digits;

/// One day's opening interval; `open < close`, never across midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpeningHours {
    pub open: Time,
    pub close: Time,
}

/// Opening hours for each weekday, from a string such as
/// `Mon-Thu 08:30-17:30; Fri 08:30-16:00`. Unlisted days are closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessHours {
    /// Indexed by `Weekday::to_monday_zero_offset`.
    by_weekday: [Option<OpeningHours>; 7],
    /// The hours of the first segment, used for explicit days that are closed.
    nominal: OpeningHours,
}

impl BusinessHours {
    /// The hours of `weekday`, or `None` when it is closed.
    pub fn on(&self, weekday: Weekday) -> Option<OpeningHours> {
        self.by_weekday[weekday_index(weekday)]
    }

    /// The hours of the first segment, for days that are closed.
    pub fn nominal(&self) -> OpeningHours {
        self.nominal
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BusinessHoursError {
    #[error("business hours are empty; expected e.g. `Mon-Fri 09:00-17:00`")]
    Empty,
    #[error("business hours contain an empty segment (a stray `;`?)")]
    EmptySegment,
    #[error("segment `{0}` is not of the form `Day[-Day] HH:MM-HH:MM`")]
    Shape(String),
    #[error("`{0}` is not a day; expected one of Mon Tue Wed Thu Fri Sat Sun")]
    Day(String),
    #[error("day range `{0}` wraps around the week; split it into two segments")]
    WrappingDays(String),
    #[error("`{0}` is not a time of day; expected HH:MM between 00:00 and 23:59")]
    Time(String),
    #[error("in segment `{0}` the opening time is not before the closing time")]
    OpenNotBeforeClose(String),
    #[error("{0} is listed twice")]
    DuplicateDay(&'static str),
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl FromStr for BusinessHours {
    type Err = BusinessHoursError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().is_empty() {
            return Err(BusinessHoursError::Empty);
        }
        let mut by_weekday = [None; 7];
        let mut nominal = None;
        for segment in text.split(';').map(str::trim) {
            let (days, hours) = parse_segment(segment)?;
            for day in days {
                if by_weekday[day].replace(hours).is_some() {
                    return Err(BusinessHoursError::DuplicateDay(DAY_NAMES[day]));
                }
            }
            nominal.get_or_insert(hours);
        }
        // Not reachable with a non-empty text, but an error beats a panic.
        let nominal = nominal.ok_or(BusinessHoursError::Empty)?;
        Ok(BusinessHours { by_weekday, nominal })
    }
}

fn parse_segment(segment: &str) -> Result<(std::ops::RangeInclusive<usize>, OpeningHours), BusinessHoursError> {
    if segment.is_empty() {
        return Err(BusinessHoursError::EmptySegment);
    }
    let mut words = segment.split_whitespace();
    let (Some(days), Some(hours), None) = (words.next(), words.next(), words.next()) else {
        return Err(BusinessHoursError::Shape(segment.to_owned()));
    };
    let days = match days.split_once('-') {
        Some((first, last)) => {
            let (first, last) = (parse_day(first)?, parse_day(last)?);
            if first > last {
                return Err(BusinessHoursError::WrappingDays(days.to_owned()));
            }
            first..=last
        }
        None => {
            let day = parse_day(days)?;
            day..=day
        }
    };
    let Some((open, close)) = hours.split_once('-') else {
        return Err(BusinessHoursError::Shape(segment.to_owned()));
    };
    let (open, close) = (parse_time(open)?, parse_time(close)?);
    if open >= close {
        return Err(BusinessHoursError::OpenNotBeforeClose(segment.to_owned()));
    }
    Ok((days, OpeningHours { open, close }))
}

fn parse_day(text: &str) -> Result<usize, BusinessHoursError> {
    DAY_NAMES
        .iter()
        .position(|name| name.eq_ignore_ascii_case(text))
        .ok_or_else(|| BusinessHoursError::Day(text.to_owned()))
}

/// Strict `HH:MM`, two digits each.
fn parse_time(text: &str) -> Result<Time, BusinessHoursError> {
    let invalid = || BusinessHoursError::Time(text.to_owned());
    let (hour, minute) = text.split_once(':').ok_or_else(invalid)?;
    let (hour, minute) = (
        two_digits(hour).ok_or_else(invalid)?,
        two_digits(minute).ok_or_else(invalid)?,
    );
    Time::new(hour, minute, 0, 0).map_err(|_| invalid())
}

fn weekday_index(weekday: Weekday) -> usize {
    // `to_monday_zero_offset` is 0..=6 by construction.
    usize::from(weekday.to_monday_zero_offset().unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::time;

    fn parse(text: &str) -> Result<BusinessHours, BusinessHoursError> {
        text.parse()
    }

    #[test]
    fn parses_several_segments_with_the_first_as_nominal() {
        let hours = parse("Mon-Thu 08:30-17:30; fri 08:30-16:00").expect("valid");
        let long = OpeningHours {
            open: time(8, 30, 0, 0),
            close: time(17, 30, 0, 0),
        };
        assert_eq!(hours.on(Weekday::Monday), Some(long));
        assert_eq!(hours.on(Weekday::Thursday), Some(long));
        assert_eq!(hours.on(Weekday::Friday).map(|h| h.close), Some(time(16, 0, 0, 0)));
        assert_eq!(hours.on(Weekday::Saturday), None);
        assert_eq!(hours.nominal(), long);
    }

    #[test]
    fn rejects_malformed_text_with_a_specific_error() {
        use BusinessHoursError as E;
        let cases = [
            ("", E::Empty),
            ("Mon-Fri 09:00-17:00;", E::EmptySegment),
            ("Mon-Fri", E::Shape("Mon-Fri".into())),
            ("Mon-Fri 09:00 17:00", E::Shape("Mon-Fri 09:00 17:00".into())),
            ("Mon-Fri 09:00", E::Shape("Mon-Fri 09:00".into())),
            ("Mo-Fr 09:00-17:00", E::Day("Mo".into())),
            ("Sat-Mon 09:00-17:00", E::WrappingDays("Sat-Mon".into())),
            ("Mon 9:00-17:00", E::Time("9:00".into())),
            ("Mon 09:00-24:00", E::Time("24:00".into())),
            ("Mon 09:60-17:00", E::Time("09:60".into())),
            ("Mon 17:00-09:00", E::OpenNotBeforeClose("Mon 17:00-09:00".into())),
            ("Mon 09:00-09:00", E::OpenNotBeforeClose("Mon 09:00-09:00".into())),
            ("Mon-Fri 09:00-17:00; Fri 10:00-12:00", E::DuplicateDay("Fri")),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn error_messages_name_the_offending_part() {
        let message = parse("Mon-Fri 09:00-17:00; Sun 08:00-1200")
            .expect_err("invalid")
            .to_string();
        assert!(message.contains("1200"), "{message}");
    }
}
