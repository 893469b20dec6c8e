//! [`ApiError`]: every error answer of the API, with the shape the contract gives it:
//! `{"detail": "…"}`, or FastAPI's 422 `{"detail": [{"loc","msg","type","input","ctx"}]}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sealog_engine::EngineError;
use serde_json::{json, Value};

/// An error answer.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// 401: no or unknown credentials.
    Unauthorized(String),
    /// 403: the key may not do this.
    Forbidden(String),
    /// 404.
    NotFound(String),
    /// 405 with the methods the path allows.
    MethodNotAllowed {
        /// The `Allow` header.
        allow: &'static str,
        /// What to tell the client.
        detail: String,
    },
    /// 400: the request's framing is broken (e.g. bad chunked encoding).
    BadRequest(String),
    /// 408: the body did not arrive in time.
    Timeout(String),
    /// 409: the request is valid but the state does not allow it yet (an event not
    /// covered by a checkpoint).
    Conflict(String),
    /// 413: body over its limit.
    TooLarge(String),
    /// 422 items.
    Validation(Vec<Value>),
    /// 503 + Retry-After: the append queue is full (back-pressure).
    Busy {
        /// Seconds.
        retry_after: u64,
        /// What to tell the client.
        detail: String,
    },
    /// 429 + Retry-After: the key used up its rate (exports).
    RateLimited {
        /// Seconds until the next request is allowed.
        retry_after: u64,
        /// What to tell the client.
        detail: String,
    },
    /// 503: the engine refuses writes (poisoned, damaged log, shutting down).
    Unavailable(String),
    /// 500.
    Internal(String),
}

impl ApiError {
    /// A 422 with one item.
    pub fn invalid(loc: Vec<Value>, kind: &str, msg: impl Into<String>, input: Value) -> ApiError {
        ApiError::Validation(vec![item(loc, kind, msg, input, None)])
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy { .. } | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// One FastAPI 422 item.
pub fn item(
    loc: Vec<Value>,
    kind: &str,
    msg: impl Into<String>,
    input: Value,
    ctx: Option<Value>,
) -> Value {
    let mut v = json!({"loc": loc, "msg": msg.into(), "type": kind, "input": input});
    if let (Some(ctx), Some(map)) = (ctx, v.as_object_mut()) {
        map.insert("ctx".into(), ctx);
    }
    v
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        match e {
            EngineError::Busy { .. } => ApiError::Busy {
                retry_after: crate::limits::BUSY_RETRY_AFTER_S,
                detail: format!("{e}"),
            },
            EngineError::Poisoned { .. } | EngineError::ReadOnly { .. } | EngineError::Closed => {
                ApiError::Unavailable(format!("writes are refused: {e}"))
            }
            // Only a batch whose canonical form grew far past its body reaches the
            // engine's bound (the server checks events and body bytes first).
            EngineError::BatchBounds { .. } => {
                ApiError::TooLarge(format!("the batch is too large once canonical: {e}"))
            }
            EngineError::HashMismatch { .. } | EngineError::Corrupt { .. } => {
                ApiError::Internal(format!("stored data is damaged: {e}"))
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), error = ?self, "request failed");
        }
        let (body, allow, retry_after, www) = match self {
            ApiError::Validation(mut items) => {
                items.truncate(crate::limits::VALIDATION_ITEMS_MAX);
                (json!({ "detail": items }), None, None, false)
            }
            ApiError::MethodNotAllowed { allow, detail } => {
                (json!({ "detail": detail }), Some(allow), None, false)
            }
            ApiError::Busy {
                retry_after,
                detail,
            }
            | ApiError::RateLimited {
                retry_after,
                detail,
            } => (json!({ "detail": detail }), None, Some(retry_after), false),
            ApiError::Unavailable(d) => (
                json!({ "detail": d }),
                None,
                Some(crate::limits::BUSY_RETRY_AFTER_S),
                false,
            ),
            ApiError::Unauthorized(d) => (json!({ "detail": d }), None, None, true),
            ApiError::Forbidden(d)
            | ApiError::NotFound(d)
            | ApiError::BadRequest(d)
            | ApiError::Timeout(d)
            | ApiError::Conflict(d)
            | ApiError::TooLarge(d)
            | ApiError::Internal(d) => (json!({ "detail": d }), None, None, false),
        };
        let mut resp = (status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        if let Some(allow) = allow {
            h.insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        if let Some(s) = retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if www {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
