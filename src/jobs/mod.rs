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

/// Starts the ticking; the jobs run until the returned scheduler is shut down or dropped.
pub async fn start(
    jobs: Vec<(String, Schedule, JobKind)>,
    store: Store,
    pipeline: Arc<Pipeline>,
) -> anyhow::Result<Option<JobScheduler>> {
    if jobs.is_empty() {
        return Ok(None);
    }
    let now = Timestamp::now();
    let jobs: Vec<Job> = jobs
        .into_iter()
        .map(|(name, schedule, kind)| Job {
            next: schedule.next_after(now),
            name,
            schedule,
            kind,
        })
        .collect();
    let jobs = Arc::new(Mutex::new(jobs));
    let scheduler = JobScheduler::new().await?;
    scheduler
        .add(TickJob::new_repeated_async(Duration::from_secs(1), move |_, _| {
            let (jobs, store, pipeline) = (Arc::clone(&jobs), store.clone(), Arc::clone(&pipeline));
            Box::pin(async move { tick(&jobs, &store, &pipeline).await })
        })?)
        .await?;
    scheduler.start().await?;
    Ok(Some(scheduler))
}

/// Runs every job whose next run has come, once.
async fn tick(jobs: &Mutex<Vec<Job>>, store: &Store, pipeline: &Pipeline) {
    let now = Timestamp::now();
    // The lock also keeps a slow run from overlapping the next tick's.
    let mut jobs = jobs.lock().await;
    for job in jobs.iter_mut() {
        let Some(due) = job.next.filter(|due| *due <= now) else {
            continue;
        };
        job.next = job.schedule.next_after(due.max(now));
        match store.claim_job_run(&job.name, due.as_millisecond()).await {
            Ok(true) => run(&job.name, &job.kind, due, store, pipeline).await,
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
