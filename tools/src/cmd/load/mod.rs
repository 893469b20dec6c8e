//! `sealog load`: an HTTP load generator for sealogd.
//!
//! Realistic events (the engine's generator) are made before the clock starts; then
//! `--concurrency` keep-alive connections, one request in flight each, post them singly
//! (`POST /api/audit-logs`) or in NDJSON batches (`/api/audit-logs/batch`), optionally
//! mixed with queries, across `--tenants` tenants, for `--warmup` + `--duration`.
//! With `--rate`, requests are paced at fixed intervals and latency is taken from the
//! intended send time (wrk2's coordinated-omission correction). Latencies of
//! successful requests after the warm-up go into HDR histograms. Last stdout line:
//! `events_per_s=… requests_per_s=… p50_ms=… p90_ms=… p99_ms=… p999_ms=… max_ms=…
//! errors=… requests=… events=… concurrency=… batch=… duration_s=…`, then
//! `query_p50_ms query_p99_ms` with `--mix-queries` and `rss_start_mib rss_max_mib
//! rss_end_mib` with `--report-rss-pid`.

mod command;
mod pool;
mod report;
mod rss;
mod schedule;
mod worker;

#[cfg(test)]
mod tests;

pub use command::{run, Args};
