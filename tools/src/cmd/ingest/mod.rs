//! `sealog ingest FILE`: bulk-loads an NDJSON file of events into sealogd through
//! `POST /api/audit-logs/batch`.
//!
//! Events go in batches of `--batch` (cut further so a body stays within 32 MiB), up
//! to `--concurrency` batches in flight. Batch k carries `Idempotency-Key: PREFIX-k`,
//! so a retry, or a whole re-run with the same prefix, stores nothing twice. Failed
//! exchanges, 429 and 503 are retried with back-off (honouring `Retry-After`); other
//! refusals are final: the server's 422 details are printed with file line numbers and
//! the command exits non-zero at the end. 401, 403 and 404 stop the run at once.
//! Last stdout line: `events=… batches=… failed=… elapsed_s=… events_per_s=…`.

mod batch;
mod command;
mod failure;
mod send;

#[cfg(test)]
mod tests;

pub use command::{run, Args};
