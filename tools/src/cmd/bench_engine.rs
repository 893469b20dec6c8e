//! `sealog bench-engine`: the storage engine's figures on this machine.
//!
//! Appends `--events` realistic events (the generator's ~840-byte trading events) from
//! `--appenders` threads in requests of `--batch` events, with the chosen durability
//! (default `sync`: every request returns only after its fdatasync); then closes,
//! reopens (recovery time) and verifies the whole log (every CRC, hash and chain link,
//! on all cores). Events are validated and canonicalized before the timed part (that
//! cost is reported separately as `prepare_events_per_s`); the timed part is the engine:
//! sequencing, hashing, framing, writing, syncing, publishing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use sealog_engine::event::{prepare_event, PreparedEvent};
use sealog_engine::gen::{GenConfig, Generator};
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Durability, Engine, EngineConfig, Lsn, TenantId};

/// Options of `sealog bench-engine`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events to append.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Tenants the events are spread over.
    #[arg(long, default_value_t = 20)]
    tenants: usize,
    /// Concurrent appender threads.
    #[arg(long, default_value_t = 8)]
    appenders: usize,
    /// Events per append request.
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Durability policy: sync, interval:<ms> or none.
    #[arg(long, default_value = "sync")]
    durability: Durability,
    /// Segment size in bytes.
    #[arg(long, default_value_t = 256 * 1024 * 1024)]
    segment_bytes: u64,
    /// Distinct prepared events to cycle through (memory: ~1 KiB each).
    #[arg(long, default_value_t = 200_000)]
    pool: usize,
    /// Data directory, wiped first: only an empty one, or one a benchmark made (it holds
    /// a SEALOG_BENCH file) that no process uses. Default: a fresh temporary directory.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Prepared events per tenant, cycled through by the appenders.
pub(crate) struct Pool {
    pub(crate) by_tenant: Vec<(TenantId, Vec<PreparedEvent>)>,
    pub(crate) prepare_per_s: f64,
    pub(crate) mean_json_bytes: f64,
}

/// Runs the benchmark and prints its figures.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.events >= 1 && args.tenants >= 1 && args.appenders >= 1 && args.batch >= 1,
        "events, tenants, appenders and batch must be at least 1"
    );
    let (dir, _temp) = bench_dir(args.dir.as_deref())?;
    eprintln!(
        "preparing {} distinct events over {} tenants…",
        args.pool.min(args.events as usize),
        args.tenants
    );
    let pool = build_pool(args.pool, args.events, args.tenants)?;
    let mut config = EngineConfig::new(&dir);
    config.durability = args.durability;
    config.segment_bytes = args.segment_bytes;
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    let (engine, _) = Engine::open(config.clone(), storage.clone())?;
    eprintln!(
        "appending {} events from {} appenders, {} per request, durability {}…",
        args.events, args.appenders, args.batch, args.durability
    );
    let started = Instant::now();
    let mut latencies = append_all(&engine, &pool, &args)?;
    let append_s = started.elapsed().as_secs_f64();
    let log_bytes = engine.stats().log_bytes;
    engine.close();
    drop(engine);
    let disk_bytes = dir_bytes(&dir.join("wal"))?;
    eprintln!("reopening…");
    let t = Instant::now();
    let (engine, report) = Engine::open(config, storage)?;
    let recover_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.events == args.events,
        "reopened log holds {} events, expected {}",
        report.events,
        args.events
    );
    eprintln!("verifying every frame, hash and link…");
    let t = Instant::now();
    let verified = engine.verify(Lsn(1)..Lsn(u64::MAX));
    let verify_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        verified.faults.is_empty(),
        "verification found {} faults, first: {:?}",
        verified.faults.len(),
        verified.faults.first()
    );
    anyhow::ensure!(
        verified.events == args.events,
        "verified {} events, expected {}",
        verified.events,
        args.events
    );
    eprintln!("looking up random events by id…");
    let (lookup_p50_us, lookup_p99_us) = lookups(&engine, args.events)?;
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    let n = args.events as f64;
    eprintln!(
        "log: {:.1} MiB of frames, {:.1} MiB on disk incl. indexes; mean event JSON {:.0} B",
        log_bytes as f64 / 1048576.0,
        disk_bytes as f64 / 1048576.0,
        pool.mean_json_bytes
    );
    outln!(
        "events={} tenants={} appenders={} batch={} durability={} events_per_s={:.0} mb_per_s={:.1} p50_us={} p99_us={} recover_s={:.3} scan_verify_events_per_s={:.0} lookup_id_p50_us={:.1} lookup_id_p99_us={:.1} bytes_per_event={:.1} prepare_events_per_s={:.0}",
        args.events,
        args.tenants,
        args.appenders,
        args.batch,
        args.durability,
        n / append_s,
        log_bytes as f64 / 1e6 / append_s,
        pct(0.50),
        pct(0.99),
        recover_s,
        n / verify_s,
        lookup_p50_us,
        lookup_p99_us,
        disk_bytes as f64 / n,
        pool.prepare_per_s,
    );
    Ok(())
}

/// The file that marks a directory a benchmark made: a later benchmark may wipe such a
/// directory, and no other.
const BENCH_MARKER: &str = "SEALOG_BENCH";

/// The benchmark's data directory: `dir` wiped (only if it is empty or an earlier
/// benchmark made it, and no process holds its lock), or a fresh temporary directory
/// here (removed when the returned guard drops).
pub(crate) fn bench_dir(
    dir: Option<&Path>,
) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match dir {
        Some(d) => {
            if let Ok(meta) = std::fs::symlink_metadata(d) {
                anyhow::ensure!(
                    !meta.file_type().is_symlink(),
                    "{} is a symbolic link: give the directory itself, which the benchmark wipes",
                    d.display()
                );
            }
            if d.exists() {
                anyhow::ensure!(
                    !d.join("keys.json").exists(),
                    "sealogd has run on {} (it holds keys.json): a benchmark will not wipe it",
                    d.display()
                );
                let empty = std::fs::read_dir(d)
                    .with_context(|| format!("reading {}", d.display()))?
                    .next()
                    .is_none();
                anyhow::ensure!(
                    empty || d.join(BENCH_MARKER).is_file(),
                    "{} exists and no `sealog bench-*` run made it (it has no {BENCH_MARKER} file): \
                     a benchmark wipes its --dir, so name a new directory",
                    d.display()
                );
                if d.join("LOCK").exists() {
                    // A benchmark still running there holds the lock.
                    let _held = FileStorage
                        .lock(&d.join("LOCK"))
                        .with_context(|| format!("{} is in use by another process", d.display()))?;
                }
                std::fs::remove_dir_all(d).with_context(|| format!("wiping {}", d.display()))?;
            }
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            std::fs::write(
                d.join(BENCH_MARKER),
                "made by a sealog benchmark; the next may wipe it\n",
            )
            .with_context(|| format!("marking {}", d.display()))?;
            Ok((d.to_path_buf(), None))
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("sealog-bench-")
                .tempdir_in(".")?;
            Ok((temp.path().to_path_buf(), Some(temp)))
        }
    }
}

/// Generates and prepares `pool` (at most `events`) realistic events over `tenants`.
pub(crate) fn build_pool(pool: usize, events: u64, tenants: usize) -> anyhow::Result<Pool> {
    let count = pool.min(events as usize).max(1);
    let mut gen = Generator::new(GenConfig {
        count: count as u64,
        ..GenConfig::default()
    });
    let mut jsons = Vec::with_capacity(count);
    let mut owners = Vec::with_capacity(count);
    let mut line = Vec::new();
    while let Some((tenant, _)) = gen.write_json_into(&mut line) {
        let k: usize = tenant.trim_start_matches("tenant_").parse().unwrap_or(1);
        owners.push((k.saturating_sub(1)) % tenants);
        jsons.push(std::mem::take(&mut line));
    }
    let mean_json_bytes =
        jsons.iter().map(Vec::len).sum::<usize>() as f64 / jsons.len().max(1) as f64;
    let t = Instant::now();
    let mut prepared = Vec::with_capacity(jsons.len());
    for (i, json) in jsons.iter().enumerate() {
        let ev = prepare_event(json)
            .map_err(|e| anyhow::anyhow!("generated event {i} is invalid: {e:?}"))?;
        prepared.push(ev);
    }
    let prepare_per_s = jsons.len() as f64 / t.elapsed().as_secs_f64();
    let mut by_tenant: Vec<(TenantId, Vec<PreparedEvent>)> = (0..tenants)
        .map(|k| TenantId::new(&format!("tenant_{:02}", k + 1)).map(|t| (t, Vec::new())))
        .collect::<Result<_, _>>()?;
    for (ev, k) in prepared.into_iter().zip(owners) {
        by_tenant[k].1.push(ev);
    }
    // A tenant the pool gave no events borrows from the first non-empty one.
    let spare: Vec<PreparedEvent> = by_tenant
        .iter()
        .find(|(_, v)| !v.is_empty())
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    for (_, v) in by_tenant.iter_mut().filter(|(_, v)| v.is_empty()) {
        v.clone_from(&spare);
    }
    Ok(Pool {
        by_tenant,
        prepare_per_s,
        mean_json_bytes,
    })
}

/// Appends every event; returns the latency of each request in µs.
fn append_all(engine: &Engine, pool: &Pool, args: &Args) -> anyhow::Result<Vec<u64>> {
    let issued = AtomicU64::new(0);
    let requests = AtomicU64::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..args.appenders)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<Vec<u64>> {
                    let mut lat = Vec::new();
                    loop {
                        let from = issued.fetch_add(args.batch as u64, Ordering::Relaxed);
                        if from >= args.events {
                            return Ok(lat);
                        }
                        let n = (args.events - from).min(args.batch as u64) as usize;
                        let r = requests.fetch_add(1, Ordering::Relaxed) as usize;
                        let (tenant, events) = &pool.by_tenant[r % pool.by_tenant.len()];
                        let start = (r / pool.by_tenant.len()) * n;
                        let batch: Vec<PreparedEvent> = (0..n)
                            .map(|i| events[(start + i) % events.len()].clone())
                            .collect();
                        let t = Instant::now();
                        engine.append(tenant, batch)?;
                        lat.push(t.elapsed().as_micros() as u64);
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for w in workers {
            all.extend(
                w.join()
                    .map_err(|_| anyhow::anyhow!("appender panicked"))??,
            );
        }
        Ok(all)
    })
}

/// Looks up 10,000 random events by id (ids gathered first, untimed); p50 and p99 in µs.
fn lookups(engine: &Engine, events: u64) -> anyhow::Result<(f64, f64)> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut ids = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        let lsn = Lsn(rng.random_range(1..=events));
        let ev = engine
            .get_by_lsn(lsn)?
            .ok_or_else(|| anyhow::anyhow!("lsn {lsn} missing"))?;
        ids.push((ev.id, lsn));
    }
    let mut took = Vec::with_capacity(ids.len());
    for (id, lsn) in &ids {
        let t = Instant::now();
        let ev = engine.get_by_id(id)?;
        took.push(t.elapsed().as_nanos() as f64 / 1000.0);
        anyhow::ensure!(
            ev.map(|e| e.lsn) == Some(*lsn),
            "id {id} did not find lsn {lsn}"
        );
    }
    took.sort_by(f64::total_cmp);
    Ok((took[took.len() / 2], took[took.len() * 99 / 100]))
}

fn dir_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let len = entry.metadata()?.len();
        // The active segment is preallocated: count its data, not its zeros; the spare
        // segment (`*.tmp`) holds no data yet.
        if name.ends_with(".tmp") {
            continue;
        }
        total += if name.ends_with(".seg") {
            data_len(&entry.path(), len)?
        } else {
            len
        };
    }
    Ok(total)
}

fn data_len(path: &Path, len: u64) -> anyhow::Result<u64> {
    let bytes = std::fs::read(path)?;
    Ok(bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(len, |p| p as u64 + 1))
}
