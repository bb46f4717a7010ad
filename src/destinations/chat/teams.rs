//! Microsoft Teams through a Workflows webhook ("Post to a channel when a
//! webhook request is received"): the template's Adaptive Card, wrapped in
//! the message envelope Workflows expects, within Teams' size limit.

use std::time::Duration;

use serde_json::{Value, json};

use super::fit;

/// Teams throttles more than 4 requests a second to one webhook.
pub const MIN_INTERVAL: Duration = Duration::from_millis(250);

/// Teams documents 28 KB a message, but 413s have been seen above about
/// 21 KB: keep a margin.
pub const MAX_BYTES: usize = 20_000;

/// The card texts that give way when the message is too large.
const TEXT_KEYS: [&str; 3] = ["text", "value", "title"];

pub fn finish(card: Value) -> Result<Value, String> {
    if card.get("type") != Some(&json!("AdaptiveCard")) {
        return Err("a Teams template renders an Adaptive Card (\"type\": \"AdaptiveCard\")".into());
    }
    let mut message = json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    });
    fit::shrink(&mut message, &TEXT_KEYS, fit::json_bytes, |m| {
        m.to_string().len().saturating_sub(MAX_BYTES)
    });
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_card_is_cut_to_the_size_limit() {
        let card = json!({"type": "AdaptiveCard", "version": "1.4", "body": [
            {"type": "TextBlock", "text": "é\"".repeat(20_000)},
            {"type": "TextBlock", "text": "short"},
        ]});
        let message = finish(card).unwrap();
        assert!(message.to_string().len() <= MAX_BYTES);
        let body = &message["attachments"][0]["content"]["body"];
        assert!(body[0]["text"].as_str().unwrap().ends_with('…'));
        assert_eq!(body[1]["text"], "short");
    }

    #[test]
    fn anything_but_a_card_is_refused() {
        assert!(finish(json!({"type": "message"})).is_err());
    }
}
