//! An event object as the API returns it (GET, exports, receipts), checked from its
//! JSON alone: the hash rule of docs/INTEGRITY.md, and the fields that chain it.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use super::input::Obj;
use crate::event::jcs;
use crate::event::json::{Loc, Value};
use crate::merkle::Hash;

/// Keys a read adds to the stored body, removed before hashing (docs/INTEGRITY.md).
pub const NOT_HASHED_KEYS: [&str; 5] = [
    "hash",
    "is_resolved",
    "resolution_notes",
    "resolved_at",
    "resolved_by",
];

/// The hash the rule gives a returned event object: SHA-256 of the RFC 8785 form of the
/// object without [`NOT_HASHED_KEYS`]. An error says why it has no canonical form (not
/// an object, a number out of range).
pub fn returned_event_hash(event: &Value<'_>) -> Result<Hash, String> {
    let Value::Object(members) = event else {
        return Err(format!(
            "the event is a JSON {}, not an object",
            event.type_name()
        ));
    };
    let mut kept: Vec<&(Cow<'_, str>, Value<'_>)> = members
        .iter()
        .filter(|(k, _)| !NOT_HASHED_KEYS.contains(&k.as_ref()))
        .collect();
    kept.sort_unstable_by(|a, b| jcs::cmp_utf16(&a.0, &b.0));
    let mut out = Vec::with_capacity(1024);
    out.push(b'{');
    for (i, (key, value)) in kept.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        jcs::write_string(key, &mut out);
        out.push(b':');
        jcs::write_value(value, &mut out).map_err(|e| {
            let mut at = key.to_string();
            for step in &e.path {
                match step {
                    Loc::Key(k) => at.push_str(&format!(".{k}")),
                    Loc::Index(i) => at.push_str(&format!("[{i}]")),
                }
            }
            format!("field {at} has no canonical form: {e}")
        })?;
    }
    out.push(b'}');
    Ok(Sha256::digest(&out).into())
}

/// What one returned event says about itself, and what its bytes hash to.
#[derive(Debug, Clone, Default)]
pub(crate) struct EventFields {
    /// `id`, when a string.
    pub id: Option<String>,
    /// `tenant_id`, when a string.
    pub tenant: Option<String>,
    /// `seq`, when an integer.
    pub seq: Option<u64>,
    /// `hash`, when 64 hex digits.
    pub hash: Option<Hash>,
    /// `prev_hash`, when 64 hex digits.
    pub prev_hash: Option<Hash>,
    /// The hash its canonical form gives, or why it has none.
    pub computed: Option<Result<Hash, String>>,
    /// The first field that is missing or malformed.
    pub problem: Option<String>,
}

impl EventFields {
    /// Reads the fields of `event` (`at` names it in messages, e.g. `event`).
    pub(crate) fn read(event: &Value<'_>, at: &str) -> EventFields {
        let mut f = EventFields {
            computed: Some(returned_event_hash(event)),
            ..EventFields::default()
        };
        let obj = match Obj::root(event, at) {
            Ok(obj) => obj,
            Err(why) => {
                f.problem = Some(why);
                return f;
            }
        };
        let mut note = |r: Result<(), String>| {
            if let Err(why) = r {
                f.problem.get_or_insert(why);
            }
        };
        let mut id = None;
        let mut tenant = None;
        let mut seq = None;
        let mut hash = None;
        let mut prev = None;
        note(obj.str("id").map(|s| id = Some(s.to_owned())));
        note(obj.str("tenant_id").map(|s| tenant = Some(s.to_owned())));
        note(obj.u64("seq").map(|s| seq = Some(s)));
        note(obj.hash("hash").map(|h| hash = Some(h)));
        note(obj.hash("prev_hash").map(|h| prev = Some(h)));
        f.id = id;
        f.tenant = tenant;
        f.seq = seq;
        f.hash = hash;
        f.prev_hash = prev;
        f
    }

    /// `(tenant, seq, hash, prev_hash)` when all four are readable: what a link needs.
    pub(crate) fn link(&self) -> Option<(&str, u64, Hash, Hash)> {
        Some((
            self.tenant.as_deref()?,
            self.seq?,
            self.hash?,
            self.prev_hash?,
        ))
    }

    /// Whether the stored hash disagrees with the computed one, and how.
    pub(crate) fn hash_fault(&self) -> Option<String> {
        match (&self.computed, self.hash) {
            (Some(Ok(computed)), Some(hash)) if *computed != hash => Some(format!(
                "its canonical form hashes to {}, not to its hash {}",
                hex::encode(computed),
                hex::encode(hash)
            )),
            (Some(Err(why)), Some(_)) => Some(why.clone()),
            _ => None,
        }
    }
}
