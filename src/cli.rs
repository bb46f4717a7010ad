//! The command line: `serve`, `check`, `render` and `send-test`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use crate::config::Config;
use crate::destinations::Outcome;
use crate::pipeline::Pipeline;
use crate::server::Application;

#[derive(Parser)]
#[command(
    name = "callbridge",
    version,
    about = "Turns voice-assistant call summaries into Slack messages, emails, CRM records and reminders"
)]
pub struct Cli {
    /// The config file.
    #[arg(
        long,
        global = true,
        default_value = "config/callbridge.yaml",
        env = "CALLBRIDGE_CONFIG"
    )]
    config: PathBuf,
    /// Log lines as readable text or as one JSON object each (level filter: RUST_LOG, default info).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "CALLBRIDGE_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Receive calls and deliver them.
    Serve,
    /// Check the config and compile every template; exits non-zero on the first problem.
    Check,
    /// Show which routes take a payload and exactly what each destination would receive; sends nothing.
    Render {
        /// A call summary JSON file.
        #[arg(long)]
        payload: PathBuf,
        /// The source the call would arrive on (default: the only one, or
        /// `voicemate`).
        #[arg(long)]
        source: Option<String>,
    },
    /// Show how a callback phrase is read: prints {due, understood, reason, original}.
    When {
        /// The caller's words, e.g. "morgenochtend" or "Friday after 3pm".
        phrase: String,
        /// When the call was made, unix seconds.
        #[arg(long)]
        at: i64,
        /// IANA time zone (default: defaults.timezone).
        #[arg(long)]
        timezone: Option<String>,
        /// e.g. "Mon-Fri 09:00-17:00" (default: defaults.business_hours).
        #[arg(long)]
        business_hours: Option<String>,
        /// Closed days, comma-separated YYYY-MM-DD (default: defaults.holidays).
        #[arg(long, value_delimiter = ',')]
        holidays: Option<Vec<String>>,
    },
    /// Call-back reminders in the store: list them, or close one so it is never sent.
    Reminders {
        #[command(subcommand)]
        action: RemindersAction,
    },
    /// The calls in the store: the latest, or one with its deliveries and attempts (JSON).
    Calls {
        #[command(subcommand)]
        action: CallsAction,
    },
    /// The deliveries in the store, newest first (JSON).
    Deliveries {
        #[command(subcommand)]
        action: DeliveriesAction,
    },
    /// Send failed (dead) deliveries again: one delivery, every dead one of a call, or all dead ones.
    /// Delivered ones are never sent again.
    Replay {
        /// A delivery id, or a call id for all of that call's dead deliveries.
        id: Option<String>,
        /// Every dead delivery (with --destination: of that destination).
        #[arg(long, conflicts_with = "id")]
        dead: bool,
        #[arg(long, requires = "dead")]
        destination: Option<String>,
    },
    /// Send one sample call to one destination now, to check its settings and credentials.
    SendTest {
        /// The destination, as named under `destinations`.
        #[arg(long)]
        destination: String,
        /// A call summary JSON file (default: a built-in sample call).
        #[arg(long)]
        payload: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RemindersAction {
    /// The pending reminders, soonest first.
    List {
        /// Also those sent, missed or closed.
        #[arg(long)]
        all: bool,
    },
    /// The call-back was made: never send this reminder.
    Done { id: i64 },
    /// Never send this reminder.
    Cancel { id: i64 },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(&cli.config)?;
    match cli.command {
        Command::Serve => {
            let app = Application::build(config).await?;
            app.run_until_stopped().await?;
        }
        Command::Check => check(&config)?,
        Command::Render { payload, source } => {
            let sources = &config.settings.sources;
            let source = match (source, sources.keys().next()) {
                (Some(source), _) => source,
                (None, Some(only)) if sources.len() == 1 => only.clone(),
                (None, _) => "voicemate".to_owned(),
            };
            let report = render(&config, &payload, &source)?;
            out!("{}", serde_json::to_string_pretty(&report)?)?;
        }
        Command::When {
            phrase,
            at,
            timezone,
            business_hours,
            holidays,
        } => {
            let mut defaults = config.settings.defaults.clone();
            defaults.timezone = timezone.unwrap_or(defaults.timezone);
            defaults.business_hours = business_hours.unwrap_or(defaults.business_hours);
            defaults.holidays = holidays.unwrap_or(defaults.holidays);
            out!("{}", serde_json::to_string(&when(&defaults, &phrase, at)?)?)?;
        }
        Command::Reminders { action } => reminders(&config, action).await?,
        Command::Calls { action } => calls(&config, action).await?,
        Command::Deliveries {
            action:
                DeliveriesAction::List {
                    state,
                    destination,
                    source,
                    limit,
                },
        } => {
            warn_if_not_configured(&config, destination.as_deref());
            let store = open_store(&config).await?;
            let filter = crate::store::DeliveryFilter {
                state,
                destination,
                source,
            };
            print_json(&store.list_deliveries(filter, limit).await?)?;
        }
        Command::Replay { id, dead, destination } => replay(&config, id, dead, destination).await?,
        Command::SendTest { destination, payload } => send_test(&config, &destination, payload.as_deref()).await?,
    }
    Ok(())
}

fn check(config: &Config) -> anyhow::Result<()> {
    config.require_source_tokens()?;
    let listen = &config.settings.server.listen;
    std::net::ToSocketAddrs::to_socket_addrs(listen.as_str()).map_err(|e| {
        config.error(crate::config::ConfigError::key(
            "server.listen",
            format!("`{listen}` is not an address to listen on, such as 0.0.0.0:8080 ({e})"),
        ))
    })?;
    crate::store::check_url(&config.settings.storage.url)
        .map_err(|e| config.error(crate::config::ConfigError::key("storage.url", e.to_string())))?;
    let mut pipeline = Pipeline::build(config)?;
    let templates = pipeline.check_all_templates().map_err(|e| config.error(e))?;
    crate::jobs::build(&config.settings, |name| pipeline.destinations.contains_key(name))
        .map_err(|e| config.error(e))?;
    warn_about_likely_mistakes(config, &pipeline)?;
    out!(
        "{}: ok ({} sources, {} destinations, {} routes, {} templates)",
        config.file.display(),
        config.settings.sources.len(),
        config.settings.destinations.len(),
        config.settings.routes.len(),
        templates
    )?;
    Ok(())
}

/// What is likely, but not surely, a mistake: a misspelled `{{field}}` in
/// a template, a route on a near miss of a known field, credentials shared
/// between clients, a digest for every client. Only warnings, since a
/// template may rightly use a field only some senders send; a template
/// that fails for every call is an error (see `sample::check`).
fn warn_about_likely_mistakes(config: &Config, pipeline: &Pipeline) -> anyhow::Result<()> {
    let context = crate::sample::context_of(pipeline, crate::sample::CALL.as_bytes(), "check", "check")?;
    for typo in pipeline.router.likely_typos(&context) {
        eprintln!(
            "warning: {}: {}: no call has this field; did you mean `{}`?",
            config.file.display(),
            typo.key,
            typo.meant
        );
    }
    for warning in crate::sample::check(config, pipeline).map_err(|e| config.error(e))? {
        eprintln!("warning: {}: {warning}", config.file.display());
    }
    warn_about_shared_credentials(config);
    // With several sources (clients), a digest for all of them is likely
    // one client seeing another's callers.
    if config.settings.sources.len() > 1 {
        for (name, job) in &config.settings.jobs {
            if matches!(&job.kind, crate::config::JobKind::Digest { sources, .. } if sources.is_empty()) {
                eprintln!(
                    "warning: {}: jobs.{name}: lists the call-backs of every source; set `sources` to keep them apart",
                    config.file.display()
                );
            }
        }
    }
    Ok(())
}

/// Two sources with one token can post to each other's hooks; two
/// destinations with one webhook post to one channel. Either is usually a
/// copy-paste slip between clients.
fn warn_about_shared_credentials(config: &Config) {
    use crate::config::DestinationKind;
    let sources = config
        .settings
        .sources
        .iter()
        .map(|(name, s)| (name, s.token.trim().to_owned()));
    let webhooks = config
        .settings
        .destinations
        .iter()
        .filter_map(|(name, d)| match &d.kind {
            DestinationKind::Slack { webhook_url, .. }
            | DestinationKind::Teams { webhook_url, .. }
            | DestinationKind::Discord { webhook_url, .. } => Some((name, same_url(webhook_url))),
            _ => None,
        });
    for (what, shared, named) in [
        ("sources", "token", sources.collect::<Vec<_>>()),
        ("destinations", "webhook URL", webhooks.collect()),
    ] {
        for (i, (first, value)) in named.iter().enumerate() {
            if let Some((second, _)) = named[i + 1..]
                .iter()
                .find(|(_, other)| !value.is_empty() && other == value)
            {
                eprintln!(
                    "warning: {}: {what}.{second}: has the same {shared} as {what}.{first}",
                    config.file.display()
                );
            }
        }
    }
}

/// A URL as it compares: scheme and host in lower case, no trailing `/`.
fn same_url(url: &str) -> String {
    let url = url.trim();
    url::Url::parse(url)
        .map_or_else(|_| url.to_owned(), |parsed| parsed.to_string())
        .trim_end_matches('/')
        .to_owned()
}

fn render(config: &Config, payload: &Path, source: &str) -> anyhow::Result<Value> {
    if !config.settings.sources.contains_key(source) {
        let known: Vec<&str> = config.settings.sources.keys().map(String::as_str).collect();
        anyhow::bail!("unknown source `{source}` (the config has: {})", known.join(", "));
    }
    let pipeline = Pipeline::build(config)?;
    let body = std::fs::read(payload).with_context(|| format!("cannot read {}", payload.display()))?;
    let call_id = "preview";
    let context = crate::sample::context_of(&pipeline, &body, call_id, source)
        .with_context(|| format!("{}", payload.display()))?;
    let decision = pipeline.router.route(&context);
    let deliveries: Vec<Value> = decision
        .destinations
        .iter()
        .map(|name| match pipeline.render(context.clone(), call_id, name) {
            Ok(rendered) => json!({"destination": name, "request": rendered.describe(&config.secrets)}),
            Err(error) => json!({"destination": name, "error": config.secrets.redact(&error.to_string())}),
        })
        .collect();
    Ok(json!({"routes": decision.routes, "deliveries": deliveries}))
}

#[derive(Subcommand)]
pub enum CallsAction {
    /// The latest calls, newest first.
    List {
        /// Only calls posted to this source.
        #[arg(long)]
        source: Option<String>,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=1000))]
        limit: i64,
    },
    /// One call: its payload, deliveries and every attempt.
    Show { id: String },
}

#[derive(Subcommand)]
pub enum DeliveriesAction {
    List {
        #[arg(long, value_parser = ["pending", "delivered", "dead", "missed", "cancelled"])]
        state: Option<String>,
        #[arg(long)]
        destination: Option<String>,
        /// Only deliveries of calls posted to this source.
        #[arg(long)]
        source: Option<String>,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=1000))]
        limit: i64,
    },
}

async fn open_store(config: &Config) -> anyhow::Result<crate::store::Store> {
    Ok(crate::store::Store::open(&config.settings.storage.url, &config.base_dir).await?)
}

/// JSON on stdout: caller text in it is escaped, so it cannot drive the terminal.
/// `println!` that returns the error: a reader that went away (`| head`)
/// ends the command quietly (see main) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
use out;

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    out!("{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

async fn calls(config: &Config, action: CallsAction) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    match action {
        CallsAction::List { source, limit } => print_json(&store.list_calls(source, limit).await?),
        CallsAction::Show { id } => match store.call_detail(&id).await? {
            Some(detail) => print_json(&detail),
            None => anyhow::bail!("call {id} not found"),
        },
    }
}

/// A `--destination` filter that names no configured destination (a typo,
/// or one removed since): said on stderr, so the empty answer is not taken
/// for "nothing failed".
fn warn_if_not_configured(config: &Config, destination: Option<&str>) {
    let Some(name) = destination.filter(|name| !config.settings.destinations.contains_key(*name)) else {
        return;
    };
    let configured: Vec<&str> = config.settings.destinations.keys().map(String::as_str).collect();
    eprintln!(
        "warning: {}: `{name}` is not a destination (configured: {})",
        config.file.display(),
        configured.join(", ")
    );
}

async fn replay(config: &Config, id: Option<String>, dead: bool, destination: Option<String>) -> anyhow::Result<()> {
    use crate::store::Replay;
    let which = match (id, dead) {
        (Some(id), false) => match id.parse::<i64>() {
            Ok(delivery) => Replay::Delivery(delivery),
            Err(_) => Replay::Call(id),
        },
        (None, true) => {
            warn_if_not_configured(config, destination.as_deref());
            Replay::AllDead { destination }
        }
        _ => anyhow::bail!("say which: a delivery id, a call id, or --dead"),
    };
    let store = open_store(config).await?;
    // Destinations that send (a reminder plans deliveries to others).
    let configured = config
        .settings
        .destinations
        .iter()
        .filter(|(_, d)| !matches!(d.kind, crate::config::DestinationKind::Reminder(_)))
        .map(|(name, _)| name.clone())
        .collect();
    let replayed = store.replay(which.clone(), configured, crate::store::now_ms()).await?;
    if replayed.is_empty() && !store.replay_target_exists(&which).await? {
        anyhow::bail!("{which} not found");
    }
    if replayed.is_empty() {
        let why = match &which {
            Replay::Delivery(id) => match store.delivery(*id).await? {
                Some(row) if row.state == "dead" => {
                    format!(
                        "delivery {id} is dead, but its destination `{}` is not configured",
                        row.destination
                    )
                }
                Some(row) => format!("delivery {id} is {}; only dead deliveries are sent again", row.state),
                None => format!("delivery {id} not found"),
            },
            _ => "no dead delivery to a configured destination matches".to_owned(),
        };
        out!("nothing to replay: {why}")?;
    } else {
        let ids: Vec<String> = replayed.iter().map(i64::to_string).collect();
        out!("replaying {} deliveries: {}", replayed.len(), ids.join(", "))?;
    }
    Ok(())
}

async fn reminders(config: &Config, action: RemindersAction) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    let (id, reason) = match action {
        RemindersAction::List { all } => {
            let zone = jiff::tz::TimeZone::get(&config.settings.defaults.timezone)?;
            let rows = store.reminders(all).await?;
            if !rows.is_empty() {
                out!("{:<6} {:<20} {:<9} CALLER / NUMBER / VIA", "ID", "DUE", "STATE")?;
            }
            for row in rows {
                out!("{}", reminder_line(&row, &zone))?;
            }
            return Ok(());
        }
        RemindersAction::Done { id } => (id, "done: the call-back was made"),
        RemindersAction::Cancel { id } => (id, "cancelled by an operator"),
    };
    store.close_reminder(id, reason).await?;
    out!("reminder {id}: {reason}")?;
    Ok(())
}

/// `ID  due (local)  state  caller  number  via`, one reminder a line.
/// Caller text is made terminal-safe: a name cannot move the cursor, colour
/// the screen or start a line.
fn reminder_line(row: &crate::store::ReminderRow, zone: &jiff::tz::TimeZone) -> String {
    let due = jiff::Timestamp::from_millisecond(row.due_at)
        .map(|t| {
            t.to_zoned_datetime(zone.clone())
                .strftime("%a %Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default();
    let caller = crate::render::escape_terminal(row.caller_name.as_deref().unwrap_or("(no name)"));
    let reason = match (&row.reason, row.state.as_str()) {
        (Some(reason), "cancelled" | "missed" | "dead") => format!("  ({})", crate::render::escape_terminal(reason)),
        _ => String::new(),
    };
    format!(
        "{:<6} {:<20} {:<9} {}  {}  via {}{reason}",
        row.id,
        due,
        row.state,
        caller,
        row.caller_phone_e164.as_deref().unwrap_or("(no number)"),
        row.destination
    )
}

/// How `phrase`, said in a call at `at`, is read with these defaults.
fn when(defaults: &crate::config::Defaults, phrase: &str, at: i64) -> anyhow::Result<Value> {
    let zone = jiff::tz::TimeZone::get(&defaults.timezone)
        .with_context(|| format!("`{}` is not a time zone (e.g. Europe/Amsterdam)", defaults.timezone))?;
    let settings = crate::pipeline::callback_settings(defaults, &zone)?;
    let called =
        jiff::Timestamp::from_second(at).with_context(|| format!("--at {at} is not a unix time in seconds"))?;
    let resolution = crate::when::resolve(Some(phrase), Some(at), called, &settings);
    Ok(json!({
        "due": resolution.due_rfc3339(&zone),
        "understood": resolution.understood,
        "reason": resolution.reason.map(|r| r.as_str()),
        "original": resolution.original,
    }))
}

/// Renders the payload for one destination and sends it once, outside the
/// store: nothing is recorded and no route is consulted.
async fn send_test(config: &Config, destination: &str, payload: Option<&Path>) -> anyhow::Result<()> {
    let pipeline = Pipeline::build(config)?;
    let Some(route) = pipeline.destinations.get(destination) else {
        let known: Vec<&str> = pipeline.destinations.keys().map(String::as_str).collect();
        anyhow::bail!("no destination `{destination}` (configured: {})", known.join(", "));
    };
    let body = match payload {
        Some(path) => std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        None => crate::sample::CALL.as_bytes().to_vec(),
    };
    let call_id = format!("send-test-{}", uuid::Uuid::now_v7());
    let context = crate::sample::context_of(&pipeline, &body, &call_id, "send-test")?;
    let rendered = pipeline
        .render(context, &call_id, destination)
        .map_err(|e| anyhow::anyhow!(config.secrets.redact(&e.to_string())))?;
    let report = route.destination.send(&rendered).await;
    let redact = |text: &Option<String>| text.as_deref().map(|t| config.secrets.redact(t));
    let outcome = match report.outcome {
        Outcome::Delivered => "delivered",
        Outcome::Retry { .. } => "failed (would be retried)",
        Outcome::Permanent => "failed (would not be retried)",
    };
    out!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "destination": destination,
            "outcome": outcome,
            "status": report.status,
            "error": redact(&report.error),
            "response": redact(&report.response),
        }))?
    )?;
    if report.outcome != Outcome::Delivered {
        anyhow::bail!("the test send to `{destination}` failed");
    }
    Ok(())
}
