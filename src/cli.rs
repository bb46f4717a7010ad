//! The command line: `serve`, `check` and `render`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use crate::call::CallSummary;
use crate::config::Config;
use crate::pipeline::{CallMeta, Pipeline};
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
    #[command(subcommand)]
    command: Command,
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
        /// The source the call would arrive on.
        #[arg(long, default_value = "voicemate")]
        source: String,
    },
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
            let report = render(&config, &payload, &source)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
    }
    Ok(())
}

fn check(config: &Config) -> anyhow::Result<()> {
    config.require_source_tokens()?;
    let mut pipeline = Pipeline::build(config)?;
    let templates = pipeline.check_all_templates().map_err(|e| config.error(e))?;
    println!(
        "{}: ok ({} sources, {} destinations, {} routes, {} templates)",
        config.file.display(),
        config.settings.sources.len(),
        config.settings.destinations.len(),
        config.settings.routes.len(),
        templates
    );
    Ok(())
}

fn render(config: &Config, payload: &Path, source: &str) -> anyhow::Result<Value> {
    let pipeline = Arc::new(Pipeline::build(config)?);
    let body = std::fs::read(payload).with_context(|| format!("cannot read {}", payload.display()))?;
    let call = CallSummary::parse(&body, pipeline.region).with_context(|| format!("{}", payload.display()))?;
    let call_id = "preview";
    let meta = CallMeta {
        call_id,
        source,
        received_at_ms: crate::store::now_ms(),
    };
    let context = pipeline.context(&call, &meta);
    let decision = pipeline.router.route(&context);
    let deliveries: Vec<Value> = decision
        .destinations
        .iter()
        .map(|name| {
            let route = &pipeline.destinations[name];
            let message = pipeline.message(&context, call_id, name);
            match route.destination.render(&pipeline.renderer, &message) {
                Ok(rendered) => json!({"destination": name, "request": config.secrets.redact(&rendered.describe())}),
                Err(error) => json!({"destination": name, "error": config.secrets.redact(&error.to_string())}),
            }
        })
        .collect();
    Ok(json!({"routes": decision.routes, "deliveries": deliveries}))
}
