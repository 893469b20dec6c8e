//! Key management (admin): create, list, delete.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use sealog_engine::TenantId;
use serde_json::{json, Value};

use crate::app::{AppState, Caller, Need};
use crate::error::{item, ApiError};
use crate::keys::{new_token, KeyRecord, Role, Scope};
use crate::limits::{KEY_NAME_CHARS_MAX, SMALL_BODY_BYTES_MAX};

fn visible(caller: &Caller, r: &KeyRecord) -> bool {
    match &caller.key.scope {
        Scope::All => true,
        Scope::One(t) => r.tenant == t.as_str(),
    }
}

fn public(r: &KeyRecord) -> Value {
    json!({
        "id": r.id, "name": r.name, "role": r.role.as_str(), "tenant": r.tenant,
        "created_at": r.created_at, "last_used_at": r.last_used_at,
    })
}

/// `POST /api/keys` `{"name","role","tenant"}` → 201 with the token (shown only here).
pub async fn create_key(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let acting = caller.authorize(Need::Admin)?;
    let (parts, body) = req.into_parts();
    let bytes = crate::body::read(body, &parts.headers, SMALL_BODY_BYTES_MAX).await?;
    let map = crate::body::object(&bytes, &["name", "role", "tenant"])?;
    let mut errors = Vec::new();
    let name = crate::body::string(&map, "name", KEY_NAME_CHARS_MAX, true, &mut errors);
    let role = crate::body::string(&map, "role", 16, true, &mut errors);
    let tenant = crate::body::string(&map, "tenant", 64, false, &mut errors);
    let role = role.and_then(|r| {
        let parsed = Role::parse(&r);
        if parsed.is_none() {
            errors.push(item(
                vec!["body".into(), "role".into()],
                "enum",
                "Input should be 'admin', 'auditor' or 'writer'",
                Value::String(r),
                Some(json!({"expected": "'admin', 'auditor' or 'writer'"})),
            ));
        }
        parsed
    });
    let scope = match tenant.as_deref() {
        None => Some(Scope::One(acting)),
        Some("*") => Some(Scope::All),
        Some(t) => match TenantId::new(t) {
            Ok(t) => Some(Scope::One(t)),
            Err(_) => {
                errors.push(item(
                    vec!["body".into(), "tenant".into()],
                    "string_pattern_mismatch",
                    "String should match pattern '^([A-Za-z0-9_-]{1,64}|\\*)$'",
                    Value::String(t.to_owned()),
                    Some(json!({"pattern": "^([A-Za-z0-9_-]{1,64}|\\*)$"})),
                ));
                None
            }
        },
    };
    let (Some(name), Some(role), Some(scope)) = (name, role, scope) else {
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Scope::One(own) = &caller.key.scope {
        if scope != Scope::One(own.clone()) {
            return Err(ApiError::Forbidden(format!(
                "a key of tenant {:?} may only create keys for that tenant",
                own.as_str()
            )));
        }
    }
    let token = new_token();
    let keys = &app.keys;
    let record = tokio::task::block_in_place(|| keys.create(&name, role, scope, &token))
        .map_err(|e| ApiError::Internal(format!("could not save the key: {e:#}")))?;
    let body = json!({
        "id": record.id, "name": record.name, "role": record.role.as_str(),
        "tenant": record.tenant, "token": token, "created_at": record.created_at,
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /api/keys` (no tokens).
pub async fn list_keys(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    caller.authorize(Need::Admin)?;
    let keys: Vec<Value> = app
        .keys
        .list()
        .iter()
        .filter(|r| visible(&caller, r))
        .map(public)
        .collect();
    Ok(Json(json!({"total": keys.len(), "keys": keys})).into_response())
}

/// `DELETE /api/keys/{id}` → 204; the key stops working at once.
pub async fn delete_key(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    caller.authorize(Need::Admin)?;
    let id = req.uri().path().trim_start_matches("/api/keys/").to_owned();
    let known = app.keys.list().into_iter().find(|r| r.id == id);
    match known {
        Some(r) if visible(&caller, &r) => {
            let keys = &app.keys;
            let deleted = tokio::task::block_in_place(|| keys.delete(&id))
                .map_err(|e| ApiError::Internal(format!("could not save the key store: {e:#}")))?;
            if deleted {
                return Ok(StatusCode::NO_CONTENT.into_response());
            }
            Err(ApiError::NotFound(format!("key {id} not found")))
        }
        _ => Err(ApiError::NotFound(format!("key {id} not found"))),
    }
}
