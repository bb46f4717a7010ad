//! Telegram Bot API `sendMessage` in HTML parse mode: the chat and the
//! parse mode set by code, the text within 4096 characters as Telegram
//! counts them (after parsing tags and entities).

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::{ChatId, ConfigError};
use crate::destinations::SendReport;

/// About one message a second to one chat; bursts get 429s.
const PRIVATE_CHAT_INTERVAL: Duration = Duration::from_secs(1);

/// No more than 20 messages a minute to one group (or channel).
const GROUP_INTERVAL: Duration = Duration::from_secs(3);

/// How far apart sends to `chat_id` go: a private chat's id is positive;
/// groups and channels have negative ids, or a channel's `@username`.
pub fn interval(chat_id: &Value) -> Duration {
    match chat_id.as_i64() {
        Some(id) if id > 0 => PRIVATE_CHAT_INTERVAL,
        _ => GROUP_INTERVAL,
    }
}

/// Telegram counts in UTF-16 code units, which is never fewer than characters.
const TEXT_MAX: usize = 4096;

/// `<base>/bot<token>/sendMessage`. The URL holds the token: it is a
/// secret (see `Config::load`), so it is redacted wherever it is recorded.
pub fn send_message_url(key: &str, base: &url::Url, token: &str) -> Result<String, ConfigError> {
    let token = token.trim();
    // Checked before it goes into a path; the message never shows it.
    if token.is_empty()
        || !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'))
    {
        return Err(ConfigError::key(
            format!("{key}.bot_token"),
            "is not a bot token from @BotFather (digits, a colon, letters)",
        ));
    }
    Ok(format!(
        "{}/bot{token}/sendMessage",
        base.as_str().trim_end_matches('/')
    ))
}

/// A numeric chat id, or a public channel's `@username`.
pub fn chat_id(key: &str, value: &ChatId) -> Result<Value, ConfigError> {
    let value = match value {
        ChatId::Number(id) => return Ok(json!(id)),
        ChatId::Text(text) => text.trim(),
    };
    if let Ok(id) = value.parse::<i64>() {
        return Ok(json!(id));
    }
    if value.len() > 1 && value.starts_with('@') {
        return Ok(json!(value));
    }
    Err(ConfigError::key(
        format!("{key}.chat_id"),
        "is neither a chat id (e.g. -1001234567890) nor a @channelusername",
    ))
}

/// A group upgraded to a supergroup gets a new chat id, which Telegram
/// names in its 400 answer: the error says what to configure instead.
pub fn explain_migration(mut report: SendReport, chat_id_key: &str) -> SendReport {
    let moved_to = report
        .response
        .as_deref()
        .filter(|_| report.status == Some(400))
        .and_then(|body| serde_json::from_str::<Value>(body).ok())
        .and_then(|body| body.pointer("/parameters/migrate_to_chat_id").and_then(Value::as_i64));
    if let Some(id) = moved_to {
        report.error = Some(format!(
            "HTTP 400: the group is now a supergroup with chat id {id}: set {chat_id_key} to {id}, then replay the dead deliveries"
        ));
    }
    report
}

pub fn finish(mut body: Value, chat_id: Value) -> Result<Value, String> {
    let Value::Object(map) = &mut body else {
        return Err("a Telegram template renders a JSON object".into());
    };
    map.insert("chat_id".into(), chat_id);
    // Values were escaped for HTML; another mode would read them as its markup.
    map.insert("parse_mode".into(), json!("HTML"));
    let Some(Value::String(text)) = map.get_mut("text") else {
        return Err("a Telegram template renders a \"text\" string".into());
    };
    let (length, ..) = scan(text, usize::MAX);
    if length == 0 {
        return Err("the message text is empty".into());
    }
    if length > TEXT_MAX {
        *text = cut(text, TEXT_MAX);
    }
    Ok(body)
}

/// The text cut to `limit` visible units with "…", its open tags closed.
fn cut(html: &str, limit: usize) -> String {
    let (_, end, open) = scan(html, limit - 1);
    let mut out = format!("{}…", &html[..end]);
    for name in open.iter().rev() {
        out.push_str(&format!("</{name}>"));
    }
    out
}

/// Walks `html` while the visible text fits in `budget` UTF-16 units (a tag
/// counts none, an entity one): the units used, the byte offset reached and
/// the tags still open there.
fn scan(html: &str, budget: usize) -> (usize, usize, Vec<&str>) {
    let (mut used, mut at, mut open) = (0, 0, Vec::new());
    while let Some(c) = html[at..].chars().next() {
        let rest = &html[at..];
        let (len, units) = if c == '<'
            && let Some(end) = rest.find('>')
        {
            match rest[1..end].strip_prefix('/') {
                Some(_) => drop(open.pop()),
                None => open.push(rest[1..end].split_whitespace().next().unwrap_or_default()),
            }
            (end + 1, 0)
        } else if c == '&'
            && let Some(end) = rest.bytes().take(12).position(|b| b == b';')
        {
            (end + 1, 1)
        } else {
            (c.len_utf8(), c.len_utf16())
        };
        if used + units > budget {
            break;
        }
        used += units;
        at += len;
    }
    (used, at, open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_after_tags_and_entities() {
        assert_eq!(scan("<b>a &amp; b</b> 🔥", usize::MAX).0, 8);
    }

    #[test]
    fn a_cut_keeps_entities_whole_and_closes_tags() {
        assert_eq!(cut("<b>Zoë &amp; co</b> rest", 6), "<b>Zoë &amp;…</b>");
        assert_eq!(cut("<i>🔥🔥🔥</i>", 4), "<i>🔥…</i>");
    }

    #[test]
    fn chat_and_parse_mode_are_set_by_code() {
        let body = finish(json!({"text": "<b>x</b>", "parse_mode": "MarkdownV2"}), json!(-100)).unwrap();
        assert_eq!(body, json!({"text": "<b>x</b>", "parse_mode": "HTML", "chat_id": -100}));
        let long = finish(json!({"text": "é".repeat(5000)}), json!(1)).unwrap();
        assert_eq!(long["text"].as_str().unwrap().chars().count(), 4096);
    }

    #[test]
    fn groups_and_channels_get_20_messages_a_minute_private_chats_one_a_second() {
        let intervals = [
            json!(123456789),
            json!(-4012345678i64),
            json!(-1001234567890i64),
            json!("@office"),
        ]
        .map(|id| interval(&id));
        assert_eq!(intervals.map(|i| i.as_secs()), [1, 3, 3, 3]);
    }

    #[test]
    fn a_migrated_group_names_its_new_chat_id() {
        let answer = r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001234567890}}"#;
        let report = explain_migration(
            crate::destinations::http_request::classify(400, &[], None, answer.into()),
            "destinations.tg.chat_id",
        );
        assert_eq!(
            report.error.as_deref(),
            Some(
                "HTTP 400: the group is now a supergroup with chat id -1001234567890: set destinations.tg.chat_id to -1001234567890, then replay the dead deliveries"
            )
        );
        let other = r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#;
        let report = explain_migration(
            crate::destinations::http_request::classify(400, &[], None, other.into()),
            "destinations.tg.chat_id",
        );
        assert_eq!(report.error, Some(format!("HTTP 400: {other}")));
    }

    #[test]
    fn the_token_is_checked_and_never_shown() {
        let base = url::Url::parse("https://api.telegram.org").unwrap();
        assert_eq!(
            send_message_url("d", &base, "123:AbC_d-e").unwrap(),
            "https://api.telegram.org/bot123:AbC_d-e/sendMessage"
        );
        let err = send_message_url("d", &base, "123:a/../x").unwrap_err().to_string();
        assert!(!err.contains("123:a"), "{err}");
        let text = |t: &str| chat_id("d", &ChatId::Text(t.into())).ok();
        assert_eq!(
            (text("@channel"), text("-100"), text("channel")),
            (Some(json!("@channel")), Some(json!(-100)), None)
        );
    }
}
