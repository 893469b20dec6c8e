//! The allocator's settings. sealogd and the `sealog` tool both run on mimalloc
//! (`#[global_allocator]` in their `main.rs`); [`tune`] is the first thing each does.
//!
//! mimalloc gives memory that has been free for `purge_delay` back to the kernel
//! (`madvise(MADV_DONTNEED)`): 1 s by default. The indexer's tantivy segment writer
//! allocates its arena and tables afresh for every index commit and frees them at the
//! commit, ~1.5 times a second at 150 k events/s; the log's encode buffers and the
//! index's documents come and go as fast. With a 1 s delay much of that memory went back
//! to the kernel and was faulted in again, each page zeroed by the kernel on its first
//! touch: ~190 k minor faults per 3 M events ingested and indexed
//! (`sealog bench-query --events 3000000 --rate 150000`), ~22 k with a 10 s delay, and
//! a few % less CPU per event (docs/BENCHMARKS.md, "The allocator's purge delay and
//! tantivy's documents").
//! Memory left unused for [`ALLOCATOR_PURGE_DELAY_MS`] still goes back, so an idle
//! sealogd shrinks as before, 10 s later.
//!
//! An operator's `MIMALLOC_PURGE_DELAY` (read by mimalloc when the process loads) is
//! left as it is.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_long};

/// How long memory the process has freed stays with the allocator, unused, before it
/// goes back to the kernel.
pub const ALLOCATOR_PURGE_DELAY_MS: c_long = 10_000;

/// The environment variable with which mimalloc's own purge delay is set; when it is
/// present, [`tune`] keeps the operator's value.
pub const PURGE_DELAY_ENV: &str = "MIMALLOC_PURGE_DELAY";

/// `mi_option_purge_delay` of mimalloc.h's `mi_option_t` (the same position in
/// mimalloc 2 and 3; libmimalloc-sys does not name it).
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// Applies sealog's allocator settings (above). Call it once, first thing in `main`.
pub fn tune() {
    if std::env::var_os(PURGE_DELAY_ENV).is_some() {
        return;
    }
    // SAFETY: mi_option_set only stores the value in mimalloc's option table (a plain
    // store, safe at any time and from any thread); the option index is in range.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ALLOCATOR_PURGE_DELAY_MS) }
}

/// The allocator's purge delay now, in milliseconds (-1: never purged).
pub fn purge_delay_ms() -> c_long {
    // SAFETY: mi_option_get only reads mimalloc's option table; the index is in range.
    unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option at MI_OPTION_PURGE_DELAY is the purge delay: mimalloc's default is
    /// 1,000 ms (v3) and `tune` sets ours. (This test binary's allocator is the system's,
    /// but the option table is mimalloc's all the same: the crate links it.)
    #[test]
    fn tune_sets_the_purge_delay() {
        if std::env::var_os(PURGE_DELAY_ENV).is_some() {
            eprintln!("{PURGE_DELAY_ENV} is set: the operator's value is kept; skipping");
            return;
        }
        assert_eq!(purge_delay_ms(), 1_000, "mimalloc's default purge delay");
        tune();
        assert_eq!(purge_delay_ms(), ALLOCATOR_PURGE_DELAY_MS);
    }
}
