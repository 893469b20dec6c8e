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

use super::append::{Ack, Appended, Request};
use super::engine::Shared;
use super::sync::{SealerJob, SyncJob, SyncerInit};
use super::view::{ActiveInner, ActiveSegment, LogView, Segment};
use crate::chain::ChainHead;
use crate::error::{EngineError, IoContext, Result};
use crate::event::ServerFields;
use crate::frame::{self, EventHeader, FLAG_REQUEST_END, FRAME_HEADER_BYTES, RECORD_HEADER_BYTES};
use crate::index::{MemIndex, MemRec};
use crate::limits::GROUP_COMMIT_BYTES_MAX;
use crate::recovery::Recovered;
use crate::segment::{segment_path, SegmentHeader};
use crate::storage::FileHandle;
use crate::types::{Lsn, SegmentId, Seq, TenantId};

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

/// One group of requests encoded into one buffer, written with one write.
pub(crate) struct Batch {
    pub start: u64,
    pub buf: Vec<u8>,
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
        let mut batch = self.new_batch();
        let mut pending = group.into_iter();
        while let Some(req) = pending.next() {
            let estimate = (req.bytes
                + req.events.len() * (FRAME_HEADER_BYTES + RECORD_HEADER_BYTES + 256))
                as u64;
            let written = self.active.records + batch.entries.len() as u64;
            let end = batch.start + batch.buf.len() as u64;
            if written > 0 && end + estimate > self.shared.config.segment_bytes {
                let full = std::mem::replace(&mut batch, self.new_batch());
                if let Err(e) = self.flush(full).and_then(|()| self.roll()) {
                    self.fail_all(e, req, pending.by_ref());
                    return;
                }
                batch = self.new_batch();
            }
            self.encode(req, &mut batch);
        }
        if let Err(e) = self.flush(batch) {
            self.shared.poison(e.to_string());
        }
    }

    fn fail_all(&self, e: EngineError, req: Request, rest: impl Iterator<Item = Request>) {
        let cause = e.to_string();
        self.shared.poison(cause.clone());
        let _ = req.reply.send(Err(refused(&cause)));
        for r in rest {
            let _ = r.reply.send(Err(refused(&cause)));
        }
    }

    fn new_batch(&self) -> Batch {
        Batch {
            start: self.active.pos,
            buf: Vec::new(),
            entries: Vec::new(),
            acks: Vec::new(),
            last_lsn: Lsn(0),
        }
    }

    /// Encodes one request into the batch: every event gets its server fields and its
    /// frame; the last one carries `FLAG_REQUEST_END`.
    fn encode(&mut self, req: Request, batch: &mut Batch) {
        // Clamped into what RFC 3339 with four-digit years can say, so the body's
        // created_at and the frame's always agree.
        let now = self
            .shared
            .clock
            .now_us()
            .clamp(0, crate::time::TIMESTAMP_US_MAX);
        let created = now.max(self.last_created_us);
        self.last_created_us = created;
        let durable_lsn = Lsn(self.shared.durable_lsn.load(Ordering::SeqCst));
        let mut head = self
            .heads
            .get(&req.tenant)
            .copied()
            .unwrap_or(ChainHead::EMPTY);
        let mut acks = Vec::with_capacity(req.events.len());
        let last = req.events.len() - 1;
        batch.buf.reserve(
            req.bytes + req.events.len() * (FRAME_HEADER_BYTES + RECORD_HEADER_BYTES + 192),
        );
        for (i, event) in req.events.iter().enumerate() {
            let lsn = self.next_lsn;
            self.next_lsn = Lsn(lsn.0 + 1);
            let seq = Seq(head.seq.0 + 1);
            let id = self.new_id(created);
            let offset = batch.start + batch.buf.len() as u64;
            let header = EventHeader {
                flags: if i == last { FLAG_REQUEST_END } else { 0 },
                lsn,
                durable_lsn,
                seq,
                created_at_us: created,
                id: *id.as_bytes(),
            };
            let tenant = req.tenant.as_str();
            let server = ServerFields {
                created_at_us: created,
                id,
                prev_hash: &head.hash,
                seq: seq.0,
                tenant,
            };
            let hash = frame::encode_event(&mut batch.buf, &header, tenant, |out| {
                event.write_body(&server, out)
            });
            let len = (batch.start + batch.buf.len() as u64 - offset) as u32;
            let rec = MemRec {
                offset: offset as u32,
                len,
                created_at_us: created,
                seq,
                id: header.id,
                hash,
            };
            batch.entries.push((req.tenant.clone(), rec));
            acks.push(Appended {
                lsn,
                seq,
                id,
                created_at_us: created,
                hash,
            });
            head = ChainHead {
                seq,
                hash,
                created_at_us: created,
            };
            batch.last_lsn = lsn;
        }
        self.heads.insert(req.tenant, head);
        batch.acks.push((req.reply, acks));
    }

    /// A UUIDv7 whose millisecond timestamp is `created_at_us`'s: look-up by id finds the
    /// segment through the time range.
    fn new_id(&mut self, created_us: i64) -> uuid::Uuid {
        let mut random = [0u8; 10];
        self.rng.fill_bytes(&mut random);
        let ms = u64::try_from(created_us.div_euclid(1000)).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid()
    }

    /// Writes the batch with one positional write and hands it to the syncer. If the
    /// write fails, the batch's appenders get the error and the engine is poisoned: the
    /// file may hold part of the batch, which only recovery can sort out.
    fn flush(&mut self, batch: Batch) -> Result<()> {
        if batch.acks.is_empty() {
            return Ok(());
        }
        let written = self.active.file.write_all_at(&batch.buf, batch.start);
        if let Err(e) = written.ctx(&self.active.path, "write") {
            let cause = e.to_string();
            self.shared.poison(cause.clone());
            for (reply, _) in batch.acks {
                let _ = reply.send(Err(refused(&cause)));
            }
            return Err(e);
        }
        self.active.pos += batch.buf.len() as u64;
        self.active.records += batch.entries.len() as u64;
        let job = SyncJob::Batch {
            file: self.active.file.clone(),
            path: self.active.path.clone(),
            segment: self.active.segment.clone(),
            start: batch.start,
            chunk: Bytes::from(batch.buf),
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
