//! The chat vendors' contracts, checked on a body callbridge sent: the
//! shared schemas plus what callbridge itself promises (no mentions, HTML
//! parse mode, the vendors' size limits).

use serde_json::{Value, json};

use super::{assert_valid, assert_valid_against, contract};

pub fn assert_teams_contract(body: &Value) {
    assert_valid("teams/webhook-message.schema.json", body);
    assert_valid(
        "teams/adaptive-card-1.5.schema.json",
        &body["attachments"][0]["content"],
    );
    assert!(body.to_string().len() <= 28_000);
}

pub fn assert_discord_contract(body: &Value) {
    let mut schema = contract("discord/discord-openapi.json");
    let components = schema["components"].take();
    let request = json!({"$ref": "#/components/schemas/IncomingWebhookRequestPartial", "components": components});
    assert_valid_against("discord IncomingWebhookRequestPartial", &request, body);
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
}

pub fn assert_telegram_contract(body: &Value, chat_id: i64) {
    assert_valid("telegram/sendMessage.request.schema.json", body);
    assert_eq!(
        (&body["chat_id"], &body["parse_mode"]),
        (&json!(chat_id), &json!("HTML"))
    );
    assert!(visible(body["text"].as_str().unwrap()).encode_utf16().count() <= 4096);
}

/// Telegram HTML as the reader sees it: tags dropped, entities decoded.
pub fn visible(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
