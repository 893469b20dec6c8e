//! `Engine::uncache_before` drops the log's pages of events already read by the indexer
//! from the page cache (`log::pages`, "The page cache"). These tests check it on real
//! files (residency from `mincore`), sealed and active; on the model disk, that only
//! durable bytes are ever dropped; through the search index, that its commits drop
//! what it has indexed; and that every event reads back the same after.
#![allow(clippy::unwrap_used)]
// `mincore` needs a mapping of the file and a raw call; nothing else here is unsafe.
#![allow(unsafe_code)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sealog_engine::event::PreparedEvent;
use sealog_engine::search::{Filter, Order, Paging, Query, SearchConfig, SearchIndex};
use sealog_engine::storage::testkit::FaultyStorage;
use sealog_engine::storage::Storage;
use sealog_engine::{Durability, Engine, EngineConfig, Lsn, Seq};

/// Event `k` of request `r` (of 100), about 1.1 KiB, tagged as `common::check_whole`
/// expects.
fn big_event(r: u64, k: u64) -> PreparedEvent {
    let description = "x".repeat(1000);
    let json =
        format!(r#"{{"event_type":"crash.r{r}.k{k}.n100","event_description":"{description}"}}"#);
    sealog_engine::event::prepare_event(json.as_bytes()).unwrap()
}

/// Appends requests of 100 events until the log holds `mib` MiB; returns the events.
fn append_mib(engine: &Engine, mib: u64) -> u64 {
    let tenant = common::tenant("acme");
    let mut r = 0;
    while engine.stats().log_bytes < mib * 1024 * 1024 {
        engine
            .append(&tenant, (0..100).map(|k| big_event(r, k)).collect())
            .unwrap();
        r += 1;
    }
    r * 100
}

/// The segment files in `dir/wal`, oldest first.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segments.sort();
    segments
}

/// Bytes of the segment files in `dir/wal` in the page cache now, each file up to its
/// last whole page (the page being written is never dropped).
fn resident_log_bytes(dir: &Path) -> (u64, u64) {
    let files = segments(dir);
    let (mut resident, mut total) = (0, 0);
    for file in &files {
        let len = std::fs::metadata(file).unwrap().len() / 4096 * 4096;
        resident += resident_bytes(file, len);
        total += len;
    }
    (resident, total)
}

/// Bytes of `path` within `0..len` that are in the page cache now.
fn resident_bytes(path: &Path, len: u64) -> u64 {
    let file = std::fs::File::open(path).unwrap();
    // SAFETY: a read-only shared mapping that is never read: mincore only inspects
    // which of its pages are resident, and the mapping is dropped before returning.
    let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
    let len = usize::try_from(len).unwrap().min(map.len());
    let page = 4096;
    let mut resident = vec![0u8; len.div_ceil(page)];
    // SAFETY: `map` is a live mapping at least `len` bytes long (page-aligned start, as
    // mmap returns), and `resident` has one byte per page of it, as mincore requires.
    let rc = unsafe {
        libc::mincore(
            map.as_ptr() as *mut libc::c_void,
            len,
            resident.as_mut_ptr(),
        )
    };
    assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
    resident.iter().filter(|b| **b & 1 == 1).count() as u64 * page as u64
}

/// A temporary directory whose files' pages can leave the page cache; `None` (the test
/// says why and passes) on tmpfs, which holds files only there.
fn real_disk_dir() -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    let tmpfs = rustix::fs::statfs(dir.path()).is_ok_and(|s| s.f_type == libc::TMPFS_MAGIC);
    if tmpfs {
        eprintln!(
            "skipped: {} is on tmpfs, which keeps every page",
            dir.path().display()
        );
        return None;
    }
    Some(dir)
}

/// The active segment rolls every 4 MiB, and every page of committed events may be
/// dropped.
fn small_segments(dir: &Path) -> EngineConfig {
    let mut config = EngineConfig::new(dir);
    config.segment_bytes = 4 * 1024 * 1024;
    config.log_cache_bytes = 0;
    config
}

#[test]
fn the_pages_of_events_before_the_lsn_leave_the_page_cache() {
    let Some(dir) = real_disk_dir() else { return };
    let config = small_segments(dir.path());
    let (engine, _) = common::open(config.clone());
    let events = append_mib(&engine, 14);
    assert!(segments(dir.path()).len() >= 4, "segments must roll");
    // Read everything once, as the indexer does, so sealed pages are mapped too.
    common::check_whole(&engine, "before");
    // Half the events: their segments leave the cache, the rest is not asked about.
    let half = Lsn(events / 2);
    engine.uncache_before(half);
    let files = segments(dir.path());
    let first = std::fs::metadata(&files[0]).unwrap().len() / 4096 * 4096;
    let resident = resident_bytes(&files[0], first);
    assert!(
        resident * 10 < first,
        "{resident} of {first} bytes of the first segment still cached"
    );
    // All of them (and past the end: only durable bytes count).
    engine.uncache_before(Lsn(u64::MAX));
    let (resident, total) = resident_log_bytes(dir.path());
    assert!(
        resident * 10 < total,
        "{resident} of {total} log bytes still cached"
    );
    // The events read the same, from the disk now, and after a reopen.
    common::check_whole(&engine, "after the drop");
    let tenant = common::tenant("acme");
    let first_event = engine.get_by_seq(&tenant, Seq(1)).unwrap().unwrap();
    drop(engine);
    let (engine, report) = common::open(config);
    assert!(
        report.torn.is_empty() && report.damage.is_empty(),
        "{report:?}"
    );
    let again = engine.get_by_seq(&tenant, Seq(1)).unwrap().unwrap();
    assert_eq!(again.hash, first_event.hash);
    common::check_whole(&engine, "after reopen");
    assert_eq!(engine.stats().visible_lsn, Lsn(events));
}

#[test]
fn the_newest_log_cache_bytes_stay_cached() {
    let Some(dir) = real_disk_dir() else { return };
    let mut config = small_segments(dir.path());
    config.log_cache_bytes = 6 * 1024 * 1024;
    let (engine, _) = common::open(config);
    append_mib(&engine, 14);
    common::check_whole(&engine, "read once");
    engine.uncache_before(Lsn(u64::MAX));
    // Newest first: the segments holding the newest 6 MiB are cached, the older ones
    // are not (one segment may be split).
    let mut files = segments(dir.path());
    files.reverse();
    let lens: Vec<u64> = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len() / 4096 * 4096)
        .collect();
    let (mut newest, mut i) = (0, 0);
    while newest + lens[i] <= 6 * 1024 * 1024 {
        let resident = resident_bytes(&files[i], lens[i]);
        assert!(
            resident * 2 > lens[i],
            "{}: only {resident} of {} bytes cached",
            files[i].display(),
            lens[i]
        );
        newest += lens[i];
        i += 1;
    }
    for (file, len) in files.iter().zip(&lens).skip(i + 1) {
        let resident = resident_bytes(file, *len);
        assert!(
            resident * 10 < *len,
            "{}: {resident} of {len} bytes still cached",
            file.display()
        );
    }
}

#[test]
fn the_indexers_commits_drop_what_it_has_indexed() {
    let Some(dir) = real_disk_dir() else { return };
    let (engine, _) = common::open(small_segments(dir.path()));
    let engine = Arc::new(engine);
    let search = SearchIndex::open(engine.clone(), SearchConfig::new(dir.path())).unwrap();
    append_mib(&engine, 10);
    let visible = engine.stats().visible_lsn;
    assert!(search.wait_committed(visible, Duration::from_secs(60)));
    let (resident, total) = resident_log_bytes(dir.path());
    assert!(
        resident * 10 < total,
        "{resident} of {total} log bytes still cached"
    );
    // And a query still finds and reads them (from the disk).
    let query = Query {
        filter: Filter::tenant(common::tenant("acme")),
        order: Order::Asc,
        paging: Paging::Offset(0),
        limit: 10,
    };
    let page = search.query(&query).unwrap();
    assert_eq!(page.total, visible.0);
    assert_eq!(page.hits[9].event.lsn, Lsn(10));
}

/// On the model disk: `disk`'s drops so far, after appending 10 MiB in 4 MiB segments
/// with `durability` and asking to drop everything.
fn model_drops(durability: Durability) -> (FaultyStorage, Engine, u64) {
    let disk = FaultyStorage::with_seed(7);
    let mut config = common::faulty_config();
    config.segment_bytes = 4 * 1024 * 1024;
    config.log_cache_bytes = 0;
    config.durability = durability;
    let (engine, _) = Engine::open(config, Arc::new(disk.clone()) as Arc<dyn Storage>).unwrap();
    let events = append_mib(&engine, 10);
    engine.uncache_before(Lsn(u64::MAX));
    (disk, engine, events)
}

#[test]
fn only_durable_bytes_are_dropped() {
    // With every batch synced before it is visible, everything but the last page of
    // each segment is dropped.
    let (disk, engine, events) = model_drops(Durability::Sync);
    let drops = disk.cache_drops();
    let written = engine.stats().log_bytes;
    let segments = engine.stats().segments as u64;
    assert_eq!(drops.undurable_calls, 0, "{drops:?}");
    assert!(
        drops.durable_bytes + segments * 4096 >= written && drops.durable_bytes <= written,
        "{drops:?} of {written} bytes in {segments} segments"
    );
    // The model disk's power loss keeps every acknowledged event.
    drop(engine);
    disk.crash();
    let mut config = common::faulty_config();
    config.segment_bytes = 4 * 1024 * 1024;
    let (engine, _) = Engine::open(config, Arc::new(disk.clone()) as Arc<dyn Storage>).unwrap();
    common::check_whole(&engine, "after a crash");
    assert_eq!(engine.stats().visible_lsn, Lsn(events));

    // With a sync every 10 s, events are visible before they are durable: only what
    // the segments' seals made durable may be dropped.
    let (disk, engine, _) = model_drops(Durability::Interval { ms: 10_000 });
    let drops = disk.cache_drops();
    assert_eq!(drops.undurable_calls, 0, "{drops:?}");
    assert!(engine.stats().durable_lsn < engine.stats().visible_lsn);
}
