//! sealogd: sealog's HTTP server, a thin shell around the storage engine and the
//! secondary index (docs/ARCHITECTURE.md, "server"). docs/API.md is the user's view.
#![deny(unsafe_code)]

use std::sync::Arc;

use anyhow::Context;
use sealog_engine::merkle::note::SigningKey;
use sealog_engine::merkle::{Transparency, TransparencyConfig};
use sealog_engine::search::{SearchConfig, SearchIndex};
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::Engine;

pub mod allocator;
pub mod config;
pub mod limits;

mod admin;
mod app;
mod body;
mod error;
mod export;
mod idempotency;
mod idle;
mod ingest;
mod integrity;
mod keys;
mod metrics;
mod ops;
mod reads;
mod serve;
mod webhooks;

pub use config::{Args, Config, LogFormat};
pub use export::{export_offline, Endpoint as ExportEndpoint};
/// The listener, public so `examples/http_floor.rs` measures the HTTP stack sealogd
/// really runs.
pub use serve::serve;
pub use webhooks::WebhookConfig;

/// Refuses a `SEALOG_ADMIN_TOKEN` too short to be a secret (sealogd checks it at start,
/// before the data directory is opened).
pub fn check_env_admin_token() -> anyhow::Result<()> {
    match keys::env_admin_token() {
        Some(token) => keys::check_env_admin(&token),
        None => Ok(()),
    }
}

/// Opens the data directory, serves until SIGTERM or SIGINT, then drains requests and
/// closes the engine (which syncs everything acknowledged).
pub fn run(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sealogd-http")
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(run_async(config))
}

/// Opens the log, the secondary index and the transparency log of `cfg.data_dir` (the
/// server at start, `sealog export --data-dir` offline).
pub(crate) fn open_stores(
    cfg: &Config,
) -> anyhow::Result<(Arc<Engine>, Arc<SearchIndex>, Arc<Transparency>)> {
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    let (engine, report) =
        Engine::open(cfg.engine_config(), storage.clone()).context("opening the log")?;
    tracing::info!(
        data_dir = %cfg.data_dir.display(),
        events = report.events,
        segments = report.segments,
        torn_tails = report.torn.len(),
        damage = report.damage.len(),
        elapsed_ms = report.elapsed.as_millis() as u64,
        "log recovered"
    );
    for d in &report.damage {
        tracing::error!(damage = ?d, "the log is damaged; verify names the affected events");
    }
    let engine = Arc::new(engine);
    let mut sc = SearchConfig::new(&cfg.data_dir);
    sc.commit_events = cfg.index_commit_events;
    sc.commit_interval = cfg.index_commit_interval;
    let search =
        Arc::new(SearchIndex::open(engine.clone(), sc).context("opening the secondary index")?);
    let key = match &cfg.checkpoint_key {
        Some(path) => SigningKey::load(path, &cfg.log_name),
        None => SigningKey::load_or_create(&cfg.data_dir.join("keys"), &cfg.log_name),
    }
    .context("loading the checkpoint signing key")?;
    tracing::info!(vkey = %key.verifier(), "checkpoint signing key loaded");
    let mut tc = TransparencyConfig::new(&cfg.data_dir);
    tc.checkpoint_interval = cfg.checkpoint_interval;
    let transparency = Arc::new(
        Transparency::open(engine.clone(), storage, tc, key)
            .context("opening the Merkle trees and checkpoints")?,
    );
    Ok((engine, search, transparency))
}

async fn run_async(config: Config) -> anyhow::Result<()> {
    if config.durability != sealog_engine::Durability::Sync {
        tracing::warn!(durability = %config.durability, "durability is not `sync`: a 201 may be sent before the event is on disk; a crash can lose acknowledged events");
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let tls = match &config.tls {
        Some((cert, key)) => Some(serve::tls_acceptor(cert, key)?),
        None => None,
    };
    let cfg = config.clone();
    let (engine, search, transparency, idem, keys, hooks) =
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let (engine, search, transparency) = open_stores(&cfg)?;
            let idem =
                idempotency::Idempotency::open(&cfg.data_dir, &engine, cfg.idempotency_retention);
            let env_token = keys::env_admin_token();
            let keys = keys::KeyStore::open(&cfg.data_dir, env_token.as_deref())?;
            let hooks =
                webhooks::Webhooks::open(&cfg.data_dir, engine.clone(), cfg.webhooks.clone())
                    .context("opening the webhooks")?;
            Ok((engine, search, transparency, idem, keys, hooks))
        })
        .await
        .context("startup task")??;
    let app = Arc::new(app::App {
        engine: engine.clone(),
        search: search.clone(),
        transparency,
        keys,
        idem: idem.clone(),
        metrics: metrics::Metrics::default(),
        export_rate: export::ExportRate::default(),
        config: config.clone(),
        webhooks: Arc::new(hooks),
    });
    app.webhooks.start();
    let checkpointer = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(limits::IDEMPOTENCY_SNAPSHOT_INTERVAL);
            tick.tick().await;
            loop {
                tick.tick().await;
                let app = app.clone();
                let _ = tokio::task::spawn_blocking(move || checkpoint(&app)).await;
            }
        })
    };
    // Before anything is served or said to be: see `shutdown_signal`.
    let shutdown = shutdown_signal();
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(listen = %addr, tls = tls.is_some(), "sealogd is serving");
    serve::serve(listener, app::router(app.clone()), tls, shutdown).await;
    checkpointer.abort();
    app.webhooks.shutdown().await;
    let app2 = app.clone();
    tokio::task::spawn_blocking(move || {
        checkpoint(&app2);
        app2.search.close();
        // Every acknowledged event is durable already: the final checkpoints cover it.
        app2.transparency.close();
        app2.engine.close();
    })
    .await
    .context("shutdown task")?;
    tracing::info!("sealogd stopped; every acknowledged event is on disk");
    Ok(())
}

fn checkpoint(app: &app::App) {
    if let Err(e) = app.idem.checkpoint(&app.engine) {
        tracing::warn!(error = %format!("{e:#}"), "could not save the idempotency snapshot (it is rebuilt from the log if lost)");
    }
    if let Err(e) = app.keys.save() {
        tracing::warn!(error = %format!("{e:#}"), "could not save key last-use times");
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called, before
/// serving, not when the future is first polled: the serve loop's `select!` polls its
/// branches in random order, and a signal that came before its first poll of this
/// future took the default action and killed the process (seen once in CI, as "killed
/// by SIGTERM" instead of a clean stop).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    async fn received(signal: std::io::Result<Signal>) {
        match signal {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    }
    let term = received(signal(SignalKind::terminate()));
    let int = received(signal(SignalKind::interrupt()));
    async move {
        tokio::select! {
            () = int => tracing::info!("SIGINT received"),
            () = term => tracing::info!("SIGTERM received"),
        }
    }
}
