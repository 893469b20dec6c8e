//! `Engine::append` on a real disk (`FileStorage` in a temp dir under
//! `SEALOG_BENCH_DIR`), one appender thread, for each durability policy and batch size.
//!
//! One iteration = one append request of `batch` events to one tenant (tenants take
//! turns), timed from submit until the engine acknowledges it: sequencing, framing,
//! hashing, the positional write, and per policy the fdatasync (`sync`: every request
//! waits for its own), a background fdatasync every 10 ms (`interval_10ms`: the append
//! waits only for the write) or none (`none`). Events are prepared before timing and
//! cloned into each request outside the timed part. Each policy gets a fresh engine
//! (default 256 MiB segments), shared by its three batch sizes, so later runs may
//! include segment rolls. Throughput is in events.
#![allow(clippy::unwrap_used)] // bench code, like tests: a failed append should panic

use std::cell::Cell;
use std::time::Duration;

use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use sealog_benches::{open_engine, temp_dir, EventPool};
use sealog_engine::limits::SEGMENT_BYTES_DEFAULT;
use sealog_engine::Durability;

const BATCHES: [usize; 3] = [1, 100, 1000];
/// Distinct prepared events the requests cycle through (~1,000 per tenant).
const POOL_EVENTS: usize = 20_000;

fn append(c: &mut Criterion) {
    let pool = EventPool::new(POOL_EVENTS);
    let policies = [
        ("sync", Durability::Sync),
        ("interval_10ms", Durability::Interval { ms: 10 }),
        ("none", Durability::None),
    ];
    for (name, durability) in policies {
        let dir = temp_dir();
        let engine = open_engine(dir.path(), durability, SEGMENT_BYTES_DEFAULT);
        let mut g = c.benchmark_group(format!("append_{name}"));
        // Iterations take 10 µs to tens of ms: flat sampling keeps the slow ones short.
        g.sampling_mode(SamplingMode::Flat);
        let request = Cell::new(0usize);
        for batch in BATCHES {
            g.throughput(Throughput::Elements(batch as u64));
            g.bench_function(BenchmarkId::new("batch", batch), |b| {
                b.iter_batched(
                    || {
                        let r = request.get();
                        request.set(r + 1);
                        pool.request(r, batch)
                    },
                    |(tenant, events)| engine.append(&tenant, events).unwrap(),
                    BatchSize::SmallInput,
                )
            });
        }
        g.finish();
        let stats = engine.stats();
        eprintln!(
            "append_{name}: {} events appended, {:.0} MiB in {} segments",
            stats.visible_lsn.0,
            stats.log_bytes as f64 / 1048576.0,
            stats.segments
        );
        engine.close();
    }
}

criterion_group! {
    name = benches;
    // fdatasync takes 0.1–4 ms here: 10 samples of 4 s per id keep the file to ~1 min.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = append
}
criterion_main!(benches);
