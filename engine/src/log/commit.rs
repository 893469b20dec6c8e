//! The sequencer: assigns LSN, seq, time, id and prev_hash, builds frames, writes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use parking_lot::RwLock;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::oneshot;

use super::append::{Ack, Request};
use super::arena::Arena;
use super::encode::{encode_group, Job};
use super::engine::Shared;
use super::sync::{SealerJob, SyncJob, SyncerInit};
use super::view::{ActiveInner, ActiveSegment, LogView, Segment};
use crate::chain::ChainHead;
use crate::error::{EngineError, IoContext, Result};
use crate::frame::{FRAME_HEADER_BYTES, RECORD_HEADER_BYTES};
use crate::index::{MemIndex, MemRec};
use crate::limits::GROUP_COMMIT_BYTES_MAX;
use crate::recovery::Recovered;
use crate::segment::{segment_path, SegmentHeader};
use crate::storage::FileHandle;
use crate::types::{Lsn, SegmentId, TenantId};

/// The segment file the sequencer appends to.
struct ActiveFile {
    id: SegmentId,
    path: PathBuf,
    file: FileHandle,
    /// Where the next frame goes.
    pos: u64,
    /// Records written into it so far.
    records: u64,
    segment: Arc<Segment>,
}

/// One group of requests, encoded (one buffer per request) and written with one write.
pub(crate) struct Batch {
    pub start: u64,
    /// Encoded requests, in order, written back to back from `start`.
    pub parts: Vec<Vec<u8>>,
    pub len: u64,
    pub entries: Vec<(TenantId, MemRec)>,
    pub acks: Vec<Ack>,
    pub last_lsn: Lsn,
}

/// The sequencer thread's state.
pub(crate) struct Sequencer {
    shared: Arc<Shared>,
    rx: Receiver<Request>,
    sync_tx: Sender<SyncJob>,
    sealer_tx: Sender<SealerJob>,
    heads: HashMap<TenantId, ChainHead>,
    next_lsn: Lsn,
    last_created_us: i64,
    active: ActiveFile,
    rng: ChaCha8Rng,
    /// Where written groups are kept for readers until their segment seals.
    arena: Arena,
}

impl Sequencer {
    /// Publishes the recovered segments to readers, opens or creates the active
    /// segment, and returns the sequencer and what the syncer starts from.
    pub fn start(
        shared: Arc<Shared>,
        rx: Receiver<Request>,
        sync_tx: Sender<SyncJob>,
        sealer_tx: Sender<SealerJob>,
        rec: Recovered,
    ) -> Result<(Sequencer, SyncerInit)> {
        let mut segments = rec.sealed;
        let (active, init) = match rec.active {
            Some(a) => {
                let file = shared.storage.open_rw(&a.path).ctx(&a.path, "open")?;
                if file.size().ctx(&a.path, "stat")? < shared.config.segment_bytes {
                    file.allocate(shared.config.segment_bytes)
                        .ctx(&a.path, "preallocate")?;
                    file.sync_all().ctx(&a.path, "fsync")?;
                }
                let records = a.index.len() as u64;
                let data = Bytes::from(a.data);
                let init = SyncerInit {
                    hashed: data.clone(),
                };
                let segment = Arc::new(Segment::Active(ActiveSegment {
                    id: a.id,
                    inner: RwLock::new(ActiveInner {
                        chunks: vec![(0, data)],
                        index: a.index,
                    }),
                }));
                let active = ActiveFile {
                    id: a.id,
                    path: a.path,
                    file,
                    pos: a.data_end,
                    records,
                    segment,
                };
                (active, init)
            }
            None => {
                let id = SegmentId(segments.last().map_or(1, |s| s.id().0 + 1));
                let (active, header) = create_segment(&shared, id, rec.next_lsn)?;
                (
                    active,
                    SyncerInit {
                        hashed: Bytes::copy_from_slice(&header),
                    },
                )
            }
        };
        segments.push(active.segment.clone());
        *shared.view.write() = Arc::new(LogView { segments });
        let _ = sealer_tx.send(SealerJob::PrepareSpare);
        let arena = Arena::new(shared.config.segment_bytes, shared.arena.clone());
        let seq = Sequencer {
            shared,
            rx,
            sync_tx,
            sealer_tx,
            heads: rec.heads,
            next_lsn: rec.next_lsn,
            last_created_us: rec.last_created_us,
            active,
            rng: ChaCha8Rng::from_os_rng(),
            arena,
        };
        Ok((seq, init))
    }

    /// Runs until every submitter is gone, then tells the syncer to finish.
    pub fn run(mut self) {
        while let Ok(first) = self.rx.recv() {
            let mut bytes = first.bytes;
            let mut group = vec![first];
            while bytes < GROUP_COMMIT_BYTES_MAX {
                match self.rx.try_recv() {
                    Ok(r) => {
                        bytes += r.bytes;
                        group.push(r);
                    }
                    Err(_) => break,
                }
            }
            self.shared.budget.release(group.len(), bytes);
            self.process(group);
        }
        let _ = self.sync_tx.send(SyncJob::Shutdown);
    }

    fn process(&mut self, group: Vec<Request>) {
        if let Some(refusal) = self.shared.write_refusal() {
            let cause = refusal.to_string();
            for r in group {
                let _ = r.reply.send(Err(refused(&cause)));
            }
            return;
        }
        // Cut the group where the segment must roll (sizes are upper bounds), encode and
        // write each run.
        let mut run: Vec<Request> = Vec::new();
        let mut run_bytes = 0u64;
        let mut pending = group.into_iter();
        while let Some(req) = pending.next() {
            let estimate = (req.bytes
                + req.events.len() * (FRAME_HEADER_BYTES + RECORD_HEADER_BYTES + 256))
                as u64;
            let written =
                self.active.records + run.iter().map(|r| r.events.len() as u64).sum::<u64>();
            if written > 0
                && self.active.pos + run_bytes + estimate > self.shared.config.segment_bytes
            {
                let batch = self.encode_run(std::mem::take(&mut run));
                run_bytes = 0;
                if let Err(e) = self.flush(batch).and_then(|()| self.roll()) {
                    self.fail_all(e, req, pending.by_ref());
                    return;
                }
            }
            run_bytes += estimate;
            run.push(req);
        }
        let batch = self.encode_run(run);
        if let Err(e) = self.flush(batch) {
            self.shared.poison(e.to_string());
        }
    }

    /// Assigns LSNs, times and seeds in queue order, encodes (in parallel across
    /// tenants), and lays the requests out from the active segment's write position.
    fn encode_run(&mut self, reqs: Vec<Request>) -> Batch {
        let durable_lsn = Lsn(self.shared.durable_lsn.load(Ordering::SeqCst));
        let mut jobs = Vec::with_capacity(reqs.len());
        for (index, req) in reqs.into_iter().enumerate() {
            // Clamped into what RFC 3339 with four-digit years can say, so the body's
            // created_at and the frame's always agree.
            let now = self
                .shared
                .clock
                .now_us()
                .clamp(0, crate::time::TIMESTAMP_US_MAX);
            let created_at_us = now.max(self.last_created_us);
            self.last_created_us = created_at_us;
            let first_lsn = self.next_lsn;
            self.next_lsn = Lsn(first_lsn.0 + req.events.len() as u64);
            jobs.push(Job {
                index,
                req,
                first_lsn,
                created_at_us,
                seed: self.rng.next_u64(),
            });
        }
        let heads = &self.heads;
        let head_of = |t: &TenantId| heads.get(t).copied().unwrap_or(ChainHead::EMPTY);
        let (encoded, new_heads) = encode_group(jobs, &head_of, durable_lsn);
        self.heads.extend(new_heads);
        let mut batch = Batch {
            start: self.active.pos,
            parts: Vec::new(),
            len: 0,
            entries: Vec::new(),
            acks: Vec::new(),
            last_lsn: Lsn(0),
        };
        for e in encoded {
            let base = batch.start + batch.len;
            let tenant = e.job.req.tenant;
            batch.entries.extend(e.entries.into_iter().map(|r| {
                (
                    tenant.clone(),
                    MemRec {
                        offset: (base + r.offset as u64) as u32,
                        ..r
                    },
                )
            }));
            if let Some(last) = e.acks.last() {
                batch.last_lsn = last.lsn;
            }
            batch.acks.push((e.job.req.reply, e.acks));
            batch.len += e.buf.len() as u64;
            batch.parts.push(e.buf);
        }
        batch
    }

    fn fail_all(&self, e: EngineError, req: Request, rest: impl Iterator<Item = Request>) {
        let cause = e.to_string();
        self.shared.poison(cause.clone());
        let _ = req.reply.send(Err(refused(&cause)));
        for r in rest {
            let _ = r.reply.send(Err(refused(&cause)));
        }
    }

    /// Writes the batch (its requests back to back) and hands it to the syncer. If a
    /// write fails, the batch's appenders get the error and the engine is poisoned: the
    /// file may hold part of the batch, which only recovery can sort out.
    fn flush(&mut self, batch: Batch) -> Result<()> {
        if batch.acks.is_empty() {
            return Ok(());
        }
        // Into recycled blocks (readers keep these bytes until the segment seals, see
        // `arena`), then one system call for the whole group (pwritev), not one per
        // request: what readers see is exactly what was written.
        let chunks = self.arena.place(batch.start, batch.parts);
        let slices: Vec<&[u8]> = chunks.iter().map(|(_, c)| &c[..]).collect();
        let written = self
            .active
            .file
            .write_all_vectored_at(&slices, batch.start)
            .ctx(&self.active.path, "write");
        if let Err(e) = written {
            let cause = e.to_string();
            self.shared.poison(cause.clone());
            for (reply, _) in batch.acks {
                let _ = reply.send(Err(refused(&cause)));
            }
            return Err(e);
        }
        self.active.pos += batch.len;
        self.active.records += batch.entries.len() as u64;
        let job = SyncJob::Batch {
            file: self.active.file.clone(),
            path: self.active.path.clone(),
            segment: self.active.segment.clone(),
            chunks,
            entries: batch.entries,
            acks: batch.acks,
            last_lsn: batch.last_lsn,
        };
        self.sync_tx.send(job).map_err(|_| EngineError::Closed)
    }

    /// Seals the active segment (through the syncer, after everything before it is
    /// durable) and starts the next one.
    fn roll(&mut self) -> Result<()> {
        let (done, wait) = oneshot::channel();
        let job = SyncJob::Seal {
            file: self.active.file.clone(),
            path: self.active.path.clone(),
            segment: self.active.segment.clone(),
            end: self.active.pos,
            done,
        };
        self.sync_tx.send(job).map_err(|_| EngineError::Closed)?;
        wait.blocking_recv().map_err(|_| EngineError::Closed)??;
        let id = SegmentId(self.active.id.0 + 1);
        let (active, header) = create_segment(&self.shared, id, self.next_lsn)?;
        self.sync_tx
            .send(SyncJob::NewSegment {
                header: Bytes::copy_from_slice(&header),
            })
            .map_err(|_| EngineError::Closed)?;
        let mut view = self.shared.view.write();
        let mut segments = view.segments.clone();
        segments.push(active.segment.clone());
        *view = Arc::new(LogView { segments });
        drop(view);
        self.active = active;
        let _ = self.sealer_tx.send(SealerJob::PrepareSpare);
        Ok(())
    }
}

fn refused(cause: &str) -> EngineError {
    EngineError::Poisoned {
        cause: cause.to_owned(),
    }
}

/// Creates a new segment file: takes the spare the sealer preallocated in the
/// background (else preallocates now), writes the header, fsyncs, renames it into place
/// and fsyncs the directory. Preallocating 256 MiB of zeros takes long enough that doing
/// it on the roll would stall every append behind it.
fn create_segment(
    shared: &Shared,
    id: SegmentId,
    first_lsn: Lsn,
) -> Result<(ActiveFile, [u8; 64])> {
    let path = segment_path(&shared.wal, id);
    let header = SegmentHeader {
        id,
        first_lsn,
        created_at_us: crate::time::now_us(),
    }
    .encode();
    let file = match shared.spare.lock().take() {
        Some((spare, file)) => {
            file.write_all_at(&header, 0).ctx(&spare, "write")?;
            file.allocate(shared.config.segment_bytes)
                .ctx(&spare, "preallocate")?;
            file.sync_all().ctx(&spare, "fsync")?;
            shared.storage.rename(&spare, &path).ctx(&path, "rename")?;
            file
        }
        None => {
            let file = shared.storage.create_new(&path).ctx(&path, "create")?;
            file.write_all_at(&header, 0).ctx(&path, "write")?;
            file.allocate(shared.config.segment_bytes)
                .ctx(&path, "preallocate")?;
            file.sync_all().ctx(&path, "fsync")?;
            file
        }
    };
    shared
        .storage
        .sync_dir(&shared.wal)
        .ctx(&shared.wal, "fsync dir")?;
    let segment = Arc::new(Segment::Active(ActiveSegment {
        id,
        inner: RwLock::new(ActiveInner {
            chunks: Vec::new(),
            index: MemIndex::new(first_lsn),
        }),
    }));
    let active = ActiveFile {
        id,
        path,
        file,
        pos: header.len() as u64,
        records: 0,
        segment,
    };
    Ok((active, header))
}
