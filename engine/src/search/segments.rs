//! What queries know about committed index segments beyond tantivy: which hold their
//! documents in LSN order, and, for those, how an LSN range maps to a doc-id range
//! (docs/QUERY.md, "Segments in LSN order").

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use parking_lot::Mutex;
use tantivy::columnar::{Column, ColumnIndex};
use tantivy::index::SegmentId;
use tantivy::query::Scorer;
use tantivy::{DocId, DocSet, Score, Searcher, TERMINATED};

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
    use super::*;

    /// A scorer over a fixed list of doc ids.
    struct Listed {
        docs: Vec<DocId>,
        at: usize,
    }

    impl DocSet for Listed {
        fn advance(&mut self) -> DocId {
            self.at = (self.at + 1).min(self.docs.len());
            self.doc()
        }
        fn doc(&self) -> DocId {
            self.docs.get(self.at).copied().unwrap_or(TERMINATED)
        }
        fn size_hint(&self) -> u32 {
            self.docs.len() as u32
        }
    }

    impl Scorer for Listed {
        fn score(&mut self) -> Score {
            1.0
        }
    }

    fn scorer(docs: &[DocId]) -> Box<dyn Scorer> {
        Box::new(Listed {
            docs: docs.to_vec(),
            at: 0,
        })
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
