//! [`EngineConfig`]: how the engine stores, syncs and checks.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Deserialize;

use crate::error::EngineError;
use crate::limits::{
    LOG_CACHE_BYTES_DEFAULT, QUEUE_BYTES_MAX, QUEUE_REQUESTS_MAX, SEGMENT_BYTES_DEFAULT,
    SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN, SYNC_INTERVAL_MS_MAX,
};

/// When an append is acknowledged relative to fdatasync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// Acknowledge after the batch's fdatasync returned (default). Nothing acknowledged
    /// is ever lost.
    #[default]
    Sync,
    /// Acknowledge after the write; fdatasync at most every `ms` milliseconds. A crash
    /// loses up to that window of acknowledged events.
    Interval {
        /// The sync period, 1..=`SYNC_INTERVAL_MS_MAX`.
        ms: u64,
    },
    /// Never fdatasync except when sealing and closing. For benchmarks only: the engine
    /// logs a warning at open and at every seal.
    None,
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Durability::Sync => f.write_str("sync"),
            Durability::Interval { ms } => write!(f, "interval:{ms}"),
            Durability::None => f.write_str("none"),
        }
    }
}

impl FromStr for Durability {
    type Err = String;

    /// `sync`, `none`, or `interval:<ms>`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sync" => Ok(Durability::Sync),
            "none" => Ok(Durability::None),
            _ => match s.strip_prefix("interval:").map(str::parse::<u64>) {
                Some(Ok(ms)) => Ok(Durability::Interval { ms }),
                _ => Err(format!(
                    "unknown durability {s:?}: expected sync, none or interval:<ms>"
                )),
            },
        }
    }
}

/// How much of the sealed segments open checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpenCheck {
    /// BLAKE3 every sealed segment against its seal, on both cores (default; ~0.3 s
    /// per GiB here). Damage is found and reported at open.
    #[default]
    Full,
    /// Check seals and indexes only; sealed frames are still CRC-checked on every read
    /// and fully by `sealog verify`. For very large logs where open time matters.
    SealsOnly,
}

/// Engine settings. Every field's doc gives its default and bounds; `validate` reports
/// every bad field and the engine refuses to open rather than clamp.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EngineConfig {
    /// The data directory (the log lives in `<data_dir>/wal`). Required.
    pub data_dir: PathBuf,
    /// Durability policy. Default `sync`.
    #[serde(default)]
    pub durability: Durability,
    /// Seal the active segment once it would pass this many bytes. Default 256 MiB;
    /// bounds `SEGMENT_BYTES_MIN..=SEGMENT_BYTES_MAX`.
    #[serde(default = "default_segment_bytes")]
    pub segment_bytes: u64,
    /// Append requests that may wait for the writer before `try_submit` answers Busy.
    /// Default and maximum `QUEUE_REQUESTS_MAX`.
    #[serde(default = "default_queue_requests")]
    pub queue_requests_max: usize,
    /// Bytes of prepared events that may wait for the writer. Default and maximum
    /// `QUEUE_BYTES_MAX`.
    #[serde(default = "default_queue_bytes")]
    pub queue_bytes_max: usize,
    /// What open checks in sealed segments. Default `full`.
    #[serde(default)]
    pub open_check: OpenCheck,
    /// How many of the log's newest bytes stay in the page cache: older pages of events
    /// the indexer has committed are dropped from it (`log::pages`, "The page cache").
    /// Default `LOG_CACHE_BYTES_DEFAULT` (1 GiB); any value (0 drops everything the
    /// indexer has committed; a value above the log's size drops nothing until the log
    /// grows past it).
    #[serde(default = "default_log_cache_bytes")]
    pub log_cache_bytes: u64,
}

fn default_segment_bytes() -> u64 {
    SEGMENT_BYTES_DEFAULT
}
fn default_queue_requests() -> usize {
    QUEUE_REQUESTS_MAX
}
fn default_queue_bytes() -> usize {
    QUEUE_BYTES_MAX
}
fn default_log_cache_bytes() -> u64 {
    LOG_CACHE_BYTES_DEFAULT
}

impl EngineConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        EngineConfig {
            data_dir: data_dir.into(),
            durability: Durability::Sync,
            segment_bytes: SEGMENT_BYTES_DEFAULT,
            queue_requests_max: QUEUE_REQUESTS_MAX,
            queue_bytes_max: QUEUE_BYTES_MAX,
            open_check: OpenCheck::Full,
            log_cache_bytes: LOG_CACHE_BYTES_DEFAULT,
        }
    }

    /// Checks every bound; reports all problems at once.
    pub fn validate(&self) -> Result<(), EngineError> {
        let mut problems = Vec::new();
        if !(SEGMENT_BYTES_MIN..=SEGMENT_BYTES_MAX).contains(&self.segment_bytes) {
            problems.push(format!(
                "segment-bytes = {} is outside {SEGMENT_BYTES_MIN}..={SEGMENT_BYTES_MAX}",
                self.segment_bytes
            ));
        }
        if !(1..=QUEUE_REQUESTS_MAX).contains(&self.queue_requests_max) {
            problems.push(format!(
                "queue-requests-max = {} is outside 1..={QUEUE_REQUESTS_MAX}",
                self.queue_requests_max
            ));
        }
        if !(crate::limits::BATCH_BYTES_MAX..=QUEUE_BYTES_MAX).contains(&self.queue_bytes_max) {
            problems.push(format!(
                "queue-bytes-max = {} is outside {}..={QUEUE_BYTES_MAX} (one whole batch must fit)",
                self.queue_bytes_max,
                crate::limits::BATCH_BYTES_MAX
            ));
        }
        if let Durability::Interval { ms } = self.durability {
            if !(1..=SYNC_INTERVAL_MS_MAX).contains(&ms) {
                problems.push(format!(
                    "durability interval {ms} ms is outside 1..={SYNC_INTERVAL_MS_MAX}"
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(EngineError::Config { problems })
        }
    }

    /// `<data_dir>/wal`.
    pub fn wal_dir(&self) -> PathBuf {
        self.data_dir.join("wal")
    }
}
