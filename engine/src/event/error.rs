//! One validation problem, shaped like a FastAPI/pydantic v2 422 item.

use serde_json::json;

use super::jcs::{JcsError, NumberError};
use super::json::{JsonError, Loc, Value};
use crate::limits;

/// One problem with a submitted event. The server prefixes `loc` with `"body"` (and the
/// batch index) and sends `{"loc","msg","type":kind,"input","ctx"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Where, relative to the event: `["ip_address"]`, `["tags", 3]`, `[]` for the whole.
    pub loc: Vec<Loc>,
    /// A pydantic-style sentence: `String should have at most 256 characters`.
    pub msg: String,
    /// The pydantic v2 error type (`string_too_long`, `missing`, …).
    pub kind: &'static str,
    /// The offending value (strings cut at [`limits::ERROR_INPUT_CHARS_MAX`] characters
    /// with `…`); `null` for `missing` and `json_invalid`.
    pub input: serde_json::Value,
    /// The bound or pattern that was not met, when there is one.
    pub ctx: Option<serde_json::Value>,
}

impl FieldError {
    pub(crate) fn new(loc: Vec<Loc>, kind: &'static str, msg: impl Into<String>) -> Self {
        FieldError {
            loc,
            msg: msg.into(),
            kind,
            input: serde_json::Value::Null,
            ctx: None,
        }
    }

    /// An error on the top-level field `field`.
    pub(crate) fn at(field: &str, kind: &'static str, msg: impl Into<String>) -> Self {
        Self::new(vec![Loc::Key(field.to_string())], kind, msg)
    }

    pub(crate) fn input(mut self, value: &Value<'_>) -> Self {
        self.input = input_of(value);
        self
    }

    pub(crate) fn ctx(mut self, ctx: serde_json::Value) -> Self {
        self.ctx = Some(ctx);
        self
    }

    /// The 422 item (`type` for `kind`), with `loc` as given (no `"body"` prefix).
    pub fn to_json(&self) -> serde_json::Value {
        let loc: Vec<serde_json::Value> = self
            .loc
            .iter()
            .map(|l| match l {
                Loc::Key(k) => json!(k),
                Loc::Index(i) => json!(i),
            })
            .collect();
        let mut item = json!({"loc": loc, "msg": self.msg, "type": self.kind, "input": self.input});
        if let (Some(ctx), Some(map)) = (&self.ctx, item.as_object_mut()) {
            map.insert("ctx".to_string(), ctx.clone());
        }
        item
    }

    /// The `json_invalid` item for input that is not JSON (`loc` empty; `ctx` carries
    /// the reader's message and the byte offset, line and column).
    pub fn from_json_error(e: &JsonError) -> Self {
        Self::new(Vec::new(), e.kind(), format!("Invalid JSON: {e}")).ctx(json!({
            "error": e.to_string(),
            "offset": e.offset,
            "line": e.line,
            "column": e.column,
        }))
    }

    /// The item for a free-form value's number that has no canonical form; `field` and
    /// the error's path make the `loc`.
    pub(crate) fn from_number(field: &str, e: &JcsError) -> Self {
        let mut loc = vec![Loc::Key(field.to_string())];
        loc.extend(e.path.iter().cloned());
        let (msg, input) = match &e.reason {
            NumberError::IntegerTooBig { literal } | NumberError::IntegerValued { literal, .. } => {
                (e.reason.to_string(), literal)
            }
            NumberError::NotFinite { literal } => (
                format!("Input should be a finite number: {literal} is out of range for a double"),
                literal,
            ),
            NumberError::NotANumber { literal } => (format!("Value error, {}", e.reason), literal),
            NumberError::TooDeep { .. } => {
                return Self::new(loc, e.reason.kind(), format!("Value error, {}", e.reason));
            }
        };
        let mut err = Self::new(loc, e.reason.kind(), msg);
        err.input = Value::Number(input).to_serde();
        if err.kind == "int_too_big" {
            // The bound: the integers a double holds exactly (RFC 8785's number rule).
            let max = super::jcs::SAFE_INTEGER_MAX;
            err.ctx = Some(json!({"ge": -(max as i64), "le": max}));
        }
        err
    }
}

/// `value` for an error's `input`, long strings (and keys) cut with `…`.
pub(crate) fn input_of(value: &Value<'_>) -> serde_json::Value {
    match value {
        Value::String(s) => serde_json::Value::String(cut(s)),
        Value::Array(items) => items.iter().map(input_of).collect(),
        Value::Object(members) => {
            serde_json::Value::Object(members.iter().map(|(k, v)| (cut(k), input_of(v))).collect())
        }
        other => other.to_serde(),
    }
}

/// `s` cut to [`limits::ERROR_INPUT_CHARS_MAX`] characters plus `…` when longer.
pub(crate) fn cut(s: &str) -> String {
    match s.char_indices().nth(limits::ERROR_INPUT_CHARS_MAX) {
        None => s.to_string(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}

/// `1 character`, `256 characters`: pydantic's pluralization.
pub(crate) fn plural(n: usize, unit: &str) -> String {
    if n == 1 {
        format!("{n} {unit}")
    } else {
        format!("{n} {unit}s")
    }
}
