//! Forgeries that every framing check accepts (valid CRCs, seals and digests; see
//! `storage::testkit::forge`) are named by tenant verification: an edited event
//! (`hash_mismatch`), an edit with its hash recomputed (the next event's
//! `chain_link_mismatch`), a deleted event, two events swapped. Real files, real bytes.
#![allow(clippy::unwrap_used)]

mod common;

use common::{event, open, tenant, tiny_config};
use sealog_engine::storage::testkit::forge::Forger;
use sealog_engine::verify::FaultKind;
use sealog_engine::{Engine, Lsn, RecoveryReport, Seq, TenantId};

/// 1,200 events of tenants a and b interleaved over several tiny segments; returns the
/// (tenant, seq, lsn, id) of each.
fn build(dir: &std::path::Path) -> Vec<(TenantId, Seq, Lsn, uuid::Uuid)> {
    let (engine, _) = open(tiny_config(dir));
    let mut out = Vec::new();
    for i in 0..600u64 {
        for t in [tenant("a"), tenant("b")] {
            let got = engine.append(&t, vec![event(i)]).unwrap();
            out.extend(got.into_iter().map(|g| (t.clone(), g.seq, g.lsn, g.id)));
        }
    }
    assert!(engine.stats().segments > 2);
    out
}

fn reopen(dir: &std::path::Path) -> (Engine, RecoveryReport) {
    open(tiny_config(dir))
}

/// (seq, kind) of every fault of the tenant's whole chain.
fn faults(engine: &Engine, t: &TenantId, links: bool) -> Vec<(u64, FaultKind)> {
    let head = engine.chain_head(t).seq;
    let report = engine.verify_tenant(t, Seq(1), head, links);
    report
        .faults
        .iter()
        .map(|f| (f.seq.unwrap().0, f.kind.clone()))
        .collect()
}

fn lsn_of(events: &[(TenantId, Seq, Lsn, uuid::Uuid)], t: &str, seq: u64) -> Lsn {
    events
        .iter()
        .find(|(tt, s, _, _)| tt.as_str() == t && s.0 == seq)
        .unwrap()
        .2
}

#[test]
fn an_intact_log_verifies_per_tenant_and_by_range() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let (engine, _) = reopen(dir.path());
    for t in [tenant("a"), tenant("b")] {
        let r = engine.verify_tenant(&t, Seq(1), Seq(600), true);
        assert_eq!((r.events, r.faults.len()), (600, 0), "{:?}", r.faults);
        // A range starting mid-chain checks its first link against the event before.
        let r = engine.verify_tenant(&t, Seq(40), Seq(90), true);
        assert_eq!((r.events, r.faults.len()), (51, 0), "{:?}", r.faults);
    }
    assert_eq!(
        engine.seqs_in_time(&tenant("a"), None, None),
        Some((Seq(1), Seq(600)))
    );
    assert_eq!(engine.seqs_in_time(&tenant("nobody"), None, None), None);
    let (_, t40) = engine.locate_seq(&tenant("a"), Seq(40)).unwrap();
    let (_, t90) = engine.locate_seq(&tenant("a"), Seq(90)).unwrap();
    let (first, last) = engine
        .seqs_in_time(&tenant("a"), Some(t40), Some(t90))
        .unwrap();
    assert!(
        first <= Seq(40) && last >= Seq(89) && last < Seq(90),
        "{first:?}..{last:?}"
    );
}

#[test]
fn an_edit_with_the_crc_fixed_up_is_a_hash_mismatch_of_that_event() {
    let dir = tempfile::tempdir().unwrap();
    let events = build(dir.path());
    let lsn = lsn_of(&events, "a", 77);
    let mut forger = Forger::load(dir.path()).unwrap();
    forger
        .event_mut(lsn)
        .replace(b"test.event.", b"test.eVent.");
    forger.save().unwrap();
    let (engine, _) = reopen(dir.path());
    assert_eq!(
        faults(&engine, &tenant("a"), true),
        vec![(77, FaultKind::HashMismatch)]
    );
    assert_eq!(
        faults(&engine, &tenant("a"), false),
        vec![(77, FaultKind::HashMismatch)]
    );
    assert!(faults(&engine, &tenant("b"), true).is_empty());
}

#[test]
fn an_edit_with_its_hash_recomputed_breaks_the_next_link() {
    let dir = tempfile::tempdir().unwrap();
    let events = build(dir.path());
    let lsn = lsn_of(&events, "b", 30);
    let mut forger = Forger::load(dir.path()).unwrap();
    let e = forger.event_mut(lsn);
    e.replace(b"test.event.", b"test.eVent.");
    e.rehash();
    forger.save().unwrap();
    let (engine, _) = reopen(dir.path());
    assert_eq!(
        faults(&engine, &tenant("b"), true),
        vec![(31, FaultKind::ChainLinkMismatch)]
    );
    // Hashes alone cannot see it: the edited event matches its new hash.
    assert!(faults(&engine, &tenant("b"), false).is_empty());
    // A range that starts right after the edit still checks the link into it.
    let r = engine.verify_tenant(&tenant("b"), Seq(31), Seq(40), true);
    assert_eq!(r.faults.len(), 1, "{:?}", r.faults);
    assert_eq!(r.faults[0].seq, Some(Seq(31)));
}

#[test]
fn a_deleted_event_is_named_at_the_event_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let events = build(dir.path());
    let mut forger = Forger::load(dir.path()).unwrap();
    forger.delete(lsn_of(&events, "a", 100));
    forger.save().unwrap();
    let (engine, _) = reopen(dir.path());
    assert_eq!(
        faults(&engine, &tenant("a"), true),
        vec![(101, FaultKind::ChainLinkMismatch)]
    );
    assert!(faults(&engine, &tenant("b"), true).is_empty());
}

#[test]
fn two_swapped_events_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let events = build(dir.path());
    let mut forger = Forger::load(dir.path()).unwrap();
    forger.swap(lsn_of(&events, "a", 10), lsn_of(&events, "a", 11));
    forger.save().unwrap();
    let (engine, _) = reopen(dir.path());
    let found = faults(&engine, &tenant("a"), true);
    assert!(
        !found.is_empty()
            && found
                .iter()
                .all(|(_, k)| *k == FaultKind::ChainLinkMismatch),
        "{found:?}"
    );
    assert!(
        found.iter().any(|(s, _)| (10..=12).contains(s)),
        "{found:?}"
    );
}
