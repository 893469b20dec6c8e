//! The `sealog load` command: options, the run, the report.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::task::JoinSet;

use super::pool::Pool;
use super::report::{self, RunInfo, Stats};
use super::rss::RssSampler;
use super::schedule::{request_interval, Schedule};
use super::worker::{tenant_headers, work, Plan};
use crate::client::{Conn, Endpoint};
use crate::cmd::arg;

/// Most connections.
const CONCURRENCY_MAX: usize = 4096;
/// Most events per batch request: sealogd's limit.
const BATCH_EVENTS_MAX: usize = 10_000;
/// Most tenants rotated through.
const TENANTS_MAX: usize = 100_000;
/// Most threads driving the connections.
const THREADS_MAX: usize = 256;

/// Options of `sealog load`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// sealogd's base URL (http:// only).
    #[arg(long)]
    url: String,
    /// API key: writer or admin (auditor or admin with --mix-queries); all-tenants
    /// with --tenants > 1.
    #[arg(long, env = "SEALOG_TOKEN", hide_env_values = true)]
    token: String,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Events per request: 1 posts single events, more posts NDJSON batches.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Measured time, after the warm-up.
    #[arg(long, default_value = "30s", value_parser = arg::duration)]
    duration: Duration,
    /// Target events/s in total, requests paced at fixed intervals and latency taken
    /// from each request's intended send time; 0 sends as fast as answers come back.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Tenants: with more than 1, requests rotate X-Tenant-Id load-0..load-{N-1}.
    #[arg(long, default_value_t = 1)]
    tenants: usize,
    /// Seed of the generated events and of the request mix.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Time sent but not measured before the measured time.
    #[arg(long, default_value = "2s", value_parser = arg::duration)]
    warmup: Duration,
    /// Percentage of requests that are queries (GET /api/audit-logs?limit=100&user_id=…).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    mix_queries: u8,
    /// Sample this process's resident memory every second and report it.
    #[arg(long)]
    report_rss_pid: Option<u32>,
    /// Longest wait for one request's whole response.
    #[arg(long, default_value = "30s", value_parser = arg::duration)]
    timeout: Duration,
    /// Distinct events generated before the clock starts and cycled through.
    #[arg(long, default_value_t = 50_000)]
    pool: usize,
    /// Give events an event_description (full-text indexing load).
    #[arg(long)]
    with_text: bool,
    /// Threads driving the connections. 1 runs them all on this thread: on a machine
    /// shared with the server that takes the least CPU per request (each extra thread
    /// parks and wakes between answers); more only when one core cannot keep up.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Runs the load and prints the report.
pub fn run(args: Args) -> anyhow::Result<()> {
    check(&args)?;
    let endpoint = Arc::new(Endpoint::parse(&args.url, &args.token)?);
    eprintln!("generating {} events…", args.pool.max(args.batch));
    let pool = Pool::generate(args.pool, args.batch, args.seed, args.with_text);
    eprintln!(
        "{} bodies of {} events, {:.0} bytes per event on average",
        pool.bodies.len(),
        pool.batch,
        pool.event_bytes_mean
    );
    let interval = request_interval(args.rate, args.batch, args.mix_queries);
    let runtime = runtime(args.threads)?;
    let rss = args.report_rss_pid.map(RssSampler::start).transpose()?;
    eprintln!(
        "{} connections to {} for {:?} after {:?} of warm-up, {}…",
        args.concurrency,
        endpoint.authority(),
        args.duration,
        args.warmup,
        match interval {
            Some(i) => format!("one request every {i:?}"),
            None => "unthrottled".to_owned(),
        }
    );
    let plan = Arc::new(Plan {
        pool,
        schedule: Schedule::new(Instant::now(), args.warmup, args.duration, interval),
        tenants: tenant_headers(args.tenants),
        query_pct: args.mix_queries,
        seed: args.seed,
        next: AtomicU64::new(0),
        errors_shown: AtomicU64::new(0),
    });
    let stats = runtime.block_on(drive(
        endpoint,
        plan.clone(),
        args.concurrency,
        args.timeout,
    ))?;
    let rss = rss.map(RssSampler::finish).transpose()?;
    let run = RunInfo {
        concurrency: args.concurrency,
        batch: args.batch,
        query_pct: args.mix_queries,
        measured: measured(&stats, &plan.schedule, args.duration),
    };
    eprintln!(
        "{}",
        report::summary(&stats, &run, rss.as_ref(), args.report_rss_pid)
    );
    outln!("{}", report::line(&stats, &run, rss.as_ref()));
    // A run that measured nothing, or whose every request (or every ingest) failed,
    // says so in the exit status too.
    anyhow::ensure!(stats.requests > 0, "no request was measured");
    anyhow::ensure!(
        stats.errors < stats.requests,
        "every one of the {} measured requests failed (the outcomes are above)",
        stats.requests
    );
    anyhow::ensure!(
        args.mix_queries == 100 || stats.events > 0,
        "no event was acknowledged (the outcomes are above)"
    );
    Ok(())
}

fn check(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=CONCURRENCY_MAX).contains(&args.concurrency),
        "--concurrency must be 1..={CONCURRENCY_MAX}"
    );
    anyhow::ensure!(
        (1..=BATCH_EVENTS_MAX).contains(&args.batch),
        "--batch must be 1..={BATCH_EVENTS_MAX}"
    );
    anyhow::ensure!(
        (1..=TENANTS_MAX).contains(&args.tenants),
        "--tenants must be 1..={TENANTS_MAX}"
    );
    anyhow::ensure!(
        args.rate.is_finite() && args.rate >= 0.0,
        "--rate must be 0 (unthrottled) or a positive number of events/s"
    );
    anyhow::ensure!(!args.duration.is_zero(), "--duration must be more than 0");
    anyhow::ensure!(!args.timeout.is_zero(), "--timeout must be more than 0");
    anyhow::ensure!(args.pool >= 1, "--pool must be at least 1");
    anyhow::ensure!(
        (1..=THREADS_MAX).contains(&args.threads),
        "--threads must be 1..={THREADS_MAX}"
    );
    Ok(())
}

/// The runtime the connections run on: this thread alone for 1, else `threads` workers.
pub fn runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(threads);
        b
    };
    builder
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Runs `concurrency` connections to the end of the plan's schedule.
pub async fn drive(
    endpoint: Arc<Endpoint>,
    plan: Arc<Plan>,
    concurrency: usize,
    timeout: Duration,
) -> anyhow::Result<Stats> {
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let (plan, conn) = (plan.clone(), Conn::new(endpoint.clone(), timeout));
        workers.spawn(async move { work(conn, &plan).await });
    }
    let mut stats = Stats::default();
    while let Some(done) = workers.join_next().await {
        stats.merge(&done.context("a load connection panicked")?);
    }
    Ok(stats)
}

/// The measured time: the nominal duration, or longer when answers to measured
/// requests came in after its end.
pub fn measured(stats: &Stats, schedule: &Schedule, duration: Duration) -> Duration {
    let until_last = stats.last_done.map_or(Duration::ZERO, |t| {
        t.saturating_duration_since(schedule.measure_from)
    });
    until_last.max(duration)
}
