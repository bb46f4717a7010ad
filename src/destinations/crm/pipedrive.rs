//! Pipedrive (API token): the caller's person found by exact phone or
//! created (v2), a lead for a new caller, a note with the summary, and the
//! call-back as an activity of type call (v2) due at the resolved time.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::{Api, ContactBook, CrmPlan, Failed, Progress, Steps, call, id_at, json_of, message_field, summary};
use crate::config::{ConfigError, PipedriveSettings};
use crate::destinations::{Answer, Destination, HttpRequest, HttpSender, Message, Rendered, SendReport};
use crate::render::{RenderError, Renderer, TemplateId, escape_url_component};

pub struct PipedriveDestination {
    api: PipedriveApi,
    person: TemplateId,
    lead: Option<TemplateId>,
    note: TemplateId,
    activity: TemplateId,
    contacts: ContactBook,
    sender: HttpSender,
}

struct PipedriveApi {
    base: String,
    token: String,
}

/// What a Pipedrive step expects on success.
const OK: [u16; 2] = [200, 201];

impl PipedriveDestination {
    pub fn new(
        key: &str,
        settings: &PipedriveSettings,
        renderer: &mut Renderer,
        sender: HttpSender,
    ) -> Result<Self, ConfigError> {
        // Checked non-empty by the pipeline, which can name an unset ${VAR}.
        let token = settings.token.trim().to_owned();
        let base = match (&settings.api_base, &settings.company_domain) {
            (Some(base), _) => super::base_url(key, "api_base", base)?,
            (None, Some(company)) if is_subdomain(company) => format!("https://{company}.pipedrive.com"),
            (None, Some(company)) => {
                return Err(ConfigError::key(
                    format!("{key}.company_domain"),
                    format!("`{company}` is not a company domain (the `acme` of acme.pipedrive.com)"),
                ));
            }
            (None, None) => {
                return Err(ConfigError::key(
                    format!("{key}.company_domain"),
                    "is missing (the `acme` of acme.pipedrive.com)",
                ));
            }
        };
        let load = |renderer: &mut Renderer, field: &str, file: &str| super::load_template(renderer, key, field, file);
        let lead = match &settings.lead_template {
            Some(file) if !file.is_empty() => Some(load(renderer, "lead_template", file)?),
            _ => None,
        };
        Ok(Self {
            api: PipedriveApi { base, token },
            person: load(renderer, "person_template", &settings.person_template)?,
            lead,
            note: load(renderer, "note_template", &settings.note_template)?,
            activity: load(renderer, "activity_template", &settings.activity_template)?,
            contacts: ContactBook::default(),
            sender,
        })
    }

    async fn steps(&self, plan: &CrmPlan, progress: &mut Progress) -> Result<String, Failed> {
        let Some(phone) = &plan.phone else {
            // A note must hang on a person; a withheld number must not
            // become one shared person.
            return Ok(
                "skipped: the caller's number is withheld or invalid, so no person is matched or created".into(),
            );
        };
        let person = match progress.get("person") {
            Some(id) => id.clone(),
            None => {
                let (id, created) = self
                    .contacts
                    .resolve(phone, || self.find_or_create(phone, plan.body("person")))
                    .await?;
                progress.insert("person".into(), id.clone());
                if created {
                    progress.insert("person_created".into(), "yes".into());
                }
                id
            }
        };
        let person_id = number(&person);
        if progress.contains_key("person_created") && plan.bodies.contains_key("lead") && !progress.contains_key("lead")
        {
            let mut lead = plan.body("lead");
            lead["person_id"] = person_id.clone();
            let answer = self.post("creating the lead", "/v1/leads", &lead).await?;
            progress.insert("lead".into(), id_at("creating the lead", &answer, "/data/id")?);
        }
        if !progress.contains_key("note") {
            let mut note = plan.body("note");
            note["person_id"] = person_id.clone();
            if let Some(lead) = progress.get("lead") {
                note["lead_id"] = json!(lead);
            }
            let answer = self.post("adding the note", "/v1/notes", &note).await?;
            progress.insert("note".into(), id_at("adding the note", &answer, "/data/id")?);
        }
        if plan.bodies.contains_key("activity") && !progress.contains_key("activity") {
            let mut activity = plan.body("activity");
            activity["person_id"] = person_id;
            let answer = self
                .post("adding the activity", "/api/v2/activities", &activity)
                .await?;
            progress.insert("activity".into(), id_at("adding the activity", &answer, "/data/id")?);
        }
        Ok(summary(progress))
    }

    /// Exact phone search, else a new person with the number as its phone.
    async fn find_or_create(&self, phone: &str, mut person: Value) -> Result<(String, bool), Failed> {
        let path = format!(
            "/api/v2/persons/search?term={}&fields=phone&exact_match=true",
            escape_url_component(phone)
        );
        let request = self.api.request(reqwest::Method::GET, &path, None);
        let found = call(&self.sender, &self.api, "searching the person", request, &OK).await?;
        let found = json_of("searching the person", &found)?;
        if let Some(id) = found.pointer("/data/items/0/item/id").and_then(Value::as_i64) {
            return Ok((id.to_string(), false));
        }
        person["phones"] = json!([{"value": phone, "primary": true, "label": "work"}]);
        let created = self.post("creating the person", "/api/v2/persons", &person).await?;
        Ok((id_at("creating the person", &created, "/data/id")?, true))
    }

    async fn post(&self, step: &str, path: &str, body: &Value) -> Result<Answer, Failed> {
        let request = self.api.request(reqwest::Method::POST, path, Some(body));
        call(&self.sender, &self.api, step, request, &OK).await
    }
}

/// Pipedrive ids are integers; keep one we stored as a string numeric.
fn number(id: &str) -> Value {
    id.parse::<i64>().map_or_else(|_| json!(id), |n| json!(n))
}

fn is_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
}

impl Api for PipedriveApi {
    fn request(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> HttpRequest {
        HttpRequest {
            method,
            url: format!("{}{path}", self.base),
            // The header keeps the token out of URLs and access logs.
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("x-api-token".into(), self.token.clone()),
            ],
            body: body.map(Value::to_string).unwrap_or_default(),
            expected_status: Vec::new(),
        }
    }

    fn message(&self, body: &str) -> String {
        message_field(body, &["error", "error_info"])
    }

    /// Seconds until the window resets.
    fn rate_limit_wait(&self, answer: &Answer) -> Option<Duration> {
        let reset = answer.headers.get("x-ratelimit-reset")?.to_str().ok()?;
        reset.trim().parse::<u64>().ok().map(Duration::from_secs)
    }
}

impl Destination for PipedriveDestination {
    fn render(&self, renderer: &Renderer, message: &Message) -> Result<Rendered, RenderError> {
        let data = message.context.data();
        let mut bodies = std::collections::BTreeMap::new();
        bodies.insert("person", super::render_json(renderer, &self.person, message)?);
        if let Some(lead) = &self.lead {
            bodies.insert("lead", super::render_json(renderer, lead, message)?);
        }
        bodies.insert("note", super::render_json(renderer, &self.note, message)?);
        if let Some(due) = super::callback_due(data) {
            let mut activity = super::render_json(renderer, &self.activity, message)?;
            // Pipedrive takes the due date and time in UTC.
            let utc = due.to_zoned_datetime(jiff::tz::TimeZone::UTC);
            activity["due_date"] = json!(utc.strftime("%Y-%m-%d").to_string());
            activity["due_time"] = json!(utc.strftime("%H:%M").to_string());
            activity["type"] = json!("call");
            bodies.insert("activity", activity);
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

impl Steps for PipedriveDestination {
    fn run<'a>(&'a self, plan: &'a CrmPlan, progress: &'a mut Progress) -> BoxFuture<'a, Result<String, Failed>> {
        Box::pin(self.steps(plan, progress))
    }
}
