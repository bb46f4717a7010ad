//! Normalisation (§3, N1–N11): from raw text to tokens, or straight to one
//! of the outcomes decided before any lexing (empty, no-time, ISO).

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::Reason;
use super::iso::{self, IsoText};
use super::lexicon;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Token {
    Word(String),
    /// `2nd`, `1ste`, `3e`: a day of the month.
    Ordinal(i8),
}

impl Token {
    pub(super) fn word(&self) -> Option<&str> {
        match self {
            Token::Word(word) => Some(word),
            Token::Ordinal(_) => None,
        }
    }
}

#[derive(Debug, PartialEq)]
pub(super) enum Normalised {
    Iso(IsoText),
    Tokens(Vec<Token>),
}

/// §4.10, compared with the whole (lowercased) text.
const NO_TIME_VALUES: &[&str] = &[
    "n/a",
    "na",
    "n.a.",
    "nvt",
    "n.v.t.",
    "none",
    "null",
    "nil",
    "unknown",
    "unspecified",
    "-",
    "--",
    "?",
    "not specified",
    "not mentioned",
    "geen",
    "onbekend",
    "niet opgegeven",
    "niet bekend",
    "niet vermeld",
    "niet genoemd",
];

/// N5, longest spelling first so that `a.s.a.p.` loses its final dot too.
const DOTTED_ABBREVIATIONS: &[(&str, &str)] = &[
    ("a.m.", "am"),
    ("p.m.", "pm"),
    ("a.s.a.p.", "asap"),
    ("a.s.a.p", "asap"),
    ("z.s.m.", "zsm"),
    ("z.s.m", "zsm"),
    ("a.u.b.", "aub"),
];

pub(super) fn normalise(text: Option<&str>) -> Result<Normalised, Reason> {
    let text = text.ok_or(Reason::Empty)?;
    // N2. Apostrophes are unified before NFKC, which would turn `´` into a
    // space and a combining accent.
    let text: String = text
        .chars()
        .map(unify_apostrophe)
        .nfkc()
        .collect::<String>()
        .to_lowercase();
    let text = text.trim();
    if text.is_empty() {
        return Err(Reason::Empty);
    }
    let without_final_punctuation = text.trim_end_matches(|c: char| matches!(c, '.' | '!' | '?') || c.is_whitespace());
    if NO_TIME_VALUES.contains(&text) || NO_TIME_VALUES.contains(&without_final_punctuation) {
        return Err(Reason::NoTime);
    }
    if let Some(iso) = iso::parse(text) {
        return iso.map(Normalised::Iso);
    }
    let text = DOTTED_ABBREVIATIONS
        .iter()
        .fold(text.to_owned(), |text, (dotted, plain)| text.replace(dotted, plain));
    let text = strip_diacritics(&text);
    let text = separate_symbols(&text);
    let text = drop_dutch_genitive(&text).replace('\'', "");
    let text = blank_punctuation(&text);
    let tokens: Vec<Token> = text.split_whitespace().flat_map(split_word).collect();
    if tokens.is_empty() {
        return Err(Reason::Empty);
    }
    Ok(Normalised::Tokens(tokens))
}

fn unify_apostrophe(c: char) -> char {
    match c {
        '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{00B4}' | '`' => '\'',
        _ => c,
    }
}

/// N6: `één` → `een`; emoji variation selectors are combining marks too.
fn strip_diacritics(text: &str) -> String {
    text.nfd().filter(|c| !is_combining_mark(*c)).collect()
}

/// N7: `~` and `@` become words; each dash and slash a token of its own.
fn separate_symbols(text: &str) -> String {
    let mut separated = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '~' => separated.push_str(" around "),
            '@' => separated.push_str(" at "),
            '-' | '\u{2010}' | '\u{2013}' | '\u{2014}' => separated.push_str(" - "),
            '/' => separated.push_str(" / "),
            _ => separated.push(c),
        }
    }
    separated
}

/// N8: `'s middags` → `middags`.
fn drop_dutch_genitive(text: &str) -> String {
    static GENITIVE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(^|[^\p{L}\p{N}'])'?s\s+(ochtends|morgens|middags|avonds|nachts)\b").expect("valid regex")
    });
    GENITIVE.replace_all(text, "$1$2").into_owned()
}

/// N9: keep letters, digits, dashes and slashes, and `.`/`:` between digits.
fn blank_punctuation(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let digit_at = |at: Option<usize>| at.and_then(|at| chars.get(at)).is_some_and(char::is_ascii_digit);
    chars
        .iter()
        .enumerate()
        .map(|(at, &c)| {
            let kept = match c {
                '.' | ':' => digit_at(at.checked_sub(1)) && digit_at(Some(at + 1)),
                '-' | '/' => true,
                _ => c.is_alphanumeric() || c.is_whitespace(),
            };
            if kept { c } else { ' ' }
        })
        .collect()
}

/// N11: `vrijdagmiddag` → `vrijdag middag`, `10am` → `10 am`,
/// `10u30` → `10:30`, `2nd` → an ordinal.
fn split_word(word: &str) -> Vec<Token> {
    static NUMBER_WITH_MARKER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\d{1,2}(?:[:.]\d{2}){0,2})(am|pm|uur|u|h|ish)$").expect("valid regex"));
    static HOUR_LETTER_MINUTES: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\d{1,2})[uh](\d{2})$").expect("valid regex"));
    static ORDINAL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\d{1,2})(?:st|nd|rd|th|e|de|ste)$").expect("valid regex"));

    let words = |parts: &[&str]| parts.iter().map(|part| Token::Word((*part).to_owned())).collect();
    if let Some((weekday, part)) = weekday_with_day_part(word) {
        return words(&[weekday, part]);
    }
    if let Some((_, [number, marker])) = NUMBER_WITH_MARKER.captures(word).map(|found| found.extract()) {
        return words(&[number, marker]);
    }
    if let Some((_, [hour, minute])) = HOUR_LETTER_MINUTES.captures(word).map(|found| found.extract()) {
        return words(&[&format!("{hour}:{minute}")]);
    }
    if let Some((_, [day])) = ORDINAL.captures(word).map(|found| found.extract())
        && let Ok(day) = day.parse()
    {
        return vec![Token::Ordinal(day)];
    }
    words(&[word])
}

/// `woensdagmorgen` is Wednesday morning, so the glued `morgen` becomes `ochtend`.
fn weekday_with_day_part(word: &str) -> Option<(&'static str, &'static str)> {
    const GLUED_PARTS: &[(&str, &str)] = &[
        ("ochtend", "ochtend"),
        ("morgen", "ochtend"),
        ("voormiddag", "voormiddag"),
        ("middag", "middag"),
        ("namiddag", "namiddag"),
        ("avond", "avond"),
    ];
    lexicon::DUTCH_WEEKDAYS.iter().find_map(|&(weekday, _)| {
        let rest = word.strip_prefix(weekday)?;
        GLUED_PARTS
            .iter()
            .find(|(glued, _)| *glued == rest)
            .map(|&(_, part)| (weekday, part))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        match normalise(Some(text)) {
            Ok(Normalised::Tokens(tokens)) => tokens
                .iter()
                .map(|token| token.word().map_or_else(|| "#ordinal".to_owned(), str::to_owned))
                .collect(),
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    #[test]
    fn splits_and_cleans_as_specified() {
        assert_eq!(words("Vrijdagmiddag"), ["vrijdag", "middag"]);
        assert_eq!(words("woensdagmorgen"), ["woensdag", "ochtend"]);
        assert_eq!(words("10am-2"), ["10", "am", "-", "2"]);
        assert_eq!(words("10u30"), ["10:30"]);
        assert_eq!(words("’s Middags, 10.30!"), ["middags", "10.30"]);
        assert_eq!(words("vóór één uur"), ["voor", "een", "uur"]);
        assert_eq!(words("3 p.m. o'clock ~4"), ["3", "pm", "oclock", "around", "4"]);
        assert_eq!(words("2nd april"), ["#ordinal", "april"]);
        assert_eq!(words("tomorrowmorning"), ["tomorrowmorning"]);
        assert_eq!(
            words("3\u{FE0F}\u{20E3}pm"),
            ["3", "pm"],
            "keycap emoji and variation selector dropped"
        );
    }

    #[test]
    fn decides_some_texts_before_lexing() {
        assert_eq!(normalise(None), Err(Reason::Empty));
        assert_eq!(normalise(Some("  \t")), Err(Reason::Empty));
        assert_eq!(normalise(Some("🙏🙏")), Err(Reason::Empty));
        assert_eq!(normalise(Some("N/A.")), Err(Reason::NoTime));
        assert_eq!(normalise(Some("Not specified!")), Err(Reason::NoTime));
    }
}
