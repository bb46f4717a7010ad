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
            c if is_dropped(c) => {}
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

/// Discord markdown: every character that starts a mention (`@everyone`,
/// `<@123>`, `<@&123>`, `<#1>`), a masked link, emphasis, a spoiler, code,
/// a quote or a heading is backslash-escaped, which Discord shows as the
/// character itself. Pings are also off in the body (`allowed_mentions`).
pub fn discord(text: &str) -> String {
    markdown(text, &['\\', '*', '_', '~', '`', '|', '<', '>', '@', '#', '[', ']'])
}

/// Adaptive Card text (Teams): its markdown subset is emphasis, links and
/// lists, so those characters are backslash-escaped; the card shows no HTML.
/// A line break needs a blank line in card markdown, so caller text keeps
/// its lines.
pub fn teams(text: &str) -> String {
    markdown(text, &['\\', '*', '_', '[', ']']).replace('\n', "\n\n")
}

/// Telegram's HTML parse mode: HTML escaping (Telegram knows these and all
/// numeric entities, and counts each as one character), without the
/// control and bidi characters. Telegram also finds entities in plain
/// text: a word joiner after `@` keeps `@name` from mentioning (and
/// notifying) anyone, and after a word-initial `/` keeps `/cmd` from
/// becoming a bot command.
pub fn telegram_html(text: &str) -> String {
    let mut plain = String::with_capacity(text.len() + 8);
    let mut word_start = true;
    for c in text.chars().filter(|&c| !is_dropped(c)) {
        plain.push(c);
        if c == '@' || (c == '/' && word_start) {
            plain.push(WORD_JOINER);
        }
        word_start = c.is_whitespace();
    }
    html(&plain)
}

/// Invisible, and breaks Telegram's entity detection.
const WORD_JOINER: char = '\u{2060}';

pub fn discord_json(text: &str) -> String {
    json(&discord(text))
}

pub fn teams_json(text: &str) -> String {
    json(&teams(text))
}

pub fn telegram_json(text: &str) -> String {
    json(&telegram_html(text))
}

/// Backslash-escapes `special` everywhere, and list markers (`- `, `+ `,
/// `1. `, `1) `) at the start of a line; drops control and bidi characters.
fn markdown(text: &str, special: &[char]) -> String {
    let chars: Vec<char> = text.chars().filter(|&c| !is_dropped(c)).collect();
    let spaced = |i: usize| chars.get(i).is_none_or(|c| c.is_whitespace());
    let mut out = String::with_capacity(text.len() + 8);
    // Only spaces since the line began: a list marker here would be markup.
    let mut line_start = true;
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if line_start && c.is_ascii_digit() {
            let digits = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            out.extend(&chars[i..i + digits]);
            i += digits;
            if let Some(&mark @ ('.' | ')')) = chars.get(i)
                && spaced(i + 1)
            {
                out.push('\\');
                out.push(mark);
                i += 1;
            }
            line_start = false;
            continue;
        }
        if special.contains(&c) || (line_start && matches!(c, '-' | '+') && spaced(i + 1)) {
            out.push('\\');
        }
        out.push(c);
        line_start = c == '\n' || (line_start && c == ' ');
        i += 1;
    }
    out
}

/// Control characters but line breaks and tabs, and bidi overrides.
fn is_dropped(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)
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
    fn discord_markup_and_mentions_are_escaped() {
        assert_eq!(
            discord("@everyone <@123> <@&9> [x](https://e.test) *b* _i_ ~s~ `c` ||sp|| \\ a-b (0)"),
            r"\@everyone \<\@123\> \<\@&9\> \[x\](https://e.test) \*b\* \_i\_ \~s\~ \`c\` \|\|sp\|\| \\ a-b (0)"
        );
        assert_eq!(
            discord("# h\n> q\n- l\n-# s\n 12. n +31 6"),
            "\\# h\n\\> q\n\\- l\n-\\# s\n 12\\. n +31 6"
        );
    }

    #[test]
    fn teams_links_emphasis_and_lists_are_escaped() {
        assert_eq!(
            teams("[click](https://evil.test) **b** _i_ a-b 3.5\n- x\n2) y\u{202E}\u{7}"),
            "\\[click\\](https://evil.test) \\*\\*b\\*\\* \\_i\\_ a-b 3.5\n\n\\- x\n\n2\\) y"
        );
    }

    #[test]
    fn telegram_mentions_and_commands_in_caller_text_are_broken_up() {
        assert_eq!(
            telegram_html("hi @durov /start a/b mail@x.nl"),
            "hi @\u{2060}durov /\u{2060}start a/b mail@\u{2060}x.nl"
        );
    }

    #[test]
    fn telegram_html_escapes_tags_and_entities() {
        assert_eq!(
            telegram_json("<b>\"x\" & y</b>\n"),
            r#"&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;\n"#
        );
    }

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            html(r#"<b>"a" & 'b'</b>"#),
            "&lt;b&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/b&gt;"
        );
    }
}
