//! `sealog reindex --data-dir DIR`: drops the secondary index and rebuilds it from the
//! log, with progress. sealogd must not be running on DIR (the data directory is
//! locked while it is).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sealog_engine::search::{SearchConfig, SearchIndex};
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Engine, EngineConfig};

/// Options of `sealog reindex`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data directory.
    #[arg(long)]
    data_dir: PathBuf,
}

/// Rebuilds the index.
pub fn run(args: Args) -> anyhow::Result<()> {
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    let (engine, report) = Engine::open(EngineConfig::new(&args.data_dir), storage)
        .with_context(|| format!("opening {}", args.data_dir.display()))?;
    let engine = Arc::new(engine);
    let config = SearchConfig::new(&args.data_dir);
    if config.dir.exists() {
        std::fs::remove_dir_all(&config.dir)
            .with_context(|| format!("removing {}", config.dir.display()))?;
    }
    let target = engine.stats().visible_lsn;
    eprintln!("rebuilding the index of {} events…", report.events);
    let started = Instant::now();
    let search = SearchIndex::open(engine.clone(), config)?;
    let bar = indicatif::ProgressBar::new(target.0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    while search.progress().0 < target {
        bar.set_position(search.progress().1 .0);
        if let Some(failure) = search.failure() {
            bar.println(format!("indexer failing: {failure}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    search.close();
    println!(
        "events={} reindex_s={:.2} index_events_per_s={:.0}",
        target.0,
        secs,
        target.0 as f64 / secs.max(1e-9)
    );
    Ok(())
}
