//! RFC 8785 (JSON Canonicalization Scheme) serialization of a [`Value`].
//!
//! - Object members are sorted by their keys' UTF-16 code units (§3.2.3), not by bytes.
//! - No whitespace. Strings escape only `"`, `\` and control characters below U+0020
//!   (`\b \t \n \f \r` short forms, otherwise `\u00xx` in lowercase hex); everything
//!   else, `/`, DEL and U+2028/U+2029 included, is written as literal UTF-8 (§3.2.2.2).
//! - Numbers follow §3.2.2.3: the literal is read as an IEEE 754 double (Rust's parse is
//!   correctly rounded) and written as ECMAScript's `Number.prototype.toString` does
//!   (`ryu_js`); `-0` becomes `0`. sealog adds two refusals: a literal whose double is
//!   not finite (`1e400`), and an integer literal (no `.`, no exponent) outside
//!   ±(2^53 − 1), which a double would silently round.
//!
//! Keys are unique by construction: the reader refuses duplicates.

use std::cmp::Ordering;
use std::ops::Range;

use super::json::{Loc, Value};
use super::scan::{find_special, has_special};
use crate::limits;

/// Largest integer a double holds exactly, together with all smaller ones: 2^53 − 1.
pub const SAFE_INTEGER_MAX: u64 = (1 << 53) - 1;

/// A value that has no canonical form, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct JcsError {
    /// Path from the serialized value to the offending one.
    pub path: Vec<Loc>,
    /// What is wrong.
    pub reason: NumberError,
}

/// Why a value cannot be canonicalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    /// An integer literal outside ±(2^53 − 1).
    #[error("integer outside ±(2^53 − 1) would be rounded; send it as a string")]
    IntegerTooBig {
        /// The literal as written.
        literal: String,
    },
    #[error("number {literal} is the integer {canonical}, outside ±(2^53 − 1), which other JSON implementations cannot read back exactly; send it as a string")]
    /// A float literal whose value is an integer beyond ±(2^53 − 1) below 1e21: its
    /// canonical form is a bare integer (`1e20` → `100000000000000000000`) that other
    /// implementations read back as an unsafe integer (Python's rfc8785 refuses it), so
    /// a third party could not recompute the hash.
    IntegerValued {
        /// The literal as written.
        literal: String,
        /// Its canonical form.
        canonical: String,
    },
    /// A literal whose double is ±Infinity.
    #[error("number {literal} is out of range for an IEEE 754 double")]
    NotFinite {
        /// The literal as written.
        literal: String,
    },
    /// A `Value::Number` whose text is not a JSON number (only hand-built values).
    #[error("{literal:?} is not a JSON number")]
    NotANumber {
        /// The text.
        literal: String,
    },
    /// Nesting deeper than [`limits::JSON_DEPTH_MAX`] (only hand-built values).
    #[error("nesting deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
}

impl NumberError {
    /// The pydantic-style error type for this problem.
    pub fn kind(&self) -> &'static str {
        match self {
            NumberError::IntegerTooBig { .. } | NumberError::IntegerValued { .. } => "int_too_big",
            NumberError::NotFinite { .. } => "finite_number",
            NumberError::NotANumber { .. } => "value_error",
            NumberError::TooDeep { .. } => "value_error",
        }
    }
}

/// Appends the JCS form of `value` to `out`. On error `out` holds a partial write.
pub fn write_value(value: &Value<'_>, out: &mut Vec<u8>) -> Result<(), JcsError> {
    write_at(value, out, 1).map_err(|mut e| {
        e.path.reverse();
        e
    })
}

/// The JCS form of `value` as a new vector.
pub fn to_vec(value: &Value<'_>) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::new();
    write_value(value, &mut out)?;
    Ok(out)
}

/// Every number in `value` that has no canonical form, in document order, with paths
/// (the slow, complete report behind a failed [`write_value`]).
pub fn number_errors(value: &Value<'_>) -> Vec<JcsError> {
    let mut found = Vec::new();
    let mut path = Vec::new();
    collect_errors(value, &mut path, &mut found);
    found
}

fn collect_errors(value: &Value<'_>, path: &mut Vec<Loc>, found: &mut Vec<JcsError>) {
    if path.len() >= limits::JSON_DEPTH_MAX {
        if matches!(value, Value::Array(_) | Value::Object(_)) {
            let reason = NumberError::TooDeep {
                max: limits::JSON_DEPTH_MAX,
            };
            found.push(JcsError {
                path: path.clone(),
                reason,
            });
        }
        return;
    }
    match value {
        Value::Number(lit) => {
            let mut canonical = Vec::new();
            let checked =
                write_number(lit, &mut canonical).and_then(|()| integer_valued(lit, &canonical));
            if let Err(reason) = checked {
                found.push(JcsError {
                    path: path.clone(),
                    reason,
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Loc::Index(i));
                collect_errors(item, path, found);
                path.pop();
            }
        }
        Value::Object(members) => {
            for (key, item) in members {
                path.push(Loc::Key(key.to_string()));
                collect_errors(item, path, found);
                path.pop();
            }
        }
        Value::Null | Value::Bool(_) | Value::String(_) => {}
    }
}

/// Writes `value` at nesting `depth` (1 = the outermost); the error path is built
/// innermost-first and reversed by [`write_value`].
fn write_at(value: &Value<'_>, out: &mut Vec<u8>, depth: usize) -> Result<(), JcsError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(lit) => write_number(lit, out).map_err(|reason| JcsError {
            path: Vec::new(),
            reason,
        })?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            check_depth(depth)?;
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_at(item, out, depth + 1).map_err(|mut e| {
                    e.path.push(Loc::Index(i));
                    e
                })?;
            }
            out.push(b']');
        }
        Value::Object(members) => {
            check_depth(depth)?;
            write_members(members, out, depth, |_, _| {})?;
        }
    }
    Ok(())
}

fn check_depth(depth: usize) -> Result<(), JcsError> {
    if depth > limits::JSON_DEPTH_MAX {
        let reason = NumberError::TooDeep {
            max: limits::JSON_DEPTH_MAX,
        };
        return Err(JcsError {
            path: Vec::new(),
            reason,
        });
    }
    Ok(())
}

type Member<'v, 'a> = &'v (std::borrow::Cow<'a, str>, Value<'a>);

/// Writes an object's members sorted by key; `seen(key, value_range)` is told where
/// each member's value landed in `out`, in canonical order.
fn write_members<'v, 'a: 'v>(
    members: &'v [(std::borrow::Cow<'a, str>, Value<'a>)],
    out: &mut Vec<u8>,
    depth: usize,
    mut seen: impl FnMut(&'v str, Range<usize>),
) -> Result<(), JcsError> {
    // Sort references on the stack for the usual small object; allocate for big ones.
    let mut small: [Option<Member<'v, 'a>>; 32] = [None; 32];
    let mut big: Vec<Option<Member<'v, 'a>>> = Vec::new();
    let order: &mut [Option<Member<'v, 'a>>] = if members.len() <= small.len() {
        &mut small[..members.len()]
    } else {
        big.resize(members.len(), None);
        &mut big[..]
    };
    for (slot, member) in order.iter_mut().zip(members) {
        *slot = Some(member);
    }
    order.sort_unstable_by(|a, b| match (a, b) {
        (Some(a), Some(b)) => cmp_utf16(&a.0, &b.0),
        _ => Ordering::Equal,
    });
    out.push(b'{');
    for (i, (key, item)) in order.iter().flatten().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(key, out);
        out.push(b':');
        let start = out.len();
        write_at(item, out, depth + 1).map_err(|mut e| {
            e.path.push(Loc::Key(key.to_string()));
            e
        })?;
        seen(key, start..out.len());
    }
    out.push(b'}');
    Ok(())
}

/// Writes the members of a top-level object like [`write_value`] and returns each
/// member's key and value byte range in `out`, in canonical order (for
/// `changed_fields`, which compares values as canonical bytes).
pub(crate) fn write_object_spans<'v, 'a: 'v>(
    members: &'v [(std::borrow::Cow<'a, str>, Value<'a>)],
    out: &mut Vec<u8>,
) -> Result<Vec<(&'v str, Range<usize>)>, JcsError> {
    let mut spans = Vec::with_capacity(members.len());
    write_members(members, out, 1, |key, range| spans.push((key, range))).map_err(|mut e| {
        e.path.reverse();
        e
    })?;
    Ok(spans)
}

/// Orders two strings by their UTF-16 code units, as RFC 8785 §3.2.3 sorts keys.
///
/// Byte order of UTF-8 equals code point order, which differs from UTF-16 order only
/// where a supplementary character (4-byte UTF-8, lead 0xF0..=0xF4, a surrogate pair
/// 0xD800.. in UTF-16) meets one of U+E000..=U+FFFF (lead 0xEE or 0xEF): there UTF-16
/// puts the supplementary character first.
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match a.iter().zip(b).position(|(x, y)| x != y) {
        None => a.len().cmp(&b.len()),
        Some(i) => {
            let (x, y) = (a[i], b[i]);
            if x >= 0xEE && y >= 0xEE && (x >= 0xF0) != (y >= 0xF0) {
                y.cmp(&x)
            } else {
                x.cmp(&y)
            }
        }
    }
}

/// Appends `s` as a JCS string literal (with its quotes).
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if !has_special(bytes) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    loop {
        let i = find_special(bytes, start);
        out.extend_from_slice(&bytes[start..i]);
        let Some(&b) = bytes.get(i) else { break };
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0A => out.extend_from_slice(b"\\n"),
            0x0C => out.extend_from_slice(b"\\f"),
            0x0D => out.extend_from_slice(b"\\r"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]),
        }
        start = i + 1;
    }
    out.push(b'"');
}

/// Appends the JCS form of the number literal `lit`.
pub fn write_number(lit: &str, out: &mut Vec<u8>) -> Result<(), NumberError> {
    let bytes = lit.as_bytes();
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        if digits.len() > 1 && digits[0] == b'0' {
            return Err(NumberError::NotANumber {
                literal: lit.to_string(),
            });
        }
        // 2^53 − 1 has 16 digits: 17 or more always exceed it (and could overflow u64).
        let too_big = digits.len() > 16
            || digits
                .iter()
                .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'))
                > SAFE_INTEGER_MAX;
        if too_big {
            return Err(NumberError::IntegerTooBig {
                literal: lit.to_string(),
            });
        }
        // A safe integer's literal is already canonical, except that -0 is 0.
        if digits.iter().all(|&d| d == b'0') {
            out.push(b'0');
        } else {
            out.extend_from_slice(bytes);
        }
        return Ok(());
    }
    if !is_json_number(bytes) {
        return Err(NumberError::NotANumber {
            literal: lit.to_string(),
        });
    }
    match lit.parse::<f64>() {
        Ok(f) if f.is_finite() => {
            let mut buf = ryu_js::Buffer::new();
            let canonical = buf.format_finite(f);
            integer_valued(lit, canonical.as_bytes())?;
            out.extend_from_slice(canonical.as_bytes());
            Ok(())
        }
        _ => Err(NumberError::NotFinite {
            literal: lit.to_string(),
        }),
    }
}

/// Refuses a canonical form that is a bare integer beyond ±(2^53 − 1) (see
/// [`NumberError::IntegerValued`]). Integer literals were refused before this.
fn integer_valued(lit: &str, canonical: &[u8]) -> Result<(), NumberError> {
    let digits = canonical.strip_prefix(b"-").unwrap_or(canonical);
    let value = || {
        digits
            .iter()
            .fold(0u64, |v, &d| v * 10 + u64::from(d - b'0'))
    };
    if digits.iter().all(u8::is_ascii_digit) && (digits.len() > 16 || value() > SAFE_INTEGER_MAX) {
        let canonical = String::from_utf8_lossy(canonical).into_owned();
        return Err(NumberError::IntegerValued {
            literal: lit.to_string(),
            canonical,
        });
    }
    Ok(())
}

/// RFC 8259's number grammar (Rust's `f64` parser alone would take `inf`, `.5`, `1.`).
pub(crate) fn is_json_number(b: &[u8]) -> bool {
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && b[int_start] == b'0') {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}
