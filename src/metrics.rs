//! Prometheus metrics on `/metrics`. Labels are bounded: sources and
//! destinations come from the config (an unknown source is `unknown`),
//! outcomes and reasons from fixed lists; never a number or a call id.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use prometheus_client::encoding::{EncodeLabelSet, text::encode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::store::{QueueStats, Store, now_ms};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub source: String,
    /// accepted, duplicate, or rejected
    pub outcome: &'static str,
    /// Why a call was rejected; empty otherwise.
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub destination: String,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DestinationLabel {
    pub destination: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabel {
    pub write: &'static str,
}

pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    unrouted: Family<SourceLabel, Counter>,
    attempts: Family<OutcomeLabels, Counter>,
    deliveries: Family<OutcomeLabels, Counter>,
    delivery_latency: Family<DestinationLabel, Histogram>,
    ingest_latency: Histogram,
    queue_depth: Family<DestinationLabel, Gauge>,
    oldest_pending: Family<DestinationLabel, Gauge<f64, std::sync::atomic::AtomicU64>>,
    reminders_pending: Gauge,
    reminders_due: Gauge,
    store_write_failures: Family<WriteLabel, Counter>,
}

fn latency_histogram() -> Histogram {
    // 5 ms … about 80 s: an ack is milliseconds, a delivery with retries minutes.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.005, 2.0, 15,
    ))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("callbridge");
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "calls_received",
            "Calls posted to a hook, by source and outcome",
            calls.clone(),
        );
        let unrouted = Family::<SourceLabel, Counter>::default();
        registry.register("calls_unrouted", "Accepted calls that no route took", unrouted.clone());
        let attempts = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "delivery_attempts",
            "Send attempts by destination and result (delivered, retry, dead)",
            attempts.clone(),
        );
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Deliveries that reached a final state (delivered, dead, missed)",
            deliveries.clone(),
        );
        let delivery_latency =
            Family::<DestinationLabel, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "delivery_latency_seconds",
            "From receiving a call to its delivery",
            delivery_latency.clone(),
        );
        let ingest_latency = latency_histogram();
        registry.register(
            "ingest_latency_seconds",
            "From a call's request to its durable commit",
            ingest_latency.clone(),
        );
        let queue_depth = Family::<DestinationLabel, Gauge>::default();
        registry.register("queue_depth", "Calls waiting to be delivered", queue_depth.clone());
        let oldest_pending = Family::<DestinationLabel, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "oldest_pending_age_seconds",
            "Age of the oldest call waiting to be delivered",
            oldest_pending.clone(),
        );
        let reminders_pending = Gauge::default();
        registry.register(
            "reminders_pending",
            "Call-back reminders not yet sent",
            reminders_pending.clone(),
        );
        let reminders_due = Gauge::default();
        registry.register(
            "reminders_due",
            "Call-back reminders due and not yet sent",
            reminders_due.clone(),
        );
        let store_write_failures = Family::<WriteLabel, Counter>::default();
        registry.register(
            "store_write_failures",
            "Writes to the store that failed (a full or read-only disk), by write (claim, record)",
            store_write_failures.clone(),
        );
        Self {
            registry,
            calls,
            unrouted,
            attempts,
            deliveries,
            delivery_latency,
            ingest_latency,
            queue_depth,
            oldest_pending,
            reminders_pending,
            reminders_due,
            store_write_failures,
        }
    }
}

impl Metrics {
    pub fn call(&self, source: &str, outcome: &'static str, reason: &'static str) {
        let source = source.to_owned();
        self.calls
            .get_or_create(&CallLabels {
                source,
                outcome,
                reason,
            })
            .inc();
    }

    pub fn unrouted(&self, source: &str) {
        self.unrouted
            .get_or_create(&SourceLabel {
                source: source.to_owned(),
            })
            .inc();
    }

    pub fn ingested_in(&self, took: Duration) {
        self.ingest_latency.observe(took.as_secs_f64());
    }

    /// One attempt's result (None: not tried, a missed reminder), and the
    /// final outcome when there is one.
    pub fn attempt(&self, destination: &str, result: Option<&'static str>, done: Option<&'static str>) {
        let destination = destination.to_owned();
        if let Some(outcome) = result {
            self.attempts
                .get_or_create(&OutcomeLabels {
                    destination: destination.clone(),
                    outcome,
                })
                .inc();
        }
        if let Some(outcome) = done {
            self.deliveries
                .get_or_create(&OutcomeLabels { destination, outcome })
                .inc();
        }
    }

    /// Deliveries dead-lettered without an attempt (their destination
    /// left the config).
    pub fn dead_lettered(&self, destinations: &[String]) {
        for destination in destinations {
            self.attempt(destination, None, Some("dead"));
        }
    }

    /// `write`: `claim` or `record` (an attempt's outcome).
    pub fn store_write_failed(&self, write: &'static str) {
        self.store_write_failures.get_or_create(&WriteLabel { write }).inc();
    }

    pub fn delivered_after(&self, destination: &str, took: Duration) {
        self.delivery_latency
            .get_or_create(&DestinationLabel {
                destination: destination.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// The queue gauges, read from the store at scrape time (so they are
    /// right after a restart, and whoever else wrote to the store).
    fn set_queue(&self, destinations: &[String], stats: &QueueStats, now: i64) {
        // Only the destinations in force: one removed by a reload goes away.
        self.queue_depth.clear();
        self.oldest_pending.clear();
        for destination in destinations {
            let (depth, oldest) = stats.calls.get(destination).copied().unwrap_or((0, now));
            let label = DestinationLabel {
                destination: destination.clone(),
            };
            self.queue_depth.get_or_create(&label).set(depth);
            let age = if depth == 0 {
                0.0
            } else {
                (now - oldest).max(0) as f64 / 1000.0
            };
            self.oldest_pending.get_or_create(&label).set(age);
        }
        self.reminders_pending.set(stats.reminders_pending);
        self.reminders_due.set(stats.reminders_due);
    }
}

/// What `/metrics` needs: the metrics, the store, and which destinations
/// to report a queue for.
pub struct MetricsState {
    pub metrics: std::sync::Arc<Metrics>,
    pub store: Store,
    pub live: std::sync::Arc<crate::live::Live>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(crate::admin::get_only("/metrics").route(web::get().to(scrape)));
}

async fn scrape(state: web::Data<MetricsState>) -> HttpResponse {
    let now = now_ms();
    match state.store.queue_stats(now).await {
        Ok(stats) => {
            let destinations: Vec<String> = state.live.current().pipeline.destinations.keys().cloned().collect();
            state.metrics.set_queue(&destinations, &stats, now);
        }
        Err(error) => tracing::warn!(%error, "reading queue figures for /metrics failed"),
    }
    let mut text = String::new();
    if let Err(error) = encode(&mut text, &state.metrics.registry) {
        tracing::error!(%error, "encoding metrics failed");
        return HttpResponse::InternalServerError().json(serde_json::json!({"error": "encoding metrics failed"}));
    }
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(text)
}
