//! Long scans of the log (a verification, an export) leave the sealed segments' pages
//! they read counted in the process's RSS until they are released: by
//! `release_pages_after_scans` once no scan has been open for `SCAN_PAGES_IDLE_MS`,
//! which the idle indexer calls, so an idle server does not wait for a commit that may
//! never come. Residency is read from /proc/self/smaps, so these
//! tests watch the real mappings of the real segment files.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealog_engine::export::{Encoder, ExportCursor, ExportSpec, NdjsonEncoder};
use sealog_engine::limits::SCAN_PAGES_IDLE_MS;
use sealog_engine::search::{Filter, Order, SearchConfig, SearchIndex};
use sealog_engine::{Engine, Lsn};

/// KiB of the mappings of `dir`'s sealed segment files resident in this process.
fn resident_segment_kib(dir: &Path) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let wal = dir.join("wal");
    let wal = wal.to_str().unwrap();
    let mut total = 0;
    let mut ours = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            // A mapping's header line: its path, if any, is its last field.
            ours = line.contains(wal) && line.trim_end().ends_with(".seg");
        } else if ours && line.starts_with("Rss:") {
            total += line
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse::<u64>()
                .unwrap();
        }
    }
    total
}

/// An engine with about twenty sealed 64 KiB segments.
fn filled(dir: &Path) -> Arc<Engine> {
    let (engine, _) = common::open(common::tiny_config(dir));
    let t = common::tenant("acme");
    for i in 0..300u64 {
        engine
            .append(&t, (0..10).map(|k| common::event(i * 10 + k)).collect())
            .unwrap();
    }
    assert!(engine.stats().segments > 10, "tiny segments must roll");
    Arc::new(engine)
}

/// Polls `release_pages_after_scans` until it releases (it waits for the scans to have
/// been over for `SCAN_PAGES_IDLE_MS`).
fn release_when_due(engine: &Engine) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !engine.release_pages_after_scans() {
        assert!(Instant::now() < deadline, "the pages were never released");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_verification_s_pages_are_released_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = filled(dir.path());
    engine.release_sealed_pages();
    assert_eq!(resident_segment_kib(dir.path()), 0);
    assert!(
        !engine.release_pages_after_scans(),
        "no scan has ended since the release"
    );

    let report = engine.verify(Lsn(1)..Lsn(u64::MAX));
    assert!(
        report.faults.is_empty() && report.events == 3_000,
        "{report:?}"
    );
    let read = resident_segment_kib(dir.path());
    assert!(
        read >= 64 * 10,
        "the verification read the sealed segments: {read} KiB"
    );

    // While a scan is open, its pages stay mapped, however long it has been since
    // the verification ended.
    let scan = engine.begin_scan();
    std::thread::sleep(Duration::from_millis(SCAN_PAGES_IDLE_MS + 200));
    assert!(!engine.release_pages_after_scans(), "a scan is open");
    assert!(resident_segment_kib(dir.path()) >= read);
    drop(scan);

    release_when_due(&engine);
    assert_eq!(resident_segment_kib(dir.path()), 0);
    assert!(
        !engine.release_pages_after_scans(),
        "released once per scan"
    );
    // Released pages read the same: a second verification agrees.
    let again = engine.verify(Lsn(1)..Lsn(u64::MAX));
    assert!(again.faults.is_empty() && again.events == 3_000);
}

#[test]
fn an_idle_indexer_releases_an_export_s_pages() {
    let dir = tempfile::tempdir().unwrap();
    let engine = filled(dir.path());
    let mut config = SearchConfig::new(dir.path());
    config.commit_interval = Duration::from_millis(100);
    let search = SearchIndex::open(engine.clone(), config).unwrap();
    assert!(search.wait_committed(engine.stats().visible_lsn, Duration::from_secs(30)));
    engine.release_sealed_pages();
    assert_eq!(resident_segment_kib(dir.path()), 0);

    let spec = ExportSpec {
        filter: Filter::tenant(common::tenant("acme")),
        order: Order::Asc,
        from_seq: None,
        limit: None,
        until: None,
    };
    let mut cursor = ExportCursor::open(&search, spec).unwrap();
    let mut encoder = NdjsonEncoder;
    let mut out = Vec::new();
    let mut events = 0;
    loop {
        let c = cursor.next_chunk(1_000, &mut encoder, &mut out).unwrap();
        events += c.events;
        if c.done {
            encoder.end(&mut out);
            break;
        }
    }
    assert_eq!(events, 3_000);
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 3_000);
    // Nothing is appended, so no commit comes: the idle indexer releases the pages
    // once the export's cursor has been gone for SCAN_PAGES_IDLE_MS (it checks every
    // 200 ms at most), and not while the cursor lives.
    let read = resident_segment_kib(dir.path());
    assert!(
        read >= 64 * 10,
        "the export read the sealed segments: {read} KiB"
    );
    std::thread::sleep(Duration::from_millis(SCAN_PAGES_IDLE_MS + 500));
    assert!(
        resident_segment_kib(dir.path()) >= read,
        "released while the export was open"
    );
    drop(cursor);
    let deadline = Instant::now() + Duration::from_secs(30);
    while resident_segment_kib(dir.path()) > 0 {
        assert!(
            Instant::now() < deadline,
            "the idle indexer did not release the export's pages"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!engine.release_pages_after_scans(), "already released");
    search.close();
}
