//! Windows on a local date (§6) and the due time a plan gives (R3–R6).

use jiff::civil::{Date, DateTime};
use jiff::{SignedDuration, Timestamp};

use super::Reason;
use super::business_hours::OpeningHours;
use super::calendar::Calendar;
use super::combine::{Plan, WindowSpec};
use super::specs::Bound;

/// A window as instants. A point is open until it starts, an interval
/// until it ends.
enum Window {
    Point(Timestamp),
    Interval { start: Timestamp, end: Timestamp },
}

impl Window {
    /// `max(start, reference)` if the window is still open at `reference`.
    fn due_if_open(&self, reference: Timestamp) -> Option<Timestamp> {
        match *self {
            Window::Point(at) => (reference <= at).then_some(at),
            Window::Interval { start, end } => (reference < end).then_some(start.max(reference)),
        }
    }
}

pub(super) fn due(plan: Plan, reference: Timestamp, calendar: &Calendar) -> Result<Timestamp, Reason> {
    match plan {
        // Only fails beyond the year 9999, which is certainly too far.
        Plan::Offset(length) => reference.checked_add(length).map_err(|_| Reason::TooFar),
        Plan::NextBusinessSlot => Ok(calendar.next_business_slot(reference)),
        Plan::OnDay(date, spec) => {
            let window = window(spec, date, calendar.hours_or_nominal(date), calendar).ok_or(Reason::Unparsed)?;
            window.due_if_open(reference).ok_or(Reason::Past)
        }
        Plan::FirstBusinessDay(spec) => calendar
            .business_days_from(calendar.local_date(reference))
            .find_map(|(date, hours)| window(spec, date, hours, calendar)?.due_if_open(reference))
            // Only at the edge of the representable dates.
            .ok_or(Reason::Unparsed),
    }
}

fn window(spec: WindowSpec, date: Date, hours: OpeningHours, calendar: &Calendar) -> Option<Window> {
    let one_hour = SignedDuration::from_hours(1);
    let (open, close) = (date.to_datetime(hours.open), date.to_datetime(hours.close));
    let interval = |start: DateTime, end: DateTime| {
        Some(Window::Interval {
            start: calendar.instant(start)?,
            end: calendar.instant(end)?,
        })
    };
    match spec {
        WindowSpec::WholeDay => interval(open, close),
        WindowSpec::Part(part, modifier) => {
            let (start, end) = part.window(modifier);
            interval(date.to_datetime(start), date.to_datetime(end))
        }
        WindowSpec::Clock(Bound::At, time) => calendar.instant(date.to_datetime(time)).map(Window::Point),
        WindowSpec::Clock(Bound::After, time) => {
            let start = date.to_datetime(time);
            interval(start, close.max(start.checked_add(SignedDuration::from_hours(2)).ok()?))
        }
        WindowSpec::Clock(Bound::Before, time) => {
            let end = date.to_datetime(time);
            interval(open.min(end.checked_sub(one_hour).ok()?), end)
        }
        WindowSpec::Range(start, end) => interval(date.to_datetime(start), date.to_datetime(end)),
        WindowSpec::EndOfDay => interval(close.checked_sub(one_hour).ok()?, close),
    }
}
