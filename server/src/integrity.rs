//! Integrity endpoints: verify and verify-chain (recomputed from the stored bytes on
//! every core), and the transparency log's public key, checkpoints, proofs and
//! receipts.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use sealog_engine::verify::{FaultKind, VerifyReport};
use sealog_engine::{Seq, TenantId};
use serde_json::{json, Value};

use crate::app::{AppState, Caller, Need};
use crate::error::ApiError;
use crate::limits::{
    SMALL_BODY_BYTES_MAX, TAMPERED_IDS_MAX, VERIFY_CHAIN_LIMIT_MAX, VERIFY_LIMIT_DEFAULT,
    VERIFY_LIMIT_MAX,
};
use crate::reads::{json_bytes, Params};

/// `GET /api/audit-logs/verify`: the newest `limit` events in range, hashes only.
pub async fn verify(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Read)?;
    let (from, to, limit) = range_query(&req, VERIFY_LIMIT_MAX)?;
    let limit = Some(limit.unwrap_or(VERIFY_LIMIT_DEFAULT));
    let report = run(&app, tenant, from, to, limit, false).await?;
    Ok(answer(report, false))
}

/// `GET /api/audit-logs/verify-chain`: hashes and links, the whole chain by default.
pub async fn verify_chain(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Read)?;
    let (from, to, limit) = range_query(&req, VERIFY_CHAIN_LIMIT_MAX)?;
    let report = run(&app, tenant, from, to, limit, true).await?;
    Ok(answer(report, true))
}

/// `POST /api/audit-logs/verify` `{"start_date","end_date"}`: verify-chain over that
/// range, for clients that cannot send a query string.
pub async fn verify_post(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Read)?;
    let (parts, body) = req.into_parts();
    let bytes = crate::body::read(body, &parts.headers, SMALL_BODY_BYTES_MAX).await?;
    let map = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::Map::new()
    } else {
        crate::body::object(&bytes, &["start_date", "end_date"])?
    };
    let mut errors = Vec::new();
    let mut pairs = Vec::new();
    for field in ["start_date", "end_date"] {
        if let Some(v) = crate::body::string(&map, field, 64, false, &mut errors) {
            pairs.push((field.to_owned(), v));
        }
    }
    let (from, to) = Params::from_pairs(pairs).time_range("body", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let report = run(&app, tenant, from, to, None, true).await?;
    Ok(answer(report, true))
}

/// `start_date`, `end_date` and `limit` (1..=`limit_max`) from the query string.
type RangeQuery = (Option<i64>, Option<i64>, Option<u64>);

fn range_query(req: &Request, limit_max: u64) -> Result<RangeQuery, ApiError> {
    let (params, mut errors) = Params::parse_known(req.uri().query(), |k| {
        matches!(k, "start_date" | "end_date" | "limit")
    });
    let (from, to) = params.time_range("query", &mut errors);
    let limit = params.int("limit", 1, limit_max, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok((from, to, limit))
}

/// One tenant's verification over the events created in `[from, to)`, the newest
/// `limit` of them.
struct Outcome {
    report: VerifyReport,
    first: Option<Seq>,
}

async fn run(
    app: &AppState,
    tenant: TenantId,
    from: Option<i64>,
    to: Option<i64>,
    limit: Option<u64>,
    links: bool,
) -> Result<Outcome, ApiError> {
    let engine = app.engine.clone();
    tokio::task::spawn_blocking(move || {
        let Some((first, last)) = engine.seqs_in_time(&tenant, from, to) else {
            return Outcome {
                report: VerifyReport::default(),
                first: None,
            };
        };
        let first = match limit {
            Some(n) => Seq(first.0.max(last.0.saturating_sub(n - 1))),
            None => first,
        };
        Outcome {
            report: engine.verify_tenant(&tenant, first, last, links),
            first: Some(first),
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("verification task failed: {e}")))
}

fn answer(outcome: Outcome, chain: bool) -> Response {
    let report = &outcome.report;
    let faults = &report.faults;
    let ids: Vec<String> = faults
        .iter()
        .filter_map(|f| f.id)
        .take(TAMPERED_IDS_MAX)
        .map(|id| id.to_string())
        .collect();
    let checked = report.events;
    let message = match faults.first() {
        None if checked == 0 => "No audit logs in range: nothing to verify.".to_owned(),
        None if chain => format!(
            "Chain intact: {checked} audit logs checked from seq {}; every hash and link verified.",
            outcome.first.map_or(0, |s| s.0)
        ),
        None => format!("All {checked} audit logs verified: every hash matches its event."),
        Some(f) => {
            let listed = if faults.len() > TAMPERED_IDS_MAX {
                format!(" (the first {TAMPERED_IDS_MAX} are listed)")
            } else {
                String::new()
            };
            format!(
                "Tampering detected: {} of {checked} audit logs fail verification{listed}; the first is seq {} (id {}): {}.",
                faults.len(),
                f.seq.map_or_else(|| "?".into(), |s| s.0.to_string()),
                f.id.map_or_else(|| "unknown".into(), |i| i.to_string()),
                describe(&f.kind)
            )
        }
    };
    let mut body = json!({
        "verified": faults.is_empty(),
        "total_checked": checked,
        "tampered_logs": ids,
        "message": message,
    });
    if chain {
        let first = faults.first();
        body["intact"] = Value::Bool(faults.is_empty());
        body["broken_at_id"] = first
            .and_then(|f| f.id)
            .map_or(Value::Null, |id| Value::String(id.to_string()));
        body["broken_reason"] = first.map_or(Value::Null, |f| Value::from(f.kind.reason()));
    }
    json_bytes(StatusCode::OK, body.to_string().into_bytes())
}

fn describe(kind: &FaultKind) -> String {
    match kind {
        FaultKind::HashMismatch => "its content does not match its hash (hash_mismatch)".into(),
        FaultKind::ChainLinkMismatch => {
            "it does not link to the event before it (chain_link_mismatch)".into()
        }
        FaultKind::Unreadable(why) => format!("unreadable: {why}"),
        FaultKind::FieldMismatch(why) => format!("its server fields disagree: {why}"),
    }
}
