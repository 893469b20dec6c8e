//! The export rate limit: per key, at most [`EXPORT_RATE_REQUESTS`] requests in any
//! [`EXPORT_RATE_WINDOW`] (a sliding window, one bucket for every export endpoint).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::limits::{EXPORT_RATE_KEYS_MAX, EXPORT_RATE_REQUESTS, EXPORT_RATE_WINDOW};

/// Recent export requests per key id.
#[derive(Debug, Default)]
pub struct ExportRate {
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl ExportRate {
    /// Counts one request of `key` at `now`; when the key is over its rate, the whole
    /// seconds until it may ask again.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut recent = self.recent.lock();
        if recent.len() >= EXPORT_RATE_KEYS_MAX && !recent.contains_key(key) {
            recent.retain(|_, times| times.back().is_some_and(|t| now - *t < EXPORT_RATE_WINDOW));
        }
        let times = recent.entry(key.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= EXPORT_RATE_WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= EXPORT_RATE_REQUESTS {
            let oldest = times.front().copied().unwrap_or(now);
            let wait = EXPORT_RATE_WINDOW.saturating_sub(now.duration_since(oldest));
            return Err(whole_seconds(wait));
        }
        times.push_back(now);
        Ok(())
    }
}

/// Rounded up, at least 1.
fn whole_seconds(d: Duration) -> u64 {
    (d.as_millis().div_ceil(1000) as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_request_in_a_minute_waits_for_the_first_to_expire() {
        let rate = ExportRate::default();
        let t0 = Instant::now();
        for i in 0..EXPORT_RATE_REQUESTS as u64 {
            assert_eq!(rate.check("k", t0 + Duration::from_secs(i)), Ok(()));
        }
        assert_eq!(rate.check("k", t0 + Duration::from_secs(15)), Err(45));
        assert_eq!(rate.check("other", t0 + Duration::from_secs(15)), Ok(()));
        assert_eq!(rate.check("k", t0 + Duration::from_secs(60)), Ok(()));
    }
}
