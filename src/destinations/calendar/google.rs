//! Google Calendar `events.insert`, with an event id derived from the
//! call, so a resend is answered 409 (already there) and counts as done.
//! The access token is the configured one, or fetched and kept fresh from
//! an OAuth refresh token.

use futures_util::future::BoxFuture;
use serde_json::json;

use super::{EventTemplates, LENGTH};
use crate::config::{ConfigError, GoogleCalendarSettings};
use crate::destinations::oauth::AccessTokens;
use crate::destinations::{
    Destination, HttpRequest, HttpSender, Message, Outcome, Rendered, SendReport, idempotency_key,
};
use crate::render::{RenderError, Renderer, escape_url_component};

pub struct GoogleCalendarDestination {
    events_url: String,
    auth: Auth,
    zone: jiff::tz::TimeZone,
    templates: EventTemplates,
    sender: HttpSender,
}

enum Auth {
    /// Kept fresh by other tooling: a refusal is dead.
    Token(String),
    /// Fetched as needed; a refusal fetches a new one.
    Refreshed(Box<AccessTokens>),
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
        let auth = match (settings.token.as_deref().map(str::trim), &settings.oauth) {
            (Some(token), None) if !token.is_empty() => Auth::Token(token.to_owned()),
            (Some(_), None) => return Err(ConfigError::key(format!("{key}.token"), "is empty")),
            (None, Some(oauth)) => Auth::Refreshed(Box::new(AccessTokens::new(
                &format!("{key}.oauth"),
                oauth,
                sender.clone(),
            ))),
            (Some(_), Some(_)) => {
                return Err(ConfigError::key(
                    format!("{key}.oauth"),
                    "`token` is set too: use one of `token` (kept fresh elsewhere) and `oauth`",
                ));
            }
            (None, None) => {
                return Err(ConfigError::key(
                    key,
                    "needs `token` (an access token) or `oauth` (client_id, client_secret, refresh_token)",
                ));
            }
        };
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
            auth,
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
                // A refreshed token is put in at send time.
                (
                    "Authorization".to_owned(),
                    match &self.auth {
                        Auth::Token(token) => format!("Bearer {token}"),
                        Auth::Refreshed(_) => "Bearer".to_owned(),
                    },
                ),
            ],
            body: body.to_string(),
            expected_status: DONE.to_vec(),
        }))
    }

    fn send<'a>(&'a self, rendered: &'a Rendered) -> BoxFuture<'a, SendReport> {
        Box::pin(async move {
            let mut report = match (&self.auth, rendered) {
                (Auth::Refreshed(tokens), Rendered::Http(request)) => self.send_refreshed(tokens, request).await,
                _ => self.sender.send_rendered(rendered).await,
            };
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

impl GoogleCalendarDestination {
    /// Sends with a fresh token; a `401` (revoked, or expired early) is
    /// tried once more with a new one.
    async fn send_refreshed(&self, tokens: &AccessTokens, request: &HttpRequest) -> SendReport {
        let send = |token: String| async move {
            let report = self.sender.send(&with_bearer(request, &token)).await;
            (without_token(report, &token), token)
        };
        let (report, token) = match tokens.token().await {
            Ok(token) => send(token).await,
            Err(report) => return report,
        };
        if report.status != Some(401) {
            return report;
        }
        tokens.refused(&token).await;
        match tokens.token().await {
            Ok(token) => send(token).await.0,
            Err(report) => report,
        }
    }
}

/// A fetched token is no configured secret: an answer that echoes it
/// (in an error message, say) has it taken out before it is recorded.
fn without_token(mut report: SendReport, token: &str) -> SendReport {
    for text in [&mut report.error, &mut report.response].into_iter().flatten() {
        *text = text.replace(token, "[redacted]");
    }
    report
}

fn with_bearer(request: &HttpRequest, token: &str) -> HttpRequest {
    let mut request = request.clone();
    for (name, value) in &mut request.headers {
        if name.eq_ignore_ascii_case("authorization") {
            *value = format!("Bearer {token}");
        }
    }
    request
}
