//! One connection's loop: claim the next request number, wait until it is due (when
//! throttled), send it, measure it. Which body, tenant and kind a request gets depends
//! only on its number, so a run is the same whatever the interleaving of connections.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};

use super::pool::Pool;
use super::report::{record, Stats};
use super::schedule::Schedule;
use crate::client::{ClientError, Conn, Endpoint, Reply};

/// Error answers printed in full; later ones are only counted.
const ERRORS_SHOWN_MAX: u64 = 5;
/// Longest slice of an error body printed.
const QUOTE_CHARS_MAX: usize = 300;
/// Pause after a failed connect, so a server that is down is not hammered in a loop.
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

/// Everything the connections share.
#[derive(Debug)]
pub struct Plan {
    pub pool: Pool,
    pub schedule: Schedule,
    /// `X-Tenant-Id` values to rotate through; empty: none sent.
    pub tenants: Vec<HeaderValue>,
    /// Percentage of requests that are queries.
    pub query_pct: u8,
    /// Decides which requests are queries and which user they ask for.
    pub seed: u64,
    /// The next request number to claim.
    pub next: AtomicU64,
    pub errors_shown: AtomicU64,
}

/// The `X-Tenant-Id` values for `count` tenants: none for one (the token's own
/// tenant), else `load-0` … `load-{count-1}`.
pub fn tenant_headers(count: usize) -> Vec<HeaderValue> {
    if count <= 1 {
        return Vec::new();
    }
    (0..count)
        .map(|k| {
            HeaderValue::try_from(format!("load-{k}"))
                .unwrap_or_else(|e| unreachable!("tenant names are plain ASCII: {e}"))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ingest,
    Query,
}

impl Plan {
    fn kind(&self, k: u64) -> Kind {
        if splitmix64(self.seed ^ k) % 100 < u64::from(self.query_pct) {
            Kind::Query
        } else {
            Kind::Ingest
        }
    }

    /// Request `k` of `kind`.
    fn request(&self, endpoint: &Endpoint, k: u64, kind: Kind) -> Request<Full<Bytes>> {
        let mut req = match kind {
            Kind::Ingest if self.pool.batch > 1 => endpoint
                .request(Method::POST, "/api/audit-logs/batch")
                .header(CONTENT_TYPE, "application/x-ndjson"),
            Kind::Ingest => endpoint
                .request(Method::POST, "/api/audit-logs")
                .header(CONTENT_TYPE, "application/json"),
            Kind::Query => {
                let user = &self.pool.users
                    [(splitmix64(!k ^ self.seed) % self.pool.users.len() as u64) as usize];
                endpoint.request(
                    Method::GET,
                    &format!("/api/audit-logs?limit=100&user_id={user}"),
                )
            }
        };
        if !self.tenants.is_empty() {
            let tenant = self.tenants[(k % self.tenants.len() as u64) as usize].clone();
            req = req.header(HeaderName::from_static("x-tenant-id"), tenant);
        }
        let body = match kind {
            Kind::Ingest => self.pool.bodies[(k % self.pool.bodies.len() as u64) as usize].clone(),
            Kind::Query => Bytes::new(),
        };
        // Paths are constants, user ids UUIDs and tenants validated: the request is valid.
        req.body(Full::new(body))
            .unwrap_or_else(|e| unreachable!("bad load request: {e}"))
    }

    fn show_error(&self, k: u64, kind: Kind, what: impl FnOnce() -> String) {
        if self.errors_shown.fetch_add(1, Ordering::Relaxed) < ERRORS_SHOWN_MAX {
            eprintln!("request {k} ({kind:?}): {}", what());
        }
    }
}

/// Sends requests on `conn` until the schedule ends; returns what it measured.
pub async fn work(mut conn: Conn, plan: &Plan) -> Stats {
    let mut stats = Stats::default();
    let schedule = &plan.schedule;
    loop {
        let k = plan.next.fetch_add(1, Ordering::Relaxed);
        let due = if schedule.throttled() {
            let Some(at) = schedule.due(k) else { break };
            tokio::time::sleep_until(at.into()).await;
            Some(at)
        } else {
            None
        };
        let sent = Instant::now();
        if sent >= schedule.end {
            break;
        }
        let kind = plan.kind(k);
        let result = conn.send(plan.request(conn.endpoint(), k, kind)).await;
        let done = Instant::now();
        let sample = Sample {
            k,
            kind,
            measured: schedule.measured(due.unwrap_or(sent)),
            latency: done - schedule.latency_from(due, sent),
            done,
        };
        if tally(&mut stats, plan, sample, result) {
            tokio::time::sleep(RECONNECT_PAUSE).await;
        }
    }
    stats
}

/// One request's facts, for [`tally`].
#[derive(Debug, Clone, Copy)]
struct Sample {
    k: u64,
    kind: Kind,
    measured: bool,
    latency: Duration,
    done: Instant,
}

/// Counts one answer (or failure); true when the connection could not be made.
fn tally(stats: &mut Stats, plan: &Plan, s: Sample, result: Result<Reply, ClientError>) -> bool {
    let reply = match result {
        Ok(reply) => reply,
        Err(e) => {
            let refused = matches!(e, ClientError::Connect { .. });
            if s.measured {
                stats.count(&outcome(s.kind, failure_name(&e)), false, s.done);
            }
            plan.show_error(s.k, s.kind, || format!("{:#}", anyhow::Error::new(e)));
            return refused;
        }
    };
    let expected = match s.kind {
        Kind::Ingest => StatusCode::CREATED,
        Kind::Query => StatusCode::OK,
    };
    let ok = reply.status == expected;
    if !ok {
        plan.show_error(s.k, s.kind, || {
            format!("HTTP {}: {}", reply.status, quote(&reply.body))
        });
    }
    if s.measured {
        match s.kind {
            Kind::Ingest if ok => {
                record(&mut stats.ingest, s.latency);
                stats.events += plan.pool.batch as u64;
            }
            Kind::Query if ok => record(&mut stats.query, s.latency),
            _ => {}
        }
        stats.count(&outcome(s.kind, reply.status.as_str()), ok, s.done);
    }
    false
}

/// The outcome's name in the report: `201`, `timeout`, `query 200`, …
fn outcome(kind: Kind, what: &str) -> String {
    match kind {
        Kind::Ingest => what.to_owned(),
        Kind::Query => format!("query {what}"),
    }
}

fn failure_name(e: &ClientError) -> &'static str {
    match e {
        ClientError::Connect { .. } => "no-connection",
        ClientError::Timeout { .. } => "timeout",
        ClientError::BodyTooLarge { .. } => "body-too-large",
        _ => "connection-error",
    }
}

fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(QUOTE_CHARS_MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.into_owned(),
    }
}

/// A well-mixed 64-bit hash (SplitMix64's finalizer): request numbers to choices.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn plan(query_pct: u8, tenants: usize, batch: usize) -> Plan {
        let t0 = Instant::now();
        Plan {
            pool: Pool::generate(4 * batch, batch, 42, false),
            schedule: Schedule::new(t0, Duration::ZERO, Duration::from_secs(1), None),
            tenants: tenant_headers(tenants),
            query_pct,
            seed: 42,
            next: AtomicU64::new(0),
            errors_shown: AtomicU64::new(0),
        }
    }

    #[test]
    fn query_share_follows_the_percentage() {
        for pct in [0u8, 10, 50, 100] {
            let p = plan(pct, 1, 1);
            let queries = (0..10_000).filter(|&k| p.kind(k) == Kind::Query).count();
            let want = usize::from(pct) * 100;
            assert!(queries.abs_diff(want) <= 300, "{pct} %: {queries} queries");
        }
    }

    #[test]
    fn requests_rotate_tenants_and_bodies() {
        let endpoint = Arc::new(Endpoint::parse("http://127.0.0.1:1", "t").unwrap());
        let p = plan(0, 3, 1);
        let r = p.request(&endpoint, 4, Kind::Ingest);
        assert_eq!(r.uri(), "/api/audit-logs");
        assert_eq!(r.headers()["x-tenant-id"], "load-1");
        assert_eq!(r.headers()["content-type"], "application/json");
        let p = plan(0, 1, 5);
        let r = p.request(&endpoint, 6, Kind::Ingest);
        assert_eq!(r.uri(), "/api/audit-logs/batch");
        assert_eq!(r.headers()["content-type"], "application/x-ndjson");
        assert!(r.headers().get("x-tenant-id").is_none());
        let r = p.request(&endpoint, 6, Kind::Query);
        assert_eq!(r.method(), Method::GET);
        let uri = r.uri().to_string();
        let user = uri
            .strip_prefix("/api/audit-logs?limit=100&user_id=")
            .unwrap();
        assert!(p.pool.users.iter().any(|u| u == user), "{uri}");
    }
}
