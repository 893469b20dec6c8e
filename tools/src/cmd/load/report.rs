//! [`Stats`]: what the connections measured (merged at the end), and the report: a
//! human summary on stderr and one `key=value` line last on stdout.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::rss::Rss;

/// Largest latency recorded exactly (1 hour, in µs); longer ones are recorded as this.
const LATENCY_US_MAX: u64 = 3_600_000_000;

/// Measurements of one connection, or of all after merging.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latency of successful ingest requests, µs.
    pub ingest: Histogram<u64>,
    /// Latency of successful queries, µs.
    pub query: Histogram<u64>,
    /// Measured requests, whatever their outcome.
    pub requests: u64,
    /// Events the server acknowledged (201) in measured requests.
    pub events: u64,
    /// Measured requests that failed: a status other than the expected one, or no answer.
    pub errors: u64,
    /// Measured requests by outcome: a status code, `timeout` or `no-connection`.
    pub outcomes: BTreeMap<String, u64>,
    /// When the last measured request completed.
    pub last_done: Option<Instant>,
}

impl Default for Stats {
    fn default() -> Self {
        let histogram = || {
            Histogram::new_with_bounds(1, LATENCY_US_MAX, 3)
                .unwrap_or_else(|e| unreachable!("constant bounds are valid: {e}"))
        };
        Stats {
            ingest: histogram(),
            query: histogram(),
            requests: 0,
            events: 0,
            errors: 0,
            outcomes: BTreeMap::new(),
            last_done: None,
        }
    }
}

impl Stats {
    /// Adds another connection's measurements.
    pub fn merge(&mut self, other: &Stats) {
        // Same bounds on both sides and saturating records: adding cannot fail.
        let _ = self.ingest.add(&other.ingest);
        let _ = self.query.add(&other.query);
        self.requests += other.requests;
        self.events += other.events;
        self.errors += other.errors;
        for (k, v) in &other.outcomes {
            *self.outcomes.entry(k.clone()).or_default() += v;
        }
        self.last_done = self.last_done.max(other.last_done);
    }

    /// Counts one measured request.
    pub fn count(&mut self, outcome: &str, ok: bool, done: Instant) {
        self.requests += 1;
        self.errors += u64::from(!ok);
        match self.outcomes.get_mut(outcome) {
            Some(n) => *n += 1,
            None => {
                self.outcomes.insert(outcome.to_owned(), 1);
            }
        }
        self.last_done = self.last_done.max(Some(done));
    }
}

/// Records `latency` in `h`, in µs (at least 1).
pub fn record(h: &mut Histogram<u64>, latency: Duration) {
    let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    h.saturating_record(us.clamp(1, LATENCY_US_MAX));
}

/// What was asked for, for the report.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub concurrency: usize,
    pub batch: usize,
    pub query_pct: u8,
    /// The measured time: from the end of warm-up to the last measured answer.
    pub measured: Duration,
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    h.value_at_quantile(q) as f64 / 1000.0
}

/// The last stdout line.
pub fn line(s: &Stats, run: &RunInfo, rss: Option<&Rss>) -> String {
    let secs = run.measured.as_secs_f64().max(1e-9);
    let mut out = format!(
        "events_per_s={:.1} requests_per_s={:.1} p50_ms={:.3} p90_ms={:.3} p99_ms={:.3} p999_ms={:.3} max_ms={:.3} errors={} requests={} events={} concurrency={} batch={} duration_s={:.3}",
        s.events as f64 / secs,
        s.requests as f64 / secs,
        ms(&s.ingest, 0.50),
        ms(&s.ingest, 0.90),
        ms(&s.ingest, 0.99),
        ms(&s.ingest, 0.999),
        s.ingest.max() as f64 / 1000.0,
        s.errors,
        s.requests,
        s.events,
        run.concurrency,
        run.batch,
        run.measured.as_secs_f64(),
    );
    if run.query_pct > 0 {
        let _ = write!(
            out,
            " query_p50_ms={:.3} query_p99_ms={:.3}",
            ms(&s.query, 0.50),
            ms(&s.query, 0.99)
        );
    }
    if let Some(rss) = rss {
        let _ = write!(
            out,
            " rss_start_mib={:.1} rss_max_mib={:.1} rss_end_mib={:.1}",
            rss.start_kib as f64 / 1024.0,
            rss.max_kib as f64 / 1024.0,
            rss.end_kib as f64 / 1024.0
        );
    }
    out
}

/// The human summary (stderr).
pub fn summary(s: &Stats, run: &RunInfo, rss: Option<&Rss>, pid: Option<u32>) -> String {
    let secs = run.measured.as_secs_f64().max(1e-9);
    let mut out = format!(
        "measured {:.1} s: {} requests ({:.1}/s), {} events stored ({:.1}/s), {} errors\n",
        run.measured.as_secs_f64(),
        s.requests,
        s.requests as f64 / secs,
        s.events,
        s.events as f64 / secs,
        s.errors
    );
    let _ = writeln!(
        out,
        "ingest latency ms (n={}): p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}",
        s.ingest.len(),
        ms(&s.ingest, 0.50),
        ms(&s.ingest, 0.90),
        ms(&s.ingest, 0.99),
        ms(&s.ingest, 0.999),
        s.ingest.max() as f64 / 1000.0
    );
    if run.query_pct > 0 {
        let _ = writeln!(
            out,
            "query latency ms (n={}): p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
            s.query.len(),
            ms(&s.query, 0.50),
            ms(&s.query, 0.90),
            ms(&s.query, 0.99),
            s.query.max() as f64 / 1000.0
        );
    }
    let outcomes: Vec<String> = s
        .outcomes
        .iter()
        .map(|(k, v)| format!("{k} ×{v}"))
        .collect();
    let _ = write!(out, "responses: {}", outcomes.join(", "));
    if let (Some(rss), Some(pid)) = (rss, pid) {
        let _ = write!(
            out,
            "\nRSS of pid {pid}: start {:.1} MiB, max {:.1} MiB, end {:.1} MiB",
            rss.start_kib as f64 / 1024.0,
            rss.max_kib as f64 / 1024.0,
            rss.end_kib as f64 / 1024.0
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(latencies_ms: &[u64], events_each: u64) -> Stats {
        let mut s = Stats::default();
        let now = Instant::now();
        for &l in latencies_ms {
            record(&mut s.ingest, Duration::from_millis(l));
            s.count("201", true, now);
            s.events += events_each;
        }
        s
    }

    #[test]
    fn merged_stats_add_up() {
        let mut a = stats(&[1, 2, 3], 10);
        let mut b = stats(&[4], 10);
        b.count("timeout", false, Instant::now());
        a.merge(&b);
        assert_eq!((a.requests, a.events, a.errors), (5, 40, 1));
        assert_eq!(a.outcomes["201"], 4);
        assert_eq!(a.outcomes["timeout"], 1);
        assert_eq!(a.ingest.len(), 4);
        assert!(a.last_done.is_some());
    }

    #[test]
    fn the_last_line_has_every_key_in_order() {
        let s = stats(&(1..=100).collect::<Vec<_>>(), 2);
        let run = RunInfo {
            concurrency: 8,
            batch: 2,
            query_pct: 0,
            measured: Duration::from_secs(2),
        };
        let l = line(&s, &run, None);
        let keys: Vec<&str> = l
            .split(' ')
            .map(|kv| kv.split('=').next().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "events_per_s",
                "requests_per_s",
                "p50_ms",
                "p90_ms",
                "p99_ms",
                "p999_ms",
                "max_ms",
                "errors",
                "requests",
                "events",
                "concurrency",
                "batch",
                "duration_s"
            ]
        );
        assert!(
            l.starts_with("events_per_s=100.0 requests_per_s=50.0 p50_ms=50.015 "),
            "{l}"
        );
        assert!(
            l.ends_with(" errors=0 requests=100 events=200 concurrency=8 batch=2 duration_s=2.000"),
            "{l}"
        );
        let rss = Rss {
            start_kib: 1024,
            max_kib: 3072,
            end_kib: 2048,
        };
        let run = RunInfo {
            query_pct: 10,
            ..run
        };
        let l = line(&s, &run, Some(&rss));
        assert!(l.ends_with(
            " duration_s=2.000 query_p50_ms=0.000 query_p99_ms=0.000 rss_start_mib=1.0 rss_max_mib=3.0 rss_end_mib=2.0"
        ), "{l}");
        assert!(summary(&s, &run, Some(&rss), Some(7)).contains("RSS of pid 7"));
    }
}
