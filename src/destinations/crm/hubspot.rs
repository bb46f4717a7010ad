//! HubSpot (CRM v3, private-app token): the caller's contact found by
//! phone or created, the call logged on it as a call engagement, and the
//! call-back as a task due at the resolved time.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::{Api, ContactBook, CrmPlan, Failed, Progress, Steps, call, id_at, json_of, message_field, summary};
use crate::config::{ConfigError, HubspotSettings};
use crate::destinations::{Answer, Destination, HttpRequest, HttpSender, Message, Rendered, SendReport};
use crate::render::{RenderError, Renderer, TemplateId};

/// HubSpot's own association types from a call and a task to a contact.
const CALL_TO_CONTACT: u32 = 194;
const TASK_TO_CONTACT: u32 = 204;

pub struct HubspotDestination {
    api: HubspotApi,
    contact: TemplateId,
    call: TemplateId,
    task: TemplateId,
    contacts: ContactBook,
    sender: HttpSender,
}

struct HubspotApi {
    base: String,
    token: String,
}

impl HubspotDestination {
    pub fn new(
        key: &str,
        settings: &HubspotSettings,
        renderer: &mut Renderer,
        sender: HttpSender,
    ) -> Result<Self, ConfigError> {
        // Checked non-empty by the pipeline, which can name an unset ${VAR}.
        let token = settings.token.trim().to_owned();
        let base = super::base_url(key, "api_base", &settings.api_base)?;
        let load = |renderer: &mut Renderer, field: &str, file: &str| super::load_template(renderer, key, field, file);
        Ok(Self {
            api: HubspotApi { base, token },
            contact: load(renderer, "contact_template", &settings.contact_template)?,
            call: load(renderer, "call_template", &settings.call_template)?,
            task: load(renderer, "task_template", &settings.task_template)?,
            contacts: ContactBook::default(),
            sender,
        })
    }

    async fn steps(&self, plan: &CrmPlan, progress: &mut Progress) -> Result<String, Failed> {
        let contact = match (progress.get("contact"), &plan.phone) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(phone)) => {
                let id = self
                    .contacts
                    .resolve(phone, || self.find_or_create(phone, plan.body("contact")))
                    .await?
                    .0;
                progress.insert("contact".into(), id.clone());
                Some(id)
            }
            // Withheld or invalid: logged without a contact.
            (None, None) => None,
        };
        if !progress.contains_key("call") {
            let body = associated(plan.body("call"), contact.as_deref(), CALL_TO_CONTACT);
            let answer = self.post("logging the call", "/crm/v3/objects/calls", &body).await;
            let answer = self.forget_gone_contact(answer, plan, progress)?;
            progress.insert("call".into(), id_at("logging the call", &answer, "/id")?);
        }
        if plan.bodies.contains_key("task") && !progress.contains_key("task") {
            let body = associated(plan.body("task"), contact.as_deref(), TASK_TO_CONTACT);
            let answer = self.post("creating the task", "/crm/v3/objects/tasks", &body).await?;
            progress.insert("task".into(), id_at("creating the task", &answer, "/id")?);
        }
        Ok(summary(progress))
    }

    /// Search by phone, else create; a 409 names the contact that exists.
    async fn find_or_create(&self, phone: &str, mut contact: Value) -> Result<(String, bool), Failed> {
        let search = json!({
            "filterGroups": [{"filters": [{"propertyName": "phone", "operator": "EQ", "value": phone}]}],
            "properties": ["phone"],
            "limit": 1,
        });
        let found = self
            .post("searching the contact", "/crm/v3/objects/contacts/search", &search)
            .await?;
        if let Some(id) = json_of("searching the contact", &found)?
            .pointer("/results/0/id")
            .and_then(Value::as_str)
        {
            return Ok((id.to_owned(), false));
        }
        // The number is the contact's identity, whatever the template says.
        contact["properties"]["phone"] = json!(phone);
        let request = self
            .api
            .request(reqwest::Method::POST, "/crm/v3/objects/contacts", Some(&contact));
        let created = call(
            &self.sender,
            &self.api,
            "creating the contact",
            request,
            &[200, 201, 409],
        )
        .await?;
        if created.status == 409 {
            let existing = existing_id(&created.body).ok_or_else(|| {
                let report = created.report(&[], None, |body| {
                    format!("creating the contact: {}", self.api.message(body))
                });
                Failed(report)
            })?;
            return Ok((existing, false));
        }
        Ok((id_at("creating the contact", &created, "/id")?, true))
    }

    async fn post(&self, step: &str, path: &str, body: &Value) -> Result<Answer, Failed> {
        let request = self.api.request(reqwest::Method::POST, path, Some(body));
        call(&self.sender, &self.api, step, request, &[200, 201]).await
    }

    /// A contact deleted or merged in HubSpot since we found it: look it up
    /// again on the next attempt.
    fn forget_gone_contact(
        &self,
        answer: Result<Answer, Failed>,
        plan: &CrmPlan,
        progress: &mut Progress,
    ) -> Result<Answer, Failed> {
        let Err(Failed(mut report)) = answer else {
            return answer;
        };
        if report.status == Some(404)
            && let Some(phone) = &plan.phone
        {
            self.contacts.forget(phone);
            progress.remove("contact");
            report.outcome = crate::destinations::Outcome::Retry { after: None };
        }
        Err(Failed(report))
    }
}

/// The body with an association to the contact, when there is one.
fn associated(mut body: Value, contact: Option<&str>, type_id: u32) -> Value {
    if let Some(id) = contact {
        body["associations"] = json!([{
            "to": {"id": id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}],
        }]);
    }
    body
}

/// `Contact already exists. Existing ID: 123` → 123.
fn existing_id(body: &str) -> Option<String> {
    let message = serde_json::from_str::<Value>(body).ok()?["message"]
        .as_str()?
        .to_owned();
    let id = message.strip_prefix("Contact already exists. Existing ID: ")?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_owned())
}

impl Api for HubspotApi {
    fn request(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> HttpRequest {
        HttpRequest {
            method,
            url: format!("{}{path}", self.base),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Authorization".into(), format!("Bearer {}", self.token)),
            ],
            body: body.map(Value::to_string).unwrap_or_default(),
            expected_status: Vec::new(),
        }
    }

    fn message(&self, body: &str) -> String {
        message_field(body, &["category", "message"])
    }

    /// The window the limit applies to: HubSpot's interval header, else
    /// the policy the body names.
    fn rate_limit_wait(&self, answer: &Answer) -> Option<Duration> {
        let interval = answer
            .headers
            .get("x-hubspot-ratelimit-interval-milliseconds")
            .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
            .map(Duration::from_millis);
        let policy = serde_json::from_str::<Value>(&answer.body).ok()?;
        interval.or(match policy["policyName"].as_str()? {
            "SECONDLY" => Some(Duration::from_secs(1)),
            "TEN_SECONDLY_ROLLING" => Some(Duration::from_secs(10)),
            "DAILY" => Some(Duration::from_secs(3600)),
            _ => None,
        })
    }
}

impl Destination for HubspotDestination {
    fn render(&self, renderer: &Renderer, message: &Message) -> Result<Rendered, RenderError> {
        let data = message.context.data();
        let mut bodies = std::collections::BTreeMap::new();
        bodies.insert("contact", super::render_json(renderer, &self.contact, message)?);
        let mut call = super::render_json(renderer, &self.call, message)?;
        call["properties"]["hs_timestamp"] = json!(super::call_time_ms(data).to_string());
        if let Some(seconds) = data["callduration"].as_u64() {
            call["properties"]["hs_call_duration"] = json!((seconds * 1000).to_string());
        }
        bodies.insert("call", call);
        if let Some(due) = super::callback_due(data) {
            let mut task = super::render_json(renderer, &self.task, message)?;
            task["properties"]["hs_timestamp"] = json!(due.as_millisecond().to_string());
            bodies.insert("task", task);
        }
        Ok(Rendered::Crm(CrmPlan {
            phone: super::caller_phone(data),
            bodies,
            progress: Progress::new(),
        }))
    }

    fn send<'a>(&'a self, rendered: &'a Rendered) -> BoxFuture<'a, SendReport> {
        super::send_plan(self, rendered)
    }
}

impl Steps for HubspotDestination {
    fn run<'a>(&'a self, plan: &'a CrmPlan, progress: &'a mut Progress) -> BoxFuture<'a, Result<String, Failed>> {
        Box::pin(self.steps(plan, progress))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_existing_id_is_read_from_a_conflict() {
        let body = r#"{"status":"error","message":"Contact already exists. Existing ID: 5101","category":"CONFLICT"}"#;
        assert_eq!(existing_id(body), Some("5101".to_owned()));
        assert_eq!(
            existing_id(r#"{"message":"Contact already exists. Existing ID: "}"#),
            None
        );
        assert_eq!(existing_id("not json"), None);
    }
}
