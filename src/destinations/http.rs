//! Any HTTP API: method, templated URL, headers and body, the statuses
//! that mean success, and an `Idempotency-Key` per (call, destination).

use std::collections::BTreeMap;

use super::{Destination, HttpRequest, HttpSender, Message, Rendered, SendReport, idempotency_key};
use crate::config::ConfigError;
use crate::render::{Format, RenderError, Renderer, TemplateId};
use futures_util::future::BoxFuture;

pub struct HttpDestination {
    method: reqwest::Method,
    url: TemplateId,
    /// Scheme, host and port the rendered URL must keep.
    origin: url::Origin,
    headers: Vec<(String, TemplateId)>,
    body: TemplateId,
    expected_status: Vec<u16>,
    sender: HttpSender,
}

pub struct HttpSettings<'a> {
    pub url: &'a str,
    pub method: &'a str,
    pub headers: &'a BTreeMap<String, String>,
    pub template: &'a str,
    pub expected_status: &'a [u16],
}

impl HttpDestination {
    pub fn new(
        key: &str,
        settings: HttpSettings<'_>,
        renderer: &mut Renderer,
        sender: HttpSender,
    ) -> Result<Self, ConfigError> {
        let method = reqwest::Method::from_bytes(settings.method.to_ascii_uppercase().as_bytes()).map_err(|_| {
            ConfigError::key(
                format!("{key}.method"),
                format!("`{}` is not an HTTP method", settings.method),
            )
        })?;
        let origin = fixed_origin(settings.url).map_err(|m| ConfigError::key(format!("{key}.url"), m))?;
        let compile = |renderer: &mut Renderer, format, name: String, source: &str| {
            renderer
                .load_inline(format, &name, source)
                .map_err(|e| ConfigError::key(name, e.to_string()))
        };
        let url = compile(renderer, Format::Url, format!("{key}.url"), settings.url)?;
        let mut headers = Vec::new();
        for (name, value) in settings.headers {
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ConfigError::key(format!("{key}.headers"), format!("`{name}` is not a header name")))?;
            headers.push((
                name.clone(),
                compile(renderer, Format::Text, format!("{key}.headers.{name}"), value)?,
            ));
        }
        let body = renderer
            .load_file(Format::of_file(settings.template), settings.template)
            .map_err(|e| ConfigError::key(format!("{key}.template"), e.to_string()))?;
        if let Some(bad) = settings.expected_status.iter().find(|s| !(100..600).contains(*s)) {
            return Err(ConfigError::key(
                format!("{key}.expected_status"),
                format!("{bad} is not an HTTP status"),
            ));
        }
        Ok(Self {
            method,
            url,
            origin,
            headers,
            body,
            expected_status: settings.expected_status.to_vec(),
            sender,
        })
    }

    fn content_type(&self) -> &'static str {
        match self.body.format {
            format if format.is_json() => "application/json; charset=utf-8",
            Format::Html => "text/html; charset=utf-8",
            _ => "text/plain; charset=utf-8",
        }
    }
}

impl Destination for HttpDestination {
    fn render(&self, renderer: &Renderer, message: &Message) -> Result<Rendered, RenderError> {
        let url = renderer.render(&self.url, &message.context)?;
        let parsed_origin = url::Url::parse(&url).map(|u| u.origin());
        if parsed_origin.as_ref() != Ok(&self.origin) {
            return Err(RenderError::Render {
                name: self.url.name.clone(),
                error: "the rendered URL changes scheme, host or port".into(),
            });
        }
        let mut headers = vec![
            ("Content-Type".to_owned(), self.content_type().to_owned()),
            (
                "Idempotency-Key".to_owned(),
                idempotency_key(&message.call_id, &message.destination),
            ),
        ];
        for (name, template) in &self.headers {
            // Caller text can never start a new header line.
            let value: String = renderer
                .render(template, &message.context)?
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value));
        }
        Ok(Rendered::Http(HttpRequest {
            method: self.method.clone(),
            url,
            headers,
            body: renderer.render(&self.body, &message.context)?,
            expected_status: self.expected_status.clone(),
        }))
    }

    fn send<'a>(&'a self, rendered: &'a Rendered) -> BoxFuture<'a, SendReport> {
        Box::pin(self.sender.send_rendered(rendered))
    }
}

/// The origin a URL template fixes before its first `{{`: a template may
/// fill in path and query, never scheme, host or port.
fn fixed_origin(template: &str) -> Result<url::Origin, String> {
    let literal = template.split("{{").next().unwrap_or_default();
    let authority_end = literal
        .find("://")
        .and_then(|i| literal[i + 3..].find(['/', '?', '#']).map(|j| i + 3 + j));
    let origin_text = match authority_end {
        Some(end) => &literal[..end],
        None if literal.len() == template.len() => template,
        None => return Err("scheme, host and port must be written out before any {{…}}".into()),
    };
    let url = url::Url::parse(origin_text).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http(s) URL".into());
    }
    Ok(url.origin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_may_not_place_the_host() {
        assert!(fixed_origin("https://crm.test/calls/{{id}}").is_ok());
        assert!(fixed_origin("https://crm.test").is_ok());
        assert!(fixed_origin("https://{{host}}/x").is_err());
        assert!(fixed_origin("https://crm.test{{path}}").is_err());
        assert!(fixed_origin("ftp://crm.test/x").is_err());
    }
}
