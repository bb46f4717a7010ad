//! HubSpot and Pipedrive stand-ins on loopback that behave like the APIs
//! where callbridge depends on it: search by phone, create, conflicts,
//! search lagging behind creates, and answers queued for one request.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

/// One request the stand-in answered: method, path, query, headers
/// (lower-cased names), body.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Value,
    pub auth: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    /// (id, phone) of every contact or person.
    contacts: Vec<(u64, String)>,
    next_id: u64,
    seen: Vec<Seen>,
    /// Search never sees what was created during the test.
    search_lags: bool,
    /// Contacts created before the test began, seen by search.
    preexisting: Vec<(u64, String)>,
    /// Answers for the next request to a path, used once each.
    queued: VecDeque<(String, ResponseTemplate)>,
    /// HubSpot: answer every contact create with a conflict naming this id.
    conflict_with: Option<u64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Vendor {
    Hubspot,
    Pipedrive,
}

pub struct FakeCrm {
    pub server: MockServer,
    state: Arc<Mutex<State>>,
}

impl FakeCrm {
    pub async fn hubspot() -> Self {
        Self::start(Vendor::Hubspot).await
    }

    pub async fn pipedrive() -> Self {
        Self::start(Vendor::Pipedrive).await
    }

    async fn start(vendor: Vendor) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            next_id: 5001,
            ..State::default()
        }));
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(Responder {
                vendor,
                state: Arc::clone(&state),
            })
            .mount(&server)
            .await;
        Self { server, state }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn lag_search(&self) {
        self.state.lock().unwrap().search_lags = true;
    }

    /// A contact that exists before the test, found by search.
    pub fn existing(&self, id: u64, phone: &str) {
        let mut state = self.state.lock().unwrap();
        state.preexisting.push((id, phone.to_owned()));
        state.contacts.push((id, phone.to_owned()));
    }

    pub fn conflict_with(&self, id: u64) {
        self.state.lock().unwrap().conflict_with = Some(id);
    }

    /// The next request to `path` gets `answer` instead.
    pub fn queue(&self, path: &str, answer: ResponseTemplate) {
        self.state.lock().unwrap().queued.push_back((path.to_owned(), answer));
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// Bodies POSTed to `path`.
    pub fn posted(&self, path: &str) -> Vec<Value> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == "POST" && s.path == path)
            .map(|s| s.body)
            .collect()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }
}

struct Responder {
    vendor: Vendor,
    state: Arc<Mutex<State>>,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        let path = request.url.path().to_owned();
        let query: serde_json::Map<String, Value> = request
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        let auth = match self.vendor {
            Vendor::Hubspot => request.headers.get("authorization"),
            Vendor::Pipedrive => request.headers.get("x-api-token"),
        }
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
        let body = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        state.seen.push(Seen {
            method: request.method.to_string(),
            path: path.clone(),
            query: Value::Object(query.clone()),
            auth,
            body: body.clone(),
        });
        if let Some(i) = state.queued.iter().position(|(p, _)| *p == path) {
            return state.queued.remove(i).unwrap().1;
        }
        match self.vendor {
            Vendor::Hubspot => hubspot(&mut state, &path, &body),
            Vendor::Pipedrive => pipedrive(&mut state, &path, &query, &body),
        }
    }
}

fn searchable(state: &State) -> &[(u64, String)] {
    if state.search_lags {
        &state.preexisting
    } else {
        &state.contacts
    }
}

fn create(state: &mut State, phone: &str) -> u64 {
    let id = state.next_id;
    state.next_id += 1;
    state.contacts.push((id, phone.to_owned()));
    id
}

fn hubspot_record(id: u64) -> Value {
    json!({"id": id.to_string(), "properties": {"hs_object_id": id.to_string()},
           "createdAt": "2024-12-03T08:00:00Z", "updatedAt": "2024-12-03T08:00:00Z", "archived": false})
}

fn hubspot(state: &mut State, path: &str, body: &Value) -> ResponseTemplate {
    match path {
        "/crm/v3/objects/contacts/search" => {
            let phone = body.pointer("/filterGroups/0/filters/0/value").and_then(Value::as_str);
            let results: Vec<Value> = searchable(state)
                .iter()
                .filter(|(_, p)| Some(p.as_str()) == phone)
                .map(|(id, _)| hubspot_record(*id))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"total": results.len(), "results": results}))
        }
        "/crm/v3/objects/contacts" => {
            if let Some(existing) = state.conflict_with {
                return ResponseTemplate::new(409).set_body_json(json!({
                    "status": "error", "category": "CONFLICT",
                    "message": format!("Contact already exists. Existing ID: {existing}"),
                    "correlationId": "9a3e4c1b-2f0d-4e7a-8b6c-5d4e3f2a1b0c"}));
            }
            let phone = body
                .pointer("/properties/phone")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let id = create(state, phone);
            ResponseTemplate::new(201).set_body_json(hubspot_record(id))
        }
        "/crm/v3/objects/calls" | "/crm/v3/objects/tasks" => {
            let id = state.next_id;
            state.next_id += 1;
            ResponseTemplate::new(201).set_body_json(hubspot_record(id))
        }
        _ => ResponseTemplate::new(404)
            .set_body_json(json!({"status": "error", "category": "OBJECT_NOT_FOUND", "message": "not found"})),
    }
}

fn pipedrive(state: &mut State, path: &str, query: &serde_json::Map<String, Value>, body: &Value) -> ResponseTemplate {
    let ok =
        |status: u16, data: Value| ResponseTemplate::new(status).set_body_json(json!({"success": true, "data": data}));
    match path {
        "/api/v2/persons/search" => {
            let term = query.get("term").and_then(Value::as_str);
            let items: Vec<Value> = searchable(state)
                .iter()
                .filter(|(_, p)| Some(p.as_str()) == term)
                .map(|(id, p)| json!({"result_score": 1.0, "item": {"id": id, "type": "person", "name": "Known", "phones": [p]}}))
                .collect();
            ok(200, json!({"items": items}))
        }
        "/api/v2/persons" => {
            let phone = body
                .pointer("/phones/0/value")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let id = create(state, phone);
            ok(200, json!({"id": id, "name": body["name"]}))
        }
        "/v1/leads" => {
            let n = state.next_id;
            state.next_id += 1;
            ok(
                201,
                json!({"id": format!("adf21080-0e10-11eb-879b-{n:012}"), "title": body["title"]}),
            )
        }
        "/v1/notes" | "/api/v2/activities" => {
            let id = state.next_id;
            state.next_id += 1;
            ok(200, json!({"id": id}))
        }
        _ => ResponseTemplate::new(404).set_body_json(json!({"success": false, "error": "unknown path"})),
    }
}
