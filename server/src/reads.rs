//! Reads: the filtered list (offset or cursor paging, exact total), one event by id, and
//! summaries. Query strings are parsed strictly: an unknown or repeated parameter is a
//! 422, never silently ignored (a typo must not widen an auditor's query).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use sealog_engine::event::{write_returned, Overlay};
use sealog_engine::search::{cursor_after, Cursor, Filter, Order, Paging, Query};
use sealog_engine::time::{parse_date_or_datetime, DateOrTime};
use sealog_engine::{StoredEvent, TenantId};
use serde_json::{json, Value};

use crate::app::{AppState, Caller, Need};
use crate::error::{item, ApiError};
use crate::limits::{
    QUERY_LIMIT_DEFAULT, QUERY_LIMIT_MAX, QUERY_OFFSET_MAX, QUERY_TAGS_MAX, QUERY_VALUE_CHARS_MAX,
    QUERY_WORDS_MAX,
};

const US_PER_DAY: i64 = 86_400_000_000;
const SEVERITIES: [&str; 6] = ["debug", "info", "low", "medium", "high", "critical"];
pub(crate) const FILTER_PARAMS: [&str; 16] = [
    "user_id",
    "event_type",
    "severity",
    "compliance_status",
    "table_name",
    "record_id",
    "symbol",
    "action",
    "result",
    "tag",
    "is_resolved",
    "min_risk_score",
    "start_date",
    "end_date",
    "q",
    "tenant",
];
const PAGE_PARAMS: [&str; 4] = ["limit", "offset", "cursor", "sort_order"];

/// `GET /api/audit-logs`.
pub async fn list(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Read)?;
    let (params, mut errors) = Params::parse(req.uri().query(), true);
    let (filter, more) = params.filter(tenant);
    errors.extend(more);
    let order = match params.one("sort_order") {
        None | Some("desc") => Order::Desc,
        Some("asc") => Order::Asc,
        Some(other) => {
            errors.push(enum_error("sort_order", other, "'asc' or 'desc'"));
            Order::Desc
        }
    };
    let limit = params
        .int("limit", 1, QUERY_LIMIT_MAX as u64, &mut errors)
        .unwrap_or(QUERY_LIMIT_DEFAULT as u64) as usize;
    let offset = params.int("offset", 0, QUERY_OFFSET_MAX, &mut errors);
    let paging = match (params.one("cursor"), offset) {
        (Some(_), Some(_)) => {
            errors.push(item(
                vec!["query".into(), "cursor".into()],
                "value_error",
                "Value error, cursor and offset cannot be combined: a cursor already says where the page starts",
                Value::Null,
                None,
            ));
            Paging::Offset(0)
        }
        (Some(c), None) => match Cursor::decode(c, &filter, order) {
            Ok(c) => Paging::After(c),
            Err(e) => {
                errors.push(item(
                    vec!["query".into(), "cursor".into()],
                    "value_error",
                    format!("Value error, {e}"),
                    Value::String(cut(c)),
                    None,
                ));
                Paging::Offset(0)
            }
        },
        (None, o) => Paging::Offset(o.unwrap_or(0)),
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let offset_out = match &paging {
        Paging::Offset(o) => *o,
        Paging::After(_) => 0,
    };
    let query = Query {
        filter: filter.clone(),
        order,
        paging,
        limit,
    };
    let search = app.search.clone();
    let page = tokio::task::spawn_blocking(move || search.query(&query))
        .await
        .map_err(|e| ApiError::Internal(format!("query task failed: {e}")))??;
    let mut out = Vec::with_capacity(256 + page.hits.len() * 1200);
    out.extend_from_slice(b"{\"audit_logs\":[");
    for (i, hit) in page.hits.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let overlay = hit.resolution.as_ref().map(|r| r.overlay());
        returned(&hit.event, overlay.as_ref(), &mut out)?;
    }
    // A non-empty page always says where the next one starts, even when nothing follows
    // yet: an ascending reader keeps that cursor to pick up events stored later.
    let next_cursor = page.next_cursor.or_else(|| {
        page.hits.last().map(|h| {
            cursor_after(
                &filter,
                order,
                h.event.lsn,
                h.event.created_at_us,
                h.event.seq,
            )
        })
    });
    let tail = json!({
        "total": page.total,
        "limit": limit,
        "offset": offset_out,
        "next_cursor": next_cursor.as_ref().map(Cursor::encode),
        "has_more": page.has_more,
    });
    out.extend_from_slice(b"],");
    let tail = serde_json::to_vec(&tail).map_err(|e| ApiError::Internal(e.to_string()))?;
    out.extend_from_slice(&tail[1..]);
    Ok(json_bytes(StatusCode::OK, out))
}

/// `GET /api/audit-logs/summary`.
pub async fn summary(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Read)?;
    let (params, mut errors) = Params::parse(req.uri().query(), false);
    let (filter, more) = params.filter(tenant);
    errors.extend(more);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let search = app.search.clone();
    let s = tokio::task::spawn_blocking(move || search.summary(&filter))
        .await
        .map_err(|e| ApiError::Internal(format!("summary task failed: {e}")))??;
    // Objects keep the order the engine gives (most frequent first).
    let mut out = format!("{{\"total_logs\":{}", s.total).into_bytes();
    for (name, groups) in [
        "by_table",
        "by_user",
        "by_action",
        "by_event_type",
        "by_severity",
    ]
    .iter()
    .zip(&s.groups)
    {
        out.extend_from_slice(format!(",\"{name}\":{{").as_bytes());
        for (i, (value, n)) in groups.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(
                &serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.to_string()))?,
            );
            out.extend_from_slice(format!(":{n}").as_bytes());
        }
        out.push(b'}');
    }
    out.push(b'}');
    Ok(json_bytes(StatusCode::OK, out))
}

/// `GET /api/audit-logs/{id}`.
pub async fn get_one(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Read)?;
    let id = parse_id(req.uri().path().trim_start_matches("/api/audit-logs/"))?;
    let ev = find(&app, &tenant, id).await?;
    let search = app.search.clone();
    let (t, lsn) = (tenant.clone(), ev.lsn);
    let resolution = tokio::task::spawn_blocking(move || search.resolution(&t, lsn))
        .await
        .map_err(|e| ApiError::Internal(format!("read task failed: {e}")))??;
    let overlay = resolution.map(|r| r.overlay());
    let mut out = Vec::with_capacity(ev.body().len() + 256);
    returned(&ev, overlay.as_ref(), &mut out)?;
    Ok(json_bytes(StatusCode::OK, out))
}

/// The tenant's event with this id (hash-checked), or 404.
pub async fn find(
    app: &AppState,
    tenant: &TenantId,
    id: uuid::Uuid,
) -> Result<StoredEvent, ApiError> {
    let engine = app.engine.clone();
    let ev = tokio::task::spawn_blocking(move || engine.get_by_id(&id))
        .await
        .map_err(|e| ApiError::Internal(format!("read task failed: {e}")))??;
    match ev {
        Some(ev) if ev.tenant() == tenant.as_str() => Ok(ev),
        _ => Err(ApiError::NotFound(format!("audit log {id} not found"))),
    }
}

/// A path id, or 422 on `["path","id"]`.
pub fn parse_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::try_parse(raw).map_err(|e| {
        ApiError::Validation(vec![item(
            vec!["path".into(), "id".into()],
            "uuid_parsing",
            format!("Input should be a valid UUID, {e}"),
            Value::String(cut(raw)),
            Some(json!({"error": e.to_string()})),
        )])
    })
}

pub(crate) fn returned(
    ev: &StoredEvent,
    overlay: Option<&Overlay>,
    out: &mut Vec<u8>,
) -> Result<(), ApiError> {
    write_returned(ev.body(), &ev.hash, overlay, out).map_err(|e| {
        ApiError::Internal(format!(
            "stored event {} (lsn {}, segment {}, byte {}) is damaged: {e}",
            ev.id, ev.lsn.0, ev.segment.0, ev.offset
        ))
    })
}

pub(crate) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

pub(crate) fn cut(s: &str) -> String {
    s.chars().take(256).collect()
}

pub(crate) fn enum_error(field: &str, input: &str, expected: &str) -> Value {
    item(
        vec!["query".into(), field.into()],
        "enum",
        format!("Input should be {expected}"),
        Value::String(cut(input)),
        Some(json!({"expected": expected})),
    )
}

/// A parsed query string.
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parameters given as name/value pairs (e.g. from a JSON body).
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        Params { pairs }
    }

    /// The parameters, and the problems with their names and sizes.
    fn parse(query: Option<&str>, paging: bool) -> (Params, Vec<Value>) {
        Params::parse_known(query, |k| {
            FILTER_PARAMS.contains(&k) || (paging && PAGE_PARAMS.contains(&k))
        })
    }

    /// The parameters, each of which must be `known`, and the problems with them.
    pub(crate) fn parse_known(
        query: Option<&str>,
        known: impl Fn(&str) -> bool,
    ) -> (Params, Vec<Value>) {
        let mut errors = Vec::new();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            match (decode(k), decode(v)) {
                (Ok(k), Ok(v)) => pairs.push((k, v)),
                (k, _) => errors.push(item(
                    vec!["query".into(), k.unwrap_or_else(|raw| raw).into()],
                    "string_unicode",
                    "Input should be a valid string, unable to parse raw data as a unicode string",
                    Value::String(cut(part)),
                    None,
                )),
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for (k, v) in &pairs {
            if !known(k) {
                errors.push(item(
                    vec!["query".into(), cut(k).into()],
                    "extra_forbidden",
                    "Extra inputs are not permitted",
                    Value::String(cut(v)),
                    None,
                ));
            } else if k != "tag" && seen.contains(&k.as_str()) {
                errors.push(item(
                    vec!["query".into(), k.clone().into()],
                    "value_error",
                    format!("Value error, {k} may be given only once"),
                    Value::String(cut(v)),
                    None,
                ));
            } else if v.chars().count() > QUERY_VALUE_CHARS_MAX {
                errors.push(item(
                    vec!["query".into(), k.clone().into()],
                    "string_too_long",
                    format!("String should have at most {QUERY_VALUE_CHARS_MAX} characters"),
                    Value::String(cut(v)),
                    Some(json!({"max_length": QUERY_VALUE_CHARS_MAX})),
                ));
            }
            seen.push(k);
        }
        (Params { pairs }, errors)
    }

    /// Every parameter as given.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    pub(crate) fn one(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn int(
        &self,
        key: &str,
        min: u64,
        max: u64,
        errors: &mut Vec<Value>,
    ) -> Option<u64> {
        let raw = self.one(key)?;
        let loc = vec![Value::from("query"), Value::from(key)];
        match raw.parse::<u64>() {
            Ok(n) if n < min => errors.push(item(
                loc,
                "greater_than_equal",
                format!("Input should be greater than or equal to {min}"),
                raw.into(),
                Some(json!({"ge": min})),
            )),
            Ok(n) if n > max => errors.push(item(
                loc,
                "less_than_equal",
                format!("Input should be less than or equal to {max}"),
                raw.into(),
                Some(json!({"le": max})),
            )),
            Ok(n) => return Some(n),
            Err(_)
                if raw.starts_with('-')
                    && raw[1..].bytes().all(|b| b.is_ascii_digit())
                    && raw.len() > 1 =>
            {
                errors.push(item(
                    loc,
                    "greater_than_equal",
                    format!("Input should be greater than or equal to {min}"),
                    raw.into(),
                    Some(json!({"ge": min})),
                ))
            }
            Err(_) => errors.push(item(
                loc,
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
                Value::String(cut(raw)),
                None,
            )),
        }
        None
    }

    /// The filter for `tenant`, and every problem with the filter parameters.
    pub(crate) fn filter(&self, tenant: TenantId) -> (Filter, Vec<Value>) {
        let mut errors = Vec::new();
        let mut f = Filter::tenant(tenant.clone());
        let text = |k: &str| self.one(k).map(str::to_owned);
        f.user_id = text("user_id");
        f.event_type = text("event_type");
        f.compliance_status = text("compliance_status");
        f.table_name = text("table_name");
        f.record_id = text("record_id");
        f.symbol = text("symbol");
        f.action = text("action");
        f.result = text("result");
        if let Some(t) = self.one("tenant") {
            // Accepted for compatibility: it must name the tenant the key acts for.
            if t != tenant.as_str() {
                errors.push(item(
                    vec!["query".into(), "tenant".into()],
                    "value_error",
                    format!("Value error, tenant {t:?} is not the tenant this request acts for ({:?}); pick a tenant with the X-Tenant-Id header", tenant.as_str()),
                    Value::String(cut(t)),
                    None,
                ));
            }
        }
        if let Some(s) = self.one("severity") {
            if SEVERITIES.contains(&s) {
                f.severity = Some(s.to_owned());
            } else {
                errors.push(enum_error(
                    "severity",
                    s,
                    "'debug', 'info', 'low', 'medium', 'high' or 'critical'",
                ));
            }
        }
        f.tags = self
            .pairs
            .iter()
            .filter(|(k, _)| k == "tag")
            .map(|(_, v)| v.clone())
            .collect();
        if f.tags.len() > QUERY_TAGS_MAX {
            errors.push(item(
                vec!["query".into(), "tag".into()],
                "too_long",
                format!("List should have at most {QUERY_TAGS_MAX} items after validation, not {}", f.tags.len()),
                Value::Null,
                Some(json!({"field_type": "List", "max_length": QUERY_TAGS_MAX, "actual_length": f.tags.len()})),
            ));
        }
        match self.one("is_resolved") {
            None => {}
            Some("true" | "True" | "1" | "yes" | "on") => f.is_resolved = Some(true),
            Some("false" | "False" | "0" | "no" | "off") => f.is_resolved = Some(false),
            Some(other) => errors.push(item(
                vec!["query".into(), "is_resolved".into()],
                "bool_parsing",
                "Input should be a valid boolean, unable to interpret input",
                Value::String(cut(other)),
                None,
            )),
        }
        if let Some(r) = self.one("min_risk_score") {
            if is_decimal(r) {
                f.min_risk_score = Some(r.to_owned());
            } else {
                errors.push(item(
                    vec!["query".into(), "min_risk_score".into()],
                    "string_pattern_mismatch",
                    "String should match pattern '^[0-9]+(\\.[0-9]+)?$'",
                    Value::String(cut(r)),
                    Some(json!({"pattern": "^[0-9]+(\\.[0-9]+)?$"})),
                ));
            }
        }
        (f.start_us, f.end_us) = self.time_range("query", &mut errors);
        if let Some(q) = self.one("q") {
            // Every word, even one too long to be indexed (it then matches nothing, as
            // documented), never silently dropped.
            f.q = q
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect();
            if f.q.is_empty() {
                errors.push(item(
                    vec!["query".into(), "q".into()],
                    "value_error",
                    "Value error, q has no word to search for (words are runs of letters and digits)",
                    Value::String(cut(q)),
                    None,
                ));
            }
            if f.q.len() > QUERY_WORDS_MAX {
                errors.push(item(
                    vec!["query".into(), "q".into()],
                    "value_error",
                    format!(
                        "Value error, q has {} words; at most {QUERY_WORDS_MAX} are allowed",
                        f.q.len()
                    ),
                    Value::String(cut(q)),
                    None,
                ));
            }
        }
        (f, errors)
    }

    /// `start_date` (inclusive) and `end_date` (a date-time is exclusive, a date-only
    /// value includes that whole day) as µs, with every problem.
    pub(crate) fn time_range(
        &self,
        root: &str,
        errors: &mut Vec<Value>,
    ) -> (Option<i64>, Option<i64>) {
        let date = |key: &str, errors: &mut Vec<Value>| -> Option<DateOrTime> {
            let raw = self.one(key)?;
            match parse_date_or_datetime(raw) {
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(item(
                            vec![root.into(), key.into()],
                            "datetime_from_date_parsing",
                            format!("Input should be a valid date (YYYY-MM-DD) or RFC 3339 date-time with a time zone: {e}"),
                            Value::String(cut(raw)),
                            Some(json!({"error": e.to_string()})),
                        ));
                    None
                }
            }
        };
        let start = date("start_date", errors).map(|d| match d {
            DateOrTime::Date(us) | DateOrTime::DateTime(us) => us,
        });
        let end = date("end_date", errors).map(|d| match d {
            // A date-only end includes that whole day.
            DateOrTime::Date(us) => us.saturating_add(US_PER_DAY),
            DateOrTime::DateTime(us) => us,
        });
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                errors.push(item(
                    vec![root.into(), "end_date".into()],
                    "value_error",
                    "Value error, end_date is before start_date",
                    Value::String(self.one("end_date").map(cut).unwrap_or_default()),
                    None,
                ));
            }
        }
        (start, end)
    }
}

/// A query-string component: `+` is a space, `%XX` a byte, and the result must be
/// UTF-8 (else the raw text comes back as the error).
fn decode(raw: &str) -> Result<String, String> {
    let spaced = raw.replace('+', " ");
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
    String::from_utf8(bytes).map_err(|_| cut(raw))
}

fn is_decimal(s: &str) -> bool {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    s.len() <= sealog_engine::limits::DECIMAL_CHARS_MAX
        && !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}
