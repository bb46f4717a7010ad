//! Tokens to lexemes (§4): at each position the longest phrase or pattern
//! wins, and a token that nothing matches makes the whole text `unparsed`.

use jiff::SignedDuration;
use jiff::civil::Date;

use super::Reason;
use super::clock::StatedClock;
use super::lexicon::{self, DayMention, Lexeme, Unit};
use super::normalise::Token;

/// How many tokens a candidate covers and what they mean.
struct Match {
    len: usize,
    lexemes: Vec<Lexeme>,
}

impl Match {
    fn one(len: usize, lexeme: Lexeme) -> Match {
        Match {
            len,
            lexemes: vec![lexeme],
        }
    }
}

/// What came just before the current position; an hour word such as
/// `three` is only a clock hour after `at`/`om`, a qualifier or a range word.
struct Context<'a> {
    previous_word: Option<&'a str>,
    previous_lexeme: Option<Lexeme>,
}

impl Context<'_> {
    fn allows_hour_word(&self) -> bool {
        self.previous_word.is_some_and(|word| lexicon::AT_WORDS.contains(&word))
            || matches!(self.previous_lexeme, Some(Lexeme::Qualifier(_) | Lexeme::Join(_)))
    }
}

pub(super) fn lex(tokens: &[Token]) -> Result<Vec<Lexeme>, Reason> {
    let mut lexemes = Vec::new();
    let mut position = 0;
    while let Some(rest) = tokens.get(position..).filter(|rest| !rest.is_empty()) {
        let context = Context {
            previous_word: position
                .checked_sub(1)
                .and_then(|at| tokens.get(at))
                .and_then(Token::word),
            previous_lexeme: lexemes.last().copied(),
        };
        let found = longest_match(rest, &context).ok_or(Reason::Unparsed)?;
        position += found.len;
        lexemes.extend(found.lexemes);
    }
    Ok(lexemes)
}

fn longest_match(rest: &[Token], context: &Context) -> Option<Match> {
    [
        phrase(rest),
        clock(rest, context),
        weekday(rest),
        numeric_date(rest),
        named_month_date(rest),
        duration(rest),
    ]
    .into_iter()
    .flatten()
    .max_by_key(|found| found.len)
}

fn word_at(rest: &[Token], at: usize) -> Option<&str> {
    rest.get(at).and_then(Token::word)
}

/// How many tokens `words` (space-separated) covers at the start of `rest`.
fn matched_words(rest: &[Token], words: &str) -> Option<usize> {
    let mut len = 0;
    for expected in words.split(' ') {
        if word_at(rest, len)? != expected {
            return None;
        }
        len += 1;
    }
    Some(len)
}

fn phrase(rest: &[Token]) -> Option<Match> {
    lexicon::PHRASES
        .iter()
        .filter_map(|(words, lexemes)| {
            Some(Match {
                len: matched_words(rest, words)?,
                lexemes: lexemes.to_vec(),
            })
        })
        .max_by_key(|found| found.len)
}

/// A clock time with its optional `am`/`pm` and `uur`/`u`/`h`/`oclock`.
fn clock(rest: &[Token], context: &Context) -> Option<Match> {
    let (mut len, mut clock) = clock_core(rest, context)?;
    if let Some(marked) = word_at(rest, len)
        .and_then(lexicon::meridiem)
        .and_then(|m| clock.with_meridiem(m))
    {
        clock = marked;
        len += 1;
    }
    if word_at(rest, len).is_some_and(lexicon::is_hour_marker) {
        len += 1;
    }
    Some(Match::one(len, Lexeme::Clock(clock)))
}

fn clock_core(rest: &[Token], context: &Context) -> Option<(usize, StatedClock)> {
    let first = word_at(rest, 0)?;
    if let Some(clock) = StatedClock::from_digits(first) {
        return Some((1, clock));
    }
    if let Some(hour) = lexicon::hour_word(first) {
        let marked = word_at(rest, 1).is_some_and(|next| matches!(next, "uur" | "oclock"));
        if !(marked || context.allows_hour_word()) {
            return None;
        }
        return StatedClock::bare(hour, 0).map(|clock| (1, clock));
    }
    lexicon::HOUR_FRACTIONS.iter().find_map(|&(words, minute, shift)| {
        let len = matched_words(rest, words)?;
        let hour = twelve_hour(word_at(rest, len)?)? + shift;
        Some((len + 1, StatedClock::bare(if hour == 0 { 12 } else { hour }, minute)?))
    })
}

/// H in the half and quarter forms: 1–12 as digits or a word.
fn twelve_hour(word: &str) -> Option<i8> {
    lexicon::hour_word(word)
        .or_else(|| small_number(word))
        .filter(|hour| (1..=12).contains(hour))
}

/// `Friday`, `this Friday`, `next Friday`.
fn weekday(rest: &[Token]) -> Option<Match> {
    let first = word_at(rest, 0)?;
    if let Some(day) = lexicon::weekday(first) {
        return Some(Match::one(1, Lexeme::Day(DayMention::Weekday(day))));
    }
    let day = lexicon::weekday(word_at(rest, 1)?)?;
    let mention = if lexicon::THIS_WORDS.contains(&first) {
        DayMention::Weekday(day)
    } else if lexicon::NEXT_WORDS.contains(&first) {
        DayMention::NextWeekday(day)
    } else {
        return None;
    };
    Some(Match::one(2, Lexeme::Day(mention)))
}

/// `YYYY-MM-DD`, `D-M-YYYY` and `D/M/YYYY` (never month first).
fn numeric_date(rest: &[Token]) -> Option<Match> {
    let words: Vec<&str> = (0..5).map(|at| word_at(rest, at)).collect::<Option<_>>()?;
    let &[first, separator, middle, second_separator, last] = words.as_slice() else {
        return None;
    };
    if separator != second_separator || !matches!(separator, "-" | "/") {
        return None;
    }
    let (year, day) = match (year(first), year(last)) {
        (Some(year), None) if separator == "-" => (year, small_number(last)?),
        (None, Some(year)) => (year, small_number(first)?),
        _ => return None,
    };
    let month = digits(middle, 2).filter(|month| (1..=12).contains(month))?;
    let date = Date::new(year, i8::try_from(month).ok()?, day).ok()?;
    Some(Match::one(5, Lexeme::Day(DayMention::Date(date))))
}

/// `2 april [2024]`, `2nd of april`, `april 2nd [2024]`.
fn named_month_date(rest: &[Token]) -> Option<Match> {
    let (len, month, day) = match word_at(rest, 0).and_then(lexicon::month) {
        Some(month) => (2, month, day_of_month(rest.get(1)?)?),
        None => {
            let day = day_of_month(rest.first()?)?;
            let of = matches!(rest.first(), Some(Token::Ordinal(_))) && word_at(rest, 1) == Some("of");
            let month_at = 1 + usize::from(of);
            (month_at + 1, lexicon::month(word_at(rest, month_at)?)?, day)
        }
    };
    match word_at(rest, len).and_then(year) {
        Some(year) => Some(Match::one(
            len + 1,
            Lexeme::Day(DayMention::Date(Date::new(year, month, day).ok()?)),
        )),
        None => Some(Match::one(len, Lexeme::Day(DayMention::DayOfMonth { month, day }))),
    }
}

fn day_of_month(token: &Token) -> Option<i8> {
    match token {
        Token::Ordinal(day) => Some(*day),
        Token::Word(word) => small_number(word),
    }
    .filter(|day| (1..=31).contains(day))
}

/// One or two digits.
fn small_number(word: &str) -> Option<i8> {
    digits(word, 2).and_then(|number| i8::try_from(number).ok())
}

fn year(word: &str) -> Option<i16> {
    digits(word, 4)
        .filter(|_| word.len() == 4)
        .and_then(|year| i16::try_from(year).ok())
}

/// A number of at most `max_len` ASCII digits.
fn digits(word: &str, max_len: usize) -> Option<u32> {
    let plain = !word.is_empty() && word.len() <= max_len && word.bytes().all(|b| b.is_ascii_digit());
    plain.then(|| word.parse().ok()).flatten()
}

/// N in `in N hours`: 1–3 digits, `a`/`an`, or a number word up to twelve.
fn count(word: &str) -> Option<i64> {
    digits(word, 3).map(i64::from).or_else(|| lexicon::count_word(word))
}

/// `in 2 hours`, `over een kwartier`, `3 days from now`, `within 2 hours`.
fn duration(rest: &[Token]) -> Option<Match> {
    let counted = |at: usize| Some((count(word_at(rest, at)?)?, lexicon::unit(word_at(rest, at + 1)?)?));
    match word_at(rest, 0)? {
        "in" | "over" => {
            let after_in = rest.get(1..)?;
            let named = lexicon::NAMED_DURATIONS.iter().find_map(|&(words, length)| {
                Some(Match::one(1 + matched_words(after_in, words)?, Lexeme::Offset(length)))
            });
            named.or_else(|| {
                let (count, unit) = counted(1)?;
                Some(Match::one(3, counted_span(count, unit)?))
            })
        }
        "within" | "binnen" => counted(1).map(|_| Match::one(3, Lexeme::Asap)),
        _ => {
            let (count, unit) = counted(0)?;
            matched_words(rest.get(2..)?, "from now")?;
            Some(Match::one(4, counted_span(count, unit)?))
        }
    }
}

/// Hours and minutes are elapsed time; days and weeks are calendar days.
fn counted_span(count: i64, unit: Unit) -> Option<Lexeme> {
    Some(match unit {
        Unit::Minutes(minutes) => Lexeme::Offset(SignedDuration::from_mins(count.checked_mul(minutes)?)),
        Unit::Days(days) => Lexeme::Day(DayMention::InDays(count.checked_mul(days)?)),
    })
}
