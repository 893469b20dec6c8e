//! sealog's storage engine.
//!
//! A plain, synchronous library that owns every byte sealog keeps on disk: the audit
//! event model and its canonical form ([`event`]), the per-tenant hash chain
//! ([`chain`]), CRC-framed segment files forming a write-ahead log ([`frame`],
//! [`segment`]), group commit ([`log`]), crash recovery ([`recovery`]) and the mmap'd
//! per-segment indexes ([`index`]). The HTTP server and the command-line tools are thin
//! shells around [`Engine`]; tests, benches, fuzzers and `sealog verify` drive it
//! directly. docs/ARCHITECTURE.md is the map; docs/FORMAT.md draws every byte layout.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod chain;
pub mod config;
pub mod error;
pub mod event;
pub mod export;
pub mod frame;
pub mod gen;
pub mod idtag;
pub mod index;
pub mod limits;
pub mod log;
pub mod merkle;
pub mod offline;
pub mod recovery;
pub mod search;
pub mod segment;
pub mod storage;
pub mod time;
pub mod types;
pub mod verify;

pub use config::{Durability, EngineConfig, OpenCheck};
pub use error::{EngineError, Result};
pub use log::{
    AppendTicket, Appended, Clock, Engine, EngineStats, EventRef, FsyncStats, OpenScan,
    ScanDirection, StoredEvent, SystemClock, FSYNC_BUCKETS_US,
};
pub use recovery::{Damage, RecoveryReport, TornTail};
pub use types::{Lsn, SegmentId, Seq, TenantId};

mod failure_log;
#[allow(unsafe_code)]
mod mmap;
