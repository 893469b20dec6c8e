//! [`Filter`]: what a query asks for, and how one event is matched against it.
//!
//! The matcher here is the reference the index must agree with: queries use it for the
//! events not yet in the index (read-your-writes), and the property tests compare the
//! indexed answers with it. Every match is exact and case-sensitive, except `q`: its
//! words (split on anything that is not a letter or digit, lowercased, at most
//! [`WORD_BYTES_MAX`] bytes) must all appear as whole words in `event_description` or
//! `error_message`.

use std::cmp::Ordering;

use super::fields::IndexedFields;
use crate::types::TenantId;

/// Longest searchable word, in bytes. Longer words are not indexed, and a query word
/// longer than this matches nothing (documented in docs/QUERY.md).
pub const WORD_BYTES_MAX: usize = 64;

/// A query's conditions, all ANDed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The tenant (every query is scoped to one).
    pub tenant: TenantId,
    /// Exact `user_id`.
    pub user_id: Option<String>,
    /// Exact `event_type`.
    pub event_type: Option<String>,
    /// Exact `severity`.
    pub severity: Option<String>,
    /// Exact `compliance_status`.
    pub compliance_status: Option<String>,
    /// Exact `table_name`.
    pub table_name: Option<String>,
    /// Exact `record_id`.
    pub record_id: Option<String>,
    /// Exact `symbol`.
    pub symbol: Option<String>,
    /// Exact `action`.
    pub action: Option<String>,
    /// Exact `result`.
    pub result: Option<String>,
    /// Every one of these tags.
    pub tags: Vec<String>,
    /// Resolved or not (through the resolution overlay).
    pub is_resolved: Option<bool>,
    /// `risk_score >= min_risk_score`, compared as exact decimals (`[0-9]+(\.[0-9]+)?`).
    pub min_risk_score: Option<String>,
    /// `created_at >= start_us`.
    pub start_us: Option<i64>,
    /// `created_at < end_us`.
    pub end_us: Option<i64>,
    /// Words, already split and lowercased with [`words`].
    pub q: Vec<String>,
}

impl Filter {
    /// Everything of a tenant.
    pub fn tenant(tenant: TenantId) -> Filter {
        Filter {
            tenant,
            user_id: None,
            event_type: None,
            severity: None,
            compliance_status: None,
            table_name: None,
            record_id: None,
            symbol: None,
            action: None,
            result: None,
            tags: Vec::new(),
            is_resolved: None,
            min_risk_score: None,
            start_us: None,
            end_us: None,
            q: Vec::new(),
        }
    }

    /// The exact-match conditions as (field, value) pairs.
    pub fn terms(&self) -> Vec<(&'static str, &str)> {
        let fields = [
            ("user_id", &self.user_id),
            ("event_type", &self.event_type),
            ("severity", &self.severity),
            ("compliance_status", &self.compliance_status),
            ("table_name", &self.table_name),
            ("record_id", &self.record_id),
            ("symbol", &self.symbol),
            ("action", &self.action),
            ("result", &self.result),
        ];
        let mut terms: Vec<(&'static str, &str)> = fields
            .iter()
            .filter_map(|(name, v)| v.as_deref().map(|v| (*name, v)))
            .collect();
        terms.extend(self.tags.iter().map(|t| ("tags", t.as_str())));
        terms
    }

    /// Whether an event matches, leaving out the tenant, the time range and
    /// `is_resolved` (the caller checks those: it knows the event's frame and the
    /// overlay).
    pub fn matches_fields(&self, f: &IndexedFields<'_>) -> bool {
        let eq = |want: &Option<String>, have: &Option<std::borrow::Cow<'_, str>>| match want {
            None => true,
            Some(w) => have.as_deref() == Some(w.as_str()),
        };
        eq(&self.user_id, &f.user_id)
            && eq(&self.event_type, &f.event_type)
            && eq(&self.severity, &f.severity)
            && eq(&self.compliance_status, &f.compliance_status)
            && eq(&self.table_name, &f.table_name)
            && eq(&self.record_id, &f.record_id)
            && eq(&self.symbol, &f.symbol)
            && eq(&self.action, &f.action)
            && eq(&self.result, &f.result)
            && self.tags.iter().all(|t| f.tags.iter().any(|h| h == t))
            && self.min_risk_score.as_deref().is_none_or(|min| {
                f.risk_score
                    .as_deref()
                    .is_some_and(|r| cmp_decimal(r, min) != Ordering::Less)
            })
            && self.q.iter().all(|w| has_word(f, w))
    }

    /// Whether `created_at_us` is inside the time range.
    pub fn in_time(&self, created_at_us: i64) -> bool {
        self.start_us.is_none_or(|s| created_at_us >= s)
            && self.end_us.is_none_or(|e| created_at_us < e)
    }
}

fn has_word(f: &IndexedFields<'_>, word: &str) -> bool {
    let texts = [f.event_description.as_deref(), f.error_message.as_deref()];
    texts
        .into_iter()
        .flatten()
        .any(|t| words(t).any(|w| w == word))
}

/// The searchable words of a text: maximal runs of letters and digits, lowercased,
/// without those longer than [`WORD_BYTES_MAX`] bytes. The index tokenizes the same way.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && w.len() <= WORD_BYTES_MAX)
        .map(str::to_lowercase)
}

/// Writes `word` lowercased (as [`words`] does) into `out`, replacing what it held;
/// without allocating for an ASCII word.
pub(crate) fn lowercase_into(word: &str, out: &mut String) {
    out.clear();
    if word.is_ascii() {
        out.push_str(word);
        out.make_ascii_lowercase();
    } else {
        out.push_str(&word.to_lowercase());
    }
}

/// Compares two non-negative decimals `[0-9]+(\.[0-9]+)?` exactly (no float):
/// `"057.230"` equals `"57.23"`.
pub fn cmp_decimal(a: &str, b: &str) -> Ordering {
    let split = |s: &str| -> (String, String) {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        (int.to_owned(), frac.to_owned())
    };
    let ((ai, af), (bi, bf)) = (split(a), split(b));
    ai.len()
        .cmp(&bi.len())
        .then_with(|| ai.cmp(&bi))
        .then_with(|| {
            let n = af.len().max(bf.len());
            let pad = |f: &str| format!("{f:0<n$}");
            pad(&af).cmp(&pad(&bf))
        })
}

/// The decimal as the nearest double, for the index (ties are then settled exactly).
pub fn decimal_f64(s: &str) -> f64 {
    s.parse().unwrap_or(f64::NAN)
}
