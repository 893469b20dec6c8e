//! Recovery on arbitrary segment and index files, on the in-memory `FaultyStorage`.
//!
//! The input is split at `FILE_SEPARATOR` into `wal/…01.seg`, `wal/…01.idx`,
//! `wal/…02.seg` and `wal/…02.idx` (see `sealog_fuzz::split_files`). `Engine::open`
//! must return `Ok` or an `Err`, never panic (in any of its threads) nor read out of
//! bounds. When it opens, `verify`, a forward and a backward scan, point reads and one
//! append must not panic either; their errors are fine (damage is reported, never
//! repaired).
//!
//! The custom mutator repairs the checksums (CRCs, body hashes, seal digests) of half of
//! the mutated inputs, so that they get past the CRC checks (`sealog_fuzz::repair_files`).
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use sealog_engine::{Engine, Lsn, ScanDirection, Seq, TenantId};
use sealog_fuzz::{config, disk_with_files, repair_files};

fuzz_target!(|data: &[u8]| {
    let disk = disk_with_files(data);
    let Ok((engine, _report)) = Engine::open(config(), Arc::new(disk)) else {
        return;
    };
    exercise(&engine);
    engine.close();
});

libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    let size = libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    if seed.is_multiple_of(2) {
        repair_files(&mut data[..size]);
    }
    size
});

fn exercise(engine: &Engine) {
    // `verify` recomputes every body hash; the scans and reads below then skip or limit
    // hashing, which would otherwise take most of each run.
    let _ = engine.verify(Lsn(1)..Lsn(u64::MAX));
    let visible = engine.stats().visible_lsn.0;
    let mut ids = Vec::new();
    let forward = engine.scan(Lsn(1)..Lsn(u64::MAX), ScanDirection::Forward, false);
    for ev in forward.flatten() {
        let _ = (ev.tenant(), ev.body(), ev.body_offset());
        ids.push(ev.id);
    }
    for ev in engine.scan(
        Lsn(0)..Lsn(visible.saturating_add(2)),
        ScanDirection::Backward,
        false,
    ) {
        let _ = ev;
    }
    for id in ids.first().into_iter().chain(ids.last()) {
        let _ = engine.get_by_id(id);
    }
    for lsn in [
        0,
        1,
        2,
        visible / 2,
        visible,
        visible.saturating_add(1),
        u64::MAX,
    ] {
        let _ = engine.get_by_lsn(Lsn(lsn));
    }
    for tenant in engine.tenants() {
        let head = engine.chain_head(&tenant);
        for seq in [Seq(0), Seq(1), head.seq, Seq(head.seq.0.saturating_add(1))] {
            let _ = engine.get_by_seq(&tenant, seq);
        }
    }
    let _ = engine.lsn_at_time(0);
    let event = br#"{"event_type":"fuzz.append","user_id":"u1","amount":"1.50"}"#;
    let event = sealog_engine::event::prepare_event(event).expect("a valid event");
    let tenant = TenantId::new("fuzz").expect("a valid tenant");
    let _ = engine.append(&tenant, vec![event]);
}
