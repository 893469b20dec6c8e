//! A strict, zero-copy JSON reader (RFC 8259, plus I-JSON's unique keys).
//!
//! Why not serde_json's `Value`: sealog must keep each number literal exactly as
//! written (decimals are stored digit for digit; integers beyond ±(2^53 − 1) in
//! free-form objects are refused, not rounded), reject duplicate keys (RFC 8785 needs
//! unique keys) and bound the nesting depth. serde_json can only keep literals with its
//! global `arbitrary_precision` feature, which would change it for every crate in the
//! build.
//!
//! The reader is iterative (an explicit stack), so no input can overflow the call
//! stack; it stops at the first container deeper than the limit. The whole input is
//! checked as UTF-8 once, and strings without escapes are borrowed from it.

use std::borrow::Cow;

use memchr::{memchr_iter, memrchr};

use crate::limits;

/// One parsed JSON value, borrowing from the input where it can.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number: the literal exactly as written (RFC 8259 grammar, already checked).
    Number(&'a str),
    /// A string, unescaped (borrowed when the input had no escapes).
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Value<'a>>),
    /// An object: members in input order, keys unique.
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl Value<'_> {
    /// The JSON type's name, for messages (`"object"`, `"string"`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }
}

/// One step of a path into a JSON value: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Loc {
    /// An object member.
    Key(String),
    /// An array element (0-based).
    Index(usize),
}

/// Input that is not strict JSON. Displays as `<reason> at line L column C`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at line {line} column {column}")]
pub struct JsonError {
    /// Byte offset of the problem in the input.
    pub offset: usize,
    /// 1-based line (lines end at `\n`).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub reason: JsonErrorReason,
}

impl JsonError {
    /// The API's error `type` for malformed JSON.
    pub fn kind(&self) -> &'static str {
        "json_invalid"
    }

    pub(crate) fn at(input: &[u8], offset: usize, reason: JsonErrorReason) -> Self {
        let offset = offset.min(input.len());
        let before = &input[..offset];
        let line = memchr_iter(b'\n', before).count() + 1;
        let line_start = memrchr(b'\n', before).map_or(0, |p| p + 1);
        let column = before[line_start..]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count()
            + 1;
        JsonError {
            offset,
            line,
            column,
            reason,
        }
    }
}

/// What made the input invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonErrorReason {
    /// The input ended too early.
    #[error("unexpected end of input: {expected}")]
    Eof {
        /// What the grammar needed next.
        expected: &'static str,
    },
    /// A byte the grammar does not allow here.
    #[error("{expected}")]
    Expected {
        /// What the grammar needed (`expected ',' or '}' after object member`).
        expected: &'static str,
    },
    /// The bytes are not UTF-8.
    #[error("invalid UTF-8")]
    Utf8,
    /// A raw control character inside a string.
    #[error("control character U+{byte:04X} must be escaped inside a string")]
    ControlCharacter {
        /// The byte (< 0x20).
        byte: u8,
    },
    /// A backslash escape RFC 8259 does not define.
    #[error("invalid escape sequence in string")]
    Escape,
    /// A `\uXXXX` surrogate without its pair: not a Unicode scalar value.
    #[error("lone surrogate \\u{code:04x} in string (not a Unicode scalar value)")]
    LoneSurrogate {
        /// The surrogate code unit.
        code: u16,
    },
    /// `01`, `-00`: RFC 8259 forbids leading zeros.
    #[error("leading zeros are not allowed in numbers")]
    LeadingZero,
    /// The same key twice in one object (I-JSON, RFC 8785).
    #[error("duplicate key {key:?} in object")]
    DuplicateKey {
        /// The repeated key.
        key: String,
    },
    /// Arrays and objects nested deeper than allowed.
    #[error("nesting deeper than {max} levels of arrays and objects")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// Something other than whitespace after the value.
    #[error("unexpected data after the JSON value")]
    Trailing,
}

/// Parses one JSON document whose top-level value counts as depth 1 and may nest
/// [`limits::JSON_DEPTH_MAX`] levels of arrays and objects.
pub fn parse(input: &[u8]) -> Result<Value<'_>, JsonError> {
    parse_with_depth_max(input, limits::JSON_DEPTH_MAX)
}

/// [`parse`] with another nesting limit (a batch array passes
/// `JSON_DEPTH_MAX + 1` so that each event inside it keeps the single-event limit).
/// Parsing never recurses, but dropping a [`Value`] does: keep `depth_max` small.
pub fn parse_with_depth_max(input: &[u8], depth_max: usize) -> Result<Value<'_>, JsonError> {
    let text = simdutf8::compat::from_utf8(input)
        .map_err(|e| JsonError::at(input, e.valid_up_to(), JsonErrorReason::Utf8))?;
    super::reader::document(text, depth_max).map_err(|e| *e)
}

impl Value<'_> {
    /// This value as a `serde_json::Value`: numbers that fit `i64`/`u64` or a finite
    /// `f64` become numbers (floats may round), anything else (an integer too large,
    /// `1e400`) becomes the string of its literal.
    pub fn to_serde(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(lit) => number_to_serde(lit),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Array(items) => items.iter().map(Value::to_serde).collect(),
            Value::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_serde()))
                    .collect(),
            ),
        }
    }
}

fn number_to_serde(lit: &str) -> serde_json::Value {
    if let Ok(i) = lit.parse::<i64>() {
        return i.into();
    }
    if let Ok(u) = lit.parse::<u64>() {
        return u.into();
    }
    let integer = !lit.contains(['.', 'e', 'E']);
    match lit
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
    {
        Some(n) if !integer => serde_json::Value::Number(n),
        _ => serde_json::Value::String(lit.to_string()),
    }
}
