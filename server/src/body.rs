//! Reading request bodies (bounded in size and time) and the small JSON objects of the
//! admin endpoints, with FastAPI-shaped errors.

use axum::body::Body;
use axum::http::{header, HeaderMap};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};

use crate::error::{item, ApiError};
use crate::limits::BODY_READ_TIMEOUT;

/// Reads the whole body: 413 past `limit` bytes (at once when Content-Length says so),
/// 408 when it does not arrive within `BODY_READ_TIMEOUT`.
pub async fn read(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::TooLarge(format!(
            "request body is over the limit of {limit} bytes for this endpoint"
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let limited = http_body_util::Limited::new(body, limit);
    match tokio::time::timeout(BODY_READ_TIMEOUT, limited.collect()).await {
        Err(_) => Err(ApiError::Timeout(format!(
            "the request body did not arrive within {} s",
            BODY_READ_TIMEOUT.as_secs()
        ))),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large())
        }
        Ok(Err(e)) => Err(ApiError::BadRequest(format!(
            "the request body could not be read: {e}"
        ))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// A JSON object body with only the `allowed` keys.
pub fn object(bytes: &[u8], allowed: &[&str]) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::Validation(vec![item(
            vec!["body".into(), json!(e.column())],
            "json_invalid",
            format!("JSON decode error: {e}"),
            Value::Null,
            Some(json!({"error": e.to_string()})),
        )])
    })?;
    let Value::Object(map) = value else {
        return Err(ApiError::invalid(
            vec!["body".into()],
            "model_attributes_type",
            "Input should be a valid dictionary or object to extract fields from",
            value,
        ));
    };
    let extra: Vec<Value> = map
        .iter()
        .filter(|(k, _)| !allowed.contains(&k.as_str()))
        .map(|(k, v)| {
            item(
                vec!["body".into(), k.clone().into()],
                "extra_forbidden",
                "Extra inputs are not permitted",
                v.clone(),
                None,
            )
        })
        .collect();
    if !extra.is_empty() {
        return Err(ApiError::Validation(extra));
    }
    Ok(map)
}

/// A string member of at most `max_chars` characters; `None` when absent or null and
/// not `required`. Problems go to `errors`.
pub fn string(
    map: &Map<String, Value>,
    field: &str,
    max_chars: usize,
    required: bool,
    errors: &mut Vec<Value>,
) -> Option<String> {
    let loc = || vec![Value::from("body"), Value::from(field)];
    match map.get(field) {
        None | Some(Value::Null) if required => {
            errors.push(item(loc(), "missing", "Field required", Value::Null, None));
            None
        }
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() > max_chars => {
            errors.push(item(
                loc(),
                "string_too_long",
                format!("String should have at most {max_chars} characters"),
                Value::String(s.chars().take(256).collect()),
                Some(json!({ "max_length": max_chars })),
            ));
            None
        }
        Some(Value::String(s)) if required && s.is_empty() => {
            errors.push(item(
                loc(),
                "string_too_short",
                "String should have at least 1 character",
                Value::String(String::new()),
                Some(json!({ "min_length": 1 })),
            ));
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            errors.push(item(
                loc(),
                "string_type",
                "Input should be a valid string",
                other.clone(),
                None,
            ));
            None
        }
    }
}
