//! [`EngineError`]: every way an engine call can fail, with the context to act on it.

use std::path::PathBuf;

use crate::types::{Lsn, SegmentId};

/// Errors of the storage engine. Variants carry structured context; I/O errors carry the
/// path and the operation where they happened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// An I/O call failed.
    #[error("I/O error during {op} on {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the engine was doing (`write`, `fdatasync`, `open`, …).
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// Stored bytes fail a check (CRC, length, layout): damage or tampering. Never
    /// repaired silently.
    #[error("segment {segment} is damaged at byte {offset}{}: {why}", lsn_suffix(*lsn))]
    Corrupt {
        /// The segment file.
        segment: SegmentId,
        /// Byte offset of the damaged frame inside the segment file.
        offset: u64,
        /// The LSN the damaged frame holds (or should hold), when known.
        lsn: Option<Lsn>,
        /// What check failed.
        why: &'static str,
    },
    /// A stored event's bytes do not hash to its stored hash.
    #[error("event {id} (lsn {lsn}, segment {segment}, byte {offset}) does not match its hash: the stored event was altered")]
    HashMismatch {
        /// The event id recorded in the frame.
        id: uuid::Uuid,
        /// Its LSN.
        lsn: Lsn,
        /// The segment file.
        segment: SegmentId,
        /// Byte offset of the frame.
        offset: u64,
    },
    /// A file is not what the engine expects (wrong magic, unknown version, bad header).
    #[error("{}: {why}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// Segments are missing from the log: LSNs jump between two segment files.
    #[error("log has a gap: segment {segment} starts at lsn {found} but lsn {expected} was expected (a segment file is missing or was replaced)")]
    LsnGap {
        /// The segment that starts too late (or too early).
        segment: SegmentId,
        /// The LSN that should come next.
        expected: Lsn,
        /// The LSN the segment starts with.
        found: Lsn,
    },
    /// An earlier write or fsync failed: the state of the unsynced tail is unknown, so the
    /// engine refuses writes until it is reopened (which recovers the tail).
    #[error(
        "the engine refuses writes after an earlier I/O failure ({cause}); restart to recover"
    )]
    Poisoned {
        /// The first failure.
        cause: String,
    },
    /// The engine opened a damaged log; it serves reads, but appending could fork a
    /// tenant's chain, so it refuses writes. docs/FORMAT.md lists the operator's choices.
    #[error("the log is damaged ({reason}); writes are refused until the damage is resolved (see docs/FORMAT.md, \"Damage\")")]
    ReadOnly {
        /// The first damage found at open.
        reason: String,
    },
    /// The append queue is full: shed load and retry later.
    #[error("the append queue is full ({queued_requests} requests, {queued_bytes} bytes waiting); retry later")]
    Busy {
        /// Requests waiting.
        queued_requests: usize,
        /// Bytes waiting.
        queued_bytes: usize,
    },
    /// The engine is shutting down or closed.
    #[error("the engine is closed")]
    Closed,
    /// A tenant name that is not `[A-Za-z0-9_-]{1,64}`.
    #[error("invalid tenant name {name:?}: must be 1..64 characters of [A-Za-z0-9_-]")]
    InvalidTenant {
        /// The name given (truncated).
        name: String,
    },
    /// An append request outside the batch bounds.
    #[error("an append holds {events} events and {bytes} bytes; allowed: 1..={events_max} events, at most {bytes_max} bytes")]
    BatchBounds {
        /// Events in the request.
        events: usize,
        /// Bytes in the request.
        bytes: usize,
        /// The event bound.
        events_max: usize,
        /// The byte bound.
        bytes_max: usize,
    },
    /// The data directory is used by another process.
    #[error("data directory {} is in use by another process (lock held on {})", dir.display(), dir.join("LOCK").display())]
    Locked {
        /// The data directory.
        dir: PathBuf,
    },
    /// The secondary index (tantivy) failed; the log itself is unaffected.
    #[error("secondary index at {}: {source}", path.display())]
    Index {
        /// The index directory.
        path: PathBuf,
        /// tantivy's error.
        source: tantivy::TantivyError,
    },
    /// A query that cannot be run as asked.
    #[error("invalid query: {why}")]
    Query {
        /// What is wrong.
        why: String,
    },
    /// Invalid configuration: every problem, not only the first.
    #[error("invalid engine configuration: {}", problems.join("; "))]
    Config {
        /// One line per bad field.
        problems: Vec<String>,
    },
}

fn lsn_suffix(lsn: Option<Lsn>) -> String {
    match lsn {
        Some(lsn) => format!(" (lsn {lsn})"),
        None => String::new(),
    }
}

/// `Result` with [`EngineError`].
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Attaches the path and operation to an I/O error (`.ctx(path, "write")?`).
pub(crate) trait IoContext<T> {
    fn ctx(self, path: &std::path::Path, op: &'static str) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, path: &std::path::Path, op: &'static str) -> Result<T> {
        self.map_err(|source| EngineError::Io {
            path: path.to_path_buf(),
            op,
            source,
        })
    }
}
