//! Caller numbers as E.164, from whatever format the sender used.

use phonenumber::country::Id as Country;

/// Words senders use for a number they do not have.
const WITHHELD: &[&str] = &[
    "anonymous",
    "withheld",
    "private",
    "unknown",
    "restricted",
    "unavailable",
    "n/a",
];

/// A valid caller number.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalised {
    pub e164: String,
    /// ISO 3166 region, e.g. "NL"; None for non-geographic numbers.
    pub country: Option<String>,
}

/// The E.164 form of `raw`, read with `region` for national formats.
/// Withheld, anonymous or invalid numbers give None.
pub fn to_e164(raw: &str, region: Country) -> Option<String> {
    normalise(raw, region).map(|n| n.e164)
}

/// `raw` as E.164 with its country; None when withheld or invalid.
pub fn normalise(raw: &str, region: Country) -> Option<Normalised> {
    let raw = raw.trim();
    if raw.is_empty() || WITHHELD.contains(&raw.to_ascii_lowercase().as_str()) {
        return None;
    }
    // "+31 (0)6…" writes the national trunk prefix next to the country
    // code; dialled internationally the 0 is dropped.
    let cleaned = raw.replace("(0)", "");
    let cleaned = match cleaned.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => cleaned,
    };
    let number = phonenumber::parse(Some(region), &cleaned).ok()?;
    phonenumber::is_valid(&number).then(|| Normalised {
        e164: number.format().mode(phonenumber::Mode::E164).to_string(),
        country: number.country().id().map(|id| id.as_ref().to_owned()),
    })
}

/// Parses an ISO 3166 region code such as "NL".
pub fn region(code: &str) -> Option<Country> {
    code.trim().to_ascii_uppercase().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nl(raw: &str) -> Option<String> {
        to_e164(raw, region("NL").unwrap())
    }

    #[test]
    fn national_and_international_formats_agree() {
        for raw in [
            "+31612345678",
            "06 12 34 56 78",
            "0612345678",
            "0031612345678",
            "+31 (0)6-1234 5678",
            "06-12345678",
        ] {
            assert_eq!(nl(raw).as_deref(), Some("+31612345678"), "{raw}");
        }
        assert_eq!(nl("+32470123456").as_deref(), Some("+32470123456"));
        assert_eq!(nl("+14155550100").as_deref(), Some("+14155550100"));
        let belgian = normalise("+32470123456", region("NL").unwrap()).unwrap();
        assert_eq!(belgian.country.as_deref(), Some("BE"));
    }

    #[test]
    fn withheld_and_junk_are_no_number() {
        for raw in ["anonymous", "Withheld", "", "12345", "not a number"] {
            assert_eq!(nl(raw), None, "{raw}");
        }
    }
}
