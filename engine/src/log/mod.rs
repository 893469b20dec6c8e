//! The log: [`Engine`], the group-commit pipeline and the read API.
//!
//! Appenders submit requests (one tenant, 1..=10,000 prepared events) into a bounded
//! queue. One *sequencer* thread drains whatever has queued, gives each event its LSN,
//! seq, created_at, id and prev_hash, builds the frames (hashing each body with SHA-256
//! as it is written into the request's buffer), copies them into recycled memory blocks
//! (`arena`) and writes the whole batch with one `pwritev`. It hands the batch to the
//! *syncer* thread, which fdatasyncs (once for all batches queued behind it), publishes
//! them to readers, and only then answers the appenders, while the sequencer is already
//! writing the next batch. A failed write or fsync poisons the engine: every later
//! append fails until reopen. A third thread writes the index file of each sealed
//! segment in the background.

mod append;
mod arena;
mod commit;
mod encode;
mod engine;
mod fsyncs;
mod pace;
mod pages;
pub(crate) mod read;
mod scan;
mod sync;
pub(crate) mod view;

pub use append::{AppendTicket, Appended};
pub use engine::{Clock, Engine, EngineStats, SystemClock};
pub use fsyncs::{FsyncStats, FSYNC_BUCKETS_US};
pub use pace::ReadPace;
pub use pages::OpenScan;
pub use read::{EventRef, StoredEvent};
pub use scan::{Scan, ScanDirection};
