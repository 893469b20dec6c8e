//! sealogd: sealog's server.
//!
//! Until the HTTP API lands (issue #4) this binary opens the data directory with the
//! storage engine, runs recovery, reports what it found, and exits: a way to check a
//! data directory, not yet a service.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Engine, EngineConfig};

#[derive(Debug, Parser)]
#[command(
    name = "sealogd",
    version,
    about = "sealog server (storage engine only, for now)"
)]
struct Args {
    /// Data directory (created if missing).
    #[arg(long, default_value = "./data", env = "SEALOG_DATA_DIR")]
    data_dir: PathBuf,
    /// Address the HTTP API will listen on (not served yet).
    #[arg(long, default_value = "127.0.0.1:8080", env = "SEALOG_LISTEN")]
    listen: String,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    let (engine, report) = Engine::open(EngineConfig::new(&args.data_dir), storage)?;
    tracing::info!(
        data_dir = %args.data_dir.display(),
        events = report.events,
        segments = report.segments,
        torn_tails = report.torn.len(),
        damage = report.damage.len(),
        elapsed_ms = report.elapsed.as_millis() as u64,
        "log recovered"
    );
    for tenant in engine.tenants() {
        let head = engine.chain_head(&tenant);
        tracing::info!(%tenant, seq = head.seq.0, head = %hex::encode(head.hash), "chain head");
    }
    tracing::warn!(listen = %args.listen, "the HTTP API is not built yet (issue #4): sealogd checked the log and exits");
    engine.close();
    Ok(())
}
