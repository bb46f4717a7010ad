//! callbridge: receives call summaries from a voice assistant and turns
//! each into deliveries (Slack, HTTP, …) chosen by routes and written by
//! templates. See DESIGN in the README for the flow.

pub mod admin;
pub mod auth;
pub mod call;
pub mod cli;
pub mod config;
pub mod destinations;
pub mod dispatch;
pub mod ingest;
pub mod jobs;
pub mod live;
pub mod metrics;
pub mod pipeline;
pub mod reload;
pub mod render;
pub mod routing;
pub mod sample;
pub mod server;
pub mod store;
pub mod when;
