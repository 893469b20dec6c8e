//! Read-your-writes under concurrent ingest: an event whose append returned is found
//! by the very next query, from several threads appending at once while the indexer
//! runs and commits; a day's query touches only the index segments of that day; and
//! merges keep every index segment one sorted run of LSNs.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sealog_engine::event::prepare_event;
use sealog_engine::search::{Filter, Order, Paging, Query, SearchConfig, SearchIndex};
use sealog_engine::Engine;

#[test]
fn every_acknowledged_event_is_visible_to_the_next_query() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _) = common::open(common::tiny_config(dir.path()));
    let engine = Arc::new(engine);
    let mut sc = SearchConfig::new(dir.path());
    sc.commit_events = 500;
    sc.commit_interval = Duration::from_millis(50);
    let search = SearchIndex::open(engine.clone(), sc).unwrap();
    std::thread::scope(|s| {
        for thread in 0..4 {
            let (engine, search) = (&engine, &search);
            s.spawn(move || {
                let t = common::tenant(&format!("t{}", thread % 2));
                for i in 0..300 {
                    let record = format!("rec-{thread}-{i}");
                    let json = format!(r#"{{"event_type":"rw.check","record_id":"{record}","user_id":"w{thread}"}}"#);
                    let acked = engine.append(&t, vec![prepare_event(json.as_bytes()).unwrap()]).unwrap();
                    let mut f = Filter::tenant(t.clone());
                    f.record_id = Some(record.clone());
                    let page = search.query(&Query { filter: f, order: Order::Desc, paging: Paging::Offset(0), limit: 5 }).unwrap();
                    assert_eq!(page.total, 1, "{record} not visible right after its append");
                    assert_eq!(page.hits[0].event.lsn, acked[0].lsn);
                    // The user's own count only grows, and includes this event.
                    let mut mine = Filter::tenant(t.clone());
                    mine.user_id = Some(format!("w{thread}"));
                    let page = search.query(&Query { filter: mine, order: Order::Desc, paging: Paging::Offset(0), limit: 1 }).unwrap();
                    assert_eq!(page.total, i + 1);
                    assert_eq!(page.hits[0].event.lsn, acked[0].lsn);
                }
            });
        }
    });
    assert!(
        search.metrics().commits.load(Ordering::Relaxed) > 1,
        "the indexer committed while queries ran"
    );
}

/// An engine on a hand-set clock, and its index committing every 100 events only.
fn clocked_index(dir: &std::path::Path) -> (Arc<common::HandClock>, Arc<Engine>, SearchIndex) {
    let clock = Arc::new(common::HandClock::default());
    let storage: Arc<dyn sealog_engine::storage::Storage> =
        Arc::new(sealog_engine::storage::FileStorage);
    let (engine, _) =
        Engine::open_with_clock(common::tiny_config(dir), storage, clock.clone()).unwrap();
    let engine = Arc::new(engine);
    let mut sc = SearchConfig::new(dir);
    sc.commit_events = 100;
    sc.commit_interval = Duration::from_secs(3600);
    let search = SearchIndex::open(engine.clone(), sc).unwrap();
    (clock, engine, search)
}

#[test]
fn a_one_day_query_touches_only_that_days_index_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, engine, search) = clocked_index(dir.path());
    let day_us = 86_400_000_000i64;
    let t0 = 1_767_225_600_000_000i64; // 2026-01-01
    let t = common::tenant("days");
    for day in 0..10 {
        for i in 0..100 {
            clock
                .0
                .store(t0 + day * day_us + i * 60_000_000, Ordering::SeqCst);
            engine.append(&t, vec![common::event(i as u64)]).unwrap();
        }
        // One commit (one index segment) per day.
        assert!(search.wait_committed(engine.stats().visible_lsn, Duration::from_secs(30)));
    }
    let mut f = Filter::tenant(t);
    f.start_us = Some(t0 + 4 * day_us);
    f.end_us = Some(t0 + 5 * day_us);
    let page = search
        .query(&Query {
            filter: f,
            order: Order::Desc,
            paging: Paging::Offset(0),
            limit: 10,
        })
        .unwrap();
    assert_eq!(page.total, 100);
    assert!(page.hits.iter().all(
        |h| h.event.created_at_us >= t0 + 4 * day_us && h.event.created_at_us < t0 + 5 * day_us
    ));
    // tantivy may merge some days' segments; whatever the merges, most are skipped.
    assert!(page.stats.segments_searched <= 2, "{:?}", page.stats);
    assert!(page.stats.segments_pruned >= 1, "{:?}", page.stats);
    // On the log side, a day's scan reads only the segments of that day.
    let range = engine.lsn_range_of_time(t0 + 4 * day_us, t0 + 5 * day_us);
    let mut scan = engine.scan(range, sealog_engine::ScanDirection::Forward, false);
    assert_eq!(scan.by_ref().count(), 100);
    assert!(
        scan.segments_visited() <= 3,
        "{} of {} log segments read",
        scan.segments_visited(),
        engine.stats().segments
    );
}

#[test]
fn merges_keep_every_segment_one_sorted_run_of_lsns() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _) = common::open(common::tiny_config(dir.path()));
    let engine = Arc::new(engine);
    let mut sc = SearchConfig::new(dir.path());
    sc.commit_events = 40;
    sc.commit_interval = Duration::from_secs(3600);
    let search = SearchIndex::open(engine.clone(), sc).unwrap();
    // Two tenants interleaved, 60 commits of 40 events: several rounds of merges.
    let tenants = [common::tenant("m1"), common::tenant("m2")];
    for i in 0..2_400u64 {
        engine
            .append(&tenants[(i % 2) as usize], vec![common::event(i)])
            .unwrap();
        if i % 40 == 39 {
            assert!(search.wait_committed(engine.stats().visible_lsn, Duration::from_secs(30)));
        }
    }
    // Let running merges finish: close waits for them; reopen reads the result.
    search.close();
    drop(search);
    let search = SearchIndex::open(engine.clone(), SearchConfig::new(dir.path())).unwrap();
    let layout = search.segment_layout();
    assert!(
        layout.len() < 60 / 2,
        "segments were merged: {} left of 60 commits",
        layout.len()
    );
    let mut next = 1;
    for &(lo, hi, docs, sorted) in &layout {
        assert!(
            sorted,
            "segment {lo}..={hi} is out of LSN order: {layout:?}"
        );
        assert_eq!(lo, next, "segments overlap or leave a gap: {layout:?}");
        assert_eq!(hi - lo + 1, u64::from(docs), "{layout:?}");
        next = hi + 1;
    }
    assert_eq!(next, 2_401, "{layout:?}");
    // And queries over the merged layout agree with the log.
    let mut f = Filter::tenant(tenants[1].clone());
    let page = search
        .query(&Query {
            filter: f.clone(),
            order: Order::Desc,
            paging: Paging::Offset(1_000),
            limit: 7,
        })
        .unwrap();
    assert_eq!(page.total, 1_200);
    let lsns: Vec<u64> = page.hits.iter().map(|h| h.event.lsn.0).collect();
    // m2 holds the even LSNs 2, 4, …, 2400; rank 1000 from the newest is 2400 - 2000.
    assert_eq!(lsns, vec![400, 398, 396, 394, 392, 390, 388]);
    f.start_us = Some(i64::MIN + 1);
    let page = search
        .query(&Query {
            filter: f,
            order: Order::Asc,
            paging: Paging::Offset(1_195),
            limit: 10,
        })
        .unwrap();
    let lsns: Vec<u64> = page.hits.iter().map(|h| h.event.lsn.0).collect();
    assert_eq!(lsns, vec![2_392, 2_394, 2_396, 2_398, 2_400]);
    assert!(!page.has_more);
}

#[test]
fn deep_pages_and_summaries_of_a_one_tenant_index_agree_with_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (clock, engine, search) = clocked_index(dir.path());
    let t0 = 1_767_225_600_000_000i64;
    let t = common::tenant("solo");
    // Some fields in every event, some in a part (optional columns), one never.
    let fields = |i: u64| -> [Option<String>; 5] {
        [
            i.is_multiple_of(3).then(|| "orders".to_owned()),
            Some(format!("u{}", i % 7)),
            (i % 4 != 1).then(|| format!("A{}", i % 4)),
            Some(format!("deep.{}", i % 5)),
            Some("info".to_owned()),
        ]
    };
    for i in 0..3_000u64 {
        clock.0.store(t0 + i as i64 * 1_000, Ordering::SeqCst);
        let [table, user, action, event_type, _] = fields(i);
        let mut json = serde_json::json!({"event_type": event_type, "user_id": user});
        if let Some(t) = table {
            json["table_name"] = t.into();
        }
        if let Some(a) = action {
            json["action"] = a.into();
        }
        let ev = prepare_event(json.to_string().as_bytes()).unwrap();
        engine.append(&t, vec![ev]).unwrap();
        if i % 100 == 99 {
            assert!(search.wait_committed(engine.stats().visible_lsn, Duration::from_secs(30)));
        }
    }
    // Event i has LSN i + 1 and created_at t0 + i ms. Whole log, then a time range that
    // cuts segments in the middle.
    for (start, end) in [(None, None), (Some(t0 + 517_000), Some(t0 + 2_483_000))] {
        let lsns: Vec<u64> = (1..=3_000u64)
            .filter(|l| {
                let at = t0 + (*l as i64 - 1) * 1_000;
                start.is_none_or(|s| at >= s) && end.is_none_or(|e| at < e)
            })
            .collect();
        // The summary: every event in range matches, counted from the columns.
        let mut f = Filter::tenant(t.clone());
        f.start_us = start;
        f.end_us = end;
        let summary = search.summary(&f).unwrap();
        assert_eq!(summary.total, lsns.len() as u64);
        for (g, got) in summary.groups.iter().enumerate() {
            let mut counts: std::collections::HashMap<String, u64> = Default::default();
            for l in &lsns {
                if let Some(v) = fields(l - 1)[g].clone() {
                    *counts.entry(v).or_default() += 1;
                }
            }
            let mut want: Vec<(String, u64)> = counts.into_iter().collect();
            want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            assert_eq!(got, &want, "group {g}, range {start:?}..{end:?}");
        }
        for order in [Order::Desc, Order::Asc] {
            let mut want = lsns.clone();
            if order == Order::Desc {
                want.reverse();
            }
            for offset in [
                0u64, 1, 99, 100, 101, 777, 1_500, 1_965, 2_990, 2_999, 3_000,
            ] {
                let mut f = Filter::tenant(t.clone());
                f.start_us = start;
                f.end_us = end;
                let page = search
                    .query(&Query {
                        filter: f,
                        order,
                        paging: Paging::Offset(offset),
                        limit: 7,
                    })
                    .unwrap();
                let got: Vec<u64> = page.hits.iter().map(|h| h.event.lsn.0).collect();
                let expect: Vec<u64> = want.iter().copied().skip(offset as usize).take(7).collect();
                assert_eq!(
                    got, expect,
                    "{order:?} offset {offset} range {start:?}..{end:?}"
                );
                assert_eq!(page.total, want.len() as u64);
                assert_eq!(page.has_more, want.len() > offset as usize + 7);
            }
        }
    }
}
