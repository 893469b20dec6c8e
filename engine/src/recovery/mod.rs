//! Open-time recovery: from the files in `wal/` to a log the engine can serve and extend.
//!
//! - Every segment but the last must be sealed. Its index file is loaded (or rebuilt
//!   from the segment when missing or stale), and with `open_check = full` its bytes are
//!   BLAKE3-checked against the seal, on both cores.
//! - The last segment, unless sealed, is the active one: its frames are walked, a torn
//!   tail is cut (the bytes copied to `<segment>.seg.torn`, then zeroed in place and
//!   synced) and reported; damage is reported and never repaired.
//! - LSNs must continue from segment to segment; a gap (missing segment) is an error.
//! - Chain heads are folded from every segment's tenant runs.
//!
//! When a damaged event's tenant cannot be known, the engine opens read-only: appending
//! could fork a tenant's chain. docs/FORMAT.md lists the operator's choices.

mod report;
pub(crate) mod scan;

pub use report::{Damage, RecoveryReport, TornTail};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::RwLock;
use rayon::prelude::*;

use crate::chain::ChainHead;
use crate::config::{EngineConfig, OpenCheck};
use crate::error::{EngineError, IoContext, Result};
use crate::frame::{self, Decoded, Record, SealRecord, SEAL_FRAME_BYTES};
use crate::index::{IndexLookup, MemIndex, SegmentIndex};
use crate::log::view::{SealedSegment, Segment};
use crate::segment::{segment_path, SegmentFiles, SegmentHeader, SEGMENT_HEADER_BYTES};
use crate::storage::Storage;
use crate::types::{Lsn, SegmentId, TenantId};

/// The recovered active segment.
#[derive(Debug)]
pub(crate) struct RecoveredActive {
    pub id: SegmentId,
    pub path: PathBuf,
    /// The file's bytes up to `data_end` (header included).
    pub data: Vec<u8>,
    pub data_end: u64,
    pub index: MemIndex,
}

/// Everything open needs to start the engine.
#[derive(Debug)]
pub(crate) struct Recovered {
    pub sealed: Vec<Arc<Segment>>,
    pub active: Option<RecoveredActive>,
    pub heads: HashMap<TenantId, ChainHead>,
    pub next_lsn: Lsn,
    pub last_created_us: i64,
    pub report: RecoveryReport,
    pub read_only: Option<String>,
}

/// Recovers `config.wal_dir()`.
pub(crate) fn recover(config: &EngineConfig, storage: &dyn Storage) -> Result<Recovered> {
    let started = Instant::now();
    let wal = config.wal_dir();
    let files = SegmentFiles::from_names(storage.list(&wal).ctx(&wal, "list")?);
    let mut report = RecoveryReport {
        segments: files.segments.len(),
        ..RecoveryReport::default()
    };
    for tmp in &files.temps {
        let path = wal.join(tmp);
        storage.remove(&path).ctx(&path, "remove")?;
        report.removed_temp_files.push(tmp.clone());
    }
    if !files.temps.is_empty() {
        storage.sync_dir(&wal).ctx(&wal, "fsync dir")?;
    }
    let last = files.segments.last().copied();
    let opened: Vec<Result<Opened>> = files
        .segments
        .par_iter()
        .map(|&id| open_segment(config, storage, &wal, id, Some(id) == last))
        .collect();
    let mut rec = Recovered {
        sealed: Vec::new(),
        active: None,
        heads: HashMap::new(),
        next_lsn: Lsn(1),
        last_created_us: i64::MIN,
        report,
        read_only: None,
    };
    for opened in opened {
        fold(&mut rec, opened?, storage, &wal)?;
    }
    if let Some(first) = rec.report.damage.first() {
        tracing::error!(damage = %first, count = rec.report.damage.len(), "the log is damaged; it is never repaired silently (see docs/FORMAT.md, \"Damage\")");
    }
    rec.report.elapsed = started.elapsed();
    Ok(rec)
}

/// One segment after its own checks, before it is joined to the others.
enum Opened {
    Sealed {
        id: SegmentId,
        header: SegmentHeader,
        seal: SealRecord,
        bytes: bytes::Bytes,
        index: SegmentIndex,
        checked: u64,
        rebuilt: bool,
        damage: Vec<Damage>,
        identity_lost: bool,
    },
    Active {
        id: SegmentId,
        path: PathBuf,
        header: SegmentHeader,
        walk: scan::Walk,
        bytes: Vec<u8>,
    },
    /// A last segment whose creation never finished: no frame was written to it.
    Unfinished { id: SegmentId, path: PathBuf },
}

fn open_segment(
    config: &EngineConfig,
    storage: &dyn Storage,
    wal: &Path,
    id: SegmentId,
    is_last: bool,
) -> Result<Opened> {
    let path = segment_path(wal, id);
    let file = storage.open_ro(&path).ctx(&path, "open")?;
    let size = file.size().ctx(&path, "stat")?;
    let mut head = vec![0u8; SEGMENT_HEADER_BYTES.min(size as usize)];
    file.read_exact_at(&mut head, 0).ctx(&path, "read")?;
    let header = match SegmentHeader::decode(&head, &path) {
        Ok(header) => header,
        // The last segment's creation may have been interrupted (create, write header,
        // preallocate, fsync, fsync dir): no frame is ever written before that finished,
        // so a bad header followed only by zeros is an unfinished creation, not damage.
        Err(e) if is_last => {
            let mut bytes = vec![0u8; size as usize];
            file.read_exact_at(&mut bytes, 0).ctx(&path, "read")?;
            if bytes
                .get(SEGMENT_HEADER_BYTES..)
                .is_none_or(|rest| rest.iter().all(|&b| b == 0))
            {
                return Ok(Opened::Unfinished { id, path });
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if header.id != id {
        return Err(EngineError::Format {
            path,
            why: format!(
                "header says segment {} but the file is named {id}",
                header.id
            ),
        });
    }
    let seal = read_seal(file.as_ref(), size, &path)?;
    if let Some(seal) = seal.filter(|s| seal_is_plausible(s, &header, size)) {
        let bytes = file.map().ctx(&path, "mmap")?;
        return open_sealed(config, storage, wal, header, seal, bytes);
    }
    if !is_last {
        // Every segment but the last was sealed before the next was created: a missing
        // or impossible seal is damage. Serve what its frames hold, read-only.
        let bytes = file.map().ctx(&path, "mmap")?;
        return Ok(open_unsealed(header, bytes, seal.is_some()));
    }
    // The active segment. Read all but its preallocated zeros (walking treats bytes
    // past the end as zeros), but never less than the header: its CRC may end in zero
    // bytes, and a segment with no frames yet is then shorter than its header.
    let bytes = read_nonzero_prefix(file.as_ref(), size, SEGMENT_HEADER_BYTES as u64, &path)?;
    let walk = scan::walk(&bytes, id, header.first_lsn, is_last, false, None);
    Ok(Opened::Active {
        id,
        path,
        header,
        walk,
        bytes,
    })
}

/// Whether a seal's numbers can describe this segment: its LSN range starts where the
/// header says, holds `record_count` LSNs, and that many frames fit in the file. A seal
/// with a valid CRC that fails this was forged or corrupted in a CRC-preserving way.
pub(crate) fn seal_is_plausible(seal: &SealRecord, header: &SegmentHeader, size: u64) -> bool {
    let fit = size / crate::frame::FRAME_BYTES_MIN as u64;
    seal.first_lsn == header.first_lsn
        && seal.last_lsn >= seal.first_lsn
        && seal
            .last_lsn
            .0
            .checked_sub(seal.first_lsn.0)
            .and_then(|d| d.checked_add(1))
            == Some(seal.record_count)
        && seal.record_count <= fit
        && seal.created_min_us <= seal.created_max_us
}

/// A segment that is not the last and has no valid seal: its frames, walked, served as
/// a damaged sealed segment (no torn tail is possible there).
fn open_unsealed(header: SegmentHeader, bytes: bytes::Bytes, had_seal: bool) -> Opened {
    let id = header.id;
    let walk = scan::walk(&bytes, id, header.first_lsn, false, true, None);
    let mut damage = walk.damage;
    let why = if had_seal {
        "its seal does not match its contents"
    } else {
        "it is not sealed though later segments exist"
    };
    damage.push(Damage {
        segment: id,
        offset: walk.data_end as u64,
        lsns: None,
        id: None,
        why: format!("segment {id}: {why}"),
    });
    let count = walk.index.len() as u64;
    let (created_min_us, created_max_us) = IndexLookup::time_range(&walk.index).unwrap_or((0, 0));
    let seal = SealRecord {
        first_lsn: header.first_lsn,
        last_lsn: Lsn((header.first_lsn.0 + count).saturating_sub(1)),
        record_count: count,
        created_min_us,
        created_max_us,
        digest: [0; 32],
    };
    let index = SegmentIndex::Mem(Arc::new(walk.index));
    Opened::Sealed {
        id,
        header,
        seal,
        bytes,
        index,
        checked: 0,
        rebuilt: false,
        damage,
        identity_lost: true,
    }
}

/// Bytes of a file up to its last non-zero byte, and at least its first `keep` bytes:
/// the preallocated zeros at the end of an active segment are found by reading
/// backwards in blocks and are never copied.
pub(crate) fn read_nonzero_prefix(
    file: &dyn crate::storage::StorageFile,
    size: u64,
    keep: u64,
    path: &Path,
) -> Result<Vec<u8>> {
    const BLOCK: u64 = 1 << 20;
    let keep = keep.min(size);
    let mut end = size;
    let mut block = vec![0u8; BLOCK as usize];
    while end > keep {
        let start = end.saturating_sub(BLOCK);
        let buf = &mut block[..(end - start) as usize];
        file.read_exact_at(buf, start).ctx(path, "read")?;
        if let Some(p) = buf.iter().rposition(|&b| b != 0) {
            end = start + p as u64 + 1;
            break;
        }
        end = start;
    }
    let mut bytes = vec![0u8; end.max(keep) as usize];
    file.read_exact_at(&mut bytes, 0).ctx(path, "read")?;
    Ok(bytes)
}

pub(crate) fn read_seal(
    file: &dyn crate::storage::StorageFile,
    size: u64,
    path: &Path,
) -> Result<Option<SealRecord>> {
    if size < (SEGMENT_HEADER_BYTES + SEAL_FRAME_BYTES) as u64 {
        return Ok(None);
    }
    let mut buf = vec![0u8; SEAL_FRAME_BYTES];
    file.read_exact_at(&mut buf, size - SEAL_FRAME_BYTES as u64)
        .ctx(path, "read")?;
    Ok(match frame::decode(&buf, 0) {
        Decoded::Frame(Record::Seal(seal), end) if end == buf.len() => Some(seal),
        _ => None,
    })
}

fn open_sealed(
    config: &EngineConfig,
    storage: &dyn Storage,
    wal: &Path,
    header: SegmentHeader,
    seal: SealRecord,
    bytes: bytes::Bytes,
) -> Result<Opened> {
    let id = header.id;
    let data_end = bytes.len() - SEAL_FRAME_BYTES;
    let mut checked = 0;
    let mut intact = true;
    if config.open_check == OpenCheck::Full {
        intact = blake3::hash(&bytes[..data_end]).as_bytes() == &seal.digest;
        checked = data_end as u64;
    }
    let size = bytes.len() as u64;
    let mapped = crate::index::load_index_file(storage, wal, id, size, &seal.digest)?;
    let mapped = mapped.filter(|m| m.first_lsn() == seal.first_lsn && m.len() == seal.record_count);
    if intact {
        if let Some(m) = mapped {
            let index = SegmentIndex::Mapped(m);
            return Ok(Opened::Sealed {
                id,
                header,
                seal,
                bytes,
                index,
                checked,
                rebuilt: false,
                damage: Vec::new(),
                identity_lost: false,
            });
        }
    }
    // Walk the frames: to rebuild the index, or to locate the damage.
    let walk = scan::walk(
        &bytes,
        id,
        header.first_lsn,
        false,
        !intact,
        Some(seal.last_lsn),
    );
    let mut damage = walk.damage;
    if !intact && damage.is_empty() {
        damage.push(Damage {
            segment: id,
            offset: 0,
            lsns: Some((seal.first_lsn, seal.last_lsn)),
            id: None,
            why: "segment bytes do not match the BLAKE3 digest in its seal, though every frame CRC matches (altered with CRCs fixed up?)".into(),
        });
    }
    let consistent = walk.seal == Some(seal) && walk.index.len() as u64 == seal.record_count;
    if intact && consistent && !walk.index.has_damage() {
        crate::index::write_index_file(storage, wal, id, size, &seal.digest, &walk.index)?;
        let index = SegmentIndex::Mem(Arc::new(walk.index));
        return Ok(Opened::Sealed {
            id,
            header,
            seal,
            bytes,
            index,
            checked,
            rebuilt: true,
            damage,
            identity_lost: false,
        });
    }
    // Damaged: an intact index file still names every event; else use what the walk found.
    let (index, identity_lost) =
        match crate::index::load_index_file(storage, wal, id, size, &seal.digest)? {
            Some(m) => (SegmentIndex::Mapped(m), false),
            None => (
                SegmentIndex::Mem(Arc::new(walk.index)),
                walk.identity_lost || !consistent,
            ),
        };
    name_damaged_events(&mut damage, index.lookup());
    Ok(Opened::Sealed {
        id,
        header,
        seal,
        bytes,
        index,
        checked,
        rebuilt: false,
        damage,
        identity_lost,
    })
}

/// Names the event of each single-LSN damage from the index, when it knows it.
fn name_damaged_events(damage: &mut [Damage], index: &dyn IndexLookup) {
    for d in damage.iter_mut().filter(|d| d.id.is_none()) {
        if let Some((a, b)) = d.lsns {
            if a == b {
                let id =
                    a.0.checked_sub(index.first_lsn().0)
                        .and_then(|i| index.id_of(i));
                d.id = id.filter(|id| *id != [0; 16]).map(uuid::Uuid::from_bytes);
            }
        }
    }
}

/// Joins one opened segment to the log: LSN continuity, chain heads, report.
fn fold(rec: &mut Recovered, opened: Opened, storage: &dyn Storage, wal: &Path) -> Result<()> {
    if rec.active.is_some() {
        let id = match &opened {
            Opened::Sealed { id, .. }
            | Opened::Active { id, .. }
            | Opened::Unfinished { id, .. } => *id,
        };
        return Err(EngineError::Format {
            path: segment_path(wal, id),
            why: "a segment follows an unsealed one".into(),
        });
    }
    match opened {
        Opened::Unfinished { id, path } => {
            storage.remove(&path).ctx(&path, "remove")?;
            storage.sync_dir(wal).ctx(wal, "fsync dir")?;
            tracing::warn!(segment = %id, "removed a segment file whose creation was interrupted (it held no events)");
            rec.report.removed_unfinished_segments.push(id);
        }
        Opened::Sealed {
            id,
            header,
            seal,
            bytes,
            index,
            checked,
            rebuilt,
            damage,
            identity_lost,
        } => {
            check_continuity(rec, id, header.first_lsn)?;
            rec.report.sealed_bytes_checked += checked;
            if rebuilt {
                rec.report.rebuilt_indexes.push(id);
            }
            note_damage(rec, damage, identity_lost);
            fold_heads(rec, index.lookup(), id);
            // What the (checked) index holds, not what the seal claims.
            let (first, count) = (index.lookup().first_lsn(), index.lookup().count());
            rec.next_lsn =
                first
                    .0
                    .checked_add(count)
                    .map(Lsn)
                    .ok_or_else(|| EngineError::Format {
                        path: segment_path(wal, id),
                        why: "LSN range overflows".into(),
                    })?;
            rec.last_created_us = rec.last_created_us.max(seal.created_max_us);
            rec.report.events += count;
            // Checking the segment read all of it: leave its pages to the page cache
            // rather than in this process's resident set.
            crate::mmap::release(&bytes);
            let seg = SealedSegment {
                id,
                bytes,
                seal,
                index: RwLock::new(index),
            };
            rec.sealed.push(Arc::new(Segment::Sealed(seg)));
        }
        Opened::Active {
            id,
            path,
            header,
            walk,
            mut bytes,
        } => {
            check_continuity(rec, id, header.first_lsn)?;
            if let Some((from, to, records)) = walk.torn {
                cut_torn_tail(
                    rec,
                    storage,
                    wal,
                    id,
                    &path,
                    &bytes[from..to],
                    from as u64,
                    records,
                )?;
                bytes[from..to].fill(0);
            }
            note_damage(rec, walk.damage, walk.identity_lost);
            fold_heads(rec, &walk.index, id);
            rec.next_lsn = walk.index.next_lsn();
            if let Some((_, max)) = IndexLookup::time_range(&walk.index) {
                rec.last_created_us = rec.last_created_us.max(max);
            }
            rec.report.events += walk.index.len() as u64;
            bytes.truncate(walk.data_end);
            rec.active = Some(RecoveredActive {
                id,
                path,
                data: bytes,
                data_end: walk.data_end as u64,
                index: walk.index,
            });
        }
    }
    Ok(())
}

fn check_continuity(rec: &Recovered, id: SegmentId, first_lsn: Lsn) -> Result<()> {
    let expected = rec.next_lsn;
    // The very first segment may start after 1 only if older segments were archived;
    // sealog does not archive yet, so it must start at 1.
    if first_lsn != expected {
        return Err(EngineError::LsnGap {
            segment: id,
            expected,
            found: first_lsn,
        });
    }
    Ok(())
}

fn note_damage(rec: &mut Recovered, damage: Vec<Damage>, identity_lost: bool) {
    if identity_lost && rec.read_only.is_none() {
        if let Some(first) = damage.first() {
            rec.read_only = Some(first.to_string());
        }
    }
    rec.report.damage.extend(damage);
}

/// Damage to a whole segment (no offset, LSNs or event to name).
fn segment_damage(segment: SegmentId, why: String) -> Damage {
    Damage {
        segment,
        offset: 0,
        lsns: None,
        id: None,
        why,
    }
}

/// Folds a segment's tenant runs into the chain heads; a run that does not continue
/// its tenant's chain is damage (an event deleted, or a segment replaced).
fn fold_heads(rec: &mut Recovered, index: &dyn IndexLookup, id: SegmentId) {
    for run in index.tenant_runs() {
        let Ok(tenant) = TenantId::new(&run.tenant) else {
            continue;
        };
        let head = rec.heads.get(&tenant).copied().unwrap_or(ChainHead::EMPTY);
        // A damaged index can claim any run: its last seq is checked, never computed
        // with overflow (a fuzzed index once made `first_seq + count` overflow).
        let Some(last_seq) = run
            .count
            .checked_sub(1)
            .and_then(|k| run.first_seq.0.checked_add(k))
        else {
            let why = format!(
                "tenant {tenant}: the segment's index claims an impossible run ({} events from seq {})",
                run.count, run.first_seq
            );
            note_damage(rec, vec![segment_damage(id, why)], true);
            continue;
        };
        if head.seq.0.checked_add(1) != Some(run.first_seq.0) {
            let why = format!(
                "tenant {tenant}: segment starts at seq {} but the previous segments end at seq {}",
                run.first_seq, head.seq
            );
            note_damage(rec, vec![segment_damage(id, why)], true);
        }
        let last = rec.heads.entry(tenant).or_insert(ChainHead::EMPTY);
        last.seq = crate::types::Seq(last_seq);
        last.hash = run.last_hash;
        last.created_at_us = run.last_created_us;
    }
}

/// Saves the torn bytes beside the segment, then zeroes them in place and syncs, so the
/// cut is durable before anything new is appended after it.
#[allow(clippy::too_many_arguments)]
fn cut_torn_tail(
    rec: &mut Recovered,
    storage: &dyn Storage,
    wal: &Path,
    id: SegmentId,
    path: &Path,
    torn: &[u8],
    offset: u64,
    records: u64,
) -> Result<()> {
    let names = storage.list(wal).ctx(wal, "list")?;
    let saved_to = crate::segment::torn_path(wal, id, &names);
    let keep = storage.create_new(&saved_to).ctx(&saved_to, "create")?;
    keep.write_all_at(torn, 0).ctx(&saved_to, "write")?;
    keep.sync_all().ctx(&saved_to, "fsync")?;
    storage.sync_dir(wal).ctx(wal, "fsync dir")?;
    let file = storage.open_rw(path).ctx(path, "open")?;
    file.write_all_at(&vec![0u8; torn.len()], offset)
        .ctx(path, "zero torn tail")?;
    file.sync_data().ctx(path, "fdatasync")?;
    tracing::warn!(
        segment = %id, offset, bytes = torn.len(), records, saved_to = %saved_to.display(),
        "cut a torn tail: bytes written after the last completed sync (never acknowledged)"
    );
    rec.report.torn.push(TornTail {
        segment: id,
        offset,
        bytes: torn.len() as u64,
        records,
        saved_to,
    });
    Ok(())
}
