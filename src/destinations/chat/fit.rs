//! Cutting text to a vendor's limits: on a character boundary, marked with
//! "…", and never leaving an escaping backslash without its character.

use serde_json::Value;

/// One unit per character (Discord's counts).
pub fn chars(_: char) -> usize {
    1
}

/// The bytes a character takes inside a serialized JSON string (Teams
/// limits the whole body's size).
pub fn json_bytes(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if c < ' ' => 6,
        c => c.len_utf8(),
    }
}

/// `text` within `limit` units, the "…" included.
pub fn cut(text: &str, limit: usize, unit: fn(char) -> usize) -> String {
    if size(text, unit) <= limit {
        return text.to_owned();
    }
    let Some(budget) = limit.checked_sub(unit('…')) else {
        return String::new();
    };
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        used += unit(c);
        if used > budget {
            break;
        }
        end = i + c.len_utf8();
    }
    let mut kept = &text[..end];
    // An odd run of backslashes at the end would escape the "…" instead.
    if (kept.len() - kept.trim_end_matches('\\').len()) % 2 == 1 {
        kept = &kept[..kept.len() - 1];
    }
    format!("{kept}…")
}

/// The size of `text` in `unit`s.
pub fn size(text: &str, unit: fn(char) -> usize) -> usize {
    text.chars().map(unit).sum()
}

/// Cuts the longest text under `keys` by what `excess` says is too much,
/// until it says nothing is.
pub fn shrink(value: &mut Value, keys: &[&str], unit: fn(char) -> usize, excess: impl Fn(&mut Value) -> usize) {
    loop {
        let over = excess(value);
        if over == 0 {
            return;
        }
        let mut texts = texts(value, keys);
        let Some((_, longest)) = texts
            .iter_mut()
            .filter(|(_, t)| !t.is_empty())
            .max_by_key(|(_, t)| size(t, unit))
        else {
            return;
        };
        let target = size(longest, unit).saturating_sub(over);
        **longest = cut(longest, target, unit);
    }
}

/// Every string under `value` held by one of `keys`, with its key.
pub fn texts<'a>(value: &'a mut Value, keys: &[&str]) -> Vec<(&'a str, &'a mut String)> {
    let mut found = Vec::new();
    collect(value, keys, &mut found);
    found
}

fn collect<'a>(value: &'a mut Value, keys: &[&str], found: &mut Vec<(&'a str, &'a mut String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if let Value::String(text) = child {
                    if keys.contains(&key.as_str()) {
                        found.push((key.as_str(), text));
                    }
                } else {
                    collect(child, keys, found);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| collect(item, keys, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_a_character_and_marks_it() {
        assert_eq!(cut("🔥🔥🔥", 2, chars), "🔥…");
        assert_eq!(cut("🔥🔥🔥", 8, json_bytes), "🔥…");
        assert_eq!(cut("\"\"\"\"", 7, json_bytes), "\"\"…");
        assert_eq!(cut("abc", 3, chars), "abc");
        assert_eq!(cut("abc", 0, chars), "");
    }

    #[test]
    fn never_leaves_a_dangling_escape() {
        assert_eq!(cut(r"ab\*cd", 4, chars), "ab…");
        assert_eq!(cut(r"a\\bcd", 4, chars), r"a\\…");
    }

    #[test]
    fn the_longest_text_gives_way_first() {
        let mut value = serde_json::json!({"a": "x".repeat(10), "b": ["y".repeat(100)], "t": "z".repeat(500)});
        let total = |v: &mut Value| texts(v, &["a", "b"]).iter().map(|(_, t)| size(t, chars)).sum::<usize>();
        // "b" holds an array, not a string: only "a" counts and gives way.
        shrink(&mut value, &["a", "b"], chars, |v| total(v).saturating_sub(5));
        assert_eq!(value["a"], "xxxx…");
        assert_eq!(value["t"], "z".repeat(500));
    }
}
