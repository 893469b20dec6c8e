//! Record frames: `frame::encode_event` (record header, tenant, body, SHA-256 of the
//! body, CRC-32 of the frame) and `frame::decode` (length and CRC check, record header).
//!
//! `encode_event/write_body` completes each prepared event into the frame as the
//! sequencer does; `encode_event/copy_body` copies a finished body instead, leaving
//! framing + SHA-256 + CRC. `decode` walks a buffer of the encoded frames. Each
//! iteration of the `frame_encode` group handles `POOL_EVENTS` typical generated events;
//! `frame_by_size` does one frame per iteration over the size grid.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sealog_benches::{body_of, generated, prepare, server_fields, sized_events};
use sealog_engine::event::PreparedEvent;
use sealog_engine::frame::{self, Decoded, EventHeader, Record, FLAG_REQUEST_END};
use sealog_engine::{Lsn, Seq};

const POOL_EVENTS: usize = 100;
const TENANT: &str = "tenant_07";

fn header(lsn: u64) -> EventHeader {
    EventHeader {
        flags: FLAG_REQUEST_END,
        lsn: Lsn(lsn),
        durable_lsn: Lsn(lsn.saturating_sub(100)),
        seq: Seq(lsn / 20 + 1),
        created_at_us: 1_735_689_600_000_000 + lsn as i64 * 1000,
        id: *server_fields(TENANT).id.as_bytes(),
    }
}

/// Encodes one frame per body (copied) into one buffer.
fn encode_all(bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        frame::encode_event(&mut out, &header(i as u64 + 1), TENANT, |o| {
            o.extend_from_slice(body)
        });
    }
    out
}

/// Decodes every frame of `buf`; returns how many there were.
fn decode_all(buf: &[u8]) -> usize {
    let (mut at, mut n) = (0, 0);
    while at < buf.len() {
        match frame::decode(buf, at) {
            Decoded::Frame(Record::Event(ev), next) => {
                black_box(ev.body);
                at = next;
                n += 1;
            }
            other => panic!("frame at {at} did not decode: {other:?}"),
        }
    }
    n
}

fn typical(c: &mut Criterion) {
    let prepared: Vec<PreparedEvent> = generated(POOL_EVENTS, false)
        .iter()
        .map(|e| prepare(&e.json))
        .collect();
    let bodies: Vec<Vec<u8>> = prepared.iter().map(|p| body_of(p, TENANT)).collect();
    let frames = encode_all(&bodies);
    assert_eq!(decode_all(&frames), POOL_EVENTS);
    eprintln!(
        "frame_encode: {POOL_EVENTS} frames per iteration, mean {} B frame",
        frames.len() / POOL_EVENTS
    );

    let mut g = c.benchmark_group("frame_encode");
    g.throughput(Throughput::Bytes(frames.len() as u64));
    let server = server_fields(TENANT);
    let mut out = Vec::with_capacity(frames.len() * 2);
    g.bench_function("encode_event/write_body", |b| {
        b.iter(|| {
            out.clear();
            for (i, p) in prepared.iter().enumerate() {
                let h = header(i as u64 + 1);
                black_box(frame::encode_event(&mut out, &h, TENANT, |o| {
                    p.write_body(&server, o)
                }));
            }
            black_box(&out);
        })
    });
    g.bench_function("encode_event/copy_body", |b| {
        b.iter(|| {
            out.clear();
            for (i, body) in bodies.iter().enumerate() {
                let h = header(i as u64 + 1);
                black_box(frame::encode_event(&mut out, &h, TENANT, |o| {
                    o.extend_from_slice(black_box(body))
                }));
            }
            black_box(&out);
        })
    });
    g.bench_function("decode", |b| b.iter(|| decode_all(black_box(&frames))));
    g.finish();
}

fn by_size(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame_by_size");
    let mut out = Vec::with_capacity(64 * 1024);
    for (name, json) in sized_events().all() {
        let body = body_of(&prepare(json), TENANT);
        let frame = encode_all(std::slice::from_ref(&body));
        eprintln!("frame_by_size/{name}: {} B frame", frame.len());
        g.throughput(Throughput::Bytes(frame.len() as u64));
        g.bench_with_input(BenchmarkId::new("encode", name), &body, |b, body| {
            b.iter(|| {
                out.clear();
                black_box(frame::encode_event(&mut out, &header(1), TENANT, |o| {
                    o.extend_from_slice(black_box(body))
                }))
            })
        });
        g.bench_with_input(BenchmarkId::new("decode", name), &frame, |b, frame| {
            b.iter(|| decode_all(black_box(frame)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // Short runs keep the whole suite within minutes; pass --measurement-time to raise.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = typical, by_size
}
criterion_main!(benches);
