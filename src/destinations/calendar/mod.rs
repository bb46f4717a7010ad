//! Calendar events for the call-back: built from the call's resolved
//! callback time and two small templates, sent by the calendar kinds.

pub mod caldav;
pub mod google;
mod ics;

use jiff::Timestamp;

pub use ics::{CallbackEvent, Invitation, LENGTH};

use super::{Message, idempotency_key};
use crate::config::ConfigError;
use crate::render::{Format, RenderError, Renderer, TemplateId};

/// The title and description of an event, compiled at load.
pub struct EventTemplates {
    summary: TemplateId,
    description: TemplateId,
}

impl EventTemplates {
    pub fn new(key: &str, summary: &str, description: &str, renderer: &mut Renderer) -> Result<Self, ConfigError> {
        let mut compile = |field: &str, source: &str| {
            let name = format!("{key}.{field}");
            renderer
                .load_inline(Format::Text, &name, source)
                .map_err(|e| ConfigError::key(name, e.to_string()))
        };
        Ok(Self {
            summary: compile("summary", summary)?,
            description: compile("description", description)?,
        })
    }

    /// The event for a call that asks for a call-back; an error for one
    /// that does not (route calendars from a `call_back_needed` route).
    pub fn event(&self, renderer: &Renderer, message: &Message) -> Result<CallbackEvent, RenderError> {
        let data = message.context.data();
        let start = data["callback"]["due"]
            .as_str()
            .and_then(|due| due.parse::<Timestamp>().ok())
            .ok_or_else(|| RenderError::Render {
                name: message.destination.clone(),
                error: "this call asks for no call-back, so there is no event to make".into(),
            })?;
        let stamp = data["callbridge"]["received_at"]
            .as_i64()
            .and_then(|seconds| Timestamp::from_second(seconds).ok())
            .unwrap_or(start);
        let summary = renderer.render(&self.summary, &message.context)?;
        Ok(CallbackEvent {
            uid: format!("{}@callbridge", resource_name(message)),
            start,
            stamp,
            // A title is one line.
            summary: summary.split_whitespace().collect::<Vec<_>>().join(" "),
            description: renderer.render(&self.description, &message.context)?,
        })
    }
}

/// The same for every attempt of one call to one destination.
fn resource_name(message: &Message) -> String {
    format!("callbridge-{}", idempotency_key(&message.call_id, &message.destination))
}
