//! Webhook settings (`webhook-*` keys of the config file), checked at startup.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;

use super::ssrf::Cidr;
use crate::limits::{WEBHOOK_BATCH_EVENTS_MAX, WEBHOOK_FEED_EVENTS, WEBHOOK_FEED_EVENTS_MAX};

/// The `webhook-*` keys as read from the file (every one optional).
#[derive(Debug, Default, Clone)]
pub struct WebhookFileKeys {
    /// `webhook-allow-http`.
    pub allow_http: Option<bool>,
    /// `webhook-allow-cidrs`.
    pub allow_cidrs: Option<Vec<String>>,
    /// `webhook-ca-file`.
    pub ca_file: Option<PathBuf>,
    /// `webhook-batch-events`.
    pub batch_events: Option<u64>,
    /// `webhook-batch-delay-ms`.
    pub batch_delay_ms: Option<u64>,
    /// `webhook-timeout-ms`.
    pub timeout_ms: Option<u64>,
    /// `webhook-deactivate-after-s`.
    pub deactivate_after_s: Option<u64>,
    /// `webhook-backoff-unit-ms`.
    pub backoff_unit_ms: Option<u64>,
    /// `webhook-feed-events`.
    pub feed_events: Option<u64>,
}

/// Resolved webhook settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Accept `http://` URLs (default false: https only). For loopback receivers and tests.
    pub allow_http: bool,
    /// Address ranges a webhook may reach although the SSRF rules refuse them
    /// (default none), e.g. `["127.0.0.1/32"]` for a receiver on the same host.
    pub allow_cidrs: Arc<Vec<Cidr>>,
    /// Extra CA certificates (PEM) trusted for receivers, besides the webpki roots.
    pub ca_file: Option<PathBuf>,
    /// Events in one delivery: default 500, 1..=10,000.
    pub batch_events: usize,
    /// How long a dispatcher waits for more events before sending a short batch:
    /// default 200 ms, 0..=60,000.
    pub batch_delay: Duration,
    /// One attempt (resolve, connect, TLS, request, response head): default 10 s,
    /// 100..=120,000 ms.
    pub timeout: Duration,
    /// A webhook failing without a success for this long is deactivated: default
    /// 86,400 s, 1..=31,536,000.
    pub deactivate_after: Duration,
    /// What one "second" of `retry_backoff_seconds` lasts: default 1000 ms, 1..=1000
    /// (a test and operations knob: lower it to make back-off fast; never raises it).
    pub backoff_unit: Duration,
    /// Events the webhooks' shared reader keeps (`feed.rs`): default 1,048,576 (16 MiB),
    /// 16..=16,777,216. A dispatcher further behind reads the log itself.
    pub feed_events: usize,
}

impl Default for WebhookConfig {
    fn default() -> WebhookConfig {
        WebhookConfig {
            allow_http: false,
            allow_cidrs: Arc::new(Vec::new()),
            ca_file: None,
            batch_events: 500,
            batch_delay: Duration::from_millis(25),
            timeout: Duration::from_millis(10_000),
            deactivate_after: Duration::from_secs(86_400),
            backoff_unit: Duration::from_millis(1000),
            feed_events: WEBHOOK_FEED_EVENTS,
        }
    }
}

fn within(name: &str, v: u64, lo: u64, hi: u64) -> anyhow::Result<u64> {
    if !(lo..=hi).contains(&v) {
        bail!("{name} = {v} is outside {lo}..={hi}");
    }
    Ok(v)
}

impl WebhookConfig {
    /// Checks the keys; the first bad one is reported.
    pub fn from_keys(k: WebhookFileKeys) -> anyhow::Result<WebhookConfig> {
        let d = WebhookConfig::default();
        let mut cidrs = Vec::new();
        for s in k.allow_cidrs.unwrap_or_default() {
            cidrs.push(
                Cidr::parse(&s).map_err(|e| anyhow::anyhow!("webhook-allow-cidrs: {s:?}: {e}"))?,
            );
        }
        if let Some(ca) = &k.ca_file {
            if !ca.is_file() {
                bail!("webhook-ca-file = {}: no such file", ca.display());
            }
        }
        let ms = |name, v: Option<u64>, def: Duration, lo, hi| -> anyhow::Result<Duration> {
            match v {
                None => Ok(def),
                Some(v) => Ok(Duration::from_millis(within(name, v, lo, hi)?)),
            }
        };
        Ok(WebhookConfig {
            allow_http: k.allow_http.unwrap_or(false),
            allow_cidrs: Arc::new(cidrs),
            ca_file: k.ca_file,
            batch_events: match k.batch_events {
                None => d.batch_events,
                Some(v) => within("webhook-batch-events", v, 1, WEBHOOK_BATCH_EVENTS_MAX)? as usize,
            },
            batch_delay: ms(
                "webhook-batch-delay-ms",
                k.batch_delay_ms,
                d.batch_delay,
                0,
                60_000,
            )?,
            timeout: ms("webhook-timeout-ms", k.timeout_ms, d.timeout, 100, 120_000)?,
            deactivate_after: match k.deactivate_after_s {
                None => d.deactivate_after,
                Some(v) => {
                    Duration::from_secs(within("webhook-deactivate-after-s", v, 1, 365 * 86_400)?)
                }
            },
            backoff_unit: ms(
                "webhook-backoff-unit-ms",
                k.backoff_unit_ms,
                d.backoff_unit,
                1,
                1000,
            )?,
            feed_events: match k.feed_events {
                None => d.feed_events,
                Some(v) => within("webhook-feed-events", v, 16, WEBHOOK_FEED_EVENTS_MAX)? as usize,
            },
        })
    }
}
