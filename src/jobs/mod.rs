//! Cron jobs declared in the config. tokio-cron-scheduler provides the
//! tick; when each job runs is computed here, DST-safe ([`Schedule`]);
//! each run is claimed through the store, so a restart or a second
//! replica never runs the same run twice.

mod schedule;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job as TickJob, JobScheduler};

pub use schedule::Schedule;

use crate::config::{ConfigError, JobKind, Settings};
use crate::store::{Store, now_ms};

/// A job with its schedule and its next run.
struct Job {
    name: String,
    schedule: Schedule,
    kind: JobKind,
    next: Option<Timestamp>,
}

/// Checks every job's schedule at load.
pub fn build(settings: &Settings) -> Result<Vec<(String, Schedule, JobKind)>, ConfigError> {
    settings
        .jobs
        .iter()
        .map(|(name, job)| {
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
pub async fn start(jobs: Vec<(String, Schedule, JobKind)>, store: Store) -> anyhow::Result<Option<JobScheduler>> {
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
            let (jobs, store) = (Arc::clone(&jobs), store.clone());
            Box::pin(async move { tick(&jobs, &store).await })
        })?)
        .await?;
    scheduler.start().await?;
    Ok(Some(scheduler))
}

/// Runs every job whose next run has come, once.
async fn tick(jobs: &Mutex<Vec<Job>>, store: &Store) {
    let now = Timestamp::now();
    // The lock also keeps a slow run from overlapping the next tick's.
    let mut jobs = jobs.lock().await;
    for job in jobs.iter_mut() {
        let Some(due) = job.next.filter(|due| *due <= now) else {
            continue;
        };
        job.next = job.schedule.next_after(due.max(now));
        match store.claim_job_run(&job.name, due.as_millisecond()).await {
            Ok(true) => run(&job.name, &job.kind, store).await,
            Ok(false) => tracing::info!(job = %job.name, "run already taken by another process"),
            Err(error) => tracing::error!(job = %job.name, %error, "claiming a job run failed"),
        }
    }
}

async fn run(name: &str, kind: &JobKind, store: &Store) {
    match kind {
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
