//! [`ReadPace`]: how often a thread that follows the log (the indexer, the Merkle
//! follower) reads what became visible.
//!
//! Every group commit publishes new events and wakes the followers. Under many small
//! commits (single-event POSTs: over a thousand fdatasyncs a second) that is a wake-up,
//! two context switches and a short read per commit and per follower, each taking a
//! core from the HTTP threads on a small machine. Neither follower gains from reading
//! so often: queries read the events past the index themselves (read-your-writes does
//! not wait for the indexer), and a checkpoint is signed at most once per interval
//! (1 s by default). So a follower that keeps up reads at most once per
//! [`FOLLOW_READ_GAP_MS`]; one that is behind (a full batch waits) reads again at once.

use std::time::{Duration, Instant};

use crate::limits::FOLLOW_READ_GAP_MS;

/// Paces one follower's reads; see the module doc.
#[derive(Debug)]
pub struct ReadPace {
    gap: Duration,
    last: Option<Instant>,
}

impl Default for ReadPace {
    fn default() -> Self {
        ReadPace::new(Duration::from_millis(FOLLOW_READ_GAP_MS))
    }
}

impl ReadPace {
    /// Reads at most once per `gap` while the follower keeps up.
    pub fn new(gap: Duration) -> Self {
        ReadPace { gap, last: None }
    }

    /// Call just before a read: sleeps out the rest of the gap since the previous read,
    /// unless `behind` (at least a full batch is waiting, or the follower is stopping).
    pub fn before_read(&mut self, behind: bool) {
        let wait = self.wait(Instant::now(), behind);
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        self.last = Some(Instant::now());
    }

    /// How long a read at `now` should wait.
    fn wait(&self, now: Instant, behind: bool) -> Duration {
        match self.last {
            Some(last) if !behind => self.gap.saturating_sub(now.saturating_duration_since(last)),
            _ => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_read_and_a_read_behind_do_not_wait() {
        let mut pace = ReadPace::new(Duration::from_millis(10));
        let now = Instant::now();
        assert_eq!(pace.wait(now, false), Duration::ZERO);
        pace.last = Some(now);
        assert_eq!(pace.wait(now, true), Duration::ZERO);
    }

    #[test]
    fn a_read_within_the_gap_waits_out_its_rest() {
        let mut pace = ReadPace::new(Duration::from_millis(10));
        let then = Instant::now();
        pace.last = Some(then);
        assert_eq!(
            pace.wait(then + Duration::from_millis(3), false),
            Duration::from_millis(7)
        );
        assert_eq!(
            pace.wait(then + Duration::from_millis(10), false),
            Duration::ZERO
        );
        assert_eq!(
            pace.wait(then + Duration::from_secs(5), false),
            Duration::ZERO
        );
    }
}
