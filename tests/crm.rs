//! HubSpot and Pipedrive destinations against stand-ins that behave like
//! the APIs: one contact per caller (also under concurrency and search
//! lag), the call logged, the call-back as a task, retries that resume
//! where they stopped, and vendor messages on a dead delivery. Every body
//! sent is validated against the shared contracts.

mod support;

use serde_json::{Value, json};
use support::fake_crm::FakeCrm;
use support::*;
use wiremock::ResponseTemplate;

const HUBSPOT_TOKEN: &str = "pat-eu1-0000-SECRET";
const PIPEDRIVE_TOKEN: &str = "pd-SECRET-0123";

async fn hubspot_app(crm: &FakeCrm) -> TestApp {
    TestApp::spawn(&config_yaml(&format!(
        "destinations:\n  crm: {{ type: hubspot, token: \"{HUBSPOT_TOKEN}\", api_base: \"{}\" }}\nroutes:\n  - {{ name: all, to: [crm] }}\n",
        crm.uri()
    )))
    .await
}

async fn pipedrive_app(crm: &FakeCrm) -> TestApp {
    TestApp::spawn(&config_yaml(&format!(
        "destinations:\n  crm: {{ type: pipedrive, token: \"{PIPEDRIVE_TOKEN}\", api_base: \"{}\" }}\nroutes:\n  - {{ name: all, to: [crm] }}\n",
        crm.uri()
    )))
    .await
}

/// The call-back due time stored with the call, in unix ms.
fn callback_due_ms(app: &TestApp, call_id: &str) -> i64 {
    let db = rusqlite::Connection::open(app.dir.path().join("callbridge.db")).unwrap();
    let callback: String = db
        .query_row("SELECT callback FROM calls WHERE id = ?", [call_id], |r| r.get(0))
        .unwrap();
    let callback: Value = serde_json::from_str(&callback).unwrap();
    callback["due"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_millisecond()
}

fn association(id: &str, type_id: u32) -> Value {
    json!([{"to": {"id": id}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}])
}

fn valid_hubspot(definition: &str, body: &Value) {
    assert_valid_def("hubspot/requests.schema.json", definition, body);
}

fn valid_pipedrive(definition: &str, body: &Value) {
    assert_valid_def("pipedrive/requests.schema.json", definition, body);
}

#[tokio::test]
async fn hubspot_new_caller_gets_a_contact_the_call_and_a_task() {
    let crm = FakeCrm::hubspot().await;
    let app = hubspot_app(&crm).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = app.wait_for_state(&id, "crm", "delivered").await;

    let searches = crm.posted("/crm/v3/objects/contacts/search");
    assert_eq!(searches.len(), 1);
    valid_hubspot("contacts_search", &searches[0]);
    assert_eq!(
        searches[0]["filterGroups"],
        json!([{"filters": [{"propertyName": "phone", "operator": "EQ", "value": "+31610438353"}]}])
    );
    let contacts = crm.posted("/crm/v3/objects/contacts");
    assert_eq!(
        contacts,
        vec![json!({"properties": {"firstname": "Bob", "lastname": "", "phone": "+31610438353"}})]
    );
    valid_hubspot("contact_create", &contacts[0]);

    let calls = crm.posted("/crm/v3/objects/calls");
    assert_eq!(calls.len(), 1);
    valid_hubspot("call_create", &calls[0]);
    let call = &calls[0]["properties"];
    assert_eq!(call["hs_timestamp"], "1725879525000");
    assert_eq!(call["hs_call_duration"], "130000");
    assert_eq!(call["hs_call_direction"], "INBOUND");
    assert_eq!(call["hs_call_from_number"], "+31610438353");
    assert_eq!(call["hs_call_title"], "Voicemail: To invite you for a Job Interviews");
    assert!(
        call["hs_call_body"]
            .as_str()
            .unwrap()
            .starts_with("<p>Bob called to Invite Peter for a job interview."),
        "{call}"
    );
    assert_eq!(calls[0]["associations"], association("5001", 194));

    let tasks = crm.posted("/crm/v3/objects/tasks");
    assert_eq!(tasks.len(), 1);
    valid_hubspot("task_create", &tasks[0]);
    assert_eq!(tasks[0]["properties"]["hs_task_subject"], "Call back Bob");
    assert_eq!(tasks[0]["properties"]["hs_task_type"], "CALL");
    assert_eq!(
        tasks[0]["properties"]["hs_timestamp"],
        callback_due_ms(&app, &id).to_string()
    );
    assert_eq!(tasks[0]["associations"], association("5001", 204));
    assert!(
        crm.seen()
            .iter()
            .all(|s| s.auth.as_deref() == Some("Bearer pat-eu1-0000-SECRET"))
    );

    let attempts = app.attempts(delivery.id).await;
    assert_eq!(attempts.len(), 1);
    assert_eq!(
        attempts[0].response.as_deref(),
        Some("call 5002, contact 5001, task 5003")
    );
    let request = attempts[0].request.as_deref().unwrap();
    assert!(!request.contains("SECRET"), "{request}");
    assert!(request.starts_with("caller: +31610438353\n"), "{request}");
}

#[tokio::test]
async fn hubspot_reuses_a_contact_that_search_finds() {
    let crm = FakeCrm::hubspot().await;
    crm.existing(777, "+31610438353");
    let app = hubspot_app(&crm).await;
    let id = app.accept("01-docs-example.json").await;
    app.wait_for_state(&id, "crm", "delivered").await;
    assert!(
        crm.posted("/crm/v3/objects/contacts").is_empty(),
        "no contact is created"
    );
    assert_eq!(
        crm.posted("/crm/v3/objects/calls")[0]["associations"],
        association("777", 194)
    );
}

#[tokio::test]
async fn hubspot_conflict_on_create_uses_the_existing_contact() {
    let crm = FakeCrm::hubspot().await;
    crm.conflict_with(4242);
    let app = hubspot_app(&crm).await;
    let id = app.accept("01-docs-example.json").await;
    app.wait_for_state(&id, "crm", "delivered").await;
    assert_eq!(crm.posted("/crm/v3/objects/contacts").len(), 1);
    assert_eq!(
        crm.posted("/crm/v3/objects/calls")[0]["associations"],
        association("4242", 194)
    );
    assert_eq!(
        crm.posted("/crm/v3/objects/tasks")[0]["associations"],
        association("4242", 204)
    );
}

#[tokio::test]
async fn hubspot_same_person_in_two_formats_at_once_is_one_contact_with_two_calls() {
    let crm = FakeCrm::hubspot().await;
    crm.lag_search();
    let app = hubspot_app(&crm).await;
    let (first, second) = tokio::join!(
        app.accept("02-dutch-callback.json"),
        app.accept("12-repeat-caller-of-02.json")
    );
    app.wait_for_state(&first, "crm", "delivered").await;
    app.wait_for_state(&second, "crm", "delivered").await;

    let contacts = crm.posted("/crm/v3/objects/contacts");
    assert_eq!(contacts.len(), 1, "one contact: {contacts:?}");
    assert_eq!(contacts[0]["properties"]["phone"], "+31612345678");
    let calls = crm.posted("/crm/v3/objects/calls");
    assert_eq!(calls.len(), 2);
    for call in &calls {
        valid_hubspot("call_create", call);
        assert_eq!(call["associations"], association("5001", 194));
    }
}

#[tokio::test]
async fn hubspot_rate_limit_waits_its_interval_and_resumes_without_repeating() {
    let crm = FakeCrm::hubspot().await;
    crm.queue(
        "/crm/v3/objects/calls",
        ResponseTemplate::new(429)
            .insert_header("X-HubSpot-RateLimit-Interval-Milliseconds", "1000")
            .set_body_json(json!({"status": "error", "message": "You have reached your secondly limit.",
                "errorType": "RATE_LIMIT", "policyName": "SECONDLY", "correlationId": "9a3e4c1b-2f0d-4e7a-8b6c-5d4e3f2a1b0c"})),
    );
    let app = hubspot_app(&crm).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = app.wait_for_state(&id, "crm", "delivered").await;

    let attempts = app.attempts(delivery.id).await;
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].outcome, "retry");
    assert_eq!(attempts[0].status, Some(429));
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("HTTP 429: logging the call: You have reached your secondly limit.")
    );
    let waited = attempts[1].started_at - (attempts[0].started_at + attempts[0].duration_ms);
    assert!(waited >= 1000, "retried after {waited} ms, before the interval");
    // The contact made by the first attempt is reused, not made again.
    assert_eq!(crm.posted("/crm/v3/objects/contacts/search").len(), 1);
    assert_eq!(crm.posted("/crm/v3/objects/contacts").len(), 1);
    assert_eq!(crm.posted("/crm/v3/objects/calls").len(), 2);
    assert_eq!(crm.posted("/crm/v3/objects/tasks").len(), 1);
}

#[tokio::test]
async fn hubspot_validation_error_is_dead_with_hubspots_message() {
    let crm = FakeCrm::hubspot().await;
    crm.queue(
        "/crm/v3/objects/tasks",
        ResponseTemplate::new(400).set_body_json(json!({"status": "error",
            "message": "Property values were not valid: hs_task_priority", "category": "VALIDATION_ERROR",
            "correlationId": "9a3e4c1b-2f0d-4e7a-8b6c-5d4e3f2a1b0c"})),
    );
    let app = hubspot_app(&crm).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = app.wait_for_state(&id, "crm", "dead").await;
    assert_eq!(
        delivery.last_error.as_deref(),
        Some("HTTP 400: creating the task: VALIDATION_ERROR: Property values were not valid: hs_task_priority")
    );
    assert_eq!(app.attempts(delivery.id).await.len(), 1);
}

#[tokio::test]
async fn hubspot_withheld_number_logs_the_call_without_a_contact() {
    let crm = FakeCrm::hubspot().await;
    let app = hubspot_app(&crm).await;
    let id = app.accept("04-anonymous-caller.json").await;
    app.wait_for_state(&id, "crm", "delivered").await;
    assert!(crm.requests_to("/crm/v3/objects/contacts/search").is_empty());
    assert!(crm.requests_to("/crm/v3/objects/contacts").is_empty());
    let calls = crm.posted("/crm/v3/objects/calls");
    assert_eq!(calls.len(), 1);
    valid_hubspot("call_create", &calls[0]);
    assert_eq!(calls[0].get("associations"), None);
}

#[tokio::test]
async fn pipedrive_new_caller_gets_a_person_a_lead_a_note_and_an_activity() {
    let crm = FakeCrm::pipedrive().await;
    let app = pipedrive_app(&crm).await;
    let id = app.accept("07-special-characters.json").await;
    let delivery = app.wait_for_state(&id, "crm", "delivered").await;

    let searches = crm.requests_to("/api/v2/persons/search");
    assert_eq!(searches.len(), 1);
    assert_valid_def(
        "pipedrive/requests.schema.json",
        "persons_search_query",
        &searches[0].query,
    );
    assert_eq!(
        searches[0].query,
        json!({"term": "+31611112222", "fields": "phone", "exact_match": "true"})
    );
    let persons = crm.posted("/api/v2/persons");
    assert_eq!(
        persons,
        vec![json!({"name": "Zoë \"Zee\" O'Brien <admin@example.com>",
                    "phones": [{"value": "+31611112222", "primary": true, "label": "work"}]})]
    );
    valid_pipedrive("person_create", &persons[0]);

    let leads = crm.posted("/v1/leads");
    assert_eq!(leads.len(), 1);
    valid_pipedrive("lead_create", &leads[0]);
    assert_eq!(leads[0]["person_id"], 5001);

    let notes = crm.posted("/v1/notes");
    assert_eq!(notes.len(), 1);
    valid_pipedrive("note_create", &notes[0]);
    assert_eq!(notes[0]["person_id"], 5001);
    assert_eq!(notes[0]["lead_id"], "adf21080-0e10-11eb-879b-000000005002");
    let content = notes[0]["content"].as_str().unwrap();
    assert!(
        content.starts_with(
            "<p><b>Voicemail: Complaint: &lt;b&gt;broken&lt;/b&gt; &amp; &quot;urgent&quot;</b></p><p>Zoë says: &quot;the heater is broken&quot; &amp; needs help ASAP!<br>Second line with a backslash \\ and a tab\there. &lt;!channel&gt;"
        ),
        "{content}"
    );

    let activities = crm.posted("/api/v2/activities");
    assert_eq!(activities.len(), 1);
    valid_pipedrive("activity_create", &activities[0]);
    let due = jiff::Timestamp::from_millisecond(callback_due_ms(&app, &id)).unwrap();
    let utc = due.to_zoned_datetime(jiff::tz::TimeZone::UTC);
    assert_eq!(activities[0]["due_date"], utc.strftime("%Y-%m-%d").to_string());
    assert_eq!(activities[0]["due_time"], utc.strftime("%H:%M").to_string());
    assert_eq!(activities[0]["type"], "call");
    assert_eq!(activities[0]["person_id"], 5001);
    assert!(crm.seen().iter().all(|s| s.auth.as_deref() == Some(PIPEDRIVE_TOKEN)));

    let attempts = app.attempts(delivery.id).await;
    assert_eq!(
        attempts[0].response.as_deref(),
        Some("activity 5004, lead adf21080-0e10-11eb-879b-000000005002, note 5003, person 5001, person_created yes")
    );
    assert!(!attempts[0].request.as_deref().unwrap().contains("SECRET"));
}

#[tokio::test]
async fn pipedrive_same_person_in_two_formats_at_once_is_one_person_with_two_notes() {
    let crm = FakeCrm::pipedrive().await;
    crm.lag_search();
    let app = pipedrive_app(&crm).await;
    let (first, second) = tokio::join!(
        app.accept("02-dutch-callback.json"),
        app.accept("12-repeat-caller-of-02.json")
    );
    app.wait_for_state(&first, "crm", "delivered").await;
    app.wait_for_state(&second, "crm", "delivered").await;

    assert_eq!(crm.posted("/api/v2/persons").len(), 1);
    assert_eq!(crm.posted("/v1/leads").len(), 1, "a lead only for the new caller");
    let notes = crm.posted("/v1/notes");
    assert_eq!(notes.len(), 2);
    assert!(notes.iter().all(|n| n["person_id"] == 5001), "{notes:?}");
}

#[tokio::test]
async fn pipedrive_known_person_gets_no_new_person_or_lead() {
    let crm = FakeCrm::pipedrive().await;
    crm.existing(31, "+31612345678");
    let app = pipedrive_app(&crm).await;
    let id = app.accept("02-dutch-callback.json").await;
    app.wait_for_state(&id, "crm", "delivered").await;
    assert!(crm.posted("/api/v2/persons").is_empty());
    assert!(crm.posted("/v1/leads").is_empty());
    let notes = crm.posted("/v1/notes");
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["person_id"], 31);
    assert_eq!(notes[0].get("lead_id"), None);
}

#[tokio::test]
async fn pipedrive_rate_limit_is_retried_after_the_reset() {
    let crm = FakeCrm::pipedrive().await;
    crm.queue(
        "/v1/notes",
        ResponseTemplate::new(429)
            .insert_header("x-ratelimit-reset", "1")
            .set_body_json(json!({"success": false, "error": "Request over limit", "error_info": null})),
    );
    let app = pipedrive_app(&crm).await;
    let id = app.accept("02-dutch-callback.json").await;
    let delivery = app.wait_for_state(&id, "crm", "delivered").await;
    let attempts = app.attempts(delivery.id).await;
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        attempts[0].error.as_deref(),
        Some("HTTP 429: adding the note: Request over limit")
    );
    let waited = attempts[1].started_at - (attempts[0].started_at + attempts[0].duration_ms);
    assert!(waited >= 1000, "retried after {waited} ms, before the reset");
    assert_eq!(crm.posted("/api/v2/persons").len(), 1);
    assert_eq!(crm.posted("/v1/leads").len(), 1);
    assert_eq!(crm.posted("/v1/notes").len(), 2);
}

#[tokio::test]
async fn pipedrive_validation_error_is_dead_with_pipedrives_message() {
    let crm = FakeCrm::pipedrive().await;
    crm.queue(
        "/api/v2/persons",
        ResponseTemplate::new(400).set_body_json(json!({"success": false, "error": "Validation failed: name",
            "error_info": "Please check developers.pipedrive.com for more information about Pipedrive API."})),
    );
    let app = pipedrive_app(&crm).await;
    let id = app.accept("02-dutch-callback.json").await;
    let delivery = app.wait_for_state(&id, "crm", "dead").await;
    assert_eq!(
        delivery.last_error.as_deref(),
        Some(
            "HTTP 400: creating the person: Validation failed: name: Please check developers.pipedrive.com for more information about Pipedrive API."
        )
    );
}

#[tokio::test]
async fn pipedrive_withheld_number_is_skipped_with_the_reason() {
    let crm = FakeCrm::pipedrive().await;
    let app = pipedrive_app(&crm).await;
    let id = app.accept("04-anonymous-caller.json").await;
    let delivery = app.wait_for_state(&id, "crm", "delivered").await;
    assert!(crm.seen().is_empty(), "nothing is sent: {:?}", crm.seen());
    assert_eq!(
        app.attempts(delivery.id).await[0].response.as_deref(),
        Some("skipped: the caller's number is withheld or invalid, so no person is matched or created")
    );
}

#[tokio::test]
async fn hubspot_retry_after_a_later_step_failed_does_not_log_the_call_again() {
    let crm = FakeCrm::hubspot().await;
    crm.queue(
        "/crm/v3/objects/tasks",
        ResponseTemplate::new(503)
            .set_body_json(json!({"status": "error", "message": "try later", "category": "INTERNAL_ERROR"})),
    );
    let app = hubspot_app(&crm).await;
    let id = app.accept("01-docs-example.json").await;
    let delivery = app.wait_for_state(&id, "crm", "delivered").await;
    assert_eq!(app.attempts(delivery.id).await.len(), 2);
    assert_eq!(crm.posted("/crm/v3/objects/calls").len(), 1, "the call is logged once");
    assert_eq!(crm.posted("/crm/v3/objects/tasks").len(), 2);
}

#[tokio::test]
async fn salesforce_recipe_sends_a_lead_with_the_required_fields() {
    let sink = sink_answering(&[]).await;
    let app = TestApp::spawn(&config_yaml(&format!(
        "destinations:\n  salesforce:\n    type: http\n    url: \"{}/services/data/v61.0/sobjects/Lead/\"\n    headers: {{ Authorization: \"Bearer SF-SECRET\" }}\n    template: http/salesforce-lead.json.hbs\n    expected_status: [200]\nroutes:\n  - {{ name: all, to: [salesforce] }}\n",
        sink.uri()
    )))
    .await;
    let id = app.accept("07-special-characters.json").await;
    app.wait_for_state(&id, "salesforce", "delivered").await;
    let requests = received(&sink, 1).await;
    assert_eq!(requests[0].url.path(), "/services/data/v61.0/sobjects/Lead/");
    let lead: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(lead["LastName"], "Zoë \"Zee\" O'Brien <admin@example.com>");
    assert_eq!(lead["Company"], "Voicemail caller");
    assert_eq!(lead["Phone"], "+31611112222");
    assert_eq!(lead["LeadSource"], "Phone Inquiry");
    assert!(
        lead["Description"]
            .as_str()
            .unwrap()
            .starts_with("Zoë says: \"the heater is broken\" & needs help ASAP!\nSecond line"),
        "{lead}"
    );
}

#[tokio::test]
async fn a_resend_racing_the_original_makes_one_contact_and_one_call() {
    let crm = FakeCrm::hubspot().await;
    crm.lag_search();
    let app = hubspot_app(&crm).await;
    let ((first, original), (second, resend)) = tokio::join!(
        app.post_json(payload("02-dutch-callback.json")),
        app.post_json(payload("11-retry-duplicate-of-02.json"))
    );
    let mut statuses = [first, second];
    statuses.sort();
    assert_eq!(statuses, [200, 202], "{original} {resend}");
    assert_eq!(original["id"], resend["id"]);
    app.wait_for_state(original["id"].as_str().unwrap(), "crm", "delivered")
        .await;
    assert_eq!(crm.posted("/crm/v3/objects/contacts").len(), 1);
    assert_eq!(crm.posted("/crm/v3/objects/calls").len(), 1);
}
