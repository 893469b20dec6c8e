//! What readers see: the list of segments, each with its bytes and its index.
//!
//! The active segment grows under a lock as the syncer publishes durable batches (its
//! bytes are the very buffers the writer wrote, kept as `Bytes` chunks: no copy, no
//! re-read). A sealed segment is immutable: its bytes are an mmap of the file and its
//! index is in memory until `<id>.idx` is written, then mapped. Readers take an `Arc`
//! snapshot of the list and never block the writer for longer than a pointer copy.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

use crate::frame::SealRecord;
use crate::index::{IndexLookup, MemIndex, RecLoc, SegmentIndex};
use crate::types::{Lsn, SegmentId};

/// One segment as readers see it.
#[derive(Debug)]
pub(crate) enum Segment {
    Active(ActiveSegment),
    Sealed(SealedSegment),
}

/// The segment being appended to.
#[derive(Debug)]
pub(crate) struct ActiveSegment {
    pub id: SegmentId,
    pub inner: RwLock<ActiveInner>,
}

/// Durable contents of the active segment.
#[derive(Debug)]
pub(crate) struct ActiveInner {
    /// Written buffers and the file offset each starts at, in file order. Frames never
    /// straddle two chunks.
    pub chunks: Vec<(u64, Bytes)>,
    pub index: MemIndex,
}

/// A sealed, immutable segment.
#[derive(Debug)]
pub(crate) struct SealedSegment {
    pub id: SegmentId,
    pub bytes: Bytes,
    pub seal: SealRecord,
    pub index: RwLock<SegmentIndex>,
}

impl Segment {
    pub fn id(&self) -> SegmentId {
        match self {
            Segment::Active(a) => a.id,
            Segment::Sealed(s) => s.id,
        }
    }

    /// Bytes of data readers can see in this segment.
    pub fn data_len(&self) -> u64 {
        match self {
            Segment::Active(a) => {
                let inner = a.inner.read();
                inner
                    .chunks
                    .last()
                    .map_or(crate::segment::SEGMENT_HEADER_BYTES as u64, |(start, c)| {
                        start + c.len() as u64
                    })
            }
            Segment::Sealed(s) => s.bytes.len() as u64,
        }
    }

    /// Runs `f` with this segment's index.
    pub fn with_index<R>(&self, f: impl FnOnce(&dyn IndexLookup) -> R) -> R {
        match self {
            Segment::Active(a) => f(&a.inner.read().index),
            Segment::Sealed(s) => {
                let index = s.index.read().clone();
                f(index.lookup())
            }
        }
    }

    pub fn first_lsn(&self) -> Lsn {
        self.with_index(|ix| ix.first_lsn())
    }

    /// Locations of records `recs` (record numbers; fewer if the range passes the end)
    /// and shares of the bytes that hold them, taken under one lock acquisition.
    pub fn fetch(&self, recs: std::ops::Range<u64>) -> Fetched {
        match self {
            Segment::Active(a) => {
                let inner = a.inner.read();
                let locs: Vec<RecLoc> = recs.map_while(|i| inner.index.rec(i)).collect();
                let chunks = covering_chunks(&inner.chunks, &locs);
                Fetched {
                    segment: a.id,
                    first_lsn: inner.index.first_lsn(),
                    locs,
                    chunks,
                }
            }
            Segment::Sealed(s) => {
                let index = s.index.read().clone();
                let ix = index.lookup();
                let locs = recs.map_while(|i| ix.rec(i)).collect();
                let chunks = vec![(0, s.bytes.clone())];
                Fetched {
                    segment: s.id,
                    first_lsn: ix.first_lsn(),
                    locs,
                    chunks,
                }
            }
        }
    }
}

/// The segments readers see, oldest first; the last may be active.
#[derive(Debug, Default)]
pub(crate) struct LogView {
    pub segments: Vec<Arc<Segment>>,
}

impl LogView {
    /// Index of the segment that holds `lsn`, if any.
    pub fn segment_of_lsn(&self, lsn: Lsn) -> Option<usize> {
        let i = self
            .segments
            .partition_point(|s| s.first_lsn() <= lsn)
            .checked_sub(1)?;
        let seg = &self.segments[i];
        let (first, n) = seg.with_index(|ix| (ix.first_lsn(), ix.count()));
        (lsn.0 < first.0 + n).then_some(i)
    }

    /// Segments whose records may have a `created_at_us` in `[from, to]` (inclusive),
    /// as a range of positions: time is non-decreasing along the log.
    pub fn segments_in_time(&self, from: i64, to: i64) -> std::ops::Range<usize> {
        let ranges: Vec<Option<(i64, i64)>> = self
            .segments
            .iter()
            .map(|s| s.with_index(|ix| ix.time_range()))
            .collect();
        let start = ranges
            .iter()
            .position(|r| r.is_some_and(|(_, max)| max >= from))
            .unwrap_or(ranges.len());
        let end = ranges
            .iter()
            .rposition(|r| r.is_some_and(|(min, _)| min <= to))
            .map_or(start, |e| e + 1);
        start..end.max(start)
    }
}

/// Records fetched from one segment: their locations and shares of the bytes holding
/// them. Decoding borrows from here, so a scan touches a shared reference count once
/// per batch, not once per event (on two cores, per-event counting cost more than the
/// SHA-256 of the event).
#[derive(Debug)]
pub(crate) struct Fetched {
    pub segment: SegmentId,
    /// LSN of the segment's record 0.
    pub first_lsn: Lsn,
    pub locs: Vec<RecLoc>,
    /// (file offset, bytes) covering every location.
    chunks: Vec<(u64, Bytes)>,
}

impl Fetched {
    /// The frame at `loc`, and the shared bytes it lies in.
    pub fn frame(&self, loc: &RecLoc) -> Option<(&[u8], &Bytes)> {
        let i = self
            .chunks
            .partition_point(|(start, _)| *start <= loc.offset)
            .checked_sub(1)?;
        let (start, chunk) = &self.chunks[i];
        let from = usize::try_from(loc.offset - start).ok()?;
        let to = from.checked_add(loc.len as usize)?;
        chunk.get(from..to).map(|f| (f, chunk))
    }
}

/// Shares of the chunks that hold `locs` (sorted by offset).
fn covering_chunks(chunks: &[(u64, Bytes)], locs: &[RecLoc]) -> Vec<(u64, Bytes)> {
    let (Some(first), Some(last)) = (locs.first(), locs.last()) else {
        return Vec::new();
    };
    let (lo, hi) = (first.offset.min(last.offset), first.offset.max(last.offset));
    let from = chunks
        .partition_point(|(start, _)| *start <= lo)
        .saturating_sub(1);
    let to = chunks.partition_point(|(start, _)| *start <= hi);
    chunks[from..to.max(from)].to_vec()
}
