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

pub mod event;
pub mod gen;
pub mod limits;
pub mod storage;
pub mod time;

#[allow(unsafe_code)]
mod mmap;
