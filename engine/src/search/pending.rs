//! Events the indexer has read but not yet committed to tantivy: kept in a small
//! in-memory inverted index so queries see them at once (read-your-writes) at a cost
//! proportional to the matches, not to the number of pending events. Bounded by the
//! commit policy (`commit_events`).

use std::borrow::Cow;
use std::collections::HashMap;

use super::fields::IndexedFields;
use super::filter::{words, Filter};
use crate::types::{Lsn, TenantId};

/// One pending event: what matching needs, owned.
#[derive(Debug, Clone)]
pub struct PendingDoc {
    /// Its LSN.
    pub lsn: Lsn,
    /// Its `created_at`.
    pub created_at_us: i64,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its searchable fields.
    pub fields: IndexedFields<'static>,
}

/// Pending events, in LSN order, with postings per (field, value) and per tenant.
#[derive(Debug, Default)]
pub struct Pending {
    docs: Vec<PendingDoc>,
    postings: HashMap<(&'static str, String), Vec<u32>>,
}

impl Pending {
    /// Adds the next event (LSNs must increase).
    pub fn push(&mut self, doc: PendingDoc) {
        let at = self.docs.len() as u32;
        let mut add = |field: &'static str, value: &str| {
            let list = self.postings.entry((field, value.to_owned())).or_default();
            if list.last() != Some(&at) {
                list.push(at);
            }
        };
        add("tenant", doc.tenant.as_str());
        let f = &doc.fields;
        for (name, value) in [
            ("user_id", &f.user_id),
            ("event_type", &f.event_type),
            ("severity", &f.severity),
            ("compliance_status", &f.compliance_status),
            ("table_name", &f.table_name),
            ("record_id", &f.record_id),
            ("symbol", &f.symbol),
            ("action", &f.action),
            ("result", &f.result),
        ] {
            if let Some(v) = value {
                add(name, v);
            }
        }
        for tag in &f.tags {
            add("tags", tag);
        }
        for text in [&f.event_description, &f.error_message]
            .into_iter()
            .flatten()
        {
            for w in words(text) {
                add("text", &w);
            }
        }
        self.docs.push(doc);
    }

    /// Forgets everything (after a commit).
    pub fn clear(&mut self) {
        self.docs.clear();
        self.postings.clear();
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Calls `f` with every pending event matching the filter's fields and time range
    /// with LSN in `lsns`, in LSN order. `is_resolved` is the caller's to check.
    pub fn matching<'a>(
        &'a self,
        filter: &'a Filter,
        lsns: std::ops::Range<Lsn>,
    ) -> impl Iterator<Item = &'a PendingDoc> + 'a {
        let mut lists: Vec<&[u32]> = Vec::new();
        let mut missing = false;
        let mut need = |field: &'static str, value: &str| match self
            .postings
            .get(&(field, value.to_owned()))
        {
            Some(list) => lists.push(list),
            None => missing = true,
        };
        need("tenant", filter.tenant.as_str());
        for (field, value) in filter.terms() {
            need(field, value);
        }
        for w in &filter.q {
            need("text", w);
        }
        let shortest: &[u32] = if missing {
            &[]
        } else {
            lists.iter().min_by_key(|l| l.len()).copied().unwrap_or(&[])
        };
        shortest
            .iter()
            .map(|&i| &self.docs[i as usize])
            .filter(move |d| {
                lsns.contains(&d.lsn)
                    && d.tenant == filter.tenant
                    && filter.in_time(d.created_at_us)
                    && filter.matches_fields(&d.fields)
            })
    }
}

/// An owned copy of extracted fields (`new_values` is dropped: only the indexer reads it).
pub fn owned(f: IndexedFields<'_>) -> IndexedFields<'static> {
    let o = |v: Option<Cow<'_, str>>| v.map(|c| Cow::Owned(c.into_owned()));
    IndexedFields {
        user_id: o(f.user_id),
        event_type: o(f.event_type),
        severity: o(f.severity),
        compliance_status: o(f.compliance_status),
        table_name: o(f.table_name),
        record_id: o(f.record_id),
        symbol: o(f.symbol),
        action: o(f.action),
        result: o(f.result),
        tags: f
            .tags
            .into_iter()
            .map(|t| Cow::Owned(t.into_owned()))
            .collect(),
        risk_score: o(f.risk_score),
        event_description: o(f.event_description),
        error_message: o(f.error_message),
        new_values: None,
    }
}
