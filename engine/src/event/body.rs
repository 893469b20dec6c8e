//! Reading stored canonical bodies without trusting them.
//!
//! A stored body is the RFC 8785 form of the stored event (no whitespace, top-level keys
//! unescaped). Bodies come from disk and may be damaged or tampered with, so every scan
//! here is bounds-checked and returns a [`BodyError`] rather than panicking. The scan is
//! strict about the top-level structure (`{"key":value,...}` and nothing after it),
//! skips strings, nested objects and arrays correctly (a `prev_hash` key inside
//! `new_values`, or a string holding `"prev_hash":"`, is never taken for the member),
//! but does not re-check the canonical form of nested values: the chain hash covers
//! every byte.
//!
//! Reads add `hash` and the resolution overlay with [`write_returned`]. The hash rule: `hash` = lowercase hex SHA-256 of the body bytes, which are the
//! RFC 8785 form of the returned object minus `hash`, `is_resolved`, `resolved_at`,
//! `resolved_by` and `resolution_notes`.

use super::jcs::{is_json_number, SAFE_INTEGER_MAX};
use super::scan::find_quote;
use super::skip::container_end;
use crate::limits::TENANT_CHARS_MAX;
use crate::time::parse_rfc3339_us;

/// A stored body that is not what sealog writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// Not a JSON object of the canonical shape.
    #[error("stored body is malformed at byte {offset}: {why}")]
    Malformed {
        /// Byte offset of the problem.
        offset: usize,
        /// What is wrong there.
        why: &'static str,
    },
    /// A server-set member is absent.
    #[error("stored body has no {field}")]
    Missing {
        /// The member.
        field: &'static str,
    },
    /// A server-set member appears twice.
    #[error("stored body has {field} twice")]
    Duplicate {
        /// The member.
        field: &'static str,
    },
    /// A server-set member has the wrong form.
    #[error("stored body's {field} is not {expected}")]
    BadField {
        /// The member.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// The body already holds a key that only reads add (`hash`, the overlay).
    #[error("stored body holds the read-only key {field}")]
    Reserved {
        /// The key.
        field: &'static str,
    },
}

fn malformed(offset: usize, why: &'static str) -> BodyError {
    BodyError::Malformed { offset, why }
}

/// The server-set members of a stored body, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredFields<'a> {
    /// `created_at`, 27 characters.
    pub created_at: &'a str,
    /// `id`, a lowercase hyphenated UUID.
    pub id: &'a str,
    /// `prev_hash`, 64 lowercase hex digits.
    pub prev_hash: &'a str,
    /// `seq`.
    pub seq: u64,
    /// `tenant_id`.
    pub tenant_id: &'a str,
}

/// Position of the `"` closing the string whose content starts at `from`.
fn string_end(b: &[u8], mut from: usize) -> Result<usize, BodyError> {
    loop {
        let at = find_quote(b, from);
        match b.get(at) {
            Some(b'"') => return Ok(at),
            // Skip the backslash and the character it escapes (`\uXXXX`'s digits are plain).
            Some(_) => from = at + 2,
            None => return Err(malformed(b.len(), "unterminated string")),
        }
    }
}

/// Position just after the value starting at `start`.
fn value_end(b: &[u8], start: usize) -> Result<usize, BodyError> {
    match b.get(start) {
        Some(b'"') => Ok(string_end(b, start + 1)? + 1),
        Some(b'{' | b'[') => {
            container_end(b, start).map_err(|(offset, why)| malformed(offset, why))
        }
        Some(b't') if b[start..].starts_with(b"true") => Ok(start + 4),
        Some(b'f') if b[start..].starts_with(b"false") => Ok(start + 5),
        Some(b'n') if b[start..].starts_with(b"null") => Ok(start + 4),
        Some(b'-' | b'0'..=b'9') => {
            let len = b[start..]
                .iter()
                .take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .count();
            if is_json_number(&b[start..start + len]) {
                Ok(start + len)
            } else {
                Err(malformed(start, "invalid number"))
            }
        }
        _ => Err(malformed(start, "expected a value")),
    }
}

/// One top-level member: its key, where its key's `"` is, and its raw value.
pub(crate) struct Member<'a> {
    /// The key's bytes (top-level keys never hold escapes).
    pub(crate) key: &'a [u8],
    pub(crate) at: usize,
    pub(crate) value: &'a [u8],
}

/// Iterator over the top-level members of a stored body.
#[derive(Debug)]
pub(crate) struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Scanner {
            b,
            pos: 0,
            done: false,
        }
    }

    fn member(&mut self) -> Result<Option<Member<'a>>, BodyError> {
        let b = self.b;
        if self.pos == 0 {
            if b.first() != Some(&b'{') {
                return Err(malformed(0, "expected '{'"));
            }
            self.pos = 1;
            if b.get(1) == Some(&b'}') {
                return self.close(1).map(|()| None);
            }
        }
        let at = self.pos;
        if b.get(at) != Some(&b'"') {
            return Err(malformed(at, "expected a key"));
        }
        let end = find_quote(b, at + 1);
        match b.get(end) {
            Some(b'"') => {}
            Some(_) => return Err(malformed(end, "escaped top-level key")),
            None => return Err(malformed(b.len(), "unterminated key")),
        }
        let key = &b[at + 1..end];
        if b.get(end + 1) != Some(&b':') {
            return Err(malformed(end + 1, "expected ':'"));
        }
        let value_at = end + 2;
        let value_stop = value_end(b, value_at)?;
        match b.get(value_stop) {
            Some(b',') => self.pos = value_stop + 1,
            Some(b'}') => self.close(value_stop)?,
            _ => return Err(malformed(value_stop, "expected ',' or '}'")),
        }
        Ok(Some(Member {
            key,
            at,
            value: &b[value_at..value_stop],
        }))
    }

    /// The object closed at `at`: it must be the last byte.
    fn close(&mut self, at: usize) -> Result<(), BodyError> {
        self.done = true;
        if at + 1 != self.b.len() {
            return Err(malformed(at + 1, "data after the object"));
        }
        Ok(())
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Result<Member<'a>, BodyError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.member() {
            Ok(Some(m)) => Some(Ok(m)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Every top-level member of a stored body as (key, raw JSON value bytes), in order.
/// After an error the iterator ends.
pub fn top_level_members(body: &[u8]) -> impl Iterator<Item = Result<(&str, &[u8]), BodyError>> {
    // A body that is not UTF-8 gives its one error, then nothing ("{}" has no members).
    let (text, failure) = match utf8(body) {
        Ok(text) => (text, None),
        Err(e) => ("{}", Some(Err(e))),
    };
    let members = text_members(text).map(|m| m.map(|(key, value)| (key, value.as_bytes())));
    failure.into_iter().chain(members)
}

/// `body` as text. The whole body is checked at once (with SIMD): one call costs less
/// than checking each of its keys and strings on its own.
pub(crate) fn utf8(body: &[u8]) -> Result<&str, BodyError> {
    simdutf8::basic::from_utf8(body).map_err(|_| {
        let offset = std::str::from_utf8(body)
            .err()
            .map_or(0, |e| e.valid_up_to());
        malformed(offset, "not UTF-8")
    })
}

/// Every top-level member of a body as (key, raw JSON value), both borrowed from
/// `text`. After an error the iterator ends.
pub(crate) fn text_members(text: &str) -> impl Iterator<Item = Result<(&str, &str), BodyError>> {
    Scanner::new(text.as_bytes()).map(move |m| {
        let m = m?;
        // The key sits between the quotes at `at` and `at + 1 + len`, the value after
        // the `":` that follows: every bound is next to an ASCII byte, so `get` finds
        // character boundaries there.
        let key_at = m.at + 1;
        let value_at = key_at + m.key.len() + 2;
        let key = text.get(key_at..key_at + m.key.len());
        let value = text.get(value_at..value_at + m.value.len());
        key.zip(value)
            .ok_or_else(|| malformed(m.at, "member not on character boundaries"))
    })
}

/// The text of a string value of `len` ASCII bytes that all pass `ok`, or `BadField`.
fn ascii_field<'a>(
    value: &'a [u8],
    field: &'static str,
    expected: &'static str,
    len: std::ops::RangeInclusive<usize>,
    ok: impl Fn(u8) -> bool,
) -> Result<&'a str, BodyError> {
    let bad = BodyError::BadField { field, expected };
    let [b'"', inner @ .., b'"'] = value else {
        return Err(bad);
    };
    // No early exit: a branch-free pass over a few dozen bytes is quicker.
    if !len.contains(&inner.len()) || !inner.iter().fold(true, |all, &c| all & ok(c)) {
        return Err(bad);
    }
    std::str::from_utf8(inner).map_err(|_| bad)
}

fn is_lower_hex(c: u8) -> bool {
    c.is_ascii_digit() | (b'a'..=b'f').contains(&c)
}

fn set<T>(slot: &mut Option<T>, field: &'static str, value: T) -> Result<(), BodyError> {
    if slot.replace(value).is_some() {
        return Err(BodyError::Duplicate { field });
    }
    Ok(())
}

/// Finds and checks the five server-set members of a stored body.
pub fn server_fields(body: &[u8]) -> Result<StoredFields<'_>, BodyError> {
    let raw = raw_server_fields(body)?;
    let tenant_ok = |c: u8| c.is_ascii_alphanumeric() | (c == b'_') | (c == b'-');
    Ok(StoredFields {
        created_at: created_at_text(raw.created_at)?,
        id: uuid_text(raw.id)?,
        prev_hash: ascii_field(
            raw.prev_hash,
            "prev_hash",
            "64 lowercase hex digits",
            64..=64,
            is_lower_hex,
        )?,
        seq: seq_value(raw.seq)?,
        tenant_id: ascii_field(
            raw.tenant_id,
            "tenant_id",
            "a tenant name",
            1..=TENANT_CHARS_MAX,
            tenant_ok,
        )?,
    })
}

/// The five server-set members of a stored body as their raw JSON values (strings with
/// their quotes), each present once; their form is not checked. For a reader that
/// compares them with values of a known form (verification compares them with the
/// frame header's, written the way sealog writes them, so equal bytes are the check of
/// form too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawServerFields<'a> {
    pub(crate) created_at: &'a [u8],
    pub(crate) id: &'a [u8],
    pub(crate) prev_hash: &'a [u8],
    pub(crate) seq: &'a [u8],
    pub(crate) tenant_id: &'a [u8],
}

/// Finds the five server-set members of a stored body (see [`RawServerFields`]).
pub(crate) fn raw_server_fields(body: &[u8]) -> Result<RawServerFields<'_>, BodyError> {
    let (mut created_at, mut id, mut prev_hash, mut seq, mut tenant_id) =
        (None, None, None, None, None);
    for member in Scanner::new(body) {
        let Member { key, value, .. } = member?;
        // Length and first two bytes single out the five server keys: one compare skips
        // the other members (a `match` on the key alone becomes a jump table on its length,
        // which mispredicts on nearly every member).
        let tag = match key {
            [a, b, ..] => key.len() << 16 | usize::from(*a) << 8 | usize::from(*b),
            _ => 0,
        };
        const TAGS: [usize; 5] = [
            10 << 16 | (b'c' as usize) << 8 | b'r' as usize,
            2 << 16 | (b'i' as usize) << 8 | b'd' as usize,
            9 << 16 | (b'p' as usize) << 8 | b'r' as usize,
            3 << 16 | (b's' as usize) << 8 | b'e' as usize,
            9 << 16 | (b't' as usize) << 8 | b'e' as usize,
        ];
        if !TAGS.contains(&tag) {
            continue;
        }
        match key {
            b"created_at" => set(&mut created_at, "created_at", value)?,
            b"id" => set(&mut id, "id", value)?,
            b"prev_hash" => set(&mut prev_hash, "prev_hash", value)?,
            b"seq" => set(&mut seq, "seq", value)?,
            b"tenant_id" => set(&mut tenant_id, "tenant_id", value)?,
            _ => {}
        }
    }
    let missing = |field| BodyError::Missing { field };
    Ok(RawServerFields {
        created_at: created_at.ok_or(missing("created_at"))?,
        id: id.ok_or(missing("id"))?,
        prev_hash: prev_hash.ok_or(missing("prev_hash"))?,
        seq: seq.ok_or(missing("seq"))?,
        tenant_id: tenant_id.ok_or(missing("tenant_id"))?,
    })
}

fn created_at_text(value: &[u8]) -> Result<&str, BodyError> {
    let expected = "an RFC 3339 UTC time with 6 fractional digits";
    let ok = |c: u8| c.is_ascii_digit() | b"-:.TZ".contains(&c);
    let s = ascii_field(value, "created_at", expected, 27..=27, ok)?;
    if s.as_bytes()[26] != b'Z' || parse_rfc3339_us(s).is_err() {
        return Err(BodyError::BadField {
            field: "created_at",
            expected,
        });
    }
    Ok(s)
}

fn uuid_text(value: &[u8]) -> Result<&str, BodyError> {
    let expected = "a lowercase hyphenated UUID";
    let s = ascii_field(value, "id", expected, 36..=36, |c| {
        is_lower_hex(c) | (c == b'-')
    })?;
    if s.bytes()
        .enumerate()
        .any(|(i, c)| (c == b'-') != matches!(i, 8 | 13 | 18 | 23))
    {
        return Err(BodyError::BadField {
            field: "id",
            expected,
        });
    }
    Ok(s)
}

fn seq_value(value: &[u8]) -> Result<u64, BodyError> {
    let bad = BodyError::BadField {
        field: "seq",
        expected: "a positive safe integer",
    };
    if value.is_empty()
        || value.len() > 16
        || value[0] == b'0'
        || !value.iter().all(u8::is_ascii_digit)
    {
        return Err(bad);
    }
    let seq = value
        .iter()
        .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'));
    if seq > SAFE_INTEGER_MAX {
        return Err(bad);
    }
    Ok(seq)
}
