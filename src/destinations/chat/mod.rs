//! Chat apps that take one JSON POST per message: Microsoft Teams, Discord
//! and Telegram. The template renders the vendor's body with the vendor's
//! escaping; code then enforces what a template must not be able to forget
//! (no pings, the parse mode, the envelope) and cuts the body to the
//! vendor's limits. Each vendor's rules live in its own module.

mod discord;
mod fit;
mod pace;
mod teams;
mod telegram;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;

use super::{Destination, HttpRequest, HttpSender, Message, Outcome, Rendered, SendReport};
use crate::config::{ConfigError, TelegramSettings};
use crate::render::{Format, RenderError, Renderer, TemplateId};
use pace::Pacer;

/// The chat apps reached through a webhook URL alone.
#[derive(Debug, Clone, Copy)]
pub enum Webhook {
    Teams,
    Discord,
}

enum Vendor {
    Teams,
    Discord,
    Telegram { chat_id: Value, chat_id_key: String },
}

pub struct ChatDestination {
    url: String,
    template: TemplateId,
    vendor: Vendor,
    pacer: Option<Arc<Pacer>>,
    sender: HttpSender,
}

impl ChatDestination {
    /// Teams or Discord: a webhook URL (its own credential) and a template.
    pub fn webhook(
        vendor: Webhook,
        key: &str,
        webhook_url: &str,
        template: &str,
        renderer: &mut Renderer,
        sender: HttpSender,
    ) -> Result<Self, ConfigError> {
        let parsed = http_url(&format!("{key}.webhook_url"), webhook_url)?;
        // Sent as written, not as parsed (which drops a `:443`), so the
        // configured URL is found and redacted wherever it is recorded.
        let (url, format, vendor, pacer) = match vendor {
            Webhook::Teams => (
                webhook_url.to_owned(),
                Format::TeamsJson,
                Vendor::Teams,
                Some(pace::shared(webhook_url.to_owned(), teams::MIN_INTERVAL)),
            ),
            Webhook::Discord => (
                discord::waiting(webhook_url, &parsed),
                Format::DiscordJson,
                Vendor::Discord,
                None,
            ),
        };
        Ok(Self {
            url,
            template: json_template(key, template, format, renderer)?,
            vendor,
            pacer,
            sender,
        })
    }

    pub fn telegram(
        key: &str,
        settings: &TelegramSettings,
        renderer: &mut Renderer,
        sender: HttpSender,
    ) -> Result<Self, ConfigError> {
        let base = http_url(&format!("{key}.base_url"), &settings.base_url)?;
        let chat_id = telegram::chat_id(key, &settings.chat_id)?;
        let url = telegram::send_message_url(key, &base, &settings.bot_token)?;
        // One chat of one bot, whichever destinations post there.
        let chat = format!("{url} {chat_id}");
        Ok(Self {
            pacer: Some(pace::shared(chat, telegram::interval(&chat_id))),
            url,
            template: json_template(key, &settings.template, Format::TelegramJson, renderer)?,
            vendor: Vendor::Telegram {
                chat_id,
                chat_id_key: format!("{key}.chat_id"),
            },
            sender,
        })
    }
}

impl Destination for ChatDestination {
    fn render(&self, renderer: &Renderer, message: &Message) -> Result<Rendered, RenderError> {
        let rendered = renderer.render(&self.template, &message.context)?;
        let invalid = |error: String| RenderError::InvalidJson {
            name: self.template.name.clone(),
            error,
        };
        let body: Value = serde_json::from_str(&rendered).map_err(|e| invalid(e.to_string()))?;
        let body = match &self.vendor {
            Vendor::Teams => teams::finish(body),
            Vendor::Discord => discord::finish(body),
            Vendor::Telegram { chat_id, .. } => telegram::finish(body, chat_id.clone()),
        }
        .map_err(invalid)?;
        Ok(Rendered::Http(HttpRequest {
            method: reqwest::Method::POST,
            url: self.url.clone(),
            headers: vec![("Content-Type".into(), "application/json; charset=utf-8".into())],
            body: body.to_string(),
            expected_status: Vec::new(),
        }))
    }

    fn send<'a>(&'a self, rendered: &'a Rendered) -> BoxFuture<'a, SendReport> {
        Box::pin(async move {
            if let Some(pacer) = &self.pacer {
                pacer.wait().await;
            }
            let report = self.sender.send_rendered(rendered).await;
            match &self.vendor {
                Vendor::Teams => report,
                Vendor::Discord => retry_after_in_body(report, "/retry_after"),
                Vendor::Telegram { chat_id_key, .. } => {
                    telegram::explain_migration(retry_after_in_body(report, "/parameters/retry_after"), chat_id_key)
                }
            }
        })
    }

    /// Every destination sharing the endpoint's pacer takes turns with
    /// this one's sends.
    fn spacing(&self) -> Duration {
        self.pacer.as_ref().map_or(Duration::ZERO, |pacer| {
            pacer.interval() * Arc::strong_count(pacer) as u32
        })
    }
}

/// A 429 whose JSON body says how long to wait, in seconds (maybe
/// fractional), at `pointer`: that wait, rather than a guess.
fn retry_after_in_body(mut report: SendReport, pointer: &str) -> SendReport {
    let asked = report
        .response
        .as_deref()
        .and_then(|body| serde_json::from_str::<Value>(body).ok())
        .and_then(|body| body.pointer(pointer).and_then(Value::as_f64))
        .filter(|secs| secs.is_finite() && *secs >= 0.0);
    if let (Some(429), Some(secs)) = (report.status, asked) {
        report.outcome = Outcome::Retry {
            after: Some(Duration::from_secs_f64(secs)),
        };
    }
    report
}

/// An http(s) URL from the config, named by its key when it is not one.
pub(super) fn http_url(key: &str, value: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(value).map_err(|e| ConfigError::key(key, format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::key(key, "must be an http(s) URL"));
    }
    Ok(url)
}

/// A vendor's body template: JSON, compiled with the vendor's escaping.
pub(super) fn json_template(
    key: &str,
    template: &str,
    format: Format,
    renderer: &mut Renderer,
) -> Result<TemplateId, ConfigError> {
    if !template.ends_with(".json.hbs") {
        return Err(ConfigError::key(
            format!("{key}.template"),
            "the body is JSON: name the template *.json.hbs",
        ));
    }
    renderer
        .load_file(format, template)
        .map_err(|e| ConfigError::key(format!("{key}.template"), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(status: u16, body: &str) -> SendReport {
        super::super::http_request::classify(status, &[], None, body.into())
    }

    #[test]
    fn a_429_body_sets_the_wait() {
        let discord = retry_after_in_body(report(429, r#"{"retry_after": 1.5, "global": false}"#), "/retry_after");
        assert_eq!(
            discord.outcome,
            Outcome::Retry {
                after: Some(Duration::from_millis(1500))
            }
        );
        let telegram = r#"{"ok":false,"error_code":429,"parameters":{"retry_after":3}}"#;
        let telegram = retry_after_in_body(report(429, telegram), "/parameters/retry_after");
        assert_eq!(
            telegram.outcome,
            Outcome::Retry {
                after: Some(Duration::from_secs(3))
            }
        );
        let other = retry_after_in_body(report(400, r#"{"retry_after": 1}"#), "/retry_after");
        assert_eq!(other.outcome, Outcome::Permanent);
    }
}
