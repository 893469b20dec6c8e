//! The `sealog ingest` command: options, the run, the report.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::header::HeaderValue;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use super::batch::{Batcher, BATCH_EVENTS_MAX};
use super::send::{pump, SendConfig, Tally};
use crate::client::{Endpoint, RetryPolicy};
use crate::cmd::arg;

/// Most batches in flight at once.
const CONCURRENCY_MAX: usize = 256;

/// Options of `sealog ingest`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// NDJSON file of events, one JSON object per line; `-` reads stdin.
    file: PathBuf,
    /// sealogd's base URL (http:// only).
    #[arg(long)]
    url: String,
    /// API key with the writer or admin role.
    #[arg(long, env = "SEALOG_TOKEN", hide_env_values = true)]
    token: String,
    /// Tenant to store the events in (X-Tenant-Id; needs an all-tenants key).
    #[arg(long, value_parser = arg::tenant)]
    tenant: Option<String>,
    /// Events per request (1..=10000); batches are also cut to stay within 32 MiB.
    #[arg(long, default_value_t = 1000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=BATCH_EVENTS_MAX as u64))]
    batch: usize,
    /// Batches in flight at once, one connection each (1..=256).
    #[arg(long, default_value_t = 4,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=CONCURRENCY_MAX as u64))]
    concurrency: usize,
    /// Idempotency-Key prefix; batch k is sent as `PREFIX-k`. Re-running with the same
    /// prefix, file and --batch resumes safely. Default: from the file name and size
    /// plus a random suffix (printed at start).
    #[arg(long, value_parser = arg::key_prefix)]
    idempotency_prefix: Option<String>,
    /// Longest wait for one request's whole response.
    #[arg(long, default_value = "30s", value_parser = arg::duration)]
    timeout: Duration,
}

/// Sends the file and prints the report; fails if any event was not stored.
pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(!args.timeout.is_zero(), "--timeout must be more than 0");
    let endpoint = Arc::new(Endpoint::parse(&args.url, &args.token)?);
    let (input, size) = open_input(&args.file)?;
    let key_prefix = match &args.idempotency_prefix {
        Some(p) => p.clone(),
        None => default_key_prefix(&args.file, size, rand::random()),
    };
    eprintln!(
        "idempotency key prefix: {key_prefix} (to resume, re-run with --idempotency-prefix {key_prefix} and the same --batch)"
    );
    let config = Arc::new(SendConfig {
        endpoint,
        tenant: args
            .tenant
            .as_deref()
            .map(HeaderValue::from_str)
            .transpose()?,
        key_prefix,
        concurrency: args.concurrency,
        timeout: args.timeout,
        retry: RetryPolicy::default(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let bar = progress_bar(size);
    let started = Instant::now();
    let tally = ingest(&runtime, input, args.batch, config.clone(), bar.clone())?;
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    eprintln!("{}", summary(&tally, elapsed));
    if tally.stopped.is_some() {
        eprintln!(
            "to send the rest, re-run with --idempotency-prefix {} and the same file and --batch, \
             within the server's idempotency retention (24 h by default): batches already \
             stored are answered from its record, not stored twice",
            config.key_prefix
        );
    }
    outln!("{}", report_line(&tally, elapsed));
    if let Some(why) = &tally.stopped {
        anyhow::bail!("stopped early: {why}");
    }
    anyhow::ensure!(
        tally.failed_events == 0,
        "{} events were not stored",
        tally.failed_events
    );
    Ok(())
}

/// Reads `input` on a thread of its own and sends its batches.
pub fn ingest(
    runtime: &Runtime,
    input: impl BufRead + Send + 'static,
    batch: usize,
    config: Arc<SendConfig>,
    bar: ProgressBar,
) -> anyhow::Result<Tally> {
    // Room for one batch per connection being read ahead, no more: memory stays
    // bounded by about 2 × concurrency × 32 MiB.
    let (tx, rx) = mpsc::channel(config.concurrency);
    let reader = std::thread::Builder::new()
        .name("ingest-reader".into())
        .spawn(move || {
            let mut batcher = Batcher::new(input, batch);
            loop {
                let item = match batcher.next_item() {
                    Ok(Some(item)) => Ok(item),
                    Ok(None) => return,
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
        })
        .context("starting the reader thread")?;
    let tally = runtime
        .block_on(pump(rx, config, bar))
        .context("reading the input")?;
    if tally.stopped.is_none() {
        // The channel closed, so the reader has returned: this only surfaces a panic,
        // which would otherwise look like the end of the input.
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("the input reader panicked"))?;
    }
    Ok(tally)
}

type Input = (Box<dyn BufRead + Send>, Option<u64>);

fn open_input(path: &Path) -> anyhow::Result<Input> {
    if path == Path::new("-") {
        return Ok((
            Box::new(BufReader::with_capacity(1 << 20, std::io::stdin())),
            None,
        ));
    }
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("reading the size of {}", path.display()))?;
    let size = meta.is_file().then_some(meta.len());
    Ok((Box::new(BufReader::with_capacity(1 << 20, file)), size))
}

/// `<file name>-<size>-<8 hex digits>`, the name cut to what a key may hold.
pub(super) fn default_key_prefix(path: &Path, size: Option<u64>, suffix: u32) -> String {
    let name: String = match path.file_name() {
        Some(n) if path != Path::new("-") => n.to_string_lossy().into_owned(),
        _ => "stdin".to_owned(),
    };
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    match size {
        Some(size) => format!("{name}-{size}-{suffix:08x}"),
        None => format!("{name}-{suffix:08x}"),
    }
}

fn progress_bar(size: Option<u64>) -> ProgressBar {
    let (bar, template) = match size {
        Some(len) => (
            ProgressBar::new(len),
            "{bar:40} {bytes}/{total_bytes} {msg} {bytes_per_sec} eta {eta}",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} {bytes} read, {msg} {elapsed}",
        ),
    };
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The human summary (stderr).
pub(super) fn summary(t: &Tally, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let mut out = format!(
        "stored {} events in {} batches in {:.1} s ({:.0} events/s)",
        t.events,
        t.batches,
        secs,
        t.events as f64 / secs.max(1e-9)
    );
    if t.replayed_events > 0 {
        out += &format!(
            "; {} of them were already stored (idempotent replay)",
            t.replayed_events
        );
    }
    if t.failed_events > 0 {
        out += &format!(
            "\nnot stored: {} events ({} batches refused or given up, {} lines over 1 MiB)",
            t.failed_events, t.failed_batches, t.too_long_lines
        );
    }
    if t.stopped.is_some() {
        out += "\nstopped early: the rest of the input was not sent (and is not counted above)";
    }
    out
}

/// The last stdout line: `events=… batches=… failed=… elapsed_s=… events_per_s=…`;
/// `failed` counts events refused or given up (after an early stop, not the unsent rest).
pub(super) fn report_line(t: &Tally, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    format!(
        "events={} batches={} failed={} elapsed_s={:.3} events_per_s={:.0}",
        t.events,
        t.batches,
        t.failed_events,
        secs,
        t.events as f64 / secs.max(1e-9)
    )
}
