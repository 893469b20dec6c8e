//! Real bytes flipped in real segment files: open reports the damage (segment, offset,
//! LSN, event id), reads refuse to serve the damaged event, verify names it, nothing is
//! rewritten, and undamaged events keep being served.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{open, tenant, tiny_config, Acked};
use sealog_engine::{EngineError, Lsn, Seq};

fn segment_file(dir: &Path, id: u64) -> std::path::PathBuf {
    dir.join("wal").join(format!("{id:020}.seg"))
}

fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

/// A log over several sealed segments, closed; returns what was acknowledged.
fn build(dir: &Path) -> Acked {
    let mut acked = Acked::default();
    let (engine, _) = open(tiny_config(dir));
    for r in 0..300 {
        acked
            .append(&engine, &tenant(["p", "q"][r % 2]), &format!("r{r}"), 3)
            .unwrap();
    }
    assert!(engine.stats().segments >= 4);
    acked
}

#[test]
fn a_flipped_byte_in_a_sealed_segment_is_named_and_never_served() {
    let dir = tempfile::tempdir().unwrap();
    let acked = build(dir.path());
    let (target_tenant, target) = &acked.events[40];
    let (engine, _) = open(tiny_config(dir.path()));
    let ev = engine.get_by_lsn(target.lsn).unwrap().unwrap();
    assert_eq!(
        ev.segment.0, 1,
        "event 40 lies in the first (sealed) segment"
    );
    drop(engine);
    let before = std::fs::read(segment_file(dir.path(), 1)).unwrap();
    flip(&segment_file(dir.path(), 1), ev.offset + 200);

    let (engine, report) = open(tiny_config(dir.path()));
    let d = report
        .damage
        .iter()
        .find(|d| d.lsns == Some((target.lsn, target.lsn)))
        .expect("damage reported");
    assert_eq!(
        (d.segment.0, d.offset, d.id),
        (1, ev.offset, Some(target.id)),
        "{d}"
    );
    // The damaged event is refused, with its segment, offset and LSN; others are served.
    match engine.get_by_lsn(target.lsn) {
        Err(EngineError::Corrupt {
            segment,
            offset,
            lsn,
            ..
        }) => {
            assert_eq!((segment.0, offset, lsn), (1, ev.offset, Some(target.lsn)));
        }
        other => panic!("damaged event served: {other:?}"),
    }
    assert!(engine.get_by_seq(target_tenant, target.seq).is_err());
    assert!(engine.get_by_id(&target.id).is_err());
    assert!(engine.get_by_lsn(Lsn(target.lsn.0 + 1)).unwrap().is_some());
    let verified = engine.verify(Lsn(1)..Lsn(u64::MAX));
    let fault = verified
        .faults
        .iter()
        .find(|f| f.lsn == target.lsn)
        .expect("verify names it");
    assert_eq!(
        (fault.segment.0, fault.offset, fault.id),
        (1, ev.offset, Some(target.id))
    );
    // Sealed-segment damage with an intact index keeps every chain head known: appends
    // continue. Nothing was rewritten.
    assert!(engine.write_refusal().is_none());
    drop(engine);
    let after = std::fs::read(segment_file(dir.path(), 1)).unwrap();
    assert_eq!(before.len(), after.len());
    assert_eq!(
        before.iter().zip(&after).filter(|(a, b)| a != b).count(),
        1,
        "open never repairs"
    );
}

#[test]
fn an_edit_with_the_crc_fixed_up_is_caught_by_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    let acked = build(dir.path());
    let (_, target) = &acked.events[10];
    let (engine, _) = open(tiny_config(dir.path()));
    let ev = engine.get_by_lsn(target.lsn).unwrap().unwrap();
    let body_at = ev.body_offset() as usize;
    drop(engine);
    // Change the request position digit inside the body's event_type ("….k1.n3" →
    // "….k7.n3") and recompute the frame CRC, as a careful forger would.
    let path = segment_file(dir.path(), ev.segment.0);
    let mut bytes = std::fs::read(&path).unwrap();
    let body_len = ev.body().len();
    let body = &mut bytes[body_at..body_at + body_len];
    let pos = body.windows(2).position(|w| w == b".k").unwrap();
    body[pos + 2] = if body[pos + 2] == b'7' { b'8' } else { b'7' };
    let frame = ev.offset as usize;
    let len = u32::from_le_bytes(bytes[frame..frame + 4].try_into().unwrap()) as usize;
    let mut h = crc32fast::Hasher::new();
    h.update(&bytes[frame..frame + 4]);
    h.update(&bytes[frame + 8..frame + 8 + len]);
    bytes[frame + 4..frame + 8].copy_from_slice(&h.finalize().to_le_bytes());
    std::fs::write(&path, bytes).unwrap();

    let (engine, report) = open(tiny_config(dir.path()));
    assert!(
        report
            .damage
            .iter()
            .any(|d| d.id == Some(target.id) && d.lsns == Some((target.lsn, target.lsn))),
        "open names the altered event: {:?}",
        report.damage
    );
    assert!(matches!(
        engine.get_by_lsn(target.lsn),
        Err(EngineError::HashMismatch { .. })
    ));
    let verified = engine.verify(Lsn(1)..Lsn(u64::MAX));
    assert_eq!(verified.faults.len(), 1, "{:?}", verified.faults);
    assert_eq!(
        verified.faults[0].kind,
        sealog_engine::verify::FaultKind::HashMismatch
    );
    assert_eq!(verified.faults[0].id, Some(target.id));
}

#[test]
fn damage_inside_the_active_segment_is_not_mistaken_for_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = tiny_config(dir.path());
    config.segment_bytes = 64 * 1024 * 1024;
    let mut acked = Acked::default();
    {
        let (engine, _) = open(config.clone());
        for r in 0..20 {
            acked
                .append(&engine, &tenant("only"), &format!("r{r}"), 2)
                .unwrap();
        }
    }
    let (_, target) = acked.events[5];
    let (engine, _) = open(config.clone());
    let ev = engine.get_by_lsn(target.lsn).unwrap().unwrap();
    drop(engine);
    flip(&segment_file(dir.path(), ev.segment.0), ev.offset + 120);

    let (engine, report) = open(config.clone());
    assert!(
        report.torn.is_empty(),
        "synced bytes are never cut: {:?}",
        report.torn
    );
    let d = &report.damage[0];
    assert_eq!(
        (d.offset, d.lsns),
        (ev.offset, Some((target.lsn, target.lsn))),
        "{d}"
    );
    // Its tenant cannot be trusted from a damaged frame: read-only, reads still work.
    assert!(matches!(
        engine.append(&tenant("only"), vec![common::event(1)]),
        Err(EngineError::ReadOnly { .. })
    ));
    assert!(engine.get_by_lsn(target.lsn).is_err());
    assert_eq!(
        engine
            .get_by_seq(&tenant("only"), Seq(40))
            .unwrap()
            .unwrap()
            .lsn,
        Lsn(40)
    );
    let last = engine.get_by_lsn(Lsn(40)).unwrap().unwrap();
    assert_eq!(last.hash, acked.events[39].1.hash);
}

#[test]
fn damage_to_the_last_event_of_a_sealed_segment_is_named_by_its_seal() {
    let dir = tempfile::tempdir().unwrap();
    let acked = build(dir.path());
    let (engine, _) = open(tiny_config(dir.path()));
    let last = (1..)
        .map(Lsn)
        .take_while(|lsn| engine.get_by_lsn(*lsn).unwrap().unwrap().segment.0 == 1)
        .last()
        .unwrap();
    let ev = engine.get_by_lsn(last).unwrap().unwrap();
    drop(engine);
    let (target_tenant, target) = acked.events.iter().find(|(_, a)| a.lsn == last).unwrap();
    // A byte of its body: no valid event frame follows it in the segment, only the seal.
    flip(&segment_file(dir.path(), 1), ev.body_offset() + 20);

    let (engine, report) = open(tiny_config(dir.path()));
    assert_eq!(report.damage.len(), 1, "{:?}", report.damage);
    let d = &report.damage[0];
    assert_eq!(
        (d.segment.0, d.offset, d.lsns, d.id),
        (1, ev.offset, Some((last, last)), Some(target.id)),
        "{d}"
    );
    assert!(matches!(
        engine.get_by_lsn(last),
        Err(EngineError::Corrupt { lsn: Some(l), .. }) if l == last
    ));
    assert!(engine.get_by_seq(target_tenant, target.seq).is_err());
    assert!(engine.get_by_lsn(Lsn(last.0 + 1)).unwrap().is_some());
    assert!(engine.write_refusal().is_none(), "its index file names it");
    drop(engine);

    // Without the index file, the walk alone still knows the damaged LSN from the seal:
    // reads of it fail with the damage (not "no such event"), and since its tenant is
    // unknown, appends are refused.
    std::fs::remove_file(dir.path().join("wal").join(format!("{:020}.idx", 1))).unwrap();
    let (engine, report) = open(tiny_config(dir.path()));
    assert!(
        report.damage.iter().any(|d| d.lsns == Some((last, last))),
        "{:?}",
        report.damage
    );
    assert!(matches!(
        engine.get_by_lsn(last),
        Err(EngineError::Corrupt { .. })
    ));
    assert!(engine.get_by_lsn(Lsn(last.0 + 1)).unwrap().is_some());
    assert!(engine.write_refusal().is_some());
}
