//! The built-in sample call, which has every field a call summary can
//! have: rendering it for every destination finds, when a config is
//! loaded, a template that no call could get through.

use serde_json::Value;

use crate::call::CallSummary;
use crate::config::{Config, ConfigError, JobKind};
use crate::pipeline::{CallMeta, Pipeline, RenderFailure};
use crate::render::RenderError;

pub const CALL: &str = include_str!("../samples/call.json");

/// The context templates see for `body`, as if it had just arrived.
pub fn context_of(pipeline: &Pipeline, body: &[u8], call_id: &str, source: &str) -> Result<Value, ConfigError> {
    let call = CallSummary::parse(body, pipeline.region).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    let meta = CallMeta {
        call_id,
        source,
        received_at_ms: crate::store::now_ms(),
    };
    Ok(pipeline.context(&call, &meta))
}

/// Renders the sample call for every destination, and an empty digest
/// for a digest job's. A template that fails on a field the sample lacks
/// only warns (a field some senders add; the warnings are returned); any
/// other failure (an unknown helper, a helper's wrong arguments, JSON that
/// does not parse, a digest that cannot be empty) fails for every call,
/// and is an error naming the destination.
pub fn check(config: &Config, pipeline: &Pipeline) -> Result<Vec<String>, ConfigError> {
    let redact = |error: &RenderFailure| config.secrets.redact(&error.to_string());
    let digests: Vec<&String> = config
        .settings
        .jobs
        .values()
        .filter_map(|job| match &job.kind {
            JobKind::Digest { to, .. } => Some(to),
            _ => None,
        })
        .flatten()
        .collect();
    let empty_digest = crate::jobs::digest_context("check", &[], &pipeline.zone, jiff::Timestamp::now());
    for name in &digests {
        // Sent every run, empty or not: a template that cannot render an
        // empty digest is a digest that never arrives.
        if let Err(error) = pipeline.render(empty_digest.clone(), "check", name) {
            return Err(ConfigError::key(
                format!("destinations.{name}"),
                format!(
                    "cannot render a digest (a digest job sends to it; use a digest template such as slack/digest.json.hbs): {}",
                    redact(&error)
                ),
            ));
        }
    }
    let context = context_of(pipeline, CALL.as_bytes(), "check", "check")?;
    let mut warnings = Vec::new();
    for name in pipeline.destinations.keys().filter(|name| !digests.contains(name)) {
        match pipeline.render(context.clone(), "check", name) {
            Ok(_) => {}
            Err(error @ RenderFailure::Render(RenderError::MissingField { .. })) => warnings.push(format!(
                "destinations.{name}: fails for the sample call (only calls that have every field it uses will be delivered): {}",
                redact(&error)
            )),
            Err(error) => {
                return Err(ConfigError::key(
                    format!("destinations.{name}"),
                    format!(
                        "fails for the sample call, which has every field, so for every call: {}",
                        redact(&error)
                    ),
                ));
            }
        }
    }
    Ok(warnings)
}
