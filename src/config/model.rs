//! The typed shape of `callbridge.yaml`. Parsing only: cross-checks live in
//! `validate`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub server: ServerSettings,
    #[serde(default)]
    pub storage: StorageSettings,
    #[serde(default)]
    pub defaults: Defaults,
    /// Folder of the handlebars templates.
    #[serde(default = "default_templates_dir")]
    pub templates_dir: String,
    #[serde(default)]
    pub delivery: DeliverySettings,
    #[serde(default)]
    pub sources: BTreeMap<String, SourceSettings>,
    /// SMTP servers, by name, that email destinations send through.
    #[serde(default)]
    pub smtp: BTreeMap<String, SmtpSettings>,
    #[serde(default)]
    pub destinations: BTreeMap<String, DestinationSettings>,
    #[serde(default)]
    pub routes: Vec<RouteSettings>,
    /// Cron jobs by name.
    #[serde(default)]
    pub jobs: BTreeMap<String, JobSettings>,
    #[serde(default)]
    pub admin: AdminSettings,
}

/// The JSON admin API under `/admin/`; off while `token` is empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    pub token: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "JobFields")]
pub struct JobSettings {
    /// Cron: `minute hour day month weekday`, or six fields with seconds first.
    pub schedule: String,
    /// The zone the schedule is read in; default `defaults.timezone`.
    pub timezone: Option<String>,
    pub kind: JobKind,
}

#[derive(Debug, Clone)]
pub enum JobKind {
    /// Deletes calls (with deliveries and attempts) older than this, unless
    /// work for them is still pending.
    Purge { older_than: Duration },
    /// Sends the call-backs due today and those overdue to each `to`
    /// destination, rendered with that destination's template; only those
    /// of calls from `sources` when it names any.
    Digest { to: Vec<String>, sources: Vec<String> },
}

/// A job as written: one variant per type, each with every key it takes,
/// so a misspelt key is refused with the keys that job type has (a
/// flattened kind would list only its own).
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum JobFields {
    Purge {
        schedule: String,
        #[serde(default)]
        timezone: Option<String>,
        /// Text, read below: a tagged enum's own error would not name it.
        older_than: String,
    },
    Digest {
        schedule: String,
        #[serde(default)]
        timezone: Option<String>,
        to: Vec<String>,
        #[serde(default)]
        sources: Vec<String>,
    },
}

impl TryFrom<JobFields> for JobSettings {
    type Error = String;

    fn try_from(fields: JobFields) -> Result<Self, String> {
        let (schedule, timezone, kind) = match fields {
            JobFields::Purge {
                schedule,
                timezone,
                older_than,
            } => {
                let older_than = humantime::parse_duration(older_than.trim())
                    .map_err(|e| format!("older_than: `{older_than}` is not a duration such as 90d or 12h ({e})"))?;
                (schedule, timezone, JobKind::Purge { older_than })
            }
            JobFields::Digest {
                schedule,
                timezone,
                to,
                sources,
            } => (schedule, timezone, JobKind::Digest { to, sources }),
        };
        Ok(Self {
            schedule,
            timezone,
            kind,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    pub listen: String,
    /// Largest request body accepted, as sent (compressed or not).
    pub max_body: bytesize::ByteSize,
    /// Largest body after gzip decoding.
    pub max_decompressed_body: bytesize::ByteSize,
    /// The whole body must arrive within this once the headers have: a
    /// sender that stalls mid-body would otherwise hold its connection.
    #[serde(with = "humantime_serde")]
    pub body_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// HTTP worker threads. One keeps up with the store's single writer
    /// and leaves the other cores to delivery (see the README's benchmark).
    pub workers: std::num::NonZeroUsize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
            max_body: bytesize::ByteSize::mib(1),
            max_decompressed_body: bytesize::ByteSize::mib(4),
            body_timeout: Duration::from_secs(30),
            // Longer than a send's own timeout, so an attempt in flight
            // at SIGTERM can finish rather than be cut off and repeated.
            shutdown_timeout: Duration::from_secs(20),
            workers: std::num::NonZeroUsize::MIN,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// `sqlite://PATH` (relative to the config file's folder).
    pub url: String,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://data/callbridge.db".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    pub timezone: String,
    pub phone_region: String,
    /// When a callback can be made, e.g. `Mon-Fri 09:00-17:00`.
    pub business_hours: String,
    /// Closed days, `YYYY-MM-DD`.
    pub holidays: Vec<String>,
    /// A callback time further ahead than this many days is not trusted.
    pub horizon_days: i64,
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            timezone: "Europe/Amsterdam".into(),
            phone_region: "NL".into(),
            business_hours: "Mon-Fri 09:00-17:00".into(),
            holidays: Vec::new(),
            horizon_days: 90,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// Attempts per delivery before it is dead-lettered.
    pub max_attempts: std::num::NonZeroU32,
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// A destination's `Retry-After` is honoured up to this long.
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Whole-request timeout for one attempt.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// How often workers look for due deliveries when nothing wakes them.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Parallel sends per destination unless the destination sets its own.
    pub concurrency: usize,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            max_attempts: std::num::NonZeroU32::new(10).expect("10 is not zero"),
            initial_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(30 * 60),
            max_retry_after: Duration::from_secs(60 * 60),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            poll_interval: Duration::from_secs(1),
            concurrency: 4,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSettings {
    #[serde(default)]
    pub token: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DestinationSettings {
    /// Overrides `delivery.concurrency` for this destination.
    #[serde(default)]
    pub concurrency: Option<usize>,
    #[serde(flatten)]
    pub kind: DestinationKind,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DestinationKind {
    Slack {
        webhook_url: String,
        #[serde(default = "default_slack_template")]
        template: String,
    },
    Http {
        url: String,
        #[serde(default = "default_method")]
        method: String,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        template: String,
        /// Statuses that count as delivered; any 2xx when empty.
        #[serde(default)]
        expected_status: Vec<u16>,
    },
    /// A Teams channel through a Workflows webhook; the template renders
    /// the Adaptive Card.
    Teams {
        webhook_url: String,
        #[serde(default = "default_teams_template")]
        template: String,
    },
    Discord {
        webhook_url: String,
        #[serde(default = "default_discord_template")]
        template: String,
    },
    Telegram(TelegramSettings),
    Email(EmailSettings),
    Reminder(ReminderSettings),
    Caldav(CaldavSettings),
    GoogleCalendar(GoogleCalendarSettings),
    Hubspot(HubspotSettings),
    Pipedrive(PipedriveSettings),
}

/// HubSpot: a contact per caller, the call logged, the call-back a task.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubspotSettings {
    /// A private-app access token (use `token_file` or `${VAR}`).
    pub token: String,
    /// The API's origin; only tests point it elsewhere.
    #[serde(default = "default_hubspot_api")]
    pub api_base: String,
    #[serde(default = "default_hubspot_contact")]
    pub contact_template: String,
    #[serde(default = "default_hubspot_call")]
    pub call_template: String,
    #[serde(default = "default_hubspot_task")]
    pub task_template: String,
}

fn default_hubspot_api() -> String {
    "https://api.hubapi.com".into()
}
fn default_hubspot_contact() -> String {
    "crm/hubspot/contact.json.hbs".into()
}
fn default_hubspot_call() -> String {
    "crm/hubspot/call.json.hbs".into()
}
fn default_hubspot_task() -> String {
    "crm/hubspot/task.json.hbs".into()
}

/// Pipedrive: a person per caller, a lead for a new one, a note, the
/// call-back an activity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipedriveSettings {
    /// An API token (use `token_file` or `${VAR}`).
    pub token: String,
    /// The `acme` of acme.pipedrive.com.
    #[serde(default)]
    pub company_domain: Option<String>,
    /// Overrides the origin derived from `company_domain`.
    #[serde(default)]
    pub api_base: Option<String>,
    #[serde(default = "default_pipedrive_person")]
    pub person_template: String,
    /// An empty value creates no lead.
    #[serde(default = "default_pipedrive_lead")]
    pub lead_template: Option<String>,
    #[serde(default = "default_pipedrive_note")]
    pub note_template: String,
    #[serde(default = "default_pipedrive_activity")]
    pub activity_template: String,
}

fn default_pipedrive_person() -> String {
    "crm/pipedrive/person.json.hbs".into()
}
fn default_pipedrive_lead() -> Option<String> {
    Some("crm/pipedrive/lead.json.hbs".into())
}
fn default_pipedrive_note() -> String {
    "crm/pipedrive/note.json.hbs".into()
}
fn default_pipedrive_activity() -> String {
    "crm/pipedrive/activity.json.hbs".into()
}

/// A message from a Telegram bot to one chat (`sendMessage`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    /// From @BotFather; it is part of the request URL (use `bot_token_file`).
    pub bot_token: String,
    /// A chat id (`-1001234567890`) or a channel's `@username`.
    pub chat_id: ChatId,
    /// The Bot API's origin; only tests point it elsewhere.
    #[serde(default = "default_telegram_api")]
    pub base_url: String,
    #[serde(default = "default_telegram_template")]
    pub template: String,
}

/// A chat id as YAML gives it: a number, or text (`@channel`, or a number
/// from an environment override).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ChatId {
    Number(i64),
    Text(String),
}

fn default_telegram_api() -> String {
    "https://api.telegram.org".into()
}

/// A calendar event for the call-back, inserted with the Google Calendar API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleCalendarSettings {
    /// An OAuth access token with a calendar scope (use `token_file`), kept
    /// fresh by other tooling; or `oauth`, and callbridge keeps one fresh.
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub oauth: Option<OAuthRefresh>,
    #[serde(default = "default_calendar_id")]
    pub calendar_id: String,
    /// The API's origin; only tests point it elsewhere.
    #[serde(default = "default_google_api")]
    pub api_base: String,
    #[serde(default = "default_event_summary")]
    pub summary: String,
    #[serde(default = "default_event_description")]
    pub description: String,
}

/// An OAuth client and a refresh token it was granted (with offline
/// access), from which access tokens are fetched as they expire.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthRefresh {
    pub client_id: String,
    /// Use `client_secret_file` or `${VAR}`.
    pub client_secret: String,
    /// Use `refresh_token_file` or `${VAR}`.
    pub refresh_token: String,
    #[serde(default = "default_google_token_url")]
    pub token_url: String,
}

fn default_google_token_url() -> String {
    "https://oauth2.googleapis.com/token".into()
}

fn default_calendar_id() -> String {
    "primary".into()
}

fn default_google_api() -> String {
    "https://www.googleapis.com".into()
}

/// A calendar event for the call-back, PUT into a CalDAV collection.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaldavSettings {
    /// The calendar collection, e.g. `https://dav.example.com/office/calls/`.
    pub url: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default = "default_event_summary")]
    pub summary: String,
    #[serde(default = "default_event_description")]
    pub description: String,
}

pub fn default_event_summary() -> String {
    r#"{{#unless callback.understood}}[time not understood] {{/unless}}Call back {{#if caller_name}}{{caller_name}}{{else}}{{default caller_phone_e164 "a caller"}}{{/if}}"#.into()
}

pub fn default_event_description() -> String {
    "{{default callsummary \"No summary.\"}}\n\nNumber: {{default caller_phone_e164 (default caller_phone_number \"withheld\")}}\nThe caller asked: {{default callback_time \"(no time given)\"}}".into()
}

/// A reminder sends nothing itself: for a call that needs a call-back it
/// plans a delivery to each `notify` destination, due at the callback time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderSettings {
    pub notify: Vec<String>,
    /// How late a reminder may still be sent, when it came due while
    /// callbridge was down; a later one is marked missed.
    #[serde(default = "default_grace", with = "humantime_serde")]
    pub grace: Duration,
}

fn default_grace() -> Duration {
    Duration::from_secs(2 * 60 * 60)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// The name of a server under `smtp`.
    pub smtp: String,
    /// The sending mailbox, `Name <address>` or `address`.
    pub from: String,
    /// A template for the From display name (e.g. "{{caller_name}} via Voice Mate").
    #[serde(default)]
    pub from_name: Option<String>,
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    #[serde(default)]
    pub bcc: Vec<String>,
    /// A template that renders to one address, else no Reply-To is set.
    #[serde(default)]
    pub reply_to: Option<String>,
    #[serde(default = "default_email_subject")]
    pub subject: String,
    /// Template files for the plain-text and HTML parts; at least one.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub html: Option<String>,
    /// For a call that asks for a call-back, attach the callback as a
    /// calendar invitation (iMIP) from `from` to the `to` addresses.
    #[serde(default)]
    pub invite: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// Defaults to the port of `security`: 465, 587 or 25.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Connecting, and each whole send.
    #[serde(default = "default_smtp_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// A PEM CA certificate to trust besides the system's (an internal
    /// relay with its own CA); usually given as `ca_file: PATH`.
    #[serde(default)]
    pub ca: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum SmtpSecurity {
    /// Implicit TLS from the first byte (port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// STARTTLS when the server offers it, else plain.
    StarttlsOpportunistic,
    /// No encryption: only for a relay on the same host or network (port 25).
    None,
}

impl TryFrom<String> for SmtpSecurity {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "tls" => Ok(Self::Tls),
            "starttls" => Ok(Self::Starttls),
            "starttls_opportunistic" => Ok(Self::StarttlsOpportunistic),
            "none" => Ok(Self::None),
            other => Err(format!(
                "unknown security `{other}` (use tls, starttls, starttls_opportunistic or none)"
            )),
        }
    }
}

impl SmtpSecurity {
    /// Whether the connection is always encrypted before credentials or mail are sent.
    pub fn always_encrypted(self) -> bool {
        matches!(self, Self::Tls | Self::Starttls)
    }

    pub fn default_port(self) -> u16 {
        match self {
            Self::Tls => 465,
            Self::Starttls => 587,
            Self::StarttlsOpportunistic | Self::None => 25,
        }
    }
}

fn default_email_subject() -> String {
    r#"Missed call from {{#if caller_name}}{{caller_name}}{{else}}{{default caller_phone_e164 "an unknown caller"}}{{/if}}"#.into()
}

fn default_smtp_timeout() -> Duration {
    Duration::from_secs(15)
}

fn default_templates_dir() -> String {
    "templates".into()
}

fn default_slack_template() -> String {
    "slack/call.json.hbs".into()
}

fn default_teams_template() -> String {
    "teams/call.json.hbs".into()
}

fn default_discord_template() -> String {
    "discord/call.json.hbs".into()
}

fn default_telegram_template() -> String {
    "telegram/call.json.hbs".into()
}

fn default_method() -> String {
    "POST".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSettings {
    pub name: String,
    /// Field path → condition; absent means every call.
    #[serde(default, rename = "match")]
    pub matchers: BTreeMap<String, serde_json::Value>,
    pub to: Vec<String>,
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
}
