//! Frames a segment walk could not read, as faults: the LSNs they held, and, from the
//! segment's index file when it is intact, the id, tenant and seq of the event lost.

use std::path::Path;

use super::report::EventFault;
use super::segment::SegmentFile;
use crate::frame::SealRecord;
use crate::index::MappedIndex;
use crate::recovery::{scan, Damage};
use crate::segment::idx_path;
use crate::storage::Storage;
use crate::types::{Lsn, SegmentId, Seq};
use crate::verify::FaultKind;

/// The frames the walk could not read, as faults, named from the index file when it is
/// intact and knows them.
pub(crate) fn unreadable_faults(
    storage: &dyn Storage,
    wal: &Path,
    seg: &SegmentFile,
    walk: &scan::Walk,
) -> Vec<EventFault> {
    let unreadable: Vec<&Damage> = walk.damage.iter().filter(|d| d.id.is_none()).collect();
    if unreadable.is_empty() {
        return Vec::new();
    }
    let names = seg.seal.and_then(|s| index_file(storage, wal, seg, &s));
    let next = walk.index.next_lsn();
    unreadable
        .into_iter()
        .map(|d| {
            // Nothing valid followed the damage: the seal says how far the segment went.
            let lsns = d.lsns.or_else(|| {
                let s = seg.seal.filter(|s| s.last_lsn >= next)?;
                Some((next, s.last_lsn))
            });
            unreadable_fault(seg.id, d, lsns, names.as_deref())
        })
        .collect()
}

/// The segment's index file, when it is intact and describes this sealed segment: the
/// only place the id, tenant and seq of an unreadable event survive. Read, not mapped.
fn index_file(
    storage: &dyn Storage,
    wal: &Path,
    seg: &SegmentFile,
    seal: &SealRecord,
) -> Option<std::sync::Arc<MappedIndex>> {
    let path = idx_path(wal, seg.id);
    let file = storage.open_ro(&path).ok()?;
    let size = file.size().ok()?;
    // An index holds at most 64 bytes per record of the segment, plus its tables.
    if size > seg.file_bytes.saturating_mul(2) + 4096 {
        return None;
    }
    let mut bytes = vec![0u8; size as usize];
    file.read_exact_at(&mut bytes, 0).ok()?;
    MappedIndex::open(bytes.into(), seg.id, seg.file_bytes, &seal.digest)
        .filter(|m| m.first_lsn() == seal.first_lsn && m.len() == seal.record_count)
}

/// An unreadable frame as a fault, named from the index file when it knows the event.
fn unreadable_fault(
    segment: SegmentId,
    d: &Damage,
    lsns: Option<(Lsn, Lsn)>,
    index: Option<&MappedIndex>,
) -> EventFault {
    let mut fault = EventFault {
        segment,
        offset: d.offset,
        lsns,
        id: None,
        tenant: None,
        seq: None,
        kind: FaultKind::Unreadable(d.why.clone()),
    };
    if let (Some(ix), Some((a, b))) = (index, lsns) {
        if a == b {
            if let Some(rec) = a.0.checked_sub(ix.first_lsn().0) {
                fault.id = ix
                    .id_of(rec)
                    .filter(|id| *id != [0; 16])
                    .map(uuid::Uuid::from_bytes);
                if let Some((tenant, seq)) = tenant_seq_of(ix, rec) {
                    fault.tenant = Some(tenant);
                    fault.seq = Some(seq);
                }
            }
        }
    }
    fault
}

/// The tenant and seq of record `rec`, from the index's tenant runs (a binary search
/// per tenant: a run's record numbers grow with its seqs).
fn tenant_seq_of(ix: &MappedIndex, rec: u64) -> Option<(String, Seq)> {
    for run in ix.tenant_runs() {
        let (mut lo, mut hi) = (0u64, run.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match ix.tenant_rec(&run.tenant, mid)? {
                r if r == rec => return Some((run.tenant, Seq(run.first_seq.0 + mid))),
                r if r < rec => lo = mid + 1,
                _ => hi = mid,
            }
        }
    }
    None
}
