//! The admin endpoints under `/api/audit-logs/webhooks` (docs/WEBHOOKS.md). A webhook
//! belongs to the tenant it was created in; other tenants' admins get 404 for it.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::fields::{check_url, event_types, int, loc, query};
use super::registry::{Hook, NewWebhook};
use crate::app::{AppState, Caller, Need};
use crate::error::{item, ApiError};
use crate::limits::{
    SMALL_BODY_BYTES_MAX, WEBHOOKS_MAX, WEBHOOK_BACKOFF_S_DEFAULT, WEBHOOK_BACKOFF_S_MAX,
    WEBHOOK_BACKOFF_S_MIN, WEBHOOK_DESCRIPTION_CHARS_MAX, WEBHOOK_MAX_RETRIES_DEFAULT,
    WEBHOOK_MAX_RETRIES_MAX, WEBHOOK_URL_CHARS_MAX,
};

fn not_found(id: &str) -> ApiError {
    let id: String = id.chars().take(64).collect();
    ApiError::NotFound(format!("webhook {id} not found"))
}

fn internal(e: anyhow::Error) -> ApiError {
    ApiError::Internal(format!("could not save the webhooks: {e:#}"))
}

/// The `{id}` path segment; one that does not decode (bad percent-encoding) names
/// no webhook.
type Id = Result<Path<String>, PathRejection>;

/// The caller's webhook `id` (404 if it is another tenant's or unknown).
fn find(app: &AppState, caller: &Caller, id: &Id) -> Result<Arc<Hook>, ApiError> {
    let tenant = caller.authorize(Need::Admin)?;
    let Ok(Path(id)) = id else {
        return Err(ApiError::NotFound("webhook not found".into()));
    };
    app.webhooks
        .get(tenant.as_str(), id)
        .ok_or_else(|| not_found(id))
}

/// `GET /api/audit-logs/webhooks?is_active=` → `{"webhooks":[…],"total":N}`.
pub async fn list(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Admin)?;
    let mut want = None;
    for (_, v) in query(&req, &["is_active"])? {
        want = Some(match v.as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                return Err(ApiError::invalid(
                    vec!["query".into(), "is_active".into()],
                    "bool_parsing",
                    "Input should be a valid boolean, unable to interpret input",
                    Value::String(v.chars().take(256).collect()),
                ))
            }
        });
    }
    let hooks: Vec<Value> = app
        .webhooks
        .list(tenant.as_str())
        .iter()
        .filter(|h| want.is_none_or(|w| h.def.read().is_active == w))
        .map(|h| h.to_json(false))
        .collect();
    Ok(Json(json!({"total": hooks.len(), "webhooks": hooks})).into_response())
}

/// `GET /api/audit-logs/webhooks/{id}` (secret masked).
pub async fn get_one(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Id,
) -> Result<Response, ApiError> {
    let hook = find(&app, &caller, &id)?;
    Ok(Json(hook.to_json(false)).into_response())
}

/// `POST /api/audit-logs/webhooks` → 201 with the webhook, its `secret_key` in clear.
pub async fn create(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Admin)?;
    let (parts, body) = req.into_parts();
    let bytes = crate::body::read(body, &parts.headers, SMALL_BODY_BYTES_MAX).await?;
    let map = crate::body::object(
        &bytes,
        &[
            "webhook_url",
            "event_types",
            "description",
            "max_retries",
            "retry_backoff_seconds",
        ],
    )?;
    let mut errors = Vec::new();
    let url = crate::body::string(
        &map,
        "webhook_url",
        WEBHOOK_URL_CHARS_MAX,
        true,
        &mut errors,
    );
    let description = crate::body::string(
        &map,
        "description",
        WEBHOOK_DESCRIPTION_CHARS_MAX,
        false,
        &mut errors,
    );
    let event_types = event_types(&map, &mut errors);
    let max_retries = int(
        &map,
        "max_retries",
        (0, WEBHOOK_MAX_RETRIES_MAX),
        WEBHOOK_MAX_RETRIES_DEFAULT,
        &mut errors,
    );
    let backoff = int(
        &map,
        "retry_backoff_seconds",
        (WEBHOOK_BACKOFF_S_MIN, WEBHOOK_BACKOFF_S_MAX),
        WEBHOOK_BACKOFF_S_DEFAULT,
        &mut errors,
    );
    let Some(url) = url.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    check_url(&app, &url).await?;
    if app.webhooks.list_len() >= WEBHOOKS_MAX {
        return Err(ApiError::Conflict(format!(
            "there are already {WEBHOOKS_MAX} webhooks (the limit)"
        )));
    }
    let new = NewWebhook {
        webhook_url: url,
        event_types,
        description,
        max_retries,
        retry_backoff_seconds: backoff,
    };
    let hook = app
        .webhooks
        .create(tenant.as_str(), &caller.key.id, new)
        .map_err(internal)?;
    Ok((StatusCode::CREATED, Json(hook.to_json(true))).into_response())
}

/// `PATCH /api/audit-logs/webhooks/{id}` `{"is_active","event_types","description"}`.
pub async fn update(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Id,
    req: Request,
) -> Result<Response, ApiError> {
    let hook = find(&app, &caller, &id)?;
    let (parts, body) = req.into_parts();
    let bytes = crate::body::read(body, &parts.headers, SMALL_BODY_BYTES_MAX).await?;
    let map = crate::body::object(&bytes, &["is_active", "event_types", "description"])?;
    let mut errors = Vec::new();
    let is_active = match map.get("is_active") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            errors.push(item(
                loc("is_active"),
                "bool_type",
                "Input should be a valid boolean",
                other.clone(),
                None,
            ));
            None
        }
    };
    let types = map
        .contains_key("event_types")
        .then(|| event_types(&map, &mut errors));
    let description = map.contains_key("description").then(|| {
        crate::body::string(
            &map,
            "description",
            WEBHOOK_DESCRIPTION_CHARS_MAX,
            false,
            &mut errors,
        )
    });
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    app.webhooks
        .update(&hook, |d| {
            if let Some(a) = is_active {
                d.is_active = a;
            }
            if let Some(t) = types {
                d.event_types = t;
            }
            if let Some(desc) = description {
                d.description = desc;
            }
        })
        .map_err(internal)?;
    Ok(Json(hook.to_json(false)).into_response())
}

/// `DELETE /api/audit-logs/webhooks/{id}` → 204; delivery stops at once.
pub async fn delete(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Id,
) -> Result<Response, ApiError> {
    let id = find(&app, &caller, &id)?.def.read().id.clone();
    app.webhooks.delete(&id).map_err(internal)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/audit-logs/webhooks/{id}/deliveries` → recent attempts, newest first.
pub async fn deliveries(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Id,
) -> Result<Response, ApiError> {
    let hook = find(&app, &caller, &id)?;
    let list = hook.attempts.lock().to_json();
    Ok(Json(json!({"total": list.len(), "deliveries": list})).into_response())
}

/// `POST /api/audit-logs/webhooks/{id}/replay?from_seq=N` → 202; delivery starts again
/// at the tenant's event `N` (events after it are sent again: receivers de-duplicate
/// by seq).
pub async fn replay(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    id: Id,
    req: Request,
) -> Result<Response, ApiError> {
    let hook = find(&app, &caller, &id)?;
    let tenant = caller.authorize(Need::Admin)?;
    let at = || vec![Value::from("query"), Value::from("from_seq")];
    let raw = query(&req, &["from_seq"])?.pop().map(|(_, v)| v);
    let Some(raw) = raw else {
        return Err(ApiError::invalid(
            at(),
            "missing",
            "Field required",
            Value::Null,
        ));
    };
    let seq = match raw.parse::<u64>() {
        Ok(n) if n >= 1 => n,
        _ => {
            return Err(ApiError::Validation(vec![item(
                at(),
                "greater_than_equal",
                "Input should be an integer greater than or equal to 1",
                Value::String(raw.chars().take(64).collect()),
                Some(json!({"ge": 1})),
            )]))
        }
    };
    let Some((lsn, _)) = app.engine.locate_seq(&tenant, sealog_engine::Seq(seq)) else {
        return Err(ApiError::invalid(
            at(),
            "value_error",
            format!(
                "Value error, tenant {:?} has no event with seq {seq}",
                tenant.as_str()
            ),
            Value::String(raw),
        ));
    };
    app.webhooks.replay(&hook, lsn).map_err(internal)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"webhook_id": hook.def.read().id.clone(), "from_seq": seq, "status": "replaying"})),
    )
        .into_response())
}
