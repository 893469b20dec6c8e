//! The log's tail as queries see it: the events after the last commit, gathered in a
//! pending set ([`Pending`], an in-memory inverted index) on demand.
//!
//! The indexer does not fill the pending set as it indexes: that had cost over a
//! quarter of its time, for queries that may never come (a bulk load, a rebuild). A
//! query brings the set up to the newest visible event before it searches it, so only
//! the first query after a commit reads the tail, and later ones read only what
//! arrived since. While queries keep coming, the indexer also brings the set up to what
//! it has just indexed ([`Demand`]), so a query under heavy ingest finds the set nearly
//! current instead of reading a whole commit interval itself. A commit empties the set
//! (its events are in the index now). The set holds at most `pending_events_max`
//! events (default [`INDEX_PENDING_EVENTS_DEFAULT`]); beyond that (an index far behind
//! the log), each query scans the rest of the tail itself.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::fields::IndexedFields;
use super::overlay::Resolutions;
use super::pending::Pending;
#[cfg(doc)]
use crate::limits::INDEX_PENDING_EVENTS_DEFAULT;
use crate::limits::INDEX_TAIL_DEMAND_MS;
use crate::log::{Engine, ScanDirection};
use crate::types::{Lsn, TenantId};

/// The pending set and the range of the log it holds.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    /// The commit the set continues: it holds the events `base+1..=end`.
    base: Lsn,
    end: Lsn,
    pending: Pending,
    /// The resolutions among them, applied in LSN order.
    resolutions: Resolutions,
}

impl Tail {
    /// Brings the set up to `upto`, but at most `max` events past `base`, starting
    /// again when it continued another commit. Returns how many events it read from the
    /// log.
    pub fn follow(&mut self, engine: &Engine, base: Lsn, upto: Lsn, max: u64) -> u64 {
        if self.base != base {
            self.reset(base);
        }
        let upto = Lsn(upto.0.min(base.0.saturating_add(max)));
        if upto <= self.end {
            return 0;
        }
        let range = Lsn(self.end.0 + 1)..Lsn(upto.0 + 1);
        let mut read = 0u64;
        engine.visit(range, ScanDirection::Forward, |item| {
            read += 1;
            // A damaged event is reported by reads and verification; it cannot match.
            let Ok(ev) = item else {
                return ControlFlow::<()>::Continue(());
            };
            let (Ok(fields), Ok(tenant)) =
                (IndexedFields::extract(ev.body), TenantId::new(ev.tenant))
            else {
                return ControlFlow::Continue(());
            };
            self.pending
                .push(ev.lsn, ev.created_at_us, &tenant, &fields);
            if fields.is_resolution() {
                self.resolutions.apply(engine, &ev, &fields);
            }
            ControlFlow::Continue(())
        });
        self.end = upto;
        read
    }

    /// Empties the set, which continues commit `base` from now on.
    pub fn reset(&mut self, base: Lsn) {
        self.pending.clear();
        self.resolutions = Resolutions::default();
        self.base = base;
        self.end = base;
    }

    /// The highest LSN the set has read.
    pub fn end(&self) -> Lsn {
        self.end
    }

    pub fn pending(&self) -> &Pending {
        &self.pending
    }

    /// The resolutions among the set's events (the latest of each target).
    pub fn resolutions(&self) -> &Resolutions {
        &self.resolutions
    }
}

/// When queries last came, so the indexer knows whether to keep the set current.
#[derive(Debug)]
pub(crate) struct Demand {
    opened: Instant,
    /// Milliseconds after `opened` of the last query, plus one (0: none yet).
    last_query_ms: AtomicU64,
}

impl Default for Demand {
    fn default() -> Demand {
        Demand {
            opened: Instant::now(),
            last_query_ms: AtomicU64::new(0),
        }
    }
}

impl Demand {
    /// A query is being planned.
    pub fn note_query(&self) {
        let now = self.opened.elapsed().as_millis() as u64 + 1;
        self.last_query_ms.store(now, Ordering::Relaxed);
    }

    /// Whether a query came in the last [`INDEX_TAIL_DEMAND_MS`].
    pub fn wanted(&self) -> bool {
        let last = self.last_query_ms.load(Ordering::Relaxed);
        let now = self.opened.elapsed().as_millis() as u64 + 1;
        last != 0 && now.saturating_sub(last) < INDEX_TAIL_DEMAND_MS
    }
}
