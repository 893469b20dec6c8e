//! One segment file, checked on its own: header, frames (walked by recovery's own walk,
//! so a torn tail is told apart from damage by the same rule), seal and BLAKE3 digest,
//! then every event's hash and server fields in parallel chunks. Links and Merkle
//! leaves cross segments: the caller checks them from [`SegmentCheck::events`].

use std::path::Path;

use rayon::prelude::*;

use super::report::{EventFault, SegmentFault, SegmentFaultKind, TornTailFound};
use crate::error::{IoContext, Result};
use crate::frame::{SealRecord, SEAL_FRAME_BYTES};
use crate::limits;
use crate::merkle::Hash;
use crate::recovery::{read_nonzero_prefix, read_seal, scan, seal_is_plausible};
use crate::segment::{segment_path, SegmentHeader, SEGMENT_HEADER_BYTES};
use crate::storage::Storage;
use crate::types::{Lsn, SegmentId, Seq};
use crate::verify::FaultKind;

/// Records hashed per parallel work unit.
const CHECK_CHUNK_RECORDS: u64 = 4_096;

/// Largest segment file read: no segment sealog writes is larger than
/// [`limits::SEGMENT_BYTES_MAX`] (one append request may overshoot the configured size,
/// which that bound leaves room for); one group commit of slack covers the seal.
pub(crate) const SEGMENT_FILE_BYTES_MAX: u64 =
    limits::SEGMENT_BYTES_MAX + limits::GROUP_COMMIT_BYTES_MAX as u64;

/// A segment file's bytes and what its header, seal and frames say.
pub(crate) enum Loaded {
    /// The file cannot be read as a segment at all.
    Unusable(SegmentFault),
    /// The last segment's creation never finished: a bad header, then only zeros.
    Unfinished(SegmentId),
    /// A segment to check, and the walk of its frames.
    Segment(Box<SegmentFile>, Box<scan::Walk>),
}

pub(crate) struct SegmentFile {
    pub id: SegmentId,
    pub header: SegmentHeader,
    pub bytes: Vec<u8>,
    pub file_bytes: u64,
    /// The seal at the end of the file, when valid and plausible.
    pub seal: Option<SealRecord>,
    /// A seal frame with a valid CRC whose numbers cannot describe the file.
    pub seal_implausible: bool,
    pub is_last: bool,
}

/// Reads segment `id` (read-only; the active segment's preallocated zeros are skipped)
/// and walks its frames (CRC, layout, LSNs) as recovery walks them.
pub(crate) fn load(
    storage: &dyn Storage,
    wal: &Path,
    id: SegmentId,
    is_last: bool,
) -> Result<Loaded> {
    let path = segment_path(wal, id);
    let unusable = |kind, why: String| {
        Ok(Loaded::Unusable(SegmentFault {
            segment: id,
            offset: None,
            kind,
            why,
        }))
    };
    let file = storage.open_ro(&path).ctx(&path, "open")?;
    let size = file.size().ctx(&path, "stat")?;
    if size > SEGMENT_FILE_BYTES_MAX {
        let why = format!(
            "the file is {size} bytes, larger than any segment sealog writes ({SEGMENT_FILE_BYTES_MAX})"
        );
        return unusable(SegmentFaultKind::Header, why);
    }
    let mut head = vec![0u8; SEGMENT_HEADER_BYTES.min(size as usize)];
    file.read_exact_at(&mut head, 0).ctx(&path, "read")?;
    let header = match SegmentHeader::decode(&head, &path) {
        Ok(h) => h,
        Err(e) => {
            if is_last {
                let rest = read_nonzero_prefix(file.as_ref(), size, 0, &path)?;
                if rest.len() <= SEGMENT_HEADER_BYTES {
                    return Ok(Loaded::Unfinished(id));
                }
            }
            return unusable(SegmentFaultKind::Header, format!("unreadable header: {e}"));
        }
    };
    let found_seal = read_seal(file.as_ref(), size, &path)?;
    let seal = found_seal.filter(|s| seal_is_plausible(s, &header, size));
    let bytes = if seal.is_some() || !is_last {
        let mut bytes = vec![0u8; size as usize];
        file.read_exact_at(&mut bytes, 0).ctx(&path, "read")?;
        bytes
    } else {
        read_nonzero_prefix(file.as_ref(), size, SEGMENT_HEADER_BYTES as u64, &path)?
    };
    let seg = Box::new(SegmentFile {
        id,
        header,
        bytes,
        file_bytes: size,
        seal,
        seal_implausible: found_seal.is_some() && seal.is_none(),
        is_last,
    });
    let tail_may_be_torn = seg.is_last && seg.seal.is_none();
    let walk = scan::walk(
        &seg.bytes,
        seg.id,
        seg.header.first_lsn,
        tail_may_be_torn,
        false,
        seg.seal.map(|s| s.last_lsn),
    );
    Ok(Loaded::Segment(seg, Box::new(walk)))
}

/// One readable event, with what its body says about its link.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CheckedEvent<'a> {
    pub lsn: Lsn,
    pub offset: u64,
    pub seq: Seq,
    pub id: uuid::Uuid,
    /// The stored hash (the Merkle leaf input).
    pub hash: Hash,
    /// Its Merkle leaf hash (hashed here, in the parallel chunks).
    pub leaf: Hash,
    pub tenant: &'a str,
    /// The body's `prev_hash`; `None` when its server fields are unreadable (reported).
    pub prev: Option<Hash>,
}

/// What one segment holds and what is wrong with it.
pub(crate) struct SegmentCheck<'a> {
    /// Readable events, in LSN order.
    pub events: Vec<CheckedEvent<'a>>,
    pub event_faults: Vec<EventFault>,
    pub segment_faults: Vec<SegmentFault>,
    pub torn: Option<TornTailFound>,
    /// The LSN after the segment's last.
    pub next_lsn: Lsn,
}

/// Checks a loaded segment given the walk of its frames. `wal` is read only for the segment's
/// index file, to name events lost to damage. `tick(bytes)` is called as chunks of
/// frames are checked (for progress).
pub(crate) fn check<'a>(
    storage: &dyn Storage,
    wal: &Path,
    seg: &'a SegmentFile,
    walk: &scan::Walk,
    tick: &(dyn Fn(u64) + Sync),
) -> SegmentCheck<'a> {
    let n = walk.index.len() as u64;
    let chunks: Vec<std::ops::Range<u64>> = (0..n)
        .step_by(CHECK_CHUNK_RECORDS as usize)
        .map(|a| a..(a + CHECK_CHUNK_RECORDS).min(n))
        .collect();
    let digest_ok = |seal: &SealRecord| {
        let end = seg.bytes.len().saturating_sub(SEAL_FRAME_BYTES);
        blake3::hash(&seg.bytes[..end]).as_bytes() == &seal.digest
    };
    let (intact, outcomes) = rayon::join(
        || seg.seal.as_ref().map(digest_ok),
        || {
            chunks
                .into_par_iter()
                .map(|r| {
                    let checked = check_chunk(seg, &walk.index, r.clone());
                    tick(span_bytes(&walk.index, r));
                    checked
                })
                .collect::<Vec<_>>()
        },
    );
    let mut events = Vec::with_capacity(n as usize);
    let mut event_faults = Vec::new();
    for (e, f) in outcomes {
        events.extend(e);
        event_faults.extend(f);
    }
    let unreadable = super::damage::unreadable_faults(storage, wal, seg, walk);
    let segment_faults = segment_faults(seg, walk, intact, unreadable.is_empty());
    event_faults.extend(unreadable);
    let torn = walk.torn.map(|(from, to, records)| TornTailFound {
        segment: seg.id,
        offset: from as u64,
        bytes: (to - from) as u64,
        records,
    });
    let next_lsn = match seg.seal {
        Some(s) => Lsn(s.last_lsn.0 + 1),
        None => walk.index.next_lsn(),
    };
    SegmentCheck {
        events,
        event_faults,
        segment_faults,
        torn,
        next_lsn,
    }
}

/// What is wrong with the segment as a whole: header, seal, digest. `intact` is the
/// digest check's outcome (sealed segments only); `framed` is whether every frame read.
fn segment_faults(
    seg: &SegmentFile,
    walk: &scan::Walk,
    intact: Option<bool>,
    framed: bool,
) -> Vec<SegmentFault> {
    let mut faults = Vec::new();
    let mut fault = |kind, offset: Option<u64>, why: String| {
        faults.push(SegmentFault {
            segment: seg.id,
            offset,
            kind,
            why,
        })
    };
    if seg.header.id != seg.id {
        let why = format!(
            "its header says segment {} (the file was renamed or replaced)",
            seg.header.id
        );
        fault(SegmentFaultKind::Header, Some(0), why);
    }
    if seg.seal.is_none() && !seg.is_last {
        let why = if seg.seal_implausible {
            "its seal does not match its contents"
        } else {
            "it is not sealed though later segments exist"
        };
        fault(
            SegmentFaultKind::Seal,
            Some(walk.data_end as u64),
            why.into(),
        );
    }
    if let Some(seal) = &seg.seal {
        if intact == Some(false) {
            let why = "its bytes do not match the BLAKE3 digest in its seal".to_owned();
            fault(SegmentFaultKind::Digest, None, why);
        }
        let n = walk.index.len() as u64;
        if framed && (walk.seal != Some(*seal) || n != seal.record_count) {
            let why = format!(
                "its seal says {} events (lsn {}..={}) but its frames hold {n}",
                seal.record_count, seal.first_lsn, seal.last_lsn
            );
            fault(SegmentFaultKind::Seal, None, why);
        }
    }
    faults
}

/// Bytes of the frames of records `range` (for progress).
fn span_bytes(index: &crate::index::MemIndex, range: std::ops::Range<u64>) -> u64 {
    let start = index.rec(range.start).map_or(0, |l| l.offset);
    let end = range
        .end
        .checked_sub(1)
        .and_then(|i| index.rec(i))
        .map_or(start, |l| l.end());
    end.saturating_sub(start)
}

/// Decodes and hash-checks records `range` of the walk's index.
fn check_chunk<'a>(
    seg: &'a SegmentFile,
    index: &crate::index::MemIndex,
    range: std::ops::Range<u64>,
) -> (Vec<CheckedEvent<'a>>, Vec<EventFault>) {
    let mut events = Vec::with_capacity((range.end - range.start) as usize);
    let mut faults = Vec::new();
    let first = index.first_lsn();
    for i in range {
        let Some(loc) = index.rec(i) else { continue };
        if loc.len == 0 {
            continue; // lost to damage: the walk reported it
        }
        let lsn = Lsn(first.0 + i);
        let end = loc.offset as usize + loc.len as usize;
        let frame = seg.bytes.get(loc.offset as usize..end);
        let ev = match crate::log::read::decode_frame(seg.id, &loc, lsn, frame) {
            Ok(ev) => ev,
            Err(e) => {
                faults.push(EventFault {
                    segment: seg.id,
                    offset: loc.offset,
                    lsns: Some((lsn, lsn)),
                    id: None,
                    tenant: None,
                    seq: None,
                    kind: FaultKind::Unreadable(e.to_string()),
                });
                continue;
            }
        };
        let fault = |kind| EventFault {
            segment: seg.id,
            offset: ev.offset,
            lsns: Some((lsn, lsn)),
            id: Some(ev.id),
            tenant: Some(ev.tenant.to_owned()),
            seq: Some(ev.seq),
            kind,
        };
        if ev.check_hash().is_err() {
            faults.push(fault(FaultKind::HashMismatch));
        }
        let prev = match crate::verify::body_link(&ev) {
            Ok(prev) => Some(prev),
            Err(why) => {
                faults.push(fault(FaultKind::FieldMismatch(why)));
                None
            }
        };
        events.push(CheckedEvent {
            lsn,
            offset: ev.offset,
            seq: ev.seq,
            id: ev.id,
            hash: ev.hash,
            leaf: crate::merkle::tree::leaf_hash(&ev.hash),
            tenant: ev.tenant,
            prev,
        });
    }
    (events, faults)
}
