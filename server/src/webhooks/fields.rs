//! Parsing and checking the webhook endpoints' inputs, with FastAPI-shaped 422 items
//! naming the field.

use axum::extract::Request;
use serde_json::{json, Map, Value};

use super::client::{Target, Unreachable};
use crate::app::AppState;
use crate::error::{item, ApiError};
use crate::limits::{WEBHOOK_EVENT_TYPES_MAX, WEBHOOK_RESOLVE_TIMEOUT};

const EVENT_TYPE_PATTERN: &str = "^[A-Za-z0-9_.:-]{1,128}$";

pub fn loc(field: &str) -> Vec<Value> {
    vec!["body".into(), field.into()]
}

/// Query parameters as (key, value), 422 for any key not in `allowed`.
pub fn query(req: &Request, allowed: &[&str]) -> Result<Vec<(String, String)>, ApiError> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for part in req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let dec = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let (k, v) = (dec(k), dec(v));
        if !allowed.contains(&k.as_str()) {
            let k: String = k.chars().take(64).collect();
            errors.push(item(
                vec!["query".into(), k.into()],
                "extra_forbidden",
                "Extra inputs are not permitted",
                Value::String(v.chars().take(256).collect()),
                None,
            ));
            continue;
        }
        out.push((k, v));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// An integer member within `range` (inclusive); `default` when absent or null.
pub fn int(
    map: &Map<String, Value>,
    field: &str,
    range: (u64, u64),
    default: u64,
    errors: &mut Vec<Value>,
) -> u64 {
    match map.get(field) {
        None | Some(Value::Null) => default,
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| (range.0..=range.1).contains(&v)) => {
            n.as_u64().unwrap_or(default)
        }
        Some(Value::Number(n)) if n.as_u64().is_some() || n.as_i64().is_some() => {
            let (kind, msg, ctx) = if n.as_i64().is_some_and(|v| v < range.0 as i64) {
                (
                    "greater_than_equal",
                    format!("Input should be greater than or equal to {}", range.0),
                    json!({"ge": range.0}),
                )
            } else {
                (
                    "less_than_equal",
                    format!("Input should be less than or equal to {}", range.1),
                    json!({"le": range.1}),
                )
            };
            errors.push(item(
                loc(field),
                kind,
                msg,
                Value::Number(n.clone()),
                Some(ctx),
            ));
            default
        }
        Some(other) => {
            errors.push(item(
                loc(field),
                "int_type",
                "Input should be a valid integer",
                other.clone(),
                None,
            ));
            default
        }
    }
}

/// `event_types`: null or a list of event types; an empty list means all (None).
pub fn event_types(map: &Map<String, Value>, errors: &mut Vec<Value>) -> Option<Vec<String>> {
    let items = match map.get("event_types") {
        None | Some(Value::Null) => return None,
        Some(Value::Array(a)) => a,
        Some(other) => {
            errors.push(item(
                loc("event_types"),
                "list_type",
                "Input should be a valid list",
                other.clone(),
                None,
            ));
            return None;
        }
    };
    if items.len() > WEBHOOK_EVENT_TYPES_MAX {
        errors.push(item(
            loc("event_types"),
            "too_long",
            format!("List should have at most {WEBHOOK_EVENT_TYPES_MAX} items"),
            Value::Null,
            Some(json!({"max_length": WEBHOOK_EVENT_TYPES_MAX})),
        ));
        return None;
    }
    let mut out = Vec::new();
    for (i, v) in items.iter().enumerate() {
        let at = vec!["body".into(), "event_types".into(), i.into()];
        match v {
            Value::String(s)
                if (1..=128).contains(&s.len())
                    && s.bytes()
                        .all(|c| c.is_ascii_alphanumeric() || b"_.:-".contains(&c)) =>
            {
                out.push(s.clone())
            }
            Value::String(s) => errors.push(item(
                at,
                "string_pattern_mismatch",
                format!("String should match pattern '{EVENT_TYPE_PATTERN}'"),
                Value::String(s.chars().take(256).collect()),
                Some(json!({"pattern": EVENT_TYPE_PATTERN})),
            )),
            other => errors.push(item(
                at,
                "string_type",
                "Input should be a valid string",
                other.clone(),
                None,
            )),
        }
    }
    out.sort();
    out.dedup();
    (!out.is_empty()).then_some(out)
}

/// Checks the URL's form and (with a timeout) that its host resolves to addresses a
/// webhook may reach.
pub async fn check_url(app: &AppState, url: &str) -> Result<(), ApiError> {
    let cfg = &app.config.webhooks;
    let bad = |msg: String| {
        ApiError::Validation(vec![item(
            loc("webhook_url"),
            "value_error",
            format!("Value error, {msg}"),
            Value::String(url.chars().take(256).collect()),
            None,
        )])
    };
    let target = Target::parse(url, cfg.allow_http).map_err(bad)?;
    match tokio::time::timeout(WEBHOOK_RESOLVE_TIMEOUT, target.resolve(&cfg.allow_cidrs)).await {
        Err(_) => Err(bad("resolving the host timed out".into())),
        Ok(Err(Unreachable::Refused(m) | Unreachable::Unresolved(m))) => Err(bad(m)),
        Ok(Ok(_)) => Ok(()),
    }
}
