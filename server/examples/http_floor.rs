//! The HTTP floor: sealogd's listener (the same `serve`, hyper settings and tokio
//! runtime) with handlers that do none of sealog's work. They read the request body and
//! answer 201 with a reply the size of an ingest acknowledgment. `sealog load` against
//! it measures what the HTTP stack, loopback TCP and the load generator cost on this
//! machine before any event is parsed, validated, hashed, written, synced or indexed:
//! the ceiling that sealogd's ingest rate can only approach (docs/BENCHMARKS.md, "HTTP
//! API").
//!
//! ```sh
//! cargo run --release -p sealog-server --example http_floor -- 127.0.0.1:18199
//! ./target/release/sealog load --url http://127.0.0.1:18199 --token any --batch 1 --concurrency 64 --duration 30s
//! ```
#![forbid(unsafe_code)]

use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::routing::post;
use axum::Router;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What sealogd answers a single event with, in size and shape.
const ONE: &str = r#"{"id":"019aa9f0-52c1-7d2e-9a4b-6f1e2d3c4b5a","seq":1,"tenant_id":"default","created_at":"2026-11-23T08:00:00.000000Z","hash":"5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592"}"#;

async fn one(
    body: Bytes,
) -> (
    StatusCode,
    [(header::HeaderName, &'static str); 1],
    &'static str,
) {
    std::hint::black_box(body);
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        ONE,
    )
}

async fn batch(body: Bytes) -> (StatusCode, [(header::HeaderName, &'static str); 1], String) {
    let events = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        format!(r#"{{"count":{events}}}"#),
    )
}

fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18199".to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sealogd-http")
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("http_floor listening on {addr}");
        let app = Router::new()
            .route("/api/audit-logs", post(one))
            .route("/api/audit-logs/batch", post(batch));
        sealog_server::serve(listener, app, None, std::future::pending()).await;
        Ok(())
    })
}
