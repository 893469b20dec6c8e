//! The checks for one top-level field value: each writes the value's canonical form to
//! `out` or returns the problem.
// A FieldError is large, but it is the cold path and is moved once into the error list.
#![allow(clippy::result_large_err)]

use serde_json::json;

use super::error::{cut, plural, FieldError};
use super::fields::SEVERITIES;
use super::jcs::write_string;
use super::json::{Loc, Value};
use crate::limits::DECIMAL_CHARS_MAX;
use crate::time::{parse_rfc3339_us, write_rfc3339_us, RFC3339_US_BYTES};

const EVENT_TYPE_PATTERN: &str = "^[A-Za-z0-9_.:-]+$";
const HTTP_METHOD_PATTERN: &str = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const CURRENCY_PATTERN: &str = "^[A-Z0-9]{2,12}$";
const COUNTRY_CODE_PATTERN: &str = "^[A-Z]{2}$";
const AMOUNT_PATTERN: &str = r"^-?[0-9]+(\.[0-9]+)?$";
const RISK_SCORE_PATTERN: &str = r"^[0-9]+(\.[0-9]+)?$";
const SEVERITY_EXPECTED: &str = "'debug', 'info', 'low', 'medium', 'high' or 'critical'";

/// Whether `s` has more than `max` characters (Unicode scalar values).
fn over(s: &str, max: usize) -> bool {
    s.len() > max && s.chars().nth(max).is_some()
}

/// The value as a string, or the `string_type` error.
pub(crate) fn string<'v>(field: &str, v: &'v Value<'_>) -> Result<&'v str, FieldError> {
    match v {
        Value::String(s) => Ok(s),
        other => {
            Err(FieldError::at(field, "string_type", "Input should be a valid string").input(other))
        }
    }
}

pub(crate) fn too_long(loc: Vec<Loc>, s: &str, max: usize) -> FieldError {
    let msg = format!("String should have at most {}", plural(max, "character"));
    let mut err = FieldError::new(loc, "string_too_long", msg).ctx(json!({ "max_length": max }));
    err.input = serde_json::Value::String(cut(s));
    err
}

fn pattern(field: &str, s: &str, pattern: &'static str) -> FieldError {
    let mut err = FieldError::at(
        field,
        "string_pattern_mismatch",
        format!("String should match pattern '{pattern}'"),
    )
    .ctx(json!({ "pattern": pattern }));
    err.input = serde_json::Value::String(cut(s));
    err
}

/// A string of at most `max` characters.
pub(crate) fn text(
    field: &str,
    v: &Value<'_>,
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), FieldError> {
    let s = string(field, v)?;
    if over(s, max) {
        return Err(too_long(vec![Loc::Key(field.to_string())], s, max));
    }
    write_string(s, out);
    Ok(())
}

/// `event_type`; returns the byte range of its text in `out`.
pub(crate) fn event_type(
    field: &str,
    v: &Value<'_>,
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(usize, usize), FieldError> {
    let s = string(field, v)?;
    if s.is_empty() {
        return Err(FieldError::at(
            field,
            "string_too_short",
            "String should have at least 1 character",
        )
        .input(v)
        .ctx(json!({ "min_length": 1 })));
    }
    if over(s, max) {
        return Err(too_long(vec![Loc::Key(field.to_string())], s, max));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
    {
        return Err(pattern(field, s, EVENT_TYPE_PATTERN));
    }
    let start = out.len() + 1;
    write_string(s, out);
    Ok((start, start + s.len()))
}

/// `severity`: one of the six levels.
pub(crate) fn severity(field: &str, v: &Value<'_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    match v {
        Value::String(s) if SEVERITIES.contains(&s.as_ref()) => {
            write_string(s, out);
            Ok(())
        }
        other => Err(FieldError::at(
            field,
            "enum",
            format!("Input should be {SEVERITY_EXPECTED}"),
        )
        .input(other)
        .ctx(json!({ "expected": SEVERITY_EXPECTED }))),
    }
}

/// `ip_address`: anything `std::net::IpAddr` parses, stored as given.
pub(crate) fn ip(field: &str, v: &Value<'_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    let s = string(field, v)?;
    if s.len() > 64 || s.parse::<std::net::IpAddr>().is_err() {
        return Err(FieldError::at(
            field,
            "ip_any_address",
            "value is not a valid IPv4 or IPv6 address",
        )
        .input(v));
    }
    write_string(s, out);
    Ok(())
}

/// `http_method`: an RFC 9110 token (`1*tchar`) of at most `max` characters.
pub(crate) fn http_method(
    field: &str,
    v: &Value<'_>,
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), FieldError> {
    let s = string(field, v)?;
    if over(s, max) {
        return Err(too_long(vec![Loc::Key(field.to_string())], s, max));
    }
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if s.is_empty() || !s.bytes().all(tchar) {
        return Err(pattern(field, s, HTTP_METHOD_PATTERN));
    }
    write_string(s, out);
    Ok(())
}

/// `currency` (`[A-Z0-9]{2,12}`) or `country_code` (`[A-Z]{2}`).
pub(crate) fn code(
    field: &str,
    v: &Value<'_>,
    country: bool,
    out: &mut Vec<u8>,
) -> Result<(), FieldError> {
    let s = string(field, v)?;
    let ok = if country {
        s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
    } else {
        (2..=12).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    if !ok {
        return Err(pattern(
            field,
            s,
            if country {
                COUNTRY_CODE_PATTERN
            } else {
                CURRENCY_PATTERN
            },
        ));
    }
    write_string(s, out);
    Ok(())
}

/// `[0-9]+(\.[0-9]+)?`
fn plain_unsigned(s: &[u8]) -> bool {
    let int = s.iter().take_while(|b| b.is_ascii_digit()).count();
    match s.get(int) {
        None => int > 0,
        Some(b'.') => int > 0 && s.len() > int + 1 && s[int + 1..].iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// `amount` / `risk_score`: a JSON string or number literal of plain decimal form,
/// stored as a JSON string of exactly the characters given.
pub(crate) fn decimal(
    field: &str,
    v: &Value<'_>,
    signed: bool,
    out: &mut Vec<u8>,
) -> Result<(), FieldError> {
    let text: &str = match v {
        Value::String(s) => s,
        Value::Number(lit) => lit,
        other => {
            return Err(FieldError::at(
                field,
                "decimal_type",
                "Decimal input should be a string or a number",
            )
            .input(other));
        }
    };
    if over(text, DECIMAL_CHARS_MAX) {
        let msg = format!(
            "Decimal should have at most {}",
            plural(DECIMAL_CHARS_MAX, "character")
        );
        let mut err = too_long(vec![Loc::Key(field.to_string())], text, DECIMAL_CHARS_MAX);
        err.msg = msg;
        return Err(err);
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let pattern = if signed {
        AMOUNT_PATTERN
    } else {
        RISK_SCORE_PATTERN
    };
    if !plain_unsigned(digits.as_bytes()) {
        let msg = if matches!(v, Value::Number(_)) && text.contains(['e', 'E']) {
            "Input should be a plain decimal: an exponent is not allowed"
        } else {
            "Input should be a valid decimal"
        };
        return Err(FieldError::at(field, "decimal_parsing", msg)
            .input(v)
            .ctx(json!({ "pattern": pattern })));
    }
    if negative && !signed {
        if digits.bytes().all(|b| b == b'0' || b == b'.') {
            return Err(FieldError::at(
                field,
                "decimal_parsing",
                "Input should be a valid decimal: no sign is allowed",
            )
            .input(v)
            .ctx(json!({ "pattern": pattern })));
        }
        return Err(FieldError::at(
            field,
            "greater_than_equal",
            "Input should be greater than or equal to 0",
        )
        .input(v)
        .ctx(json!({ "ge": 0 })));
    }
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
    Ok(())
}

/// `occurred_at`: RFC 3339 in, `YYYY-MM-DDTHH:MM:SS.ffffffZ` out.
pub(crate) fn time(field: &str, v: &Value<'_>, out: &mut Vec<u8>) -> Result<(), FieldError> {
    let Value::String(s) = v else {
        return Err(FieldError::at(
            field,
            "datetime_type",
            "Input should be a valid datetime (an RFC 3339 string)",
        )
        .input(v));
    };
    match parse_rfc3339_us(s) {
        Ok(us) => {
            let mut ts = [0u8; RFC3339_US_BYTES];
            write_rfc3339_us(us, &mut ts);
            out.push(b'"');
            out.extend_from_slice(&ts);
            out.push(b'"');
            Ok(())
        }
        Err(e) => Err(FieldError::at(
            field,
            "datetime_parsing",
            format!("Input should be a valid datetime, {e}"),
        )
        .input(v)
        .ctx(json!({ "error": e.to_string() }))),
    }
}

/// An array of at most `items_max` strings of at most `chars_max` characters each.
pub(crate) fn list(
    field: &str,
    v: &Value<'_>,
    items_max: usize,
    chars_max: usize,
    out: &mut Vec<u8>,
    errors: &mut Vec<FieldError>,
) {
    let Value::Array(items) = v else {
        errors.push(FieldError::at(field, "list_type", "Input should be a valid list").input(v));
        return;
    };
    if items.len() > items_max {
        let msg = format!(
            "List should have at most {} after validation, not {}",
            plural(items_max, "item"),
            items.len()
        );
        errors.push(FieldError::at(field, "too_long", msg).input(v).ctx(json!({
            "field_type": "List",
            "max_length": items_max,
            "actual_length": items.len(),
        })));
        return;
    }
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        let loc = || vec![Loc::Key(field.to_string()), Loc::Index(i)];
        match item {
            Value::String(s) if over(s, chars_max) => errors.push(too_long(loc(), s, chars_max)),
            Value::String(s) => {
                if i > 0 {
                    out.push(b',');
                }
                write_string(s, out);
            }
            other => errors.push(
                FieldError::new(loc(), "string_type", "Input should be a valid string")
                    .input(other),
            ),
        }
    }
    out.push(b']');
}
