//! Appended events are readable at once, survive a clean reopen, and chains continue.
#![allow(clippy::unwrap_used)]

mod common;

use common::{event, open, tenant, tiny_config};
use sealog_engine::{Lsn, ScanDirection, Seq};

#[test]
fn appends_are_readable_and_survive_reopen_across_many_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (tenant("alpha"), tenant("beta"));
    let mut acked = Vec::new();
    {
        let (engine, report) = open(tiny_config(dir.path()));
        assert_eq!(report.events, 0);
        for i in 0..400u64 {
            let t = if i % 3 == 0 { &b } else { &a };
            let n = (i % 5 + 1) as usize;
            let got = engine
                .append(t, (0..n).map(|k| event(i * 10 + k as u64)).collect())
                .unwrap();
            assert_eq!(got.len(), n);
            acked.extend(got.into_iter().map(|g| (t.clone(), g)));
        }
        assert!(engine.stats().segments > 3, "tiny segments must roll");
        // Read-your-writes, by every key.
        for (t, g) in &acked {
            let by_lsn = engine.get_by_lsn(g.lsn).unwrap().unwrap();
            assert_eq!(
                (by_lsn.seq, by_lsn.hash, by_lsn.tenant()),
                (g.seq, g.hash, t.as_str())
            );
            assert_eq!(engine.get_by_id(&g.id).unwrap().unwrap().lsn, g.lsn);
            assert_eq!(engine.get_by_seq(t, g.seq).unwrap().unwrap().lsn, g.lsn);
        }
    }
    let names: Vec<String> = std::fs::read_dir(dir.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let segs = names.iter().filter(|n| n.ends_with(".seg")).count();
    let idxs = names.iter().filter(|n| n.ends_with(".idx")).count();
    assert!(
        segs > 3 && idxs == segs - 1,
        "every sealed segment has its index file: {names:?}"
    );
    let (engine, report) = open(tiny_config(dir.path()));
    assert_eq!(report.events, acked.len() as u64);
    assert!(report.rebuilt_indexes.is_empty());
    assert!(
        report.sealed_bytes_checked > 0,
        "open checks sealed segments by default"
    );
    assert!(
        report.torn.is_empty() && report.damage.is_empty(),
        "{report:?}"
    );
    for (t, g) in &acked {
        assert_eq!(engine.get_by_id(&g.id).unwrap().unwrap().lsn, g.lsn);
        assert_eq!(engine.get_by_seq(t, g.seq).unwrap().unwrap().hash, g.hash);
    }
    // LSNs are dense, seqs are dense per tenant, and the chain continues after reopen.
    let lsns: Vec<u64> = acked.iter().map(|(_, g)| g.lsn.0).collect();
    assert_eq!(lsns, (1..=acked.len() as u64).collect::<Vec<_>>());
    let next = engine.append(&a, vec![event(1)]).unwrap()[0];
    assert_eq!(next.lsn, Lsn(acked.len() as u64 + 1));
    let a_count = acked.iter().filter(|(t, _)| t == &a).count() as u64;
    assert_eq!(next.seq, Seq(a_count + 1));
    let scanned: Vec<_> = engine
        .scan(Lsn(1)..Lsn(u64::MAX), ScanDirection::Forward, true)
        .map(|e| e.unwrap().lsn.0)
        .collect();
    assert_eq!(scanned, (1..=acked.len() as u64 + 1).collect::<Vec<_>>());
    let back: Vec<_> = engine
        .scan(Lsn(5)..Lsn(50), ScanDirection::Backward, false)
        .map(|e| e.unwrap().lsn.0)
        .collect();
    assert_eq!(back, (5..50).rev().collect::<Vec<_>>());
}

#[test]
fn a_tagged_request_is_found_by_its_first_id_after_reopen() {
    use sealog_engine::idtag::IdTag;
    let dir = tempfile::tempdir().unwrap();
    let t = tenant("alpha");
    let tag = IdTag::derive(&[b"alpha", b"retry-key-1"]);
    let requested: Vec<_> = (0..3).map(event).collect();
    let first;
    {
        let (engine, _) = open(tiny_config(dir.path()));
        engine.append(&t, vec![event(100)]).unwrap();
        let mut tagged = requested.clone();
        tagged[0] = tagged[0].clone().with_id_tag(tag);
        // A tag on a later event is ignored: only the request's first id carries one.
        tagged[1] = tagged[1].clone().with_id_tag(tag);
        let got = engine.append(&t, tagged).unwrap();
        first = got[0];
        assert_eq!(IdTag::of_id(&got[0].id), Some(tag));
        assert_eq!(IdTag::of_id(&got[1].id), None);
        assert_eq!(got[0].id.get_version_num(), 7);
    }
    let (engine, _) = open(tiny_config(dir.path()));
    let stored = engine.get_by_id(&first.id).unwrap().unwrap();
    assert_eq!(stored.lsn, first.lsn);
    let ends: Vec<bool> = (0..3)
        .map(|i| {
            let ev = engine.get_by_lsn(Lsn(first.lsn.0 + i)).unwrap().unwrap();
            assert!(requested[i as usize].same_client_members(ev.body()));
            assert!(!requested[(i as usize + 1) % 3].same_client_members(ev.body()));
            ev.ends_request()
        })
        .collect();
    assert_eq!(ends, [false, false, true]);
    // The untagged single-event request before it ends at its only event.
    assert!(engine.get_by_lsn(Lsn(1)).unwrap().unwrap().ends_request());
}

/// Regression (found by `every_io_failure_point_recovers` in CI): an active segment with
/// no frames yet, whose header's CRC happens to end in zero bytes, looked shorter than
/// its header to recovery, which then panicked cutting a "torn tail" past the file's
/// end. Such a segment is clean: it must reopen without damage or cut, and go on.
#[test]
fn an_empty_active_segment_whose_header_ends_in_zeros_reopens_clean() {
    use sealog_engine::segment::{SegmentHeader, SEGMENT_HEADER_BYTES};
    let dir = tempfile::tempdir().unwrap();
    drop(open(tiny_config(dir.path())));
    let wal = dir.path().join("wal");
    let segs: Vec<_> = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    assert_eq!(
        segs.len(),
        1,
        "a fresh log has one (active) segment: {segs:?}"
    );
    let mut file = std::fs::read(&segs[0]).unwrap();
    let header = SegmentHeader::decode(&file, &segs[0]).unwrap();
    assert!(file[SEGMENT_HEADER_BYTES..].iter().all(|&b| b == 0));
    // A creation time whose header CRC ends in two zero bytes (1 in 65,536).
    let bytes = (0..i64::MAX)
        .map(|d| SegmentHeader {
            created_at_us: header.created_at_us + d,
            ..header
        })
        .map(|h| h.encode())
        .find(|b| b[SEGMENT_HEADER_BYTES - 2..] == [0, 0])
        .unwrap();
    file[..SEGMENT_HEADER_BYTES].copy_from_slice(&bytes);
    std::fs::write(&segs[0], &file).unwrap();

    let (engine, report) = open(tiny_config(dir.path()));
    assert_eq!(report.events, 0);
    assert!(
        report.torn.is_empty() && report.damage.is_empty(),
        "{report:?}"
    );
    let t = tenant("alpha");
    let acked = engine.append(&t, vec![event(1), event(2)]).unwrap();
    drop(engine);
    let (engine, report) = open(tiny_config(dir.path()));
    assert_eq!(report.events, 2);
    assert!(
        report.torn.is_empty() && report.damage.is_empty(),
        "{report:?}"
    );
    for g in &acked {
        assert_eq!(engine.get_by_seq(&t, g.seq).unwrap().unwrap().hash, g.hash);
    }
}

#[test]
fn visit_lsns_reads_exactly_the_asked_events_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant("alpha");
    let (engine, _) = open(tiny_config(dir.path()));
    let mut acked = Vec::new();
    for i in 0..100u64 {
        let events = (0..10).map(|k| event(i * 10 + k)).collect();
        acked.extend(engine.append(&t, events).unwrap());
    }
    assert!(engine.stats().segments > 3, "tiny segments must roll");
    let last = acked.last().unwrap().lsn.0;
    // Runs, gaps, segment boundaries, the first and the last (active segment) LSN.
    let lsns: Vec<Lsn> = (1..=last)
        .filter(|l| l % 7 < 3 || l % 50 == 0 || *l == last)
        .map(Lsn)
        .collect();
    let mut seen = Vec::new();
    let stopped = engine.visit_lsns(&lsns, |ev| {
        let ev = ev.unwrap();
        seen.push((ev.lsn, ev.seq, ev.hash));
        std::ops::ControlFlow::<()>::Continue(())
    });
    assert_eq!(stopped, None);
    let want: Vec<_> = lsns
        .iter()
        .map(|l| {
            let g = acked.iter().find(|g| g.lsn == *l).unwrap();
            (g.lsn, g.seq, g.hash)
        })
        .collect();
    assert_eq!(seen, want);
    // Break stops at once and hands back its value.
    let mut n = 0;
    let got = engine.visit_lsns(&lsns, |ev| {
        n += 1;
        if n == 10 {
            std::ops::ControlFlow::Break(ev.unwrap().lsn)
        } else {
            std::ops::ControlFlow::Continue(())
        }
    });
    assert_eq!(got, Some(lsns[9]));
    // LSNs past the end are not visited.
    let none = engine.visit_lsns(&[Lsn(last + 1), Lsn(last + 5)], |_| {
        std::ops::ControlFlow::Break(())
    });
    assert_eq!(none, None);
}

/// The active segment's bytes are kept for readers in blocks of memory that are reused
/// once their segment has sealed (`log::arena`). Writing several blocks' worth through
/// tiny segments makes the engine reuse blocks; every event still reads back as it was
/// acknowledged (hash-checked), and an event a reader held the whole time keeps its
/// bytes.
#[test]
fn reused_memory_never_changes_what_readers_see() {
    use sealog_engine::limits::ACTIVE_BLOCK_BYTES;
    let dir = tempfile::tempdir().unwrap();
    let (engine, _) = open(tiny_config(dir.path()));
    let t = tenant("alpha");
    let filler = "x".repeat(3_000);
    let big = |n: u64| {
        let json = format!(r#"{{"event_type":"test.big.{n}","event_description":"{filler}"}}"#);
        sealog_engine::event::prepare_event(json.as_bytes()).unwrap()
    };
    let first = engine.append(&t, vec![big(0)]).unwrap()[0];
    let held = engine.get_by_lsn(first.lsn).unwrap().unwrap();
    let held_body = held.body().to_vec();
    let mut acked = vec![first];
    let mut n = 1u64;
    while engine.stats().active_blocks_reused < 2 {
        assert!(
            (n as usize) * filler.len() < 12 * ACTIVE_BLOCK_BYTES,
            "no block reused after {n} events: {:?}",
            engine.stats()
        );
        let events = (n..n + 200).map(big).collect();
        acked.extend(engine.append(&t, events).unwrap());
        n += 200;
    }
    assert_eq!(held.body(), &held_body[..], "a held event changed");
    let scanned: Vec<_> = engine
        .scan(Lsn(1)..Lsn(u64::MAX), ScanDirection::Forward, true)
        .map(|e| {
            let e = e.unwrap();
            (e.lsn, e.seq, e.hash)
        })
        .collect();
    let want: Vec<_> = acked.iter().map(|a| (a.lsn, a.seq, a.hash)).collect();
    assert_eq!(scanned, want);
    for a in acked.iter().step_by(97) {
        let got = engine.get_by_lsn(a.lsn).unwrap().unwrap();
        let n = a.lsn.0 - 1;
        assert!(
            std::str::from_utf8(got.body())
                .unwrap()
                .contains(&format!("\"test.big.{n}\"")),
            "lsn {} holds another event's body",
            a.lsn.0
        );
    }
}

/// Under `sync` durability each acknowledged append waited for an fdatasync, and the
/// engine counts and times them (the metrics' fsync histogram); under `none` it makes
/// none until a seal.
#[test]
fn fsyncs_are_counted_and_timed() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant("alpha");
    {
        let (engine, _) = open(sealog_engine::EngineConfig::new(dir.path()));
        assert_eq!(engine.stats().fsyncs.calls, 0);
        for i in 0..20u64 {
            engine.append(&t, vec![event(i)]).unwrap();
        }
        let f = engine.stats().fsyncs;
        // One after the other, so no two appends shared a group commit.
        assert!(f.calls >= 20, "{f:?}");
        assert!(f.total_ns > 0, "{f:?}");
        let buckets = f.at_most;
        assert!(
            buckets.windows(2).all(|w| w[0] <= w[1]) && buckets[buckets.len() - 1] <= f.calls,
            "cumulative and bounded by the calls: {f:?}"
        );
    }
    let mut config = sealog_engine::EngineConfig::new(dir.path());
    config.durability = sealog_engine::Durability::None;
    let (engine, _) = open(config);
    for i in 0..5u64 {
        engine.append(&t, vec![event(100 + i)]).unwrap();
    }
    assert_eq!(
        engine.stats().fsyncs.calls,
        0,
        "durability none does not sync"
    );
}
