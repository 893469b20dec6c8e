//! Ingest: one event, a batch (JSON array or NDJSON), and resolutions. Every 201 is sent
//! after the engine acknowledged the append, i.e. after its group commit's fdatasync
//! (durability `sync`). A full append queue answers 503 with Retry-After.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use sealog_engine::event::{self, FieldError, Overlay, PreparedEvent};
use sealog_engine::idtag::IdTag;
use sealog_engine::{StoredEvent, TenantId};
use serde_json::{json, Value};

use crate::app::{AppState, Caller, Need};
use crate::error::{item, ApiError};
use crate::idempotency::{Begin, Stored};
use crate::limits::{
    BATCH_BODY_BYTES_MAX, BATCH_EVENTS_MAX, IDEMPOTENCY_KEY_CHARS_MAX, SINGLE_BODY_BYTES_MAX,
    SMALL_BODY_BYTES_MAX, VALIDATION_ITEMS_MAX,
};

const IMMUTABLE: &str = "audit logs are immutable: an event cannot be changed or deleted once stored; to mark one as handled, POST /api/audit-logs/{id}/resolve";

/// PUT, PATCH, DELETE on `/api/audit-logs`.
pub async fn immutable_list(Extension(_caller): Extension<Caller>) -> ApiError {
    ApiError::MethodNotAllowed {
        allow: "GET, POST",
        detail: IMMUTABLE.into(),
    }
}

/// PUT, PATCH, DELETE on `/api/audit-logs/{id}`.
pub async fn immutable_one(Extension(_caller): Extension<Caller>) -> ApiError {
    ApiError::MethodNotAllowed {
        allow: "GET",
        detail: IMMUTABLE.into(),
    }
}

/// What was asked, for building (or replaying) the answer.
enum Kind {
    One,
    Batch,
    Resolve {
        target: Box<StoredEvent>,
        overlay: Overlay,
    },
}

/// The acknowledged facts of one stored event.
struct Ack {
    id: uuid::Uuid,
    seq: u64,
    created_at_us: i64,
    hash: [u8; 32],
}

/// `POST /api/audit-logs`.
pub async fn post_one(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Ingest)?;
    let (parts, body) = req.into_parts();
    let bytes = crate::body::read(body, &parts.headers, SINGLE_BODY_BYTES_MAX).await?;
    let key = idempotency_key(&parts.headers)?;
    let prepared = event::prepare_event(&bytes).map_err(|errs| invalid_event(None, &errs))?;
    store(&app, &tenant, key, Kind::One, vec![prepared]).await
}

/// `POST /api/audit-logs/batch`: a JSON array, or NDJSON with
/// `Content-Type: application/x-ndjson`. All or nothing.
pub async fn post_batch(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Ingest)?;
    let (parts, body) = req.into_parts();
    let bytes = crate::body::read(body, &parts.headers, BATCH_BODY_BYTES_MAX).await?;
    let key = idempotency_key(&parts.headers)?;
    let ndjson = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|m| {
            matches!(
                m.as_str(),
                "application/x-ndjson" | "application/ndjson" | "application/jsonl"
            )
        });
    // Parsing and validating 10,000 events takes tens of milliseconds: off the reactor.
    let events = tokio::task::spawn_blocking(move || prepare_batch(&bytes, ndjson))
        .await
        .map_err(|e| ApiError::Internal(format!("batch validation task failed: {e}")))??;
    store(&app, &tenant, key, Kind::Batch, events).await
}

/// `POST /api/audit-logs/{id}/resolve` (admin).
pub async fn resolve(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Admin)?;
    let (parts, body) = req.into_parts();
    let raw_id = parts
        .uri
        .path()
        .trim_start_matches("/api/audit-logs/")
        .trim_end_matches("/resolve")
        .to_owned();
    let bytes = crate::body::read(body, &parts.headers, SMALL_BODY_BYTES_MAX).await?;
    let key = idempotency_key(&parts.headers)?;
    let id = crate::reads::parse_id(&raw_id)?;
    let map = crate::body::object(&bytes, &["resolved_by", "resolution_notes"])?;
    let mut errors = Vec::new();
    let by = crate::body::string(
        &map,
        "resolved_by",
        sealog_engine::limits::NAME_CHARS_MAX,
        true,
        &mut errors,
    );
    let notes = crate::body::string(
        &map,
        "resolution_notes",
        sealog_engine::limits::TEXT_CHARS_MAX,
        false,
        &mut errors,
    );
    let Some(by) = by.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let target = crate::reads::find(&app, &tenant, id).await?;
    let prepared =
        event::prepare_resolution(&id.to_string(), &by, notes.as_deref(), &caller.key.id)
            .map_err(|errs| invalid_event(None, &errs))?;
    let overlay = Overlay {
        resolved_at_us: 0,
        resolved_by: by,
        resolution_notes: notes,
    };
    store(
        &app,
        &tenant,
        key,
        Kind::Resolve {
            target: Box::new(target),
            overlay,
        },
        vec![prepared],
    )
    .await
}

/// The `Idempotency-Key` header, if any: 1..=255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let b = v.as_bytes();
    if (1..=IDEMPOTENCY_KEY_CHARS_MAX).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_graphic() || *c == b' ')
    {
        return Ok(Some(String::from_utf8_lossy(b).into_owned()));
    }
    Err(ApiError::Validation(vec![item(
        vec!["header".into(), "Idempotency-Key".into()],
        "string_pattern_mismatch",
        format!(
            "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_CHARS_MAX} visible ASCII characters"
        ),
        Value::String(String::from_utf8_lossy(b).chars().take(256).collect()),
        Some(json!({"pattern": "^[\\x20-\\x7E]{1,255}$"})),
    )]))
}

/// 422 items for one event's problems; `index` is its place in a batch.
fn invalid_event(index: Option<usize>, errors: &[FieldError]) -> ApiError {
    ApiError::Validation(errors.iter().map(|e| with_prefix(index, e)).collect())
}

fn with_prefix(index: Option<usize>, e: &FieldError) -> Value {
    let mut v = e.to_json();
    if let Some(loc) = v.get_mut("loc").and_then(Value::as_array_mut) {
        let mut full = vec![Value::from("body")];
        full.extend(index.map(Value::from));
        full.append(loc);
        *loc = full;
    }
    v
}

/// Parses and validates a batch; every problem of every event, up to
/// `VALIDATION_ITEMS_MAX` items.
fn prepare_batch(bytes: &[u8], ndjson: bool) -> Result<Vec<PreparedEvent>, ApiError> {
    let mut errors: Vec<Value> = Vec::new();
    let mut events = Vec::new();
    let max = sealog_engine::limits::EVENT_BYTES_MAX;
    // An element of a JSON array is measured as compact canonical JSON (an NDJSON line
    // is also measured as sent, below; a single event's body by its length).
    let mut push = |index: usize,
                    result: Result<PreparedEvent, Vec<FieldError>>,
                    errors: &mut Vec<Value>| match result {
        Ok(p) if p.client_bytes() > max => errors.push(item(
            vec!["body".into(), index.into()],
            "value_error",
            format!(
                "Value error, the event is {} bytes as compact canonical JSON; \
                 one event may have at most {max}",
                p.client_bytes()
            ),
            Value::Null,
            Some(json!({"max_bytes": max})),
        )),
        Ok(p) => events.push(p),
        Err(errs) => errors.extend(errs.iter().map(|e| with_prefix(Some(index), e))),
    };
    let mut count = 0usize;
    if ndjson {
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
        for (line_no, end) in ends.enumerate() {
            let line = &bytes[start..end];
            start = end + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            count += 1;
            if count > BATCH_EVENTS_MAX {
                break;
            }
            if line.len() > sealog_engine::limits::EVENT_BYTES_MAX {
                errors.push(item(
                    vec!["body".into(), line_no.into()],
                    "value_error",
                    format!(
                        "Value error, the line is {} bytes; one event may have at most {}",
                        line.len(),
                        sealog_engine::limits::EVENT_BYTES_MAX
                    ),
                    Value::Null,
                    Some(json!({"max_bytes": sealog_engine::limits::EVENT_BYTES_MAX})),
                ));
                continue;
            }
            match event::json::parse(line) {
                Ok(v) => push(line_no, event::prepare_value(&v), &mut errors),
                Err(e) => {
                    let mut it = FieldError::from_json_error(&e).to_json();
                    if let Some(loc) = it.get_mut("loc") {
                        *loc = json!(["body", line_no]);
                    }
                    errors.push(it);
                }
            }
            if errors.len() >= VALIDATION_ITEMS_MAX {
                break;
            }
        }
    } else {
        let value =
            event::json::parse_with_depth_max(bytes, sealog_engine::limits::JSON_DEPTH_MAX + 1)
                .map_err(|e| {
                    let mut it = FieldError::from_json_error(&e).to_json();
                    if let Some(loc) = it.get_mut("loc") {
                        *loc = json!(["body"]);
                    }
                    ApiError::Validation(vec![it])
                })?;
        let event::Value::Array(items) = &value else {
            return Err(ApiError::invalid(
                vec!["body".into()],
                "list_type",
                "Input should be a valid list (a JSON array of events, or NDJSON with Content-Type: application/x-ndjson)",
                Value::String(value.type_name().into()),
            ));
        };
        count = items.len();
        if count <= BATCH_EVENTS_MAX {
            for (i, v) in items.iter().enumerate() {
                push(i, event::prepare_value(v), &mut errors);
                if errors.len() >= VALIDATION_ITEMS_MAX {
                    break;
                }
            }
        }
    }
    if count > BATCH_EVENTS_MAX {
        return Err(ApiError::Validation(vec![item(
            vec!["body".into()],
            "too_long",
            format!(
                "List should have at most {BATCH_EVENTS_MAX} items after validation, not {count}{}",
                if ndjson { " or more" } else { "" }
            ),
            Value::Null,
            Some(
                json!({"field_type": "List", "max_length": BATCH_EVENTS_MAX, "actual_length": count}),
            ),
        )]));
    }
    if count == 0 {
        return Err(ApiError::Validation(vec![item(
            vec!["body".into()],
            "too_short",
            "List should have at least 1 item after validation, not 0",
            Value::Null,
            Some(json!({"field_type": "List", "min_length": 1, "actual_length": 0})),
        )]));
    }
    errors.truncate(VALIDATION_ITEMS_MAX);
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Appends (once per idempotency key) and answers.
async fn store(
    app: &AppState,
    tenant: &TenantId,
    key: Option<String>,
    mut kind: Kind,
    mut events: Vec<PreparedEvent>,
) -> Result<Response, ApiError> {
    let Some(key) = key else {
        let appended = app.engine.try_submit(tenant, events)?.await?;
        return acknowledged(app, tenant, &mut kind, &appended);
    };
    let tag = IdTag::derive(&[tenant.as_str().as_bytes(), key.as_bytes()]);
    loop {
        match app.idem.begin(tenant, tag) {
            Begin::Replay(stored) => return replay(app, tenant, kind, events, stored).await,
            Begin::Wait(mut rx) => {
                // Resolves when the other request finishes (its sender is dropped).
                let _ = rx.changed().await;
            }
            Begin::Fresh(guard) => {
                if let Some(first) = events.first_mut() {
                    first.set_id_tag(tag);
                }
                let ticket = app.engine.try_submit(tenant, events)?;
                // The append completes (and the key is recorded) even if the client goes
                // away: otherwise a retry could store the events a second time.
                let appended = tokio::spawn(async move {
                    let appended = ticket.await?;
                    if let Some(a) = appended.first() {
                        guard.complete(Stored {
                            lsn: a.lsn,
                            created_us: a.created_at_us,
                        });
                    }
                    Ok::<_, sealog_engine::EngineError>(appended)
                })
                .await
                .map_err(|e| ApiError::Internal(format!("append task failed: {e}")))??;
                return acknowledged(app, tenant, &mut kind, &appended);
            }
        }
    }
}

/// Counts and answers a fresh append.
fn acknowledged(
    app: &AppState,
    tenant: &TenantId,
    kind: &mut Kind,
    appended: &[sealog_engine::Appended],
) -> Result<Response, ApiError> {
    app.metrics.add_ingested(appended.len() as u64);
    let acks: Vec<Ack> = appended
        .iter()
        .map(|a| Ack {
            id: a.id,
            seq: a.seq.0,
            created_at_us: a.created_at_us,
            hash: a.hash,
        })
        .collect();
    answer(tenant, kind, &acks, false)
}

/// Answers a retry from the stored events, after checking it is the same request.
async fn replay(
    app: &AppState,
    tenant: &TenantId,
    mut kind: Kind,
    events: Vec<PreparedEvent>,
    stored: Stored,
) -> Result<Response, ApiError> {
    let engine = app.engine.clone();
    let tenant2 = tenant.clone();
    let found =
        tokio::task::spawn_blocking(move || -> Result<Option<Vec<StoredEvent>>, ApiError> {
            let mut got: Vec<StoredEvent> = Vec::with_capacity(events.len());
            let mut lsn = stored.lsn;
            loop {
                let Some(ev) = engine.get_by_lsn(lsn)? else {
                    return Err(ApiError::Internal(format!(
                        "the idempotency table names lsn {} which the log does not hold",
                        lsn.0
                    )));
                };
                let end = ev.ends_request();
                let same = ev.tenant() == tenant2.as_str()
                    && events
                        .get(got.len())
                        .is_some_and(|p| p.same_client_members(ev.body()));
                if !same {
                    return Ok(None);
                }
                got.push(ev);
                if end {
                    break;
                }
                lsn.0 += 1;
            }
            Ok((got.len() == events.len()).then_some(got))
        })
        .await
        .map_err(|e| ApiError::Internal(format!("replay task failed: {e}")))??;
    let Some(got) = found else {
        return Err(ApiError::Validation(vec![item(
            vec!["header".into(), "Idempotency-Key".into()],
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different request; use a new key for a new request",
            Value::Null,
            None,
        )]));
    };
    let acks: Vec<Ack> = got
        .iter()
        .map(|e| Ack {
            id: e.id,
            seq: e.seq.0,
            created_at_us: e.created_at_us,
            hash: e.hash,
        })
        .collect();
    answer(tenant, &mut kind, &acks, true)
}

/// The 201 body for `kind`.
fn answer(
    tenant: &TenantId,
    kind: &mut Kind,
    acks: &[Ack],
    replayed: bool,
) -> Result<Response, ApiError> {
    let body: Vec<u8> = match kind {
        Kind::One => {
            let a = acks
                .first()
                .ok_or_else(|| ApiError::Internal("append returned no event".into()))?;
            serde_json::to_vec(&json!({
                "id": a.id.to_string(),
                "seq": a.seq,
                "tenant_id": tenant.as_str(),
                "created_at": sealog_engine::time::format_rfc3339_us(a.created_at_us),
                "hash": hex::encode(a.hash),
            }))
            .map_err(|e| ApiError::Internal(e.to_string()))?
        }
        Kind::Batch => {
            let (first, last) = match (acks.first(), acks.last()) {
                (Some(f), Some(l)) => (f.seq, l.seq),
                _ => return Err(ApiError::Internal("append returned no event".into())),
            };
            let ids: Vec<String> = acks.iter().map(|a| a.id.to_string()).collect();
            serde_json::to_vec(
                &json!({"count": acks.len(), "first_seq": first, "last_seq": last, "ids": ids}),
            )
            .map_err(|e| ApiError::Internal(e.to_string()))?
        }
        Kind::Resolve { target, overlay } => {
            let a = acks
                .first()
                .ok_or_else(|| ApiError::Internal("append returned no event".into()))?;
            overlay.resolved_at_us = a.created_at_us;
            let mut out = Vec::with_capacity(target.body().len() + 256);
            event::write_returned(target.body(), &target.hash, Some(overlay), &mut out).map_err(
                |e| ApiError::Internal(format!("stored event {} is damaged: {e}", target.id)),
            )?;
            out
        }
    };
    let mut resp = (
        StatusCode::CREATED,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}
