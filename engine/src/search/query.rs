//! Running a query: a page of events in (created_at, seq) order with an exact total.
//!
//! Within a tenant, (created_at, seq) order is LSN order, so every part of a query
//! works on LSNs: the time range becomes an LSN range (the log's segments know their
//! times), the committed index answers with LSNs (its fast field), pending and tail
//! matches are LSNs, and a page is the best `offset + limit` LSNs of their union. The
//! events are then read from the log, hash-checked, with their resolution overlay.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::Ordering;

use super::collect::PageCollector;
use super::cursor::{fingerprint, Cursor};
use super::filter::{decimal_f64, Filter};
use super::index::SearchIndex;
use super::overlay::Resolution;
use super::plan::{Plan, Pruned, PrunedWeight, Reach};
use super::segments::{count_key, SegmentCounts};
use crate::error::{EngineError, Result};
use crate::limits::{QUERY_LIMIT_MAX, QUERY_OFFSET_MAX};
use crate::log::StoredEvent;
use crate::types::{Lsn, Seq};
use tantivy::query::{EnableScoring, Weight};
use tantivy::{DocId, DocSet, TERMINATED};

/// Sort order, by created_at then seq.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Newest first (the API's default).
    #[default]
    Desc,
    /// Oldest first.
    Asc,
}

/// Which page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// Skip this many matches.
    Offset(u64),
    /// Continue after a cursor (from [`QueryPage::next_cursor`]).
    After(Cursor),
}

/// A query: a filter, an order and a page.
#[derive(Debug, Clone)]
pub struct Query {
    /// What to match.
    pub filter: Filter,
    /// The order.
    pub order: Order,
    /// Which page.
    pub paging: Paging,
    /// Page size, 1..=`QUERY_LIMIT_MAX`.
    pub limit: usize,
}

/// One event of a page, with its resolution if it has one.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The stored event.
    pub event: StoredEvent,
    /// Its latest resolution.
    pub resolution: Option<Resolution>,
}

/// How a query was answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Index segments searched.
    pub segments_searched: u64,
    /// Index segments skipped (outside the time range).
    pub segments_pruned: u64,
    /// Matches found outside the committed index (pending or tail).
    pub uncommitted_matches: u64,
}

/// A page of results.
#[derive(Debug, Clone)]
pub struct QueryPage {
    /// The events, in order.
    pub hits: Vec<Hit>,
    /// Every match of the filter (not only this page).
    pub total: u64,
    /// Where the next page starts, if there is one.
    pub next_cursor: Option<Cursor>,
    /// Whether more matches follow this page.
    pub has_more: bool,
    /// How it was answered.
    pub stats: QueryStats,
}

impl SearchIndex {
    /// Runs a query. Every event acknowledged before the call is seen.
    pub fn query(&self, q: &Query) -> Result<QueryPage> {
        if q.limit == 0 || q.limit > QUERY_LIMIT_MAX {
            return Err(EngineError::Query {
                why: format!("limit {} is outside 1..={QUERY_LIMIT_MAX}", q.limit),
            });
        }
        let offset = match &q.paging {
            Paging::Offset(o) if *o > QUERY_OFFSET_MAX => {
                return Err(EngineError::Query {
                    why: format!(
                        "offset {o} is above {QUERY_OFFSET_MAX}; page deeper with the cursor"
                    ),
                });
            }
            Paging::Offset(o) => *o as usize,
            Paging::After(_) => 0,
        };
        let shared = &self.shared;
        let plan = Plan::new(shared, &q.filter)?;
        let page = page_range(&plan.range, &q.paging, q.order);
        let mut stats = QueryStats {
            uncommitted_matches: plan.uncommitted.len() as u64,
            ..QueryStats::default()
        };
        // Uncommitted matches have LSNs above every committed one.
        let mut uncommitted: Vec<u64> = plan
            .uncommitted
            .iter()
            .map(|u| u.lsn.0)
            .filter(|l| page.contains(l))
            .collect();
        if q.order == Order::Desc {
            uncommitted.reverse();
        }
        let wanted = offset..offset + q.limit + 1;
        let window = match self.ranked(&plan, q, &page, &uncommitted, &wanted, &mut stats)? {
            Some(window) => window,
            None => self.collected(&plan, q, &page, uncommitted, &mut stats)?,
        };
        let skip = offset - window.before;
        let has_more = window.lsns.len() > skip + q.limit;
        let chosen: Vec<u64> = window.lsns.into_iter().skip(skip).take(q.limit).collect();
        let total = window.total;
        let hits = self.fetch(&q.filter, &plan, &chosen)?;
        let next_cursor = match (has_more, hits.last()) {
            (true, Some(last)) => Some(Cursor {
                lsn: last.event.lsn,
                created_at_us: last.event.created_at_us,
                seq: last.event.seq,
                order: q.order,
                fingerprint: fingerprint(&q.filter),
            }),
            _ => None,
        };
        shared
            .metrics
            .segments_searched
            .fetch_add(stats.segments_searched, Ordering::Relaxed);
        shared
            .metrics
            .segments_pruned
            .fetch_add(stats.segments_pruned, Ordering::Relaxed);
        Ok(QueryPage {
            hits,
            total,
            next_cursor,
            has_more,
            stats,
        })
    }

    /// The general way to a page: collect the best `offset + limit + 1` committed LSNs
    /// (any segment layout, any filter), add the uncommitted ones, sort.
    fn collected(
        &self,
        plan: &Plan,
        q: &Query,
        page: &Range<u64>,
        mut candidates: Vec<u64>,
        stats: &mut QueryStats,
    ) -> Result<Window> {
        let shared = &self.shared;
        let offset = match &q.paging {
            Paging::Offset(o) => *o as usize,
            Paging::After(_) => 0,
        };
        let mut total = plan.uncommitted.len() as u64;
        let everything = plan.range.start.0..plan.range.end.0;
        if let Some(query) = plan.tantivy_query(shared, &q.filter, &everything) {
            let collector = PageCollector {
                k: offset + q.limit + 1,
                order: q.order,
                page: page.clone(),
                exclude: plan.exclude(&q.filter),
                risk_tie: q.filter.min_risk_score.as_deref().map(decimal_f64),
            };
            let fruit = plan
                .searcher
                .search(&query, &collector)
                .map_err(|source| index_error(shared, source))?;
            count_segments(&query, stats);
            total += fruit.total;
            candidates.extend(fruit.top);
            let ties = plan.settle_ties(shared, &q.filter, &fruit.ties)?;
            total += ties.len() as u64;
            candidates.extend(ties.iter().map(|t| t.lsn.0).filter(|l| page.contains(l)));
        }
        match q.order {
            Order::Desc => candidates.sort_unstable_by(|a, b| b.cmp(a)),
            Order::Asc => candidates.sort_unstable(),
        }
        candidates.dedup();
        Ok(Window {
            total,
            before: 0,
            lsns: candidates,
        })
    }

    /// The fast way to a page, when every committed segment the query reaches is in LSN
    /// order and no two overlap (docs/QUERY.md): walk the segments in the page's order,
    /// only counting those whose matches all fall before the wanted ranks, and read LSNs
    /// only where the page lies. None when the layout or the filter does not allow it
    /// (`is_resolved=false` leaves out single matches; a `min_risk_score` may tie).
    fn ranked(
        &self,
        plan: &Plan,
        q: &Query,
        page: &Range<u64>,
        uncommitted: &[u64],
        wanted: &Range<usize>,
        stats: &mut QueryStats,
    ) -> Result<Option<Window>> {
        if plan.exclude(&q.filter).is_some() || q.filter.min_risk_score.is_some() {
            return Ok(None);
        }
        let shared = &self.shared;
        let err = |source| index_error(shared, source);
        let everything = plan.range.start.0..plan.range.end.0;
        let Some(query) = plan.tantivy_query(shared, &q.filter, &everything) else {
            return Ok(Some(Window {
                total: plan.uncommitted.len() as u64,
                before: 0,
                lsns: uncommitted.to_vec(),
            }));
        };
        let scoring = EnableScoring::disabled_from_searcher(&plan.searcher);
        let weight = query.pruned_weight(scoring).map_err(err)?;
        let in_page = match plan.tantivy_query(shared, &q.filter, page) {
            Some(p) if p.lo == query.lo && p.hi == query.hi => None,
            Some(p) => Some(Some(p.pruned_weight(scoring).map_err(err)?)),
            None => Some(None),
        };
        // The reachable segments, in LSN order; give up unless ordered and disjoint.
        let mut segments = Vec::new();
        let mut pruned = 0;
        for reader in plan.searcher.segment_readers() {
            match weight.reach(reader).map_err(err)? {
                Reach::Outside => pruned += 1,
                Reach::Unordered => return Ok(None),
                Reach::Docs(_) => {
                    let lsn = match plan.sorted.get(&reader.segment_id()) {
                        Some(known) => known.lsn.clone(),
                        None => reader.fast_fields().u64("lsn").map_err(err)?,
                    };
                    segments.push((lsn.min_value(), lsn.max_value(), reader, lsn));
                }
            }
        }
        segments.sort_unstable_by_key(|s| s.0);
        if segments.windows(2).any(|w| w[0].1 >= w[1].0) {
            return Ok(None);
        }
        stats.segments_pruned += pruned;
        stats.segments_searched += segments.len() as u64;
        if q.order == Order::Desc {
            segments.reverse();
        }
        let page_weight = match &in_page {
            None => Some(&weight),
            Some(Some(w)) => Some(w),
            Some(None) => None,
        };
        let n_unc = uncommitted.len();
        // The union in the page's order: descending, the uncommitted LSNs come first;
        // ascending, last. `ranks` are the committed ranks wanted.
        let ranks = match q.order {
            Order::Desc => wanted.start.saturating_sub(n_unc)..wanted.end.saturating_sub(n_unc),
            Order::Asc => wanted.clone(),
        };
        let ranks = ranks.start as u64..ranks.end as u64;
        let mut total = plan.uncommitted.len() as u64;
        let mut committed = 0u64;
        let mut lsns = Vec::with_capacity(q.limit + 1);
        let key = count_key(&q.filter);
        let counts = Counts {
            cache: &shared.counts,
            key: key.as_deref(),
        };
        for (_, _, reader, lsn) in &segments {
            let count = match page_weight {
                None => 0,
                Some(w) => {
                    let (count, found) =
                        segment_window(w, &counts, reader, lsn, committed, &ranks, q.order)
                            .map_err(err)?;
                    lsns.extend(found);
                    count
                }
            };
            committed += count;
            total += match in_page {
                None => count,
                Some(_) => counts.count(&weight, reader).map_err(err)?,
            };
        }
        let window = match q.order {
            Order::Desc if ranks.start == 0 => {
                let mut all = uncommitted.to_vec();
                all.extend(lsns);
                Window {
                    total,
                    before: 0,
                    lsns: all,
                }
            }
            Order::Desc => Window {
                total,
                before: n_unc + ranks.start as usize,
                lsns,
            },
            Order::Asc => {
                let before = wanted.start.min(committed as usize);
                let skip_unc = wanted.start.saturating_sub(committed as usize);
                lsns.extend(uncommitted.iter().skip(skip_unc));
                Window {
                    total,
                    before: before + skip_unc,
                    lsns,
                }
            }
        };
        Ok(Some(window))
    }

    /// Reads the chosen events from the log, with their overlay.
    fn fetch(&self, filter: &super::Filter, plan: &Plan, lsns: &[u64]) -> Result<Vec<Hit>> {
        let engine = &self.shared.engine;
        let overlay = self.shared.resolutions.read();
        let mut hits = Vec::with_capacity(lsns.len());
        for &lsn in lsns {
            let event = engine
                .get_by_lsn(Lsn(lsn))?
                .ok_or_else(|| EngineError::Query {
                    why: format!("lsn {lsn} vanished"),
                })?;
            let resolution = latest(
                overlay.get(&filter.tenant, Lsn(lsn)),
                plan.tail_resolutions.get(&filter.tenant, Lsn(lsn)),
            );
            hits.push(Hit { event, resolution });
        }
        Ok(hits)
    }

    /// The latest resolution of the tenant's event at `lsn`, counting resolutions not
    /// indexed yet (a resolve is visible to the very next read).
    pub fn resolution(
        &self,
        tenant: &crate::types::TenantId,
        lsn: Lsn,
    ) -> Result<Option<Resolution>> {
        let plan = self.resolution_plan(tenant)?;
        let overlay = self.shared.resolutions.read();
        Ok(latest(
            overlay.get(tenant, lsn),
            plan.tail_resolutions.get(tenant, lsn),
        ))
    }
}

impl SearchIndex {
    /// The engine the index follows.
    pub fn engine(&self) -> &std::sync::Arc<crate::log::Engine> {
        &self.shared.engine
    }

    /// The latest resolution of each of the tenant's resolved events, counting only
    /// resolution events with LSN below `before` (an export shows the overlay as of its
    /// start), including those not indexed yet.
    pub fn resolutions_of(
        &self,
        tenant: &crate::types::TenantId,
        before: Lsn,
    ) -> Result<std::collections::HashMap<Lsn, Resolution>> {
        let plan = self.resolution_plan(tenant)?;
        let overlay = self.shared.resolutions.read();
        let mut map = std::collections::HashMap::new();
        let all = overlay
            .of_tenant(tenant)
            .chain(plan.tail_resolutions.of_tenant(tenant));
        for (lsn, r) in all.filter(|(_, r)| r.by_lsn < before) {
            let slot = map.entry(lsn).or_insert_with(|| r.clone());
            if slot.by_lsn < r.by_lsn {
                *slot = r.clone();
            }
        }
        Ok(map)
    }

    /// A plan whose tail resolutions are the tenant's not yet indexed.
    fn resolution_plan(&self, tenant: &crate::types::TenantId) -> Result<Plan> {
        Plan::new(
            &self.shared,
            &Filter {
                event_type: Some(super::fields::RESOLUTION_EVENT_TYPE.into()),
                ..Filter::tenant(tenant.clone())
            },
        )
    }
}

fn latest(a: Option<&Resolution>, b: Option<&Resolution>) -> Option<Resolution> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if a.by_lsn >= b.by_lsn {
            a.clone()
        } else {
            b.clone()
        }),
        (Some(x), None) | (None, Some(x)) => Some(x.clone()),
        (None, None) => None,
    }
}

/// The LSNs a page may show: the whole range, or the part after the cursor.
fn page_range(range: &Range<Lsn>, paging: &Paging, order: Order) -> Range<u64> {
    let (lo, hi) = (range.start.0, range.end.0);
    match (paging, order) {
        (Paging::Offset(_), _) => lo..hi,
        (Paging::After(c), Order::Desc) => lo..hi.min(c.lsn.0),
        (Paging::After(c), Order::Asc) => lo.max(c.lsn.0.saturating_add(1))..hi,
    }
}

/// One segment's part of a ranked page: how many matches it holds, and the LSNs of
/// those at committed ranks `ranks` in `order`, its first match having rank `rank`.
/// One pass over its matches at most; none when every document in range matches.
fn segment_window(
    weight: &PrunedWeight,
    counts: &Counts<'_>,
    reader: &tantivy::SegmentReader,
    lsn: &tantivy::columnar::Column<u64>,
    rank: u64,
    ranks: &Range<u64>,
    order: Order,
) -> tantivy::Result<(u64, Vec<u64>)> {
    let (from, to) = (
        ranks.start.saturating_sub(rank),
        ranks.end.saturating_sub(rank),
    );
    // Positions (in doc order, which is ascending LSN) of the wanted matches, once the
    // segment's count is known.
    let positions = |count: u64| {
        let (a, b) = (from.min(count), to.min(count));
        match order {
            Order::Asc => a..b,
            Order::Desc => count - b..count - a,
        }
    };
    let in_order = |mut found: Vec<u64>| {
        if order == Order::Desc {
            found.reverse();
        }
        found
    };
    if let Some(docs) = weight.every_doc_matches(reader)? {
        let count = u64::from(docs.end - docs.start);
        let found = positions(count)
            .map(|p| lsn.values.get_val(docs.start + p as DocId))
            .collect();
        return Ok((count, in_order(found)));
    }
    let known = counts.known(weight, reader)?;
    if to == 0 || known.is_some_and(|n| n <= from) {
        let count = match known {
            Some(n) => n,
            None => counts.count(weight, reader)?,
        };
        return Ok((count, Vec::new()));
    }
    if let (Order::Desc, Some(count)) = (order, known) {
        if let Some(found) = last_matches(weight, reader, lsn, count, positions(count))? {
            return Ok((count, in_order(found)));
        }
    }
    // One pass: count every match, keeping the docs that may be wanted (ascending: the
    // positions from..to; descending: the last `to`, whose positions depend on the count).
    let mut kept: VecDeque<DocId> = VecDeque::new();
    let mut scorer = weight.scorer(reader, 1.0)?;
    let mut at = 0u64;
    let mut doc = scorer.doc();
    while doc != TERMINATED {
        match order {
            Order::Asc if at >= from && at < to => kept.push_back(doc),
            Order::Asc => {}
            Order::Desc => {
                if kept.len() as u64 == to {
                    kept.pop_front();
                }
                kept.push_back(doc);
            }
        }
        at += 1;
        doc = scorer.advance();
    }
    counts.remember(weight, reader, at)?;
    let wanted = positions(at);
    let first_kept = match order {
        Order::Asc => from.min(at),
        Order::Desc => at - kept.len() as u64,
    };
    let found = kept
        .into_iter()
        .zip(first_kept..)
        .filter(|(_, p)| wanted.contains(p))
        .map(|(d, _)| lsn.values.get_val(d))
        .collect();
    Ok((at, in_order(found)))
}

/// The LSNs of the matches at `wanted` (ascending positions among the segment's `count`
/// matches, all of them near its end), read from a window at the segment's end rather
/// than by walking every match from its start: a descending page of a large segment
/// whose count is known. The window is sized from the count (matches assumed spread
/// evenly, with a margin) and widened eightfold while it holds too few. None if the
/// whole segment holds fewer matches than `count` says.
fn last_matches(
    weight: &PrunedWeight,
    reader: &tantivy::SegmentReader,
    lsn: &tantivy::columnar::Column<u64>,
    count: u64,
    wanted: Range<u64>,
) -> tantivy::Result<Option<Vec<u64>>> {
    if wanted.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let need = count - wanted.start;
    let max_doc = u64::from(reader.max_doc());
    let mut width =
        (max_doc.saturating_mul(need).saturating_mul(2) / count.max(1)).max(TAIL_WINDOW_DOCS_MIN);
    loop {
        let start = max_doc.saturating_sub(width) as DocId;
        let mut scorer = weight.scorer(reader, 1.0)?;
        let mut doc = scorer.doc();
        if doc != TERMINATED && doc < start {
            doc = scorer.seek(start);
        }
        let mut docs = Vec::new();
        while doc != TERMINATED {
            docs.push(doc);
            doc = scorer.advance();
        }
        let held = docs.len() as u64;
        if held >= need && held <= count {
            // docs[i] is match number count - held + i.
            let first = count - held;
            return Ok(Some(
                wanted
                    .map(|p| lsn.values.get_val(docs[(p - first) as usize]))
                    .collect(),
            ));
        }
        if start == 0 || held > count {
            return Ok(None);
        }
        width = width.saturating_mul(8);
    }
}

/// The smallest window [`last_matches`] starts with, in documents.
const TAIL_WINDOW_DOCS_MIN: u64 = 64;

/// Whole-segment counts of one query's filter: from the cache when made before, made
/// and remembered otherwise (docs/QUERY.md).
struct Counts<'a> {
    cache: &'a SegmentCounts,
    /// None when the filter's counts may not be cached.
    key: Option<&'a str>,
}

impl Counts<'_> {
    /// The segment's count, if it was made before.
    fn known(
        &self,
        weight: &PrunedWeight,
        reader: &tantivy::SegmentReader,
    ) -> tantivy::Result<Option<u64>> {
        let Some(key) = self.key else {
            return Ok(None);
        };
        if !weight.covers_whole(reader)? {
            return Ok(None);
        }
        Ok(self.cache.get(reader.segment_id(), key).map(u64::from))
    }

    /// The segment's count, from the cache or counted (and remembered).
    fn count(
        &self,
        weight: &PrunedWeight,
        reader: &tantivy::SegmentReader,
    ) -> tantivy::Result<u64> {
        if let Some(n) = self.known(weight, reader)? {
            return Ok(n);
        }
        let n = u64::from(weight.count(reader)?);
        self.remember(weight, reader, n)?;
        Ok(n)
    }

    /// Keeps a count just made, if the whole segment was counted.
    fn remember(
        &self,
        weight: &PrunedWeight,
        reader: &tantivy::SegmentReader,
        n: u64,
    ) -> tantivy::Result<()> {
        if let Some(key) = self.key {
            if weight.covers_whole(reader)? {
                if let Ok(n) = u32::try_from(n) {
                    self.cache.put(reader.segment_id(), key, n);
                }
            }
        }
        Ok(())
    }
}

fn count_segments(query: &Pruned, stats: &mut QueryStats) {
    stats.segments_searched += query.counters.searched.load(Ordering::Relaxed);
    stats.segments_pruned += query.counters.pruned.load(Ordering::Relaxed);
}

fn index_error(shared: &super::index::Shared, source: tantivy::TantivyError) -> EngineError {
    EngineError::Index {
        path: shared.config.dir.clone(),
        source,
    }
}

/// Consecutive matches in a page's order: `lsns[0]` is the match at rank `before`
/// (0-based, over every match), and `total` counts every match.
struct Window {
    total: u64,
    before: usize,
    lsns: Vec<u64>,
}

/// Creates a cursor that starts a page after the event at (`lsn`, `created_at_us`,
/// `seq`): for callers that page by hand.
pub fn cursor_after(
    filter: &Filter,
    order: Order,
    lsn: Lsn,
    created_at_us: i64,
    seq: Seq,
) -> Cursor {
    Cursor {
        lsn,
        created_at_us,
        seq,
        order,
        fingerprint: fingerprint(filter),
    }
}
