//! Everything built from the config that turns a stored call into sends:
//! the router, the compiled templates and the destinations. Built once at
//! load, so a broken config or template is found before any call arrives.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::tz::TimeZone;
use serde_json::{Value, json};

use crate::call::{CallSummary, Region, phone};
use crate::config::{Config, ConfigError, DestinationKind, LoadError};
use crate::destinations::{
    CaldavDestination, ChatDestination, Destination, EmailDestination, GoogleCalendarDestination, HttpDestination,
    HttpSender, HubspotDestination, Message, PipedriveDestination, Rendered, SlackDestination, SmtpServer, Webhook,
    http::HttpSettings,
};
use crate::render::{Context, Format, RenderError, Renderer};
use crate::routing::Router;
use crate::store::PlannedDelivery;
use crate::when;

pub struct Pipeline {
    pub router: Router,
    pub renderer: Renderer,
    pub destinations: BTreeMap<String, Route>,
    pub region: Region,
    pub zone: TimeZone,
    /// How a caller's callback phrase becomes a due time.
    pub callbacks: when::Settings,
    /// Reminder destinations by name: they plan deliveries, not sends.
    pub reminders: BTreeMap<String, Reminder>,
}

/// A `reminder` destination, checked at load.
#[derive(Debug, Clone)]
pub struct Reminder {
    pub notify: Vec<String>,
    pub grace: std::time::Duration,
}

/// A destination and how many sends it may have in flight.
pub struct Route {
    pub destination: Arc<dyn Destination>,
    pub concurrency: usize,
}

/// Where a stored call came from, for templates.
pub struct CallMeta<'a> {
    pub call_id: &'a str,
    pub source: &'a str,
    pub received_at_ms: i64,
}

impl Pipeline {
    pub fn build(config: &Config) -> Result<Self, LoadError> {
        Self::build_inner(config).map_err(|e| config.error(e))
    }

    fn build_inner(config: &Config) -> Result<Self, ConfigError> {
        let settings = &config.settings;
        let zone = TimeZone::get(&settings.defaults.timezone)
            .map_err(|e| ConfigError::key("defaults.timezone", e.to_string()))?;
        let region = phone::region(&settings.defaults.phone_region)
            .ok_or_else(|| ConfigError::key("defaults.phone_region", "is not an ISO 3166 region code such as NL"))?;
        let callbacks = callback_settings(&settings.defaults, &zone)?;
        let mut renderer = Renderer::new(config.resolve_path(&settings.templates_dir), zone.clone(), region);
        let sender = HttpSender::new(settings.delivery.connect_timeout, settings.delivery.timeout)
            .map_err(|e| ConfigError::Invalid(format!("cannot build the HTTP client: {e}")))?;

        let mut smtp_servers = BTreeMap::new();
        for (name, server) in &settings.smtp {
            smtp_servers.insert(
                name.as_str(),
                Arc::new(SmtpServer::new(&format!("smtp.{name}"), server)?),
            );
        }

        let mut destinations = BTreeMap::new();
        let mut reminders = BTreeMap::new();
        for (name, destination) in &settings.destinations {
            let key = format!("destinations.{name}");
            let built: Arc<dyn Destination> = match &destination.kind {
                DestinationKind::Reminder(reminder) => {
                    reminders.insert(
                        name.clone(),
                        Reminder {
                            notify: reminder.notify.clone(),
                            grace: reminder.grace,
                        },
                    );
                    continue;
                }
                DestinationKind::Slack { webhook_url, template } => {
                    required(config, &format!("{key}.webhook_url"), webhook_url)?;
                    Arc::new(SlackDestination::new(
                        &key,
                        webhook_url,
                        template,
                        &mut renderer,
                        sender.clone(),
                    )?)
                }
                DestinationKind::Teams { webhook_url, template } => webhook(
                    config,
                    &key,
                    Webhook::Teams,
                    webhook_url,
                    template,
                    &mut renderer,
                    &sender,
                )?,
                DestinationKind::Discord { webhook_url, template } => webhook(
                    config,
                    &key,
                    Webhook::Discord,
                    webhook_url,
                    template,
                    &mut renderer,
                    &sender,
                )?,
                DestinationKind::Telegram(telegram) => {
                    required(config, &format!("{key}.bot_token"), &telegram.bot_token)?;
                    Arc::new(ChatDestination::telegram(
                        &key,
                        telegram,
                        &mut renderer,
                        sender.clone(),
                    )?)
                }
                DestinationKind::Http {
                    url,
                    method,
                    headers,
                    template,
                    expected_status,
                } => {
                    let http = HttpSettings {
                        url,
                        method,
                        headers,
                        template,
                        expected_status,
                    };
                    Arc::new(HttpDestination::new(&key, http, &mut renderer, sender.clone())?)
                }
                DestinationKind::GoogleCalendar(google) => Arc::new(GoogleCalendarDestination::new(
                    &key,
                    google,
                    zone.clone(),
                    &mut renderer,
                    sender.clone(),
                )?),
                DestinationKind::Hubspot(hubspot) => {
                    required(config, &format!("{key}.token"), &hubspot.token)?;
                    Arc::new(HubspotDestination::new(&key, hubspot, &mut renderer, sender.clone())?)
                }
                DestinationKind::Pipedrive(pipedrive) => {
                    required(config, &format!("{key}.token"), &pipedrive.token)?;
                    Arc::new(PipedriveDestination::new(
                        &key,
                        pipedrive,
                        &mut renderer,
                        sender.clone(),
                    )?)
                }
                DestinationKind::Caldav(caldav) => {
                    Arc::new(CaldavDestination::new(&key, caldav, &mut renderer, sender.clone())?)
                }
                DestinationKind::Email(email) => {
                    let server = smtp_servers.get(email.smtp.as_str()).ok_or_else(|| {
                        ConfigError::key(
                            format!("{key}.smtp"),
                            format!("server `{}` is not defined under smtp", email.smtp),
                        )
                    })?;
                    Arc::new(EmailDestination::new(&key, email, Arc::clone(server), &mut renderer)?)
                }
            };
            let (concurrency, concurrency_key) = match destination.concurrency {
                Some(own) => (own, format!("{key}.concurrency")),
                None => (settings.delivery.concurrency, "delivery.concurrency".to_owned()),
            };
            if concurrency == 0 {
                return Err(ConfigError::key(concurrency_key, "must be at least 1"));
            }
            destinations.insert(
                name.clone(),
                Route {
                    destination: built,
                    concurrency,
                },
            );
        }
        for (name, reminder) in &reminders {
            let key = format!("destinations.{name}.notify");
            if reminder.notify.is_empty() {
                return Err(ConfigError::key(
                    key,
                    "names no destination to send the reminder through",
                ));
            }
            if let Some(missing) = reminder.notify.iter().find(|d| !destinations.contains_key(*d)) {
                return Err(ConfigError::key(
                    key,
                    format!("`{missing}` is not a destination that sends (slack, http, email, …)"),
                ));
            }
        }
        let router = Router::new(&settings.routes, |name| {
            destinations.contains_key(name) || reminders.contains_key(name)
        })?;
        Ok(Self {
            router,
            renderer,
            destinations,
            region,
            zone,
            callbacks,
            reminders,
        })
    }

    /// Compiles every template file in the template folder, used or not,
    /// so `check` finds a broken one before a route starts using it.
    pub fn check_all_templates(&mut self) -> Result<usize, ConfigError> {
        let files = self.renderer.template_files();
        for file in &files {
            self.renderer
                .load_file(Format::of_template(file), file)
                .map_err(|e| ConfigError::key("templates_dir", e.to_string()))?;
        }
        Ok(files.len())
    }

    /// The call as templates and matchers see it, with `callbridge.*`
    /// telling which call, from where, and when it was received.
    pub fn context(&self, call: &CallSummary, meta: &CallMeta<'_>) -> Value {
        let callback = self
            .resolve_callback(call, meta)
            .map_or(Value::Null, |r| self.callback_json(&r));
        self.context_with(call, meta, callback)
    }

    /// The same, with the template's `callback` object already made (ingest
    /// resolves it once for routing, planning and storing; a send reuses
    /// the stored one).
    pub fn context_with(&self, call: &CallSummary, meta: &CallMeta<'_>, callback: Value) -> Value {
        let mut context = call.to_context();
        if let Value::Object(map) = &mut context {
            map.insert(
                "callbridge".into(),
                json!({
                    "call_id": meta.call_id,
                    "source": meta.source,
                    "received_at": meta.received_at_ms / 1000,
                }),
            );
            map.insert("callback".into(), callback);
            map.insert("reminder".into(), Value::Null);
        }
        context
    }

    /// The deliveries a call plans once routed: each sending destination
    /// now, and for each reminder its `notify` destinations at the
    /// callback time — only when the call asks for a call-back.
    pub fn plan(
        &self,
        routed: &[String],
        callback: Option<&when::Resolution>,
        meta: &CallMeta<'_>,
    ) -> Vec<PlannedDelivery> {
        let mut planned: Vec<PlannedDelivery> = Vec::new();
        let callback_due = callback.map(|r| r.due.as_millisecond());
        for name in routed {
            match (self.reminders.get(name), callback_due) {
                (None, _) => planned.push(PlannedDelivery {
                    destination: name.clone(),
                    reminder: None,
                    due_at: meta.received_at_ms,
                }),
                (Some(reminder), Some(due_at)) => {
                    for destination in &reminder.notify {
                        planned.push(PlannedDelivery {
                            destination: destination.clone(),
                            reminder: Some(name.clone()),
                            due_at,
                        });
                    }
                }
                (Some(_), None) => {}
            }
        }
        // One delivery per (destination, kind), the first planned wins.
        let mut seen = std::collections::HashSet::new();
        planned.retain(|p| seen.insert((p.destination.clone(), p.reminder.is_some())));
        planned
    }

    /// When to call back, for a call that asks for it. Pure: the same call
    /// gives the same answer at ingest and at every send.
    pub fn resolve_callback(&self, call: &CallSummary, meta: &CallMeta<'_>) -> Option<when::Resolution> {
        if call.call_back_needed != Some(true) {
            return None;
        }
        let received_at = jiff::Timestamp::from_millisecond(meta.received_at_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        Some(when::resolve(
            call.callback_time.as_deref(),
            call.calltimestamp_as_sent,
            received_at,
            &self.callbacks,
        ))
    }

    /// `{due, local, understood, reason, original}` for templates.
    pub fn callback_json(&self, resolution: &when::Resolution) -> Value {
        let local = resolution.due.to_zoned_datetime(self.zone.clone());
        json!({
            "due": resolution.due_rfc3339(&self.zone),
            "local": local.strftime("%a %-d %b %H:%M").to_string(),
            "understood": resolution.understood,
            "reason": resolution.reason.map(|r| r.as_str()),
            "original": resolution.original,
        })
    }

    /// What `destination` would send for the call with `context`.
    pub fn render(&self, mut context: Value, call_id: &str, destination: &str) -> Result<Rendered, RenderFailure> {
        let route = self
            .destinations
            .get(destination)
            .ok_or_else(|| RenderFailure::UnknownDestination(destination.to_owned()))?;
        context["callbridge"]["destination"] = json!(destination);
        let message = Message {
            call_id: call_id.to_owned(),
            destination: destination.to_owned(),
            context: Context::from(context),
        };
        Ok(route.destination.render(&self.renderer, &message)?)
    }
}

/// A value the destination cannot work without, named with the variable
/// that should have filled it when it came from an unset `${VAR}`.
fn required(config: &Config, key: &str, value: &str) -> Result<(), ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::key(key, format!("is empty{}", config.empty_value_hint())));
    }
    Ok(())
}

/// A Teams or Discord destination.
fn webhook(
    config: &Config,
    key: &str,
    vendor: Webhook,
    webhook_url: &str,
    template: &str,
    renderer: &mut Renderer,
    sender: &HttpSender,
) -> Result<Arc<dyn Destination>, ConfigError> {
    required(config, &format!("{key}.webhook_url"), webhook_url)?;
    let destination = ChatDestination::webhook(vendor, key, webhook_url, template, renderer, sender.clone())?;
    Ok(Arc::new(destination))
}

#[derive(Debug, thiserror::Error)]
pub enum RenderFailure {
    #[error("destination `{0}` is not configured")]
    UnknownDestination(String),
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// The resolver's settings from `defaults`, each checked with its key.
pub fn callback_settings(defaults: &crate::config::Defaults, zone: &TimeZone) -> Result<when::Settings, ConfigError> {
    let business_hours = defaults
        .business_hours
        .parse()
        .map_err(|e: when::BusinessHoursError| ConfigError::key("defaults.business_hours", e.to_string()))?;
    let holidays = defaults
        .holidays
        .iter()
        .enumerate()
        .map(|(i, day)| {
            day.trim().parse::<jiff::civil::Date>().map_err(|_| {
                ConfigError::key(
                    format!("defaults.holidays[{i}]"),
                    format!("`{day}` is not a date (YYYY-MM-DD)"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    if defaults.horizon_days < 1 {
        return Err(ConfigError::key("defaults.horizon_days", "must be at least 1"));
    }
    Ok(when::Settings {
        timezone: zone.clone(),
        business_hours,
        holidays,
        horizon_days: defaults.horizon_days,
    })
}
