//! The vocabulary of §4 and §7: what each word or phrase means.

use jiff::SignedDuration;
use jiff::civil::{Date, Weekday};

use super::clock::{Meridiem, StatedClock};
use super::day_parts::{DayPart, Modifier};

/// One understood piece of text. Fillers produce none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lexeme {
    Day(DayMention),
    Part(DayPart),
    Modifier(Modifier),
    Clock(StatedClock),
    Qualifier(Qualifier),
    Join(Join),
    Post(PostQualifier),
    EndOfDay,
    /// ASAP, any time, within … (§4.6).
    Asap,
    Offset(SignedDuration),
    /// `or`, `of`: starts another alternative.
    Or,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DayMention {
    /// Today plus this many days (`today`, `tomorrow`, `in 3 days`).
    InDays(i64),
    Date(Date),
    /// A date given without a year: the first one on or after today.
    DayOfMonth {
        month: i8,
        day: i8,
    },
    NextWeek,
    Weekday(Weekday),
    /// `next Thursday`: that weekday in the next ISO week.
    NextWeekday(Weekday),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Qualifier {
    Around,
    After,
    Before,
    /// `from`: after a time, or the start of `from A to B`.
    From,
    Between,
    /// `van`: only the start of `van A tot B`.
    Van,
}

/// Words that join the two ends of a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Join {
    And,
    To,
    /// `until`, `till`, `tot`: also a before-qualifier on its own.
    Until,
    Dash,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PostQualifier {
    /// `onwards`, `or later`, `of later`.
    OrLater,
    /// `-ish`: approximate, which is read like "at".
    Ish,
}

const TODAY: &[Lexeme] = &[Lexeme::Day(DayMention::InDays(0))];
const TOMORROW: &[Lexeme] = &[Lexeme::Day(DayMention::InDays(1))];
const MORNING: &[Lexeme] = &[Lexeme::Part(DayPart::Morning)];
const LUNCH: &[Lexeme] = &[Lexeme::Part(DayPart::Lunch)];
const AFTERNOON: &[Lexeme] = &[Lexeme::Part(DayPart::Afternoon)];
const EVENING: &[Lexeme] = &[Lexeme::Part(DayPart::Evening)];
const EARLY: &[Lexeme] = &[Lexeme::Modifier(Modifier::Early)];
const LATE: &[Lexeme] = &[Lexeme::Modifier(Modifier::Late)];
const AROUND: &[Lexeme] = &[Lexeme::Qualifier(Qualifier::Around)];
const AFTER: &[Lexeme] = &[Lexeme::Qualifier(Qualifier::After)];
const BEFORE: &[Lexeme] = &[Lexeme::Qualifier(Qualifier::Before)];
const UNTIL: &[Lexeme] = &[Lexeme::Join(Join::Until)];
const OR_LATER: &[Lexeme] = &[Lexeme::Post(PostQualifier::OrLater)];
const END_OF_DAY: &[Lexeme] = &[Lexeme::EndOfDay];
const ASAP: &[Lexeme] = &[Lexeme::Asap];
const NOON: &[Lexeme] = &[Lexeme::Clock(StatedClock::fixed(12))];
const MIDNIGHT: &[Lexeme] = &[Lexeme::Clock(StatedClock::fixed(0))];
const NEXT_WEEK: &[Lexeme] = &[Lexeme::Day(DayMention::NextWeek)];
const OR: &[Lexeme] = &[Lexeme::Or];
const FILLER: &[Lexeme] = &[];
const TODAY_MORNING: &[Lexeme] = &[Lexeme::Day(DayMention::InDays(0)), Lexeme::Part(DayPart::Morning)];
const TODAY_AFTERNOON: &[Lexeme] = &[Lexeme::Day(DayMention::InDays(0)), Lexeme::Part(DayPart::Afternoon)];
const TODAY_EVENING: &[Lexeme] = &[Lexeme::Day(DayMention::InDays(0)), Lexeme::Part(DayPart::Evening)];
const TOMORROW_MORNING: &[Lexeme] = &[Lexeme::Day(DayMention::InDays(1)), Lexeme::Part(DayPart::Morning)];
const TOMORROW_AFTERNOON: &[Lexeme] = &[Lexeme::Day(DayMention::InDays(1)), Lexeme::Part(DayPart::Afternoon)];
const TOMORROW_EVENING: &[Lexeme] = &[Lexeme::Day(DayMention::InDays(1)), Lexeme::Part(DayPart::Evening)];

/// Fixed words and phrases, matched whole; the lexer prefers the longest.
pub(super) const PHRASES: &[(&str, &[Lexeme])] = &[
    // §4.1 day references
    ("today", TODAY),
    ("vandaag", TODAY),
    ("later today", TODAY),
    ("later vandaag", TODAY),
    ("vandaag nog", TODAY),
    ("tomorrow", TOMORROW),
    ("morgen", TOMORROW),
    ("tomorow", TOMORROW),
    ("tommorow", TOMORROW),
    ("tommorrow", TOMORROW),
    ("tomorrw", TOMORROW),
    ("tmrw", TOMORROW),
    ("tmr", TOMORROW),
    ("2morrow", TOMORROW),
    ("day after tomorrow", &[Lexeme::Day(DayMention::InDays(2))]),
    ("overmorgen", &[Lexeme::Day(DayMention::InDays(2))]),
    ("next week", NEXT_WEEK),
    ("volgende week", NEXT_WEEK),
    ("komende week", NEXT_WEEK),
    ("van volgende week", NEXT_WEEK),
    ("van komende week", NEXT_WEEK),
    ("this morning", TODAY_MORNING),
    ("vanochtend", TODAY_MORNING),
    ("vanmorgen", TODAY_MORNING),
    ("deze ochtend", TODAY_MORNING),
    ("this afternoon", TODAY_AFTERNOON),
    ("vanmiddag", TODAY_AFTERNOON),
    ("deze middag", TODAY_AFTERNOON),
    ("this evening", TODAY_EVENING),
    ("tonight", TODAY_EVENING),
    ("tonite", TODAY_EVENING),
    ("vanavond", TODAY_EVENING),
    ("deze avond", TODAY_EVENING),
    ("morgenochtend", TOMORROW_MORNING),
    ("morgenvroeg", TOMORROW_MORNING),
    ("morgen vroeg", TOMORROW_MORNING),
    ("morgenmiddag", TOMORROW_AFTERNOON),
    ("morgenavond", TOMORROW_EVENING),
    // §4.2 day parts and modifiers
    ("morning", MORNING),
    ("mornings", MORNING),
    ("ochtend", MORNING),
    ("ochtends", MORNING),
    ("morgens", MORNING),
    ("voormiddag", MORNING),
    ("in de morgen", MORNING),
    ("first thing", MORNING),
    ("lunch", LUNCH),
    ("lunchtime", LUNCH),
    ("lunch time", LUNCH),
    ("lunchtijd", LUNCH),
    ("tussen de middag", LUNCH),
    ("around lunch", LUNCH),
    ("around lunchtime", LUNCH),
    ("rond lunchtijd", LUNCH),
    ("rond de lunch", LUNCH),
    ("tijdens de lunch", LUNCH),
    ("during lunch", LUNCH),
    ("afternoon", AFTERNOON),
    ("afternoons", AFTERNOON),
    ("middag", AFTERNOON),
    ("middags", AFTERNOON),
    ("namiddag", AFTERNOON),
    ("after lunch", AFTERNOON),
    ("na de lunch", AFTERNOON),
    ("afternon", AFTERNOON),
    ("evening", EVENING),
    ("evenings", EVENING),
    ("avond", EVENING),
    ("avonds", EVENING),
    ("evning", EVENING),
    ("evenning", EVENING),
    ("early", EARLY),
    ("vroeg", EARLY),
    ("begin van de", EARLY),
    ("beginning of the", EARLY),
    ("start of the", EARLY),
    ("vroeg in de", EARLY),
    ("early in the", EARLY),
    ("late", LATE),
    ("laat", LATE),
    ("eind van de", LATE),
    ("einde van de", LATE),
    ("aan het eind van de", LATE),
    ("aan het einde van de", LATE),
    ("end of the", LATE),
    ("laat in de", LATE),
    ("late in the", LATE),
    // §4.3 fixed clock times
    ("noon", NOON),
    ("midday", NOON),
    ("middaguur", NOON),
    ("midnight", MIDNIGHT),
    ("middernacht", MIDNIGHT),
    // §4.4 qualifiers and range words
    ("around", AROUND),
    ("about", AROUND),
    ("approximately", AROUND),
    ("approx", AROUND),
    ("ca", AROUND),
    ("circa", AROUND),
    ("rond", AROUND),
    ("rondom", AROUND),
    ("omstreeks", AROUND),
    ("ongeveer", AROUND),
    ("after", AFTER),
    ("vanaf", AFTER),
    ("na", AFTER),
    ("not before", AFTER),
    ("niet voor", AFTER),
    ("niet eerder dan", AFTER),
    ("no earlier than", AFTER),
    ("later than", AFTER),
    ("later dan", AFTER),
    ("from", &[Lexeme::Qualifier(Qualifier::From)]),
    ("before", BEFORE),
    ("by", BEFORE),
    ("voor", BEFORE),
    ("uiterlijk", BEFORE),
    ("no later than", BEFORE),
    ("not later than", BEFORE),
    ("niet later dan", BEFORE),
    ("until", UNTIL),
    ("till", UNTIL),
    ("tot", UNTIL),
    ("between", &[Lexeme::Qualifier(Qualifier::Between)]),
    ("tussen", &[Lexeme::Qualifier(Qualifier::Between)]),
    ("van", &[Lexeme::Qualifier(Qualifier::Van)]),
    ("and", &[Lexeme::Join(Join::And)]),
    ("en", &[Lexeme::Join(Join::And)]),
    ("to", &[Lexeme::Join(Join::To)]),
    ("-", &[Lexeme::Join(Join::Dash)]),
    ("onwards", OR_LATER),
    ("or later", OR_LATER),
    ("of later", OR_LATER),
    ("ish", &[Lexeme::Post(PostQualifier::Ish)]),
    // §4.5 end of day
    ("end of day", END_OF_DAY),
    ("end of the day", END_OF_DAY),
    ("end of business", END_OF_DAY),
    ("end of business day", END_OF_DAY),
    ("end of the business day", END_OF_DAY),
    ("close of business", END_OF_DAY),
    ("cob", END_OF_DAY),
    ("eod", END_OF_DAY),
    ("einde van de dag", END_OF_DAY),
    ("eind van de dag", END_OF_DAY),
    ("einde dag", END_OF_DAY),
    ("eind dag", END_OF_DAY),
    ("aan het eind van de dag", END_OF_DAY),
    ("aan het einde van de dag", END_OF_DAY),
    // §4.6 ASAP class (`within N <unit>` is a pattern in the lexer)
    ("asap", ASAP),
    ("as soon as possible", ASAP),
    ("soon as possible", ASAP),
    ("zsm", ASAP),
    ("zo snel mogelijk", ASAP),
    ("zo spoedig mogelijk", ASAP),
    ("zo snel als mogelijk", ASAP),
    ("spoedig", ASAP),
    ("spoed", ASAP),
    ("met spoed", ASAP),
    ("urgent", ASAP),
    ("dringend", ASAP),
    ("now", ASAP),
    ("right now", ASAP),
    ("right away", ASAP),
    ("immediately", ASAP),
    ("nu", ASAP),
    ("meteen", ASAP),
    ("direct", ASAP),
    ("any time", ASAP),
    ("anytime", ASAP),
    ("whenever", ASAP),
    ("no preference", ASAP),
    ("geen voorkeur", ASAP),
    ("flexible", ASAP),
    ("all day", ASAP),
    ("whole day", ASAP),
    ("hele dag", ASAP),
    ("maakt niet uit", ASAP),
    ("wanneer het uitkomt", ASAP),
    ("doesnt matter", ASAP),
    ("does not matter", ASAP),
    ("during business hours", ASAP),
    ("during office hours", ASAP),
    ("within business hours", ASAP),
    ("within office hours", ASAP),
    ("tijdens kantooruren", ASAP),
    ("tijdens kantoortijd", ASAP),
    ("binnen kantooruren", ASAP),
    ("binnen kantoortijd", ASAP),
    ("within the hour", ASAP),
    ("binnen het uur", ASAP),
    // §4.8 alternatives
    ("or", OR),
    ("of", OR),
    // §4.9 fillers
    ("please", FILLER),
    ("pls", FILLER),
    ("plz", FILLER),
    ("call", FILLER),
    ("callback", FILLER),
    ("back", FILLER),
    ("me", FILLER),
    ("us", FILLER),
    ("him", FILLER),
    ("her", FILLER),
    ("them", FILLER),
    ("you", FILLER),
    ("can", FILLER),
    ("could", FILLER),
    ("would", FILLER),
    ("like", FILLER),
    ("prefer", FILLER),
    ("prefers", FILLER),
    ("preferably", FILLER),
    ("preferred", FILLER),
    ("ideally", FILLER),
    ("best", FILLER),
    ("the", FILLER),
    ("at", FILLER),
    ("on", FILLER),
    ("in", FILLER),
    ("is", FILLER),
    ("be", FILLER),
    ("sometime", FILLER),
    ("graag", FILLER),
    ("alstublieft", FILLER),
    ("aub", FILLER),
    ("svp", FILLER),
    ("bel", FILLER),
    ("bellen", FILLER),
    ("terugbellen", FILLER),
    ("terug", FILLER),
    ("belt", FILLER),
    ("mij", FILLER),
    ("hem", FILLER),
    ("haar", FILLER),
    ("ons", FILLER),
    ("u", FILLER),
    ("je", FILLER),
    ("kan", FILLER),
    ("kunt", FILLER),
    ("kunnen", FILLER),
    ("wil", FILLER),
    ("wilt", FILLER),
    ("liefst", FILLER),
    ("bij voorkeur", FILLER),
    ("om", FILLER),
    ("op", FILLER),
    ("de", FILLER),
    ("het", FILLER),
    ("in de loop van", FILLER),
    ("in the course of", FILLER),
];

/// Words before which an hour word (`three`, `drie`) is a clock hour.
pub(super) const AT_WORDS: &[&str] = &["at", "om"];

/// Dutch weekdays, which may be glued to a day part (`vrijdagmiddag`).
pub(super) const DUTCH_WEEKDAYS: &[(&str, Weekday)] = &[
    ("maandag", Weekday::Monday),
    ("dinsdag", Weekday::Tuesday),
    ("woensdag", Weekday::Wednesday),
    ("donderdag", Weekday::Thursday),
    ("vrijdag", Weekday::Friday),
    ("zaterdag", Weekday::Saturday),
    ("zondag", Weekday::Sunday),
];

const ENGLISH_WEEKDAYS: &[(&str, Weekday)] = &[
    ("monday", Weekday::Monday),
    ("mon", Weekday::Monday),
    ("tuesday", Weekday::Tuesday),
    ("tue", Weekday::Tuesday),
    ("tues", Weekday::Tuesday),
    ("tuseday", Weekday::Tuesday),
    ("wednesday", Weekday::Wednesday),
    ("wed", Weekday::Wednesday),
    ("wensday", Weekday::Wednesday),
    ("wendsday", Weekday::Wednesday),
    ("wednsday", Weekday::Wednesday),
    ("thursday", Weekday::Thursday),
    ("thu", Weekday::Thursday),
    ("thur", Weekday::Thursday),
    ("thurs", Weekday::Thursday),
    ("thurday", Weekday::Thursday),
    ("friday", Weekday::Friday),
    ("fri", Weekday::Friday),
    ("saturday", Weekday::Saturday),
    ("sat", Weekday::Saturday),
    ("saterday", Weekday::Saturday),
    ("sunday", Weekday::Sunday),
    ("sun", Weekday::Sunday),
];

/// Words that leave a following weekday as it is (`this Friday`).
pub(super) const THIS_WORDS: &[&str] = &["this", "coming", "upcoming", "deze", "aanstaande", "komende"];
/// Words that move a following weekday into the next ISO week.
pub(super) const NEXT_WORDS: &[&str] = &["next", "volgende"];

const MONTHS: &[(&str, i8)] = &[
    ("january", 1),
    ("januari", 1),
    ("jan", 1),
    ("february", 2),
    ("februari", 2),
    ("feb", 2),
    ("march", 3),
    ("maart", 3),
    ("mar", 3),
    ("mrt", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("mei", 5),
    ("june", 6),
    ("juni", 6),
    ("jun", 6),
    ("july", 7),
    ("juli", 7),
    ("jul", 7),
    ("august", 8),
    ("augustus", 8),
    ("aug", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("october", 10),
    ("oktober", 10),
    ("oct", 10),
    ("okt", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
];

const HOUR_WORDS: &[(&str, i8)] = &[
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("een", 1),
    ("twee", 2),
    ("drie", 3),
    ("vier", 4),
    ("vijf", 5),
    ("zes", 6),
    ("zeven", 7),
    ("acht", 8),
    ("negen", 9),
    ("tien", 10),
    ("elf", 11),
    ("twaalf", 12),
];

/// Half and quarter forms: the words before H, the minutes, and the hour
/// shift (`half drie` is 2:30, `kwart voor 3` is 2:45).
pub(super) const HOUR_FRACTIONS: &[(&str, i8, i8)] = &[
    ("half past", 30, 0),
    ("quarter past", 15, 0),
    ("kwart over", 15, 0),
    ("quarter to", 45, -1),
    ("kwart voor", 45, -1),
    ("half", 30, -1),
];

/// A length of time, as counted in `in 3 hours` or `in 2 days`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Unit {
    Minutes(i64),
    Days(i64),
}

const UNITS: &[(&str, Unit)] = &[
    ("minute", Unit::Minutes(1)),
    ("minutes", Unit::Minutes(1)),
    ("min", Unit::Minutes(1)),
    ("mins", Unit::Minutes(1)),
    ("minuut", Unit::Minutes(1)),
    ("minuten", Unit::Minutes(1)),
    ("hour", Unit::Minutes(60)),
    ("hours", Unit::Minutes(60)),
    ("hr", Unit::Minutes(60)),
    ("hrs", Unit::Minutes(60)),
    ("uur", Unit::Minutes(60)),
    ("uren", Unit::Minutes(60)),
    ("day", Unit::Days(1)),
    ("days", Unit::Days(1)),
    ("dag", Unit::Days(1)),
    ("dagen", Unit::Days(1)),
    ("week", Unit::Days(7)),
    ("weeks", Unit::Days(7)),
    ("weken", Unit::Days(7)),
];

/// Fixed-length spans after `in`/`over` (`in een kwartier`).
pub(super) const NAMED_DURATIONS: &[(&str, SignedDuration)] = &[
    ("half an hour", SignedDuration::from_mins(30)),
    ("half uur", SignedDuration::from_mins(30)),
    ("een half uur", SignedDuration::from_mins(30)),
    ("halfuur", SignedDuration::from_mins(30)),
    ("een halfuur", SignedDuration::from_mins(30)),
    ("kwartier", SignedDuration::from_mins(15)),
    ("een kwartier", SignedDuration::from_mins(15)),
    ("anderhalf uur", SignedDuration::from_mins(90)),
];

fn lookup<T: Copy>(table: &[(&str, T)], word: &str) -> Option<T> {
    table.iter().find(|(name, _)| *name == word).map(|(_, value)| *value)
}

pub(super) fn weekday(word: &str) -> Option<Weekday> {
    lookup(DUTCH_WEEKDAYS, word).or_else(|| lookup(ENGLISH_WEEKDAYS, word))
}

pub(super) fn month(word: &str) -> Option<i8> {
    lookup(MONTHS, word)
}

pub(super) fn hour_word(word: &str) -> Option<i8> {
    lookup(HOUR_WORDS, word)
}

pub(super) fn unit(word: &str) -> Option<Unit> {
    lookup(UNITS, word)
}

/// A count spelled as a word: `a`, `an`, `one`…`twelve`, `een`…`twaalf`.
pub(super) fn count_word(word: &str) -> Option<i64> {
    match word {
        "a" | "an" => Some(1),
        _ => hour_word(word).map(i64::from),
    }
}

pub(super) fn meridiem(word: &str) -> Option<Meridiem> {
    match word {
        "am" => Some(Meridiem::Am),
        "pm" => Some(Meridiem::Pm),
        _ => None,
    }
}

/// `uur`, `u`, `h`, `oclock`: allowed after a clock time, and meaning nothing more.
pub(super) fn is_hour_marker(word: &str) -> bool {
    matches!(word, "uur" | "u" | "h" | "oclock")
}
