//! What the secondary index needs from a stored body, read without trusting it.

use std::borrow::Cow;

use crate::event::json::{self, Value};
use crate::event::{top_level_members, BodyError};

/// The event type of a resolution (see the resolution overlay).
pub const RESOLUTION_EVENT_TYPE: &str = "audit.resolution";

/// The searchable fields of one stored event, borrowed from its body where the JSON
/// string had no escapes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexedFields<'a> {
    /// `user_id`.
    pub user_id: Option<Cow<'a, str>>,
    /// `event_type` (always present in a valid body).
    pub event_type: Option<Cow<'a, str>>,
    /// `severity`.
    pub severity: Option<Cow<'a, str>>,
    /// `compliance_status`.
    pub compliance_status: Option<Cow<'a, str>>,
    /// `table_name`.
    pub table_name: Option<Cow<'a, str>>,
    /// `record_id`.
    pub record_id: Option<Cow<'a, str>>,
    /// `symbol`.
    pub symbol: Option<Cow<'a, str>>,
    /// `action`.
    pub action: Option<Cow<'a, str>>,
    /// `result`.
    pub result: Option<Cow<'a, str>>,
    /// `tags`.
    pub tags: Vec<Cow<'a, str>>,
    /// `risk_score`, the decimal's digits.
    pub risk_score: Option<Cow<'a, str>>,
    /// `event_description`.
    pub event_description: Option<Cow<'a, str>>,
    /// `error_message`.
    pub error_message: Option<Cow<'a, str>>,
    /// `new_values`, raw JSON (read for resolution events).
    pub new_values: Option<&'a [u8]>,
}

impl<'a> IndexedFields<'a> {
    /// Reads the fields from a canonical body.
    pub fn extract(body: &'a [u8]) -> Result<IndexedFields<'a>, BodyError> {
        let mut f = IndexedFields::default();
        for member in top_level_members(body) {
            let (key, raw) = member?;
            let slot = match key {
                "user_id" => &mut f.user_id,
                "event_type" => &mut f.event_type,
                "severity" => &mut f.severity,
                "compliance_status" => &mut f.compliance_status,
                "table_name" => &mut f.table_name,
                "record_id" => &mut f.record_id,
                "symbol" => &mut f.symbol,
                "action" => &mut f.action,
                "result" => &mut f.result,
                "risk_score" => &mut f.risk_score,
                "event_description" => &mut f.event_description,
                "error_message" => &mut f.error_message,
                "tags" => {
                    f.tags = string_array(raw).ok_or(BodyError::BadField {
                        field: "tags",
                        expected: "an array of strings",
                    })?;
                    continue;
                }
                "new_values" => {
                    f.new_values = Some(raw);
                    continue;
                }
                _ => continue,
            };
            *slot = Some(string(raw).ok_or(BodyError::BadField {
                field: "a searchable field",
                expected: "a string",
            })?);
        }
        Ok(f)
    }

    /// Whether this is a resolution event.
    pub fn is_resolution(&self) -> bool {
        self.event_type.as_deref() == Some(RESOLUTION_EVENT_TYPE)
    }
}

/// A JSON string value: borrowed when it has no escapes, else unescaped.
pub fn string(raw: &[u8]) -> Option<Cow<'_, str>> {
    match raw {
        [b'"', inner @ .., b'"'] if !inner.contains(&b'\\') => {
            simdutf8::basic::from_utf8(inner).ok().map(Cow::Borrowed)
        }
        _ => match json::parse(raw).ok()? {
            Value::String(s) => Some(Cow::Owned(s.into_owned())),
            _ => None,
        },
    }
}

fn string_array(raw: &[u8]) -> Option<Vec<Cow<'_, str>>> {
    match json::parse(raw).ok()? {
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}
