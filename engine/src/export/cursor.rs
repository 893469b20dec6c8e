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

use std::collections::HashMap;
use std::ops::{ControlFlow, Range};
use std::sync::Arc;

use super::{Encoder, ExportEvent};
use crate::error::{EngineError, Result};
use crate::event::Overlay;
use crate::log::{Engine, EventRef, ScanDirection};
use crate::search::{Filter, IndexedFields, Order, SearchIndex};
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
    engine: Arc<Engine>,
    spec: ExportSpec,
    /// Whether the filter has conditions on fields (else the body is not parsed).
    by_fields: bool,
    overlays: HashMap<Lsn, Overlay>,
    /// The LSNs still to walk.
    left: Range<Lsn>,
    /// The LSN after the last event the export may show.
    end: Lsn,
    /// Events encoded so far.
    sent: u64,
}

impl ExportCursor {
    /// Starts an export: fixes its LSN range and its overlay.
    pub fn open(search: &SearchIndex, spec: ExportSpec) -> Result<ExportCursor> {
        let engine = search.engine().clone();
        let visible = Lsn(engine.stats().visible_lsn.0 + 1);
        let end = spec.until.map_or(visible, |u| u.min(visible));
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
        let overlays = search
            .resolutions_of(&f.tenant, end)?
            .into_iter()
            .map(|(lsn, r)| (lsn, r.overlay()))
            .collect();
        let by_fields = !f.terms().is_empty() || f.min_risk_score.is_some() || !f.q.is_empty();
        Ok(ExportCursor {
            engine,
            spec,
            by_fields,
            overlays,
            left,
            end,
            sent: 0,
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
    /// events. A damaged or tampered event ends the export
    /// with an error naming it (`out` then holds only whole records).
    pub fn next_chunk(
        &mut self,
        events_max: usize,
        encoder: &mut dyn Encoder,
        out: &mut Vec<u8>,
    ) -> Result<Chunk> {
        let limit_left = self.spec.limit.map_or(u64::MAX, |l| l - self.sent.min(l));
        let want = (events_max as u64).min(limit_left);
        let direction = match self.spec.order {
            Order::Asc => ScanDirection::Forward,
            Order::Desc => ScanDirection::Backward,
        };
        let (mut events, mut walked) = (0u64, 0u64);
        let start = out.len();
        let mut failure = None;
        let mut last = None;
        if want > 0 {
            self.engine.visit(self.left.clone(), direction, |item| {
                walked += 1;
                let flow = match item {
                    Err(e) => Err(e),
                    Ok(ev) => {
                        last = Some(ev.lsn);
                        self.one(&ev, encoder, out)
                            .map(|sent| events += u64::from(sent))
                    }
                };
                if let Err(e) = flow {
                    failure = Some(e);
                    return ControlFlow::Break(());
                }
                let full = out.len() - start >= EXPORT_CHUNK_BYTES_MAX;
                if events >= want || walked >= EXPORT_SCAN_EVENTS_MAX || full {
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            });
        }
        if let Some(e) = failure {
            return Err(e);
        }
        // Move past what was walked; a walk that broke early stopped at `last`.
        match (direction, last) {
            (_, None) => self.left.start = self.left.end,
            (ScanDirection::Forward, Some(l)) => self.left.start = Lsn(l.0 + 1),
            (ScanDirection::Backward, Some(l)) => self.left.end = l,
        }
        self.sent += events;
        let done =
            self.left.start >= self.left.end || self.sent >= self.spec.limit.unwrap_or(u64::MAX);
        Ok(Chunk {
            events: events as usize,
            done,
        })
    }

    /// Encodes `ev` if it matches; returns whether it did.
    fn one(&self, ev: &EventRef<'_>, encoder: &mut dyn Encoder, out: &mut Vec<u8>) -> Result<bool> {
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
        encoder.record(&export, out).map_err(|e| damaged(ev, e))?;
        Ok(true)
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
