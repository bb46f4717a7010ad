//! Lone UTF-16 surrogate escapes: a sender that cuts a string in the middle
//! of an emoji (JavaScript's `JSON.stringify` does) writes `\ud83d` without
//! its pair. serde_json refuses the whole body for it; the caller's words
//! are worth more than one broken character.

/// The JSON text with every lone surrogate escape made `\ufffd` (the
/// replacement character), or None when it has none.
pub fn replace_lone(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut repaired = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(unit) = (bytes.get(i + 1) == Some(&b'u')).then(|| hex4(bytes, i + 2)).flatten() else {
            // `\\`, `\"`, `\n`…: the escaped character is not an escape itself.
            i += 2;
            continue;
        };
        let paired = (0xD800..0xDC00).contains(&unit)
            && bytes.get(i + 6..i + 8) == Some(b"\\u")
            && hex4(bytes, i + 8).is_some_and(|low| (0xDC00..0xE000).contains(&low));
        if paired {
            i += 12;
        } else if (0xD800..0xE000).contains(&unit) {
            repaired.push_str(&text[copied..i]);
            repaired.push_str("\\ufffd");
            i += 6;
            copied = i;
        } else {
            i += 6;
        }
    }
    (copied > 0).then(|| repaired + &text[copied..])
}

/// The four hex digits at `at` as a UTF-16 unit.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = std::str::from_utf8(bytes.get(at..at + 4)?).ok()?;
    u32::from_str_radix(digits, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lone_surrogates_are_replaced() {
        assert_eq!(
            replace_lone(r#"{"a":"cut \ud83d","b":"\udc00x"}"#).as_deref(),
            Some(r#"{"a":"cut \ufffd","b":"\ufffdx"}"#)
        );
        // A pair, an escaped backslash before `ud800`, plain text: untouched.
        assert_eq!(replace_lone(r#"{"a":"\ud83d\ude00 \\ud800 \u00e9"}"#), None);
        assert_eq!(
            replace_lone(r#"{"a":"\ud83d\ud83d\ude00"}"#).as_deref(),
            Some(r#"{"a":"\ufffd\ud83d\ude00"}"#)
        );
        assert_eq!(replace_lone(r#"{"a":"\ud8"}"#), None);
    }
}
