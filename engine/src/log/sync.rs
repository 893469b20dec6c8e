//! The syncer (fdatasync, publish, acknowledge, seal) and the sealer (index files).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::RwLock;
use tokio::sync::oneshot;

use super::append::Ack;
use super::engine::Shared;
use super::view::{LogView, SealedSegment, Segment};
use crate::config::Durability;
use crate::error::{EngineError, IoContext, Result};
use crate::frame::{self, SealRecord};
use crate::index::{MemIndex, MemRec, SegmentIndex};
use crate::storage::FileHandle;
use crate::types::{Lsn, TenantId};

/// Work for the syncer, in log order.
pub(crate) enum SyncJob {
    /// A written batch: make it durable (per policy), publish it, acknowledge it.
    Batch {
        file: FileHandle,
        path: PathBuf,
        segment: Arc<Segment>,
        /// The written bytes: (file offset, bytes), in order.
        chunks: Vec<(u64, Bytes)>,
        entries: Vec<(TenantId, MemRec)>,
        acks: Vec<Ack>,
        last_lsn: Lsn,
    },
    /// Seal the segment whose data ends at `end`; answer on `done`.
    Seal {
        file: FileHandle,
        path: PathBuf,
        segment: Arc<Segment>,
        end: u64,
        done: oneshot::Sender<Result<()>>,
    },
    /// A new active segment was created with this header.
    NewSegment { header: Bytes },
    /// Everything is written: sync what is unsynced and stop.
    Shutdown,
}

/// Where the syncer starts: the active segment's bytes so far (for the seal digest).
pub(crate) struct SyncerInit {
    pub hashed: Bytes,
}

/// The syncer thread's state.
pub(crate) struct Syncer {
    shared: Arc<Shared>,
    rx: Receiver<SyncJob>,
    seal_tx: Sender<SealerJob>,
    /// BLAKE3 of the active segment's bytes so far (header and published chunks).
    digest: blake3::Hasher,
    /// The recovered active segment's bytes, hashed when the thread starts (so open
    /// does not wait for it).
    digest_pending: Option<Bytes>,
    /// The last file with written-but-unsynced data (interval / none policies).
    unsynced: Option<(FileHandle, PathBuf, Lsn)>,
    last_sync: Instant,
}

impl Syncer {
    pub fn new(
        shared: Arc<Shared>,
        rx: Receiver<SyncJob>,
        seal_tx: Sender<SealerJob>,
        init: SyncerInit,
    ) -> Self {
        Syncer {
            shared,
            rx,
            seal_tx,
            digest: blake3::Hasher::new(),
            digest_pending: Some(init.hashed),
            unsynced: None,
            last_sync: Instant::now(),
        }
    }

    pub fn run(mut self) {
        if let Some(bytes) = self.digest_pending.take() {
            self.digest.update(&bytes);
        }
        let mut next: Option<SyncJob> = None;
        loop {
            let job = match next.take() {
                Some(job) => job,
                None => match self.receive() {
                    Some(job) => job,
                    None => continue,
                },
            };
            match job {
                SyncJob::Batch { .. } => {
                    let mut group = vec![job];
                    while let Ok(more) = self.rx.try_recv() {
                        if matches!(more, SyncJob::Batch { .. }) {
                            group.push(more);
                        } else {
                            next = Some(more);
                            break;
                        }
                    }
                    self.commit(group);
                }
                SyncJob::Seal {
                    file,
                    path,
                    segment,
                    end,
                    done,
                } => {
                    let result = self.seal(&file, &path, segment, end);
                    if let Err(e) = &result {
                        self.shared.poison(e.to_string());
                    }
                    let _ = done.send(result);
                }
                SyncJob::NewSegment { header } => {
                    self.digest = blake3::Hasher::new();
                    self.digest.update(&header);
                }
                SyncJob::Shutdown => {
                    self.sync_pending();
                    return;
                }
            }
        }
    }

    /// The next job; with the interval policy, wakes up to sync on time.
    fn receive(&mut self) -> Option<SyncJob> {
        let Durability::Interval { ms } = self.shared.config.durability else {
            return Some(self.rx.recv().unwrap_or(SyncJob::Shutdown));
        };
        let wait = Duration::from_millis(ms).saturating_sub(self.last_sync.elapsed());
        match self.rx.recv_timeout(wait) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Timeout) => {
                self.sync_pending();
                None
            }
            Err(RecvTimeoutError::Disconnected) => Some(SyncJob::Shutdown),
        }
    }

    /// Syncs (per policy), publishes and acknowledges a group of batches of one file.
    fn commit(&mut self, group: Vec<SyncJob>) {
        let Some(SyncJob::Batch { file, path, .. }) = group.last() else {
            return;
        };
        let (file, path) = (file.clone(), path.clone());
        let last_lsn = group.iter().fold(Lsn(0), |m, j| match j {
            SyncJob::Batch { last_lsn, .. } => m.max(*last_lsn),
            _ => m,
        });
        let synced = match self.shared.config.durability {
            Durability::Sync => Some(self.sync_data(&file, &path)),
            Durability::Interval { ms }
                if self.last_sync.elapsed() >= Duration::from_millis(ms) =>
            {
                Some(self.sync_data(&file, &path))
            }
            _ => None,
        };
        match synced {
            Some(Err(e)) => return self.fail(group, e),
            Some(Ok(())) => {
                self.shared.durable_lsn.store(last_lsn.0, Ordering::SeqCst);
                self.last_sync = Instant::now();
                self.unsynced = None;
            }
            None => self.unsynced = Some((file, path, last_lsn)),
        }
        for job in group {
            if let SyncJob::Batch {
                segment,
                chunks,
                entries,
                acks,
                last_lsn,
                ..
            } = job
            {
                let hashed: Vec<Bytes> = chunks.iter().map(|(_, c)| c.clone()).collect();
                if let Err(e) = self.publish(&segment, chunks, entries, last_lsn) {
                    self.shared.poison(e.to_string());
                    for (reply, _) in acks {
                        let _ = reply.send(Err(EngineError::Poisoned {
                            cause: e.to_string(),
                        }));
                    }
                    continue;
                }
                for (reply, appended) in acks {
                    let _ = reply.send(Ok(appended));
                }
                // The seal digest is off the acknowledgement path: hash after answering.
                for chunk in &hashed {
                    self.digest.update(chunk);
                }
            }
        }
    }

    /// Makes a durable batch visible: its bytes, its index entries, the chain heads.
    fn publish(
        &mut self,
        segment: &Segment,
        chunks: Vec<(u64, Bytes)>,
        entries: Vec<(TenantId, MemRec)>,
        last_lsn: Lsn,
    ) -> Result<()> {
        let Segment::Active(active) = segment else {
            return Err(EngineError::Poisoned {
                cause: "internal: batch for a sealed segment".into(),
            });
        };
        {
            let mut inner = active.inner.write();
            inner.chunks.extend(chunks);
            let mut heads = self.shared.heads.write();
            for (tenant, rec) in &entries {
                inner
                    .index
                    .push(tenant.as_str(), rec)
                    .map_err(|fault| EngineError::Poisoned {
                        cause: format!(
                            "internal: index refused lsn {}: {fault:?}",
                            inner.index.next_lsn()
                        ),
                    })?;
                let head = crate::chain::ChainHead {
                    seq: rec.seq,
                    hash: rec.hash,
                    created_at_us: rec.created_at_us,
                };
                heads.insert(tenant.clone(), head);
            }
        }
        self.shared.publish_visible(last_lsn);
        Ok(())
    }

    fn fail(&mut self, group: Vec<SyncJob>, e: EngineError) {
        let cause = e.to_string();
        self.shared.poison(cause.clone());
        for job in group {
            if let SyncJob::Batch { acks, .. } = job {
                for (reply, _) in acks {
                    let _ = reply.send(Err(EngineError::Poisoned {
                        cause: cause.clone(),
                    }));
                }
            }
        }
    }

    /// fdatasync, timed for the metrics (a failed call is not counted: it poisons).
    fn sync_data(&self, file: &FileHandle, path: &std::path::Path) -> Result<()> {
        self.timed(|| file.sync_data().ctx(path, "fdatasync"))
    }

    /// fsync (data and metadata), timed like [`Self::sync_data`].
    fn sync_all(&self, file: &FileHandle, path: &std::path::Path) -> Result<()> {
        self.timed(|| file.sync_all().ctx(path, "fsync"))
    }

    /// Runs one sync and counts its time in the fsync metrics if it succeeded.
    fn timed(&self, sync: impl FnOnce() -> Result<()>) -> Result<()> {
        let started = Instant::now();
        sync()?;
        self.shared.fsyncs.record(started.elapsed());
        Ok(())
    }

    fn sync_pending(&mut self) {
        if let Some((file, path, lsn)) = self.unsynced.take() {
            match self.sync_data(&file, &path) {
                Ok(()) => self.shared.durable_lsn.store(lsn.0, Ordering::SeqCst),
                Err(e) => self.shared.poison(e.to_string()),
            }
        }
        self.last_sync = Instant::now();
    }

    /// Seals a segment: fdatasync its data, append the seal frame, cut the preallocated
    /// zeros, fsync; then swap the readers' view to the sealed file.
    fn seal(
        &mut self,
        file: &FileHandle,
        path: &std::path::Path,
        segment: Arc<Segment>,
        end: u64,
    ) -> Result<()> {
        self.sync_pending();
        if let Some(refusal) = self.shared.write_refusal() {
            return Err(refusal);
        }
        self.sync_data(file, path)?;
        let Segment::Active(active) = segment.as_ref() else {
            return Err(EngineError::Poisoned {
                cause: "internal: sealing a sealed segment".into(),
            });
        };
        let index = Arc::new(active.inner.read().index.clone());
        let (created_min_us, created_max_us) =
            crate::index::IndexLookup::time_range(index.as_ref()).unwrap_or((0, 0));
        let seal = SealRecord {
            first_lsn: index.first_lsn(),
            last_lsn: Lsn(index.next_lsn().0 - 1),
            record_count: index.len() as u64,
            created_min_us,
            created_max_us,
            digest: *std::mem::replace(&mut self.digest, blake3::Hasher::new())
                .finalize()
                .as_bytes(),
        };
        let mut buf = Vec::with_capacity(frame::SEAL_FRAME_BYTES);
        frame::encode_seal(&mut buf, &seal);
        file.write_all_at(&buf, end).ctx(path, "write seal")?;
        file.set_len(end + buf.len() as u64).ctx(path, "truncate")?;
        self.sync_all(file, path)?;
        if self.shared.config.durability == Durability::None {
            tracing::warn!(segment = %active.id, "durability = none: segment sealed; events appended since the last seal were not synced");
        }
        let bytes = self
            .shared
            .storage
            .open_ro(path)
            .and_then(|f| f.map())
            .ctx(path, "mmap")?;
        let sealed = Arc::new(Segment::Sealed(SealedSegment {
            id: active.id,
            bytes,
            seal,
            index: RwLock::new(SegmentIndex::Mem(index.clone())),
        }));
        let mut view = self.shared.view.write();
        let segments = view
            .segments
            .iter()
            .map(|s| {
                if Arc::ptr_eq(s, &segment) {
                    sealed.clone()
                } else {
                    s.clone()
                }
            })
            .collect();
        *view = Arc::new(LogView { segments });
        drop(view);
        let _ = self.seal_tx.send(SealerJob::Index(sealed, index));
        Ok(())
    }
}

/// Background work that must not stall appends.
pub(crate) enum SealerJob {
    /// Write a sealed segment's index file and swap readers to the mapped index.
    Index(Arc<Segment>, Arc<MemIndex>),
    /// Preallocate a spare segment file for the next roll, if there is none.
    PrepareSpare,
}

/// The sealer thread: index files of sealed segments, spare segment files.
pub(crate) struct Sealer {
    shared: Arc<Shared>,
    rx: Receiver<SealerJob>,
}

/// Name of the preallocated spare segment (a temp file: open removes a leftover one).
const SPARE_NAME: &str = "next-segment.tmp";

impl Sealer {
    pub fn new(shared: Arc<Shared>, rx: Receiver<SealerJob>) -> Self {
        Sealer { shared, rx }
    }

    pub fn run(self) {
        while let Ok(job) = self.rx.recv() {
            match job {
                SealerJob::Index(segment, index) => {
                    let Segment::Sealed(sealed) = segment.as_ref() else {
                        continue;
                    };
                    match self.write(sealed, &index) {
                        Ok(mapped) => *sealed.index.write() = mapped,
                        // The in-memory index keeps serving; open rebuilds the file next time.
                        Err(e) => {
                            tracing::warn!(segment = %sealed.id, error = %e, "could not write the segment index file")
                        }
                    }
                }
                SealerJob::PrepareSpare => {
                    if let Err(e) = self.prepare_spare() {
                        // The next roll preallocates in line instead (and reports a full disk).
                        tracing::warn!(error = %e, "could not preallocate the next segment file");
                    }
                }
            }
        }
    }

    fn prepare_spare(&self) -> Result<()> {
        if self.shared.spare.lock().is_some() || self.shared.write_refusal().is_some() {
            return Ok(());
        }
        let storage = &self.shared.storage;
        let path = self.shared.wal.join(SPARE_NAME);
        if storage.exists(&path).ctx(&path, "stat")? {
            storage.remove(&path).ctx(&path, "remove")?;
        }
        let file = storage.create_new(&path).ctx(&path, "create")?;
        file.allocate(self.shared.config.segment_bytes)
            .ctx(&path, "preallocate")?;
        file.sync_all().ctx(&path, "fsync")?;
        *self.shared.spare.lock() = Some((path, file));
        Ok(())
    }

    fn write(&self, sealed: &SealedSegment, index: &MemIndex) -> Result<SegmentIndex> {
        let storage = self.shared.storage.as_ref();
        let wal = &self.shared.wal;
        let len = sealed.bytes.len() as u64;
        crate::index::write_index_file(storage, wal, sealed.id, len, &sealed.seal.digest, index)?;
        match crate::index::load_index_file(storage, wal, sealed.id, len, &sealed.seal.digest)? {
            Some(mapped) => Ok(SegmentIndex::Mapped(mapped)),
            None => Err(EngineError::Format {
                path: crate::segment::idx_path(wal, sealed.id),
                why: "index file just written does not read back".into(),
            }),
        }
    }
}
