//! Discord webhooks (Execute Webhook): pings off whatever the template
//! says, and content and embeds within Discord's limits.

use serde_json::{Value, json};

use super::fit;

const CONTENT_MAX: usize = 2000;
const USERNAME_MAX: usize = 80;
const EMBEDS_MAX: usize = 10;
const FIELDS_MAX: usize = 25;
/// All embed texts of one message together.
const EMBED_TOTAL_MAX: usize = 6000;
/// Each embed text by its key: `name` is a field's or the author's,
/// `text` the footer's.
const EMBED_TEXT_MAX: [(&str, usize); 5] = [
    ("title", 256),
    ("description", 4096),
    ("name", 256),
    ("value", 1024),
    ("text", 2048),
];

/// `?wait=true`: Discord answers once the message is posted (200 with the
/// message), so a rejected one is a recorded error, not a silent 204.
pub fn waiting(written: &str, url: &url::Url) -> String {
    if url.query_pairs().any(|(name, _)| name == "wait") {
        return written.to_owned();
    }
    let separator = if url.query().is_some() { '&' } else { '?' };
    format!("{written}{separator}wait=true")
}

pub fn finish(mut body: Value) -> Result<Value, String> {
    let Value::Object(map) = &mut body else {
        return Err("a Discord template renders a JSON object".into());
    };
    // Caller text may say @everyone or <@id>: no template turns pings on.
    map.insert("allowed_mentions".into(), json!({"parse": []}));
    for (key, limit) in [("content", CONTENT_MAX), ("username", USERNAME_MAX)] {
        if let Some(Value::String(text)) = map.get_mut(key) {
            *text = fit::cut(text, limit, fit::chars);
        }
    }
    if let Some(Value::Array(embeds)) = map.get_mut("embeds") {
        embeds.truncate(EMBEDS_MAX);
        for embed in embeds.iter_mut() {
            if let Some(Value::Array(fields)) = embed.get_mut("fields") {
                fields.truncate(FIELDS_MAX);
            }
        }
        let keys = EMBED_TEXT_MAX.map(|(key, _)| key);
        let embeds = &mut map["embeds"];
        for (key, text) in fit::texts(embeds, &keys) {
            let limit = EMBED_TEXT_MAX.iter().find(|(k, _)| *k == key).map_or(0, |(_, l)| *l);
            *text = fit::cut(text, limit, fit::chars);
        }
        fit::shrink(embeds, &keys, fit::chars, |embeds| {
            let total: usize = fit::texts(embeds, &keys)
                .iter()
                .map(|(_, t)| fit::size(t, fit::chars))
                .sum();
            total.saturating_sub(EMBED_TOTAL_MAX)
        });
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_off_even_when_the_template_allows_them() {
        let body = finish(json!({"content": "hi", "allowed_mentions": {"parse": ["everyone"]}})).unwrap();
        assert_eq!(body, json!({"content": "hi", "allowed_mentions": {"parse": []}}));
    }

    #[test]
    fn texts_are_cut_to_each_limit_and_the_total() {
        let long = "x".repeat(5000);
        let body = finish(json!({
            "content": long,
            "embeds": [{
                "title": long, "description": long,
                "fields": [{"name": "a", "value": long}, {"name": "b", "value": "short"}],
                "footer": {"text": long},
            }],
        }))
        .unwrap();
        let embed = &body["embeds"][0];
        let count = |v: &Value| v.as_str().unwrap().chars().count();
        assert_eq!(count(&body["content"]), 2000);
        assert_eq!(count(&embed["title"]), 256);
        assert_eq!(embed["fields"][1]["value"], "short");
        let total: usize = [&embed["title"], &embed["description"], &embed["fields"][0]["name"]]
            .into_iter()
            .chain([
                &embed["fields"][0]["value"],
                &embed["fields"][1]["name"],
                &embed["fields"][1]["value"],
            ])
            .chain([&embed["footer"]["text"]])
            .map(count)
            .sum();
        assert!(total <= 6000, "{total}");
        assert!(embed["description"].as_str().unwrap().ends_with('…'));
    }

    #[test]
    fn the_webhook_waits_for_the_message() {
        let url = |u: &str| waiting(u, &url::Url::parse(u).unwrap());
        let base = "https://discord.com:443/api/webhooks/1/t";
        assert_eq!(url(base), format!("{base}?wait=true"));
        assert_eq!(
            url(&format!("{base}?thread_id=2")),
            format!("{base}?thread_id=2&wait=true")
        );
        assert_eq!(url(&format!("{base}?wait=false")), format!("{base}?wait=false"));
    }
}
