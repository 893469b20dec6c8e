//! Prometheus metrics, rendered by hand in the text exposition format (a handful of
//! counters and one histogram family do not need a metrics framework).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

/// Upper bounds (seconds) of the request latency histogram.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request and ingest counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Answered requests by route, then status.
    requests: Mutex<BTreeMap<String, BTreeMap<u16, u64>>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    ingested: AtomicU64,
}

impl Metrics {
    /// Records one answered request.
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        // A route's key is allocated once, not once per request.
        {
            let mut requests = self.requests.lock();
            let by_status = match requests.get_mut(route) {
                Some(m) => m,
                None => requests.entry(route.to_owned()).or_default(),
            };
            *by_status.entry(status).or_default() += 1;
        }
        let s = elapsed.as_secs_f64();
        let mut lat = self.latency.lock();
        let h = match lat.get_mut(route) {
            Some(h) => h,
            None => lat.entry(route.to_owned()).or_default(),
        };
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += s;
    }

    /// Counts acknowledged events.
    pub fn add_ingested(&self, n: u64) {
        self.ingested.fetch_add(n, Ordering::Relaxed);
    }

    /// The text exposition, with `gauges` appended (name, help, value).
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::with_capacity(4096);
        family(
            &mut out,
            "sealog_http_requests_total",
            "HTTP requests answered, by route and status.",
            "counter",
        );
        for (route, by_status) in self.requests.lock().iter() {
            let r = escape(route);
            for (status, n) in by_status {
                let _ = writeln!(
                    out,
                    "sealog_http_requests_total{{route=\"{r}\",status=\"{status}\"}} {n}"
                );
            }
        }
        family(
            &mut out,
            "sealog_http_request_duration_seconds",
            "Time to answer, by route.",
            "histogram",
        );
        for (route, h) in self.latency.lock().iter() {
            histogram(
                &mut out,
                "sealog_http_request_duration_seconds",
                &format!("route=\"{}\"", escape(route)),
                BUCKETS.iter().copied().zip(h.counts),
                h.count,
                h.sum,
            );
        }
        family(
            &mut out,
            "sealog_events_ingested_total",
            "Events acknowledged (201) since start.",
            "counter",
        );
        let _ = writeln!(
            out,
            "sealog_events_ingested_total {}",
            self.ingested.load(Ordering::Relaxed)
        );
        for (name, help, value) in gauges {
            family(&mut out, name, help, "gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

/// Writes the `# HELP` and `# TYPE` lines of a metric family.
pub fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Writes one histogram series: `buckets` are (upper bound, cumulative count) in
/// increasing order; `labels` is empty or `k="v",…` (escaped).
pub fn histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    buckets: impl IntoIterator<Item = (f64, u64)>,
    count: u64,
    sum: f64,
) {
    let sep = if labels.is_empty() { "" } else { "," };
    for (le, n) in buckets {
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
    let braces = |l: &str| {
        if l.is_empty() {
            String::new()
        } else {
            format!("{{{l}}}")
        }
    };
    let _ = writeln!(out, "{name}_sum{} {sum}", braces(labels));
    let _ = writeln!(out, "{name}_count{} {count}", braces(labels));
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
