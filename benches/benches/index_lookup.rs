//! Point reads through the indexes: `get_by_id`, `get_by_seq` and `get_by_lsn` of
//! random existing events, separately for events in sealed segments (index file
//! mmap'd, bytes mmap'd) and in the active segment (index in memory, bytes in the
//! recovered buffers).
//!
//! The log: `SEALOG_BENCH_EVENTS` (default 100,000) generated events in 16 MiB
//! segments, appended, closed and reopened, so every segment but the last is sealed
//! with its index file. Every read decodes and CRC-checks the frame and recomputes the
//! body's SHA-256. The page cache is warm (the log was just written). One iteration is
//! one lookup; keys cycle through `KEYS` events drawn with a fixed seed.
#![allow(clippy::unwrap_used)] // bench code, like tests: a failed read should panic

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sealog_benches::{build_log, log_events, lookup_keys, LookupKey, LOG_SEGMENT_BYTES};
use sealog_engine::Engine;

/// Distinct events looked up per case (cycled).
const KEYS: usize = 4096;

type Lookup = fn(&Engine, &LookupKey);

fn by_id(engine: &Engine, k: &LookupKey) {
    let ev = engine.get_by_id(&k.event.id).unwrap().unwrap();
    assert_eq!(ev.lsn, k.event.lsn);
}

fn by_seq(engine: &Engine, k: &LookupKey) {
    let ev = engine.get_by_seq(&k.tenant, k.event.seq).unwrap().unwrap();
    assert_eq!(ev.lsn, k.event.lsn);
}

fn by_lsn(engine: &Engine, k: &LookupKey) {
    let ev = engine.get_by_lsn(k.event.lsn).unwrap().unwrap();
    assert_eq!(ev.seq, k.event.seq);
}

fn lookups(c: &mut Criterion) {
    let log = build_log(log_events(), LOG_SEGMENT_BYTES);
    let engine = &log.engine;
    let active = log.active_first_lsn.0;
    let mut places = Vec::new();
    if active > 1 {
        places.push(("sealed", lookup_keys(engine, 1..active, KEYS)));
    } else {
        eprintln!("index_lookup: no sealed segment (log too small); only the active one");
    }
    places.push(("active", lookup_keys(engine, active..log.events + 1, KEYS)));
    let cases: [(&str, Lookup); 3] = [
        ("get_by_id", by_id),
        ("get_by_seq", by_seq),
        ("get_by_lsn", by_lsn),
    ];

    let mut g = c.benchmark_group("index_lookup");
    g.throughput(Throughput::Elements(1));
    for (name, lookup) in cases {
        for (place, keys) in &places {
            g.bench_function(BenchmarkId::new(name, place), |b| {
                let mut i = 0;
                b.iter(|| {
                    lookup(engine, &keys[i % keys.len()]);
                    i += 1;
                })
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // Short runs keep the whole suite within minutes; pass --measurement-time to raise.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = lookups
}
criterion_main!(benches);
