//! Reads: by LSN, by id, by (tenant, seq), and scans over LSN or time ranges.
//!
//! Every read decodes the frame (length, CRC, record header) and checks that it is the
//! record the index promised; single-event reads also recompute the SHA-256 of the body.
//! A damaged event is an error naming segment, offset and LSN, never bytes served as if
//! valid. Bodies are zero-copy `Bytes` slices of the mmap (sealed) or of the written
//! buffers (active).

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use super::engine::Engine;
use super::view::{LogView, Segment};
use crate::error::{EngineError, Result};
use crate::frame::{self, Decoded, Record};
use crate::index::RecLoc;
use crate::types::{Lsn, SegmentId, Seq, TenantId};

/// One stored event, as read from its segment.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The segment that holds it.
    pub segment: SegmentId,
    /// Byte offset of its frame in the segment file.
    pub offset: u64,
    /// Position in the log.
    pub lsn: Lsn,
    /// The tenant's seq.
    pub seq: Seq,
    /// Server receive time.
    pub created_at_us: i64,
    /// Event id.
    pub id: uuid::Uuid,
    /// The stored hash.
    pub hash: [u8; 32],
    frame: Bytes,
    tenant: Range<usize>,
    body: Range<usize>,
}

impl StoredEvent {
    /// Tenant name.
    pub fn tenant(&self) -> &str {
        // The range was checked to be a valid tenant name when decoded.
        std::str::from_utf8(&self.frame[self.tenant.clone()]).unwrap_or("")
    }

    /// The canonical body (the hash input).
    pub fn body(&self) -> &[u8] {
        &self.frame[self.body.clone()]
    }

    /// Byte offset of the body inside the segment file.
    pub fn body_offset(&self) -> u64 {
        self.offset + self.body.start as u64
    }

    /// The body as shared bytes (zero-copy).
    pub fn body_bytes(&self) -> Bytes {
        self.frame.slice(self.body.clone())
    }

    /// Recomputes the body's SHA-256 and compares it with the stored hash.
    pub fn check_hash(&self) -> Result<()> {
        if crate::chain::body_hash(self.body()) == self.hash {
            Ok(())
        } else {
            Err(EngineError::HashMismatch {
                id: self.id,
                lsn: self.lsn,
                segment: self.segment,
                offset: self.offset,
            })
        }
    }
}

/// Scan order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScanDirection {
    /// Oldest first.
    #[default]
    Forward,
    /// Newest first.
    Backward,
}

/// Decodes the frame at `loc` and checks it is the event with `lsn`.
pub(crate) fn decode_at(segment: &Segment, loc: &RecLoc, lsn: Lsn) -> Result<StoredEvent> {
    let corrupt = |why| EngineError::Corrupt {
        segment: segment.id(),
        offset: loc.offset,
        lsn: Some(lsn),
        why,
    };
    let frame = segment
        .frame(loc)
        .ok_or_else(|| corrupt("index points outside the segment"))?;
    let (tenant, body, ev) = match frame::decode(&frame, 0) {
        Decoded::Frame(Record::Event(ev), end) if end == frame.len() => {
            let base = frame.as_ptr() as usize;
            let tenant = ev.tenant.as_ptr() as usize - base
                ..ev.tenant.as_ptr() as usize - base + ev.tenant.len();
            let body =
                ev.body.as_ptr() as usize - base..ev.body.as_ptr() as usize - base + ev.body.len();
            (tenant, body, ev)
        }
        Decoded::Bad(fault) => return Err(corrupt(fault.why())),
        _ => {
            return Err(corrupt(
                "index points at something that is not one event frame",
            ))
        }
    };
    if ev.lsn != lsn {
        return Err(corrupt("frame holds another LSN than its index entry"));
    }
    Ok(StoredEvent {
        segment: segment.id(),
        offset: loc.offset,
        lsn,
        seq: ev.seq,
        created_at_us: ev.created_at_us,
        id: uuid::Uuid::from_bytes(ev.id),
        hash: ev.hash,
        tenant,
        body,
        frame,
    })
}

fn read_record(view: &LogView, i: usize, rec: u64) -> Result<StoredEvent> {
    let seg = &view.segments[i];
    let (loc, first) = seg.with_index(|ix| (ix.rec(rec), ix.first_lsn()));
    let lsn = Lsn(first.0 + rec);
    let loc = loc.ok_or(EngineError::Corrupt {
        segment: seg.id(),
        offset: 0,
        lsn: Some(lsn),
        why: "index entry missing",
    })?;
    decode_at(seg, &loc, lsn)
}

impl Engine {
    /// The event at `lsn`, hash-checked. `Ok(None)` if there is no such LSN (yet).
    pub fn get_by_lsn(&self, lsn: Lsn) -> Result<Option<StoredEvent>> {
        let view = self.shared().snapshot();
        let Some(i) = view.segment_of_lsn(lsn) else {
            return Ok(None);
        };
        let ev = read_record(&view, i, lsn.0 - view.segments[i].first_lsn().0)?;
        ev.check_hash()?;
        Ok(Some(ev))
    }

    /// The event with this id, hash-checked. The id's UUIDv7 timestamp picks the
    /// segments to search (sealog makes it equal created_at's millisecond).
    pub fn get_by_id(&self, id: &uuid::Uuid) -> Result<Option<StoredEvent>> {
        let Some(ms) = id
            .get_timestamp()
            .map(|t| t.to_unix())
            .map(|(s, ns)| s as i64 * 1000 + ns as i64 / 1_000_000)
        else {
            return Ok(None);
        };
        let view = self.shared().snapshot();
        let (from, to) = (
            ms.saturating_mul(1000),
            ms.saturating_mul(1000).saturating_add(999),
        );
        for i in view.segments_in_time(from, to) {
            if let Some(rec) = view.segments[i].with_index(|ix| ix.find_id(id.as_bytes())) {
                let ev = read_record(&view, i, rec)?;
                if ev.id != *id {
                    return Err(EngineError::Corrupt {
                        segment: ev.segment,
                        offset: ev.offset,
                        lsn: Some(ev.lsn),
                        why: "id index points at another event",
                    });
                }
                ev.check_hash()?;
                return Ok(Some(ev));
            }
        }
        Ok(None)
    }

    /// The tenant's event with this seq, hash-checked.
    pub fn get_by_seq(&self, tenant: &TenantId, seq: Seq) -> Result<Option<StoredEvent>> {
        let view = self.shared().snapshot();
        for i in (0..view.segments.len()).rev() {
            let found = view.segments[i].with_index(|ix| {
                let run = ix.tenant_run(tenant.as_str())?;
                (seq >= run.first_seq).then(|| ix.find_seq(tenant.as_str(), seq))
            });
            match found {
                Some(Some(rec)) => {
                    let ev = read_record(&view, i, rec)?;
                    ev.check_hash()?;
                    return Ok(Some(ev));
                }
                Some(None) => return Ok(None),
                None => continue,
            }
        }
        Ok(None)
    }

    /// The id the index records for `lsn`, without reading the event (to name a damaged
    /// event whose frame cannot be trusted).
    pub fn indexed_id(&self, lsn: Lsn) -> Option<uuid::Uuid> {
        let view = self.shared().snapshot();
        let i = view.segment_of_lsn(lsn)?;
        let id = view.segments[i].with_index(|ix| ix.id_of(lsn.0 - ix.first_lsn().0))?;
        (id != [0; 16]).then(|| uuid::Uuid::from_bytes(id))
    }

    /// The first LSN whose `created_at_us >= t` (one past the last LSN if none), using
    /// the segments' time ranges to touch only the segment that holds it.
    pub fn lsn_at_time(&self, t: i64) -> Lsn {
        let view = self.shared().snapshot();
        lsn_at_time(&view, t)
    }

    /// Scans events with LSN in `range` (inclusive start, exclusive end), in order.
    /// Each item is CRC-checked; set `check_hash` to also recompute every hash.
    pub fn scan(&self, range: Range<Lsn>, direction: ScanDirection, check_hash: bool) -> Scan {
        let view = self.shared().snapshot();
        let visible = Lsn(self.stats().visible_lsn.0 + 1);
        let end = range.end.min(visible);
        let start = range.start.max(Lsn(1));
        Scan {
            view,
            start,
            end,
            direction,
            check_hash,
            cursor: None,
            segments_visited: 0,
        }
    }

    /// Scans events with `from_us <= created_at_us < to_us`, touching only the
    /// segments whose time range overlaps.
    pub fn scan_time(
        &self,
        from_us: i64,
        to_us: i64,
        direction: ScanDirection,
        check_hash: bool,
    ) -> Scan {
        let view = self.shared().snapshot();
        let range = lsn_at_time(&view, from_us)..lsn_at_time(&view, to_us);
        drop(view);
        self.scan(range, direction, check_hash)
    }
}

fn lsn_at_time(view: &LogView, t: i64) -> Lsn {
    let candidates = view.segments_in_time(t, i64::MAX);
    for i in candidates {
        let (first, n, k) =
            view.segments[i].with_index(|ix| (ix.first_lsn(), ix.count(), ix.lower_bound_time(t)));
        if k < n {
            return Lsn(first.0 + k);
        }
    }
    match view.segments.last() {
        Some(s) => s.with_index(|ix| Lsn(ix.first_lsn().0 + ix.count())),
        None => Lsn(1),
    }
}

/// An iterator over a range of the log, fixed at creation (events appended later are
/// not included).
#[derive(Debug)]
pub struct Scan {
    view: Arc<LogView>,
    start: Lsn,
    end: Lsn,
    direction: ScanDirection,
    check_hash: bool,
    cursor: Option<(usize, Lsn, u64)>,
    segments_visited: usize,
}

impl Scan {
    /// How many segments this scan has read from (time-range pruning shows here).
    pub fn segments_visited(&self) -> usize {
        self.segments_visited
    }

    fn next_lsn(&mut self) -> Option<Lsn> {
        if self.start >= self.end {
            return None;
        }
        match self.direction {
            ScanDirection::Forward => {
                let lsn = self.start;
                self.start = Lsn(lsn.0 + 1);
                Some(lsn)
            }
            ScanDirection::Backward => {
                self.end = Lsn(self.end.0 - 1);
                Some(self.end)
            }
        }
    }
}

impl Iterator for Scan {
    type Item = Result<StoredEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        let lsn = self.next_lsn()?;
        let (i, first, n) = match self.cursor {
            Some((i, first, n)) if lsn >= first && lsn.0 < first.0 + n => (i, first, n),
            _ => {
                let i = self.view.segment_of_lsn(lsn)?;
                let (first, n) =
                    self.view.segments[i].with_index(|ix| (ix.first_lsn(), ix.count()));
                self.cursor = Some((i, first, n));
                self.segments_visited += 1;
                (i, first, n)
            }
        };
        debug_assert!(lsn.0 < first.0 + n);
        let item = read_record(&self.view, i, lsn.0 - first.0);
        Some(match item {
            Ok(ev) if self.check_hash => ev.check_hash().map(|()| ev),
            other => other,
        })
    }
}
