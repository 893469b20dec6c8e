//! Operations endpoints: health, Prometheus metrics, the OpenAPI document.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sealog_engine::FSYNC_BUCKETS_US;
use serde_json::json;

use crate::app::AppState;

/// The OpenAPI 3.1 document of every endpoint sealogd serves.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// `GET /healthz`: 200 while sealogd accepts writes, 503 (with the reason) when the
/// engine refuses them (after an I/O failure, or on a damaged log); reads may still work.
pub async fn healthz(State(app): State<AppState>) -> Response {
    let stats = app.engine.stats();
    let (indexed, processed) = app.search.progress();
    let refusal = app.engine.write_refusal().map(|e| e.to_string());
    let index_failure = app.search.failure();
    let merkle = app.transparency.status();
    let body = json!({
        "status": if refusal.is_none() { "ok" } else { "degraded" },
        "writes": refusal.as_deref().unwrap_or("accepted"),
        "version": env!("CARGO_PKG_VERSION"),
        "durable_lsn": stats.durable_lsn.0,
        "indexed_lsn": indexed.0,
        "index_read_lsn": processed.0,
        "index_failure": index_failure,
        "merkle_lsn": merkle.followed_lsn.0,
        "merkle_failure": merkle.failure,
        "merkle_stalled_tenants": merkle.stalled.iter().map(|(t, why)| json!({"tenant": t.as_str(), "why": why})).collect::<Vec<_>>(),
    });
    let status = if refusal.is_none() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// `GET /metrics`.
pub async fn metrics(State(app): State<AppState>) -> Response {
    let s = app.engine.stats();
    let (indexed, _) = app.search.progress();
    let merkle = app.transparency.status();
    let gauges = [
        (
            "sealog_durable_lsn",
            "Highest LSN made durable.",
            s.durable_lsn.0 as f64,
        ),
        (
            "sealog_visible_lsn",
            "Highest LSN visible to reads.",
            s.visible_lsn.0 as f64,
        ),
        (
            "sealog_indexed_lsn",
            "Highest LSN in the committed secondary index.",
            indexed.0 as f64,
        ),
        (
            "sealog_index_lag_events",
            "Events not yet in the committed secondary index.",
            s.visible_lsn.0.saturating_sub(indexed.0) as f64,
        ),
        (
            "sealog_merkle_lsn",
            "Every durable event up to this LSN is in its tenant's Merkle tree.",
            merkle.followed_lsn.0 as f64,
        ),
        (
            "sealog_checkpoints_issued",
            "Checkpoints signed since start.",
            merkle.checkpoints_issued as f64,
        ),
        (
            "sealog_merkle_stalled_tenants",
            "Tenants whose tree stopped at damage in the log (no new checkpoints).",
            merkle.stalled.len() as f64,
        ),
        (
            "sealog_segments",
            "Segment files in the log.",
            s.segments as f64,
        ),
        (
            "sealog_log_bytes",
            "Bytes of frames in the log.",
            s.log_bytes as f64,
        ),
        (
            "sealog_append_queue_requests",
            "Append requests waiting for the writer.",
            s.queued_requests as f64,
        ),
        (
            "sealog_append_queue_bytes",
            "Bytes of events waiting for the writer.",
            s.queued_bytes as f64,
        ),
        (
            "sealog_idempotency_keys",
            "Idempotency keys remembered.",
            app.idem.len() as f64,
        ),
        (
            "sealog_writes_refused",
            "1 when the engine refuses writes.",
            f64::from(u8::from(app.engine.write_refusal().is_some())),
        ),
        (
            "sealog_process_resident_bytes",
            "Resident set size of sealogd.",
            rss_bytes() as f64,
        ),
    ];
    let mut text = app.metrics.render(&gauges);
    let f = s.fsyncs;
    crate::metrics::family(
        &mut text,
        "sealog_log_fsync_duration_seconds",
        "Time of each fsync of the log that acknowledgments wait for.",
        "histogram",
    );
    crate::metrics::histogram(
        &mut text,
        "sealog_log_fsync_duration_seconds",
        "",
        FSYNC_BUCKETS_US
            .iter()
            .map(|us| *us as f64 / 1e6)
            .zip(f.at_most),
        f.calls,
        f.total_ns as f64 / 1e9,
    );
    crate::metrics::family(
        &mut text,
        "sealog_log_uncached_bytes_total",
        "Bytes of the log advised out of the page cache since start (posix_fadvise DONTNEED of indexed events older than log-cache-bytes; counted whether they were cached or not).",
        "counter",
    );
    let _ = writeln!(text, "sealog_log_uncached_bytes_total {}", s.uncached_bytes);
    app.webhooks.render_metrics(&mut text);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// `GET /openapi.json`.
pub async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
