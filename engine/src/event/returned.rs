//! The event as reads return it: the stored body plus `hash`, `is_resolved` and the
//! resolution overlay, spliced in at their canonical places.

use super::body::{BodyError, Member, Scanner};
use super::jcs::write_string;
use super::prepared::write_hex;
use crate::time::format_rfc3339_us;

/// The resolution overlay a read shows on a resolved event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    /// When the latest resolution was appended (microseconds since the epoch).
    pub resolved_at_us: i64,
    /// Who resolved it.
    pub resolved_by: String,
    /// Notes, if any.
    pub resolution_notes: Option<String>,
}

/// Keys a read adds, in canonical order.
const READ_KEYS: [&str; 5] = [
    "hash",
    "is_resolved",
    "resolution_notes",
    "resolved_at",
    "resolved_by",
];

/// Appends the event as the API returns it: the stored `body` with `hash`,
/// `is_resolved` and (when resolved) `resolution_notes`, `resolved_at` and
/// `resolved_by` spliced in at their canonical places, so the result is itself
/// canonical. On error `out` is left as it was. `body` is a stored body whose hash was
/// checked: its members are scanned (and refused if one is a read key) only up to the
/// last place a member is added, and the rest is copied as it is.
pub fn write_returned(
    body: &[u8],
    hash: &[u8; 32],
    overlay: Option<&Overlay>,
    out: &mut Vec<u8>,
) -> Result<(), BodyError> {
    let original = out.len();
    let result = splice(body, hash, overlay, out);
    if result.is_err() {
        out.truncate(original);
    }
    result
}

/// The read key `key` is, if it is one.
fn read_key(key: &[u8]) -> Option<&'static str> {
    // A byte-string match tests the length first: most keys cost one comparison.
    match key {
        b"hash" => Some("hash"),
        b"is_resolved" => Some("is_resolved"),
        b"resolution_notes" => Some("resolution_notes"),
        b"resolved_at" => Some("resolved_at"),
        b"resolved_by" => Some("resolved_by"),
        _ => None,
    }
}

/// Whether the added key `name` sorts before `key` (their first bytes mostly decide).
fn sorts_before(name: &str, key: &[u8]) -> bool {
    let name = name.as_bytes();
    match (name.first(), key.first()) {
        (Some(a), Some(b)) if a != b => a < b,
        _ => name < key,
    }
}

fn splice(
    body: &[u8],
    hash: &[u8; 32],
    overlay: Option<&Overlay>,
    out: &mut Vec<u8>,
) -> Result<(), BodyError> {
    // The added members, rendered once into one buffer: (key, range of `"key":value`).
    // Their keys are ASCII, so byte order against any key is the canonical order.
    let mut text = Vec::with_capacity(160);
    let mut extra: Vec<(&str, std::ops::Range<usize>)> = Vec::with_capacity(READ_KEYS.len());
    let mut start = 0;
    text.extend_from_slice(br#""hash":""#);
    write_hex(hash, &mut text);
    text.push(b'"');
    extra.push(("hash", start..text.len()));
    start = text.len();
    text.extend_from_slice(br#""is_resolved":"#);
    text.extend_from_slice(if overlay.is_some() { b"true" } else { b"false" });
    extra.push(("is_resolved", start..text.len()));
    if let Some(o) = overlay {
        if let Some(notes) = &o.resolution_notes {
            start = text.len();
            text.extend_from_slice(br#""resolution_notes":"#);
            write_string(notes, &mut text);
            extra.push(("resolution_notes", start..text.len()));
        }
        start = text.len();
        text.extend_from_slice(br#""resolved_at":"#);
        write_string(&format_rfc3339_us(o.resolved_at_us), &mut text);
        extra.push(("resolved_at", start..text.len()));
        start = text.len();
        text.extend_from_slice(br#""resolved_by":"#);
        write_string(&o.resolved_by, &mut text);
        extra.push(("resolved_by", start..text.len()));
    }
    out.reserve(body.len() + text.len() + extra.len());
    let mut pending = extra.iter().peekable();
    let mut copied = 0;
    for member in Scanner::new(body) {
        let Member { key, at, .. } = member?;
        if let Some(field) = read_key(key) {
            return Err(BodyError::Reserved { field });
        }
        while let Some((_, range)) = pending.next_if(|(name, _)| sorts_before(name, key)) {
            out.extend_from_slice(&body[copied..at]);
            copied = at;
            out.extend_from_slice(&text[range.clone()]);
            out.push(b',');
        }
        if pending.peek().is_none() {
            // Every added member is placed: the rest of the body is copied as stored,
            // without scanning it. Bodies are only read after their hash is checked,
            // so the rest is what sealog wrote: members in canonical order, none of
            // them a read key, ending with `}`.
            out.extend_from_slice(&body[copied..]);
            return Ok(());
        }
    }
    // The scan succeeded, so the body is at least `{}` and ends with `}`.
    out.extend_from_slice(&body[copied..body.len() - 1]);
    for (_, range) in pending {
        if out.last() != Some(&b'{') {
            out.push(b',');
        }
        out.extend_from_slice(&text[range.clone()]);
    }
    out.push(b'}');
    Ok(())
}
