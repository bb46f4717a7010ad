//! Destinations: one module per kind behind one small interface. A
//! destination renders a call into what it would send, sends it, and says
//! whether a failure is worth a retry. It knows nothing of ingest or the
//! store.

pub mod http;
mod http_request;
mod slack;

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;

pub use http::HttpDestination;
pub use http_request::{HttpRequest, HttpSender};
pub use slack::SlackDestination;

use crate::render::{RenderError, Renderer};

/// One call on its way to one destination.
#[derive(Debug, Clone)]
pub struct Message {
    pub call_id: String,
    pub destination: String,
    /// The call as templates see it.
    pub context: Value,
}

/// What a destination would send for a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    Http(HttpRequest),
}

impl Rendered {
    /// A readable copy of what is sent, for the attempt log and `render`.
    /// Callers redact secrets before it is stored or shown.
    pub fn describe(&self) -> String {
        match self {
            Self::Http(request) => request.describe(),
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
}

pub trait Destination: Send + Sync {
    fn render(&self, renderer: &Renderer, message: &Message) -> Result<Rendered, RenderError>;
    fn send<'a>(&'a self, rendered: &'a Rendered) -> BoxFuture<'a, SendReport>;
}
