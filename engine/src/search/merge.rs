//! The merge policy that keeps the index in LSN order (docs/QUERY.md, "Segments in LSN
//! order").
//!
//! tantivy's default policy merges segments of similar size wherever they lie in the
//! log, so one merged segment ends up holding old and new LSNs, its documents out of
//! LSN order. This policy is Lucene's `LogMergePolicy` (which merges only neighbouring
//! segments, for the same reason) over segments sorted by LSN: it merges runs of up to
//! [`INDEX_MERGE_FACTOR`] neighbours, oldest first, into one segment whose documents
//! stay in LSN order. A run is merged only if no other segment known to the policy
//! (including segments being merged right now, which tantivy leaves out of the list it
//! passes) has an LSN inside the run's hull, so merged segments never overlap others.

use std::collections::HashMap;

use parking_lot::Mutex;
use tantivy::index::{SegmentId, SegmentMeta};
use tantivy::indexer::{MergeCandidate, MergePolicy};
use tantivy::{Index, SegmentReader};

use crate::limits::{INDEX_MERGE_DOCS_MAX, INDEX_MERGE_FACTOR, INDEX_MERGE_FLOOR_DOCS};

/// How far below the largest level in a group a segment may be and still count as that
/// level (Lucene's `LEVEL_LOG_SPAN`).
const LEVEL_SPAN: f64 = 0.75;

/// A segment as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub id: SegmentId,
    /// Lowest and highest LSN it holds.
    pub lo: u64,
    pub hi: u64,
    pub docs: u32,
}

/// Merges only neighbouring segments, in LSN order.
#[derive(Debug)]
pub(crate) struct LsnMergePolicy {
    index: Index,
    /// LSN range of every segment seen and not yet known to be merged away.
    known: Mutex<HashMap<SegmentId, (u64, u64)>>,
}

impl LsnMergePolicy {
    pub fn new(index: Index) -> LsnMergePolicy {
        LsnMergePolicy {
            index,
            known: Mutex::new(HashMap::new()),
        }
    }
}

impl MergePolicy for LsnMergePolicy {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let mut known = self.known.lock();
        let mut listed = Vec::with_capacity(segments.len());
        for meta in segments {
            if meta.num_docs() == 0 {
                continue;
            }
            let range = match known.get(&meta.id()) {
                Some(&r) => r,
                None => match lsn_range(&self.index, meta) {
                    Some(r) => {
                        known.insert(meta.id(), r);
                        r
                    }
                    // A segment whose LSNs cannot be read could lie anywhere: merging
                    // across it could interleave LSNs, so merge nothing this time.
                    None => return Vec::new(),
                },
            };
            listed.push(Span {
                id: meta.id(),
                lo: range.0,
                hi: range.1,
                docs: meta.num_docs(),
            });
        }
        listed.sort_by_key(|s| (s.lo, s.hi));
        // Forget segments merged away: their LSNs now lie inside a listed segment.
        known.retain(|id, &mut (lo, hi)| {
            listed.iter().any(|s| s.id == *id) || !listed.iter().any(|s| s.lo <= lo && hi <= s.hi)
        });
        let others: Vec<Span> = known
            .iter()
            .map(|(&id, &(lo, hi))| Span {
                id,
                lo,
                hi,
                docs: 0,
            })
            .collect();
        plan(&listed, &others)
            .into_iter()
            .map(|run| MergeCandidate(run.into_iter().map(|s| s.id).collect()))
            .collect()
    }
}

/// The LSN range of a segment, from its `lsn` column.
fn lsn_range(index: &Index, meta: &SegmentMeta) -> Option<(u64, u64)> {
    let reader = SegmentReader::open(&index.segment(meta.clone())).ok()?;
    let lsn = reader.fast_fields().u64("lsn").ok()?;
    Some((lsn.min_value(), lsn.max_value()))
}

/// A segment's merge level: log base [`INDEX_MERGE_FACTOR`] of its size, with every
/// segment below [`INDEX_MERGE_FLOOR_DOCS`] at the floor.
fn level(docs: u32) -> f64 {
    f64::from(docs.max(INDEX_MERGE_FLOOR_DOCS)).ln() / (INDEX_MERGE_FACTOR as f64).ln()
}

/// The runs to merge, each in LSN order. `listed` (sorted by LSN) are the segments that
/// may be merged now; `known` holds every segment whose LSNs a run must not enclose
/// (it may include `listed` too).
///
/// Lucene's rule: take the largest level among the segments not yet grouped; the group
/// runs from the first of them to the last whose level is within [`LEVEL_SPAN`] of it
/// (smaller segments between are swept along); cut the group into runs of
/// [`INDEX_MERGE_FACTOR`] neighbours from the oldest; repeat after the group.
pub(crate) fn plan(listed: &[Span], known: &[Span]) -> Vec<Vec<Span>> {
    let floor = level(INDEX_MERGE_FLOOR_DOCS);
    let levels: Vec<f64> = listed.iter().map(|s| level(s.docs)).collect();
    let mut runs = Vec::new();
    let mut start = 0;
    while start < listed.len() {
        let top = levels[start..].iter().copied().fold(f64::MIN, f64::max);
        let bottom = if top <= floor {
            f64::MIN
        } else {
            (top - LEVEL_SPAN).max(floor)
        };
        let mut upto = listed.len() - 1;
        while upto > start && levels[upto] < bottom {
            upto -= 1;
        }
        let mut end = start + INDEX_MERGE_FACTOR;
        while end <= upto + 1 {
            let run = &listed[start..end];
            if mergeable(run, known) {
                runs.push(run.to_vec());
            }
            start = end;
            end = start + INDEX_MERGE_FACTOR;
        }
        start = upto + 1;
    }
    runs
}

/// Whether merging `run` keeps segments from overlapping and small enough: the merged
/// segment holds at most [`INDEX_MERGE_DOCS_MAX`] documents, and no segment outside the
/// run has an LSN inside the run's hull.
fn mergeable(run: &[Span], known: &[Span]) -> bool {
    if run.iter().map(|s| u64::from(s.docs)).sum::<u64>() > u64::from(INDEX_MERGE_DOCS_MAX) {
        return false;
    }
    let lo = run.iter().map(|s| s.lo).min().unwrap_or(0);
    let hi = run.iter().map(|s| s.hi).max().unwrap_or(0);
    known
        .iter()
        .filter(|k| !run.iter().any(|s| s.id == k.id))
        .all(|k| k.hi < lo || k.lo > hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(lo: u64, docs: u32) -> Span {
        Span {
            id: SegmentId::generate_random(),
            lo,
            hi: lo + u64::from(docs) - 1,
            docs,
        }
    }

    /// Segments back to back from LSN 1 with these sizes.
    fn log(sizes: &[u32]) -> Vec<Span> {
        let mut lo = 1;
        sizes
            .iter()
            .map(|&d| {
                let s = seg(lo, d);
                lo += u64::from(d);
                s
            })
            .collect()
    }

    #[test]
    fn eight_small_neighbours_merge_in_lsn_order() {
        let segs = log(&[5_000; 9]);
        let runs = plan(&segs, &segs);
        assert_eq!(runs, vec![segs[..8].to_vec()]);
    }

    #[test]
    fn fewer_than_eight_wait() {
        let segs = log(&[5_000; 7]);
        assert!(plan(&segs, &segs).is_empty());
    }

    #[test]
    fn a_big_old_segment_is_left_and_the_small_tail_merges() {
        let mut sizes = vec![700_000];
        sizes.extend([40_000; 8]);
        let segs = log(&sizes);
        assert_eq!(plan(&segs, &segs), vec![segs[1..9].to_vec()]);
    }

    #[test]
    fn smaller_segments_between_bigger_ones_are_swept_along() {
        // Levels: 90k and 100k are one level; the 5k ones between are merged with them.
        let segs = log(&[
            90_000, 5_000, 100_000, 90_000, 5_000, 95_000, 90_000, 90_000,
        ]);
        assert_eq!(plan(&segs, &segs), vec![segs.clone()]);
    }

    #[test]
    fn a_run_never_encloses_a_segment_being_merged() {
        let segs = log(&[5_000; 9]);
        // With every segment listed, the oldest eight merge.
        assert_eq!(plan(&segs, &segs), vec![segs[..8].to_vec()]);
        // Segment 3 is being merged (tantivy leaves it out of the list): the same eight
        // minus it plus segment 8 would enclose its LSNs, so nothing merges.
        let listed: Vec<Span> = segs
            .iter()
            .copied()
            .filter(|s| s.id != segs[3].id)
            .collect();
        assert!(plan(&listed, &segs).is_empty());
    }

    #[test]
    fn merges_never_make_a_segment_above_the_cap() {
        let per = INDEX_MERGE_DOCS_MAX / 8;
        let at_cap = log(&[per; 8]);
        assert_eq!(plan(&at_cap, &at_cap), vec![at_cap.clone()]);
        let over = log(&[per + 1; 8]);
        assert!(plan(&over, &over).is_empty());
    }

    #[test]
    fn overlapping_segments_merge_only_together() {
        // Two indexing threads: each commit leaves two segments over the same LSNs.
        let mut segs = Vec::new();
        for c in 0..8u64 {
            for t in 0..2u64 {
                segs.push(Span {
                    id: SegmentId::generate_random(),
                    lo: c * 1000 + 1 + t,
                    hi: c * 1000 + 999 + t,
                    docs: 500,
                });
            }
        }
        segs.sort_by_key(|s| (s.lo, s.hi));
        // Two runs of four whole commits each; a run never takes one segment of a pair.
        assert_eq!(
            plan(&segs, &segs),
            vec![segs[..8].to_vec(), segs[8..].to_vec()]
        );
        // Without the last segment, the second run would split a pair: it is refused.
        assert_eq!(plan(&segs[..15], &segs), vec![segs[..8].to_vec()]);
    }
}
