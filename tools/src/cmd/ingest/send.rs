//! Sending batches: up to `--concurrency` in flight, each on its own connection, each
//! retried on failed exchanges, 429 and 503 with the same idempotency key (so a batch
//! the server stored but whose answer was lost is not stored twice).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use indicatif::ProgressBar;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::batch::{Batch, Item};
use super::failure;
use crate::client::{retry_after, ClientError, Conn, Endpoint, RetryPolicy};

/// The batch endpoint, below the server's base URL.
pub const BATCH_PATH: &str = "/api/audit-logs/batch";
/// Messages about refused events printed before the rest are only counted.
const MESSAGES_SHOWN_MAX: u64 = 200;

/// How batches are sent.
#[derive(Debug)]
pub struct SendConfig {
    pub endpoint: Arc<Endpoint>,
    pub tenant: Option<HeaderValue>,
    pub key_prefix: String,
    pub concurrency: usize,
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

/// What happened to one batch.
#[derive(Debug)]
pub enum Outcome {
    /// 2xx; `replayed` when the server had it already (`Idempotent-Replayed: true`).
    Stored { replayed: bool },
    /// A final refusal; `fatal` when no later batch can do better (401, 403, 404).
    Refused {
        status: StatusCode,
        messages: Vec<String>,
        fatal: bool,
    },
    /// Every try failed to get an answer, or the last one was still 429/503.
    GaveUp { tries: u32, last: String },
}

/// Counts over the whole run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub events: u64,
    pub batches: u64,
    pub replayed_events: u64,
    pub failed_events: u64,
    pub failed_batches: u64,
    pub too_long_lines: u64,
    pub messages: u64,
    /// Why the run stopped early.
    pub stopped: Option<String>,
}

/// Sends `batch`, retrying as the policy allows.
pub async fn send_batch(conn: &mut Conn, config: &SendConfig, batch: &Batch) -> Outcome {
    let mut failed = 0;
    loop {
        let (why, wait) = match conn.send(request(config, batch)).await {
            Ok(reply) if reply.status.is_success() => {
                let replayed = reply
                    .headers
                    .get("idempotent-replayed")
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
                return Outcome::Stored { replayed };
            }
            Ok(reply) if RetryPolicy::is_retryable(reply.status) => (
                format!("HTTP {}", reply.status),
                retry_after(&reply.headers),
            ),
            Ok(reply) => {
                let status = reply.status;
                return Outcome::Refused {
                    status,
                    messages: failure::describe(status, &reply.body, &batch.lines),
                    fatal: matches!(status.as_u16(), 401 | 403 | 404),
                };
            }
            Err(e) if e.is_transient() => (chain(&e), None),
            Err(e) => {
                return Outcome::GaveUp {
                    tries: failed + 1,
                    last: chain(&e),
                }
            }
        };
        failed += 1;
        if failed >= config.retry.tries_max {
            return Outcome::GaveUp {
                tries: failed,
                last: why,
            };
        }
        tokio::time::sleep(config.retry.delay(failed, wait, rand::random())).await;
    }
}

fn request(config: &SendConfig, batch: &Batch) -> Request<Full<Bytes>> {
    let mut req = config
        .endpoint
        .request(Method::POST, BATCH_PATH)
        .header(CONTENT_TYPE, "application/x-ndjson")
        .header(
            HeaderName::from_static("idempotency-key"),
            format!("{}-{}", config.key_prefix, batch.index),
        );
    if let Some(tenant) = &config.tenant {
        req = req.header(HeaderName::from_static("x-tenant-id"), tenant.clone());
    }
    // Every part was validated when the config was built.
    req.body(Full::new(batch.body.clone()))
        .unwrap_or_else(|e| unreachable!("bad batch request: {e}"))
}

/// The error and its causes on one line.
fn chain(e: &ClientError) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Sends every batch from `items`, at most `concurrency` at once, until the input ends
/// or a fatal answer stops the run (dropping `items`, which stops the reader).
pub async fn pump(
    mut items: mpsc::Receiver<std::io::Result<Item>>,
    config: Arc<SendConfig>,
    bar: ProgressBar,
) -> anyhow::Result<Tally> {
    let mut idle: Vec<Conn> = (0..config.concurrency)
        .map(|_| Conn::new(config.endpoint.clone(), config.timeout))
        .collect();
    let mut in_flight = JoinSet::new();
    let mut tally = Tally::default();
    while let Some(item) = items.recv().await {
        match item? {
            Item::TooLong { line, bytes } => {
                tally.too_long_lines += 1;
                tally.failed_events += 1;
                note(
                    &mut tally,
                    &bar,
                    format!(
                        "line {line}: {bytes} bytes, over the 1 MiB limit for one event: not sent"
                    ),
                );
            }
            Item::Batch(batch) => {
                let mut conn = match idle.pop() {
                    Some(conn) => conn,
                    None => match in_flight.join_next().await {
                        Some(done) => record(&mut tally, &bar, done?),
                        None => unreachable!("no connection idle and none in flight"),
                    },
                };
                if tally.stopped.is_some() {
                    break;
                }
                let config = config.clone();
                in_flight.spawn(async move {
                    let outcome = send_batch(&mut conn, &config, &batch).await;
                    (conn, batch, outcome)
                });
            }
        }
    }
    drop(items);
    while let Some(done) = in_flight.join_next().await {
        record(&mut tally, &bar, done?);
    }
    Ok(tally)
}

/// Counts a finished batch and returns its connection for reuse.
fn record(
    tally: &mut Tally,
    bar: &ProgressBar,
    (conn, batch, outcome): (Conn, Batch, Outcome),
) -> Conn {
    let n = batch.lines.len() as u64;
    bar.inc(batch.input_bytes);
    match outcome {
        Outcome::Stored { replayed } => {
            tally.events += n;
            tally.batches += 1;
            if replayed {
                tally.replayed_events += n;
            }
            bar.set_message(format!("{} events", tally.events));
        }
        Outcome::Refused {
            status,
            messages,
            fatal,
        } => {
            tally.failed_events += n;
            tally.failed_batches += 1;
            for m in messages {
                note(tally, bar, m);
            }
            if fatal && tally.stopped.is_none() {
                tally.stopped = Some(format!("the server answered HTTP {status}"));
            }
        }
        Outcome::GaveUp { tries, last } => {
            tally.failed_events += n;
            tally.failed_batches += 1;
            let why = format!("batch {} gave up after {tries} tries: {last}", batch.index);
            note(tally, bar, why.clone());
            tally.stopped.get_or_insert(why);
        }
    }
    conn
}

fn note(tally: &mut Tally, bar: &ProgressBar, message: String) {
    tally.messages += 1;
    let message = match tally.messages {
        n if n <= MESSAGES_SHOWN_MAX => message,
        n if n == MESSAGES_SHOWN_MAX + 1 => "… further problems are only counted".to_owned(),
        _ => return,
    };
    // A hidden bar (stderr not a terminal) drops what it is asked to print.
    if bar.is_hidden() {
        eprintln!("{message}");
    } else {
        bar.println(message);
    }
}
