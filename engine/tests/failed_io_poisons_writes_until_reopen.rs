//! A failed write or fsync (EIO, ENOSPC, short write) fails the appends that depended on
//! it and every later one (the engine never retries and hopes); reads keep working;
//! reopening recovers with every acknowledged event intact.
#![allow(clippy::unwrap_used)]

mod common;

use common::{faulty_config, open_faulty, tenant, Acked};
use sealog_engine::storage::testkit::{self, Fault, OpKind};
use sealog_engine::EngineError;

fn scenario(kind: OpKind, fault: Fault) {
    let (seed, disk) = testkit::seeded();
    let mut acked = Acked::default();
    let (engine, _) = open_faulty(&disk, faulty_config()).unwrap();
    let t = tenant("t");
    for r in 0..5 {
        acked.append(&engine, &t, &format!("ok{r}"), 4).unwrap();
    }
    disk.fail_matching(kind, ".seg", fault);
    let err = Acked::default()
        .append(&engine, &t, "failing", 3)
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Poisoned { .. }),
        "seed {seed}: {err}"
    );
    // Poisoned: later appends fail at once, with the cause.
    let later = Acked::default()
        .append(&engine, &t, "later", 1)
        .unwrap_err();
    assert!(
        matches!(&later, EngineError::Poisoned { cause } if !cause.is_empty()),
        "{later}"
    );
    assert!(engine.write_refusal().is_some());
    // Reads still work.
    acked.check(&engine, &format!("seed {seed}, poisoned"));
    drop(engine);
    disk.clear_faults();
    let (engine, _) = open_faulty(&disk, faulty_config()).unwrap();
    acked.check(&engine, &format!("seed {seed}, reopened"));
    acked.append(&engine, &t, "again", 2).unwrap();
    acked.check(&engine, &format!("seed {seed}, appended after reopen"));
}

#[test]
fn failed_fsync() {
    scenario(OpKind::Sync, Fault::SyncFail);
}

#[test]
fn fsync_eio() {
    scenario(OpKind::Sync, Fault::Eio);
}

#[test]
fn write_eio() {
    scenario(OpKind::Write, Fault::Eio);
}

#[test]
fn write_enospc() {
    scenario(OpKind::Write, Fault::Enospc);
}

#[test]
fn short_write() {
    scenario(OpKind::Write, Fault::ShortWrite);
}

#[test]
fn no_space_for_a_new_segment() {
    let (seed, disk) = testkit::seeded();
    let mut acked = Acked::default();
    let (engine, _) = open_faulty(&disk, faulty_config()).unwrap();
    let t = tenant("t");
    // The disk is full: the background preallocation of the spare segment fails, and so
    // does the roll's own attempt.
    for _ in 0..4 {
        disk.fail_matching(OpKind::Allocate, "wal/", Fault::Enospc);
    }
    // Append until a roll needs a new segment; that append fails, nothing is lost.
    let mut failed = false;
    for r in 0..500 {
        if acked.append(&engine, &t, &format!("r{r}"), 4).is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "seed {seed}: a roll must have hit the full disk");
    drop(engine);
    disk.clear_faults();
    let (engine, _) = open_faulty(&disk, faulty_config()).unwrap();
    acked.check(&engine, &format!("seed {seed}"));
}
