//! Property: for random filters (every filter of the API and combinations), orders,
//! offsets and cursor walks over ~3,000 realistic events of several tenants, 30 days
//! of traffic, with resolutions, the index answers exactly what a brute-force scan of
//! the log answers: same events, same order, same total. The events are split over the
//! three places a query reads: the committed index, the pending set after it (in
//! memory, bounded here to `PENDING_MAX` events), and the rest of the log's tail, which
//! queries scan. The indexer has read into the pending set's events, so the resolution
//! overlay holds some of the tail's resolutions already and not others.
//!
//! Exports walk the same events straight from the log: for the same random filters,
//! `from_seq`, `limit` and chunk sizes, an export holds exactly the model's events in
//! order, and its bytes are the same whether its windows are cut in two halves encoded
//! on two threads or walked on one.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use proptest::prelude::*;
use sealog_engine::event::{prepare_event, prepare_resolution, BodyError};
use sealog_engine::export::{
    Encoder, ExportCursor, ExportEvent, ExportSpec, JsonArrayEncoder, NdjsonEncoder,
};
use sealog_engine::gen::{GenConfig, Generator};
use sealog_engine::search::{Filter, Order, Paging, Query, SearchConfig, SearchIndex};
use sealog_engine::{Engine, Lsn, ScanDirection, Seq, TenantId};
use serde_json::Value;

const TENANTS: [&str; 3] = ["alpha", "beta", "gamma"];

/// One event as the model sees it (parsed independently with serde_json).
struct ModelEvent {
    lsn: u64,
    tenant: String,
    created_at_us: i64,
    body: Value,
}

struct World {
    _dir: tempfile::TempDir,
    engine: Arc<Engine>,
    search: SearchIndex,
    events: Vec<ModelEvent>,
    resolved: HashMap<u64, u64>,
    start_us: i64,
    end_us: i64,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| build(1))
}

/// The same events indexed by two tantivy threads: segments overlap in LSN and merged
/// ones are out of LSN order, so queries take the general path instead of the
/// segment-ordered one (docs/QUERY.md).
fn world_two_threads() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| build(2))
}

/// The pending set's bound in these worlds: it ends after what the indexer has read
/// and before the newest event.
const PENDING_MAX: u64 = 800;

fn build(writer_threads: usize) -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(common::HandClock::default());
    let mut config = common::tiny_config(dir.path());
    config.segment_bytes = 1024 * 1024;
    let storage: Arc<dyn sealog_engine::storage::Storage> =
        Arc::new(sealog_engine::storage::FileStorage);
    let (engine, _) = Engine::open_with_clock(config, storage, clock.clone()).unwrap();
    let engine = Arc::new(engine);
    let mut sc = SearchConfig::new(dir.path());
    sc.commit_events = 700;
    sc.writer_threads = writer_threads;
    sc.commit_interval = Duration::from_secs(3600);
    sc.pending_events_max = PENDING_MAX;
    let search = SearchIndex::open(engine.clone(), sc).unwrap();
    let mut gen = Generator::new(GenConfig {
        count: 3000,
        with_text: true,
        seed: 11,
        ..GenConfig::default()
    });
    let mut line = Vec::new();
    let mut ids = Vec::new();
    let mut i = 0u64;
    while let Some((_, created)) = gen.write_json_into(&mut line) {
        if i == 2100 {
            // Wait for the index to read everything so far (2100 = 3 commits of 700).
            wait_processed(&search, engine.stats().visible_lsn);
        }
        if i == 2600 {
            wait_processed(&search, engine.stats().visible_lsn);
            search.hold_indexer(true);
        }
        clock.0.store(created, Ordering::SeqCst);
        let tenant = TenantId::new(TENANTS[(i % 7 % 3) as usize]).unwrap();
        let a = engine
            .append(&tenant, vec![prepare_event(&line).unwrap()])
            .unwrap();
        ids.push((tenant.clone(), a[0].id));
        if i % 40 == 17 {
            // Resolve an earlier event of the same tenant (some twice).
            let (t, id) = ids
                .iter()
                .rev()
                .filter(|(t, _)| *t == tenant)
                .nth((i % 5) as usize)
                .unwrap()
                .clone();
            let r = prepare_resolution(&id.to_string(), "desk", Some("checked"), "key-1").unwrap();
            engine.append(&t, vec![r]).unwrap();
        }
        line.clear();
        i += 1;
    }
    let (committed, processed) = search.progress();
    let visible = engine.stats().visible_lsn;
    assert!(
        committed.0 > 0 && processed > committed && visible > processed,
        "{committed:?} {processed:?} {visible:?}"
    );
    let mut events = Vec::new();
    for ev in engine.scan(Lsn(1)..Lsn(u64::MAX), ScanDirection::Forward, true) {
        let ev = ev.unwrap();
        let body: Value = serde_json::from_slice(ev.body()).unwrap();
        events.push(ModelEvent {
            lsn: ev.lsn.0,
            tenant: ev.tenant().to_owned(),
            created_at_us: ev.created_at_us,
            body,
        });
    }
    // The model's overlay: the latest resolution of each target, by id.
    let by_id: HashMap<String, u64> = events
        .iter()
        .map(|e| (e.body["id"].as_str().unwrap().to_owned(), e.lsn))
        .collect();
    let mut resolved = HashMap::new();
    for e in &events {
        if e.body["event_type"] == "audit.resolution" {
            let target = by_id[e.body["record_id"].as_str().unwrap()];
            resolved.insert(target, e.lsn);
        }
    }
    let start_us = events.first().unwrap().created_at_us;
    let end_us = events.last().unwrap().created_at_us;
    World {
        _dir: dir,
        engine,
        search,
        events,
        resolved,
        start_us,
        end_us,
    }
}

fn wait_processed(search: &SearchIndex, lsn: Lsn) {
    for _ in 0..2000 {
        if search.progress().1 >= lsn {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the indexer did not read up to {lsn:?}");
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && w.len() <= 64)
        .map(str::to_lowercase)
        .collect()
}

fn decimal_ge(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let (i, f) = s.split_once('.').unwrap_or((s, ""));
        (
            i.trim_start_matches('0').to_owned(),
            f.trim_end_matches('0').to_owned(),
        )
    };
    let ((ai, af), (bi, bf)) = (norm(a), norm(b));
    if ai.len() != bi.len() {
        return ai.len() > bi.len();
    }
    if ai != bi {
        return ai > bi;
    }
    let n = af.len().max(bf.len());
    format!("{af:0<n$}") >= format!("{bf:0<n$}")
}

fn model_matches(w: &World, f: &Filter, e: &ModelEvent) -> bool {
    let s = |k: &str| e.body.get(k).and_then(Value::as_str);
    let eq = |want: &Option<String>, k: &str| want.as_deref().is_none_or(|v| s(k) == Some(v));
    let tags: Vec<&str> = e
        .body
        .get("tags")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let text: Vec<String> = ["event_description", "error_message"]
        .iter()
        .filter_map(|k| s(k))
        .flat_map(words)
        .collect();
    e.tenant == f.tenant.as_str()
        && eq(&f.user_id, "user_id")
        && eq(&f.event_type, "event_type")
        && eq(&f.severity, "severity")
        && eq(&f.compliance_status, "compliance_status")
        && eq(&f.table_name, "table_name")
        && eq(&f.record_id, "record_id")
        && eq(&f.symbol, "symbol")
        && eq(&f.action, "action")
        && eq(&f.result, "result")
        && f.tags.iter().all(|t| tags.contains(&t.as_str()))
        && f.is_resolved
            .is_none_or(|want| w.resolved.contains_key(&e.lsn) == want)
        && f.min_risk_score
            .as_deref()
            .is_none_or(|m| s("risk_score").is_some_and(|r| decimal_ge(r, m)))
        && f.start_us.is_none_or(|t| e.created_at_us >= t)
        && f.end_us.is_none_or(|t| e.created_at_us < t)
        && f.q.iter().all(|q| text.contains(q))
}

/// A random filter: its values come from one random event of the data (so that
/// conjunctions still match something), sometimes from another event or absent.
fn filter_strategy() -> impl Strategy<Value = (Filter, Order)> {
    (any::<u64>(), any::<u32>()).prop_map(|(seed, mask)| {
        let w = world();
        let base = &w.events[(seed % w.events.len() as u64) as usize];
        let other = &w.events[((seed >> 17) % w.events.len() as u64) as usize];
        let on = |bit: u32| mask & (1 << bit) != 0;
        // Each condition is on with probability 1/4; its value is the base event's,
        // else (1 in 8) another event's or a value no event has.
        let pick = |bit: u32, field: &str| -> Option<String> {
            if !(on(bit) && on(bit + 16)) {
                return None;
            }
            let from = if on((bit + 5) % 16) && on((bit + 9) % 16) && on((bit + 3) % 16) {
                other
            } else {
                base
            };
            let absent =
                (on((bit + 7) % 16) && on((bit + 11) % 16)).then(|| format!("absent-{field}"));
            from.body
                .get(field)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(absent)
        };
        let mut f = Filter::tenant(TenantId::new(&base.tenant).unwrap());
        f.user_id = pick(0, "user_id");
        f.event_type = pick(1, "event_type");
        f.severity = pick(2, "severity");
        f.table_name = pick(3, "table_name");
        f.symbol = pick(4, "symbol");
        f.compliance_status = pick(5, "compliance_status");
        f.action = pick(6, "action");
        f.result = pick(7, "result");
        if seed % 13 == 0 {
            f.record_id = pick(8, "record_id");
        }
        if on(9) && on(25) {
            let tags = base.body.get("tags").and_then(Value::as_array);
            f.tags = tags
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            if f.tags.is_empty() && on(24) {
                f.tags = vec!["vip".into()];
            }
        }
        if on(10) && on(26) {
            f.is_resolved = Some(w.resolved.contains_key(&base.lsn) != on(11) || on(23));
        }
        if on(12) && on(28) {
            // Often the base event's own score: a tie with the bound as a double.
            f.min_risk_score = base
                .body
                .get("risk_score")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(Some("50".into()));
        }
        if on(13) && on(29) {
            let span = (w.end_us - w.start_us) as u64;
            let a = base.created_at_us - ((seed >> 8) % (span / 4 + 1)) as i64;
            let b = base.created_at_us + 1 + ((seed >> 30) % (span / 4 + 1)) as i64;
            f.start_us = on(14).then_some(a);
            f.end_us = on(15).then_some(b);
        }
        if on(30) && on(31) {
            let text: Vec<String> = base
                .body
                .get("event_description")
                .and_then(Value::as_str)
                .map(words)
                .unwrap_or_default();
            f.q = text
                .into_iter()
                .skip((seed % 3) as usize)
                .take(1 + (seed % 2) as usize)
                .collect();
        }
        let order = if on(27) { Order::Asc } else { Order::Desc };
        (f, order)
    })
}

fn model_list(w: &World, f: &Filter, order: Order) -> Vec<u64> {
    let mut v: Vec<u64> = w
        .events
        .iter()
        .filter(|e| model_matches(w, f, e))
        .map(|e| e.lsn)
        .collect();
    if order == Order::Desc {
        v.reverse();
    }
    v
}

/// One offset page of `w` against the model: the same events, total, has_more and
/// overlays; twice, the second time with the segment counts the first one cached.
fn offsets_agree_in(
    w: &World,
    filter: &Filter,
    order: Order,
    offset: u64,
    limit: usize,
) -> Result<(), TestCaseError> {
    let want = model_list(w, filter, order);
    for _ in 0..2 {
        let page = w
            .search
            .query(&Query {
                filter: filter.clone(),
                order,
                paging: Paging::Offset(offset),
                limit,
            })
            .unwrap();
        prop_assert_eq!(page.total, want.len() as u64, "{:?}", filter);
        let got: Vec<u64> = page.hits.iter().map(|h| h.event.lsn.0).collect();
        let expect: Vec<u64> = want
            .iter()
            .copied()
            .skip(offset as usize)
            .take(limit)
            .collect();
        prop_assert_eq!(got, expect, "{:?}", filter);
        prop_assert_eq!(page.has_more, want.len() > offset as usize + limit);
        for h in &page.hits {
            prop_assert_eq!(
                h.resolution.as_ref().map(|r| r.by_lsn.0),
                w.resolved.get(&h.event.lsn.0).copied()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn offsets_agree((filter, order) in filter_strategy(), offset in prop_oneof![0u64..40, 0u64..1200], limit in 1usize..25) {
        offsets_agree_in(world(), &filter, order, offset, limit)?;
    }

    #[test]
    fn offsets_agree_on_overlapping_segments((filter, order) in filter_strategy(), offset in prop_oneof![0u64..40, 0u64..1200], limit in 1usize..25) {
        offsets_agree_in(world_two_threads(), &filter, order, offset, limit)?;
    }

    #[test]
    fn cursor_walks_agree((filter, order) in filter_strategy(), limit in 1usize..60) {
        let w = world();
        let want = model_list(w, &filter, order);
        let mut got = Vec::new();
        let mut paging = Paging::Offset(0);
        for _ in 0..(want.len() / limit + 2) {
            let page = w.search.query(&Query { filter: filter.clone(), order, paging: paging.clone(), limit }).unwrap();
            prop_assert_eq!(page.total, want.len() as u64);
            got.extend(page.hits.iter().map(|h| h.event.lsn.0));
            match page.next_cursor {
                Some(c) => paging = Paging::After(c),
                None => break,
            }
        }
        prop_assert_eq!(got, want, "{:?}", filter);
    }

    #[test]
    fn summaries_agree((filter, _) in filter_strategy()) {
        let w = world();
        let matching: Vec<&ModelEvent> = w.events.iter().filter(|e| model_matches(w, &filter, e)).collect();
        let summary = w.search.summary(&filter).unwrap();
        prop_assert_eq!(summary.total, matching.len() as u64);
        for (i, field) in ["table_name", "user_id", "action", "event_type", "severity"].iter().enumerate() {
            let mut counts: HashMap<String, u64> = HashMap::new();
            for e in &matching {
                if let Some(v) = e.body.get(*field).and_then(Value::as_str) {
                    *counts.entry(v.to_owned()).or_default() += 1;
                }
            }
            let mut want: Vec<(String, u64)> = counts.into_iter().collect();
            want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            want.truncate(100);
            prop_assert_eq!(&summary.groups[i], &want, "{} {:?}", field, filter);
        }
    }
}

/// An encoder that writes what `0` writes but does not fork, so the cursor walks every
/// window on one thread.
struct OneThread(Box<dyn Encoder>);

impl Encoder for OneThread {
    fn begin(&mut self, out: &mut Vec<u8>) {
        self.0.begin(out);
    }
    fn record(&mut self, ev: &ExportEvent<'_>, out: &mut Vec<u8>) -> Result<(), BodyError> {
        self.0.record(ev, out)
    }
    fn separator(&self) -> &'static [u8] {
        self.0.separator()
    }
    fn end(&mut self, out: &mut Vec<u8>) {
        self.0.end(out);
    }
}

/// The whole export of `spec` in chunks of `chunk`, and each chunk's event count.
fn export(
    w: &World,
    spec: &ExportSpec,
    chunk: usize,
    mut enc: Box<dyn Encoder>,
) -> (Vec<u8>, Vec<usize>) {
    let mut cursor = ExportCursor::open(&w.search, spec.clone()).unwrap();
    let mut out = Vec::new();
    let mut chunks = Vec::new();
    enc.begin(&mut out);
    for _ in 0..100_000 {
        let c = cursor.next_chunk(chunk, &mut *enc, &mut out).unwrap();
        chunks.push(c.events);
        if c.done {
            enc.end(&mut out);
            return (out, chunks);
        }
    }
    panic!("the export of {spec:?} did not end");
}

proptest! {
    // Enough cases that a window's second half often holds more than the chunk takes.
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn exports_agree(
        (filter, order) in filter_strategy(),
        from_seq in proptest::option::of(1u64..1100),
        limit in proptest::option::of(1u64..1500),
        chunk in prop_oneof![1usize..40, 40usize..600, 600usize..4000],
        json in any::<bool>(),
    ) {
        let w = world();
        let by_lsn: HashMap<u64, &ModelEvent> = w.events.iter().map(|e| (e.lsn, e)).collect();
        let by_id: HashMap<&str, u64> = w.events.iter().map(|e| (e.body["id"].as_str().unwrap(), e.lsn)).collect();
        let want: Vec<u64> = model_list(w, &filter, order)
            .into_iter()
            .filter(|l| from_seq.is_none_or(|s| by_lsn[l].body["seq"].as_u64().unwrap() >= s))
            .take(limit.map_or(usize::MAX, |l| l as usize))
            .collect();
        let spec = ExportSpec { filter: filter.clone(), order, from_seq: from_seq.map(Seq), limit, until: None };
        let encoder = || -> Box<dyn Encoder> {
            if json { Box::new(JsonArrayEncoder) } else { Box::new(NdjsonEncoder) }
        };
        let (bytes, chunks) = export(w, &spec, chunk, encoder());
        let (one_thread, _) = export(w, &spec, chunk, Box::new(OneThread(encoder())));
        prop_assert!(bytes == one_thread, "two threads and one differ for {:?}", spec);
        prop_assert!(chunks.iter().all(|&n| n <= chunk), "{:?}", chunks);
        let got: Vec<Value> = if json {
            serde_json::from_slice(&bytes).unwrap()
        } else {
            prop_assert!(bytes.is_empty() || bytes.ends_with(b"\n"));
            bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect()
        };
        prop_assert_eq!(chunks.iter().sum::<usize>(), got.len());
        let lsns: Vec<u64> = got.iter().map(|v| by_id[v["id"].as_str().unwrap()]).collect();
        prop_assert_eq!(&lsns, &want, "{:?}", spec);
        for (v, lsn) in got.iter().zip(&lsns) {
            prop_assert_eq!(v["is_resolved"].as_bool(), Some(w.resolved.contains_key(lsn)));
        }
    }
}

#[test]
fn the_three_sources_are_all_exercised() {
    let w = world();
    let (committed, processed) = w.search.progress();
    let visible = w.engine.stats().visible_lsn;
    assert!(committed.0 >= 2100 && processed.0 >= 2600 && visible > processed);
    // The pending set ends between `processed` and the newest event, so it holds
    // resolutions that are in the overlay already and resolutions that are not, and
    // the rest of the tail is scanned.
    let covered = committed.0 + PENDING_MAX;
    assert!(
        processed.0 < covered && covered < visible.0,
        "{committed:?} {processed:?} {visible:?}"
    );
    let everything = Query {
        filter: Filter::tenant(TenantId::new(TENANTS[0]).unwrap()),
        order: Order::Desc,
        paging: Paging::Offset(0),
        limit: 1,
    };
    w.search.query(&everything).unwrap();
    assert_eq!(w.search.pending_events() as u64, PENDING_MAX);
}
