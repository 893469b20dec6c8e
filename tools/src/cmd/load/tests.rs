//! `sealog load` against a stand-in server: a short run, throttled and not, with
//! queries, tenants and errors. Counts are checked, never timings.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::Method;

use super::command::{drive, measured, runtime};
use super::pool::Pool;
use super::report::{line, RunInfo};
use super::schedule::{request_interval, Schedule};
use super::worker::{tenant_headers, Plan};
use crate::client::stand_in::{reply, StandIn};
use crate::client::Endpoint;

fn plan(batch: usize, query_pct: u8, tenants: usize, interval: Option<Duration>) -> Arc<Plan> {
    Arc::new(Plan {
        pool: Pool::generate(50, batch, 7, false),
        schedule: Schedule::new(
            Instant::now(),
            Duration::from_millis(100),
            Duration::from_millis(400),
            interval,
        ),
        tenants: tenant_headers(tenants),
        query_pct,
        seed: 7,
        next: AtomicU64::new(0),
        errors_shown: AtomicU64::new(0),
    })
}

#[test]
fn unthrottled_single_events_and_queries() {
    // `--threads 1`, the default: the stand-in and the connections share one thread.
    let rt = runtime(1).unwrap();
    let server = rt.block_on(StandIn::start(|_, seen| match seen.method {
        Method::POST => reply(201, r#"{"id":"x","seq":1}"#, &[]),
        _ => reply(200, r#"{"audit_logs":[],"total":0}"#, &[]),
    }));
    let endpoint = Arc::new(Endpoint::parse(&server.url, "tok").unwrap());
    let plan = plan(1, 30, 3, None);
    let stats = rt
        .block_on(drive(endpoint, plan.clone(), 4, Duration::from_secs(5)))
        .unwrap();
    assert!(stats.requests > 0);
    assert_eq!(stats.errors, 0, "{:?}", stats.outcomes);
    assert_eq!(stats.events, stats.outcomes["201"]);
    assert_eq!(stats.ingest.len(), stats.events);
    assert_eq!(stats.query.len(), stats.outcomes["query 200"]);
    let seen = server.seen();
    // Warm-up requests were sent but not counted.
    assert!(seen.len() as u64 >= stats.requests);
    for s in &seen {
        assert_eq!(s.header("authorization"), "Bearer tok");
        assert!(s.header("x-tenant-id").starts_with("load-"));
        match s.method {
            Method::POST => {
                assert_eq!(s.target, "/api/audit-logs");
                assert_eq!(s.header("content-type"), "application/json");
                serde_json::from_slice::<serde_json::Value>(&s.body).unwrap();
            }
            _ => assert!(s.target.starts_with("/api/audit-logs?limit=100&user_id=")),
        }
    }
    let run = RunInfo {
        concurrency: 4,
        batch: 1,
        query_pct: 30,
        measured: measured(&stats, &plan.schedule, Duration::from_millis(400)),
    };
    let l = line(&stats, &run, None);
    assert!(
        l.contains(" errors=0 ") && l.contains(" query_p99_ms="),
        "{l}"
    );
}

#[test]
fn throttled_batches_count_errors() {
    let rt = runtime(2).unwrap();
    // Every third request fails: the load goes on and counts them.
    let server = rt.block_on(StandIn::start(|n, _| match n % 3 {
        2 => reply(503, r#"{"detail":"busy"}"#, &[("retry-after", "1")]),
        _ => reply(201, r#"{"count":5}"#, &[]),
    }));
    let endpoint = Arc::new(Endpoint::parse(&server.url, "tok").unwrap());
    // 1,000 events/s in batches of 5: a request every 5 ms, due times 0..500 ms.
    let interval = request_interval(1000.0, 5, 0);
    let plan = plan(5, 0, 1, interval);
    let stats = rt
        .block_on(drive(endpoint, plan, 2, Duration::from_secs(5)))
        .unwrap();
    let seen = server.seen();
    assert!(
        seen.len() <= 100,
        "{} requests for 100 due times",
        seen.len()
    );
    assert!(
        stats.requests >= 1 && stats.requests <= 80,
        "{}",
        stats.requests
    );
    assert_eq!(
        stats.events,
        5 * stats.outcomes.get("201").copied().unwrap_or(0)
    );
    assert_eq!(
        stats.errors,
        stats.outcomes.get("503").copied().unwrap_or(0)
    );
    for s in &seen {
        assert_eq!(s.target, "/api/audit-logs/batch");
        assert_eq!(s.header("content-type"), "application/x-ndjson");
        assert_eq!(s.body.iter().filter(|&&b| b == b'\n').count(), 5);
        assert_eq!(s.header("x-tenant-id"), "");
    }
}

#[test]
fn a_down_server_is_counted_not_fatal() {
    let rt = runtime(2).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = Arc::new(Endpoint::parse(&format!("http://127.0.0.1:{port}"), "t").unwrap());
    let stats = rt
        .block_on(drive(
            endpoint,
            plan(1, 0, 1, None),
            2,
            Duration::from_secs(1),
        ))
        .unwrap();
    assert_eq!(stats.errors, stats.requests);
    assert_eq!(stats.events, 0);
    // The pause after a refused connect keeps this to a handful per connection.
    assert!(stats.requests < 40, "{}", stats.requests);
}
