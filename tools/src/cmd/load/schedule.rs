//! [`Schedule`]: when each request is due, which requests are measured, and from when
//! a latency counts.
//!
//! Throttled (`--rate` > 0), request k is due at `start + k × interval`, whichever
//! connection sends it, and its latency runs from that intended time, not from when it
//! was actually sent: a request that had to wait for a connection because the server
//! was slow counts the wait, as its user would have (the "coordinated omission"
//! correction of wrk2). Unthrottled, each connection sends as soon as its previous
//! answer arrives, and latency runs from the actual send.

use std::time::{Duration, Instant};

/// Lateness forgiven a throttled request: tokio's timer fires on millisecond ticks,
/// so a request sent up to this late was late because of the timer, not the server.
pub const TIMER_SLACK: Duration = Duration::from_millis(1);

/// The requests' timeline.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// When request 0 is due.
    pub start: Instant,
    /// Requests sent (or due) before this are warm-up: sent, not measured.
    pub measure_from: Instant,
    /// Nothing is sent at or after this.
    pub end: Instant,
    /// Seconds between two due times; `None` when unthrottled.
    interval_s: Option<f64>,
}

impl Schedule {
    /// A run starting at `start`: `warmup`, then `duration` measured.
    pub fn new(
        start: Instant,
        warmup: Duration,
        duration: Duration,
        interval: Option<Duration>,
    ) -> Self {
        Schedule {
            start,
            measure_from: start + warmup,
            end: start + warmup + duration,
            interval_s: interval.map(|i| i.as_secs_f64()),
        }
    }

    /// Whether requests are paced.
    pub fn throttled(&self) -> bool {
        self.interval_s.is_some()
    }

    /// When request `k` is due (throttled only); `None` when unthrottled or when that
    /// time is past the end.
    pub fn due(&self, k: u64) -> Option<Instant> {
        let at = self.start + Duration::from_secs_f64(k as f64 * self.interval_s?);
        (at < self.end).then_some(at)
    }

    /// The instant a request's latency runs from: throttled, its due time, so a late
    /// send counts its lateness (less [`TIMER_SLACK`]); unthrottled, its actual send.
    /// Never after `sent`.
    pub fn latency_from(&self, due: Option<Instant>, sent: Instant) -> Instant {
        match due {
            Some(due) => (due + TIMER_SLACK).min(sent),
            None => sent,
        }
    }

    /// Whether a request due (throttled) or sent (unthrottled) at `t` is measured.
    pub fn measured(&self, t: Instant) -> bool {
        t >= self.measure_from && t < self.end
    }
}

/// Time between two requests for `rate` events/s in total, `batch` events per ingest
/// request, and `query_pct` % of requests being queries (which carry no events): the
/// request rate is raised so that ingest alone still makes `rate` events/s. With 100 %
/// queries, `rate` is taken as queries/s. `None` when `rate` is 0 (unthrottled).
pub fn request_interval(rate: f64, batch: usize, query_pct: u8) -> Option<Duration> {
    if rate <= 0.0 {
        return None;
    }
    let ingest_share = 1.0 - f64::from(query_pct.min(100)) / 100.0;
    let requests_per_s = if ingest_share > 0.0 {
        rate / batch.max(1) as f64 / ingest_share
    } else {
        rate
    };
    Duration::try_from_secs_f64(1.0 / requests_per_s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn intervals_from_rate_batch_and_mix() {
        let us = |r, b, q| request_interval(r, b, q).map(|d| d.as_micros());
        assert_eq!(us(0.0, 1, 0), None);
        assert_eq!(us(1000.0, 1, 0), Some(1000));
        assert_eq!(us(1000.0, 10, 0), Some(10_000));
        // 20 % queries: 1,250 requests/s so that 1,000 of them ingest.
        assert_eq!(us(1000.0, 1, 20), Some(800));
        assert_eq!(us(50.0, 1, 100), Some(20_000));
    }

    #[test]
    fn due_times_are_fixed_and_stop_at_the_end() {
        let t0 = Instant::now();
        let s = Schedule::new(t0, 100 * MS, 900 * MS, Some(10 * MS));
        assert_eq!(s.due(0), Some(t0));
        assert_eq!(s.due(7), Some(t0 + 70 * MS));
        assert_eq!(s.due(99), Some(t0 + 990 * MS));
        assert_eq!(s.due(100), None);
        assert!(!s.measured(t0 + 99 * MS) && s.measured(t0 + 100 * MS));
        assert!(s.measured(t0 + 999 * MS) && !s.measured(t0 + 1000 * MS));
        let free = Schedule::new(t0, MS, MS, None);
        assert!(!free.throttled() && free.due(0).is_none());
    }

    #[test]
    fn a_late_send_counts_its_wait() {
        // Due at 100 ms, sent at 350 ms (every connection was busy), answered at 360 ms:
        // the user waited 260 ms (259 after the timer's slack), not 10 ms.
        let t0 = Instant::now();
        let s = Schedule::new(t0, Duration::ZERO, Duration::from_secs(1), Some(MS));
        let (due, sent, done) = (t0 + 100 * MS, t0 + 350 * MS, t0 + 360 * MS);
        assert_eq!(done - s.latency_from(Some(due), sent), 259 * MS);
        // Late by less than the timer's tick: forgiven; later: only the tick is.
        let sent = due + MS / 2;
        assert_eq!(s.latency_from(Some(due), sent), sent);
        let sent = due + 3 * MS;
        assert_eq!(s.latency_from(Some(due), sent), due + MS);
        // Sent early (never, but it must not make latency negative): from the send.
        assert_eq!(s.latency_from(Some(due), due - MS), due - MS);
        // Unthrottled: from the actual send.
        let free = Schedule::new(t0, Duration::ZERO, Duration::from_secs(1), None);
        assert_eq!(free.latency_from(None, sent), sent);
    }
}
