//! Collecting a page of hits from tantivy: an exact count of every match, the best
//! `offset + limit` LSNs in the requested order, and the matches whose risk score ties
//! the `min_risk_score` bound as a double (settled exactly by the caller).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use super::query::Order;

/// The best `k` LSNs in an order. Segments hold their documents in LSN order, so the
/// common case is a ring buffer (O(1) per match); if a segment is not in order, it
/// falls back to a heap.
#[derive(Debug)]
pub(crate) struct TopLsns {
    k: usize,
    order: Order,
    sorted: VecDeque<u64>,
    heap: Option<BinaryHeap<Reverse<u64>>>,
    heap_desc: Option<BinaryHeap<u64>>,
    last: Option<u64>,
}

impl TopLsns {
    pub fn new(k: usize, order: Order) -> Self {
        TopLsns {
            k,
            order,
            sorted: VecDeque::new(),
            heap: None,
            heap_desc: None,
            last: None,
        }
    }

    pub fn push(&mut self, lsn: u64) {
        if self.k == 0 {
            return;
        }
        if self.heap.is_none() && self.heap_desc.is_none() {
            if self.last.is_none_or(|l| lsn > l) {
                self.last = Some(lsn);
                match self.order {
                    Order::Desc => {
                        self.sorted.push_back(lsn);
                        if self.sorted.len() > self.k {
                            self.sorted.pop_front();
                        }
                    }
                    Order::Asc => {
                        if self.sorted.len() < self.k {
                            self.sorted.push_back(lsn);
                        }
                    }
                }
                return;
            }
            self.switch_to_heap();
        }
        self.heap_push(lsn);
    }

    fn switch_to_heap(&mut self) {
        let items: Vec<u64> = self.sorted.drain(..).collect();
        match self.order {
            // Keep the k largest: a min-heap.
            Order::Desc => self.heap = Some(items.into_iter().map(Reverse).collect()),
            // Keep the k smallest: a max-heap.
            Order::Asc => self.heap_desc = Some(items.into_iter().collect()),
        }
    }

    fn heap_push(&mut self, lsn: u64) {
        if let Some(h) = &mut self.heap {
            h.push(Reverse(lsn));
            if h.len() > self.k {
                h.pop();
            }
        } else if let Some(h) = &mut self.heap_desc {
            h.push(lsn);
            if h.len() > self.k {
                h.pop();
            }
        }
    }

    /// The kept LSNs, in the requested order.
    pub fn into_sorted(self) -> Vec<u64> {
        let mut v: Vec<u64> = match (self.heap, self.heap_desc) {
            (Some(h), _) => h.into_iter().map(|Reverse(x)| x).collect(),
            (_, Some(h)) => h.into_vec(),
            _ => self.sorted.into_iter().collect(),
        };
        match self.order {
            Order::Asc => v.sort_unstable(),
            Order::Desc => v.sort_unstable_by(|a, b| b.cmp(a)),
        }
        v
    }
}

/// What a page search returns per segment and merged.
#[derive(Debug, Default)]
pub(crate) struct PageFruit {
    /// Matches, ties excluded.
    pub total: u64,
    /// Best LSNs inside the page range, in order (ties excluded).
    pub top: Vec<u64>,
    /// Matches whose risk ties the bound as a double: (lsn, inside the page range).
    pub ties: Vec<u64>,
}

/// The page collector's settings.
#[derive(Debug, Clone)]
pub(crate) struct PageCollector {
    /// How many LSNs to keep (offset + limit).
    pub k: usize,
    pub order: Order,
    /// LSNs the page may show (the cursor narrows it; the count ignores it).
    pub page: std::ops::Range<u64>,
    /// Matches to leave out (resolved events, for `is_resolved=false`).
    pub exclude: Option<Arc<HashSet<u64>>>,
    /// The `min_risk_score` bound as a double, when there is one.
    pub risk_tie: Option<f64>,
}

pub(crate) struct PageSegment {
    lsn: Column<u64>,
    risk: Option<(Column<f64>, f64)>,
    settings: PageCollector,
    total: u64,
    top: TopLsns,
    ties: Vec<u64>,
}

impl Collector for PageCollector {
    type Fruit = PageFruit;
    type Child = PageSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<PageSegment> {
        let lsn = segment.fast_fields().u64("lsn")?;
        let risk = match self.risk_tie {
            Some(bound) => Some((segment.fast_fields().f64("risk")?, bound)),
            None => None,
        };
        Ok(PageSegment {
            lsn,
            risk,
            settings: self.clone(),
            total: 0,
            top: TopLsns::new(self.k, self.order),
            ties: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<PageFruit>) -> tantivy::Result<PageFruit> {
        let mut top = TopLsns::new(self.k, self.order);
        let mut all: Vec<u64> = fruits.iter().flat_map(|f| f.top.iter().copied()).collect();
        all.sort_unstable();
        for lsn in all {
            top.push(lsn);
        }
        Ok(PageFruit {
            total: fruits.iter().map(|f| f.total).sum(),
            top: top.into_sorted(),
            ties: fruits.into_iter().flat_map(|f| f.ties).collect(),
        })
    }
}

impl SegmentCollector for PageSegment {
    type Fruit = PageFruit;

    fn collect(&mut self, doc: DocId, _: Score) {
        let Some(lsn) = self.lsn.first(doc) else {
            return;
        };
        if self
            .settings
            .exclude
            .as_ref()
            .is_some_and(|x| x.contains(&lsn))
        {
            return;
        }
        if let Some((risk, bound)) = &self.risk {
            if risk.first(doc) == Some(*bound) {
                self.ties.push(lsn);
                return;
            }
        }
        self.total += 1;
        if self.settings.page.contains(&lsn) {
            self.top.push(lsn);
        }
    }

    fn harvest(self) -> PageFruit {
        PageFruit {
            total: self.total,
            top: self.top.into_sorted(),
            ties: self.ties,
        }
    }
}
