//! A data directory written by sealog 0.1 (format version 1: two sealed segments with
//! their index files and an active segment, 150 events of two tenants) must keep
//! opening, verifying and returning exactly the same events. If this test fails, the
//! on-disk format changed: bump the version and keep a reader for version 1.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use sealog_engine::event::write_returned;
use sealog_engine::{Lsn, ScanDirection};

#[test]
fn the_golden_data_dir_opens_verifies_and_returns_the_same_bytes() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden");
    let dir = tempfile::tempdir().unwrap();
    let wal = dir.path().join("wal");
    std::fs::create_dir_all(&wal).unwrap();
    for entry in std::fs::read_dir(golden.join("wal")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), wal.join(entry.file_name())).unwrap();
    }
    let (engine, report) = common::open(common::tiny_config(dir.path()));
    assert_eq!((report.segments, report.events), (3, 150));
    assert!(
        report.torn.is_empty() && report.damage.is_empty(),
        "{report:?}"
    );
    assert!(
        report.rebuilt_indexes.is_empty(),
        "the index files must still load: {report:?}"
    );
    let verified = engine.verify(Lsn(1)..Lsn(u64::MAX));
    assert!(verified.faults.is_empty(), "{:?}", verified.faults);
    let expected = std::fs::read_to_string(golden.join("export.ndjson")).unwrap();
    let mut got = String::new();
    for ev in engine.scan(Lsn(1)..Lsn(u64::MAX), ScanDirection::Forward, true) {
        let ev = ev.unwrap();
        let mut out = Vec::new();
        write_returned(ev.body(), &ev.hash, None, &mut out).unwrap();
        got.push_str(std::str::from_utf8(&out).unwrap());
        got.push('\n');
    }
    assert_eq!(got, expected);
    // By id and by (tenant, seq) too, for an event in a sealed segment.
    let first: serde_json::Value = serde_json::from_str(expected.lines().next().unwrap()).unwrap();
    let id = uuid::Uuid::parse_str(first["id"].as_str().unwrap()).unwrap();
    assert_eq!(engine.get_by_id(&id).unwrap().unwrap().lsn, Lsn(1));
}
