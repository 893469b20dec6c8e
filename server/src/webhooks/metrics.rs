//! Per-webhook Prometheus series for `GET /metrics` (docs/WEBHOOKS.md, "Metrics").

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use sealog_engine::time::now_us;

use super::registry::{Hook, Webhooks};

impl Webhooks {
    /// Per-webhook Prometheus series, appended to `out`.
    pub fn render_metrics(&self, out: &mut String) {
        let visible = self.engine.stats().visible_lsn.0;
        let now = now_us();
        let hooks: Vec<Arc<Hook>> = self.hooks.read().values().cloned().collect();
        let families: [(&str, &str, &str); 4] = [
            (
                "sealog_webhook_delivered_events_total",
                "counter",
                "Events acknowledged by the receiver since start.",
            ),
            (
                "sealog_webhook_failed_deliveries_total",
                "counter",
                "Deliveries dead-lettered (persisted count).",
            ),
            (
                "sealog_webhook_lag_events",
                "gauge",
                "Log positions (all tenants) the webhook has not dealt with yet.",
            ),
            (
                "sealog_webhook_lag_seconds",
                "gauge",
                "Age of the oldest event in the batch being delivered (0 when idle).",
            ),
        ];
        for (i, (name, kind, help)) in families.iter().enumerate() {
            crate::metrics::family(out, name, help, kind);
            for h in &hooks {
                let id = h.def.read().id.clone();
                let p = h.progress.lock().clone();
                let pending = h.pending_since_us.load(Ordering::Relaxed);
                let value = match i {
                    0 => h.delivered_events.load(Ordering::Relaxed) as f64,
                    1 => p.failed_deliveries as f64,
                    2 => visible.saturating_sub(p.cursor_lsn) as f64,
                    _ if pending > 0 => (now - pending).max(0) as f64 / 1e6,
                    _ => 0.0,
                };
                let _ = writeln!(out, "{name}{{webhook_id=\"{id}\"}} {value}");
            }
        }
    }
}
