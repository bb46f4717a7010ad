//! Groups lexemes into alternatives and reads the qualifier and range
//! grammar of §4.4, so that each alternative is a bag of parts (§5).

use jiff::SignedDuration;

use super::Reason;
use super::clock::StatedClock;
use super::day_parts::{DayPart, Modifier};
use super::lexicon::{DayMention, Join, Lexeme, PostQualifier, Qualifier};

/// How a single clock time bounds the call: at (or around) it, after it, or before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bound {
    At,
    After,
    Before,
}

/// A time spec as stated, before the day part decides am or pm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StatedSpec {
    Clock(Bound, StatedClock),
    Range(StatedClock, StatedClock),
    EndOfDay,
    Asap,
    Offset(SignedDuration),
}

/// Everything one alternative says, in no particular order.
#[derive(Debug, Default)]
pub(super) struct Alternative {
    pub(super) days: Vec<DayMention>,
    pub(super) parts: Vec<DayPart>,
    pub(super) modifiers: Vec<Modifier>,
    pub(super) specs: Vec<StatedSpec>,
}

pub(super) fn alternatives(lexemes: &[Lexeme]) -> Result<Vec<Alternative>, Reason> {
    let mut alternatives = Vec::new();
    let mut current = Alternative::default();
    let mut rest = lexemes;
    while let Some((&lexeme, tail)) = rest.split_first() {
        rest = tail;
        match lexeme {
            Lexeme::Or => alternatives.push(std::mem::take(&mut current)),
            Lexeme::Day(day) => current.days.push(day),
            Lexeme::Part(part) => current.parts.push(part),
            Lexeme::Modifier(modifier) => current.modifiers.push(modifier),
            Lexeme::EndOfDay => current.specs.push(StatedSpec::EndOfDay),
            Lexeme::Asap => current.specs.push(StatedSpec::Asap),
            Lexeme::Offset(length) => current.specs.push(StatedSpec::Offset(length)),
            // A dash that is not between two clock times.
            Lexeme::Join(Join::Dash) => {}
            Lexeme::Clock(clock) => {
                let spec = match take_range_end(&mut rest) {
                    Some(end) => StatedSpec::Range(clock, end),
                    None => StatedSpec::Clock(Bound::At, clock),
                };
                current.specs.push(with_post_qualifiers(spec, &mut rest)?);
            }
            Lexeme::Qualifier(qualifier) => {
                let spec = qualified(qualifier, &mut rest)?;
                current.specs.push(with_post_qualifiers(spec, &mut rest)?);
            }
            // `until 5` on its own is a before-qualifier.
            Lexeme::Join(Join::Until) => {
                let spec = qualified(Qualifier::Before, &mut rest)?;
                current.specs.push(with_post_qualifiers(spec, &mut rest)?);
            }
            // `and`, `to` outside a range; `onwards` not after a clock time.
            Lexeme::Join(Join::And | Join::To) | Lexeme::Post(_) => return Err(Reason::Unparsed),
        }
    }
    alternatives.push(current);
    Ok(alternatives)
}

/// The spec a qualifier introduces; it must be followed by a clock time
/// (or, for before, by end of day).
fn qualified(qualifier: Qualifier, rest: &mut &[Lexeme]) -> Result<StatedSpec, Reason> {
    if let (Qualifier::Before, [Lexeme::EndOfDay, tail @ ..]) = (qualifier, *rest) {
        *rest = tail;
        return Ok(StatedSpec::EndOfDay);
    }
    let [Lexeme::Clock(start), tail @ ..] = *rest else {
        return Err(Reason::Unparsed);
    };
    *rest = tail;
    if qualifier == Qualifier::Between {
        let [Lexeme::Join(Join::And), Lexeme::Clock(end), tail @ ..] = *rest else {
            return Err(Reason::Unparsed);
        };
        *rest = tail;
        return Ok(StatedSpec::Range(*start, *end));
    }
    match (qualifier, take_range_end(rest)) {
        (Qualifier::From | Qualifier::Van, Some(end)) => Ok(StatedSpec::Range(*start, end)),
        (Qualifier::Around, None) => Ok(StatedSpec::Clock(Bound::At, *start)),
        (Qualifier::After | Qualifier::From, None) => Ok(StatedSpec::Clock(Bound::After, *start)),
        (Qualifier::Before, None) => Ok(StatedSpec::Clock(Bound::Before, *start)),
        _ => Err(Reason::Unparsed),
    }
}

/// `onwards`/`or later` turn at or after into after; `-ish` (also `T-ish`)
/// changes nothing.
fn with_post_qualifiers(mut spec: StatedSpec, rest: &mut &[Lexeme]) -> Result<StatedSpec, Reason> {
    while let [Lexeme::Post(post), tail @ ..] | [Lexeme::Join(Join::Dash), Lexeme::Post(post), tail @ ..] = *rest {
        *rest = tail;
        spec = match (post, spec) {
            (PostQualifier::Ish, _) => spec,
            (PostQualifier::OrLater, StatedSpec::Clock(Bound::At | Bound::After, clock)) => {
                StatedSpec::Clock(Bound::After, clock)
            }
            (PostQualifier::OrLater, _) => return Err(Reason::Conflict),
        };
    }
    Ok(spec)
}

/// The `to B` of `A to B`, `A - B`, `A tot B`, `A till B`.
fn take_range_end(rest: &mut &[Lexeme]) -> Option<StatedClock> {
    let [
        Lexeme::Join(Join::To | Join::Until | Join::Dash),
        Lexeme::Clock(end),
        tail @ ..,
    ] = *rest
    else {
        return None;
    };
    *rest = tail;
    Some(*end)
}
