//! Events after the last commit to tantivy: a small in-memory inverted index so
//! queries see them at once (read-your-writes) at a cost proportional to the matches,
//! not to the number of pending events. Filled and emptied by [`super::tail`], and
//! bounded there (`pending_events_max`). Values are interned, so adding an event
//! allocates only for values never seen before.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::fields::IndexedFields;
use super::filter::{cmp_decimal, lowercase_into, Filter, WORD_BYTES_MAX};
use crate::types::{Lsn, TenantId};

/// Field slots of a pending document, in [`super::Filter::terms`] naming.
const FIELDS: [&str; 9] = [
    "user_id",
    "event_type",
    "severity",
    "compliance_status",
    "table_name",
    "record_id",
    "symbol",
    "action",
    "result",
];
const TENANT: u8 = 100;
const TAG: u8 = 101;
const WORD: u8 = 102;
const ABSENT: u32 = u32::MAX;

/// Strings seen in pending events, each stored once (one allocation shared by the map
/// and the list).
#[derive(Debug, Default)]
struct Interner {
    ids: FxHashMap<Arc<str>, u32>,
    strings: Vec<Arc<str>>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        let shared: Arc<str> = s.into();
        self.strings.push(shared.clone());
        self.ids.insert(shared, id);
        id
    }

    fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }

    fn text(&self, id: u32) -> Option<&str> {
        self.strings.get(id as usize).map(|s| &**s)
    }
}

/// One pending event, as interned ids.
#[derive(Debug, Clone)]
struct PendingDoc {
    lsn: Lsn,
    created_at_us: i64,
    tenant: u32,
    values: [u32; 9],
    tags: Vec<u32>,
    risk: u32,
    words: Vec<u32>,
}

/// Pending events, in LSN order, with postings per (field, value).
#[derive(Debug, Default)]
pub struct Pending {
    strings: Interner,
    docs: Vec<PendingDoc>,
    postings: FxHashMap<(u8, u32), Vec<u32>>,
    scratch: String,
}

/// A pending match: its LSN and the values summaries group by.
#[derive(Debug, Clone)]
pub struct PendingMatch {
    /// Its LSN.
    pub lsn: Lsn,
    /// table_name, user_id, action, event_type, severity.
    pub groups: [Option<String>; 5],
}

impl Pending {
    /// Adds the next event (LSNs must increase).
    pub fn push(&mut self, lsn: Lsn, created_at_us: i64, tenant: &TenantId, f: &IndexedFields<'_>) {
        let at = self.docs.len() as u32;
        let tenant = self.strings.intern(tenant.as_str());
        self.post(TENANT, tenant, at);
        let fields = [
            &f.user_id,
            &f.event_type,
            &f.severity,
            &f.compliance_status,
            &f.table_name,
            &f.record_id,
            &f.symbol,
            &f.action,
            &f.result,
        ];
        let mut values = [ABSENT; 9];
        for (slot, (field, value)) in fields.iter().enumerate().map(|(i, v)| (i, (i as u8, v))) {
            if let Some(v) = value {
                values[slot] = self.strings.intern(v);
                self.post(field, values[slot], at);
            }
        }
        let mut tags = Vec::with_capacity(f.tags.len());
        for t in &f.tags {
            let id = self.strings.intern(t);
            tags.push(id);
            self.post(TAG, id, at);
        }
        let risk = f
            .risk_score
            .as_deref()
            .map_or(ABSENT, |r| self.strings.intern(r));
        let mut words = Vec::new();
        for text in [&f.event_description, &f.error_message]
            .into_iter()
            .flatten()
        {
            for_each_word(
                text,
                &mut self.scratch,
                |w, strings: &mut Interner| words.push(strings.intern(w)),
                &mut self.strings,
            );
        }
        words.sort_unstable();
        words.dedup();
        for &w in &words {
            self.post(WORD, w, at);
        }
        self.docs.push(PendingDoc {
            lsn,
            created_at_us,
            tenant,
            values,
            tags,
            risk,
            words,
        });
    }

    fn post(&mut self, field: u8, value: u32, at: u32) {
        let list = self.postings.entry((field, value)).or_default();
        if list.last() != Some(&at) {
            list.push(at);
        }
    }

    /// Forgets everything (after a commit).
    pub fn clear(&mut self) {
        *self = Pending::default();
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// The pending events matching the filter's fields and time range with LSN in
    /// `lsns`, in LSN order. `is_resolved` is the caller's to check.
    pub fn matching(&self, filter: &Filter, lsns: std::ops::Range<Lsn>) -> Vec<PendingMatch> {
        let Some(want) = self.wanted(filter) else {
            return Vec::new();
        };
        let shortest = want
            .lists
            .iter()
            .min_by_key(|l| l.len())
            .copied()
            .unwrap_or(&[]);
        shortest
            .iter()
            .map(|&i| &self.docs[i as usize])
            .filter(|d| lsns.contains(&d.lsn) && self.matches(d, filter, &want))
            .map(|d| PendingMatch {
                lsn: d.lsn,
                groups: self.groups(d),
            })
            .collect()
    }

    /// The filter in interned ids, or None when some value no pending event has.
    fn wanted<'a>(&'a self, filter: &Filter) -> Option<Wanted<'a>> {
        let mut want = Wanted {
            tenant: self.strings.get(filter.tenant.as_str())?,
            values: [None; 9],
            tags: Vec::new(),
            words: Vec::new(),
            lists: Vec::new(),
        };
        want.lists
            .push(self.postings.get(&(TENANT, want.tenant))?.as_slice());
        for (name, value) in filter.terms() {
            let id = self.strings.get(value)?;
            if name == "tags" {
                want.tags.push(id);
                want.lists.push(self.postings.get(&(TAG, id))?.as_slice());
            } else {
                let slot = FIELDS.iter().position(|f| *f == name)?;
                want.values[slot] = Some(id);
                want.lists
                    .push(self.postings.get(&(slot as u8, id))?.as_slice());
            }
        }
        for w in &filter.q {
            let id = if w.len() <= WORD_BYTES_MAX {
                self.strings.get(w)?
            } else {
                return None;
            };
            want.words.push(id);
            want.lists.push(self.postings.get(&(WORD, id))?.as_slice());
        }
        Some(want)
    }

    fn matches(&self, d: &PendingDoc, filter: &Filter, want: &Wanted<'_>) -> bool {
        d.tenant == want.tenant
            && filter.in_time(d.created_at_us)
            && want
                .values
                .iter()
                .zip(d.values)
                .all(|(w, v)| w.is_none_or(|w| w == v))
            && want.tags.iter().all(|t| d.tags.contains(t))
            && want.words.iter().all(|w| d.words.binary_search(w).is_ok())
            && filter.min_risk_score.as_deref().is_none_or(|min| {
                self.strings
                    .text(d.risk)
                    .is_some_and(|r| cmp_decimal(r, min) != std::cmp::Ordering::Less)
            })
    }

    fn groups(&self, d: &PendingDoc) -> [Option<String>; 5] {
        // table_name, user_id, action, event_type, severity.
        [4, 0, 7, 1, 2].map(|slot| self.strings.text(d.values[slot]).map(str::to_owned))
    }
}

/// The filter as interned ids, with the postings lists to intersect.
struct Wanted<'a> {
    tenant: u32,
    values: [Option<u32>; 9],
    tags: Vec<u32>,
    words: Vec<u32>,
    lists: Vec<&'a [u32]>,
}

/// Calls `f` with each searchable word of `text` (the same split as
/// [`super::filter::words`]), lowercased in `scratch` without allocating per word.
fn for_each_word<S>(
    text: &str,
    scratch: &mut String,
    mut f: impl FnMut(&str, &mut S),
    state: &mut S,
) {
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        if w.is_empty() || w.len() > WORD_BYTES_MAX {
            continue;
        }
        lowercase_into(w, scratch);
        f(scratch, state);
    }
}
