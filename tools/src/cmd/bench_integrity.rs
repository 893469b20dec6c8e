//! `sealog bench-integrity`: the transparency log's figures on this machine.
//!
//! One tenant receives `--events` realistic events through the engine (durability
//! `sync`) while the Merkle follower grows its tree and signs checkpoints (default every
//! second). First `--load-seconds` at a paced `--rate` events/s, sampling every 100 ms
//! how long an acknowledged event waits for a checkpoint to cover it; then the rest as
//! fast as the engine takes them. Then, on the whole chain: hashes and links alone, and
//! verify-chain as the server runs it (every hash and link, and the Merkle audit of the
//! stored nodes and every checkpoint, from one read of the log on all cores); random
//! inclusion and consistency proofs; and the Merkle state's bytes per event.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::{Rng, SeedableRng};
use sealog_engine::merkle::checkpoints::CheckpointFile;
use sealog_engine::merkle::note::SigningKey;
use sealog_engine::merkle::{Transparency, TransparencyConfig};
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Durability, Engine, EngineConfig, Seq};

use super::bench_engine::{bench_dir, build_pool};

/// Options of `sealog bench-integrity`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events to append (all to one tenant).
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Paced rate for the checkpoint-coverage phase, events/s.
    #[arg(long, default_value_t = 100_000)]
    rate: u64,
    /// Length of the paced phase, seconds.
    #[arg(long, default_value_t = 10)]
    load_seconds: u64,
    /// Concurrent appender threads.
    #[arg(long, default_value_t = 8)]
    appenders: usize,
    /// Events per append request.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Checkpoint interval, ms (100 to 60,000, as sealogd's `checkpoint-interval-ms`).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..=60_000))]
    checkpoint_ms: u64,
    /// Random proofs of each kind to time.
    #[arg(long, default_value_t = 2000)]
    proofs: usize,
    /// Data directory, wiped first: only an empty one, or one a benchmark made (it holds
    /// a SEALOG_BENCH file) that no process uses. Default: a fresh temporary directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep `--dir` as a previous run left it and only time verify-chain over its one
    /// tenant (for profiling verification without appending again).
    #[arg(long, requires = "dir")]
    verify_only: bool,
}

/// Runs the benchmark and prints its figures.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.appenders >= 1 && args.batch >= 1 && args.rate >= 1 && args.events >= 1,
        "events, rate, appenders and batch must be at least 1"
    );
    if args.verify_only {
        return verify_only(&args);
    }
    let (dir, _temp) = bench_dir(args.dir.as_deref())?;
    eprintln!("preparing events…");
    let pool = build_pool(200_000, args.events, 1)?;
    let (tenant, events) = &pool.by_tenant[0];
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    let mut config = EngineConfig::new(&dir);
    config.durability = Durability::Sync;
    let (engine, _) = Engine::open(config, storage.clone())?;
    let engine = Arc::new(engine);
    let key = SigningKey::load_or_create(&dir.join("keys"), "sealog")?;
    let mut tc = TransparencyConfig::new(&dir);
    tc.checkpoint_interval = Duration::from_millis(args.checkpoint_ms);
    let transparency = Transparency::open(engine.clone(), storage.clone(), tc, key)?;

    // Appenders: the first `paced` events at `rate`, the rest unpaced.
    let paced = args.events.min(args.rate * args.load_seconds);
    eprintln!(
        "appending {} events: {paced} at {}/s (sampling checkpoint coverage), then the rest unpaced…",
        args.events, args.rate
    );
    let issued = AtomicU64::new(0);
    let started = Instant::now();
    let mut coverage_ms: Vec<f64> = Vec::new();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..args.appenders)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let from = issued.fetch_add(args.batch as u64, Ordering::Relaxed);
                        if from >= args.events {
                            return Ok(());
                        }
                        if from < paced {
                            let due = Duration::from_secs_f64(from as f64 / args.rate as f64);
                            if let Some(wait) = due.checked_sub(started.elapsed()) {
                                std::thread::sleep(wait);
                            }
                        }
                        let n = (args.events - from).min(args.batch as u64) as usize;
                        let batch = (0..n)
                            .map(|i| events[(from as usize + i) % events.len()].clone())
                            .collect();
                        engine.append(tenant, batch)?;
                    }
                })
            })
            .collect();
        // Sampler: every 100 ms of the paced phase, the acknowledged head and when it
        // was seen; a checkpoint covering it ends its wait.
        let mut pending: Vec<(Instant, u64)> = Vec::new();
        let mut next_sample = Instant::now();
        while issued.load(Ordering::Relaxed) < paced || !pending.is_empty() {
            let now = Instant::now();
            if now >= next_sample && issued.load(Ordering::Relaxed) < paced {
                let head = engine.chain_head(tenant).seq.0;
                if head > 0 {
                    pending.push((now, head));
                }
                next_sample = now + Duration::from_millis(100);
            }
            let covered = transparency
                .latest_checkpoint(tenant)?
                .map_or(0, |c| c.size);
            pending.retain(|&(t, seq)| {
                if seq <= covered {
                    coverage_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                    false
                } else {
                    true
                }
            });
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(3600),
                "checkpoints stopped covering events"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("appender panicked"))??;
        }
        Ok(())
    })?;
    let append_s = started.elapsed().as_secs_f64();
    eprintln!("waiting for a checkpoint of all {} events…", args.events);
    while transparency
        .latest_checkpoint(tenant)?
        .map_or(0, |c| c.size)
        < args.events
    {
        std::thread::sleep(Duration::from_millis(20));
    }

    eprintln!(
        "verify-chain over the whole chain (hashes and links alone, then with the Merkle audit)…"
    );
    let (chain_s, total_s) = time_verifications(&engine, &transparency, tenant, args.events)?;

    eprintln!("timing {} inclusion and consistency proofs…", args.proofs);
    let merkle_dir = dir.join("merkle");
    let ckpts = CheckpointFile::open(storage.as_ref(), &merkle_dir, tenant, false)?
        .context("no checkpoint file")?;
    let sizes: Vec<u64> = (0..ckpts.count())
        .map(|k| ckpts.get(k).map(|c| c.size))
        .collect::<Result<_, _>>()?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut inclusion = Vec::with_capacity(args.proofs);
    let mut consistency = Vec::with_capacity(args.proofs);
    for _ in 0..args.proofs {
        let size = sizes[rng.random_range(0..sizes.len())];
        let seq = Seq(rng.random_range(1..=size));
        let t = Instant::now();
        let p = transparency.inclusion(tenant, seq, Some(size))?;
        inclusion.push(t.elapsed().as_secs_f64() * 1e6);
        anyhow::ensure!(p.tree_size == size);
        let (a, b) = (
            sizes[rng.random_range(0..sizes.len())],
            sizes[rng.random_range(0..sizes.len())],
        );
        let t = Instant::now();
        transparency.consistency(tenant, a.min(b), a.max(b))?;
        consistency.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let merkle_bytes: u64 = std::fs::read_dir(&merkle_dir)?
        .map(|e| e.and_then(|e| e.metadata()).map(|m| m.len()))
        .sum::<Result<u64, _>>()?;
    transparency.close();
    engine.close();

    let n = args.events as f64;
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    outln!(
        "events={} rate={} append_events_per_s={:.0} checkpoints={} coverage_p50_ms={:.0} coverage_max_ms={:.0} verify_chain_events_per_s={:.0} verify_chain_total_events_per_s={:.0} inclusion_p50_us={:.1} inclusion_p99_us={:.1} consistency_p50_us={:.1} consistency_p99_us={:.1} merkle_bytes_per_event={:.1}",
        args.events,
        args.rate,
        n / append_s,
        sizes.len(),
        pct(&mut coverage_ms, 0.5),
        pct(&mut coverage_ms, 1.0),
        n / chain_s,
        n / total_s,
        pct(&mut inclusion, 0.5),
        pct(&mut inclusion, 0.99),
        pct(&mut consistency, 0.5),
        pct(&mut consistency, 0.99),
        merkle_bytes as f64 / n,
    );
    Ok(())
}

/// `--verify-only`: verify-chain (hashes and links, then the Merkle audit) over the one
/// tenant of a data directory a previous run left.
fn verify_only(args: &Args) -> anyhow::Result<()> {
    let dir = args.dir.clone().context("--verify-only needs --dir")?;
    let dir = super::arg::data_dir(&dir.to_string_lossy()).map_err(anyhow::Error::msg)?;
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    let (engine, _) = Engine::open(EngineConfig::new(&dir), storage.clone())?;
    let engine = Arc::new(engine);
    let tenants = engine.tenants();
    let [tenant] = tenants.as_slice() else {
        anyhow::bail!(
            "{} holds {} tenants; a bench-integrity run leaves one",
            dir.display(),
            tenants.len()
        );
    };
    let events = engine.chain_head(tenant).seq.0;
    let key = SigningKey::load_or_create(&dir.join("keys"), "sealog")?;
    let transparency =
        Transparency::open(engine.clone(), storage, TransparencyConfig::new(&dir), key)?;
    let (chain_s, total_s) = time_verifications(&engine, &transparency, tenant, events)?;
    transparency.close();
    engine.close();
    let n = events as f64;
    outln!(
        "events={events} verify_chain_events_per_s={:.0} verify_chain_total_events_per_s={:.0}",
        n / chain_s,
        n / total_s,
    );
    Ok(())
}

/// Times, in seconds, hashes and links alone over the tenant's whole chain, then
/// verify-chain as sealogd runs it on a whole chain (every hash and link, and the Merkle
/// audit of the stored nodes and checkpoints, from one read); each must find the
/// tenant's `events` events intact.
fn time_verifications(
    engine: &Engine,
    transparency: &Transparency,
    tenant: &sealog_engine::TenantId,
    events: u64,
) -> anyhow::Result<(f64, f64)> {
    let intact = |report: &sealog_engine::verify::VerifyReport, what: &str| {
        anyhow::ensure!(
            report.faults.is_empty() && report.events == events,
            "{what}: {} events, faults {:?}",
            report.events,
            report.faults.first()
        );
        Ok(())
    };
    let t = Instant::now();
    let report = engine.verify_tenant(tenant, Seq(1), Seq(events), true);
    let chain_s = t.elapsed().as_secs_f64();
    intact(&report, "hashes and links")?;
    let t = Instant::now();
    let (report, audit) = transparency.verify_chain(tenant)?;
    let total_s = t.elapsed().as_secs_f64();
    intact(&report, "verify-chain")?;
    anyhow::ensure!(
        audit.faults.is_empty() && audit.leaves == events,
        "Merkle audit: {} of {events} leaves, faults {:?}",
        audit.leaves,
        audit.faults.first()
    );
    Ok((chain_s, total_s))
}
