//! The index file `wal/<id>.idx` of a sealed segment, and [`MappedIndex`] to read it.
//!
//! All integers little-endian; the tables follow the header back to back.
//!
//! | offset | bytes | field            | meaning                                     |
//! |-------:|------:|------------------|---------------------------------------------|
//! |      0 |     8 | `magic`          | `SEALOGIX`                                  |
//! |      8 |     4 | `version`        | 1                                           |
//! |     12 |     4 | `header_bytes`   | 128                                         |
//! |     16 |     8 | `segment_id`     | the segment it indexes                      |
//! |     24 |     8 | `segment_bytes`  | that segment's length                       |
//! |     32 |    32 | `segment_digest` | the digest in that segment's seal           |
//! |     64 |     8 | `record_count`   | records (R and S tables)                    |
//! |     72 |     8 | `first_lsn`      | LSN of record 0                             |
//! |     80 |     8 | `id_count`       | entries of the I table                      |
//! |     88 |     4 | `tenant_count`   | entries of the T table                      |
//! |     92 |     4 | `names_bytes`    | bytes of the N blob                         |
//! |     96 |    32 | reserved         | zeros                                       |
//!
//! - R, `record_count` × 16: frame `offset` u32, frame `len` u32, `created_at_us` i64; in
//!   LSN order (record i has LSN `first_lsn + i`), so time is non-decreasing.
//! - I, `id_count` × 20: `id` [16], record number u32; sorted by id.
//! - T, `tenant_count` × 72: name offset u32 and length u32 (into N), `first_seq` u64,
//!   `count` u64, `start` u64 (into S), `last_created_us` i64, `last_hash` [32]; sorted by
//!   name.
//! - S, `record_count` × 4: record numbers, grouped by tenant (T order), in seq order.
//! - N: tenant names, concatenated.
//! - trailer: CRC-32 u32 of every byte before it.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use super::{MemIndex, RecLoc, TenantRun};
use crate::error::{IoContext, Result};
use crate::segment::{u32_at, u64_at};
use crate::storage::Storage;
use crate::types::{Lsn, SegmentId, Seq};

/// The magic at the start of an index file.
pub const IDX_MAGIC: [u8; 8] = *b"SEALOGIX";
/// The index format version.
pub const IDX_VERSION: u32 = 1;

const HEADER_BYTES: usize = 128;
const R_BYTES: usize = 16;
const I_BYTES: usize = 20;
const T_BYTES: usize = 72;
const S_BYTES: usize = 4;

/// Writes the index file of a sealed segment: temp file, fsync, rename, fsync dir.
pub fn write_index_file(
    storage: &dyn Storage,
    wal: &Path,
    segment: SegmentId,
    segment_bytes: u64,
    digest: &[u8; 32],
    index: &MemIndex,
) -> Result<()> {
    let bytes = encode(segment, segment_bytes, digest, index);
    let path = crate::segment::idx_path(wal, segment);
    let tmp = path.with_extension("idx.tmp");
    if storage.exists(&tmp).ctx(&tmp, "stat")? {
        storage.remove(&tmp).ctx(&tmp, "remove")?;
    }
    let file = storage.create_new(&tmp).ctx(&tmp, "create")?;
    file.write_all_at(&bytes, 0).ctx(&tmp, "write")?;
    file.sync_all().ctx(&tmp, "fsync")?;
    drop(file);
    storage.rename(&tmp, &path).ctx(&path, "rename")?;
    storage.sync_dir(wal).ctx(wal, "fsync dir")
}

fn encode(segment: SegmentId, segment_bytes: u64, digest: &[u8; 32], index: &MemIndex) -> Vec<u8> {
    let n = index.len();
    let ids = index.sorted_ids();
    let runs = index.sorted_runs();
    let names_bytes: usize = runs.iter().map(|(r, _)| r.tenant.len()).sum();
    let total = HEADER_BYTES
        + n * (R_BYTES + S_BYTES)
        + ids.len() * I_BYTES
        + runs.len() * T_BYTES
        + names_bytes
        + 4;
    let mut b = Vec::with_capacity(total);
    b.extend_from_slice(&IDX_MAGIC);
    b.extend_from_slice(&IDX_VERSION.to_le_bytes());
    b.extend_from_slice(&(HEADER_BYTES as u32).to_le_bytes());
    b.extend_from_slice(&segment.0.to_le_bytes());
    b.extend_from_slice(&segment_bytes.to_le_bytes());
    b.extend_from_slice(digest);
    b.extend_from_slice(&(n as u64).to_le_bytes());
    b.extend_from_slice(&index.first_lsn().0.to_le_bytes());
    b.extend_from_slice(&(ids.len() as u64).to_le_bytes());
    b.extend_from_slice(&(runs.len() as u32).to_le_bytes());
    b.extend_from_slice(&(names_bytes as u32).to_le_bytes());
    b.resize(HEADER_BYTES, 0);
    for i in 0..n as u64 {
        if let Some(r) = index.rec(i) {
            b.extend_from_slice(&(r.offset as u32).to_le_bytes());
            b.extend_from_slice(&r.len.to_le_bytes());
            b.extend_from_slice(&r.created_at_us.to_le_bytes());
        }
    }
    for (id, no) in &ids {
        b.extend_from_slice(id);
        b.extend_from_slice(&no.to_le_bytes());
    }
    let (mut name_off, mut start) = (0u32, 0u64);
    for (run, recs) in &runs {
        b.extend_from_slice(&name_off.to_le_bytes());
        b.extend_from_slice(&(run.tenant.len() as u32).to_le_bytes());
        b.extend_from_slice(&run.first_seq.0.to_le_bytes());
        b.extend_from_slice(&run.count.to_le_bytes());
        b.extend_from_slice(&start.to_le_bytes());
        b.extend_from_slice(&run.last_created_us.to_le_bytes());
        b.extend_from_slice(&run.last_hash);
        name_off += run.tenant.len() as u32;
        start += recs.len() as u64;
    }
    for (_, recs) in &runs {
        for no in *recs {
            b.extend_from_slice(&no.to_le_bytes());
        }
    }
    for (run, _) in &runs {
        b.extend_from_slice(run.tenant.as_bytes());
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    debug_assert_eq!(b.len(), total);
    b
}

/// A sealed segment's index, read through an mmap. Every look-up is bounds-checked; the
/// whole file was CRC-checked when opened.
#[derive(Debug)]
pub struct MappedIndex {
    bytes: Bytes,
    first_lsn: Lsn,
    n: u64,
    ids: u64,
    tenants: u64,
    r_at: usize,
    i_at: usize,
    t_at: usize,
    s_at: usize,
    n_at: usize,
}

impl MappedIndex {
    /// Checks an index file against the segment it must describe. `Ok(None)` when it
    /// is stale or damaged (the caller rebuilds it); never trusts a length before
    /// checking it against the file size.
    pub fn open(
        bytes: Bytes,
        segment: SegmentId,
        segment_bytes: u64,
        digest: &[u8; 32],
    ) -> Option<Arc<MappedIndex>> {
        let b = &bytes[..];
        if b.len() < HEADER_BYTES + 4 || b[..8] != IDX_MAGIC || u32_at(b, 8) != IDX_VERSION {
            return None;
        }
        let (body, trailer) = b.split_at(b.len() - 4);
        if crc32fast::hash(body) != u32_at(trailer, 0) {
            return None;
        }
        if u32_at(b, 12) as usize != HEADER_BYTES
            || u64_at(b, 16) != segment.0
            || u64_at(b, 24) != segment_bytes
            || b[32..64] != digest[..]
        {
            return None;
        }
        let n = u64_at(b, 64);
        let ids = u64_at(b, 80);
        let tenants = u32_at(b, 88) as u64;
        let names = u32_at(b, 92) as u64;
        let expect = (HEADER_BYTES as u64)
            .checked_add(n.checked_mul((R_BYTES + S_BYTES) as u64)?)?
            .checked_add(ids.checked_mul(I_BYTES as u64)?)?
            .checked_add(tenants.checked_mul(T_BYTES as u64)?)?
            .checked_add(names)?
            .checked_add(4)?;
        if expect != b.len() as u64
            || ids > n
            || n > segment_bytes / crate::frame::FRAME_BYTES_MIN as u64
        {
            return None;
        }
        let r_at = HEADER_BYTES;
        let i_at = r_at + n as usize * R_BYTES;
        let t_at = i_at + ids as usize * I_BYTES;
        let s_at = t_at + tenants as usize * T_BYTES;
        let n_at = s_at + n as usize * S_BYTES;
        let first_lsn = Lsn(u64_at(b, 72));
        let idx = MappedIndex {
            bytes,
            first_lsn,
            n,
            ids,
            tenants,
            r_at,
            i_at,
            t_at,
            s_at,
            n_at,
        };
        idx.tables_consistent().then(|| Arc::new(idx))
    }

    /// Cheap structural checks the CRC cannot give: names inside N, starts inside S.
    fn tables_consistent(&self) -> bool {
        let names_len = (self.bytes.len() - 4 - self.n_at) as u64;
        let mut total = 0u64;
        for t in 0..self.tenants {
            let e = self.t_entry(t);
            let (off, len) = (u32_at(e, 0) as u64, u32_at(e, 4) as u64);
            let (count, start) = (u64_at(e, 16), u64_at(e, 24));
            if off + len > names_len || start != total || count == 0 {
                return false;
            }
            total += count;
        }
        total == self.n
    }

    /// LSN of record 0.
    pub fn first_lsn(&self) -> Lsn {
        self.first_lsn
    }

    /// Records.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Record `i`.
    pub fn rec(&self, i: u64) -> Option<RecLoc> {
        if i >= self.n {
            return None;
        }
        let at = self.r_at + i as usize * R_BYTES;
        let e = &self.bytes[at..at + R_BYTES];
        Some(RecLoc {
            offset: u32_at(e, 0) as u64,
            len: u32_at(e, 4),
            created_at_us: u64_at(e, 8) as i64,
        })
    }

    fn created(&self, i: u64) -> i64 {
        let at = self.r_at + i as usize * R_BYTES;
        u64_at(&self.bytes, at + 8) as i64
    }

    /// Record number of an id (binary search over the sorted I table).
    pub fn find_id(&self, id: &[u8; 16]) -> Option<u64> {
        let (mut lo, mut hi) = (0u64, self.ids);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let at = self.i_at + mid as usize * I_BYTES;
            match self.bytes[at..at + 16].cmp(&id[..]) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    let no = u32_at(&self.bytes, at + 16) as u64;
                    return (no < self.n).then_some(no);
                }
            }
        }
        None
    }

    /// The id of record `i`: a linear search of the I table (for damage reports only).
    pub fn id_of(&self, i: u64) -> Option<[u8; 16]> {
        (0..self.ids).find_map(|k| {
            let at = self.i_at + k as usize * I_BYTES;
            (u32_at(&self.bytes, at + 16) as u64 == i).then(|| {
                let mut id = [0u8; 16];
                id.copy_from_slice(&self.bytes[at..at + 16]);
                id
            })
        })
    }

    fn t_entry(&self, t: u64) -> &[u8] {
        let at = self.t_at + t as usize * T_BYTES;
        &self.bytes[at..at + T_BYTES]
    }

    fn name(&self, e: &[u8]) -> &[u8] {
        let (off, len) = (u32_at(e, 0) as usize, u32_at(e, 4) as usize);
        &self.bytes[self.n_at + off..self.n_at + off + len]
    }

    fn find_tenant(&self, tenant: &str) -> Option<&[u8]> {
        let (mut lo, mut hi) = (0u64, self.tenants);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = self.t_entry(mid);
            match self.name(e).cmp(tenant.as_bytes()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(e),
            }
        }
        None
    }

    fn run_of(&self, e: &[u8]) -> TenantRun {
        let mut last_hash = [0u8; 32];
        last_hash.copy_from_slice(&e[40..72]);
        TenantRun {
            tenant: String::from_utf8_lossy(self.name(e)).into_owned(),
            first_seq: Seq(u64_at(e, 8)),
            count: u64_at(e, 16),
            last_hash,
            last_created_us: u64_at(e, 32) as i64,
        }
    }

    /// Record number of a tenant's seq.
    pub fn find_seq(&self, tenant: &str, seq: Seq) -> Option<u64> {
        let e = self.find_tenant(tenant)?;
        let k = seq.0.checked_sub(u64_at(e, 8))?;
        (k < u64_at(e, 16)).then(|| self.s_rec(u64_at(e, 24) + k))?
    }

    fn s_rec(&self, s: u64) -> Option<u64> {
        if s >= self.n {
            return None;
        }
        let no = u32_at(&self.bytes, self.s_at + s as usize * S_BYTES) as u64;
        (no < self.n).then_some(no)
    }

    /// First record at or after time `t`.
    pub fn lower_bound_time(&self, t: i64) -> u64 {
        let (mut lo, mut hi) = (0u64, self.n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.created(mid) < t {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// A tenant's run.
    pub fn tenant_run(&self, tenant: &str) -> Option<TenantRun> {
        self.find_tenant(tenant).map(|e| self.run_of(e))
    }

    /// Every run, sorted by tenant name.
    pub fn tenant_runs(&self) -> Vec<TenantRun> {
        (0..self.tenants)
            .map(|t| self.run_of(self.t_entry(t)))
            .collect()
    }

    /// Record number of the tenant's `k`-th event here.
    pub fn tenant_rec(&self, tenant: &str, k: u64) -> Option<u64> {
        let e = self.find_tenant(tenant)?;
        (k < u64_at(e, 16)).then(|| self.s_rec(u64_at(e, 24) + k))?
    }
}

/// Opens `<id>.idx` if present and valid for this segment.
pub(crate) fn load_index_file(
    storage: &dyn Storage,
    wal: &Path,
    segment: SegmentId,
    segment_bytes: u64,
    digest: &[u8; 32],
) -> Result<Option<Arc<MappedIndex>>> {
    let path = crate::segment::idx_path(wal, segment);
    if !storage.exists(&path).ctx(&path, "stat")? {
        return Ok(None);
    }
    let file = storage.open_ro(&path).ctx(&path, "open")?;
    let bytes = file.map().ctx(&path, "mmap")?;
    Ok(MappedIndex::open(bytes, segment, segment_bytes, digest))
}
