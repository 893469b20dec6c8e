//! `Engine::uncache_before` drops the log's pages of events already read by the indexer
//! from the page cache, except the newest `log_cache_bytes` (`log::pages`, "The page
//! cache"). These tests check it on real files (residency from `mincore`), sealed and
//! active, including what must stay cached; on the model disk, that only durable bytes
//! are ever dropped; through the search index, that its commits drop what it has
//! indexed; and that every event reads back the same after.
#![allow(clippy::unwrap_used)]
// `mincore` needs a mapping of the file and a raw call; nothing else here is unsafe.
#![allow(unsafe_code)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealog_engine::event::PreparedEvent;
use sealog_engine::search::{Filter, Order, Paging, Query, SearchConfig, SearchIndex};
use sealog_engine::storage::testkit::FaultyStorage;
use sealog_engine::storage::Storage;
use sealog_engine::{Durability, Engine, EngineConfig, Lsn, Seq};

const MIB: u64 = 1024 * 1024;

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
    while engine.stats().log_bytes < mib * MIB {
        engine
            .append(&tenant, (0..100).map(|k| big_event(r, k)).collect())
            .unwrap();
        r += 1;
    }
    r * 100
}

/// The segment files in `dir/wal`, oldest first, each with the length of its written
/// bytes: a sealed file's length, and for the last (active, preallocated) file what the
/// engine says it holds.
fn segments(dir: &Path, engine: &Engine) -> Vec<(PathBuf, u64)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    files.sort();
    let mut sealed = 0;
    let mut out = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let len = if i + 1 < files.len() {
            let len = std::fs::metadata(file).unwrap().len();
            sealed += len;
            len
        } else {
            engine.stats().log_bytes - sealed
        };
        out.push((file.clone(), len));
    }
    out
}

/// The page size.
fn page() -> u64 {
    rustix::param::page_size() as u64
}

/// Bytes of the whole pages of `path` within `0..len` that are in the page cache now,
/// and how many bytes those whole pages hold.
fn resident(path: &Path, len: u64) -> (u64, u64) {
    let len = len / page() * page();
    let file = std::fs::File::open(path).unwrap();
    // SAFETY: a read-only shared mapping that is never read: mincore only inspects
    // which of its pages are resident, and the mapping is dropped before returning.
    let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
    let len = usize::try_from(len).unwrap().min(map.len());
    let mut flags = vec![0u8; len.div_ceil(page() as usize)];
    // SAFETY: `map` is a live mapping at least `len` bytes long (page-aligned start, as
    // mmap returns), and `flags` has one byte per page of it, as mincore requires.
    let rc = unsafe { libc::mincore(map.as_ptr() as *mut libc::c_void, len, flags.as_mut_ptr()) };
    assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
    let pages = flags.iter().filter(|b| **b & 1 == 1).count() as u64;
    (pages * page(), len as u64)
}

/// Resident bytes and whole-page bytes of all `files`.
fn resident_all(files: &[(PathBuf, u64)]) -> (u64, u64) {
    files.iter().fold((0, 0), |(r, t), (f, len)| {
        let (fr, ft) = resident(f, *len);
        (r + fr, t + ft)
    })
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

/// Whether the log just written is in the page cache, as written pages are on a file
/// system with a page cache. If not (the kernel evicted them, or the file system keeps
/// none), what the tests drop would prove nothing: they say so and pass.
fn written_pages_are_cached(files: &[(PathBuf, u64)]) -> bool {
    let (resident, total) = resident_all(files);
    let cached = resident * 2 > total;
    if !cached {
        eprintln!("skipped: only {resident} of the {total} bytes just written are cached");
    }
    cached
}

/// The active segment rolls every 4 MiB, and every page of committed events may be
/// dropped.
fn small_segments(dir: &Path) -> EngineConfig {
    let mut config = EngineConfig::new(dir);
    config.segment_bytes = 4 * MIB;
    config.log_cache_bytes = 0;
    config
}

#[test]
fn the_pages_of_events_before_the_lsn_leave_the_page_cache() {
    let Some(dir) = real_disk_dir() else { return };
    let config = small_segments(dir.path());
    let (engine, _) = common::open(config.clone());
    let events = append_mib(&engine, 14);
    // Read everything once, as the indexer does, so sealed pages are mapped too.
    common::check_whole(&engine, "before");
    let files = segments(dir.path(), &engine);
    assert!(files.len() >= 4, "segments must roll: {files:?}");
    if !written_pages_are_cached(&files) {
        return;
    }
    // Half the events: the first segment leaves the cache, the last sealed one stays.
    engine.uncache_before(Lsn(events / 2));
    let (first, len) = &files[0];
    let (r, t) = resident(first, *len);
    assert!(
        r * 10 < t,
        "{r} of {t} bytes of the first segment still cached"
    );
    let (last_sealed, len) = &files[files.len() - 2];
    let (r, t) = resident(last_sealed, *len);
    assert!(
        r * 2 > t,
        "only {r} of {t} bytes of the last sealed segment cached"
    );
    // All of them (and past the end: only visible, durable bytes count).
    engine.uncache_before(Lsn(u64::MAX));
    let (r, t) = resident_all(&files);
    assert!(r * 10 < t, "{r} of {t} log bytes still cached");
    assert!(engine.stats().uncached_bytes * 10 > t * 9);
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
    config.log_cache_bytes = 6 * MIB;
    let (engine, _) = common::open(config);
    append_mib(&engine, 14);
    common::check_whole(&engine, "read once");
    let files = segments(dir.path(), &engine);
    if !written_pages_are_cached(&files) {
        return;
    }
    engine.uncache_before(Lsn(u64::MAX));
    // Newest first: the segments wholly within the newest 6 MiB stay cached, those
    // wholly before it leave (the one in between may be split).
    let mut newest = 0;
    for (i, (file, len)) in files.iter().enumerate().rev() {
        let (r, t) = resident(file, *len);
        if newest + len <= 6 * MIB {
            assert!(r * 2 > t, "{i}: only {r} of {t} bytes cached");
        } else if newest >= 6 * MIB {
            assert!(r * 10 < t, "{i}: {r} of {t} bytes still cached");
        }
        newest += len;
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
    // The commit is published before the indexer drops what it covers: wait for both.
    let files = segments(dir.path(), &engine);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (r, t) = resident_all(&files);
        if r * 10 < t {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{r} of {t} log bytes still cached"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
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

/// On the model disk: 10 MiB appended in 4 MiB segments with `durability`, then
/// everything asked to be dropped.
fn model_drops(durability: Durability) -> (FaultyStorage, Engine, u64) {
    let disk = FaultyStorage::with_seed(7);
    let mut config = common::faulty_config();
    config.segment_bytes = 4 * MIB;
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
        drops.durable_bytes + segments * 2 * page() >= written && drops.durable_bytes <= written,
        "{drops:?} of {written} bytes in {segments} segments"
    );
    assert_eq!(drops.durable_bytes, engine.stats().uncached_bytes);
    // The model disk's power loss keeps every acknowledged event.
    drop(engine);
    disk.crash();
    let mut config = common::faulty_config();
    config.segment_bytes = 4 * MIB;
    let (engine, _) = Engine::open(config, Arc::new(disk.clone()) as Arc<dyn Storage>).unwrap();
    common::check_whole(&engine, "after a crash");
    assert_eq!(engine.stats().visible_lsn, Lsn(events));

    // With a sync every 10 s, events are visible before they are durable: only what
    // the segments' seals made durable is dropped.
    let (disk, engine, _) = model_drops(Durability::Interval { ms: 10_000 });
    let drops = disk.cache_drops();
    assert_eq!(drops.undurable_calls, 0, "{drops:?}");
    assert!(
        drops.durable_bytes > 4 * MIB,
        "{drops:?}: the sealed segments"
    );
    assert!(engine.stats().durable_lsn < engine.stats().visible_lsn);
}
