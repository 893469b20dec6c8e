//! Bulk reads: `scan_time` over a narrow and a whole-log time window (forward and
//! backward, owned events, CRC-checked, counted), `visit` of the whole log (borrowed
//! events, CRC only) and `Engine::verify` of the whole log (every CRC, SHA-256 and
//! chain link, on all cores).
//!
//! The log is the one `index_lookup` builds (`SEALOG_BENCH_EVENTS`, default 100,000
//! events, 16 MiB segments, closed and reopened). The engine stamps `created_at` with
//! the wall clock, so the built log spans seconds, not a day: the `hour` window is the
//! slice of time holding the 12th of 24 equal slices of the log's events (what one
//! hour of a day of steady traffic selects: 1/24 of the events, one or two segments),
//! and the `day` window is the whole log. Throughput is events returned.
#![allow(clippy::unwrap_used)] // bench code, like tests: a damaged event should panic

use std::ops::ControlFlow;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use sealog_benches::{build_log, log_events, read, LOG_SEGMENT_BYTES};
use sealog_engine::{Engine, Lsn, ScanDirection};

/// Counts the events `scan_time` returns, failing on any damaged one.
fn count_time(engine: &Engine, window: (i64, i64), direction: ScanDirection) -> u64 {
    let mut n = 0;
    for ev in engine.scan_time(window.0, window.1, direction, false) {
        ev.unwrap();
        n += 1;
    }
    n
}

fn scans(c: &mut Criterion) {
    let log = build_log(log_events(), LOG_SEGMENT_BYTES);
    let engine = &log.engine;
    let n = log.events;
    let at = |lsn: u64| read(engine, Lsn(lsn.clamp(1, n))).created_at_us;
    let windows = [
        ("hour", (at(n * 11 / 24 + 1), at(n * 12 / 24 + 1))),
        ("day", (at(1), at(n) + 1)),
    ];

    let mut g = c.benchmark_group("scan");
    // Iterations take milliseconds to a fraction of a second.
    g.sampling_mode(SamplingMode::Flat);
    for (name, window) in windows {
        let expected = count_time(engine, window, ScanDirection::Forward);
        eprintln!(
            "scan_time/{name}: {expected} events in {:.3} s of created_at",
            (window.1 - window.0) as f64 / 1e6
        );
        g.throughput(Throughput::Elements(expected));
        for (dir_name, direction) in [
            ("forward", ScanDirection::Forward),
            ("backward", ScanDirection::Backward),
        ] {
            let id = BenchmarkId::new(format!("scan_time/{name}"), dir_name);
            g.bench_function(id, |b| {
                b.iter(|| assert_eq!(count_time(engine, window, direction), expected))
            });
        }
    }

    g.throughput(Throughput::Elements(n));
    g.bench_function("visit/all", |b| {
        b.iter(|| {
            let mut seen = 0;
            engine.visit(Lsn(1)..Lsn(u64::MAX), ScanDirection::Forward, |ev| {
                ev.unwrap();
                seen += 1;
                ControlFlow::<()>::Continue(())
            });
            assert_eq!(seen, n);
        })
    });
    g.bench_function("verify/all", |b| {
        b.iter(|| {
            let report = engine.verify(Lsn(1)..Lsn(u64::MAX));
            assert!(report.faults.is_empty(), "faults: {:?}", report.faults);
            assert_eq!(report.events, n);
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // A whole-log verify takes ~0.1 s per 100k events: 10 samples of 4 s per id.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = scans
}
criterion_main!(benches);
