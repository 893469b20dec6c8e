//! [`ExportCursor`]: a tenant's matching events, read straight from the log in chunks.
//!
//! Within a tenant, (created_at, seq) order is LSN order, so an export is one walk of
//! one LSN range: the time range's (from the segments' time ranges, so segments
//! outside it are never read), starting no earlier than `from_seq`'s event and ending at
//! the last event visible when the export began. Events of other tenants in the range
//! are skipped on their frame header; the rest are matched with [`Filter`]'s reference
//! matcher and the resolution overlay as of the export's start, hash-checked like every
//! read, and encoded. A filter that matches little still walks the whole range: the
//! query API is the tool for needles, exports for bulk (docs/EXPORTS.md).
//!
//! A chunk walks its part of the range in windows sized from the share of events that
//! matched so far; [`walk`](super::walk) cuts each window into parts encoded at once.

use std::collections::HashMap;
use std::ops::Range;

use super::walk::{Fill, Reader, EXPORT_WINDOW_PARTS_MAX};
use super::Encoder;
use crate::error::Result;
use crate::log::{Engine, ScanDirection};
use crate::search::{Filter, Order, SearchIndex};
use crate::types::{Lsn, Seq};

/// Most events one [`ExportCursor::next_chunk`] call walks, matching or not, so a
/// filter that matches little still hands control back regularly (and a client that
/// went away is noticed).
pub const EXPORT_SCAN_EVENTS_MAX: u64 = 65_536;

/// A chunk ends early once its encoded bytes reach this, so a chunk of large events
/// (up to 1 MiB each) does not hold `chunk_size` of them in memory at once.
pub const EXPORT_CHUNK_BYTES_MAX: usize = 16 * 1024 * 1024;

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    /// The filter (its tenant is the export's tenant).
    pub filter: Filter,
    /// Ascending or descending (created_at, seq).
    pub order: Order,
    /// Only events with seq ≥ this.
    pub from_seq: Option<Seq>,
    /// At most this many events.
    pub limit: Option<u64>,
    /// Only events with LSN below this (default: those visible when the export opens).
    pub until: Option<Lsn>,
}

/// What one chunk call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Events encoded.
    pub events: usize,
    /// Whether the export is complete.
    pub done: bool,
}

/// An export in progress.
#[derive(Debug)]
pub struct ExportCursor {
    reader: Reader,
    /// The LSNs still to walk.
    left: Range<Lsn>,
    /// The LSN after the last event the export may show.
    end: Lsn,
    /// Events encoded so far.
    sent: u64,
    /// LSNs the export has moved past, matching or not (with `sent`, the share that
    /// matches).
    passed: u64,
    /// The buffers of a window's parts after the first, kept between chunks.
    spares: Vec<Vec<u8>>,
}

impl ExportCursor {
    /// Starts an export: fixes its LSN range and its overlay.
    pub fn open(search: &SearchIndex, spec: ExportSpec) -> Result<ExportCursor> {
        let engine = search.engine().clone();
        let visible = Lsn(engine.stats().visible_lsn.0 + 1);
        let end = spec.until.map_or(visible, |u| u.min(visible));
        let left = range_of(&engine, &spec, end);
        let f = &spec.filter;
        let overlays: HashMap<_, _> = search
            .resolutions_of(&f.tenant, end)?
            .into_iter()
            .map(|(lsn, r)| (lsn, r.overlay()))
            .collect();
        Ok(ExportCursor {
            reader: Reader::new(engine, spec, overlays),
            left,
            end,
            sent: 0,
            passed: 0,
            spares: Vec::new(),
        })
    }

    /// The LSN after the last event this export may show (fixed at its start).
    pub fn end_lsn(&self) -> Lsn {
        self.end
    }

    /// Events encoded so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Encodes up to `events_max` more events into `out` (fewer once the chunk holds
    /// [`EXPORT_CHUNK_BYTES_MAX`] bytes), walking at most [`EXPORT_SCAN_EVENTS_MAX`]
    /// events. A damaged or tampered event ends the export with an error naming it.
    pub fn next_chunk(
        &mut self,
        events_max: usize,
        encoder: &mut dyn Encoder,
        out: &mut Vec<u8>,
    ) -> Result<Chunk> {
        let limit = self.reader.spec.limit.unwrap_or(u64::MAX);
        let mut fill = Fill {
            want: (events_max as u64).min(limit - self.sent.min(limit)),
            events: 0,
            start: out.len(),
            separate: self.sent > 0,
        };
        let direction = match self.reader.spec.order {
            Order::Asc => ScanDirection::Forward,
            Order::Desc => ScanDirection::Backward,
        };
        // Forked encoders for the parts after the first (none if it does not fork).
        let mut forks: Vec<Box<dyn Encoder>> = (1..EXPORT_WINDOW_PARTS_MAX)
            .map_while(|_| encoder.fork())
            .collect();
        self.spares.resize_with(forks.len(), Vec::new);
        let mut walked = 0;
        while !fill.full(out.len()) && walked < EXPORT_SCAN_EVENTS_MAX && !self.left.is_empty() {
            let window = self.window(direction, &fill, EXPORT_SCAN_EVENTS_MAX - walked);
            let helpers = (&mut forks[..], &mut self.spares[..]);
            let stepped = self
                .reader
                .walk_window(window, direction, &mut fill, encoder, helpers, out)?;
            walked += stepped.walked;
            let before = self.left.end.0 - self.left.start.0;
            match direction {
                ScanDirection::Forward => self.left.start = stepped.resume,
                ScanDirection::Backward => self.left.end = stepped.resume,
            }
            self.passed += before - self.left.end.0.saturating_sub(self.left.start.0);
        }
        self.sent += fill.events;
        let done = self.left.is_empty() || self.sent >= limit;
        Ok(Chunk {
            events: fill.events as usize,
            done,
        })
    }

    /// The next window: as many LSNs as should hold the events the chunk still wants, at
    /// the share that matched so far, within the walk budget left.
    fn window(&self, direction: ScanDirection, fill: &Fill, budget: u64) -> Range<Lsn> {
        let need = u128::from(fill.want - fill.events);
        let per_match = (
            u128::from(self.passed) + 1,
            u128::from(self.sent + fill.events) + 1,
        );
        let n = (need * per_match.0).div_ceil(per_match.1);
        let left = self.left.end.0 - self.left.start.0;
        let n = u64::try_from(n)
            .unwrap_or(u64::MAX)
            .clamp(1, budget)
            .min(left);
        match direction {
            ScanDirection::Forward => self.left.start..Lsn(self.left.start.0 + n),
            ScanDirection::Backward => Lsn(self.left.end.0 - n)..self.left.end,
        }
    }
}

/// The LSNs an export walks: its time range's, from `from_seq`'s event, below `end`.
fn range_of(engine: &Engine, spec: &ExportSpec, end: Lsn) -> Range<Lsn> {
    let f = &spec.filter;
    let (from, to) = (f.start_us.unwrap_or(i64::MIN), f.end_us.unwrap_or(i64::MAX));
    let mut left = if from < to {
        engine.lsn_range_of_time(from, to)
    } else {
        Lsn(1)..Lsn(1)
    };
    left.end = left.end.min(end);
    if let Some(seq) = spec.from_seq {
        match engine.locate_seq(&f.tenant, seq) {
            Some((lsn, _)) => left.start = left.start.max(lsn),
            // Past the tenant's head: nothing. Else its slot is damaged: walk the
            // range and compare seqs.
            None if seq > engine.chain_head(&f.tenant).seq => left.start = left.end,
            None => {}
        }
    }
    left
}
