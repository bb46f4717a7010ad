//! When a cron job next runs, in local time that stays right across DST.
//!
//! tokio-cron-scheduler's time-zone jobs keep the UTC offset they were
//! made with, so after a DST change they fire an hour off (its issues #87,
//! #107). Here the cron pattern is matched against the *wall clock* of the
//! zone, and the wall-clock time found becomes an instant with jiff's
//! RFC 5545 rules: a time in the spring gap moves forward, a time in the
//! autumn fold is the earlier one (so it fires once).

use chrono::{Datelike, NaiveDate, TimeZone as _, Timelike, Utc};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

#[derive(Debug, Clone)]
pub struct Schedule {
    cron: croner::Cron,
    zone: TimeZone,
}

impl Schedule {
    /// `pattern`: five fields (minute hour day month weekday), or six with seconds.
    pub fn new(pattern: &str, zone: TimeZone) -> Result<Self, String> {
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Optional)
            .build()
            .parse(pattern)
            .map_err(|e| format!("`{pattern}` is not a cron pattern: {e}"))?;
        Ok(Self { cron, zone })
    }

    /// The first run strictly after `after`.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let wall = after.to_zoned_datetime(self.zone.clone()).datetime();
        // The wall clock carried as if it were UTC, which has no DST.
        let carried = Utc.from_utc_datetime(
            &NaiveDate::from_ymd_opt(wall.year().into(), wall.month() as u32, wall.day() as u32)?.and_hms_nano_opt(
                wall.hour() as u32,
                wall.minute() as u32,
                wall.second() as u32,
                wall.subsec_nanosecond() as u32,
            )?,
        );
        let next = self.cron.find_next_occurrence(&carried, false).ok()?.naive_utc();
        let civil = DateTime::new(
            i16::try_from(next.year()).ok()?,
            i8::try_from(next.month()).ok()?,
            i8::try_from(next.day()).ok()?,
            i8::try_from(next.hour()).ok()?,
            i8::try_from(next.minute()).ok()?,
            i8::try_from(next.second()).ok()?,
            0,
        )
        .ok()?;
        let instant = self
            .zone
            .to_ambiguous_zoned_datetime(civil)
            .compatible()
            .ok()?
            .timestamp();
        // In the fold, the wall clock repeats: never go back to an earlier instant.
        if instant > after {
            Some(instant)
        } else {
            self.next_after(instant.checked_add(jiff::SignedDuration::from_hours(1)).ok()?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amsterdam(pattern: &str) -> Schedule {
        Schedule::new(pattern, TimeZone::get("Europe/Amsterdam").unwrap()).unwrap()
    }

    fn next(schedule: &Schedule, after: &str) -> String {
        let after: Timestamp = after.parse().unwrap();
        let zone = TimeZone::get("Europe/Amsterdam").unwrap();
        schedule
            .next_after(after)
            .unwrap()
            .to_zoned_datetime(zone)
            .strftime("%a %Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    }

    #[test]
    fn weekday_mornings_stay_at_half_past_eight_across_the_autumn_change() {
        let digest = amsterdam("30 8 * * Mon-Fri");
        // Friday 2024-10-25 12:00 CEST; the clocks go back on Sunday 27 October.
        assert_eq!(next(&digest, "2024-10-25T10:00:00Z"), "Mon 2024-10-28T08:30:00+01:00");
        assert_eq!(next(&digest, "2024-10-24T12:00:00Z"), "Fri 2024-10-25T08:30:00+02:00");
        let daily = amsterdam("30 8 * * *");
        assert_eq!(next(&daily, "2024-10-26T07:00:00Z"), "Sun 2024-10-27T08:30:00+01:00");
        // Spring: 31 March 2024.
        assert_eq!(next(&daily, "2024-03-30T08:00:00Z"), "Sun 2024-03-31T08:30:00+02:00");
    }

    #[test]
    fn a_time_in_the_gap_moves_forward_and_one_in_the_fold_fires_once() {
        let night = amsterdam("30 2 * * *");
        // 02:30 does not exist on 31 March 2024: it runs at 03:30 CEST.
        assert_eq!(next(&night, "2024-03-30T12:00:00Z"), "Sun 2024-03-31T03:30:00+02:00");
        // 02:30 happens twice on 27 October 2024: the first one only.
        let first = "2024-10-27T00:30:00Z";
        assert_eq!(next(&night, "2024-10-26T12:00:00Z"), "Sun 2024-10-27T02:30:00+02:00");
        assert_eq!(next(&night, first), "Mon 2024-10-28T02:30:00+01:00");
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let error = Schedule::new("every morning", TimeZone::UTC).unwrap_err();
        assert!(error.starts_with("`every morning` is not a cron pattern"), "{error}");
    }
}
