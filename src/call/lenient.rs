//! Reading loosely typed JSON values the way real senders write them.

use serde_json::Value;

/// `true`, `"true"`, `1`, `"1"`, `"yes"` → true; the opposites → false;
/// anything else (null, "", junk) → None.
pub fn boolean(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64()? {
            0.0 => Some(false),
            1.0 => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" => Some(true),
            "false" | "0" | "no" | "n" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A non-negative whole number from a number or a numeric string.
pub fn unsigned(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f.round() as u64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<u64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().filter(|f| *f >= 0.0).map(|f| f.round() as u64))
        }
        _ => None,
    }
}

/// Text from a string (or a number written as one); null and blank → None.
pub fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Unix time in milliseconds from seconds or milliseconds: values past
/// the year 33658 in seconds can only be milliseconds.
pub fn instant_ms(value: Option<&Value>) -> Option<i64> {
    const MS_THRESHOLD: u64 = 1_000_000_000_000;
    let raw = unsigned(value)?;
    let ms = if raw >= MS_THRESHOLD {
        raw
    } else {
        raw.checked_mul(1000)?
    };
    // Only instants a timestamp can hold (up to the year 9999): a larger
    // one (nanoseconds, say) is as unusable as junk.
    i64::try_from(ms)
        .ok()
        .filter(|ms| jiff::Timestamp::from_millisecond(*ms).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn instants_in_seconds_or_milliseconds_within_what_a_timestamp_holds() {
        let read = |v: Value| instant_ms(Some(&v));
        assert_eq!(read(json!(1725879525)), Some(1_725_879_525_000));
        assert_eq!(read(json!("1725879525123")), Some(1_725_879_525_123));
        // Nanoseconds, and the first second after 9999-12-31.
        assert_eq!(read(json!(1725879525000000000u64)), None);
        assert_eq!(read(json!(253402300800u64)), None);
        assert_eq!(read(json!(u64::MAX)), None);
    }

    #[test]
    fn booleans_in_every_spelling() {
        for (v, want) in [
            (json!(true), Some(true)),
            (json!("false"), Some(false)),
            (json!(0), Some(false)),
            (json!("1"), Some(true)),
            (json!(null), None),
            (json!("maybe"), None),
        ] {
            assert_eq!(boolean(Some(&v)), want, "{v}");
        }
        assert_eq!(boolean(None), None);
    }

    #[test]
    fn seconds_and_milliseconds_become_milliseconds() {
        assert_eq!(instant_ms(Some(&json!(1733234400))), Some(1_733_234_400_000));
        assert_eq!(instant_ms(Some(&json!(1733234400000u64))), Some(1_733_234_400_000));
        assert_eq!(instant_ms(Some(&json!("1733245200"))), Some(1_733_245_200_000));
        assert_eq!(instant_ms(Some(&json!("soon"))), None);
    }

    #[test]
    fn numbers_from_strings() {
        assert_eq!(unsigned(Some(&json!("75"))), Some(75));
        assert_eq!(unsigned(Some(&json!(94.4))), Some(94));
        assert_eq!(unsigned(Some(&json!(-3))), None);
    }
}
