//! When the log's pages leave the process's resident set, and the page cache.
//!
//! # The resident set
//!
//! Sealed segments are read through read-only mmaps, so every page a scan reads stays
//! counted in the process's RSS (it is page cache, which the kernel reclaims at will,
//! but operators read RSS). [`Engine::release_sealed_pages`](super::Engine) drops them
//! from the mappings; the next read maps them again from the page cache. The indexer
//! releases after each of its commits. Long scans that are not the indexer's (exports,
//! verifications) hold an [`OpenScan`] while they read; once the last has ended and
//! none has started for [`SCAN_PAGES_IDLE_MS`], the indexer, when it is idle, releases
//! their pages too. The pause keeps back-to-back exports (a SIEM pulling chunk after
//! chunk, a client paging through exports) from mapping the same pages again each time.
//!
//! # The page cache
//!
//! The log is written once and read back rarely: the indexer reads each event once,
//! shortly after it is written, and queries read the few events of their page. Left
//! alone, the page cache grows by every byte written, until the kernel must reclaim
//! it; that pushes out the pages queries use (the search index, the segment indexes),
//! and every new page costs the kernel an allocation (on the 2-vCPU benchmark VMs,
//! whose free memory goes back to the host, a tenth of all CPU in `sealog bench-query`:
//! docs/BENCHMARKS.md, "The page cache"). So once the indexer has committed
//! events, [`uncache_before`] drops the log's pages that held them
//! (`posix_fadvise(DONTNEED)`, whole pages of durable bytes only), except the newest
//! `log_cache_bytes` of the log (1 GiB by default: what followers, exports and queries
//! of the last minutes read again). Past that, the pages freed are the next writes'
//! pages. The indexer reads from the page cache however far it lags; a later reader of
//! older events (a query's page, an export, a verification) reads them from the disk
//! the first time, after which the kernel caches them as usual.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::engine::Shared;
use super::view::{LogView, Segment};
use crate::limits::SCAN_PAGES_IDLE_MS;
use crate::segment::segment_path;
use crate::types::Lsn;

/// The long scans of one engine.
#[derive(Debug, Default)]
pub(crate) struct ScanPages {
    /// Scans reading now.
    open: AtomicUsize,
    /// Scans that have ended, and how many had when the pages were last released.
    ended: AtomicU64,
    released: AtomicU64,
    /// When the last scan ended.
    last_end: Mutex<Option<Instant>>,
}

impl ScanPages {
    /// Records a release of every sealed page (by whichever path).
    pub fn released(&self) {
        self.released
            .store(self.ended.load(Ordering::SeqCst), Ordering::SeqCst);
    }

    /// Whether the pages of ended scans are due for release: a scan has ended since the
    /// last release, none is reading, and the last ended [`SCAN_PAGES_IDLE_MS`] ago.
    pub fn due(&self) -> bool {
        let ended = self.ended.load(Ordering::SeqCst);
        self.released.load(Ordering::SeqCst) != ended
            && self.open.load(Ordering::SeqCst) == 0
            && self
                .last_end
                .lock()
                .is_some_and(|t| t.elapsed() >= Duration::from_millis(SCAN_PAGES_IDLE_MS))
    }
}

/// A long scan of the log in progress (an export, a verification): while any is open,
/// the idle indexer leaves the sealed pages mapped; when the last is dropped, they are
/// released [`SCAN_PAGES_IDLE_MS`] later.
#[derive(Debug)]
pub struct OpenScan {
    shared: Arc<Shared>,
}

impl OpenScan {
    pub(crate) fn new(shared: Arc<Shared>) -> OpenScan {
        shared.scan_pages.open.fetch_add(1, Ordering::SeqCst);
        OpenScan { shared }
    }
}

impl Drop for OpenScan {
    fn drop(&mut self) {
        let pages = &self.shared.scan_pages;
        *pages.last_end.lock() = Some(Instant::now());
        pages.ended.fetch_add(1, Ordering::SeqCst);
        pages.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Drops from the page cache the log's bytes of the events before `lsn` that are
/// visible, durable and not among the newest `log_cache_bytes`, from where the last
/// call stopped (see the module documentation, "The page cache"). The pages are
/// released from this process's mappings first, since the kernel keeps a page that is
/// mapped. Advice only: what is read stays the same. A failure is logged at debug level
/// and the next call starts again where it happened.
pub(crate) fn uncache_before(shared: &Shared, lsn: Lsn) {
    let view = shared.snapshot();
    let Some(last) = view.segments.last() else {
        return;
    };
    let visible_end = last.with_index(|ix| Lsn(ix.first_lsn().0 + ix.count()));
    let durable_end = Lsn(shared.durable_lsn.load(Ordering::SeqCst) + 1);
    let kept_from = newest_bytes_start(&view, shared.config.log_cache_bytes);
    let lsn = lsn.min(visible_end).min(durable_end).min(kept_from);
    let mut below = shared.uncached_below.lock();
    if lsn <= *below {
        return;
    }
    let page = rustix::param::page_size() as u64;
    // The segment holding `below` (the segments before it are done), then onwards.
    let start = view
        .segments
        .partition_point(|s| s.first_lsn() <= *below)
        .saturating_sub(1);
    for segment in &view.segments[start..] {
        // Offsets of the first record to drop and of the end of the last, read under
        // one lock: the active segment may grow meanwhile.
        let span = segment.with_index(|ix| {
            let first = ix.first_lsn();
            let end = Lsn(first.0 + ix.count());
            if first >= lsn || end <= *below {
                return None;
            }
            let from = if *below > first {
                ix.rec(below.0 - first.0)?.offset
            } else {
                0
            };
            let to = if lsn < end {
                ix.rec(lsn.0 - first.0)?.offset
            } else {
                ix.rec(end.0 - first.0 - 1)?.end()
            };
            Some((first, from / page * page, to / page * page))
        });
        let Some((first, from, to)) = span else {
            if segment.first_lsn() >= lsn {
                break;
            }
            continue;
        };
        if to <= from {
            continue;
        }
        if let Segment::Sealed(sealed) = segment.as_ref() {
            let range = usize::try_from(from).unwrap_or(usize::MAX)
                ..usize::try_from(to).unwrap_or(usize::MAX);
            crate::mmap::release_range(&sealed.bytes, range);
        }
        let path = segment_path(&shared.wal, segment.id());
        let dropped = match shared.storage.open_ro(&path) {
            Ok(file) => file
                .drop_cached(from, to - from)
                .map_err(|e| ("posix_fadvise(DONTNEED)", e)),
            Err(e) => Err(("open", e)),
        };
        if let Err((call, e)) = dropped {
            tracing::debug!(path = %path.display(), error = %e, "{call} to drop log pages from the page cache failed");
            *below = (*below).max(first);
            return;
        }
        shared
            .uncached_bytes
            .fetch_add(to - from, Ordering::Relaxed);
    }
    *below = lsn;
}

/// The first LSN whose frame starts within the newest `bytes` of the log's frames (the
/// LSN after the last event if `bytes` is 0; LSN 1 if the log is smaller).
fn newest_bytes_start(view: &LogView, bytes: u64) -> Lsn {
    let mut left = bytes;
    for segment in view.segments.iter().rev() {
        let found = segment.with_index(|ix| {
            let (first, count) = (ix.first_lsn(), ix.count());
            let len = match count.checked_sub(1).and_then(|k| ix.rec(k)) {
                Some(last) => last.end(),
                None => return Err(0),
            };
            if left >= len {
                return Err(len);
            }
            // The first record starting at or after `len - left`.
            let cut = len - left;
            let (mut lo, mut hi) = (0, count);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                match ix.rec(mid) {
                    Some(loc) if loc.offset < cut => lo = mid + 1,
                    _ => hi = mid,
                }
            }
            Ok(Lsn(first.0 + lo))
        });
        match found {
            Ok(lsn) => return lsn,
            Err(len) => left -= len,
        }
    }
    Lsn(1)
}
