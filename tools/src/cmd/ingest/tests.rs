//! `sealog ingest` against a stand-in server: batching, keys, retries, refusals, report.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;

use super::command::{default_key_prefix, ingest, report_line, summary};
use super::send::{SendConfig, Tally};
use crate::client::stand_in::{reply, StandIn};
use crate::client::{Endpoint, RetryPolicy};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn config(url: &str, concurrency: usize, tenant: Option<&str>) -> Arc<SendConfig> {
    Arc::new(SendConfig {
        endpoint: Arc::new(Endpoint::parse(url, "tok").unwrap()),
        tenant: tenant.map(|t| t.parse().unwrap()),
        key_prefix: "run1".to_owned(),
        concurrency,
        timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            tries_max: 4,
            delay_first: Duration::from_millis(1),
            delay_max: Duration::from_millis(5),
        },
    })
}

/// `n` events, one per line, with a blank line after the 5th.
fn events(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        out += &format!("{{\"event_type\":\"t.{i}\"}}\n");
        if i == 4 {
            out += "\n";
        }
    }
    out
}

const STORED: &str = r#"{"count":1,"first_seq":1,"last_seq":1,"ids":[]}"#;

#[test]
fn sends_every_batch_and_retries_503_with_the_same_key() {
    let rt = runtime();
    let server = rt.block_on(StandIn::start(|n, _| match n {
        0 => reply(503, r#"{"detail":"busy"}"#, &[("retry-after", "0")]),
        _ => reply(201, STORED, &[]),
    }));
    let tally = ingest(
        &rt,
        std::io::Cursor::new(events(25)),
        10,
        config(&server.url, 1, Some("acme")),
        ProgressBar::hidden(),
    )
    .unwrap();
    assert_eq!(
        (tally.events, tally.batches, tally.failed_events),
        (25, 3, 0)
    );
    let seen = server.seen();
    let keys: Vec<&str> = seen.iter().map(|s| s.header("idempotency-key")).collect();
    assert_eq!(keys, ["run1-0", "run1-0", "run1-1", "run1-2"]);
    assert_eq!(seen[0].body, seen[1].body);
    for s in &seen {
        assert_eq!(s.method, hyper::Method::POST);
        assert_eq!(s.target, "/api/audit-logs/batch");
        assert_eq!(s.header("content-type"), "application/x-ndjson");
        assert_eq!(s.header("authorization"), "Bearer tok");
        assert_eq!(s.header("x-tenant-id"), "acme");
    }
    let lines: usize = seen[1..]
        .iter()
        .map(|s| s.body.split(|&b| b == b'\n').count() - 1)
        .sum();
    assert_eq!(lines, 25);
}

#[test]
fn a_refused_batch_names_file_lines_and_the_rest_goes_on() {
    let rt = runtime();
    let server = rt.block_on(StandIn::start(|_, seen| {
        if seen.header("idempotency-key") == "run1-0" {
            let detail = r#"{"detail":[{"loc":["body",6,"ip_address"],"msg":"bad ip","type":"value_error","input":"x"}]}"#;
            reply(422, detail, &[])
        } else {
            reply(201, STORED, &[("idempotent-replayed", "true")])
        }
    }));
    let tally = ingest(
        &rt,
        std::io::Cursor::new(events(12)),
        10,
        config(&server.url, 3, None),
        ProgressBar::hidden(),
    )
    .unwrap();
    // Batch 0 holds events 0..10: item 6 is event 6, on line 8 (after the blank line).
    assert_eq!(
        tally,
        Tally {
            events: 2,
            batches: 1,
            replayed_events: 2,
            failed_events: 10,
            failed_batches: 1,
            messages: 1,
            ..Tally::default()
        }
    );
    assert!(server
        .seen()
        .iter()
        .all(|s| s.header("x-tenant-id").is_empty()));
    assert_eq!(
        super::failure::describe(
            hyper::StatusCode::UNPROCESSABLE_ENTITY,
            br#"{"detail":[{"loc":["body",6,"ip_address"],"msg":"bad ip"}]}"#,
            &[1, 2, 3, 4, 5, 7, 8, 9, 10, 11],
        ),
        ["line 8: ip_address: bad ip"]
    );
}

#[test]
fn unauthorized_stops_the_run() {
    let rt = runtime();
    let server = rt.block_on(StandIn::start(|_, _| {
        reply(401, r#"{"detail":"unknown token"}"#, &[])
    }));
    let tally = ingest(
        &rt,
        std::io::Cursor::new(events(5000)),
        10,
        config(&server.url, 2, None),
        ProgressBar::hidden(),
    )
    .unwrap();
    assert!(tally.stopped.as_deref().unwrap().contains("401"));
    // Stopped after the batches already in flight, not after all 500.
    assert!(server.seen().len() < 20, "{} requests", server.seen().len());
    assert_eq!(tally.events, 0);
}

#[test]
fn an_unreachable_server_is_given_up_on() {
    let rt = runtime();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tally = ingest(
        &rt,
        std::io::Cursor::new(events(30)),
        10,
        config(&format!("http://127.0.0.1:{port}"), 2, None),
        ProgressBar::hidden(),
    )
    .unwrap();
    let why = tally.stopped.unwrap();
    assert!(
        why.contains("gave up after 4 tries") && why.contains("cannot connect"),
        "{why}"
    );
    assert_eq!(tally.events, 0);
}

#[test]
fn key_prefix_and_report_line() {
    assert_eq!(
        default_key_prefix(Path::new("/data/my events.ndjson"), Some(1234), 0xbadf00d),
        "my_events.ndjson-1234-0badf00d"
    );
    assert_eq!(
        default_key_prefix(Path::new("-"), None, 1),
        "stdin-00000001"
    );
    let long = "x".repeat(300);
    assert_eq!(
        default_key_prefix(Path::new(&long), Some(1), 1).len(),
        64 + 11
    );
    let t = Tally {
        events: 1500,
        batches: 2,
        failed_events: 7,
        failed_batches: 1,
        too_long_lines: 1,
        ..Tally::default()
    };
    assert_eq!(
        report_line(&t, Duration::from_millis(1500)),
        "events=1500 batches=2 failed=7 elapsed_s=1.500 events_per_s=1000"
    );
    assert!(summary(&t, Duration::from_secs(1)).contains("not stored: 7 events"));
}
