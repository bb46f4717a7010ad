//! Destinations: one module per kind behind one small interface. A
//! destination renders a call into what it would send, sends it, and says
//! whether a failure is worth a retry. It knows nothing of ingest or the
//! store.

pub mod calendar;
mod chat;
pub mod crm;
pub mod email;
pub mod http;
mod http_request;
mod oauth;
mod slack;

use std::time::Duration;

use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

pub use calendar::caldav::CaldavDestination;
pub use calendar::google::GoogleCalendarDestination;
pub use chat::{ChatDestination, Webhook};
pub use crm::{CrmPlan, HubspotDestination, PipedriveDestination, Progress};
pub use email::{Email, EmailDestination, SmtpServer};
pub use http::HttpDestination;
pub use http_request::{Answer, HttpRequest, HttpSender};
pub use slack::SlackDestination;

use crate::render::{Context, RenderError, Renderer};

/// One call on its way to one destination.
#[derive(Debug, Clone)]
pub struct Message {
    pub call_id: String,
    pub destination: String,
    /// The call as templates see it.
    pub context: Context,
}

/// What a destination would send for a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    Http(HttpRequest),
    Email(Email),
    Crm(CrmPlan),
}

impl Rendered {
    /// A readable copy of what is sent, for the attempt log and `render`.
    /// Callers redact secrets before it is stored or shown.
    /// What is sent, with every secret redacted.
    pub fn describe(&self, secrets: &crate::config::Secrets) -> String {
        match self {
            Self::Http(request) => request.describe(secrets),
            Self::Email(email) => secrets.redact(&email.describe()),
            Self::Crm(plan) => secrets.redact(&plan.describe()),
        }
    }

    /// Hands a multi-step destination the steps an earlier attempt
    /// finished, so it does not repeat them.
    pub fn resume(&mut self, progress: Progress) {
        if let Self::Crm(plan) = self {
            plan.progress = progress;
        }
    }
}

/// How a send ended, and so what the dispatcher does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Delivered,
    /// Worth trying again; `after` is the wait the destination asked for.
    Retry {
        after: Option<Duration>,
    },
    /// Trying again cannot help (a rejected request, a gone endpoint).
    Permanent,
}

/// The result of one send, with what the destination answered.
#[derive(Debug, Clone, PartialEq)]
pub struct SendReport {
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub response: Option<String>,
    /// Steps of a multi-step destination done so far, to keep for the
    /// next attempt (None: nothing to keep).
    pub progress: Option<Progress>,
}

impl SendReport {
    /// A destination handed what another kind rendered: a bug, never
    /// worth a retry.
    fn wrong_kind(rendered: &Rendered) -> Self {
        let kind = match rendered {
            Rendered::Http(_) => "an HTTP request",
            Rendered::Email(_) => "an email",
            Rendered::Crm(_) => "CRM records",
        };
        Self {
            outcome: Outcome::Permanent,
            status: None,
            error: Some(format!("internal error: this destination cannot send {kind}")),
            response: None,
            progress: None,
        }
    }
}

/// The same key for every attempt of one call to one destination, so the
/// receiver can drop our retries.
pub fn idempotency_key(call_id: &str, destination: &str) -> String {
    let digest = Sha256::digest(format!("{call_id}\n{destination}"));
    format!("{:x}", digest)[..32].to_owned()
}

pub trait Destination: Send + Sync {
    fn render(&self, renderer: &Renderer, message: &Message) -> Result<Rendered, RenderError>;
    fn send<'a>(&'a self, rendered: &'a Rendered) -> BoxFuture<'a, SendReport>;

    /// The least time between two sends (a vendor's documented rate):
    /// claimed deliveries may wait this long each before their turn.
    fn spacing(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_key_is_stable_per_call_and_destination() {
        assert_eq!(idempotency_key("c1", "crm"), idempotency_key("c1", "crm"));
        assert_ne!(idempotency_key("c1", "crm"), idempotency_key("c1", "slack"));
        assert_eq!(idempotency_key("c1", "crm"), "400edcfc613adf860f717fa2073ccf24");
    }
}
