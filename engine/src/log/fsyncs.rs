//! How long the log's fsyncs take: a count, a total and a latency histogram, for
//! metrics. Acknowledgments wait for these calls, so their latency is the floor of an
//! append's (docs/OPERATIONS.md, "Observability").

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (µs) of the histogram's buckets; slower calls count only in the total.
pub const FSYNC_BUCKETS_US: [u64; 12] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
];

/// The counters, shared by the syncer (which records) and `Engine::stats` (which reads).
#[derive(Debug, Default)]
pub(crate) struct FsyncCounters {
    calls: AtomicU64,
    total_ns: AtomicU64,
    /// Calls that took at most `FSYNC_BUCKETS_US[i]` and more than the bucket before.
    buckets: [AtomicU64; FSYNC_BUCKETS_US.len()],
}

impl FsyncCounters {
    /// Counts one call that took `elapsed`.
    pub fn record(&self, elapsed: Duration) {
        let us = elapsed.as_micros();
        if let Some(i) = FSYNC_BUCKETS_US.iter().position(|b| us <= u128::from(*b)) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.total_ns.fetch_add(ns, Ordering::Relaxed);
        // Counted last, with Release: a snapshot that sees this call sees its bucket
        // too. A call still being recorded may show in its bucket first; `snapshot`
        // caps the buckets at the calls.
        self.calls.fetch_add(1, Ordering::Release);
    }

    /// The counters now.
    pub fn snapshot(&self) -> FsyncStats {
        let calls = self.calls.load(Ordering::Acquire);
        let mut at_most = [0u64; FSYNC_BUCKETS_US.len()];
        let mut sum = 0u64;
        for (i, b) in self.buckets.iter().enumerate() {
            sum += b.load(Ordering::Relaxed);
            at_most[i] = sum.min(calls);
        }
        FsyncStats {
            calls,
            total_ns: self.total_ns.load(Ordering::Relaxed),
            at_most,
        }
    }
}

/// The log's fsyncs since open: every fdatasync and fsync of a segment file made by the
/// syncer (each group commit's under `sync`, the interval policy's, the two of each
/// seal). The spare segment's preallocation is not counted: nothing waits for it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FsyncStats {
    /// Calls made.
    pub calls: u64,
    /// Their total time, in nanoseconds.
    pub total_ns: u64,
    /// `at_most[i]`: calls that took at most [`FSYNC_BUCKETS_US`]`[i]` µs (cumulative,
    /// as Prometheus histograms count).
    pub at_most: [u64; FSYNC_BUCKETS_US.len()],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_land_in_cumulative_buckets() {
        let c = FsyncCounters::default();
        c.record(Duration::from_micros(100)); // the first bucket: bounds are inclusive
        c.record(Duration::from_micros(101));
        c.record(Duration::from_micros(2_000));
        c.record(Duration::from_secs(3)); // beyond the last bucket
        let s = c.snapshot();
        assert_eq!(s.calls, 4);
        assert_eq!(s.at_most[0], 1);
        assert_eq!(s.at_most[1], 2);
        assert_eq!(s.at_most[3], 2, "1 ms: the 2 ms call is not in it");
        assert_eq!(s.at_most[4], 3);
        assert_eq!(s.at_most[FSYNC_BUCKETS_US.len() - 1], 3);
        assert_eq!(s.total_ns, 3_002_201_000);
    }
}
