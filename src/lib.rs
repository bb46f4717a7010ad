//! callbridge: receives call summaries from a voice assistant and turns
//! each into deliveries (Slack, HTTP, …) chosen by routes and written by
//! templates. See DESIGN in the README for the flow.

pub mod call;
pub mod config;
pub mod render;
pub mod routing;
