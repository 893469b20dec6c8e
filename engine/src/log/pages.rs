//! When the sealed segments' pages leave the process's resident set.
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

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::engine::Shared;
use crate::limits::SCAN_PAGES_IDLE_MS;

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
