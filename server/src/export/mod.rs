//! The export endpoints: `/api/audit-logs/export?format=csv|json|ndjson|soc2` (at most
//! `limit` events) and `/export/cef`, `/export/leef`, `/export/syslog`,
//! `/export/ndjson` (the whole range, `chunk_size` at a time). The engine's
//! [`sealog_engine::export`] reads and encodes; this module checks the caller and the
//! rate limit, parses the request, builds the SOC 2 report, and streams
//! ([`stream`]). docs/EXPORTS.md is the user's view.

mod offline;
mod params;
mod rate;
mod soc2;
mod stream;

pub use offline::export_offline;
pub use params::{Endpoint, ExportRequest, Format};
pub use rate::ExportRate;

use std::time::Instant;

use axum::extract::{Request, State};
use axum::response::Response;
use axum::Extension;
use sealog_engine::export::{
    CefEncoder, CsvEncoder, Encoder, ExportCursor, JsonArrayEncoder, LeefEncoder, NdjsonEncoder,
    Soc2Encoder, SyslogEncoder, SyslogOptions,
};

use sealog_engine::merkle::Transparency;
use sealog_engine::search::SearchIndex;

use crate::app::{AppState, Caller, Need};
use crate::error::ApiError;

/// `GET /api/audit-logs/export`.
pub async fn limited(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    export(app, caller, req, Endpoint::Limited).await
}

/// `GET /api/audit-logs/export/cef`.
pub async fn cef(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    export(app, caller, req, Endpoint::Cef).await
}

/// `GET /api/audit-logs/export/leef`.
pub async fn leef(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    export(app, caller, req, Endpoint::Leef).await
}

/// `GET /api/audit-logs/export/syslog`.
pub async fn syslog(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    export(app, caller, req, Endpoint::Syslog).await
}

/// `GET /api/audit-logs/export/ndjson`.
pub async fn ndjson(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    export(app, caller, req, Endpoint::Ndjson).await
}

async fn export(
    app: AppState,
    caller: Caller,
    req: Request,
    endpoint: Endpoint,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Read)?;
    app.export_rate
        .check(&caller.key.id, Instant::now())
        .map_err(|retry_after| ApiError::RateLimited {
            retry_after,
            detail: format!(
                "export rate limit: at most {} export requests per {} s per key; retry in {retry_after} s",
                crate::limits::EXPORT_RATE_REQUESTS,
                crate::limits::EXPORT_RATE_WINDOW.as_secs()
            ),
        })?;
    let request = params::parse(
        req.uri().query(),
        endpoint,
        tenant,
        Some(crate::limits::EXPORT_LIMIT_MAX),
    )?;
    let (format, chunk) = (request.format, request.chunk);
    let app2 = app.clone();
    let (cursor, encoder) = tokio::task::spawn_blocking(move || {
        let stores = Stores {
            search: &app2.search,
            transparency: &app2.transparency,
            syslog: &app2.config.syslog,
        };
        open(&stores, request)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("export task failed: {e}")))??;
    let filename = format!("audit-logs-{}.{}", file_stamp(), format.extension());
    stream::respond(cursor, encoder, chunk, format.content_type(), filename).await
}

/// What an export reads from.
pub struct Stores<'a> {
    /// The index (and through it the log).
    pub search: &'a SearchIndex,
    /// Checkpoints, for the SOC 2 report.
    pub transparency: &'a Transparency,
    /// Syslog settings.
    pub syslog: &'a SyslogOptions,
}

/// The cursor and the encoder of a request (the SOC 2 report is computed here).
pub fn open(
    stores: &Stores<'_>,
    request: ExportRequest,
) -> Result<(ExportCursor, Box<dyn Encoder>), ApiError> {
    let mut cursor = ExportCursor::open(stores.search, request.spec.clone())?;
    let encoder: Box<dyn Encoder> = match request.format {
        Format::Csv => Box::new(CsvEncoder),
        Format::Json => Box::new(JsonArrayEncoder),
        Format::Ndjson => Box::new(NdjsonEncoder),
        Format::Cef => Box::new(CefEncoder),
        Format::Leef(version) => Box::new(LeefEncoder { version }),
        Format::Syslog(framing, payload) => Box::new(SyslogEncoder::new(SyslogOptions {
            framing,
            payload,
            ..stores.syslog.clone()
        })),
        Format::Soc2 => {
            let (report, until) = soc2::report(stores, &request, cursor)?;
            let mut spec = request.spec;
            spec.until = Some(until);
            cursor = ExportCursor::open(stores.search, spec)?;
            Box::new(Soc2Encoder::new(report))
        }
    };
    Ok((cursor, encoder))
}

/// `20261122T104512Z`: the UTC time in a file name.
fn file_stamp() -> String {
    let now = sealog_engine::time::format_rfc3339_us(sealog_engine::time::now_us());
    let compact: String = now[..19]
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    format!("{compact}Z")
}
