//! Config reload (SIGHUP, `POST /admin/reload`): the file is loaded and
//! checked like at start; only a good config replaces the one in force.
//! Deliveries already planned keep their destination if it still exists,
//! else they are dead-lettered with the reason; cron jobs are replaced.
//! Listening address, store, delivery settings and the admin token keep
//! their start-up values until a restart.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::config::Config;
use crate::dispatch::Dispatcher;
use crate::jobs::Jobs;
use crate::live::{Current, Live};
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::store::{Store, now_ms};

pub struct Reloader {
    file: PathBuf,
    live: Arc<Live>,
    dispatcher: Arc<Dispatcher>,
    jobs: Arc<Jobs>,
    store: Store,
    metrics: Arc<Metrics>,
    /// The settings a reload cannot change, as they were at start.
    fixed: Vec<(&'static str, String)>,
    /// One reload at a time.
    running: tokio::sync::Mutex<()>,
}

#[derive(Debug, Serialize)]
pub struct Reloaded {
    pub destinations: Vec<String>,
    /// Pending deliveries whose destination is gone.
    pub dead_lettered: usize,
    /// Sections changed in the file that only a restart applies.
    pub restart_needed: Vec<&'static str>,
    /// Templates that fail for the sample call on a field it lacks.
    pub warnings: Vec<String>,
}

/// The sections a reload leaves as they were at start, each as text to
/// compare.
fn fixed_settings(config: &Config) -> Vec<(&'static str, String)> {
    let s = &config.settings;
    vec![
        ("server", format!("{:?}", s.server)),
        ("storage", format!("{:?}", s.storage)),
        ("delivery", format!("{:?}", s.delivery)),
        ("admin", format!("{:?}", s.admin)),
    ]
}

impl Reloader {
    pub fn new(
        config: &Config,
        live: Arc<Live>,
        dispatcher: Arc<Dispatcher>,
        jobs: Arc<Jobs>,
        store: Store,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            file: config.file.clone(),
            fixed: fixed_settings(config),
            live,
            dispatcher,
            jobs,
            store,
            metrics,
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// Loads, checks and applies the config file; on any problem the
    /// config in force stays and the error says what is wrong.
    pub async fn reload(&self) -> Result<Reloaded, String> {
        let _one = self.running.lock().await;
        let config = Config::load(&self.file).map_err(|e| e.to_string())?;
        // An empty `${VAR}` is often one set after the daemon started.
        let refused = |error: String| {
            if config.unset_vars.is_empty() {
                error
            } else {
                format!(
                    "{error}; a reload sees the environment the daemon started with: give such a secret as `<key>_file`, or restart"
                )
            }
        };
        config.require_source_tokens().map_err(|e| refused(e.to_string()))?;
        let pipeline = Pipeline::build(&config).map_err(|e| refused(e.to_string()))?;
        let jobs = crate::jobs::build(&config.settings, |name| pipeline.destinations.contains_key(name))
            .map_err(|e| refused(config.error(e).to_string()))?;
        let warnings = crate::sample::check(&config, &pipeline).map_err(|e| refused(config.error(e).to_string()))?;
        let destinations: Vec<String> = pipeline.destinations.keys().cloned().collect();
        self.live.replace(Current::new(&config, pipeline));
        self.dispatcher.start().await;
        self.jobs.replace(jobs).await;
        let dead = self
            .store
            .dead_letter_unconfigured(destinations.clone(), now_ms())
            .await
            .map_err(|e| format!("the new config is in force, but dead-lettering removed destinations failed: {e}"))?;
        self.metrics.dead_lettered(&dead);
        let now = fixed_settings(&config);
        let restart_needed = self
            .fixed
            .iter()
            .zip(&now)
            .filter(|(before, after)| before != after)
            .map(|((section, _), _)| *section)
            .collect();
        Ok(Reloaded {
            destinations,
            dead_lettered: dead.len(),
            restart_needed,
            warnings,
        })
    }

    /// Reloads on every SIGHUP until the process ends.
    pub fn on_sighup(self: &Arc<Self>) -> std::io::Result<()> {
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let this = Arc::clone(self);
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                this.log(&this.reload().await);
            }
        });
        Ok(())
    }

    pub fn log(&self, outcome: &Result<Reloaded, String>) {
        if let Ok(done) = outcome {
            for warning in &done.warnings {
                tracing::warn!(file = %self.file.display(), "{warning}");
            }
        }
        match outcome {
            Ok(done) if !done.restart_needed.is_empty() => tracing::warn!(
                destinations = done.destinations.len(),
                dead_lettered = done.dead_lettered,
                restart_needed = ?done.restart_needed,
                "config reloaded; changes to these sections wait for a restart"
            ),
            Ok(done) => tracing::info!(
                destinations = done.destinations.len(),
                dead_lettered = done.dead_lettered,
                "config reloaded"
            ),
            Err(error) => tracing::error!(%error, "config reload refused; the config in force stays"),
        }
    }
}
