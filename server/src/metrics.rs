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

/// One route's answered requests.
#[derive(Debug, Default)]
struct Route {
    /// Count by status.
    by_status: BTreeMap<u16, u64>,
    latency: Histogram,
}

/// Request and ingest counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Answered requests by route (one lock per request).
    routes: Mutex<BTreeMap<String, Route>>,
    ingested: AtomicU64,
}

impl Metrics {
    /// Records one answered request.
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        let s = elapsed.as_secs_f64();
        let mut routes = self.routes.lock();
        // A route's key is allocated once, not once per request.
        let r = match routes.get_mut(route) {
            Some(r) => r,
            None => routes.entry(route.to_owned()).or_default(),
        };
        *r.by_status.entry(status).or_default() += 1;
        let h = &mut r.latency;
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
        let routes = self.routes.lock();
        family(
            &mut out,
            "sealog_http_requests_total",
            "HTTP requests answered, by route and status.",
            "counter",
        );
        for (route, r) in routes.iter() {
            let name = escape(route);
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    out,
                    "sealog_http_requests_total{{route=\"{name}\",status=\"{status}\"}} {n}"
                );
            }
        }
        family(
            &mut out,
            "sealog_http_request_duration_seconds",
            "Time to answer, by route.",
            "histogram",
        );
        for (route, Route { latency: h, .. }) in routes.iter() {
            histogram(
                &mut out,
                "sealog_http_request_duration_seconds",
                &format!("route=\"{}\"", escape(route)),
                BUCKETS.iter().copied().zip(h.counts),
                h.count,
                h.sum,
            );
        }
        drop(routes);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_and_status_with_their_latency() {
        let m = Metrics::default();
        m.observe("/b", 201, Duration::from_micros(300));
        m.observe("/b", 201, Duration::from_millis(3));
        m.observe("/b", 422, Duration::from_secs(20));
        m.observe("/a", 200, Duration::from_millis(1));
        m.add_ingested(2);
        let out = m.render(&[("sealog_x", "A gauge.", 1.5)]);
        let has = |line: &str| assert!(out.lines().any(|l| l == line), "{line}\n{out}");
        has(r#"sealog_http_requests_total{route="/a",status="200"} 1"#);
        has(r#"sealog_http_requests_total{route="/b",status="201"} 2"#);
        has(r#"sealog_http_requests_total{route="/b",status="422"} 1"#);
        // Cumulative buckets; 20 s is past the last bound, so only in +Inf.
        has(r#"sealog_http_request_duration_seconds_bucket{route="/b",le="0.0005"} 1"#);
        has(r#"sealog_http_request_duration_seconds_bucket{route="/b",le="0.005"} 2"#);
        has(r#"sealog_http_request_duration_seconds_bucket{route="/b",le="10"} 2"#);
        has(r#"sealog_http_request_duration_seconds_bucket{route="/b",le="+Inf"} 3"#);
        has(r#"sealog_http_request_duration_seconds_count{route="/b"} 3"#);
        has(r#"sealog_http_request_duration_seconds_bucket{route="/a",le="0.001"} 1"#);
        has(r#"sealog_http_request_duration_seconds_bucket{route="/a",le="0.0005"} 0"#);
        has("sealog_events_ingested_total 2");
        has("# TYPE sealog_x gauge");
        has("sealog_x 1.5");
        let sum = out
            .lines()
            .find_map(|l| {
                l.strip_prefix(r#"sealog_http_request_duration_seconds_sum{route="/b"} "#)
            })
            .unwrap();
        let sum: f64 = sum.parse().unwrap();
        assert!((sum - 20.0033).abs() < 1e-9, "{sum}");
        // Routes in name order, each family once.
        assert!(out.find(r#"route="/a""#) < out.find(r#"route="/b""#));
        assert_eq!(out.matches("# TYPE sealog_http_requests_total").count(), 1);
    }
}
