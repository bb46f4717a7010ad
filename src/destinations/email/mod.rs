//! Email over SMTP: a subject and a text and/or HTML part rendered from
//! templates, sent through a shared SMTP server. The Message-ID is the same
//! for every attempt of one call to one destination, so a resend is
//! recognisable.

mod headers;
mod smtp;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;
use lettre::address::Envelope;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};

pub use smtp::SmtpServer;

use super::calendar::{EventTemplates, Invitation};
use super::{Destination, Message, Rendered, SendReport, idempotency_key};
use crate::config::{ConfigError, EmailSettings, default_event_description, default_event_summary};
use crate::render::{Format, RenderError, Renderer, TemplateId};

/// A rendered email, ready for the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub server: String,
    pub envelope: Envelope,
    /// The message exactly as sent (headers and MIME body).
    pub raw: Vec<u8>,
}

impl Email {
    pub fn describe(&self) -> String {
        let recipients: Vec<String> = self.envelope.to().iter().map(|a| format!("<{a}>")).collect();
        let from = self.envelope.from().map(ToString::to_string).unwrap_or_default();
        format!(
            "SMTP {}\nMAIL FROM:<{from}>\nRCPT TO:{}\n\n{}",
            self.server,
            recipients.join(", "),
            String::from_utf8_lossy(&self.raw)
        )
    }
}

pub struct EmailDestination {
    server_name: String,
    server: Arc<SmtpServer>,
    from: Mailbox,
    from_name: Option<TemplateId>,
    to: Vec<Mailbox>,
    cc: Vec<Mailbox>,
    bcc: Vec<Mailbox>,
    reply_to: Option<TemplateId>,
    subject: TemplateId,
    body: Body,
    /// Set when the email carries the call-back as a calendar invitation.
    invite: Option<EventTemplates>,
}

/// The parts of the message: one, or both as multipart/alternative.
enum Body {
    Text(TemplateId),
    Html(TemplateId),
    Alternative { text: TemplateId, html: TemplateId },
}

impl EmailDestination {
    pub fn new(
        key: &str,
        settings: &EmailSettings,
        server: Arc<SmtpServer>,
        renderer: &mut Renderer,
    ) -> Result<Self, ConfigError> {
        let mailbox = |field: &str, text: &str| {
            headers::config_mailbox(text).map_err(|m| ConfigError::key(format!("{key}.{field}"), m))
        };
        let mailboxes = |field: &str, list: &[String]| -> Result<Vec<Mailbox>, ConfigError> {
            list.iter().map(|text| mailbox(field, text)).collect()
        };
        let inline = |renderer: &mut Renderer, field: &str, source: &str| {
            let name = format!("{key}.{field}");
            renderer
                .load_inline(Format::Text, &name, source)
                .map_err(|e| ConfigError::key(name, e.to_string()))
        };
        let file = |renderer: &mut Renderer, field: &str, path: &Option<String>, format: Format| {
            path.as_deref()
                .map(|path| {
                    renderer
                        .load_file(format, path)
                        .map_err(|e| ConfigError::key(format!("{key}.{field}"), e.to_string()))
                })
                .transpose()
        };
        let to = mailboxes("to", &settings.to)?;
        if to.is_empty() {
            return Err(ConfigError::key(format!("{key}.to"), "names no recipient"));
        }
        let body = match (
            file(renderer, "text", &settings.text, Format::Text)?,
            file(renderer, "html", &settings.html, Format::Html)?,
        ) {
            (Some(text), Some(html)) => Body::Alternative { text, html },
            (Some(text), None) => Body::Text(text),
            (None, Some(html)) => Body::Html(html),
            (None, None) => {
                return Err(ConfigError::key(key, "needs a `text` or an `html` template (or both)"));
            }
        };
        Ok(Self {
            server_name: settings.smtp.clone(),
            server,
            from: mailbox("from", &settings.from)?,
            from_name: settings
                .from_name
                .as_deref()
                .map(|source| inline(renderer, "from_name", source))
                .transpose()?,
            to,
            cc: mailboxes("cc", &settings.cc)?,
            bcc: mailboxes("bcc", &settings.bcc)?,
            reply_to: settings
                .reply_to
                .as_deref()
                .map(|source| inline(renderer, "reply_to", source))
                .transpose()?,
            subject: inline(renderer, "subject", &settings.subject)?,
            body,
            invite: settings
                .invite
                .then(|| EventTemplates::new(key, &default_event_summary(), &default_event_description(), renderer))
                .transpose()?,
        })
    }

    fn build(&self, renderer: &Renderer, message: &Message) -> Result<lettre::Message, RenderError> {
        let context = &message.context;
        let received_at = received_at(context.data());
        let render_header = |id: &TemplateId| renderer.render(id, context).map(|text| headers::header_text(&text));
        let mut from = self.from.clone();
        if let Some(id) = &self.from_name {
            let name = render_header(id)?;
            if !name.is_empty() {
                from.name = Some(name);
            }
        }
        let domain = self.from.email.domain().to_owned();
        let mut builder = lettre::Message::builder()
            .from(from)
            .subject(render_header(&self.subject)?)
            .date(received_at)
            .message_id(Some(format!(
                "<{}@{domain}>",
                idempotency_key(&message.call_id, &message.destination)
            )));
        for mailbox in &self.to {
            builder = builder.to(mailbox.clone());
        }
        for mailbox in &self.cc {
            builder = builder.cc(mailbox.clone());
        }
        for mailbox in &self.bcc {
            builder = builder.bcc(mailbox.clone());
        }
        if let Some(id) = &self.reply_to
            && let Some(address) = headers::rendered_address(&renderer.render(id, context)?)
        {
            builder = builder.reply_to(Mailbox::new(None, address));
        }
        let render = |id: &TemplateId| renderer.render(id, context);
        let mut parts = match &self.body {
            Body::Text(text) => vec![SinglePart::plain(render(text)?)],
            Body::Html(html) => vec![SinglePart::html(render(html)?)],
            Body::Alternative { text, html } => vec![SinglePart::plain(render(text)?), SinglePart::html(render(html)?)],
        };
        if let Some(invitation) = self.invitation(renderer, message)? {
            parts.push(
                SinglePart::builder()
                    .header(
                        ContentType::parse("text/calendar; method=REQUEST; charset=utf-8").map_err(|e| {
                            RenderError::Render {
                                name: message.destination.clone(),
                                error: e.to_string(),
                            }
                        })?,
                    )
                    .body(invitation),
            );
        }
        let mut parts = parts.into_iter();
        let built = match (parts.next(), parts.len()) {
            (Some(only), 0) => builder.singlepart(only),
            (Some(first), _) => {
                builder.multipart(parts.fold(MultiPart::alternative().singlepart(first), MultiPart::singlepart))
            }
            (None, _) => builder.body(String::new()),
        };
        built.map_err(|e| RenderError::Render {
            name: message.destination.clone(),
            error: format!("cannot build the email: {e}"),
        })
    }
}

impl EmailDestination {
    /// The iMIP REQUEST for a call that asks for a call-back, when invites are on.
    fn invitation(&self, renderer: &Renderer, message: &Message) -> Result<Option<String>, RenderError> {
        let Some(templates) = &self.invite else {
            return Ok(None);
        };
        if message.context.data()["callback"].is_null() {
            return Ok(None);
        }
        let invitation = Invitation {
            organizer: self.from.email.to_string(),
            attendees: self.to.iter().map(|m| m.email.to_string()).collect(),
        };
        Ok(Some(templates.event(renderer, message)?.to_invitation(&invitation)))
    }
}

/// The Date header: when the call was received, so every attempt sends
/// the same message.
fn received_at(context: &serde_json::Value) -> SystemTime {
    let seconds = context["callbridge"]["received_at"].as_u64().unwrap_or_default();
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

impl Destination for EmailDestination {
    fn render(&self, renderer: &Renderer, message: &Message) -> Result<Rendered, RenderError> {
        let email = self.build(renderer, message)?;
        Ok(Rendered::Email(Email {
            server: self.server_name.clone(),
            envelope: email.envelope().clone(),
            raw: email.formatted(),
        }))
    }

    fn send<'a>(&'a self, rendered: &'a Rendered) -> BoxFuture<'a, SendReport> {
        Box::pin(async move {
            match rendered {
                Rendered::Email(email) => self.server.send(&email.envelope, &email.raw).await,
                other => SendReport::wrong_kind(other),
            }
        })
    }
}
