//! What queries know about committed index segments beyond tantivy: which hold their
//! documents in LSN order, and, for those, how an LSN range maps to a doc-id range
//! (docs/QUERY.md, "Segments in LSN order").

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use parking_lot::Mutex;
use tantivy::columnar::{Column, ColumnIndex};
use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, TantivyError, TERMINATED};

use super::filter::Filter;
use crate::limits::INDEX_SEGMENT_COUNTS_MAX;

/// Documents read per step when checking a segment's order.
const ORDER_CHECK_CHUNK: usize = 4_096;

/// A committed segment's `lsn` column, opened once (opening it decodes its block
/// headers, which cost more than a whole query's use of it), and whether the LSNs
/// strictly increase with the doc id.
#[derive(Clone)]
pub(crate) struct SegmentLsns {
    pub lsn: Column<u64>,
    pub sorted: bool,
}

impl std::fmt::Debug for SegmentLsns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentLsns")
            .field("docs", &self.lsn.num_docs())
            .field("sorted", &self.sorted)
            .finish()
    }
}

/// What is known of each segment of a searcher, by id. Checked once per segment (a
/// segment never changes), when a commit brings it.
pub(crate) type SortedSegments = Arc<HashMap<SegmentId, SegmentLsns>>;

/// What is known of every segment of `searcher`, reusing what `previous` knows.
pub(crate) fn sorted_segments(searcher: &Searcher, previous: &SortedSegments) -> SortedSegments {
    let mut map = HashMap::with_capacity(searcher.segment_readers().len());
    for reader in searcher.segment_readers() {
        let id = reader.segment_id();
        if let Some(known) = previous.get(&id) {
            map.insert(id, known.clone());
        } else if let Ok(lsn) = reader.fast_fields().u64("lsn") {
            let sorted = strictly_increasing(&lsn);
            map.insert(id, SegmentLsns { lsn, sorted });
        }
    }
    Arc::new(map)
}

/// Whether every document has one LSN and they strictly increase with the doc id.
fn strictly_increasing(lsn: &Column<u64>) -> bool {
    if !matches!(lsn.index, ColumnIndex::Full) {
        return false;
    }
    let n = lsn.values.num_vals() as usize;
    let mut buf = vec![0u64; ORDER_CHECK_CHUNK.min(n)];
    let mut last: Option<u64> = None;
    let mut at = 0usize;
    while at < n {
        let len = ORDER_CHECK_CHUNK.min(n - at);
        lsn.values.get_range(at as u64, &mut buf[..len]);
        for &v in &buf[..len] {
            if last.is_some_and(|l| v <= l) {
                return false;
            }
            last = Some(v);
        }
        at += len;
    }
    true
}

/// Exact match counts of whole segments, by segment and filter. A segment never
/// changes and a filter's clauses (tenant, terms, tags, words) match the same documents
/// in it forever, so a count once made is right for as long as the segment lives:
/// repeated filters (dashboards) count only the segments committed since. Filters
/// whose matches can change without the segment changing (`is_resolved`) are never
/// cached.
#[derive(Debug, Default)]
pub(crate) struct SegmentCounts {
    counts: Mutex<HashMap<(SegmentId, String), u32>>,
}

impl SegmentCounts {
    pub fn get(&self, segment: SegmentId, filter: &str) -> Option<u32> {
        self.counts
            .lock()
            .get(&(segment, filter.to_owned()))
            .copied()
    }

    pub fn put(&self, segment: SegmentId, filter: &str, count: u32) {
        let mut counts = self.counts.lock();
        if counts.len() >= INDEX_SEGMENT_COUNTS_MAX {
            counts.clear();
        }
        counts.insert((segment, filter.to_owned()), count);
    }

    /// Forgets the segments no longer in the index (merged away).
    pub fn keep_only(&self, live: &SortedSegments) {
        self.counts
            .lock()
            .retain(|(segment, _), _| live.contains_key(segment));
    }
}

/// The key a filter's whole-segment counts are cached under, or None if they may not
/// be: every clause that selects documents (the time range does not, for a segment
/// wholly inside it), each value length-prefixed so no two filters share a key.
pub(crate) fn count_key(filter: &Filter) -> Option<String> {
    if filter.is_resolved.is_some() || filter.min_risk_score.is_some() {
        return None;
    }
    let mut key = String::new();
    let mut add = |name: &str, value: &str| {
        key.push_str(&format!("{name}:{}:{value};", value.len()));
    };
    add("tenant", filter.tenant.as_str());
    for (name, value) in filter.terms() {
        add(name, value);
    }
    for word in &filter.q {
        add("q", word);
    }
    Some(key)
}

/// In a segment whose LSNs strictly increase with the doc id: the doc ids whose LSN is
/// in `lo..hi` (two binary searches).
pub(crate) fn doc_range(lsn: &Column<u64>, lo: u64, hi: u64) -> Range<DocId> {
    let n = lsn.values.num_vals();
    let first_at_least = |bound: u64| {
        let (mut a, mut b) = (0u32, n);
        while a < b {
            let mid = a + (b - a) / 2;
            if lsn.values.get_val(mid) < bound {
                a = mid + 1;
            } else {
                b = mid;
            }
        }
        a
    };
    let start = first_at_least(lo);
    let end = first_at_least(hi).max(start);
    start..end
}

/// The documents whose LSN is in a set (the resolved events, for `is_resolved=true`),
/// found through the `lsn` column: one binary search per LSN in a segment in LSN
/// order, a pass over the column in any other. LSNs are not in the inverted index: a
/// term of its own for every document had cost a sixth of the indexer's time.
#[derive(Clone, Debug)]
pub(crate) struct LsnSetQuery {
    /// Ascending, without repeats.
    lsns: Arc<Vec<u64>>,
    segments: SortedSegments,
}

impl LsnSetQuery {
    pub fn new(lsns: impl IntoIterator<Item = u64>, segments: SortedSegments) -> LsnSetQuery {
        let mut lsns: Vec<u64> = lsns.into_iter().collect();
        lsns.sort_unstable();
        lsns.dedup();
        LsnSetQuery {
            lsns: Arc::new(lsns),
            segments,
        }
    }
}

impl Query for LsnSetQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for LsnSetQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let docs = match self.segments.get(&reader.segment_id()) {
            Some(known) => docs_with_lsns(&known.lsn, known.sorted, &self.lsns),
            None => docs_with_lsns(&reader.fast_fields().u64("lsn")?, false, &self.lsns),
        };
        Ok(Box::new(DocList::new(docs, boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        if self.scorer(reader, 1.0)?.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "document {doc} has no LSN in the set"
            )));
        }
        Ok(Explanation::new("LsnSetQuery", 1.0))
    }
}

/// The doc ids (ascending) whose LSN is in `set` (ascending). `sorted`: the LSNs
/// strictly increase with the doc id.
fn docs_with_lsns(lsn: &Column<u64>, sorted: bool, set: &[u64]) -> Vec<DocId> {
    let from = set.partition_point(|&l| l < lsn.min_value());
    let to = set.partition_point(|&l| l <= lsn.max_value());
    let within = &set[from..to.max(from)];
    if within.is_empty() {
        return Vec::new();
    }
    if sorted {
        return within
            .iter()
            .filter_map(|&l| {
                let docs = doc_range(lsn, l, l.saturating_add(1));
                (!docs.is_empty()).then_some(docs.start)
            })
            .collect();
    }
    (0..lsn.num_docs())
        .filter(|&doc| {
            lsn.values_for_doc(doc)
                .any(|l| within.binary_search(&l).is_ok())
        })
        .collect()
}

/// A scorer over a list of doc ids (ascending), each scoring `score`.
pub(crate) struct DocList {
    docs: Vec<DocId>,
    at: usize,
    score: Score,
}

impl DocList {
    pub fn new(docs: Vec<DocId>, score: Score) -> DocList {
        DocList { docs, at: 0, score }
    }
}

impl DocSet for DocList {
    fn advance(&mut self) -> DocId {
        self.at = (self.at + 1).min(self.docs.len());
        self.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.at += self.docs[self.at..].partition_point(|&d| d < target);
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.docs.get(self.at).copied().unwrap_or(TERMINATED)
    }

    fn size_hint(&self) -> u32 {
        (self.docs.len() - self.at) as u32
    }
}

impl Scorer for DocList {
    fn score(&mut self) -> Score {
        self.score
    }
}

/// A scorer cut to a doc-id range: the matches of `inner` in `start..end`.
pub(crate) struct DocRange {
    inner: Box<dyn Scorer>,
    end: DocId,
    done: bool,
}

impl DocRange {
    pub fn new(mut inner: Box<dyn Scorer>, docs: Range<DocId>) -> DocRange {
        if inner.doc() < docs.start {
            inner.seek(docs.start);
        }
        let mut range = DocRange {
            inner,
            end: docs.end,
            done: false,
        };
        let doc = range.inner.doc();
        range.clamp(doc);
        range
    }

    fn clamp(&mut self, doc: DocId) -> DocId {
        if self.done || doc >= self.end {
            self.done = true;
            TERMINATED
        } else {
            doc
        }
    }
}

impl DocSet for DocRange {
    fn advance(&mut self) -> DocId {
        if self.done {
            return TERMINATED;
        }
        let doc = self.inner.advance();
        self.clamp(doc)
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.done || target >= self.end {
            self.done = true;
            return TERMINATED;
        }
        let doc = self.inner.seek(target);
        self.clamp(doc)
    }

    fn doc(&self) -> DocId {
        if self.done {
            TERMINATED
        } else {
            self.inner.doc()
        }
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }
}

impl Scorer for DocRange {
    fn score(&mut self) -> Score {
        self.inner.score()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn scorer(docs: &[DocId]) -> Box<dyn Scorer> {
        Box::new(DocList::new(docs.to_vec(), 1.0))
    }

    fn collect(mut s: DocRange) -> Vec<DocId> {
        let mut out = Vec::new();
        let mut d = s.doc();
        while d != TERMINATED {
            out.push(d);
            d = s.advance();
        }
        assert_eq!(s.advance(), TERMINATED, "stays terminated");
        out
    }

    #[test]
    fn a_doc_range_keeps_exactly_the_matches_inside_it() {
        let docs = [0, 3, 4, 9, 10, 11, 20, 31];
        for start in 0..33 {
            for end in start..33 {
                let got = collect(DocRange::new(scorer(&docs), start..end));
                let want: Vec<DocId> = docs
                    .iter()
                    .copied()
                    .filter(|d| (start..end).contains(d))
                    .collect();
                assert_eq!(got, want, "range {start}..{end}");
            }
        }
    }

    /// The `lsn` column of a one-segment in-memory index holding `lsns` in that order.
    fn lsn_column(lsns: &[u64]) -> Column<u64> {
        use tantivy::schema::{NumericOptions, Schema};
        let mut schema = Schema::builder();
        let field = schema.add_u64_field("lsn", NumericOptions::default().set_fast());
        let index = tantivy::Index::create_in_ram(schema.build());
        let mut writer: tantivy::IndexWriter =
            index.writer_with_num_threads(1, 15_000_000).unwrap();
        for &lsn in lsns {
            let mut doc = tantivy::TantivyDocument::new();
            doc.add_u64(field, lsn);
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        searcher.segment_readers()[0]
            .fast_fields()
            .u64("lsn")
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The documents of an LSN set are the same found by binary search in a sorted
        /// column and by a pass over a column in any order, and they are exactly the
        /// documents whose LSN is in the set.
        #[test]
        fn lsn_sets_find_exactly_their_documents(
            mut lsns in proptest::collection::btree_set(1u64..500, 1..120)
                .prop_map(|s| s.into_iter().collect::<Vec<u64>>()),
            set in proptest::collection::vec(0u64..520, 0..40),
            shuffle in any::<u64>(),
        ) {
            let mut set = set;
            set.sort_unstable();
            set.dedup();
            let want = |order: &[u64]| -> Vec<DocId> {
                (0..order.len() as DocId)
                    .filter(|&d| set.binary_search(&order[d as usize]).is_ok())
                    .collect()
            };
            let sorted = lsn_column(&lsns);
            prop_assert!(strictly_increasing(&sorted));
            prop_assert_eq!(docs_with_lsns(&sorted, true, &set), want(&lsns));
            prop_assert_eq!(docs_with_lsns(&sorted, false, &set), want(&lsns));
            // Any other order: a rotation and a swap, so it is not increasing.
            if lsns.len() > 2 {
                let k = 1 + (shuffle as usize % (lsns.len() - 1));
                lsns.rotate_left(k);
                let unordered = lsn_column(&lsns);
                prop_assert!(!strictly_increasing(&unordered));
                prop_assert_eq!(docs_with_lsns(&unordered, false, &set), want(&lsns));
            }
        }
    }

    #[test]
    fn a_doc_list_seeks_and_advances_in_order() {
        let mut s = DocList::new(vec![2, 4, 9], 1.0);
        assert_eq!((s.doc(), s.size_hint()), (2, 3));
        assert_eq!(s.seek(3), 4);
        assert_eq!(s.seek(4), 4);
        assert_eq!(s.advance(), 9);
        assert_eq!(s.seek(10), TERMINATED);
        assert_eq!(s.advance(), TERMINATED);
        assert_eq!(DocList::new(Vec::new(), 1.0).doc(), TERMINATED);
    }

    #[test]
    fn seeking_past_the_end_terminates() {
        let mut s = DocRange::new(scorer(&[1, 5, 9, 12]), 2..10);
        assert_eq!(s.doc(), 5);
        assert_eq!(s.seek(6), 9);
        assert_eq!(s.seek(10), TERMINATED);
        assert_eq!(s.doc(), TERMINATED);
        let mut s = DocRange::new(scorer(&[1, 5, 9, 12]), 2..10);
        assert_eq!(s.seek(11), TERMINATED);
        assert_eq!(s.doc(), TERMINATED);
    }
}
