//! Webhooks (issue 7, docs/WEBHOOKS.md): admins register HTTPS receivers per tenant;
//! a dispatcher per webhook follows the log from a durable cursor and POSTs the
//! tenant's new events (optionally only some event types) in signed batches, in
//! order, at least once, with retries, dead-lettering and deactivation of receivers
//! that keep failing. Receivers must be public addresses unless allow-listed (SSRF).

mod api;
mod client;
mod config;
mod conn;
mod deliveries;
mod dispatch;
mod feed;
mod fields;
mod metrics;
mod registry;
mod sign;
mod ssrf;
mod store;

pub use api::{create, delete, deliveries, get_one, list, replay, update};
pub use config::{WebhookConfig, WebhookFileKeys};
pub use registry::Webhooks;
