//! Per-segment indexes: LSN, id, (tenant, seq) and time → frame position.
//!
//! The active segment is indexed in memory ([`MemIndex`], grown as batches become
//! durable). When a segment is sealed its index is written to `wal/<id>.idx`, a
//! fixed-width file read through an mmap ([`MappedIndex`]); the file is derived data,
//! checked by CRC on open and rebuilt from the segment when missing or stale. Look-ups:
//! LSN → O(1); (tenant, seq) → O(log tenants); id and time → O(log n). Both kinds answer
//! through [`SegmentIndex`].

mod file;
mod mem;
#[cfg(test)]
mod tests;

pub(crate) use file::load_index_file;
pub use file::{write_index_file, MappedIndex, IDX_MAGIC, IDX_VERSION};
pub use mem::{MemIndex, MemRec, PushFault, DAMAGED};

use std::sync::Arc;

use crate::types::{Lsn, Seq};

/// Where a record's frame lies in its segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecLoc {
    /// Byte offset of the frame.
    pub offset: u64,
    /// Frame length (header + payload).
    pub len: u32,
    /// The record's `created_at_us`.
    pub created_at_us: i64,
}

impl RecLoc {
    /// The offset just past the frame.
    pub fn end(&self) -> u64 {
        self.offset + u64::from(self.len)
    }
}

/// One tenant's events in a segment: seqs `first_seq..first_seq + count`, contiguous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRun {
    /// Tenant name.
    pub tenant: String,
    /// First seq of the tenant in the segment.
    pub first_seq: Seq,
    /// Number of the tenant's events in the segment.
    pub count: u64,
    /// Hash of the tenant's last event in the segment.
    pub last_hash: [u8; 32],
    /// `created_at_us` of that last event.
    pub last_created_us: i64,
}

/// The look-ups every segment index answers.
pub trait IndexLookup {
    /// LSN of record 0.
    fn first_lsn(&self) -> Lsn;
    /// Number of records.
    fn count(&self) -> u64;
    /// Record `i` (0-based, LSN order).
    fn rec(&self, i: u64) -> Option<RecLoc>;
    /// The id of record `i` (for damage reports; may be slow).
    fn id_of(&self, i: u64) -> Option<[u8; 16]>;
    /// Record number of an event id.
    fn find_id(&self, id: &[u8; 16]) -> Option<u64>;
    /// Record number of a tenant's seq.
    fn find_seq(&self, tenant: &str, seq: Seq) -> Option<u64>;
    /// First record with `created_at_us >= t` (`count()` if none): records are in
    /// non-decreasing time order.
    fn lower_bound_time(&self, t: i64) -> u64;
    /// The tenant's run in this segment.
    fn tenant_run(&self, tenant: &str) -> Option<TenantRun>;
    /// Every tenant's run.
    fn tenant_runs(&self) -> Vec<TenantRun>;
    /// Record number of the tenant's `k`-th event in this segment (0-based).
    fn tenant_rec(&self, tenant: &str, k: u64) -> Option<u64>;
    /// Smallest and largest `created_at_us` (None when empty).
    fn time_range(&self) -> Option<(i64, i64)> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        Some((self.rec(0)?.created_at_us, self.rec(n - 1)?.created_at_us))
    }
}

macro_rules! delegate_lookup {
    ($t:ty) => {
        impl IndexLookup for $t {
            fn first_lsn(&self) -> Lsn {
                <$t>::first_lsn(self)
            }
            fn count(&self) -> u64 {
                <$t>::len(self) as u64
            }
            fn rec(&self, i: u64) -> Option<RecLoc> {
                <$t>::rec(self, i)
            }
            fn find_id(&self, id: &[u8; 16]) -> Option<u64> {
                <$t>::find_id(self, id)
            }
            fn id_of(&self, i: u64) -> Option<[u8; 16]> {
                <$t>::id_of(self, i)
            }
            fn find_seq(&self, tenant: &str, seq: Seq) -> Option<u64> {
                <$t>::find_seq(self, tenant, seq)
            }
            fn lower_bound_time(&self, t: i64) -> u64 {
                <$t>::lower_bound_time(self, t)
            }
            fn tenant_run(&self, tenant: &str) -> Option<TenantRun> {
                <$t>::tenant_run(self, tenant)
            }
            fn tenant_runs(&self) -> Vec<TenantRun> {
                <$t>::tenant_runs(self)
            }
            fn tenant_rec(&self, tenant: &str, k: u64) -> Option<u64> {
                <$t>::tenant_rec(self, tenant, k)
            }
        }
    };
}

delegate_lookup!(MemIndex);
delegate_lookup!(MappedIndex);

/// A sealed segment's index: in memory until its file is written, then mapped.
#[derive(Debug, Clone)]
pub enum SegmentIndex {
    /// Built in memory.
    Mem(Arc<MemIndex>),
    /// Read from `<id>.idx` through an mmap.
    Mapped(Arc<MappedIndex>),
}

impl SegmentIndex {
    /// The look-ups.
    pub fn lookup(&self) -> &dyn IndexLookup {
        match self {
            SegmentIndex::Mem(m) => m.as_ref(),
            SegmentIndex::Mapped(m) => m.as_ref(),
        }
    }
}
