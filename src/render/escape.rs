//! Escaping per output format: what `{{value}}` becomes depends only on
//! where the rendered text goes.

/// Inside a JSON string literal: quotes, backslashes and control
/// characters escaped, nothing else touched.
pub fn json(text: &str) -> String {
    let quoted = serde_json::Value::String(text.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// Slack's own escaping (`&`, `<`, `>` only), so caller text cannot form
/// a mention, a link or a channel ping.
/// Control characters (but line breaks and tabs) and the bidi overrides
/// that can make text read backwards are dropped.
pub fn slack(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() || is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Terminal-safe text: every control character (escape sequences, CR, LF)
/// and bidi override becomes a space.
pub fn terminal(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() || is_bidi_control(c) { ' ' } else { c })
        .collect()
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Slack text inside a JSON body.
pub fn slack_json(text: &str) -> String {
    json(&slack(text))
}

/// HTML element content and quoted attribute values.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A URL path segment or query value: everything but unreserved
/// characters percent-encoded.
pub fn url_component(text: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    utf8_percent_encode(text, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_only_what_json_needs() {
        assert_eq!(
            json("Zoë \"Z\" O'Brien\n\t\\ <b>=`"),
            r#"Zoë \"Z\" O'Brien\n\t\\ <b>=`"#
        );
    }

    #[test]
    fn slack_neutralises_mentions() {
        assert_eq!(
            slack_json("<!channel> & <@U1> \"x\""),
            r#"&lt;!channel&gt; &amp; &lt;@U1&gt; \"x\""#
        );
    }

    #[test]
    fn slack_and_terminal_text_lose_control_characters() {
        assert_eq!(slack("a\u{1b}[31mb\u{7}\u{0}\u{202E}c\nd\te"), "a[31mbc\nd\te");
        assert_eq!(terminal("Eve\u{1b}[31m\r\nX\u{202E}"), "Eve [31m  X ");
    }

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            html(r#"<b>"a" & 'b'</b>"#),
            "&lt;b&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/b&gt;"
        );
    }
}
