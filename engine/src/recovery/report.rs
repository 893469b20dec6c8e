//! What recovery found and did, for logs, `sealog verify` and tests.

use std::path::PathBuf;
use std::time::Duration;

use crate::types::{Lsn, SegmentId};

/// A torn tail cut from the active segment at open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment.
    pub segment: SegmentId,
    /// Where the cut starts (end of the last complete append request).
    pub offset: u64,
    /// Bytes cut.
    pub bytes: u64,
    /// Whole frames among them (events of requests that were never acknowledged).
    pub records: u64,
    /// Where the cut bytes were saved.
    pub saved_to: PathBuf,
}

/// Damaged stored bytes found at open. Never repaired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The segment.
    pub segment: SegmentId,
    /// Byte offset of the first bad byte (frame start).
    pub offset: u64,
    /// LSNs lost or damaged (inclusive), when known.
    pub lsns: Option<(Lsn, Lsn)>,
    /// The damaged event's id, when an intact index names it.
    pub id: Option<uuid::Uuid>,
    /// What check failed.
    pub why: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "segment {} byte {}", self.segment, self.offset)?;
        if let Some((a, b)) = self.lsns {
            if a == b {
                write!(f, " lsn {a}")?;
            } else {
                write!(f, " lsns {a}..={b}")?;
            }
        }
        if let Some(id) = self.id {
            write!(f, " event {id}")?;
        }
        write!(f, ": {}", self.why)
    }
}

/// What open found and did.
#[derive(Debug, Clone, Default)]
pub struct RecoveryReport {
    /// Segment files found.
    pub segments: usize,
    /// Events in the log after recovery.
    pub events: u64,
    /// Bytes of sealed segments whose BLAKE3 digest was checked.
    pub sealed_bytes_checked: u64,
    /// Torn tails cut (at most one per open).
    pub torn: Vec<TornTail>,
    /// Damage found (the engine is read-only if a damaged event's tenant is unknown).
    pub damage: Vec<Damage>,
    /// Segment indexes rebuilt because they were missing or stale.
    pub rebuilt_indexes: Vec<SegmentId>,
    /// Last segment files whose creation was interrupted (no events), removed.
    pub removed_unfinished_segments: Vec<SegmentId>,
    /// Leftover temporary files removed.
    pub removed_temp_files: Vec<String>,
    /// Time open spent recovering.
    pub elapsed: Duration,
}
