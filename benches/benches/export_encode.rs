//! The export encoders (`export_encode/{ndjson, json, csv, cef, leef1, leef2,
//! syslog_json, syslog_cef}`): 1,000 generated events with text (as stored: canonical
//! bodies with server fields), encoded into one reused buffer. Throughput is events;
//! the bytes written per event are printed once. Reading from the log is `scan`'s
//! subject; the HTTP export's figures are in docs/BENCHMARKS.md.
#![allow(clippy::unwrap_used)] // bench code, like tests

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sealog_benches::{body_of, generated, prepare};
use sealog_engine::export::{
    CefEncoder, CsvEncoder, Encoder, ExportEvent, JsonArrayEncoder, LeefEncoder, LeefVersion,
    NdjsonEncoder, SyslogEncoder, SyslogOptions, SyslogPayload,
};

const EVENTS: usize = 1_000;
const HASH: [u8; 32] = [0x5a; 32];

fn encoders() -> Vec<(&'static str, Box<dyn Encoder>)> {
    let syslog = |payload| {
        Box::new(SyslogEncoder::new(SyslogOptions {
            payload,
            hostname: "bench-host".into(),
            ..SyslogOptions::default()
        })) as Box<dyn Encoder>
    };
    vec![
        ("ndjson", Box::new(NdjsonEncoder)),
        ("json", Box::new(JsonArrayEncoder)),
        ("csv", Box::new(CsvEncoder)),
        ("cef", Box::new(CefEncoder)),
        (
            "leef1",
            Box::new(LeefEncoder {
                version: LeefVersion::V1,
            }),
        ),
        (
            "leef2",
            Box::new(LeefEncoder {
                version: LeefVersion::V2,
            }),
        ),
        ("syslog_json", syslog(SyslogPayload::Json)),
        ("syslog_cef", syslog(SyslogPayload::Cef)),
    ]
}

fn encode(c: &mut Criterion) {
    let bodies: Vec<Vec<u8>> = generated(EVENTS, true)
        .iter()
        .map(|g| body_of(&prepare(&g.json), "acme"))
        .collect();
    let events: Vec<ExportEvent<'_>> = bodies
        .iter()
        .map(|body| ExportEvent {
            body,
            hash: &HASH,
            overlay: None,
            created_at_us: 1_735_689_600_123_456,
            seq: 12_345,
            tenant: "acme",
        })
        .collect();
    let mut g = c.benchmark_group("export_encode");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(EVENTS as u64));
    let mut out = Vec::with_capacity(4 << 20);
    for (name, mut encoder) in encoders() {
        out.clear();
        for ev in &events {
            encoder.record(ev, &mut out).unwrap();
        }
        eprintln!(
            "export_encode/{name}: {} bytes per event",
            out.len() / EVENTS
        );
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                for ev in &events {
                    encoder.record(ev, &mut out).unwrap();
                }
                out.len()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
