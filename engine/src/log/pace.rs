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
use crate::types::Lsn;

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

    /// Paces the next read, of at most `batch` events from `next` (which `readable`,
    /// the highest LSN the follower may read, has reached): sleeps out the rest of the
    /// gap since the previous read, unless a full batch is waiting or `hurry` (the
    /// follower is stopping). Returns the read's end (exclusive), from `readable` asked
    /// again after the pause, so what arrived during it joins this read.
    pub fn next_read(
        &mut self,
        next: Lsn,
        batch: u64,
        hurry: bool,
        readable: impl Fn() -> Lsn,
    ) -> Lsn {
        let behind = hurry || (readable().0 + 1).saturating_sub(next.0) >= batch;
        let wait = self.wait(Instant::now(), behind);
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        self.last = Some(Instant::now());
        Lsn((readable().0 + 1).min(next.0 + batch))
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
    fn a_read_takes_what_arrived_up_to_a_batch() {
        let mut pace = ReadPace::new(Duration::from_secs(3600));
        // `readable` answers in turn: before the pause, then after it.
        let answers = std::cell::RefCell::new(vec![6, 9, 20, 30, 12].into_iter());
        let ask = || Lsn(answers.borrow_mut().next().unwrap());
        // The first read does not wait; what arrived meanwhile (up to 9) joins it.
        assert_eq!(pace.next_read(Lsn(3), 100, false, ask), Lsn(10));
        // A full batch waiting does not wait out the hour-long gap; the read is one batch.
        assert_eq!(pace.next_read(Lsn(10), 4, false, ask), Lsn(14));
        // Nor does a follower in a hurry (which need not ask how much is waiting).
        assert_eq!(pace.next_read(Lsn(11), 100, true, ask), Lsn(13));
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
