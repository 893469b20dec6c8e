//! `sealog reindex --data-dir DIR`: drops the secondary index and rebuilds it from the
//! log, with progress. sealogd must not be running on DIR (the data directory is
//! locked while it is).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::ProgressBar;
use sealog_engine::search::{SearchConfig, SearchIndex};
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Engine, EngineConfig};

/// How long the rebuild waits on an indexer that keeps failing (it retries every
/// second) with no commit before it gives up: long enough for a passing fault, short
/// enough that a full disk or a broken directory ends the command with its cause.
const FAILING_WITHOUT_PROGRESS_MAX: Duration = Duration::from_secs(30);
/// How often progress is read.
const PROGRESS_TICK: Duration = Duration::from_millis(100);

/// Options of `sealog reindex`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The data directory.
    #[arg(long, value_parser = super::arg::data_dir)]
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
    let plural = if report.events == 1 { "" } else { "s" };
    eprintln!("rebuilding the index of {} event{plural}…", report.events);
    let started = Instant::now();
    let search = SearchIndex::open(engine.clone(), config)?;
    let bar = ProgressBar::new(target.0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let watched = watch(
        target.0,
        || {
            let (committed, processed) = search.progress();
            (committed.0, processed.0)
        },
        || search.failure(),
        &bar,
        FAILING_WITHOUT_PROGRESS_MAX,
        PROGRESS_TICK,
    );
    if let Err(e) = watched {
        bar.abandon();
        return Err(e);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    search.close();
    outln!(
        "events={} reindex_s={:.2} index_events_per_s={:.0}",
        target.0,
        secs,
        target.0 as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// Waits until `progress` (committed, processed) has committed `target`, showing it on
/// `bar`. A failure is printed when it first appears (again only after a commit); if
/// the indexer is failing and has committed nothing for `failing_max`, gives up with it.
fn watch(
    target: u64,
    mut progress: impl FnMut() -> (u64, u64),
    mut failure: impl FnMut() -> Option<String>,
    bar: &ProgressBar,
    failing_max: Duration,
    tick: Duration,
) -> anyhow::Result<()> {
    let mut shown: Option<String> = None;
    let (mut committed_before, mut committed_at) = (progress().0, Instant::now());
    loop {
        let (committed, processed) = progress();
        if committed >= target {
            return Ok(());
        }
        bar.set_position(processed);
        if committed != committed_before {
            (committed_before, committed_at) = (committed, Instant::now());
            // Printed once per stall: the indexer clears its failure while it retries.
            shown = None;
        }
        if let Some(f) = failure() {
            if committed_at.elapsed() >= failing_max {
                anyhow::bail!(
                    "the indexer committed nothing for {failing_max:?} while failing \
                     ({committed} of {target} events committed): {f}"
                );
            }
            if shown.as_ref() != Some(&f) {
                bar.suspend(|| eprintln!("indexer failing, retrying every second: {f}"));
                shown = Some(f);
            }
        }
        std::thread::sleep(tick);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const TICK: Duration = Duration::from_millis(1);

    #[test]
    fn returns_once_the_target_is_committed() {
        let step = Cell::new(0u64);
        let progress = || {
            step.set(step.get() + 10);
            (step.get(), step.get() + 5)
        };
        let bar = ProgressBar::hidden();
        watch(100, progress, || None, &bar, Duration::from_secs(60), TICK).unwrap();
        assert_eq!(step.get(), 100);
    }

    #[test]
    fn a_failure_that_commits_nothing_ends_the_wait_with_its_cause() {
        let bar = ProgressBar::hidden();
        let e = watch(
            100,
            || (40, 70),
            || Some("No space left on device".to_owned()),
            &bar,
            Duration::from_millis(30),
            TICK,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("No space left on device"), "{e}");
        assert!(e.contains("40 of 100 events committed"), "{e}");
    }

    #[test]
    fn a_failing_indexer_that_still_commits_is_waited_for() {
        // It fails on every look but commits a little between: never stalled long.
        let step = Cell::new(0u64);
        let progress = || {
            step.set(step.get() + 1);
            (step.get(), step.get())
        };
        let bar = ProgressBar::hidden();
        watch(
            50,
            progress,
            || Some("transient".to_owned()),
            &bar,
            Duration::from_millis(500),
            TICK,
        )
        .unwrap();
    }
}
