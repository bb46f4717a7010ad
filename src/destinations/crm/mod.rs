//! CRM destinations: a contact per caller (found by phone, else created),
//! the call logged on it, the call-back as a task. Each vendor module runs
//! its own steps; what they share lives here: the plan rendered from the
//! templates, the steps already done (kept between attempts so a retry
//! never logs a call twice), and the contact book that makes two calls
//! from one number wait for each other and reuse one contact.

mod contacts;
mod hubspot;
mod pipedrive;

use std::collections::BTreeMap;

use serde_json::Value;

pub use contacts::ContactBook;
pub use hubspot::HubspotDestination;
pub use pipedrive::PipedriveDestination;

use futures_util::future::BoxFuture;

use super::{Answer, HttpRequest, HttpSender, Message, Outcome, Rendered, SendReport};
use crate::config::ConfigError;
use crate::render::{Format, RenderError, Renderer, TemplateId};

/// Steps done, by name, with the id the CRM gave what they created.
pub type Progress = BTreeMap<String, String>;

/// What a CRM destination would send for a call: the bodies its templates
/// rendered (record ids are added when they are known), by step.
#[derive(Debug, Clone, PartialEq)]
pub struct CrmPlan {
    /// The caller's number in E.164, the contact's identity; None when
    /// withheld or invalid, so no shared contact is matched or created.
    pub phone: Option<String>,
    pub bodies: BTreeMap<&'static str, Value>,
    /// Steps an earlier attempt finished.
    pub progress: Progress,
}

impl CrmPlan {
    pub fn describe(&self) -> String {
        let mut text = format!("caller: {}\n", self.phone.as_deref().unwrap_or("(no usable number)"));
        for (step, body) in &self.bodies {
            text.push_str(&format!("\n{step}: {body}\n"));
        }
        text
    }

    fn body(&self, step: &str) -> Value {
        self.bodies.get(step).cloned().unwrap_or(Value::Null)
    }
}

/// One vendor's HTTP conventions: where, how to authenticate, and how to
/// read its errors and rate limits.
trait Api: Send + Sync {
    fn request(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> HttpRequest;
    /// The vendor's own message in an error body.
    fn message(&self, body: &str) -> String;
    /// How long a 429 asks us to wait, beyond `Retry-After`.
    fn rate_limit_wait(&self, answer: &Answer) -> Option<std::time::Duration>;
}

/// A step that did not succeed, as the report the dispatcher acts on.
#[derive(Debug)]
struct Failed(SendReport);

impl Failed {
    /// A 2xx we cannot read is most likely a proxy's page, not the CRM's
    /// answer: worth a retry.
    fn unreadable(step: &str, answer: &Answer, problem: String) -> Self {
        Self(SendReport {
            outcome: Outcome::Retry { after: None },
            status: Some(answer.status),
            error: Some(format!("{step}: {problem}")),
            response: Some(crate::render::truncate_chars(&answer.body, 2000)),
            progress: None,
        })
    }
}

/// A vendor's steps for one call, resuming after those in `progress` and
/// adding each one it finishes.
trait Steps: Send + Sync {
    fn run<'a>(&'a self, plan: &'a CrmPlan, progress: &'a mut Progress) -> BoxFuture<'a, Result<String, Failed>>;
}

/// `Destination::send` for a CRM: its steps, with the progress they made
/// kept whether they all succeeded or not.
fn send_plan<'a>(steps: &'a dyn Steps, rendered: &'a Rendered) -> BoxFuture<'a, SendReport> {
    Box::pin(async move {
        let Rendered::Crm(plan) = rendered else {
            return SendReport::wrong_kind(rendered);
        };
        let mut progress = plan.progress.clone();
        let result = steps.run(plan, &mut progress).await;
        finish(result, progress)
    })
}

fn load_template(renderer: &mut Renderer, key: &str, field: &str, file: &str) -> Result<TemplateId, ConfigError> {
    renderer
        .load_file(Format::Json, file)
        .map_err(|e| ConfigError::key(format!("{key}.{field}"), e.to_string()))
}

/// Runs one request of a step; any status but `expected` is a failure
/// named after the step, classified as the dispatcher's rules say.
async fn call(
    sender: &HttpSender,
    api: &dyn Api,
    step: &str,
    request: HttpRequest,
    expected: &[u16],
) -> Result<Answer, Failed> {
    let answer = sender.exchange(&request).await.map_err(|mut report| {
        report.error = report.error.map(|e| format!("{step}: {e}"));
        Failed(report)
    })?;
    if expected.contains(&answer.status) {
        return Ok(answer);
    }
    let wait = (answer.status == 429).then(|| api.rate_limit_wait(&answer)).flatten();
    let report = answer.report(expected, wait, |body| format!("{step}: {}", api.message(body)));
    Err(Failed(report))
}

/// The JSON of a successful answer.
fn json_of(step: &str, answer: &Answer) -> Result<Value, Failed> {
    serde_json::from_str(&answer.body)
        .map_err(|e| Failed::unreadable(step, answer, format!("the answer is not JSON ({e})")))
}

/// An id at `pointer` in an answer (a string or a number).
fn id_at(step: &str, answer: &Answer, pointer: &str) -> Result<String, Failed> {
    let id = match json_of(step, answer)?.pointer(pointer) {
        Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
        Some(Value::Number(id)) => Some(id.to_string()),
        _ => None,
    };
    id.ok_or_else(|| Failed::unreadable(step, answer, format!("no id at {pointer} in the answer")))
}

/// How a run of steps ended: delivered, or the failed step's report; the
/// progress made either way is kept.
fn finish(result: Result<String, Failed>, progress: Progress) -> SendReport {
    match result {
        Ok(summary) => SendReport {
            outcome: Outcome::Delivered,
            status: None,
            error: None,
            response: Some(summary),
            progress: Some(progress),
        },
        Err(Failed(mut report)) => {
            report.progress = Some(progress);
            report
        }
    }
}

/// What was done, for the attempt log: `contact 17, call 3, task 9`.
fn summary(progress: &Progress) -> String {
    progress
        .iter()
        .map(|(step, id)| format!("{step} {id}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `error`/`message` text of a vendor error body, else the body.
fn message_field(body: &str, fields: &[&str]) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let found: Vec<&str> = fields
        .iter()
        .filter_map(|f| parsed.as_ref()?.get(*f)?.as_str())
        .filter(|m| !m.is_empty())
        .collect();
    if found.is_empty() {
        crate::render::truncate_chars(body, 500)
    } else {
        found.join(": ")
    }
}

/// A template's body as JSON (JSON templates are checked to parse).
fn render_json(renderer: &Renderer, template: &TemplateId, message: &Message) -> Result<Value, RenderError> {
    let text = renderer.render(template, &message.context)?;
    let body: Value = serde_json::from_str(&text).map_err(|e| RenderError::InvalidJson {
        name: template.name.clone(),
        error: e.to_string(),
    })?;
    if body.is_object() {
        Ok(body)
    } else {
        Err(RenderError::InvalidJson {
            name: template.name.clone(),
            error: "must render a JSON object".into(),
        })
    }
}

/// The caller's number in E.164, when there is a usable one.
fn caller_phone(context: &Value) -> Option<String> {
    context["caller_phone_e164"]
        .as_str()
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
}

/// When the call was made (unix ms): the call's own time, else receipt.
fn call_time_ms(context: &Value) -> i64 {
    let seconds = context["calltimestamp"]
        .as_i64()
        .or_else(|| context["callbridge"]["received_at"].as_i64())
        .unwrap_or_default();
    seconds * 1000
}

/// The resolved call-back time, for a call that asks for one.
fn callback_due(context: &Value) -> Option<jiff::Timestamp> {
    context["callback"]["due"].as_str()?.parse().ok()
}

/// An http(s) origin, without a trailing slash.
fn base_url(key: &str, field: &str, value: &str) -> Result<String, ConfigError> {
    url::Url::parse(value)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .map(|_| value.trim_end_matches('/').to_owned())
        .ok_or_else(|| ConfigError::key(format!("{key}.{field}"), format!("`{value}` is not an http(s) URL")))
}
