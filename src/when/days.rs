//! The one date that the day references of an alternative agree on (C2, §7).

use jiff::civil::{Date, Weekday};

use super::Reason;
use super::calendar::{Calendar, add_days};
use super::lexicon::DayMention;

/// `Ok(None)` when the alternative names no day.
pub(super) fn agreed_date(mentions: &[DayMention], today: Date, calendar: &Calendar) -> Result<Option<Date>, Reason> {
    let next_week_named = mentions.contains(&DayMention::NextWeek);
    let weekday_named = mentions
        .iter()
        .any(|mention| matches!(mention, DayMention::Weekday(_) | DayMention::NextWeekday(_)));
    let next_monday =
        add_days(today, 7 - i64::from(today.weekday().to_monday_zero_offset())).ok_or(Reason::Unparsed)?;
    let in_next_week = |weekday: Weekday| add_days(next_monday, i64::from(weekday.to_monday_zero_offset()));

    let mut dates = Vec::new();
    // Plain weekdays next to another day reference only check it.
    let mut checks = Vec::new();
    for &mention in mentions {
        let date = match mention {
            DayMention::InDays(days) => add_days(today, days),
            DayMention::Date(date) => Some(date),
            DayMention::DayOfMonth { month, day } => Some(first_on_or_after(today, month, day)?),
            // With a weekday, "next week" only says which week it is in.
            DayMention::NextWeek if weekday_named => continue,
            DayMention::NextWeek => calendar.first_business_day_from(next_monday),
            DayMention::NextWeekday(weekday) => in_next_week(weekday),
            DayMention::Weekday(weekday) if next_week_named => in_next_week(weekday),
            DayMention::Weekday(weekday) => {
                checks.push(weekday);
                continue;
            }
        };
        dates.push(date.ok_or(Reason::Unparsed)?);
    }
    let Some(&date) = dates.first() else {
        return plain_weekday(&checks, today);
    };
    if dates.iter().any(|other| *other != date) || checks.iter().any(|weekday| *weekday != date.weekday()) {
        return Err(Reason::Conflict);
    }
    Ok(Some(date))
}

/// The next occurrence, 1–6 days ahead; today's own weekday is ambiguous.
fn plain_weekday(weekdays: &[Weekday], today: Date) -> Result<Option<Date>, Reason> {
    let Some(&weekday) = weekdays.first() else {
        return Ok(None);
    };
    if weekdays.iter().any(|other| *other != weekday) {
        return Err(Reason::Conflict);
    }
    if weekday == today.weekday() {
        return Err(Reason::Ambiguous);
    }
    add_days(today, i64::from(today.weekday().until(weekday)))
        .map(Some)
        .ok_or(Reason::Unparsed)
}

/// A date given without a year: the first one on or after today. The
/// search spans eight years, the longest gap between two 29 Februaries.
fn first_on_or_after(today: Date, month: i8, day: i8) -> Result<Date, Reason> {
    (today.year()..=today.year().saturating_add(8))
        .filter_map(|year| Date::new(year, month, day).ok())
        .find(|date| *date >= today)
        .ok_or(Reason::Unparsed)
}
