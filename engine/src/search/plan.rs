//! What every query computes first: the LSN range of its time range, the matching
//! events not yet in the committed index (pending, and the log's tail), the effective
//! resolution overlay, and the tantivy query for the committed part.

use std::collections::HashSet;
use std::ops::{ControlFlow, Range};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tantivy::query::{
    BooleanQuery, EmptyScorer, EnableScoring, Explanation, Occur, Query, RangeQuery, TermQuery,
    TermSetQuery, Weight,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Score, Searcher, SegmentReader, Term};

use super::fields::IndexedFields;
use super::filter::{cmp_decimal, decimal_f64, Filter};
use super::index::Shared;
use super::overlay::Resolutions;
use crate::error::Result;
use crate::log::ScanDirection;
use crate::types::Lsn;

/// A matching event outside the committed index, with the values summaries group by.
#[derive(Debug, Clone)]
pub(crate) struct Uncommitted {
    pub lsn: Lsn,
    pub groups: [Option<String>; 5],
}

/// The parts of a query.
pub(crate) struct Plan {
    /// Events whose created_at is in the filter's time range.
    pub range: Range<Lsn>,
    pub searcher: Searcher,
    /// Highest LSN in the committed index.
    pub committed: Lsn,
    /// Matches after `committed`, in LSN order.
    pub uncommitted: Vec<Uncommitted>,
    /// Resolved events of the tenant (committed overlay and the tail's).
    pub resolved: Arc<HashSet<u64>>,
    pub tail_resolutions: Resolutions,
}

impl Plan {
    pub fn new(shared: &Shared, filter: &Filter) -> Result<Plan> {
        let engine = &shared.engine;
        let from = filter.start_us.unwrap_or(i64::MIN);
        let to = filter.end_us.unwrap_or(i64::MAX);
        let range = if from < to {
            engine.lsn_range_of_time(from, to)
        } else {
            Lsn(1)..Lsn(1)
        };
        let state = shared.state.read();
        let (searcher, committed, processed) =
            (state.searcher.clone(), state.committed, state.processed);
        let mut uncommitted: Vec<Uncommitted> = state
            .pending
            .matching(filter, range.clone())
            .into_iter()
            .map(|m| Uncommitted {
                lsn: m.lsn,
                groups: m.groups,
            })
            .collect();
        drop(state);
        let visible = engine.stats().visible_lsn;
        let (tail, tail_resolutions) = scan_tail(
            shared,
            filter,
            Lsn(processed.0 + 1)..Lsn(visible.0 + 1),
            &range,
        );
        uncommitted.extend(tail);
        let resolved = {
            let committed_overlay = shared.resolutions.read();
            let mut set: HashSet<u64> = committed_overlay
                .resolved(&filter.tenant)
                .map(|l| l.0)
                .collect();
            set.extend(tail_resolutions.resolved(&filter.tenant).map(|l| l.0));
            Arc::new(set)
        };
        if let Some(want) = filter.is_resolved {
            uncommitted.retain(|u| resolved.contains(&u.lsn.0) == want);
        }
        Ok(Plan {
            range,
            searcher,
            committed,
            uncommitted,
            resolved,
            tail_resolutions,
        })
    }

    /// The committed index's part of the query, or None if it cannot match anything.
    pub fn tantivy_query(
        &self,
        shared: &Shared,
        filter: &Filter,
        page: &Range<u64>,
    ) -> Option<Box<dyn Query>> {
        let f = &shared.fields;
        let lo = self.range.start.0.max(1);
        let hi = self.range.end.0.min(self.committed.0 + 1);
        if lo >= hi || page.start >= page.end {
            return None;
        }
        let mut must: Vec<Box<dyn Query>> = vec![term(f.tenant, filter.tenant.as_str())];
        for (name, value) in filter.terms() {
            must.push(term(f.term(name)?, value));
        }
        for word in &filter.q {
            must.push(term(f.text, word));
        }
        // The LSN range clause costs a column scan per segment: leave it out when the
        // range covers every committed event (no time filter). Pruning still applies.
        if lo > 1 || hi <= self.committed.0 {
            must.push(Box::new(RangeQuery::new(
                std::ops::Bound::Included(Term::from_field_u64(f.lsn, lo)),
                std::ops::Bound::Excluded(Term::from_field_u64(f.lsn, hi)),
            )));
        }
        if let Some(min) = &filter.min_risk_score {
            must.push(Box::new(RangeQuery::new(
                std::ops::Bound::Included(Term::from_field_f64(f.risk, decimal_f64(min))),
                std::ops::Bound::Unbounded,
            )));
        }
        if filter.is_resolved == Some(true) {
            if self.resolved.is_empty() {
                return None;
            }
            must.push(Box::new(TermSetQuery::new(
                self.resolved
                    .iter()
                    .map(|&l| Term::from_field_u64(f.lsn, l)),
            )));
        }
        let inner = BooleanQuery::new(must.into_iter().map(|q| (Occur::Must, q)).collect());
        Some(Box::new(Pruned {
            inner: Box::new(inner),
            lo,
            hi,
            counters: Arc::default(),
        }))
    }

    /// Settles matches whose risk score equals the bound as a double: reads each from
    /// the log and compares the decimals exactly. Returns the ones that match.
    pub fn settle_ties(
        &self,
        shared: &Shared,
        filter: &Filter,
        ties: &[u64],
    ) -> Result<Vec<Uncommitted>> {
        let Some(min) = &filter.min_risk_score else {
            return Ok(Vec::new());
        };
        let mut kept = Vec::new();
        for &lsn in ties {
            let Some(ev) = shared.engine.get_by_lsn(Lsn(lsn))? else {
                continue;
            };
            let Ok(fields) = IndexedFields::extract(ev.body()) else {
                continue;
            };
            if fields
                .risk_score
                .as_deref()
                .is_some_and(|r| cmp_decimal(r, min) != std::cmp::Ordering::Less)
            {
                kept.push(Uncommitted {
                    lsn: Lsn(lsn),
                    groups: groups(&fields),
                });
            }
        }
        Ok(kept)
    }

    /// The exclusion set for `is_resolved=false`.
    pub fn exclude(&self, filter: &Filter) -> Option<Arc<HashSet<u64>>> {
        (filter.is_resolved == Some(false) && !self.resolved.is_empty())
            .then(|| self.resolved.clone())
    }
}

fn term(field: tantivy::schema::Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

/// The summary group values of an event: table_name, user_id, action, event_type,
/// severity (the order of `SUMMARY_FIELDS`).
pub(crate) fn groups(f: &IndexedFields<'_>) -> [Option<String>; 5] {
    let o = |v: &Option<std::borrow::Cow<'_, str>>| v.as_deref().map(str::to_owned);
    [
        o(&f.table_name),
        o(&f.user_id),
        o(&f.action),
        o(&f.event_type),
        o(&f.severity),
    ]
}

/// Matches in the log's tail (events not read by the indexer yet), and the resolutions
/// the whole tail states.
fn scan_tail(
    shared: &Shared,
    filter: &Filter,
    tail: Range<Lsn>,
    range: &Range<Lsn>,
) -> (Vec<Uncommitted>, Resolutions) {
    let mut found = Vec::new();
    let mut resolutions = Resolutions::default();
    if tail.start >= tail.end {
        return (found, resolutions);
    }
    let mut scanned = 0u64;
    shared.engine.visit(tail, ScanDirection::Forward, |item| {
        scanned += 1;
        let Ok(ev) = item else {
            return ControlFlow::<()>::Continue(());
        };
        if ev.tenant != filter.tenant.as_str() {
            return ControlFlow::Continue(());
        }
        let Ok(fields) = IndexedFields::extract(ev.body) else {
            return ControlFlow::Continue(());
        };
        if fields.is_resolution() {
            resolutions.apply(&shared.engine, &ev, &fields);
        }
        if range.contains(&ev.lsn) && filter.matches_fields(&fields) {
            found.push(Uncommitted {
                lsn: ev.lsn,
                groups: groups(&fields),
            });
        }
        ControlFlow::Continue(())
    });
    shared
        .metrics
        .tail_events_scanned
        .fetch_add(scanned, Ordering::Relaxed);
    (found, resolutions)
}

/// Segments a query searched and skipped.
#[derive(Debug, Default)]
pub(crate) struct PruneCounters {
    pub searched: std::sync::atomic::AtomicU64,
    pub pruned: std::sync::atomic::AtomicU64,
}

/// Wraps a query so that an index segment whose LSNs (hence times) all lie outside
/// `lo..hi` is skipped before any of its postings is read.
#[derive(Debug)]
pub(crate) struct Pruned {
    inner: Box<dyn Query>,
    lo: u64,
    hi: u64,
    pub counters: Arc<PruneCounters>,
}

impl Clone for Pruned {
    fn clone(&self) -> Self {
        Pruned {
            inner: self.inner.box_clone(),
            lo: self.lo,
            hi: self.hi,
            counters: self.counters.clone(),
        }
    }
}

impl Query for Pruned {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let inner = self.inner.weight(scoring)?;
        Ok(Box::new(PrunedWeight {
            inner,
            lo: self.lo,
            hi: self.hi,
            counters: self.counters.clone(),
        }))
    }
}

struct PrunedWeight {
    inner: Box<dyn Weight>,
    lo: u64,
    hi: u64,
    counters: Arc<PruneCounters>,
}

impl Weight for PrunedWeight {
    fn scorer(
        &self,
        reader: &SegmentReader,
        boost: Score,
    ) -> tantivy::Result<Box<dyn tantivy::query::Scorer>> {
        let lsn = reader.fast_fields().u64("lsn")?;
        if reader.num_docs() == 0 || lsn.max_value() < self.lo || lsn.min_value() >= self.hi {
            self.counters.pruned.fetch_add(1, Ordering::Relaxed);
            return Ok(Box::new(EmptyScorer));
        }
        self.counters.searched.fetch_add(1, Ordering::Relaxed);
        self.inner.scorer(reader, boost)
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }
}
