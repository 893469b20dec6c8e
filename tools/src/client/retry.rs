//! [`RetryPolicy`]: when and after how long a request is sent again. Only answers that
//! mean "not now" (429, 503) and failed exchanges are retried; any other status is the
//! server's final word on that request.

use std::time::Duration;

use hyper::header::RETRY_AFTER;
use hyper::{HeaderMap, StatusCode};

/// Longest `Retry-After` honoured: a larger value is taken as this, so a misconfigured
/// server cannot park the tool for hours.
pub const RETRY_AFTER_MAX: Duration = Duration::from_secs(300);

/// Tries and back-off of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (default 8).
    pub tries_max: u32,
    /// Back-off after the first failure; it doubles after each further one (default 250 ms).
    pub delay_first: Duration,
    /// Largest back-off (default 30 s).
    pub delay_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            tries_max: 8,
            delay_first: Duration::from_millis(250),
            delay_max: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Whether a response with `status` is worth sending again.
    pub fn is_retryable(status: StatusCode) -> bool {
        status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
    }

    /// The wait after `failed` (≥ 1) failed tries: the server's `Retry-After` when it
    /// sent one, else exponential back-off scaled by `jitter` (0..1) into 50–100 %, so
    /// that concurrent senders do not retry in lockstep.
    pub fn delay(&self, failed: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(RETRY_AFTER_MAX);
        }
        let doublings = failed.saturating_sub(1).min(30);
        let full = self
            .delay_first
            .saturating_mul(1u32 << doublings)
            .min(self.delay_max);
        full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// The `Retry-After` of a response, when given in seconds (what sealogd sends; the
/// HTTP-date form falls back to back-off).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let ms = |failed| p.delay(failed, None, 1.0).as_millis();
        assert_eq!([ms(1), ms(2), ms(3), ms(4)], [250, 500, 1000, 2000]);
        assert_eq!(ms(8), 30_000);
        assert_eq!(ms(u32::MAX), 30_000);
        assert_eq!(p.delay(1, None, 0.0).as_millis(), 125);
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let p = RetryPolicy::default();
        let d = |s| p.delay(5, Some(Duration::from_secs(s)), 0.3);
        assert_eq!(d(0), Duration::ZERO);
        assert_eq!(d(3), Duration::from_secs(3));
        assert_eq!(d(86_400), RETRY_AFTER_MAX);
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn only_not_now_statuses_are_retried() {
        assert!(RetryPolicy::is_retryable(StatusCode::TOO_MANY_REQUESTS));
        assert!(RetryPolicy::is_retryable(StatusCode::SERVICE_UNAVAILABLE));
        for s in [400, 401, 403, 404, 413, 422, 500, 502, 504] {
            assert!(!RetryPolicy::is_retryable(StatusCode::from_u16(s).unwrap()));
        }
    }
}
