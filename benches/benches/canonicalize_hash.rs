//! Ingest's CPU path, one stage at a time, over realistic events: `prepare_event`
//! (strict parse + validation + RFC 8785 canonicalization), `write_body` (the writer
//! completes the body with the server fields), `body_hash` (SHA-256 of the body), and
//! `server_fields` (scanning a stored body on read). Then prepare + complete + hash as
//! one step over a grid of event sizes.
//!
//! Each iteration of the `canonicalize_hash` group handles the whole pool of
//! `POOL_EVENTS` generated events (seed 42), so time per event = time / `POOL_EVENTS`.
#![allow(clippy::unwrap_used)] // bench code, like tests: a failed set-up should panic

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sealog_benches::{body_of, generated, prepare, server_fields, sized_events};
use sealog_engine::chain::body_hash;
use sealog_engine::event::{prepare_event, server_fields as stored_fields, PreparedEvent};

/// Events per iteration: enough to mix all 12 event types in their weights.
const POOL_EVENTS: usize = 100;
const TENANT: &str = "tenant_07";

fn stages(c: &mut Criterion) {
    let jsons: Vec<Vec<u8>> = generated(POOL_EVENTS, false)
        .into_iter()
        .map(|e| e.json)
        .collect();
    let prepared: Vec<PreparedEvent> = jsons.iter().map(|j| prepare(j)).collect();
    let bodies: Vec<Vec<u8>> = prepared.iter().map(|p| body_of(p, TENANT)).collect();
    let json_bytes: usize = jsons.iter().map(Vec::len).sum();
    let body_bytes: usize = bodies.iter().map(Vec::len).sum();
    eprintln!(
        "canonicalize_hash: {POOL_EVENTS} events per iteration, mean {} B json, {} B body",
        json_bytes / POOL_EVENTS,
        body_bytes / POOL_EVENTS
    );

    let mut g = c.benchmark_group("canonicalize_hash");

    g.throughput(Throughput::Bytes(json_bytes as u64));
    g.bench_function("prepare_event", |b| {
        b.iter(|| {
            for json in &jsons {
                black_box(prepare_event(black_box(json)).unwrap());
            }
        })
    });

    g.throughput(Throughput::Bytes(body_bytes as u64));
    let server = server_fields(TENANT);
    let mut out = Vec::with_capacity(64 * 1024);
    g.bench_function("write_body", |b| {
        b.iter(|| {
            for p in &prepared {
                out.clear();
                p.write_body(black_box(&server), &mut out);
                black_box(&out);
            }
        })
    });
    g.bench_function("body_hash", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(body_hash(black_box(body)));
            }
        })
    });
    g.bench_function("server_fields", |b| {
        b.iter(|| {
            for body in &bodies {
                black_box(stored_fields(black_box(body)).unwrap());
            }
        })
    });
    g.finish();
}

/// prepare + write_body + body_hash of one event, per size of the grid.
fn by_size(c: &mut Criterion) {
    let sized = sized_events();
    let mut g = c.benchmark_group("prepare_hash_by_size");
    let server = server_fields(TENANT);
    let mut out = Vec::with_capacity(64 * 1024);
    for (name, json) in sized.all() {
        let body_len = body_of(&prepare(json), TENANT).len();
        eprintln!(
            "prepare_hash_by_size/{name}: {} B json, {body_len} B body",
            json.len()
        );
        g.throughput(Throughput::Bytes(json.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), json, |b, json| {
            b.iter(|| {
                let p = prepare_event(black_box(json)).unwrap();
                out.clear();
                p.write_body(&server, &mut out);
                black_box(body_hash(&out))
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // Short runs keep the whole suite within minutes; pass --measurement-time to raise.
    // 4 s: 100 linear samples of a 100-event prepare_event iteration need ~3.6 s.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = stages, by_size
}
criterion_main!(benches);
