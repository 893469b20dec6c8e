//! The application: shared state, the router, and the two middlewares every request
//! passes (envelope: request id, metrics, JSON 405s; authentication on `/api/`).

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sealog_engine::merkle::Transparency;
use sealog_engine::search::SearchIndex;
use sealog_engine::{Engine, TenantId};

use crate::config::Config;
use crate::error::{item, ApiError};
use crate::idempotency::Idempotency;
use crate::keys::{Key, KeyStore, Role, Scope};
use crate::limits::REQUEST_ID_CHARS_MAX;
use crate::metrics::Metrics;

/// Everything a handler can reach.
#[derive(Debug)]
pub struct App {
    /// The storage engine.
    pub engine: Arc<Engine>,
    /// The secondary index.
    pub search: Arc<SearchIndex>,
    /// Merkle trees and signed checkpoints.
    pub transparency: Arc<Transparency>,
    /// API keys.
    pub keys: KeyStore,
    /// Idempotency table.
    pub idem: Arc<Idempotency>,
    /// Counters.
    pub metrics: Metrics,
    /// The export rate limit.
    pub export_rate: crate::export::ExportRate,
    /// Settings.
    pub config: Config,
    /// Webhooks and their dispatchers.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
}

/// The state handlers receive.
pub type AppState = Arc<App>;

/// Builds the router.
pub fn router(app: AppState) -> Router {
    use crate::ingest::{immutable_list, immutable_one};
    Router::new()
        .route(
            "/api/audit-logs",
            get(crate::reads::list)
                .post(crate::ingest::post_one)
                .put(immutable_list)
                .patch(immutable_list)
                .delete(immutable_list),
        )
        .route("/api/audit-logs/batch", post(crate::ingest::post_batch))
        .merge(webhook_routes())
        .route("/api/audit-logs/summary", get(crate::reads::summary))
        .route("/api/audit-logs/export", get(crate::export::limited))
        .route("/api/audit-logs/export/cef", get(crate::export::cef))
        .route("/api/audit-logs/export/leef", get(crate::export::leef))
        .route("/api/audit-logs/export/syslog", get(crate::export::syslog))
        .route("/api/audit-logs/export/ndjson", get(crate::export::ndjson))
        .route(
            "/api/audit-logs/verify",
            get(crate::integrity::verify).post(crate::integrity::verify_post),
        )
        .route(
            "/api/audit-logs/verify-chain",
            get(crate::integrity::verify_chain),
        )
        .route(
            "/api/audit-logs/public-key",
            get(crate::integrity::public_key),
        )
        .route(
            "/api/audit-logs/checkpoint",
            get(crate::integrity::checkpoint),
        )
        .route(
            "/api/audit-logs/consistency",
            get(crate::integrity::consistency),
        )
        .route("/api/audit-logs/{id}/proof", get(crate::integrity::proof))
        .route(
            "/api/audit-logs/{id}/receipt",
            get(crate::integrity::receipt),
        )
        .route(
            "/api/audit-logs/{id}",
            get(crate::reads::get_one)
                .put(immutable_one)
                .patch(immutable_one)
                .delete(immutable_one),
        )
        .route("/api/audit-logs/{id}/resolve", post(crate::ingest::resolve))
        .route(
            "/api/keys",
            get(crate::admin::list_keys).post(crate::admin::create_key),
        )
        .route(
            "/api/keys/{id}",
            axum::routing::delete(crate::admin::delete_key),
        )
        .route("/healthz", get(crate::ops::healthz))
        .route("/metrics", get(crate::ops::metrics))
        .route("/openapi.json", get(crate::ops::openapi))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), authenticate))
        .layer(middleware::from_fn_with_state(app.clone(), envelope))
        .with_state(app)
}

/// `/api/audit-logs/webhooks…` (static segments win over `/api/audit-logs/{id}`).
fn webhook_routes() -> Router<AppState> {
    use crate::webhooks as w;
    Router::new()
        .route("/api/audit-logs/webhooks", get(w::list).post(w::create))
        .route(
            "/api/audit-logs/webhooks/{id}",
            get(w::get_one).patch(w::update).delete(w::delete),
        )
        .route(
            "/api/audit-logs/webhooks/{id}/deliveries",
            get(w::deliveries),
        )
        .route("/api/audit-logs/webhooks/{id}/replay", post(w::replay))
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    let m: String = method.as_str().chars().take(32).collect();
    let p: String = uri.path().chars().take(256).collect();
    ApiError::NotFound(format!("no such endpoint: {m} {p}"))
}

/// What an endpoint needs from a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Append events (writer, admin).
    Ingest,
    /// Read, export, verify (auditor, admin).
    Read,
    /// Manage (admin).
    Admin,
}

impl Need {
    fn describe(self) -> &'static str {
        match self {
            Need::Ingest => "ingest audit logs",
            Need::Read => "read audit logs",
            Need::Admin => "do this (admin only)",
        }
    }
}

/// The authenticated caller of an `/api/` request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key.
    pub key: Arc<Key>,
    tenant: Result<TenantId, ApiError>,
}

impl Caller {
    fn new(key: Arc<Key>, headers: &HeaderMap) -> Caller {
        let asked = headers
            .get("x-tenant-id")
            .map(|v| v.to_str().map(str::to_owned));
        let tenant = match (&key.scope, asked) {
            (Scope::One(own), None) => Ok(own.clone()),
            (Scope::One(own), Some(Ok(name))) if name == own.as_str() => Ok(own.clone()),
            (Scope::One(own), Some(_)) => Err(ApiError::Forbidden(format!(
                "this key belongs to tenant {own:?} and may not act for another tenant"
            ))),
            (Scope::All, None) => Ok(TenantId::default_tenant()),
            (Scope::All, Some(Ok(name))) => {
                TenantId::new(&name).map_err(|_| bad_tenant(serde_json::Value::String(name)))
            }
            (Scope::All, Some(Err(_))) => Err(bad_tenant(serde_json::Value::Null)),
        };
        Caller { key, tenant }
    }

    /// Checks the role, then the tenant; returns the tenant the request acts for.
    pub fn authorize(&self, need: Need) -> Result<TenantId, ApiError> {
        let ok = matches!(
            (self.key.role, need),
            (Role::Admin, _) | (Role::Auditor, Need::Read) | (Role::Writer, Need::Ingest)
        );
        if !ok {
            return Err(ApiError::Forbidden(format!(
                "a key with role {:?} may not {}",
                self.key.role.as_str(),
                need.describe()
            )));
        }
        self.tenant.clone()
    }
}

fn bad_tenant(input: serde_json::Value) -> ApiError {
    ApiError::Validation(vec![item(
        vec!["header".into(), "X-Tenant-Id".into()],
        "string_pattern_mismatch",
        "String should match pattern '^[A-Za-z0-9_-]{1,64}$'",
        input,
        Some(serde_json::json!({"pattern": "^[A-Za-z0-9_-]{1,64}$"})),
    )])
}

fn token(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
            return Some(v[7..].trim());
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Authentication: every `/api/` request (and `/metrics`, `/openapi.json` when the
/// configuration says so) must carry a known key. Runs before routing decides 404/405.
async fn authenticate(State(app): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    // The checkpoint signing key is public: anyone must be able to check a checkpoint.
    let guarded = (path == "/api" || path.starts_with("/api/"))
        && path != "/api/audit-logs/public-key"
        || (app.config.ops_require_auth && matches!(path, "/metrics" | "/openapi.json"));
    if !guarded {
        return next.run(req).await;
    }
    let key = match token(req.headers()) {
        None | Some("") => return ApiError::Unauthorized(
            "missing credentials: send \"Authorization: Bearer <token>\" or \"X-API-Key: <token>\""
                .into(),
        )
        .into_response(),
        Some(t) => match app.keys.authenticate(t) {
            Some(k) => k,
            None => return ApiError::Unauthorized("invalid API key".into()).into_response(),
        },
    };
    let caller = Caller::new(key, req.headers());
    req.extensions_mut().insert(caller);
    next.run(req).await
}

fn request_id(headers: &HeaderMap) -> HeaderValue {
    headers
        .get("x-request-id")
        .filter(|v| {
            let b = v.as_bytes();
            (1..=REQUEST_ID_CHARS_MAX).contains(&b.len()) && b.iter().all(|c| c.is_ascii_graphic())
        })
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string())
                .unwrap_or(HeaderValue::from_static("-"))
        })
}

/// Request id, timing and metrics, and a JSON body for the 405s the router makes.
async fn envelope(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let rid = request_id(req.headers());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED
        && !resp.headers().contains_key(header::CONTENT_TYPE)
    {
        let allow = resp.headers().get(header::ALLOW).cloned();
        let m: String = method.as_str().chars().take(32).collect();
        let p: String = path.chars().take(256).collect();
        let detail = format!("method {m} is not allowed on {p}");
        let mut json = (
            StatusCode::METHOD_NOT_ALLOWED,
            axum::Json(serde_json::json!({ "detail": detail })),
        )
            .into_response();
        if let Some(allow) = allow {
            json.headers_mut().insert(header::ALLOW, allow);
        }
        resp = json;
    }
    resp.headers_mut().insert("x-request-id", rid.clone());
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    app.metrics
        .observe(route.as_deref().unwrap_or("(unmatched)"), status, elapsed);
    tracing::debug!(request_id = ?rid, %method, %path, status, elapsed_us = elapsed.as_micros() as u64, "request");
    resp
}
