//! [`FailureLog`]: whether a background thread's failure, which it retries every
//! second, is worth logging again. A persistent failure (a full disk, say) is logged
//! when it starts and then once a minute, not sixty times.

use std::time::{Duration, Instant};

/// The same failure is logged again only after this long.
pub(crate) const FAILURE_RELOG_INTERVAL: Duration = Duration::from_secs(60);

/// The last failure logged, and when.
#[derive(Debug, Default)]
pub(crate) struct FailureLog {
    last: Option<(String, Instant)>,
}

impl FailureLog {
    /// Whether `failure` should be logged now; if so, remembers it.
    pub(crate) fn should_log(&mut self, failure: &str) -> bool {
        self.should_log_at(failure, Instant::now())
    }

    fn should_log_at(&mut self, failure: &str, now: Instant) -> bool {
        let repeat = self.last.as_ref().is_some_and(|(m, at)| {
            m == failure && now.saturating_duration_since(*at) < FAILURE_RELOG_INTERVAL
        });
        if !repeat {
            self.last = Some((failure.to_owned(), now));
        }
        !repeat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_failure_is_logged_once_a_minute_and_a_new_one_at_once() {
        let t0 = Instant::now();
        let mut log = FailureLog::default();
        assert!(log.should_log_at("disk full", t0));
        assert!(!log.should_log_at("disk full", t0 + Duration::from_secs(1)));
        assert!(!log.should_log_at("disk full", t0 + Duration::from_secs(59)));
        assert!(log.should_log_at("disk full", t0 + FAILURE_RELOG_INTERVAL));
        assert!(log.should_log_at("permission denied", t0 + Duration::from_secs(61)));
        assert!(log.should_log_at("disk full", t0 + Duration::from_secs(62)));
    }
}
