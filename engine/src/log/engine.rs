//! [`Engine`]: open, append, close. Reads are in `read.rs`.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Mutex, RwLock};
use tokio::sync::{oneshot, watch};

use super::append::{AppendTicket, Budget, Request};
use super::commit::Sequencer;
use super::fsyncs::FsyncStats;
use super::sync::{Sealer, Syncer};
use super::view::LogView;
use crate::chain::ChainHead;
use crate::config::{Durability, EngineConfig};
use crate::error::{EngineError, IoContext, Result};
use crate::event::PreparedEvent;
use crate::limits::{APPEND_BYTES_MAX, BATCH_EVENTS_MAX};
use crate::recovery::{self, RecoveryReport};
use crate::storage::Storage;
use crate::types::{Lsn, TenantId};

/// State shared by the engine handle and its threads.
pub(crate) struct Shared {
    pub config: EngineConfig,
    pub storage: Arc<dyn Storage>,
    pub wal: PathBuf,
    pub view: RwLock<Arc<LogView>>,
    /// Highest LSN made durable by a completed fdatasync.
    pub durable_lsn: AtomicU64,
    /// Highest LSN published to readers; followers subscribe to it.
    pub visible: watch::Sender<Lsn>,
    /// For threads that block until new events are visible.
    visible_lock: Mutex<()>,
    visible_changed: parking_lot::Condvar,
    /// Chain heads of what is published (readers' view; the sequencer keeps its own).
    pub heads: RwLock<HashMap<TenantId, ChainHead>>,
    pub budget: Budget,
    pub clock: Arc<dyn Clock>,
    /// A preallocated file for the next segment, made ready in the background.
    pub spare: Mutex<Option<(PathBuf, crate::storage::FileHandle)>>,
    poisoned: AtomicBool,
    poison_cause: Mutex<Option<String>>,
    pub read_only: Option<String>,
    /// Long scans and the release of the pages they read.
    pub scan_pages: super::pages::ScanPages,
    /// The log's bytes of events below this LSN have been dropped from the page cache
    /// (`log::pages`, "The page cache").
    pub uncached_below: Mutex<Lsn>,
    /// Bytes advised out of the page cache so far.
    pub uncached_bytes: AtomicU64,
    /// Blocks of active-segment memory allocated and reused (`log::arena`).
    pub arena: Arc<super::arena::ArenaCounters>,
    /// The syncer's fsyncs, timed (`log::fsyncs`).
    pub fsyncs: super::fsyncs::FsyncCounters,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("wal", &self.wal)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Refuses writes from now on; the first cause is kept.
    pub fn poison(&self, cause: String) {
        let mut slot = self.poison_cause.lock();
        if slot.is_none() {
            tracing::error!(%cause, "engine poisoned: writes are refused until restart");
            *slot = Some(cause);
        }
        self.poisoned.store(true, Ordering::SeqCst);
    }

    /// The error every write gets when writes are refused, if they are.
    pub fn write_refusal(&self) -> Option<EngineError> {
        if self.poisoned.load(Ordering::SeqCst) {
            let cause = self.poison_cause.lock().clone().unwrap_or_default();
            return Some(EngineError::Poisoned { cause });
        }
        self.read_only.as_ref().map(|reason| EngineError::ReadOnly {
            reason: reason.clone(),
        })
    }

    /// Makes events up to `lsn` visible and wakes whoever waits for them.
    pub fn publish_visible(&self, lsn: Lsn) {
        self.visible.send_replace(lsn);
        let _guard = self.visible_lock.lock();
        self.visible_changed.notify_all();
    }

    pub fn snapshot(&self) -> Arc<LogView> {
        self.view.read().clone()
    }
}

/// Where `created_at` comes from.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Now, in µs since the Unix epoch.
    fn now_us(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_us(&self) -> i64 {
        crate::time::now_us()
    }
}

/// Counters for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineStats {
    /// Highest durable LSN.
    pub durable_lsn: Lsn,
    /// Highest LSN visible to readers.
    pub visible_lsn: Lsn,
    /// Segments (sealed + active).
    pub segments: usize,
    /// Requests waiting for the writer.
    pub queued_requests: usize,
    /// Bytes waiting for the writer.
    pub queued_bytes: usize,
    /// Bytes of segment data readers can see (headers, frames, seals; not the
    /// preallocated zeros of the active segment).
    pub log_bytes: u64,
    /// Blocks of memory allocated to hold the active segment's bytes for readers (each
    /// `limits::ACTIVE_BLOCK_BYTES`).
    pub active_blocks_allocated: u64,
    /// Blocks taken again once their segment had sealed and no reader held them.
    pub active_blocks_reused: u64,
    /// Bytes of the log advised out of the page cache since open (`log::pages`),
    /// whether they were cached or not. The first drop after an open covers the log up
    /// to the index's position, which open's checks have just read.
    pub uncached_bytes: u64,
    /// The syncer's fsyncs: how many, how long.
    pub fsyncs: FsyncStats,
}

/// The storage engine. Cheap to share (`Arc<Engine>`); every method takes `&self`.
pub struct Engine {
    shared: Arc<Shared>,
    tx: Mutex<Option<crossbeam_channel::Sender<Request>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    _lock: Box<dyn fmt::Debug + Send + Sync>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("wal", &self.shared.wal)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens (or creates) the log in `config.data_dir`, recovering it first: a torn tail
    /// is cut and kept aside, damage is reported (never repaired), missing or stale
    /// indexes are rebuilt. See [`RecoveryReport`].
    pub fn open(
        config: EngineConfig,
        storage: Arc<dyn Storage>,
    ) -> Result<(Engine, RecoveryReport)> {
        Engine::open_with_clock(config, storage, Arc::new(SystemClock))
    }

    /// [`Engine::open`] with another clock for `created_at`: benchmarks and tests replay
    /// traffic spread over days. Whatever the clock says, `created_at` never decreases
    /// along the log.
    pub fn open_with_clock(
        config: EngineConfig,
        storage: Arc<dyn Storage>,
        clock: Arc<dyn Clock>,
    ) -> Result<(Engine, RecoveryReport)> {
        config.validate()?;
        let wal = config.wal_dir();
        storage.create_dir_all(&wal).ctx(&wal, "create dir")?;
        let lock = crate::storage::lock_dir(storage.as_ref(), &config.data_dir)?;
        if config.durability == Durability::None {
            tracing::warn!("durability = none: acknowledged events are NOT synced to disk and a crash loses them; use only for benchmarks");
        }
        let rec = recovery::recover(&config, storage.as_ref())?;
        let (visible, _) = watch::channel(Lsn(rec.next_lsn.0 - 1));
        let shared = Arc::new(Shared {
            budget: Budget::new(config.queue_requests_max, config.queue_bytes_max),
            durable_lsn: AtomicU64::new(rec.next_lsn.0 - 1),
            visible,
            heads: RwLock::new(rec.heads.clone()),
            view: RwLock::new(Arc::new(LogView::default())),
            spare: Mutex::new(None),
            visible_lock: Mutex::new(()),
            visible_changed: parking_lot::Condvar::new(),
            clock,
            poisoned: AtomicBool::new(false),
            poison_cause: Mutex::new(None),
            scan_pages: Default::default(),
            uncached_below: Mutex::new(Lsn(1)),
            uncached_bytes: AtomicU64::new(0),
            arena: Default::default(),
            fsyncs: Default::default(),
            read_only: rec.read_only.clone(),
            wal,
            storage,
            config,
        });
        let report = rec.report.clone();
        let (tx, rx) = crossbeam_channel::unbounded();
        let (sync_tx, sync_rx) = crossbeam_channel::bounded(64);
        let (seal_tx, seal_rx) = crossbeam_channel::unbounded();
        let (sequencer, syncer) =
            Sequencer::start(shared.clone(), rx, sync_tx, seal_tx.clone(), rec)?;
        let syncer = Syncer::new(shared.clone(), sync_rx, seal_tx, syncer);
        let sealer = Sealer::new(shared.clone(), seal_rx);
        let threads = vec![
            spawn("sealog-sequencer", move || sequencer.run())?,
            spawn("sealog-syncer", move || syncer.run())?,
            spawn("sealog-sealer", move || sealer.run())?,
        ];
        let engine = Engine {
            shared,
            tx: Mutex::new(Some(tx)),
            threads: Mutex::new(threads),
            _lock: lock,
        };
        Ok((engine, report))
    }

    /// Queues an append and returns at once with a ticket, or [`EngineError::Busy`] when
    /// the queue is full (shed load; never grows memory without bound).
    pub fn try_submit(
        &self,
        tenant: &TenantId,
        events: Vec<PreparedEvent>,
    ) -> Result<AppendTicket> {
        self.submit_inner(tenant, events, false)
    }

    /// Queues an append, waiting for room in the queue if it is full.
    pub fn submit(&self, tenant: &TenantId, events: Vec<PreparedEvent>) -> Result<AppendTicket> {
        self.submit_inner(tenant, events, true)
    }

    /// Appends and waits: returns once every event of the request is durable (per the
    /// durability policy). The request is atomic: after a crash either all of its events
    /// are in the log or none is.
    pub fn append(&self, tenant: &TenantId, events: Vec<PreparedEvent>) -> Result<Vec<Appended>> {
        self.submit(tenant, events)?.wait()
    }

    fn submit_inner(
        &self,
        tenant: &TenantId,
        events: Vec<PreparedEvent>,
        wait: bool,
    ) -> Result<AppendTicket> {
        let bytes: usize = events.iter().map(PreparedEvent::body_len_hint).sum();
        if events.is_empty() || events.len() > BATCH_EVENTS_MAX || bytes > APPEND_BYTES_MAX {
            return Err(EngineError::BatchBounds {
                events: events.len(),
                bytes,
                events_max: BATCH_EVENTS_MAX,
                bytes_max: APPEND_BYTES_MAX,
            });
        }
        if let Some(refusal) = self.shared.write_refusal() {
            return Err(refusal);
        }
        let tx = self.tx.lock().clone().ok_or(EngineError::Closed)?;
        self.shared.budget.acquire(bytes, wait)?;
        let (reply, rx) = oneshot::channel();
        let request = Request {
            tenant: tenant.clone(),
            events,
            bytes,
            reply,
        };
        if tx.send(request).is_err() {
            self.shared.budget.release(1, bytes);
            return Err(EngineError::Closed);
        }
        Ok(AppendTicket { rx })
    }

    /// Waits for queued appends, syncs, and stops the engine's threads. Later appends
    /// fail with [`EngineError::Closed`]. Also done on drop.
    pub fn close(&self) {
        drop(self.tx.lock().take());
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
    }

    /// Current counters.
    pub fn stats(&self) -> EngineStats {
        let (queued_requests, queued_bytes) = self.shared.budget.queued();
        let view = self.shared.snapshot();
        EngineStats {
            durable_lsn: Lsn(self.shared.durable_lsn.load(Ordering::SeqCst)),
            visible_lsn: *self.shared.visible.borrow(),
            segments: view.segments.len(),
            queued_requests,
            queued_bytes,
            log_bytes: view.segments.iter().map(|s| s.data_len()).sum(),
            active_blocks_allocated: self.shared.arena.allocated.load(Ordering::Relaxed),
            active_blocks_reused: self.shared.arena.reused.load(Ordering::Relaxed),
            uncached_bytes: self.shared.uncached_bytes.load(Ordering::Relaxed),
            fsyncs: self.shared.fsyncs.snapshot(),
        }
    }

    /// Drops the pages of every sealed segment from the process's resident set (they
    /// stay in the page cache; the next read maps them again). Scans of the log (the
    /// indexer's, exports', verification's) would otherwise leave every page they read
    /// counted in the process's RSS. The indexer calls this after each commit, and
    /// through [`Engine::release_pages_after_scans`] when it is idle.
    pub fn release_sealed_pages(&self) {
        self.shared.scan_pages.released();
        for segment in &self.shared.snapshot().segments {
            if let super::view::Segment::Sealed(sealed) = segment.as_ref() {
                crate::mmap::release(&sealed.bytes);
            }
        }
    }

    /// Drops from the page cache the log's bytes of the durable events before `lsn`, as
    /// far as an earlier call has not: the log is written once and read back rarely,
    /// and a page cache grown by every byte written costs the kernel (`log::pages`,
    /// "The page cache"). The indexer calls this after each commit, for what it has
    /// read; a later reader of those events reads them from the disk.
    pub fn uncache_before(&self, lsn: Lsn) {
        super::pages::uncache_before(&self.shared, lsn);
    }

    /// Marks a long scan of the log (an export, a verification) for as long as the
    /// returned guard lives; see [`OpenScan`](super::OpenScan).
    pub fn begin_scan(&self) -> super::OpenScan {
        super::OpenScan::new(self.shared.clone())
    }

    /// Releases the sealed segments' pages (as [`Engine::release_sealed_pages`]) if
    /// long scans have read them since the last release, none is reading now, and the
    /// last ended `SCAN_PAGES_IDLE_MS` ago; returns whether it did. The indexer calls
    /// this when it is idle, so that an idle server does not go on counting a 10 GiB
    /// export's pages as resident.
    pub fn release_pages_after_scans(&self) -> bool {
        if !self.shared.scan_pages.due() {
            return false;
        }
        self.release_sealed_pages();
        true
    }

    /// A receiver that changes whenever new events become visible (highest visible LSN).
    pub fn subscribe(&self) -> watch::Receiver<Lsn> {
        self.shared.visible.subscribe()
    }

    /// Blocks until an event after `after` is visible or `timeout` passes; returns the
    /// highest visible LSN. For follower threads (the indexer); async code subscribes.
    pub fn wait_visible(&self, after: Lsn, timeout: std::time::Duration) -> Lsn {
        let mut guard = self.shared.visible_lock.lock();
        let current = *self.shared.visible.borrow();
        if current > after {
            return current;
        }
        self.shared.visible_changed.wait_for(&mut guard, timeout);
        drop(guard);
        let visible = *self.shared.visible.borrow();
        visible
    }

    /// Why writes are refused, if they are (poisoned or damaged log).
    pub fn write_refusal(&self) -> Option<EngineError> {
        self.shared.write_refusal()
    }

    /// The tenant's newest durable event (seq 0 when it has none).
    pub fn chain_head(&self, tenant: &TenantId) -> ChainHead {
        self.shared
            .heads
            .read()
            .get(tenant)
            .copied()
            .unwrap_or(ChainHead::EMPTY)
    }

    /// Every tenant with at least one event, sorted.
    pub fn tenants(&self) -> Vec<TenantId> {
        let mut t: Vec<TenantId> = self.shared.heads.read().keys().cloned().collect();
        t.sort();
        t
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.close();
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .map_err(|source| EngineError::Io {
            path: PathBuf::from(name),
            op: "spawn thread",
            source,
        })
}

pub use super::append::Appended;
