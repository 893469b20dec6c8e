//! Integrity endpoints: verify and verify-chain (recomputed from the stored bytes on
//! every core), and the transparency log's public key, checkpoints, proofs and
//! receipts.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use sealog_engine::merkle::audit::{MerkleFault, MerkleFaultKind};
use sealog_engine::merkle::{InclusionProof, IntegrityError, SignedCheckpoint};
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
pub(crate) struct Outcome {
    pub(crate) report: VerifyReport,
    pub(crate) first: Option<Seq>,
    /// The Merkle audit's first fault and the id of the event it points at (whole-chain
    /// verification only).
    pub(crate) merkle: Option<(MerkleFault, Option<uuid::Uuid>)>,
    pub(crate) merkle_faults: usize,
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
    let transparency = app.transparency.clone();
    let whole = links && from.is_none() && to.is_none() && limit.is_none();
    tokio::task::spawn_blocking(move || {
        if whole {
            // Hashes, links and the Merkle audit from one read of the log.
            let (report, audit) = transparency.verify_chain(&tenant)?;
            let merkle_faults = audit.faults.len();
            // A differing node pins the first altered event; a checkpoint only bounds it.
            let precise = audit
                .faults
                .iter()
                .position(|f| f.kind == MerkleFaultKind::NodeMismatch);
            let merkle = audit.faults.into_iter().nth(precise.unwrap_or(0)).map(|f| {
                let id = engine
                    .locate_seq(&tenant, f.from_seq)
                    .and_then(|(lsn, _)| engine.indexed_id(lsn));
                (f, id)
            });
            let first = (report.events > 0 || !report.faults.is_empty()).then_some(Seq(1));
            return Ok(Outcome {
                report,
                first,
                merkle,
                merkle_faults,
            });
        }
        let Some((first, last)) = engine.seqs_in_time(&tenant, from, to) else {
            return Ok(Outcome {
                report: VerifyReport::default(),
                first: None,
                merkle: None,
                merkle_faults: 0,
            });
        };
        let first = match limit {
            Some(n) => Seq(first.0.max(last.0.saturating_sub(n - 1))),
            None => first,
        };
        Ok(Outcome {
            report: engine.verify_tenant(&tenant, first, last, links),
            first: Some(first),
            merkle: None,
            merkle_faults: 0,
        })
    })
    .await
    .map_err(|e| ApiError::Internal(format!("verification task failed: {e}")))?
    .map_err(|e: sealog_engine::EngineError| ApiError::from(e))
}

fn answer(outcome: Outcome, chain: bool) -> Response {
    json_bytes(
        StatusCode::OK,
        verification_json(outcome, chain).to_string().into_bytes(),
    )
}

/// The verify (or, with `chain`, verify-chain) answer's fields for an outcome.
pub(crate) fn verification_json(outcome: Outcome, chain: bool) -> Value {
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
    let mut ids = ids;
    let mut message = message;
    let mut broken = faults
        .first()
        .map(|f| (f.seq, f.id, f.kind.reason().to_owned()));
    if let Some((m, id)) = &outcome.merkle {
        message = if faults.is_empty() {
            format!(
                "Tampering detected: the {checked} audit logs link into a chain, but it is not the chain sealog signed: the Merkle audit found {} problem(s); the first: {}.",
                outcome.merkle_faults, m.why
            )
        } else {
            format!(
                "{message} The Merkle audit also found {} problem(s); the first: {}.",
                outcome.merkle_faults, m.why
            )
        };
        if let Some(id) = id {
            if !ids.contains(&id.to_string()) && ids.len() < TAMPERED_IDS_MAX {
                ids.push(id.to_string());
            }
        }
        // A chain fault names its event exactly; without one, the events from the
        // Merkle fault's seq no longer give what was signed: their hashes are not the
        // ones committed to.
        if broken.is_none() {
            broken = Some((Some(m.from_seq), *id, "hash_mismatch".to_owned()));
        }
    }
    let ok = faults.is_empty() && outcome.merkle.is_none();
    let mut body = json!({
        "verified": ok,
        "total_checked": checked,
        "tampered_logs": ids,
        "message": message,
    });
    if chain {
        body["intact"] = Value::Bool(ok);
        body["broken_at_id"] = broken
            .as_ref()
            .and_then(|(_, id, _)| *id)
            .map_or(Value::Null, |id| Value::String(id.to_string()));
        body["broken_reason"] = broken.map_or(Value::Null, |(_, _, reason)| Value::String(reason));
    }
    body
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

/// `GET /api/audit-logs/public-key` (no auth): the checkpoint signing key.
pub async fn public_key(State(app): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let (_, errors) = Params::parse_known(req.uri().query(), |_| false);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let key = app.transparency.key();
    let body = json!({
        "algorithm": "ed25519",
        "public_key": base64_std(&key.public_key()),
        "vkey": key.verifier().to_string(),
    });
    Ok(json_bytes(StatusCode::OK, body.to_string().into_bytes()))
}

/// `GET /api/audit-logs/checkpoint[?tree_size=N]`: the tenant's latest (or that)
/// signed checkpoint.
pub async fn checkpoint(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Read)?;
    let (params, mut errors) = Params::parse_known(req.uri().query(), |k| k == "tree_size");
    let size = params.int("tree_size", 1, u64::MAX, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let t = app.transparency.clone();
    let tn = tenant.clone();
    let found = blocking(move || match size {
        Some(n) => t.checkpoint_at(&tn, n),
        None => t.latest_checkpoint(&tn),
    })
    .await?;
    let cp = found.ok_or_else(|| {
        ApiError::NotFound(match size {
            Some(n) => format!("tenant {tenant} has no checkpoint of tree size {n}"),
            None => format!(
                "tenant {tenant} has no checkpoint yet (one is issued about a second after its first event)"
            ),
        })
    })?;
    Ok(json_bytes(
        StatusCode::OK,
        checkpoint_json(&cp).to_string().into_bytes(),
    ))
}

/// `GET /api/audit-logs/{id}/proof?tree_size=N`: RFC 9162 inclusion proof.
pub async fn proof(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Read)?;
    let id = path_id(&req, "/proof")?;
    let (params, mut errors) = Params::parse_known(req.uri().query(), |k| k == "tree_size");
    let size = params.int("tree_size", 1, u64::MAX, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let ev = crate::reads::find(&app, &tenant, id).await?;
    let t = app.transparency.clone();
    let seq = ev.seq;
    let p = blocking(move || match t.inclusion(&tenant, seq, size) {
        // At the latest size, before the tenant's first checkpoint: the event exists, it
        // is just not covered yet (as its receipt says), not a size that does not exist.
        Err(IntegrityError::NotFound(_)) if size.is_none() => Err(not_covered_yet(seq)),
        other => other,
    })
    .await?;
    Ok(json_bytes(
        StatusCode::OK,
        inclusion_json(&p).to_string().into_bytes(),
    ))
}

/// `GET /api/audit-logs/consistency?first=M&second=N`: RFC 9162 consistency proof.
pub async fn consistency(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Read)?;
    let (params, mut errors) =
        Params::parse_known(req.uri().query(), |k| matches!(k, "first" | "second"));
    let first = params.int("first", 1, u64::MAX, &mut errors);
    let second = params.int("second", 1, u64::MAX, &mut errors);
    for (name, v) in [("first", first), ("second", second)] {
        if v.is_none() && params.one(name).is_none() {
            errors.push(crate::error::item(
                vec!["query".into(), name.into()],
                "missing",
                "Field required",
                Value::Null,
                None,
            ));
        }
    }
    if let (Some(f), Some(s)) = (first, second) {
        if f > s {
            errors.push(crate::error::item(
                vec!["query".into(), "first".into()],
                "value_error",
                format!("Value error, first ({f}) must not exceed second ({s})"),
                Value::from(f),
                None,
            ));
        }
    }
    let (Some(first), Some(second), true) = (first, second, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let t = app.transparency.clone();
    let p = blocking(move || t.consistency(&tenant, first, second)).await?;
    let body = json!({
        "first": p.first,
        "second": p.second,
        "first_root": hex::encode(p.first_root),
        "second_root": hex::encode(p.second_root),
        "consistency_path": p.path.iter().map(hex::encode).collect::<Vec<_>>(),
    });
    Ok(json_bytes(StatusCode::OK, body.to_string().into_bytes()))
}

/// 409 for an event that no checkpoint covers yet (a proof or a receipt asked too soon).
fn not_covered_yet(seq: Seq) -> IntegrityError {
    IntegrityError::NotCovered(format!(
        "event seq {seq} is not covered by a checkpoint yet (checkpoints are issued about once a second; retry shortly)"
    ))
}

/// `GET /api/audit-logs/{id}/receipt`: the event, the latest checkpoint covering it and
/// the inclusion proof at that size, in one document an auditor can check offline.
pub async fn receipt(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    req: Request,
) -> Result<Response, ApiError> {
    let tenant = caller.authorize(Need::Read)?;
    let id = path_id(&req, "/receipt")?;
    let (_, errors) = Params::parse_known(req.uri().query(), |_| false);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let ev = crate::reads::find(&app, &tenant, id).await?;
    let t = app.transparency.clone();
    let (tn, seq) = (tenant.clone(), ev.seq);
    let (cp, p) = blocking(move || {
        let cp = t.latest_checkpoint(&tn)?.filter(|c| c.size >= seq.0);
        let Some(cp) = cp else {
            return Err(not_covered_yet(seq));
        };
        let p = t.inclusion(&tn, seq, Some(cp.size))?;
        Ok((cp, p))
    })
    .await?;
    let search = app.search.clone();
    let lsn = ev.lsn;
    let resolution = tokio::task::spawn_blocking(move || search.resolution(&tenant, lsn))
        .await
        .map_err(|e| ApiError::Internal(format!("read task failed: {e}")))??;
    let overlay = resolution.map(|r| r.overlay());
    let mut event = Vec::with_capacity(ev.body().len() + 256);
    crate::reads::returned(&ev, overlay.as_ref(), &mut event)?;
    let mut out = Vec::with_capacity(event.len() + 4096);
    out.extend_from_slice(b"{\"event\":");
    out.extend_from_slice(&event);
    out.extend_from_slice(b",\"checkpoint\":");
    out.extend_from_slice(checkpoint_json(&cp).to_string().as_bytes());
    out.extend_from_slice(b",\"proof\":");
    out.extend_from_slice(inclusion_json(&p).to_string().as_bytes());
    out.push(b'}');
    Ok(json_bytes(StatusCode::OK, out))
}

pub(crate) fn checkpoint_json(cp: &SignedCheckpoint) -> Value {
    let mut issued = [0u8; sealog_engine::time::RFC3339_US_BYTES];
    sealog_engine::time::write_rfc3339_us(cp.issued_at_us, &mut issued);
    json!({
        "origin": cp.origin,
        "tree_size": cp.size,
        "root_hash": hex::encode(cp.root),
        "issued_at": String::from_utf8_lossy(&issued),
        "note": cp.note,
    })
}

fn inclusion_json(p: &InclusionProof) -> Value {
    json!({
        "leaf_index": p.leaf_index,
        "tree_size": p.tree_size,
        "root_hash": hex::encode(p.root),
        "inclusion_path": p.path.iter().map(hex::encode).collect::<Vec<_>>(),
    })
}

/// The `{id}` of `/api/audit-logs/{id}<suffix>`.
fn path_id(req: &Request, suffix: &str) -> Result<uuid::Uuid, ApiError> {
    let raw = req
        .uri()
        .path()
        .trim_start_matches("/api/audit-logs/")
        .trim_end_matches(suffix);
    crate::reads::parse_id(raw)
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Runs a transparency-log call off the async threads; maps its errors to statuses.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, IntegrityError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(IntegrityError::NotFound(d))) => Err(ApiError::NotFound(d)),
        Ok(Err(IntegrityError::NotCovered(d))) => Err(ApiError::Conflict(d)),
        Ok(Err(IntegrityError::Invalid(d))) => Err(ApiError::invalid(
            vec!["query".into()],
            "value_error",
            format!("Value error, {d}"),
            Value::Null,
        )),
        Ok(Err(IntegrityError::Engine(e))) => Err(e.into()),
        Err(e) => Err(ApiError::Internal(format!("integrity task failed: {e}"))),
    }
}
