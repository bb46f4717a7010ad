//! CalDAV (RFC 4791): the event is PUT into the calendar collection as
//! `<stable name>.ics` with `If-None-Match: *`, so a resend creates
//! nothing new; 412 (already there) counts as done.

use base64::Engine;
use futures_util::future::BoxFuture;

use super::{EventTemplates, resource_name};
use crate::config::{CaldavSettings, ConfigError};
use crate::destinations::{Destination, HttpRequest, HttpSender, Message, Rendered, SendReport};
use crate::render::{RenderError, Renderer};

pub struct CaldavDestination {
    /// The collection, ending in `/`.
    collection: url::Url,
    authorization: Option<String>,
    templates: EventTemplates,
    sender: HttpSender,
}

/// Created, replaced, or already there (`If-None-Match` failed).
const DONE: [u16; 4] = [200, 201, 204, 412];

impl CaldavDestination {
    pub fn new(
        key: &str,
        settings: &CaldavSettings,
        renderer: &mut Renderer,
        sender: HttpSender,
    ) -> Result<Self, ConfigError> {
        let mut text = settings.url.trim().to_owned();
        if !text.ends_with('/') {
            text.push('/');
        }
        let collection = url::Url::parse(&text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| ConfigError::key(format!("{key}.url"), "is not an http(s) URL"))?;
        let authorization = match (&settings.username, &settings.password) {
            (Some(user), password) => {
                let pair = format!("{user}:{}", password.as_deref().unwrap_or_default());
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::key(
                    format!("{key}.username"),
                    "is missing: a password is set, so a username is needed too",
                ));
            }
            (None, None) => None,
        };
        Ok(Self {
            collection,
            authorization,
            templates: EventTemplates::new(key, &settings.summary, &settings.description, renderer)?,
            sender,
        })
    }
}

impl Destination for CaldavDestination {
    fn render(&self, renderer: &Renderer, message: &Message) -> Result<Rendered, RenderError> {
        let event = self.templates.event(renderer, message)?;
        let url = self
            .collection
            .join(&format!("{}.ics", resource_name(message)))
            .map_err(|e| RenderError::Render {
                name: message.destination.clone(),
                error: format!("cannot build the event URL: {e}"),
            })?;
        let mut headers = vec![
            ("Content-Type".to_owned(), "text/calendar; charset=utf-8".to_owned()),
            ("If-None-Match".to_owned(), "*".to_owned()),
        ];
        if let Some(authorization) = &self.authorization {
            headers.push(("Authorization".to_owned(), authorization.clone()));
        }
        Ok(Rendered::Http(HttpRequest {
            method: reqwest::Method::PUT,
            url: url.to_string(),
            headers,
            body: event.to_ics(),
            expected_status: DONE.to_vec(),
        }))
    }

    fn send<'a>(&'a self, rendered: &'a Rendered) -> BoxFuture<'a, SendReport> {
        Box::pin(self.sender.send_rendered(rendered))
    }
}
