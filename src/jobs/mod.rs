//! Cron jobs declared in the config. tokio-cron-scheduler provides the
//! tick; when each job runs is computed here, DST-safe ([`Schedule`]);
//! each run is claimed through the store, so a restart or a second
//! replica never runs the same run twice.

mod digest;
mod schedule;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job as TickJob, JobScheduler};

pub use digest::context as digest_context;
pub use schedule::Schedule;

use crate::config::{ConfigError, JobKind, Settings};
use crate::live::Live;
use crate::pipeline::Pipeline;
use crate::store::{Store, now_ms};

/// A job with its schedule and its next run.
struct Job {
    name: String,
    schedule: Schedule,
    kind: JobKind,
    next: Option<Timestamp>,
}

/// Checks every job's schedule and destinations at load.
pub fn build(
    settings: &Settings,
    destination_exists: impl Fn(&str) -> bool,
) -> Result<Vec<(String, Schedule, JobKind)>, ConfigError> {
    settings
        .jobs
        .iter()
        .map(|(name, job)| {
            if let JobKind::Digest { to, sources } = &job.kind {
                if let Some(unknown) = sources.iter().find(|s| !settings.sources.contains_key(*s)) {
                    return Err(ConfigError::key(
                        format!("jobs.{name}.sources"),
                        format!("`{unknown}` is not a source"),
                    ));
                }
                if to.is_empty() {
                    return Err(ConfigError::key(format!("jobs.{name}.to"), "names no destination"));
                }
                if let Some(missing) = to.iter().find(|d| !destination_exists(d)) {
                    return Err(ConfigError::key(
                        format!("jobs.{name}.to"),
                        format!("`{missing}` is not a destination that sends"),
                    ));
                }
            }
            let zone_name = job.timezone.as_deref().unwrap_or(&settings.defaults.timezone);
            let zone = jiff::tz::TimeZone::get(zone_name)
                .map_err(|e| ConfigError::key(format!("jobs.{name}.timezone"), e.to_string()))?;
            let schedule =
                Schedule::new(&job.schedule, zone).map_err(|e| ConfigError::key(format!("jobs.{name}.schedule"), e))?;
            Ok((name.clone(), schedule, job.kind.clone()))
        })
        .collect()
}

/// The jobs in force, ticking until dropped; a reload replaces them.
pub struct Jobs {
    jobs: Arc<Mutex<Vec<Job>>>,
    _scheduler: JobScheduler,
}

impl Jobs {
    /// Starts the ticking. Each run uses the config in force when it runs,
    /// so a reload's destinations and templates apply to jobs too.
    pub async fn start(jobs: Vec<(String, Schedule, JobKind)>, store: Store, live: Arc<Live>) -> anyhow::Result<Self> {
        let jobs = Arc::new(Mutex::new(scheduled(jobs)));
        let scheduler = JobScheduler::new().await?;
        let ticking = Arc::clone(&jobs);
        scheduler
            .add(TickJob::new_repeated_async(Duration::from_secs(1), move |_, _| {
                let (jobs, store, live) = (Arc::clone(&ticking), store.clone(), Arc::clone(&live));
                Box::pin(async move { tick(&jobs, &store, &live).await })
            })?)
            .await?;
        scheduler.start().await?;
        Ok(Self {
            jobs,
            _scheduler: scheduler,
        })
    }

    /// Takes the jobs of a reloaded config, each next due from now, except
    /// that a run fallen due but not yet ticked still runs. A run already
    /// made is claimed in the store, so none runs twice.
    pub async fn replace(&self, jobs: Vec<(String, Schedule, JobKind)>) {
        let mut current = self.jobs.lock().await;
        let now = Timestamp::now();
        let mut fresh = scheduled(jobs);
        for job in &mut fresh {
            let pending = current
                .iter()
                .find(|old| old.name == job.name)
                .and_then(|old| old.next)
                .filter(|due| *due <= now);
            if pending.is_some() {
                job.next = pending;
            }
        }
        *current = fresh;
    }
}

fn scheduled(jobs: Vec<(String, Schedule, JobKind)>) -> Vec<Job> {
    let now = Timestamp::now();
    jobs.into_iter()
        .map(|(name, schedule, kind)| Job {
            next: schedule.next_after(now),
            name,
            schedule,
            kind,
        })
        .collect()
}

/// Runs every job whose next run has come, once.
async fn tick(jobs: &Mutex<Vec<Job>>, store: &Store, live: &Live) {
    let now = Timestamp::now();
    // The lock also keeps a slow run from overlapping the next tick's.
    let mut jobs = jobs.lock().await;
    for job in jobs.iter_mut() {
        let Some(due) = job.next.filter(|due| *due <= now) else {
            continue;
        };
        job.next = job.schedule.next_after(due.max(now));
        match store.claim_job_run(&job.name, due.as_millisecond()).await {
            Ok(true) => run(&job.name, &job.kind, due, store, &live.current().pipeline).await,
            Ok(false) => tracing::info!(job = %job.name, "run already taken by another process"),
            Err(error) => tracing::error!(job = %job.name, %error, "claiming a job run failed"),
        }
    }
}

async fn run(name: &str, kind: &JobKind, due: Timestamp, store: &Store, pipeline: &Pipeline) {
    match kind {
        JobKind::Digest { to, sources } => match store.reminders(false).await {
            Ok(mut pending) => {
                pending.retain(|r| sources.is_empty() || sources.contains(&r.source));
                let context = digest::context(name, &pending, &pipeline.zone, Timestamp::now());
                let run_id = format!("digest-{name}-{}", due.as_millisecond());
                for destination in to {
                    digest::send(pipeline, context.clone(), &run_id, destination).await;
                }
            }
            Err(error) => tracing::error!(job = %name, %error, "reading the reminders for a digest failed"),
        },
        JobKind::Purge { older_than } => {
            let before = now_ms() - older_than.as_millis() as i64;
            match store.purge(before).await {
                Ok(purged) => tracing::info!(
                    job = %name,
                    calls = purged.calls,
                    deliveries = purged.deliveries,
                    attempts = purged.attempts,
                    "purged old calls"
                ),
                Err(error) => tracing::error!(job = %name, %error, "purge failed"),
            }
        }
    }
}
