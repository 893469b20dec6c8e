//! `sealog bench-query`: the secondary index's figures on this machine.
//!
//! Loads `--events` realistic events (30 days of traffic, replayed with a hand-set
//! clock so created_at spans the days) into a fresh log while the indexer runs, with
//! `sync` durability (as fast as the appenders take them, or offered at `--rate`);
//! reports how fast the indexer kept up and its largest lag; then
//! runs each query of the issue `--runs` times (caches warm) and reports medians:
//! a user's latest 100 in a 7-day window, symbol + severity, offset 100,000, counts by
//! event type for one day (the summary endpoint: all five groups), and a full-text
//! query on a rare word (`zebrafish`, planted in 20 events). Last line: `key=value`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealog_engine::event::{prepare_event, PreparedEvent};
use sealog_engine::gen::{GenConfig, Generator};
use sealog_engine::search::{Filter, Order, Paging, Query, SearchConfig, SearchIndex};
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Clock, Durability, Engine, EngineConfig, TenantId};

/// Options of `sealog bench-query`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Events to load.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    events: u64,
    /// Tenants to spread them over (queries target the first).
    #[arg(long, default_value_t = 1,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    tenants: usize,
    /// Runs per query (after 3 warm-up runs).
    #[arg(long, default_value_t = 25)]
    runs: usize,
    /// Durability while loading.
    #[arg(long, default_value = "sync")]
    durability: Durability,
    /// Data directory, wiped first: only an empty one, or one a benchmark made (it holds
    /// a SEALOG_BENCH file) that no process uses. Default: a fresh temporary directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Only run the queries, on the events an earlier run left in `--dir` (no wipe, no
    /// load), so queries can be timed and profiled again without reloading.
    #[arg(long, requires = "dir")]
    queries_only: bool,
    /// With `--queries-only`: run only this query (user_week, symbol_sev, offset100k,
    /// count_day or q), e.g. to profile it.
    #[arg(long, requires = "queries_only")]
    only: Option<String>,
    /// Offer the events at this many per second (in requests of 1,000) instead of as
    /// fast as the appenders take them: whether the indexer keeps up with ingest at
    /// that rate (its lag stays bounded) rather than how the two share the CPU when
    /// ingest runs flat out.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    rate: Option<u64>,
    /// The log's newest bytes kept in the page cache, as sealogd's `log-cache-bytes`
    /// (default 1 GiB; 0 drops every page the indexer has committed; a value above the
    /// log's size never drops, as before 2026-11-24).
    #[arg(long, default_value_t = sealog_engine::limits::LOG_CACHE_BYTES_DEFAULT)]
    log_cache_bytes: u64,
}

#[derive(Debug, Default)]
struct GenClock(AtomicI64);

impl Clock for GenClock {
    fn now_us(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Runs the benchmark and prints its figures.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (dir, _temp) = match &args.dir {
        Some(d) if args.queries_only => (
            super::arg::data_dir(&d.to_string_lossy()).map_err(anyhow::Error::msg)?,
            None,
        ),
        d => super::bench_engine::bench_dir(d.as_deref())?,
    };
    let clock = Arc::new(GenClock::default());
    let mut config = EngineConfig::new(&dir);
    config.durability = args.durability;
    config.log_cache_bytes = args.log_cache_bytes;
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    let (engine, _) = Engine::open_with_clock(config, storage, clock.clone())?;
    let engine = Arc::new(engine);
    let search = SearchIndex::open(engine.clone(), SearchConfig::new(&dir))?;
    let tenants: Vec<TenantId> = (0..args.tenants)
        .map(|k| TenantId::new(&format!("tenant_{:02}", k + 1)))
        .collect::<Result<_, _>>()?;
    if args.queries_only {
        let visible = engine.stats().visible_lsn;
        anyhow::ensure!(
            search.wait_committed(visible, Duration::from_secs(600)),
            "the index did not commit everything"
        );
        let layout = search.segment_layout();
        eprintln!("index segments (lowest LSN, highest LSN, documents, in LSN order): {layout:?}");
        let figures = queries(
            &search,
            &engine,
            &tenants[0],
            args.runs,
            args.only.as_deref(),
        )?;
        outln!(
            "events={} {} rss_mib={:.0} rss_anon_mib={:.0}",
            visible.0,
            figures_line(&figures, args.only.as_deref()),
            rss_mib(),
            rss_anon_mib()
        );
        return Ok(());
    }
    let pace = match args.rate {
        Some(r) => format!("{r} events/s offered"),
        None => "as fast as they are taken".to_owned(),
    };
    eprintln!(
        "loading {} events into {} tenant(s), {pace}, while the indexer runs…",
        args.events, args.tenants
    );
    let started = Instant::now();
    let max_lag = AtomicU64::new(0);
    let loaded = std::thread::scope(|s| -> anyhow::Result<f64> {
        let load = s.spawn(|| load(&engine, &clock, &tenants, args.events, args.rate));
        let mut reported = Instant::now();
        while !load.is_finished() {
            let visible = engine.stats().visible_lsn.0;
            let lag = visible.saturating_sub(search.progress().1 .0);
            max_lag.fetch_max(lag, Ordering::Relaxed);
            // Whether the lag is bounded or growing shows in its course, not its maximum.
            if reported.elapsed() >= LAG_REPORT_EVERY {
                reported = Instant::now();
                eprintln!(
                    "  {:>5.1} s: {visible} events appended, the indexer {lag} behind",
                    started.elapsed().as_secs_f64()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        load.join()
            .map_err(|_| anyhow::anyhow!("loader panicked"))??;
        Ok(started.elapsed().as_secs_f64())
    })?;
    // What the indexer had read when the last append returned: its rate beside ingest.
    let read_during_load = search.progress().1 .0;
    let visible = engine.stats().visible_lsn;
    while search.progress().1 < visible {
        let lag = visible.0.saturating_sub(search.progress().1 .0);
        max_lag.fetch_max(lag, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(20));
    }
    let indexed_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        search.wait_committed(visible, Duration::from_secs(600)),
        "the index did not commit everything"
    );
    let committed_s = started.elapsed().as_secs_f64();
    eprintln!("loaded in {loaded:.1} s, read by the indexer in {indexed_s:.1} s, committed in {committed_s:.1} s");
    let figures = queries(&search, &engine, &tenants[0], args.runs, None)?;
    let index_bytes = dir_size(&dir.join("search"))?;
    let n = args.events as f64;
    outln!(
        "events={} tenants={} rate={} index_segments={} ingest_events_per_s={:.0} index_during_ingest_events_per_s={:.0} index_events_per_s={:.0} max_lag_events={} {} index_bytes_per_event={:.1} rss_mib={:.0} rss_anon_mib={:.0}",
        args.events,
        args.tenants,
        args.rate.map_or_else(|| "max".to_owned(), |r| r.to_string()),
        search.segment_layout().len(),
        n / loaded,
        read_during_load as f64 / loaded,
        n / indexed_s,
        max_lag.load(Ordering::Relaxed),
        figures_line(&figures, None),
        index_bytes as f64 / n,
        rss_mib(),
        rss_anon_mib(),
    );
    Ok(())
}

/// Each query's figures as `key=value` pairs: p50 and p99 of the timed runs, and the
/// first run (no segment count cached yet for its filter).
fn figures_line(figures: &[Timing], only: Option<&str>) -> String {
    let names = ["user_week", "symbol_sev", "offset100k", "count_day", "q"];
    names
        .iter()
        .zip(figures)
        .filter(|(n, _)| only.is_none_or(|o| o == **n))
        .map(|(n, t)| {
            format!(
                "{n}_p50_ms={:.3} {n}_p99_ms={:.3} {n}_first_ms={:.3}",
                t.p50, t.p99, t.first
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One query's times, in ms.
struct Timing {
    p50: f64,
    p99: f64,
    /// The first run.
    first: f64,
}

/// How often the load reports the indexer's lag on stderr.
const LAG_REPORT_EVERY: Duration = Duration::from_secs(10);

/// Threads that prepare and append the generated events, as sealogd's HTTP threads do.
/// Eight, like `sealog load`'s eight connections: with fewer the appends wait on
/// fdatasyncs and the load, not the indexer, sets the pace.
const APPENDERS: usize = 8;

/// Generates and appends every event ([`APPENDERS`] appenders, 1,000 per request); the
/// clock follows the generator's timestamps. 20 events get the rare word `zebrafish`.
/// With `rate`, request k is handed over no earlier than k × 1,000 / rate seconds after
/// the start (a late request is sent at once, so the average rate is kept).
fn load(
    engine: &Engine,
    clock: &GenClock,
    tenants: &[TenantId],
    events: u64,
    rate: Option<u64>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let pace = |sent: u64| {
        if let Some(r) = rate {
            let due = started + Duration::from_secs_f64(sent as f64 / r as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    };
    let (tx, rx) = crossbeam_channel::bounded::<(usize, Vec<Vec<u8>>)>(16);
    std::thread::scope(|s| -> anyhow::Result<()> {
        let mut workers = Vec::new();
        for i in 0..APPENDERS {
            let rx = rx.clone();
            // Named, so a profile tells the engine's ingest work (here) from the
            // generator's (the calling thread).
            let appender = std::thread::Builder::new().name(format!("bq-appender-{i}"));
            workers.push(appender.spawn_scoped(s, move || -> anyhow::Result<()> {
                while let Ok((tenant, jsons)) = rx.recv() {
                    let batch: Vec<PreparedEvent> = jsons
                        .iter()
                        .map(|j| {
                            prepare_event(j)
                                .map_err(|e| anyhow::anyhow!("generated event invalid: {e:?}"))
                        })
                        .collect::<anyhow::Result<_>>()?;
                    engine.append(&tenants[tenant], batch)?;
                }
                Ok(())
            })?);
        }
        drop(rx);
        let mut gen = Generator::new(GenConfig {
            count: events,
            with_text: true,
            ..GenConfig::default()
        });
        let rare_every = (events / 20).max(1);
        let mut batch = Vec::with_capacity(1000);
        let mut line = Vec::new();
        let mut i = 0u64;
        let mut k = 0usize;
        while let Some((_, created)) = gen.write_json_into(&mut line) {
            if i % rare_every == rare_every / 2 {
                plant_rare_word(&mut line);
            }
            clock.0.fetch_max(created, Ordering::Relaxed);
            // One allocation of the event's size: `line` is the generator's scratch,
            // kept, so it is not grown from empty again for every event (the harness's
            // own cost, taken from the two cores ingest and the indexer share).
            batch.push(line.clone());
            line.clear();
            i += 1;
            if batch.len() == 1000 {
                pace(i - 1000);
                tx.send((
                    k % tenants.len(),
                    std::mem::replace(&mut batch, Vec::with_capacity(1000)),
                ))?;
                k += 1;
            }
        }
        if !batch.is_empty() {
            pace(i - batch.len() as u64);
            tx.send((k % tenants.len(), batch))?;
        }
        drop(tx);
        for w in workers {
            w.join()
                .map_err(|_| anyhow::anyhow!("appender panicked"))??;
        }
        Ok(())
    })
}

/// Appends " zebrafish" to the event's description.
fn plant_rare_word(json: &mut Vec<u8>) {
    if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(json) {
        let d = v
            .get("event_description")
            .and_then(|d| d.as_str())
            .unwrap_or("")
            .to_owned();
        v["event_description"] = serde_json::Value::String(format!("{d} zebrafish"));
        if let Ok(out) = serde_json::to_vec(&v) {
            *json = out;
        }
    }
}

/// Runs the five queries; (p50, p99) in ms each.
fn queries(
    search: &SearchIndex,
    engine: &Engine,
    tenant: &TenantId,
    runs: usize,
    only: Option<&str>,
) -> anyhow::Result<Vec<Timing>> {
    if let Some(o) = only {
        anyhow::ensure!(
            ["user_week", "symbol_sev", "offset100k", "count_day", "q"].contains(&o),
            "--only {o}: not a query of this benchmark"
        );
    }
    let runs_of = |name: &str| {
        if only.is_none_or(|o| o == name) {
            runs
        } else {
            0
        }
    };
    let uni = sealog_engine::gen::Universe::new(1);
    let hot_user = uni.user_ids().next().unwrap_or_default().to_owned();
    let hot_symbol = uni.symbols().next().unwrap_or_default().to_owned();
    let last = engine
        .get_by_lsn(engine.stats().visible_lsn)?
        .map(|e| e.created_at_us)
        .unwrap_or(0);
    let day = 86_400_000_000i64;
    let base = Filter::tenant(tenant.clone());
    let page = |filter: Filter, offset: u64| Query {
        filter,
        order: Order::Desc,
        paging: Paging::Offset(offset),
        limit: 100,
    };
    let user_week = page(
        Filter {
            user_id: Some(hot_user),
            start_us: Some(last - 7 * day),
            end_us: Some(last + 1),
            ..base.clone()
        },
        0,
    );
    let symbol_sev = page(
        Filter {
            symbol: Some(hot_symbol),
            severity: Some("high".into()),
            ..base.clone()
        },
        0,
    );
    let offset = page(base.clone(), 100_000);
    let one_day = Filter {
        start_us: Some(last - 2 * day),
        end_us: Some(last - day),
        ..base.clone()
    };
    let rare = page(
        Filter {
            q: vec!["zebrafish".into()],
            ..base.clone()
        },
        0,
    );
    // The same queries can be sent through HTTP (docs/BENCHMARKS.md compares the two).
    eprintln!(
        "queries: tenant={} user_id={} symbol={} week_start_us={} day_start_us={} end_us={}",
        tenant.as_str(),
        user_week.filter.user_id.as_deref().unwrap_or(""),
        symbol_sev.filter.symbol.as_deref().unwrap_or(""),
        last - 7 * day,
        last - 2 * day,
        last + 1
    );
    let mut out = Vec::new();
    for (name, q) in [
        ("user_week", &user_week),
        ("symbol_sev", &symbol_sev),
        ("offset100k", &offset),
    ] {
        let (t, total) = time(runs_of(name), || Ok(search.query(q)?.total))?;
        eprintln!(
            "{name}: total {total}, p50 {:.3} ms, p99 {:.3} ms, first {:.3} ms",
            t.p50, t.p99, t.first
        );
        out.push(t);
    }
    let (t, total) = time(runs_of("count_day"), || Ok(search.summary(&one_day)?.total))?;
    eprintln!(
        "count_day (summary, 5 groups): total {total}, p50 {:.3} ms, p99 {:.3} ms, first {:.3} ms",
        t.p50, t.p99, t.first
    );
    // The figures are only worth something if the answers are right: with one tenant,
    // the day's count is the length of the day's LSN range in the log.
    let day_lsns = engine.lsn_range_of_time(last - 2 * day, last - day);
    let in_log = day_lsns.end.0 - day_lsns.start.0;
    if engine.tenants().len() == 1 && runs_of("count_day") > 0 {
        anyhow::ensure!(
            total == in_log,
            "count_day counted {total} events, but the log holds {in_log} in that day"
        );
    }
    out.push(t);
    let (t, total) = time(runs_of("q"), || Ok(search.query(&rare)?.total))?;
    eprintln!(
        "q rare word: total {total}, p50 {:.3} ms, p99 {:.3} ms, first {:.3} ms",
        t.p50, t.p99, t.first
    );
    out.push(t);
    Ok(out)
}

fn time(runs: usize, mut f: impl FnMut() -> anyhow::Result<u64>) -> anyhow::Result<(Timing, u64)> {
    if runs == 0 {
        let none = Timing {
            p50: 0.0,
            p99: 0.0,
            first: 0.0,
        };
        return Ok((none, 0));
    }
    let t = Instant::now();
    let mut total = f()?;
    let first = t.elapsed().as_secs_f64() * 1000.0;
    for _ in 0..2 {
        total = f()?;
    }
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        total = f()?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    let timing = Timing {
        p50: ms[ms.len() / 2],
        p99: ms[(ms.len() * 99 / 100).min(ms.len() - 1)],
        first,
    };
    Ok((timing, total))
}

fn dir_size(dir: &std::path::Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        total += e.metadata()?.len();
    }
    Ok(total)
}

fn rss_mib() -> f64 {
    status_mib("VmRSS:")
}

/// Anonymous memory only: the heap, without the pages of the log's mmapped segment
/// files that VmRSS also counts (page cache the kernel reclaims under pressure).
fn rss_anon_mib() -> f64 {
    status_mib("RssAnon:")
}

fn status_mib(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
