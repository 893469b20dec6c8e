//! Scans over LSN and time ranges: owned events ([`Scan`]) for small reads, borrowed
//! events ([`Engine::visit`]) for bulk work (verification, exports).
//!
//! Both fetch `SCAN_BATCH_RECORDS` locations at a time under one lock acquisition and
//! decode from shared bytes. A time range becomes an LSN range (created_at never
//! decreases along the log), computed from the segments' time ranges, so segments
//! outside it are never touched.

use std::collections::VecDeque;
use std::ops::{ControlFlow, Range};
use std::sync::Arc;

use super::engine::Engine;
use super::read::{decode_frame, EventRef, StoredEvent};
use super::view::{Fetched, LogView};
use crate::error::Result;
use crate::types::{Lsn, SegmentId};

/// Records fetched per lock acquisition.
const SCAN_BATCH_RECORDS: u64 = 1024;

/// Scan order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScanDirection {
    /// Oldest first.
    #[default]
    Forward,
    /// Newest first.
    Backward,
}

/// A range of the log being walked in batches, fixed at creation (events appended
/// later are not included).
#[derive(Debug)]
struct Cursor {
    view: Arc<LogView>,
    start: Lsn,
    end: Lsn,
    direction: ScanDirection,
    segments_visited: usize,
    last_segment: Option<SegmentId>,
}

impl Cursor {
    fn new(engine: &Engine, range: Range<Lsn>, direction: ScanDirection) -> Cursor {
        let view = engine.shared().snapshot();
        let visible = Lsn(engine.stats().visible_lsn.0 + 1);
        let (start, end) = (range.start.max(Lsn(1)), range.end.min(visible));
        Cursor {
            view,
            start,
            end,
            direction,
            segments_visited: 0,
            last_segment: None,
        }
    }

    /// The next batch (within one segment, in scan order), or None at the end.
    fn next_batch(&mut self) -> Option<(Fetched, Range<u64>)> {
        if self.start >= self.end {
            return None;
        }
        let probe = match self.direction {
            ScanDirection::Forward => self.start,
            ScanDirection::Backward => Lsn(self.end.0 - 1),
        };
        let seg = &self.view.segments[self.view.segment_of_lsn(probe)?];
        let (first, n) = seg.with_index(|ix| (ix.first_lsn().0, ix.count()));
        let (lo, hi) = match self.direction {
            ScanDirection::Forward => (
                self.start.0,
                self.end
                    .0
                    .min(first + n)
                    .min(self.start.0 + SCAN_BATCH_RECORDS),
            ),
            ScanDirection::Backward => (
                self.start
                    .0
                    .max(first)
                    .max(self.end.0.saturating_sub(SCAN_BATCH_RECORDS)),
                self.end.0,
            ),
        };
        match self.direction {
            ScanDirection::Forward => self.start = Lsn(hi),
            ScanDirection::Backward => self.end = Lsn(lo),
        }
        if self.last_segment != Some(seg.id()) {
            self.last_segment = Some(seg.id());
            self.segments_visited += 1;
        }
        let fetched = seg.fetch(lo - first..hi - first);
        let got = fetched.locs.len() as u64;
        Some((fetched, lo..lo + got))
    }
}

/// Owned events over a range, each CRC-checked (and hash-checked if asked).
#[derive(Debug)]
pub struct Scan {
    cursor: Cursor,
    check_hash: bool,
    batch: Option<(Fetched, Range<u64>)>,
    pending: VecDeque<u64>,
}

impl Scan {
    /// How many segments this scan has read from (time-range pruning shows here).
    pub fn segments_visited(&self) -> usize {
        self.cursor.segments_visited
    }
}

impl Iterator for Scan {
    type Item = Result<StoredEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pending.is_empty() {
            let (fetched, lsns) = self.cursor.next_batch()?;
            self.pending = match self.cursor.direction {
                ScanDirection::Forward => lsns.clone().collect(),
                ScanDirection::Backward => lsns.clone().rev().collect(),
            };
            self.batch = Some((fetched, lsns));
        }
        let lsn = self.pending.pop_front()?;
        let (fetched, lsns) = self.batch.as_ref()?;
        let loc = fetched.locs[(lsn - lsns.start) as usize];
        Some(match fetched.owned(&loc, Lsn(lsn)) {
            Ok(ev) if self.check_hash => ev.check_hash().map(|()| ev),
            other => other,
        })
    }
}

impl Engine {
    /// Scans events with LSN in `range` (start inclusive, end exclusive), in order.
    /// Each item is CRC-checked; set `check_hash` to also recompute every hash.
    pub fn scan(&self, range: Range<Lsn>, direction: ScanDirection, check_hash: bool) -> Scan {
        Scan {
            cursor: Cursor::new(self, range, direction),
            check_hash,
            batch: None,
            pending: VecDeque::new(),
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
        self.scan(
            self.lsn_range_of_time(from_us, to_us),
            direction,
            check_hash,
        )
    }

    /// The LSN range holding exactly the events with `from_us <= created_at_us < to_us`.
    pub fn lsn_range_of_time(&self, from_us: i64, to_us: i64) -> Range<Lsn> {
        let view = self.shared().snapshot();
        lsn_at_time(&view, from_us)..lsn_at_time(&view, to_us)
    }

    /// Calls `f` with every event in `range`, borrowed (no copy, no shared counter per
    /// event); each is CRC-checked, not hash-checked. A damaged event is passed as the
    /// error. Stops early when `f` breaks. Returns how many segments were read.
    pub fn visit<B>(
        &self,
        range: Range<Lsn>,
        direction: ScanDirection,
        mut f: impl FnMut(Result<EventRef<'_>>) -> ControlFlow<B>,
    ) -> (Option<B>, usize) {
        let mut cursor = Cursor::new(self, range, direction);
        while let Some((fetched, lsns)) = cursor.next_batch() {
            let mut each = |k: usize| {
                let loc = &fetched.locs[k];
                let frame = fetched.frame(loc).map(|(f, _)| f);
                f(decode_frame(
                    fetched.segment,
                    loc,
                    Lsn(lsns.start + k as u64),
                    frame,
                ))
            };
            let n = fetched.locs.len();
            let flow = match direction {
                ScanDirection::Forward => (0..n).try_for_each(&mut each),
                ScanDirection::Backward => (0..n).rev().try_for_each(&mut each),
            };
            if let ControlFlow::Break(b) = flow {
                return (Some(b), cursor.segments_visited);
            }
        }
        (None, cursor.segments_visited)
    }

    /// Like [`visit`](Self::visit), but only the events at `lsns` (ascending, each
    /// visible), oldest first: for a reader that already knows which events it wants
    /// (the webhooks' dispatchers, docs/WEBHOOKS.md). Each run of consecutive LSNs
    /// within one segment is fetched under one lock acquisition, as `visit` does.
    pub fn visit_lsns<B>(
        &self,
        lsns: &[Lsn],
        mut f: impl FnMut(Result<EventRef<'_>>) -> ControlFlow<B>,
    ) -> Option<B> {
        let view = self.shared().snapshot();
        let mut rest = lsns;
        while let Some(&start) = rest.first() {
            // Past the visible end: nothing more to visit.
            let seg = &view.segments[view.segment_of_lsn(start)?];
            let (first, n) = seg.with_index(|ix| (ix.first_lsn().0, ix.count()));
            // The longest run start, start + 1, … in this segment and this batch.
            let run = rest
                .iter()
                .enumerate()
                .take_while(|&(k, l)| {
                    l.0 == start.0 + k as u64 && l.0 < first + n && (k as u64) < SCAN_BATCH_RECORDS
                })
                .count()
                .max(1);
            let fetched = seg.fetch(start.0 - first..start.0 - first + run as u64);
            for (k, loc) in fetched.locs.iter().enumerate() {
                let frame = fetched.frame(loc).map(|(fr, _)| fr);
                let ev = decode_frame(fetched.segment, loc, Lsn(start.0 + k as u64), frame);
                if let ControlFlow::Break(b) = f(ev) {
                    return Some(b);
                }
            }
            rest = &rest[run..];
        }
        None
    }

    /// The first LSN whose `created_at_us >= t` (one past the last LSN if none), using
    /// the segments' time ranges to touch only the segment that holds it.
    pub fn lsn_at_time(&self, t: i64) -> Lsn {
        lsn_at_time(&self.shared().snapshot(), t)
    }
}

fn lsn_at_time(view: &LogView, t: i64) -> Lsn {
    for i in view.segments_in_time(t, i64::MAX) {
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
