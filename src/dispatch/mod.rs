//! The dispatcher: per destination, workers claim due deliveries from the
//! store, render and send them, record the attempt and decide what comes
//! next. Each destination has its own loop and concurrency, so a slow one
//! never holds up another.

mod backoff;
mod reminder;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use backoff::Backoff;

use crate::call::{CallSummary, phone};
use crate::config::DeliverySettings;
use crate::destinations::{Outcome, Rendered};
use crate::live::{Current, Live};
use crate::metrics::Metrics;
use crate::pipeline::{CallMeta, Pipeline, Route};
use crate::store::{AttemptRecord, Claimed, NextStep, Store, now_ms};

/// Claims take up to this many rounds of a destination's concurrency…
const CLAIM_ROUNDS: usize = 4;
/// …and never more than this many deliveries.
const MAX_CLAIM: usize = 256;
/// While the store refuses writes, claims and records are tried again
/// after this, doubling up to the max.
const STORE_RETRY_FIRST: Duration = Duration::from_millis(100);
const STORE_RETRY_MAX: Duration = Duration::from_secs(5);
/// A record is not tried so close to the end of its lease.
const LEASE_MARGIN_MS: i64 = 1000;

/// Wakes a destination's workers when ingest planned work for it; one
/// per destination name, made on first use (a reload may add names).
#[derive(Clone, Default)]
pub struct Wakers(Arc<Mutex<HashMap<String, Arc<Notify>>>>);

impl Wakers {
    pub fn wake(&self, destination: &str) {
        self.of(destination).notify_one();
    }

    fn of(&self, destination: &str) -> Arc<Notify> {
        let mut wakers = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(wakers.entry(destination.to_owned()).or_default())
    }
}

pub struct Dispatcher {
    store: Store,
    live: Arc<Live>,
    settings: DeliverySettings,
    wakers: Wakers,
    metrics: Arc<Metrics>,
    /// Cancelled when the daemon stops: loops stop claiming.
    stopping: CancellationToken,
    /// The running loops, one per destination, and what stops them (a
    /// reload starts a new set).
    loops: tokio::sync::Mutex<(CancellationToken, TaskTracker)>,
    /// Attempts in flight, awaited (within a bound) on the way out.
    in_flight: TaskTracker,
    /// Deliveries being sent, with when their attempt began (unix ms), so
    /// one cut off by shutdown is still recorded.
    sending: Mutex<HashMap<i64, i64>>,
}

impl Dispatcher {
    pub fn new(
        store: Store,
        live: Arc<Live>,
        settings: DeliverySettings,
        wakers: Wakers,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            live,
            settings,
            wakers,
            metrics,
            stopping: CancellationToken::new(),
            loops: tokio::sync::Mutex::new((CancellationToken::new(), TaskTracker::new())),
            in_flight: TaskTracker::new(),
            sending: Mutex::default(),
        })
    }

    /// Stops claiming, lets attempts in flight finish and be recorded for
    /// up to `bound`, and says how many did not (their leases are released
    /// by the caller, so the next start sends them again).
    pub async fn stop(&self, bound: Duration) -> usize {
        self.stopping.cancel();
        self.in_flight.close();
        if tokio::time::timeout(bound, self.in_flight.wait()).await.is_ok() {
            return 0;
        }
        // Still sending at the bound: the attempt is cut off, and recorded
        // as such, so the log shows why it is sent again at the next start.
        let cut_off: Vec<(i64, i64)> = self.sending().drain().collect();
        for (delivery_id, started_at) in &cut_off {
            let now = now_ms();
            let record = AttemptRecord {
                started_at: *started_at,
                duration_ms: now - started_at,
                error: Some(format!(
                    "cut off by shutdown after {} s; sent again at the next start",
                    bound.as_secs()
                )),
                ..Default::default()
            };
            if let Err(error) = self
                .store
                .record_attempt(*delivery_id, &record, &NextStep::RetryAt(now))
                .await
            {
                tracing::error!(delivery_id, %error, "recording a cut-off attempt failed");
            }
        }
        cut_off.len()
    }

    fn sending(&self) -> std::sync::MutexGuard<'_, HashMap<i64, i64>> {
        self.sending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// (Re)starts one loop per destination of the config in force. Loops of
    /// an earlier config stop claiming first; their attempts in flight
    /// finish as they are.
    pub async fn start(self: &Arc<Self>) {
        let mut loops = self.loops.lock().await;
        let (old, running) = &*loops;
        old.cancel();
        running.close();
        running.wait().await;
        let stop = self.stopping.child_token();
        let tracker = TaskTracker::new();
        for (name, route) in &self.live.current().pipeline.destinations {
            let this = Arc::clone(self);
            let name = name.clone();
            let slots = Arc::new(Semaphore::new(route.concurrency));
            let spacing = route.destination.spacing();
            let until = stop.clone();
            tracker.spawn(async move { this.run_destination(name, slots, spacing, until).await });
        }
        *loops = (stop, tracker);
    }

    async fn run_destination(
        self: Arc<Self>,
        destination: String,
        slots: Arc<Semaphore>,
        spacing: Duration,
        stop: CancellationToken,
    ) {
        let notify = self.wakers.of(&destination);
        let concurrency = slots.available_permits();
        // Claim a few rounds of work at once, so a claim (one commit) is
        // not paid per send; the lease covers waiting for a slot too.
        let batch = (concurrency * CLAIM_ROUNDS).min(MAX_CLAIM);
        let per_send = self.settings.timeout + self.settings.connect_timeout;
        let lease_ms = lease(per_send, batch, spacing).as_millis() as i64;
        let batch = batch as i64;
        let mut claim_retry = STORE_RETRY_FIRST;
        while !stop.is_cancelled() {
            let claimed = match self.store.claim(&destination, now_ms(), lease_ms, batch).await {
                Ok(claimed) => {
                    claim_retry = STORE_RETRY_FIRST;
                    claimed
                }
                Err(error) => {
                    // Backed off, so a failing disk is not met with a flood
                    // of claims and log lines.
                    self.metrics.store_write_failed("claim");
                    tracing::error!(%destination, %error, retry_in_ms = claim_retry.as_millis() as u64, "claiming deliveries failed");
                    claim_retry = store_retry_after(claim_retry, &stop).await;
                    continue;
                }
            };
            if claimed.is_empty() {
                let wait = self.idle_wait(&destination).await;
                tokio::select! {
                    _ = notify.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.cancelled() => {}
                }
                continue;
            }
            let mut claimed = claimed.into_iter();
            while let Some(delivery) = claimed.next() {
                let permit = tokio::select! {
                    biased;
                    _ = stop.cancelled() => None,
                    permit = Arc::clone(&slots).acquire_owned() => permit.ok(),
                };
                let Some(permit) = permit else {
                    // Claimed but not started: hand them back at once, so
                    // the next loop (after a reload) need not wait out the lease.
                    let unstarted: Vec<i64> = std::iter::once(delivery)
                        .chain(claimed)
                        .map(|d| d.delivery_id)
                        .collect();
                    if let Err(error) = self.store.release(unstarted).await {
                        tracing::warn!(%destination, %error, "handing back claimed deliveries failed: they wait for their lease");
                    }
                    return;
                };
                let this = Arc::clone(&self);
                self.sending().insert(delivery.delivery_id, now_ms());
                self.in_flight.spawn(async move {
                    let (next, record) = this.attempt(&delivery).await;
                    // The slot limits sends in flight, not bookkeeping.
                    drop(permit);
                    this.record(&delivery, record, next).await;
                    this.sending().remove(&delivery.delivery_id);
                });
            }
        }
    }

    /// Sleep until the next retry falls due, but never past the poll
    /// interval (work may also come from another process or a replay).
    async fn idle_wait(&self, destination: &str) -> Duration {
        let poll = self.settings.poll_interval;
        let now = now_ms();
        match self.store.next_due(destination, now).await {
            Ok(Some(due)) => Duration::from_millis((due - now).clamp(0, poll.as_millis() as i64) as u64),
            _ => poll,
        }
    }

    /// Renders and sends one delivery; says what happened and what next.
    async fn attempt(&self, delivery: &Claimed) -> (NextStep, AttemptRecord) {
        let current = self.live.current();
        let started_at = now_ms();
        let clock = Instant::now();
        let attempt_number = delivery.attempts as u32 + 1;
        let late = match reminder_gate(&current.pipeline, delivery, started_at) {
            Ok(reminder::Gate::Send { late }) => late,
            Ok(reminder::Gate::Missed(reason)) => {
                let record = AttemptRecord {
                    started_at,
                    ..Default::default()
                };
                return (NextStep::Missed(reason), record);
            }
            Err(reason) => {
                let record = AttemptRecord {
                    started_at,
                    error: Some(reason.clone()),
                    ..Default::default()
                };
                return (NextStep::Dead(reason), record);
            }
        };
        let prepared = configured_route(&current.pipeline, &delivery.destination)
            .and_then(|route| Ok((route, render(&current, delivery, late)?)));
        match prepared {
            Err(reason) => (
                NextStep::Dead(reason.clone()),
                AttemptRecord {
                    started_at,
                    duration_ms: 0,
                    error: Some(reason),
                    ..Default::default()
                },
            ),
            Ok((route, mut rendered)) => {
                rendered.resume(delivery.progress.clone());
                let report = route.destination.send(&rendered).await;
                let error = report.error.as_deref().map(|e| current.secrets.redact(e));
                let next = match report.outcome {
                    Outcome::Delivered => NextStep::Delivered,
                    Outcome::Permanent => NextStep::Dead(error.clone().unwrap_or_default()),
                    Outcome::Retry { .. } if attempt_number >= self.settings.max_attempts.get() => {
                        NextStep::Dead(format!(
                            "gave up after {attempt_number} attempts: {}",
                            error.clone().unwrap_or_default()
                        ))
                    }
                    // Removed by a reload while this attempt ran: no loop
                    // would ever try it again.
                    Outcome::Retry { .. }
                        if configured_route(&self.live.current().pipeline, &delivery.destination).is_err() =>
                    {
                        NextStep::Dead(format!(
                            "destination `{}` is no longer configured (last try: {})",
                            delivery.destination,
                            error.clone().unwrap_or_default()
                        ))
                    }
                    Outcome::Retry { after } => {
                        let delay = self.backoff().delay(attempt_number, after);
                        NextStep::RetryAt(now_ms() + delay.as_millis() as i64)
                    }
                };
                let record = AttemptRecord {
                    started_at,
                    duration_ms: clock.elapsed().as_millis() as i64,
                    status: report.status,
                    error,
                    request: Some(rendered.describe(&current.secrets)),
                    response: report.response.as_deref().map(|r| current.secrets.redact(r)),
                    progress: report.progress,
                };
                (next, record)
            }
        }
    }

    async fn record(&self, delivery: &Claimed, record: AttemptRecord, next: NextStep) {
        log_attempt(delivery, &record, &next);
        if !self.record_while_leased(delivery, &record, &next).await {
            return;
        }
        let (result, done) = match next {
            NextStep::Delivered => (Some("delivered"), Some("delivered")),
            NextStep::RetryAt(_) => (Some("retry"), None),
            NextStep::Dead(_) => (Some("dead"), Some("dead")),
            NextStep::Missed(_) => (None, Some("missed")),
        };
        self.metrics.attempt(&delivery.destination, result, done);
        if next == NextStep::Delivered {
            let took = (now_ms() - delivery.received_at).max(0) as u64;
            self.metrics
                .delivered_after(&delivery.destination, Duration::from_millis(took));
        }
    }

    /// Records an attempt, trying again while the store fails (a full or
    /// read-only disk) for as long as the lease holds: the send happened,
    /// and a record lost now would have the delivery sent again once the
    /// lease runs out. Says whether it was recorded.
    async fn record_while_leased(&self, delivery: &Claimed, record: &AttemptRecord, next: &NextStep) -> bool {
        let delivery_id = delivery.delivery_id;
        let mut wait = STORE_RETRY_FIRST;
        loop {
            let Err(error) = self.store.record_attempt(delivery_id, record, next).await else {
                return true;
            };
            self.metrics.store_write_failed("record");
            let give_up = now_ms() + (wait.as_millis() as i64) >= delivery.lease_until - LEASE_MARGIN_MS;
            if give_up || self.stopping.is_cancelled() {
                tracing::error!(delivery_id, %error, "recording an attempt failed: the delivery is sent again when its lease runs out");
                return false;
            }
            tracing::warn!(delivery_id, %error, retry_in_ms = wait.as_millis() as u64, "recording an attempt failed; trying again");
            wait = store_retry_after(wait, &self.stopping).await;
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff {
            initial: self.settings.initial_backoff,
            max: self.settings.max_backoff,
            max_retry_after: self.settings.max_retry_after,
        }
    }
}

/// How long a claim holds its deliveries: every round of sends may take
/// the whole timeout, and a paced destination sends the last of the batch
/// `spacing` times the batch after the first; held past that, the next
/// claim would take a delivery still waiting for its turn and send it twice.
fn lease(per_send: Duration, batch: usize, spacing: Duration) -> Duration {
    per_send * (CLAIM_ROUNDS as u32 + 1) + spacing * batch as u32 + Duration::from_secs(30)
}

/// Waits `wait` (less if `stop` comes first) before a store write is tried
/// again, and returns the wait for the try after.
async fn store_retry_after(wait: Duration, stop: &CancellationToken) -> Duration {
    tokio::select! {
        _ = tokio::time::sleep(wait) => {}
        _ = stop.cancelled() => {}
    }
    (wait * 2).min(STORE_RETRY_MAX)
}

fn configured_route<'a>(pipeline: &'a Pipeline, destination: &str) -> Result<&'a Route, String> {
    pipeline
        .destinations
        .get(destination)
        .ok_or_else(|| format!("destination `{destination}` is no longer configured"))
}

/// For a reminder, whether to send it (and whether late); a call always goes.
fn reminder_gate(pipeline: &Pipeline, delivery: &Claimed, now: i64) -> Result<reminder::Gate, String> {
    let Some(name) = &delivery.reminder else {
        return Ok(reminder::Gate::Send { late: false });
    };
    let settings = pipeline
        .reminders
        .get(name)
        .ok_or_else(|| format!("reminder `{name}` is no longer configured"))?;
    Ok(reminder::gate(delivery.due_at, now, delivery.attempts, settings.grace))
}

fn render(current: &Current, delivery: &Claimed, late: bool) -> Result<Rendered, String> {
    let pipeline = &current.pipeline;
    let region = pipeline.region;
    let stored = (&delivery.caller_phone_e164, &delivery.caller_phone_country);
    let call = CallSummary::parse_with(delivery.payload.as_bytes(), |number| match stored {
        (Some(e164), Some(country)) => Some(phone::Normalised {
            e164: e164.clone(),
            country: Some(country.clone()),
        }),
        (Some(_), None) => phone::normalise(number, region),
        (None, _) => None,
    })
    .map_err(|e| format!("stored call cannot be read: {e}"))?;
    let meta = CallMeta {
        call_id: &delivery.call_id,
        source: &delivery.source,
        received_at_ms: delivery.received_at,
    };
    let mut context = match delivery.callback.as_deref().map(serde_json::from_str) {
        Some(Ok(callback)) => pipeline.context_with(&call, &meta, callback),
        // Stored before call-backs were kept with the call.
        _ => pipeline.context(&call, &meta),
    };
    if let Some(name) = &delivery.reminder {
        context["reminder"] = json!({"name": name, "late": late});
    }
    pipeline
        .render(context, &delivery.call_id, &delivery.destination)
        .map_err(|e| current.secrets.redact(&e.to_string()))
}

/// One line per attempt; a delivery given up on is a warning, since a
/// call did not reach where it should.
fn log_attempt(delivery: &Claimed, record: &AttemptRecord, next: &NextStep) {
    let (call_id, destination) = (&delivery.call_id, &delivery.destination);
    let attempt = delivery.attempts + 1;
    let (status, duration_ms) = (record.status, record.duration_ms);
    match next {
        NextStep::Delivered => {
            tracing::info!(%call_id, %destination, attempt, status, duration_ms, outcome = "delivered", "delivery attempt");
        }
        NextStep::RetryAt(at) => {
            let retry_in_ms = (at - now_ms()).max(0);
            let error = record.error.as_deref().unwrap_or_default();
            tracing::info!(%call_id, %destination, attempt, status, duration_ms, outcome = "retry", retry_in_ms, error, "delivery attempt");
        }
        NextStep::Dead(reason) => {
            tracing::warn!(%call_id, %destination, attempt, status, duration_ms, outcome = "dead", %reason, "delivery attempt");
        }
        NextStep::Missed(reason) => {
            tracing::warn!(%call_id, %destination, outcome = "missed", %reason, "reminder not sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_outlasts_the_paced_wait_of_its_whole_batch() {
        let per_send = Duration::from_secs(20);
        assert_eq!(lease(per_send, 16, Duration::ZERO), Duration::from_secs(130));
        // 64 deliveries to a Telegram group, 3 s apart: the last one starts
        // 189 s after the first and may take a whole send timeout.
        let paced = lease(per_send, 64, Duration::from_secs(3));
        assert!(paced > Duration::from_secs(63 * 3) + per_send, "{paced:?}");
    }
}
