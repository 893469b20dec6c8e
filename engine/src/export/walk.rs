//! Walking one window of an export's range, on two cores when it is worth it.
//!
//! A window of at least twice [`EXPORT_PARALLEL_EVENTS_MIN`] LSNs, with an encoder that
//! [forks](Encoder::fork), is cut into up to [`EXPORT_WINDOW_PARTS_MAX`] parts walked at
//! once (rayon): the part the walk reaches first encodes straight into the chunk, the
//! others into spare buffers with forked encoders, noting where each of their records
//! ends. The parts are then taken in walk order, record by record, until the chunk is
//! full; records past that point are dropped and walked again by the next chunk, so a
//! chunk always ends on a whole record and the export's bytes are the same as a walk on
//! one thread.

use std::collections::HashMap;
use std::ops::{ControlFlow, Range};
use std::sync::Arc;

use rayon::prelude::*;

use super::cursor::{ExportSpec, EXPORT_CHUNK_BYTES_MAX};
use super::{Encoder, ExportEvent};
use crate::error::{EngineError, Result};
use crate::event::Overlay;
use crate::log::{Engine, EventRef, OpenScan, ScanDirection};
use crate::search::IndexedFields;
use crate::types::Lsn;

/// A window is cut into parts of at least this many LSNs: below it, handing a part to
/// another thread costs more than it saves.
pub const EXPORT_PARALLEL_EVENTS_MIN: u64 = 256;

/// Most parts a window is cut into: one per core of the machine this was measured on.
/// Eight parts (so that a core that finishes early takes another) measured 5–15 %
/// slower than two: each part copies its records once more and may be work thrown away.
pub const EXPORT_WINDOW_PARTS_MAX: usize = 2;

/// What an export reads with (shared by the parts of a window).
#[derive(Debug)]
pub(super) struct Reader {
    engine: Arc<Engine>,
    /// Open while the export lives (done, failed or its client gone, it is dropped):
    /// the idle indexer leaves the pages it maps until then.
    _scan: OpenScan,
    pub(super) spec: ExportSpec,
    /// Whether the filter has conditions on fields (else the body is not parsed).
    by_fields: bool,
    overlays: HashMap<Lsn, Overlay>,
}

/// The chunk being filled.
#[derive(Debug)]
pub(super) struct Fill {
    /// Events the chunk may hold.
    pub want: u64,
    /// Events it holds.
    pub events: u64,
    /// Where it starts in the output buffer.
    pub start: usize,
    /// Whether the next record follows another one of the export (and so is preceded by
    /// the encoder's separator).
    pub separate: bool,
}

impl Fill {
    /// Whether the chunk, `len` bytes of the output buffer in, is full.
    pub fn full(&self, len: usize) -> bool {
        self.events >= self.want || len - self.start >= EXPORT_CHUNK_BYTES_MAX
    }
}

/// What walking a window did.
#[derive(Debug)]
pub(super) struct Stepped {
    /// LSNs walked (the walk budget's unit).
    pub walked: u64,
    /// Where the next walk starts (forward) or ends (backward).
    pub resume: Lsn,
}

/// How much one part may encode: each may fill the chunk's remainder alone.
#[derive(Debug, Clone, Copy)]
struct Share {
    events_max: u64,
    bytes_max: usize,
}

/// One part's walk.
#[derive(Debug)]
struct Part {
    /// Where its records start in its buffer.
    start: usize,
    /// Where each record ends in its buffer, and its LSN.
    records: Vec<(usize, Lsn)>,
    /// Where the next walk resumes once every record is taken.
    resume: Lsn,
    /// Whether it stopped before its end with its share full (then so is the chunk,
    /// once every record is taken).
    full: bool,
    walked: u64,
    /// What stopped it, after its last record.
    error: Option<EngineError>,
}

impl Reader {
    /// A reader of `spec`'s events with the resolution overlays `overlays`.
    pub fn new(engine: Arc<Engine>, spec: ExportSpec, overlays: HashMap<Lsn, Overlay>) -> Reader {
        let f = &spec.filter;
        let by_fields = !f.terms().is_empty() || f.min_risk_score.is_some() || !f.q.is_empty();
        Reader {
            _scan: engine.begin_scan(),
            engine,
            spec,
            by_fields,
            overlays,
        }
    }

    /// Walks `window`, adding whole records to the chunk in `out` until it is full.
    /// `helpers` are forked encoders and their buffers: with them the window is cut
    /// into up to one part more than there are helpers, walked at once.
    pub fn walk_window(
        &self,
        window: Range<Lsn>,
        direction: ScanDirection,
        fill: &mut Fill,
        encoder: &mut dyn Encoder,
        helpers: (&mut [Box<dyn Encoder>], &mut [Vec<u8>]),
        out: &mut Vec<u8>,
    ) -> Result<Stepped> {
        let share = Share {
            events_max: fill.want - fill.events,
            bytes_max: EXPORT_CHUNK_BYTES_MAX.saturating_sub(out.len() - fill.start),
        };
        let n = window.end.0 - window.start.0;
        let (forks, spares) = helpers;
        let parts = (n / EXPORT_PARALLEL_EVENTS_MIN).clamp(1, forks.len() as u64 + 1);
        let (start, end) = (window.start.0, window.end.0);
        // Part i of `parts`, in walk order.
        let range_of_part = |i: u64| {
            let (lo, hi) = (n * i / parts, n * (i + 1) / parts);
            match direction {
                ScanDirection::Forward => Lsn(start + lo)..Lsn(start + hi),
                ScanDirection::Backward => Lsn(end - hi)..Lsn(end - lo),
            }
        };
        let first = range_of_part(0);
        let rest: Vec<Range<Lsn>> = (1..parts).map(range_of_part).collect();
        let separate = fill.separate;
        let (head, tail) = rayon::join(
            || self.walk(first, direction, share, separate, encoder, out),
            || {
                forks
                    .par_iter_mut()
                    .zip(spares.par_iter_mut())
                    .zip(rest.into_par_iter())
                    .map(|((forked, spare), range)| {
                        spare.clear();
                        self.walk(range, direction, share, true, &mut **forked, spare)
                    })
                    .collect::<Vec<Part>>()
            },
        );
        let mut walked = head.walked;
        let (mut resume, mut go_on) = take(head, None, direction, fill, out)?;
        let separator = encoder.separator().len();
        for (part, spare) in tail.into_iter().zip(spares.iter()) {
            walked += part.walked;
            if go_on {
                (resume, go_on) = take(part, Some((spare, separator)), direction, fill, out)?;
            }
        }
        Ok(Stepped { walked, resume })
    }

    /// Walks `range` on this thread, encoding matching events into `out` until the
    /// share is full or an event cannot be read.
    fn walk(
        &self,
        range: Range<Lsn>,
        direction: ScanDirection,
        share: Share,
        separate: bool,
        encoder: &mut dyn Encoder,
        out: &mut Vec<u8>,
    ) -> Part {
        let separator = encoder.separator();
        let mut part = Part {
            start: out.len(),
            records: Vec::new(),
            resume: match direction {
                ScanDirection::Forward => range.end,
                ScanDirection::Backward => range.start,
            },
            full: false,
            walked: 0,
            error: None,
        };
        self.engine.visit(range, direction, |item| {
            part.walked += 1;
            let encoded = item.and_then(|ev| {
                let sep: &[u8] = if separate || !part.records.is_empty() {
                    separator
                } else {
                    b""
                };
                let matched = self.one(&ev, sep, encoder, out)?;
                Ok((ev.lsn, matched))
            });
            match encoded {
                Err(e) => {
                    part.error = Some(e);
                    return ControlFlow::Break(());
                }
                Ok((lsn, true)) => part.records.push((out.len(), lsn)),
                Ok((_, false)) => {}
            }
            let events = part.records.len() as u64;
            if events >= share.events_max || out.len() - part.start >= share.bytes_max {
                part.full = true;
                // Not empty: only a record can fill a share.
                let (_, lsn) = part.records[part.records.len() - 1];
                part.resume = match direction {
                    ScanDirection::Forward => Lsn(lsn.0 + 1),
                    ScanDirection::Backward => lsn,
                };
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        part
    }

    /// Encodes `ev` (after `sep`) if it matches; returns whether it did.
    fn one(
        &self,
        ev: &EventRef<'_>,
        sep: &[u8],
        encoder: &mut dyn Encoder,
        out: &mut Vec<u8>,
    ) -> Result<bool> {
        let f = &self.spec.filter;
        if ev.tenant != f.tenant.as_str()
            || self.spec.from_seq.is_some_and(|s| ev.seq < s)
            || !f.in_time(ev.created_at_us)
        {
            return Ok(false);
        }
        let overlay = self.overlays.get(&ev.lsn);
        if f.is_resolved.is_some_and(|want| want != overlay.is_some()) {
            return Ok(false);
        }
        if self.by_fields {
            let fields = IndexedFields::extract(ev.body).map_err(|e| damaged(ev, e))?;
            if !f.matches_fields(&fields) {
                return Ok(false);
            }
        }
        ev.check_hash()?;
        let export = ExportEvent {
            body: ev.body,
            hash: &ev.hash,
            overlay,
            created_at_us: ev.created_at_us,
            seq: ev.seq.0,
            tenant: ev.tenant,
        };
        let at = out.len();
        out.extend_from_slice(sep);
        encoder.record(&export, out).map_err(|e| {
            out.truncate(at);
            damaged(ev, e)
        })?;
        Ok(true)
    }
}

/// Takes `part`'s records into the chunk, in order, until it is full. They are either
/// in `out` already (`spare` is `None`: a record not taken is cut off) or in a spare
/// buffer with a separator of the given length before each (copied, the first one's
/// separator left out if it begins the export). Returns where the next walk resumes
/// and whether the walk goes on to the next part.
fn take(
    part: Part,
    spare: Option<(&[u8], usize)>,
    direction: ScanDirection,
    fill: &mut Fill,
    out: &mut Vec<u8>,
) -> Result<(Lsn, bool)> {
    let mut from = part.start;
    for &(end, lsn) in &part.records {
        let len = if spare.is_some() { out.len() } else { from };
        if fill.full(len) {
            if spare.is_none() {
                out.truncate(from);
            }
            let resume = match direction {
                ScanDirection::Forward => lsn,
                ScanDirection::Backward => Lsn(lsn.0 + 1),
            };
            return Ok((resume, false));
        }
        if let Some((bytes, separator)) = spare {
            let skip = if fill.separate { 0 } else { separator };
            out.extend_from_slice(&bytes[from + skip..end]);
        }
        from = end;
        fill.events += 1;
        fill.separate = true;
    }
    match part.error {
        Some(e) => Err(e),
        None => Ok((part.resume, !part.full)),
    }
}

fn damaged(ev: &EventRef<'_>, e: crate::event::BodyError) -> EngineError {
    EngineError::Query {
        why: format!(
            "the stored event at lsn {} (segment {}, byte {}) cannot be exported: {e}",
            ev.lsn.0, ev.segment, ev.offset
        ),
    }
}
