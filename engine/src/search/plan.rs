//! What every query computes first: the LSN range of its time range, the matching
//! events not yet in the committed index (pending, and the log's tail), the effective
//! resolution overlay, and the tantivy query for the committed part.

use std::collections::HashSet;
use std::ops::{ControlFlow, Range};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tantivy::query::{
    BooleanQuery, EmptyScorer, EnableScoring, Explanation, Occur, Query, RangeQuery, TermQuery,
    Weight,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Score, Searcher, SegmentReader, Term};

use super::fields::IndexedFields;
use super::filter::{cmp_decimal, decimal_f64, Filter};
use super::index::Shared;
use super::overlay::Resolutions;
use super::segments::{doc_range, DocRange, LsnSetQuery, SortedSegments};
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
    /// Which of the searcher's segments are in LSN order.
    pub sorted: SortedSegments,
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
        let (searcher, committed, sorted) = (
            state.searcher.clone(),
            state.committed,
            state.sorted.clone(),
        );
        drop(state);
        shared.demand.note_query();
        let visible = engine.stats().visible_lsn;
        // The events after the commit: from the pending set, brought up to date first,
        // then past its bound (if the index is far behind) from the log itself.
        let (mut uncommitted, mut tail_resolutions, covered) = {
            let mut tail = shared.tail.lock();
            let read = tail.follow(engine, committed, visible, shared.config.pending_events_max);
            shared
                .metrics
                .tail_events_scanned
                .fetch_add(read, Ordering::Relaxed);
            let found: Vec<Uncommitted> = tail
                .pending()
                .matching(filter, range.clone())
                .into_iter()
                .map(|m| Uncommitted {
                    lsn: m.lsn,
                    groups: m.groups,
                })
                .collect();
            // The overlay may hold some of the tail's resolutions already: the tail's
            // go on top, and each target's latest wins either way.
            (found, tail.resolutions().only(&filter.tenant), tail.end())
        };
        scan_tail(
            shared,
            filter,
            Lsn(covered.0 + 1)..Lsn(visible.0 + 1),
            &range,
            &mut tail_resolutions,
            &mut uncommitted,
        );
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
            sorted,
        })
    }

    /// The committed index's part of the query for the events with LSN in `within` (and
    /// in the plan's range), or None if it cannot match anything.
    pub fn tantivy_query(
        &self,
        shared: &Shared,
        filter: &Filter,
        within: &Range<u64>,
    ) -> Option<Pruned> {
        let f = &shared.fields;
        let lo = self.range.start.0.max(within.start).max(1);
        let hi = self.range.end.0.min(within.end).min(self.committed.0 + 1);
        if lo >= hi {
            return None;
        }
        let mut must: Vec<Box<dyn Query>> = vec![term(f.tenant, filter.tenant.as_str())];
        for (name, value) in filter.terms() {
            must.push(term(f.term(name)?, value));
        }
        for word in &filter.q {
            must.push(term(f.text, word));
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
            must.push(Box::new(LsnSetQuery::new(
                self.resolved.iter().copied(),
                self.sorted.clone(),
            )));
        }
        // A segment in LSN order turns the LSN range into a doc-id range; any other
        // segment tests each document's LSN, which costs a column scan: leave the
        // clause out when the range covers every committed event.
        // In a segment that holds only this tenant's events, the tenant clause matches
        // every document: leave it out there, so the other clauses drive the search
        // without seeking through a posting list of every document.
        let untenanted =
            (must.len() > 1).then(|| all_of(must[1..].iter().map(|q| q.box_clone()).collect()));
        let plain = all_of(must.iter().map(|q| q.box_clone()).collect());
        let ranged = if lo > 1 || hi <= self.committed.0 {
            must.push(Box::new(RangeQuery::new(
                std::ops::Bound::Included(Term::from_field_u64(f.lsn, lo)),
                std::ops::Bound::Excluded(Term::from_field_u64(f.lsn, hi)),
            )));
            all_of(must)
        } else {
            plain.box_clone()
        };
        Some(Pruned {
            tenant: Term::from_field_text(f.tenant, filter.tenant.as_str()),
            untenanted,
            plain,
            ranged,
            lo,
            hi,
            sorted: self.sorted.clone(),
            counters: Arc::default(),
        })
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

/// Every one of `clauses` (one clause alone stays itself, so tantivy can count a lone
/// term's matches from its document frequency).
fn all_of(mut clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if clauses.len() == 1 {
        if let Some(only) = clauses.pop() {
            return only;
        }
    }
    Box::new(BooleanQuery::new(
        clauses.into_iter().map(|q| (Occur::Must, q)).collect(),
    ))
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

/// Adds to `found` the matches in `tail` (events past the pending set's bound), and
/// applies its resolutions to `resolutions`.
fn scan_tail(
    shared: &Shared,
    filter: &Filter,
    tail: Range<Lsn>,
    range: &Range<Lsn>,
    resolutions: &mut Resolutions,
    found: &mut Vec<Uncommitted>,
) {
    if tail.start >= tail.end {
        return;
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
}

/// Segments a query searched and skipped.
#[derive(Debug, Default)]
pub(crate) struct PruneCounters {
    pub searched: std::sync::atomic::AtomicU64,
    pub pruned: std::sync::atomic::AtomicU64,
}

/// Wraps a query so that an index segment whose LSNs (hence times) all lie outside
/// `lo..hi` is skipped before any of its postings is read, and a segment in LSN order
/// is searched over the doc-id range of `lo..hi` only (no per-document LSN test).
#[derive(Debug)]
pub(crate) struct Pruned {
    /// The tenant's term (the first clause).
    tenant: Term,
    /// The query without the tenant and LSN range clauses (for segments in LSN order
    /// that hold only this tenant's events); None when the tenant is the only clause.
    untenanted: Option<Box<dyn Query>>,
    /// The query without the LSN range clause (for segments in LSN order).
    plain: Box<dyn Query>,
    /// The query with it (for any other segment).
    ranged: Box<dyn Query>,
    pub lo: u64,
    pub hi: u64,
    pub sorted: SortedSegments,
    pub counters: Arc<PruneCounters>,
}

impl Clone for Pruned {
    fn clone(&self) -> Self {
        Pruned {
            tenant: self.tenant.clone(),
            untenanted: self.untenanted.as_ref().map(|q| q.box_clone()),
            plain: self.plain.box_clone(),
            ranged: self.ranged.box_clone(),
            lo: self.lo,
            hi: self.hi,
            sorted: self.sorted.clone(),
            counters: self.counters.clone(),
        }
    }
}

impl Query for Pruned {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.pruned_weight(scoring)?))
    }
}

impl Pruned {
    pub fn pruned_weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<PrunedWeight> {
        let untenanted = match &self.untenanted {
            Some(q) => Some(q.weight(scoring)?),
            None => None,
        };
        Ok(PrunedWeight {
            tenant: self.tenant.clone(),
            untenanted,
            plain: self.plain.weight(scoring)?,
            ranged: self.ranged.weight(scoring)?,
            lo: self.lo,
            hi: self.hi,
            sorted: self.sorted.clone(),
            counters: self.counters.clone(),
        })
    }
}

/// Where a segment stands against a query's LSN range.
pub(crate) enum Reach {
    /// None of its LSNs is in range.
    Outside,
    /// In LSN order: the doc ids in range (all of them or a part).
    Docs(Range<DocId>),
    /// Not in LSN order: every document must be tested.
    Unordered,
}

pub(crate) struct PrunedWeight {
    tenant: Term,
    untenanted: Option<Box<dyn Weight>>,
    plain: Box<dyn Weight>,
    ranged: Box<dyn Weight>,
    lo: u64,
    hi: u64,
    sorted: SortedSegments,
    counters: Arc<PruneCounters>,
}

impl PrunedWeight {
    /// Where `reader`'s segment stands against the range.
    pub fn reach(&self, reader: &SegmentReader) -> tantivy::Result<Reach> {
        let known = self.sorted.get(&reader.segment_id());
        let lsn = match known {
            Some(k) => k.lsn.clone(),
            None => reader.fast_fields().u64("lsn")?,
        };
        if reader.num_docs() == 0 || lsn.max_value() < self.lo || lsn.min_value() >= self.hi {
            return Ok(Reach::Outside);
        }
        if !known.is_some_and(|k| k.sorted) {
            return Ok(Reach::Unordered);
        }
        let docs = doc_range(&lsn, self.lo, self.hi);
        Ok(if docs.is_empty() {
            Reach::Outside
        } else {
            Reach::Docs(docs)
        })
    }

    /// Whether the segment lies wholly outside the range (counted as pruned), so a
    /// collector need not open it at all.
    pub fn prunes(&self, reader: &SegmentReader) -> tantivy::Result<bool> {
        let outside = matches!(self.reach(reader)?, Reach::Outside);
        if outside {
            self.counters.pruned.fetch_add(1, Ordering::Relaxed);
        }
        Ok(outside)
    }

    /// The weight for a segment in LSN order: without the tenant clause when every
    /// document of the segment is the tenant's.
    fn ordered(&self, reader: &SegmentReader) -> tantivy::Result<&dyn Weight> {
        Ok(match &self.untenanted {
            Some(untenanted) if self.tenant_only(reader)? => untenanted.as_ref(),
            _ => self.plain.as_ref(),
        })
    }

    /// Whether every document of the segment is the tenant's (its term's document
    /// frequency is the segment's size).
    fn tenant_only(&self, reader: &SegmentReader) -> tantivy::Result<bool> {
        let tenant_docs = reader
            .inverted_index(self.tenant.field())?
            .get_term_info(&self.tenant)?
            .map_or(0, |t| t.doc_freq);
        Ok(reader.alive_bitset().is_none() && tenant_docs == reader.max_doc())
    }

    /// Whether the whole segment lies in the range, in LSN order (its counts are then
    /// those of the clauses alone, whatever the range).
    pub fn covers_whole(&self, reader: &SegmentReader) -> tantivy::Result<bool> {
        Ok(matches!(self.reach(reader)?,
            Reach::Docs(docs) if docs.start == 0 && docs.end >= reader.max_doc()))
    }

    /// When every document of `reader`'s segment in the range matches (a query on the
    /// tenant alone, over a segment of that tenant only): those doc ids, in LSN order.
    /// A page then reads its LSNs by position, without reading postings.
    pub fn every_doc_matches(
        &self,
        reader: &SegmentReader,
    ) -> tantivy::Result<Option<Range<DocId>>> {
        if self.untenanted.is_some() {
            return Ok(None);
        }
        let Reach::Docs(docs) = self.reach(reader)? else {
            return Ok(None);
        };
        Ok(self.tenant_only(reader)?.then_some(docs))
    }

    /// The matches in a segment, known to be reachable.
    fn reached_scorer(
        &self,
        reader: &SegmentReader,
        reach: Reach,
        boost: Score,
    ) -> tantivy::Result<Box<dyn tantivy::query::Scorer>> {
        match reach {
            Reach::Outside => Ok(Box::new(EmptyScorer)),
            Reach::Unordered => self.ranged.scorer(reader, boost),
            Reach::Docs(docs) if docs.start == 0 && docs.end >= reader.max_doc() => {
                self.ordered(reader)?.scorer(reader, boost)
            }
            Reach::Docs(docs) => Ok(Box::new(DocRange::new(
                self.ordered(reader)?.scorer(reader, boost)?,
                docs,
            ))),
        }
    }
}

impl Weight for PrunedWeight {
    fn scorer(
        &self,
        reader: &SegmentReader,
        boost: Score,
    ) -> tantivy::Result<Box<dyn tantivy::query::Scorer>> {
        let reach = self.reach(reader)?;
        let counter = match reach {
            Reach::Outside => &self.counters.pruned,
            _ => &self.counters.searched,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.reached_scorer(reader, reach, boost)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        match self.reach(reader)? {
            Reach::Outside => Ok(0),
            // A whole ordered segment: the inner query counts (a lone term from its
            // document frequency, without reading postings).
            Reach::Docs(docs) if docs.start == 0 && docs.end >= reader.max_doc() => {
                self.ordered(reader)?.count(reader)
            }
            reach => {
                let mut scorer = self.reached_scorer(reader, reach, 1.0)?;
                Ok(match reader.alive_bitset() {
                    Some(alive) => scorer.count(alive),
                    None => scorer.count_including_deleted(),
                })
            }
        }
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.ranged.explain(reader, doc)
    }
}
