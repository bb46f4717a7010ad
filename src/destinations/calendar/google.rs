//! Google Calendar `events.insert`, with an event id derived from the
//! call, so a resend is answered 409 (already there) and counts as done.

use futures_util::future::BoxFuture;
use serde_json::json;

use super::{EventTemplates, LENGTH};
use crate::config::{ConfigError, GoogleCalendarSettings};
use crate::destinations::{
    Destination, HttpRequest, HttpSender, Message, Outcome, Rendered, SendReport, idempotency_key,
};
use crate::render::{RenderError, Renderer, escape_url_component};

pub struct GoogleCalendarDestination {
    events_url: String,
    token: String,
    zone: jiff::tz::TimeZone,
    templates: EventTemplates,
    sender: HttpSender,
}

/// Inserted, or an event with this id exists already.
const DONE: [u16; 3] = [200, 201, 409];

impl GoogleCalendarDestination {
    pub fn new(
        key: &str,
        settings: &GoogleCalendarSettings,
        zone: jiff::tz::TimeZone,
        renderer: &mut Renderer,
        sender: HttpSender,
    ) -> Result<Self, ConfigError> {
        if settings.token.trim().is_empty() {
            return Err(ConfigError::key(format!("{key}.token"), "is empty"));
        }
        let base = url::Url::parse(&settings.api_base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| ConfigError::key(format!("{key}.api_base"), "is not an http(s) URL"))?;
        let events_url = format!(
            "{}/calendar/v3/calendars/{}/events",
            base.as_str().trim_end_matches('/'),
            escape_url_component(&settings.calendar_id)
        );
        Ok(Self {
            events_url,
            token: settings.token.trim().to_owned(),
            zone,
            templates: EventTemplates::new(key, &settings.summary, &settings.description, renderer)?,
            sender,
        })
    }
}

impl Destination for GoogleCalendarDestination {
    fn render(&self, renderer: &Renderer, message: &Message) -> Result<Rendered, RenderError> {
        let event = self.templates.event(renderer, message)?;
        let end = event.start.checked_add(LENGTH).unwrap_or(event.start);
        let local = |at: jiff::Timestamp| {
            at.to_zoned_datetime(self.zone.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        };
        let zone = self.zone.iana_name().unwrap_or("UTC");
        let body = json!({
            // Lowercase hex is within Google's base32hex alphabet.
            "id": idempotency_key(&message.call_id, &message.destination),
            "summary": event.summary,
            "description": event.description,
            "start": {"dateTime": local(event.start), "timeZone": zone},
            "end": {"dateTime": local(end), "timeZone": zone},
            "reminders": {"useDefault": false, "overrides": [{"method": "popup", "minutes": 5}]},
            "extendedProperties": {"private": {"callbridgeCallId": message.call_id}},
        });
        Ok(Rendered::Http(HttpRequest {
            method: reqwest::Method::POST,
            url: self.events_url.clone(),
            headers: vec![
                ("Content-Type".to_owned(), "application/json; charset=utf-8".to_owned()),
                ("Authorization".to_owned(), format!("Bearer {}", self.token)),
            ],
            body: body.to_string(),
            expected_status: DONE.to_vec(),
        }))
    }

    fn send<'a>(&'a self, rendered: &'a Rendered) -> BoxFuture<'a, SendReport> {
        Box::pin(async move {
            let mut report = self.sender.send_rendered(rendered).await;
            // Google answers rate and quota limits with 403: worth a retry.
            let limited = report.response.as_deref().is_some_and(|body| {
                ["rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"]
                    .iter()
                    .any(|reason| body.contains(reason))
            });
            if report.status == Some(403) && limited {
                report.outcome = Outcome::Retry { after: None };
            }
            report
        })
    }
}
