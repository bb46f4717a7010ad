//! Combines the parts of one alternative into a plan (§5, C1–C7), checking
//! that they agree and that the stated clock times are plausible (§11).

use jiff::SignedDuration;
use jiff::civil::{Date, Time};

use super::Reason;
use super::calendar::Calendar;
use super::clock;
use super::day_parts::{DayPart, Modifier};
use super::days;
use super::specs::{Alternative, Bound, StatedSpec};

/// What to look for on a date (§6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WindowSpec {
    /// Opening to closing.
    WholeDay,
    Part(DayPart, Option<Modifier>),
    Clock(Bound, Time),
    Range(Time, Time),
    EndOfDay,
}

/// How one alternative is scheduled (§8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// R3: the call instant plus this much elapsed time.
    Offset(SignedDuration),
    /// R4: as soon as the business is open.
    NextBusinessSlot,
    /// R5: a window on an explicit day, which is never moved.
    OnDay(Date, WindowSpec),
    /// R6: the first business day on which the window is still open.
    FirstBusinessDay(WindowSpec),
}

/// A time spec once the day part has decided am or pm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeSpec {
    Window(WindowSpec),
    Asap,
    Offset(SignedDuration),
}

pub(super) fn plan(alternative: &Alternative, today: Date, calendar: &Calendar) -> Result<Plan, Reason> {
    let part = at_most_one(&alternative.parts)?;
    let modifier = at_most_one(&alternative.modifiers)?;
    if modifier.is_some() && !part.is_some_and(DayPart::takes_modifier) {
        return Err(Reason::Unparsed);
    }
    let spec = single_time_spec(&alternative.specs, part)?;
    let day = days::agreed_date(&alternative.days, today, calendar)?;
    let window = match (spec, part, day) {
        (Some(TimeSpec::Offset(length)), None, None) => return Ok(Plan::Offset(length)),
        (Some(TimeSpec::Offset(_)), ..) | (Some(TimeSpec::Window(WindowSpec::EndOfDay)), Some(_), _) => {
            return Err(Reason::Conflict);
        }
        (Some(TimeSpec::Window(window)), ..) => window,
        (_, Some(part), _) => WindowSpec::Part(part, modifier),
        (_, None, Some(_)) => WindowSpec::WholeDay,
        (Some(TimeSpec::Asap), None, None) => return Ok(Plan::NextBusinessSlot),
        // C1: nothing that says when.
        (None, None, None) => return Err(Reason::Unparsed),
    };
    Ok(match day {
        Some(date) => Plan::OnDay(date, window),
        None => Plan::FirstBusinessDay(window),
    })
}

/// C3: repeating the same part is fine, two different ones are not.
fn at_most_one<T: Copy + PartialEq>(items: &[T]) -> Result<Option<T>, Reason> {
    match items.first() {
        Some(first) if items.iter().any(|item| item != first) => Err(Reason::Conflict),
        first => Ok(first.copied()),
    }
}

/// C4: identical specs merge (`12 noon`), ASAP gives way to anything more
/// precise, and two different specs left are a conflict.
fn single_time_spec(specs: &[StatedSpec], part: Option<DayPart>) -> Result<Option<TimeSpec>, Reason> {
    let mut distinct: Vec<TimeSpec> = Vec::new();
    for spec in specs {
        let spec = resolved(*spec, part)?;
        if !distinct.contains(&spec) {
            distinct.push(spec);
        }
    }
    if distinct.len() > 1 || part.is_some() {
        distinct.retain(|spec| *spec != TimeSpec::Asap);
    }
    match distinct.as_slice() {
        [] => Ok(None),
        [spec] => Ok(Some(*spec)),
        _ => Err(Reason::Conflict),
    }
}

fn resolved(spec: StatedSpec, part: Option<DayPart>) -> Result<TimeSpec, Reason> {
    let (window, stated) = match spec {
        StatedSpec::Asap => return Ok(TimeSpec::Asap),
        StatedSpec::Offset(length) => return Ok(TimeSpec::Offset(length)),
        StatedSpec::EndOfDay => return Ok(TimeSpec::Window(WindowSpec::EndOfDay)),
        StatedSpec::Clock(bound, clock) => {
            let time = clock.time_of_day(part)?;
            (WindowSpec::Clock(bound, time), time)
        }
        StatedSpec::Range(start, end) => {
            let (start, end) = clock::range(start, end, part)?;
            (WindowSpec::Range(start, end), start)
        }
    };
    // C6: the day part only validates the stated time.
    if part.is_some_and(|part| !part.admits(stated)) {
        return Err(Reason::Conflict);
    }
    // A call between midnight and 06:00 is more likely a misread (`12am`).
    if stated.hour() < 6 {
        return Err(Reason::ImplausibleTime);
    }
    Ok(TimeSpec::Window(window))
}
