//! Walking the frames of one segment: what is valid, where the data ends, what is torn
//! and what is damaged.
//!
//! The rule (docs/FORMAT.md, "Recovery"): only bytes written after the last completed
//! fdatasync can be torn, and only in the last segment. When a frame fails, recovery
//! looks at every valid frame after it: a frame whose `durable_lsn` reaches the first
//! LSN that would be cut proves those bytes were synced, so the failure is corruption
//! (reported, indexed around, never cut). Without such proof it is a torn tail: cut from
//! the end of the last complete append request. Requests are kept whole: frames of a
//! request whose last frame (flag `FLAG_REQUEST_END`) is missing are cut with the tail.

use crate::frame::{
    self, Decoded, EventRecord, Record, SealRecord, FLAG_REQUEST_END, FRAME_BYTES_MIN,
    FRAME_HEADER_BYTES, RECORD_HEADER_BYTES,
};
use crate::index::{MemIndex, MemRec};
use crate::limits::RECORD_BYTES_MAX;
use crate::types::{Lsn, SegmentId};

use super::report::Damage;

/// The outcome of walking one segment.
#[derive(Debug)]
pub(crate) struct Walk {
    pub index: MemIndex,
    /// End of the valid data (where the next frame goes).
    pub data_end: usize,
    /// A seal frame found at the end.
    pub seal: Option<SealRecord>,
    /// `(from, to, whole frames)`: bytes to cut as a torn tail.
    pub torn: Option<(usize, usize, u64)>,
    pub damage: Vec<Damage>,
    /// Whether some damaged event's identity (tenant, seq) is unknown.
    pub identity_lost: bool,
}

/// Walks the frames of `bytes` (a whole segment file) from the header on.
/// `tail_may_be_torn` is true only for the last segment of the log.
///
/// `check_hashes` also recomputes every body's SHA-256 (used when a sealed segment's
/// digest does not match, to name the altered events). `sealed_last` is the last LSN a
/// valid seal gives the segment: damage with no valid event after it then still has
/// known LSNs (up to the seal's), which the report names and the index marks damaged.
pub(crate) fn walk(
    bytes: &[u8],
    segment: SegmentId,
    first_lsn: Lsn,
    tail_may_be_torn: bool,
    check_hashes: bool,
    sealed_last: Option<Lsn>,
) -> Walk {
    let mut w = Walker {
        bytes,
        segment,
        sealed_last,
        expected: first_lsn,
        index: MemIndex::new(first_lsn),
        pending: Vec::new(),
        last_end: crate::segment::SEGMENT_HEADER_BYTES,
        damage: Vec::new(),
        lost_lsns: 0,
        identity_lost: false,
        check_hashes,
    };
    let mut pos = crate::segment::SEGMENT_HEADER_BYTES;
    loop {
        let why = match frame::decode(bytes, pos) {
            Decoded::Frame(Record::Event(ev), next) if ev.lsn == w.expected => {
                w.accept(&ev, pos, next);
                pos = next;
                continue;
            }
            Decoded::Frame(Record::Seal(seal), next)
                if w.pending.is_empty() && rest_is_zero(bytes, next) =>
            {
                return w.finish(pos, Some(seal), None);
            }
            Decoded::End if rest_is_zero(bytes, pos) && w.pending.is_empty() => {
                return w.finish(pos, None, None)
            }
            Decoded::End if rest_is_zero(bytes, pos) => {
                "append request incomplete at the end of the data"
            }
            Decoded::Bad(fault) => fault.why(),
            Decoded::Frame(..) | Decoded::End => {
                "frame out of place (wrong LSN, or data after the end)"
            }
        };
        match w.fault(pos, tail_may_be_torn, why) {
            Resume::At(next) => pos = next,
            Resume::Done(walk) => return *walk,
        }
    }
}

/// Largest seq gap padded inside one segment's tenant run (4 bytes of index each).
const SEQ_GAP_PAD_MAX: u64 = 1 << 20;

enum Resume {
    At(usize),
    Done(Box<Walk>),
}

struct Walker<'a> {
    bytes: &'a [u8],
    segment: SegmentId,
    /// The seal's last LSN, for a sealed segment.
    sealed_last: Option<Lsn>,
    expected: Lsn,
    index: MemIndex,
    /// Frames of the request being read (not yet ended).
    pending: Vec<(&'a str, MemRec)>,
    /// End of the last complete request.
    last_end: usize,
    damage: Vec<Damage>,
    lost_lsns: u64,
    identity_lost: bool,
    check_hashes: bool,
}

impl<'a> Walker<'a> {
    fn accept(&mut self, ev: &EventRecord<'a>, pos: usize, next: usize) {
        if self.check_hashes && crate::chain::body_hash(ev.body) != ev.hash {
            self.damage.push(Damage {
                segment: self.segment,
                offset: pos as u64,
                lsns: Some((ev.lsn, ev.lsn)),
                id: Some(uuid::Uuid::from_bytes(ev.id)),
                why: "event body does not match its stored hash (altered, CRC fixed up)".into(),
            });
        }
        let rec = MemRec {
            offset: pos as u32,
            len: (next - pos) as u32,
            created_at_us: ev.created_at_us,
            seq: ev.seq,
            id: ev.id,
            hash: ev.hash,
        };
        self.pending.push((ev.tenant, rec));
        self.expected = Lsn(ev.lsn.0 + 1);
        if ev.flags & FLAG_REQUEST_END != 0 {
            self.commit_pending();
            self.last_end = next;
        }
    }

    fn commit_pending(&mut self) {
        for (tenant, rec) in std::mem::take(&mut self.pending) {
            let pushed = if self.lost_lsns == 0 {
                self.index.push(tenant, &rec)
            } else {
                self.index.push_after_damage(tenant, &rec, self.lost_lsns)
            };
            if pushed.is_err() {
                // The event is readable but does not continue its tenant's run (an event
                // before it deleted, or events reordered): keep it readable by LSN so
                // verification names the break; a forward gap is padded so the run (and
                // look-ups by seq) go on after it.
                if self
                    .index
                    .push_after_damage(tenant, &rec, SEQ_GAP_PAD_MAX)
                    .is_err()
                {
                    self.index.push_unchained(&rec);
                }
                let lsn = Lsn(self.index.next_lsn().0 - 1);
                self.damage.push(Damage {
                    segment: self.segment,
                    offset: rec.offset as u64,
                    lsns: Some((lsn, lsn)),
                    id: Some(uuid::Uuid::from_bytes(rec.id)),
                    why: format!(
                        "tenant {tenant} seq {} does not continue its chain in this segment",
                        rec.seq
                    ),
                });
            }
        }
    }

    /// Decides torn tail or damage at `pos`: torn only in the last segment and only
    /// without proof that the bytes were synced.
    fn fault(&mut self, pos: usize, tail_may_be_torn: bool, why: &str) -> Resume {
        let later = later_frames(self.bytes, pos, self.expected);
        let first_cut = Lsn(self.expected.0 - self.pending.len() as u64);
        let proven_durable = later.iter().any(|f| f.durable_lsn >= first_cut);
        if tail_may_be_torn && !proven_durable {
            let records = (self.pending.len() + later.len()) as u64;
            self.pending.clear();
            let from = self.last_end.min(self.bytes.len());
            let to = last_nonzero(self.bytes).max(from);
            return Resume::Done(Box::new(self.finish(from, None, Some((from, to, records)))));
        }
        self.commit_pending();
        self.identity_lost = true;
        let Some(next) = later.first() else {
            // In a sealed segment the seal says which LSNs the damage took: from here to
            // its last (the seal frame itself is not an event, so `later` never has it).
            let lsns = self
                .sealed_last
                .filter(|last| *last >= self.expected)
                .map(|last| (self.expected, last));
            if let Some((from, to)) = lsns {
                let lost = to.0 - from.0 + 1;
                self.index.push_damaged(pos as u32, lost);
                self.lost_lsns += lost;
                self.expected = Lsn(to.0 + 1);
            }
            let why = format!("{why}; no valid event follows in the segment");
            self.damage.push(Damage {
                segment: self.segment,
                offset: pos as u64,
                lsns,
                id: None,
                why,
            });
            return Resume::Done(Box::new(self.finish(pos, None, None)));
        };
        let lost = next.lsn.0 - self.expected.0;
        let lsns = (lost > 0).then(|| (self.expected, Lsn(next.lsn.0 - 1)));
        self.damage.push(Damage {
            segment: self.segment,
            offset: pos as u64,
            lsns,
            id: None,
            why: why.to_owned(),
        });
        self.index.push_damaged(pos as u32, lost);
        self.lost_lsns += lost;
        self.expected = next.lsn;
        Resume::At(next.offset)
    }

    fn finish(
        &mut self,
        data_end: usize,
        seal: Option<SealRecord>,
        torn: Option<(usize, usize, u64)>,
    ) -> Walk {
        Walk {
            index: std::mem::replace(&mut self.index, MemIndex::new(Lsn(0))),
            data_end,
            seal,
            torn,
            damage: std::mem::take(&mut self.damage),
            identity_lost: self.identity_lost,
        }
    }
}

/// A valid event frame found after a fault.
#[derive(Debug, Clone, Copy)]
struct Later {
    offset: usize,
    lsn: Lsn,
    durable_lsn: Lsn,
}

/// Every valid event frame after `pos` (resynchronising byte by byte past bad spots)
/// that can continue the log: its LSN is at least the next expected one, and it skips
/// no more LSNs than frames could fit in the bytes skipped (so no LSN on disk, however
/// forged, makes recovery believe in more events than the file can hold). Candidates
/// are filtered on cheap header fields before the CRC is computed.
fn later_frames(bytes: &[u8], pos: usize, expected: Lsn) -> Vec<Later> {
    let mut found = Vec::new();
    let (mut base_lsn, mut base_at) = (expected, pos);
    let mut at = pos + 1;
    while at + FRAME_HEADER_BYTES + RECORD_HEADER_BYTES <= bytes.len() {
        if bytes[at..at + 4] == [0, 0, 0, 0] {
            // A frame starts with a non-zero length: skip runs of zeros (the
            // preallocated space) quickly. The next frame starts at most 3 bytes before
            // the next non-zero byte.
            match bytes[at + 4..].iter().position(|&b| b != 0) {
                Some(p) => at = (at + 4 + p).saturating_sub(3).max(at + 1),
                None => break,
            }
            continue;
        }
        let skipped_max = ((at - base_at) / FRAME_BYTES_MIN) as u64;
        if !plausible(bytes, at, base_lsn, skipped_max) {
            at += 1;
            continue;
        }
        match frame::decode(bytes, at) {
            Decoded::Frame(Record::Event(ev), next)
                if ev.lsn >= base_lsn && ev.lsn.0 - base_lsn.0 <= skipped_max =>
            {
                found.push(Later {
                    offset: at,
                    lsn: ev.lsn,
                    durable_lsn: ev.durable_lsn,
                });
                (base_lsn, base_at) = (Lsn(ev.lsn.0 + 1), next);
                at = next;
            }
            _ => at += 1,
        }
    }
    found
}

fn plausible(bytes: &[u8], at: usize, expected: Lsn, skipped_max: u64) -> bool {
    let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
    if !(RECORD_HEADER_BYTES..=RECORD_BYTES_MAX).contains(&len) {
        return false;
    }
    match frame::peek_lsn(bytes, at) {
        Some((kind, lsn)) => {
            kind == frame::KIND_EVENT && lsn >= expected && lsn.0 - expected.0 <= skipped_max
        }
        None => false,
    }
}

fn rest_is_zero(bytes: &[u8], from: usize) -> bool {
    bytes
        .get(from..)
        .is_none_or(|rest| rest.iter().all(|&b| b == 0))
}

fn last_nonzero(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1)
}
