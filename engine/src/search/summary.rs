//! Summaries: exact counts of the matches grouped by table_name, user_id, action,
//! event_type and severity (top 100 of each), from the index's columnar (fast) fields,
//! plus the matches not yet committed.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::EnableScoring;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::filter::{decimal_f64, Filter};
use super::index::SearchIndex;
use super::plan::{Plan, Uncommitted};
use super::schema::SUMMARY_FIELDS;
use crate::error::{EngineError, Result};

/// Groups kept per field (the most frequent; ties by value).
pub const SUMMARY_GROUPS_MAX: usize = 100;

/// Counts of the matches of a filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Every match.
    pub total: u64,
    /// `by_table`, `by_user`, `by_action`, `by_event_type`, `by_severity`: (value, count),
    /// most frequent first. Events without the field are left out of that group.
    pub groups: [Vec<(String, u64)>; 5],
}

impl SearchIndex {
    /// Counts the matches of `filter`, grouped.
    pub fn summary(&self, filter: &Filter) -> Result<Summary> {
        let shared = &self.shared;
        let plan = Plan::new(shared, filter)?;
        let mut counts: [FxHashMap<String, u64>; 5] = Default::default();
        let mut total = plan.uncommitted.len() as u64;
        add(&mut counts, &plan.uncommitted);
        let everything = plan.range.start.0..plan.range.end.0;
        if let Some(query) = plan.tantivy_query(shared, filter, &everything) {
            let collector = GroupCollector {
                exclude: plan.exclude(filter),
                risk_tie: filter.min_risk_score.as_deref().map(decimal_f64),
            };
            let err = |source| EngineError::Index {
                path: shared.config.dir.clone(),
                source,
            };
            let scoring = EnableScoring::disabled_from_searcher(&plan.searcher);
            let weight = query.pruned_weight(scoring).map_err(err)?;
            let simple = collector.exclude.is_none() && collector.risk_tie.is_none();
            let mut fruits = Vec::new();
            for (ord, reader) in plan.searcher.segment_readers().iter().enumerate() {
                let ord = ord as SegmentOrdinal;
                // A segment wholly outside the range has nothing to count: skip it
                // before opening its columns.
                if weight.prunes(reader).map_err(err)? {
                    continue;
                }
                // Every document in range matches: count the columns' values over the
                // rows of those documents, without visiting the documents.
                if simple {
                    if let Some(docs) = weight.every_doc_matches(reader).map_err(err)? {
                        let mut segment = collector.for_segment(ord, reader).map_err(err)?;
                        if segment.count_every_doc(docs) {
                            fruits.push(segment.harvest());
                            continue;
                        }
                    }
                }
                fruits.push(
                    collector
                        .collect_segment(&weight, ord, reader)
                        .map_err(err)?,
                );
            }
            let fruit = collector.merge_fruits(fruits).map_err(err)?;
            total += fruit.total;
            for (field, map) in counts.iter_mut().zip(fruit.counts) {
                merge_counts(field, map);
            }
            let ties = plan.settle_ties(shared, filter, &fruit.ties)?;
            total += ties.len() as u64;
            add(&mut counts, &ties);
        }
        Ok(Summary {
            total,
            groups: counts.map(top),
        })
    }
}

fn add(counts: &mut [FxHashMap<String, u64>; 5], matches: &[Uncommitted]) {
    for m in matches {
        for (field, value) in counts.iter_mut().zip(&m.groups) {
            if let Some(v) = value {
                *field.entry(v.clone()).or_default() += 1;
            }
        }
    }
}

/// Adds `from`'s counts to `into` (taking it whole when `into` is empty: usually one
/// segment holds all of a range).
fn merge_counts(into: &mut FxHashMap<String, u64>, from: FxHashMap<String, u64>) {
    if into.is_empty() {
        *into = from;
        return;
    }
    for (k, v) in from {
        *into.entry(k).or_default() += v;
    }
}

/// The `SUMMARY_GROUPS_MAX` most frequent values, most frequent first, ties by value.
fn top(map: FxHashMap<String, u64>) -> Vec<(String, u64)> {
    let order = |a: &(String, u64), b: &(String, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0));
    let mut v: Vec<(String, u64)> = map.into_iter().collect();
    if v.len() > SUMMARY_GROUPS_MAX {
        // Only the kept ones need sorting (thousands of user ids in a day).
        v.select_nth_unstable_by(SUMMARY_GROUPS_MAX - 1, order);
        v.truncate(SUMMARY_GROUPS_MAX);
    }
    v.sort_by(order);
    v
}

#[derive(Debug, Default)]
struct GroupFruit {
    total: u64,
    counts: [FxHashMap<String, u64>; 5],
    ties: Vec<u64>,
}

struct GroupCollector {
    exclude: Option<Arc<HashSet<u64>>>,
    risk_tie: Option<f64>,
}

struct GroupSegment {
    /// Opened only when documents are checked one by one by LSN or risk score.
    lsn: Option<Column<u64>>,
    risk: Option<(Column<f64>, f64)>,
    exclude: Option<Arc<HashSet<u64>>>,
    columns: Vec<Option<StrColumn>>,
    ords: Vec<Vec<u64>>,
    total: u64,
    ties: Vec<u64>,
}

impl Collector for GroupCollector {
    type Fruit = GroupFruit;
    type Child = GroupSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<GroupSegment> {
        let ff = segment.fast_fields();
        let columns: Vec<Option<StrColumn>> = SUMMARY_FIELDS
            .iter()
            .map(|name| ff.str(name))
            .collect::<tantivy::Result<_>>()?;
        let ords = columns
            .iter()
            .map(|c| vec![0u64; c.as_ref().map_or(0, |c| c.num_terms())])
            .collect();
        let risk = match self.risk_tie {
            Some(bound) => Some((ff.f64("risk")?, bound)),
            None => None,
        };
        let lsn = if self.exclude.is_some() || risk.is_some() {
            Some(ff.u64("lsn")?)
        } else {
            None
        };
        Ok(GroupSegment {
            lsn,
            risk,
            exclude: self.exclude.clone(),
            columns,
            ords,
            total: 0,
            ties: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<GroupFruit>) -> tantivy::Result<GroupFruit> {
        let mut merged = GroupFruit::default();
        for f in fruits {
            merged.total += f.total;
            merged.ties.extend(f.ties);
            for (into, from) in merged.counts.iter_mut().zip(f.counts) {
                merge_counts(into, from);
            }
        }
        Ok(merged)
    }
}

impl GroupSegment {
    /// Counts every document in `docs` as a match: each column's values over the rows of
    /// those documents (a doc-id range is a row range). False, counting nothing, when a
    /// column holds several values per document (the collector counts the first only).
    fn count_every_doc(&mut self, docs: Range<DocId>) -> bool {
        if self.columns.iter().flatten().any(|c| {
            matches!(
                c.ords().index,
                tantivy::columnar::ColumnIndex::Multivalued(_)
            )
        }) {
            return false;
        }
        self.total += u64::from(docs.end - docs.start);
        // The columns are independent, and so are the halves of a long row range: count
        // them on every core (five columns alone split 3:2 over two cores).
        let mut tasks = Vec::new();
        for (i, column) in self.columns.iter().enumerate() {
            let Some(column) = column else { continue };
            let rows = column.ords().index.docid_range_to_rowids(docs.clone());
            if rows.end - rows.start >= 2 * HISTOGRAM_SPLIT_MIN {
                let mid = rows.start + (rows.end - rows.start) / 2;
                tasks.push((i, column, rows.start..mid));
                tasks.push((i, column, mid..rows.end));
            } else {
                tasks.push((i, column, rows));
            }
        }
        let partial: Vec<(usize, Vec<u64>)> = tasks
            .into_par_iter()
            .map(|(i, column, rows)| {
                let ords = column.ords();
                let mut counts = vec![0u64; column.num_terms()];
                let mut buf = vec![0u64; HISTOGRAM_CHUNK];
                let mut at = rows.start;
                while at < rows.end {
                    let n = HISTOGRAM_CHUNK.min((rows.end - at) as usize);
                    ords.values.get_range(u64::from(at), &mut buf[..n]);
                    for &ord in &buf[..n] {
                        if let Some(c) = counts.get_mut(ord as usize) {
                            *c += 1;
                        }
                    }
                    at += n as u32;
                }
                (i, counts)
            })
            .collect();
        for (i, counts) in partial {
            for (into, n) in self.ords[i].iter_mut().zip(counts) {
                *into += n;
            }
        }
        true
    }
}

/// Column values read per step by [`GroupSegment::count_every_doc`].
const HISTOGRAM_CHUNK: usize = 4_096;
/// Rows of one column from which [`GroupSegment::count_every_doc`] counts the two
/// halves apart (on two cores).
const HISTOGRAM_SPLIT_MIN: u32 = 32_768;

impl SegmentCollector for GroupSegment {
    type Fruit = GroupFruit;

    fn collect(&mut self, doc: DocId, _: Score) {
        if self.exclude.is_some() || self.risk.is_some() {
            let lsn = self.lsn.as_ref().and_then(|c| c.first(doc)).unwrap_or(0);
            if self.exclude.as_ref().is_some_and(|x| x.contains(&lsn)) {
                return;
            }
            if let Some((risk, bound)) = &self.risk {
                if risk.first(doc) == Some(*bound) {
                    self.ties.push(lsn);
                    return;
                }
            }
        }
        self.total += 1;
        for (column, counts) in self.columns.iter().zip(self.ords.iter_mut()) {
            if let Some(ord) = column.as_ref().and_then(|c| c.term_ords(doc).next()) {
                if let Some(n) = counts.get_mut(ord as usize) {
                    *n += 1;
                }
            }
        }
    }

    fn harvest(self) -> GroupFruit {
        let mut counts: [FxHashMap<String, u64>; 5] = Default::default();
        for ((column, ords), out) in self.columns.iter().zip(&self.ords).zip(counts.iter_mut()) {
            let Some(column) = column else { continue };
            // The values counted, looked up in one ordered walk of the dictionary (one
            // lookup per value decoded a dictionary block each: milliseconds for the
            // thousands of user ids of a day).
            let seen: Vec<(u64, u64)> = ords
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(ord, &n)| (ord as u64, n))
                .collect();
            let mut counts = seen.iter().map(|&(_, n)| n);
            let walked = column.dictionary().sorted_ords_to_term_cb(
                seen.iter().map(|&(ord, _)| ord),
                |term| {
                    let n = counts.next().unwrap_or(0);
                    if let Ok(text) = std::str::from_utf8(term) {
                        out.insert(text.to_owned(), n);
                    }
                    Ok(())
                },
            );
            if walked.is_err() {
                tracing::warn!(
                    "a summary column's dictionary is unreadable; its groups are incomplete"
                );
            }
        }
        GroupFruit {
            total: self.total,
            counts,
            ties: self.ties,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use tantivy::collector::Collector;

    use super::*;
    use crate::search::fields::IndexedFields;
    use crate::search::schema::{document, schema, WordsTokenizer, WORDS_TOKENIZER};
    use crate::types::Lsn;

    /// Counting a segment's row range column by column (long ranges in two halves, on
    /// two cores) gives the same groups as counting each document's values.
    #[test]
    fn counting_rows_agrees_with_counting_documents() {
        let (schema, fields) = schema();
        let index = tantivy::Index::create_in_ram(schema);
        index
            .tokenizers()
            .register(WORDS_TOKENIZER, WordsTokenizer::default());
        let mut writer: tantivy::IndexWriter<crate::search::schema::IndexDoc> =
            index.writer_with_num_threads(1, 200_000_000).unwrap();
        let docs = 2 * HISTOGRAM_SPLIT_MIN + 1_001;
        let mut want: [FxHashMap<String, u64>; 5] = Default::default();
        for i in 0..docs {
            let values = [
                format!("table{}", i % 7),
                format!("user{}", (i * 7_919) % 2_003),
                format!("act{}", i % 3),
                format!("type{}", (i / 100) % 11),
                format!("sev{}", i % 5),
            ];
            let f = IndexedFields {
                table_name: (i % 13 != 0).then(|| Cow::Borrowed(values[0].as_str())),
                user_id: Some(Cow::Borrowed(values[1].as_str())),
                action: Some(Cow::Borrowed(values[2].as_str())),
                event_type: Some(Cow::Borrowed(values[3].as_str())),
                severity: Some(Cow::Borrowed(values[4].as_str())),
                ..IndexedFields::default()
            };
            let doc = document(&fields, Lsn(u64::from(i) + 1), "t", &f);
            writer.add_document(doc).unwrap();
            let present = [
                &f.table_name,
                &f.user_id,
                &f.action,
                &f.event_type,
                &f.severity,
            ];
            for (map, value) in want.iter_mut().zip(present) {
                if let Some(v) = value {
                    *map.entry(v.to_string()).or_default() += 1;
                }
            }
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let reader = &searcher.segment_readers()[0];
        assert_eq!(reader.max_doc(), docs);
        let collector = GroupCollector {
            exclude: None,
            risk_tie: None,
        };
        let mut segment = collector.for_segment(0, reader).unwrap();
        assert!(segment.count_every_doc(0..docs));
        let fruit = segment.harvest();
        assert_eq!(fruit.total, u64::from(docs));
        assert_eq!(fruit.counts, want);
        // A range inside the segment counts only its rows.
        let mut segment = collector.for_segment(0, reader).unwrap();
        assert!(segment.count_every_doc(1_000..docs - 3));
        assert_eq!(segment.harvest().total, u64::from(docs - 3 - 1_000));
    }
}
