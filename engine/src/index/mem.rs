//! [`MemIndex`]: the index of the active segment, grown as batches become durable.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::{RecLoc, TenantRun};
use crate::types::{Lsn, Seq};

/// One record as the in-memory index keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemRec {
    /// Frame offset in the segment file.
    pub offset: u32,
    /// Frame length.
    pub len: u32,
    /// Server time.
    pub created_at_us: i64,
    /// Tenant's seq.
    pub seq: Seq,
    /// Event id.
    pub id: [u8; 16],
    /// Event hash.
    pub hash: [u8; 32],
}

#[derive(Debug, Clone)]
struct Run {
    name: String,
    first_seq: Seq,
    recs: Vec<u32>,
    last_hash: [u8; 32],
    last_created_us: i64,
}

/// Hashes an event id by its last 8 bytes: UUIDv7's random bits (62 of them there), so
/// no further mixing is needed, and SipHash's cost per insert is saved on every append.
#[derive(Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 16]` hashes as its length then its bytes: keep the last 8 bytes seen.
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
}

/// A run entry for a seq lost to damage.
pub const DAMAGED: u32 = u32::MAX;

/// In-memory index of one segment.
#[derive(Debug, Clone)]
pub struct MemIndex {
    first_lsn: Lsn,
    recs: Vec<(u32, u32, i64, [u8; 16])>,
    ids: HashMap<[u8; 16], u32, BuildHasherDefault<IdHasher>>,
    tenants: HashMap<String, u32>,
    runs: Vec<Run>,
    /// Some record is readable by LSN but not in its tenant's run (damage).
    unchained: bool,
}

/// Why a record cannot be added: the caller has a bug or the log is damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushFault {
    /// The tenant's seq does not follow its previous one in this segment.
    SeqGap,
    /// Time went backwards.
    TimeBackwards,
}

impl MemIndex {
    /// An empty index whose first record will have `first_lsn`.
    pub fn new(first_lsn: Lsn) -> Self {
        MemIndex {
            first_lsn,
            recs: Vec::new(),
            ids: HashMap::default(),
            tenants: HashMap::new(),
            runs: Vec::new(),
            unchained: false,
        }
    }

    /// LSN of record 0.
    pub fn first_lsn(&self) -> Lsn {
        self.first_lsn
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// LSN the next record must have.
    pub fn next_lsn(&self) -> Lsn {
        Lsn(self.first_lsn.0 + self.recs.len() as u64)
    }

    /// Adds the next record (LSN `next_lsn()`).
    pub fn push(&mut self, tenant: &str, rec: &MemRec) -> Result<(), PushFault> {
        if let Some(&(_, _, last, _)) = self.recs.last() {
            if rec.created_at_us < last {
                return Err(PushFault::TimeBackwards);
            }
        }
        let no = self.recs.len() as u32;
        match self.tenants.get(tenant) {
            Some(&t) => {
                let run = &mut self.runs[t as usize];
                // Checked: a damaged frame may carry any seq, u64::MAX included.
                if run.first_seq.0.checked_add(run.recs.len() as u64) != Some(rec.seq.0) {
                    return Err(PushFault::SeqGap);
                }
                run.recs.push(no);
                run.last_hash = rec.hash;
                run.last_created_us = rec.created_at_us;
            }
            None => {
                self.tenants
                    .insert(tenant.to_owned(), self.runs.len() as u32);
                self.runs.push(Run {
                    name: tenant.to_owned(),
                    first_seq: rec.seq,
                    recs: vec![no],
                    last_hash: rec.hash,
                    last_created_us: rec.created_at_us,
                });
            }
        }
        self.recs
            .push((rec.offset, rec.len, rec.created_at_us, rec.id));
        // A duplicate id (astronomically unlikely for UUIDv7, or a tampered log) keeps
        // the first: look-ups by id are answered by the earlier event.
        self.ids.entry(rec.id).or_insert(no);
        Ok(())
    }

    /// Record `i`.
    pub fn rec(&self, i: u64) -> Option<RecLoc> {
        let &(offset, len, created_at_us, _) = self.recs.get(usize::try_from(i).ok()?)?;
        Some(RecLoc {
            offset: offset as u64,
            len,
            created_at_us,
        })
    }

    /// The id of record `i` (zero for a damage placeholder).
    pub fn id_of(&self, i: u64) -> Option<[u8; 16]> {
        self.recs.get(usize::try_from(i).ok()?).map(|r| r.3)
    }

    /// Record number of an id.
    pub fn find_id(&self, id: &[u8; 16]) -> Option<u64> {
        self.ids.get(id).map(|&n| n as u64)
    }

    /// Record number of a tenant's seq.
    pub fn find_seq(&self, tenant: &str, seq: Seq) -> Option<u64> {
        let run = &self.runs[*self.tenants.get(tenant)? as usize];
        let k = seq.0.checked_sub(run.first_seq.0)?;
        run.recs
            .get(usize::try_from(k).ok()?)
            .filter(|&&n| n != DAMAGED)
            .map(|&n| n as u64)
    }

    /// First record at or after time `t`.
    pub fn lower_bound_time(&self, t: i64) -> u64 {
        self.recs.partition_point(|&(_, _, c, _)| c < t) as u64
    }

    /// A tenant's run.
    pub fn tenant_run(&self, tenant: &str) -> Option<TenantRun> {
        Some(run_of(&self.runs[*self.tenants.get(tenant)? as usize]))
    }

    /// Every run, in the order tenants first appeared.
    pub fn tenant_runs(&self) -> Vec<TenantRun> {
        self.runs.iter().map(run_of).collect()
    }

    /// Record number of the tenant's `k`-th event here.
    pub fn tenant_rec(&self, tenant: &str, k: u64) -> Option<u64> {
        let run = &self.runs[*self.tenants.get(tenant)? as usize];
        run.recs
            .get(usize::try_from(k).ok()?)
            .filter(|&&n| n != DAMAGED)
            .map(|&n| n as u64)
    }

    /// Adds a readable record that cannot join its tenant's run (its seq goes backwards
    /// or jumps too far: a forged or damaged log). Reads by LSN and id find it, so
    /// verification names it; look-ups by seq do not.
    pub fn push_unchained(&mut self, rec: &MemRec) {
        let created = self.recs.last().map_or(rec.created_at_us, |r| r.2);
        let no = self.recs.len() as u32;
        self.recs
            .push((rec.offset, rec.len, rec.created_at_us.max(created), rec.id));
        self.ids.entry(rec.id).or_insert(no);
        self.unchained = true;
    }

    /// Adds `count` placeholders for LSNs lost to damage at `offset`: their look-ups by
    /// LSN answer a zero-length location, which reads report as damage.
    pub fn push_damaged(&mut self, offset: u32, count: u64) {
        let created = self.recs.last().map_or(i64::MIN, |r| r.2);
        for _ in 0..count {
            self.recs.push((offset, 0, created, [0; 16]));
        }
    }

    /// Like `push`, but a seq gap (events lost to damage before it) is padded with
    /// [`DAMAGED`] entries instead of refused, up to `gap_max` (the number of LSNs lost:
    /// no tenant can have lost more). A seq that goes backwards or jumps further is
    /// refused.
    pub fn push_after_damage(
        &mut self,
        tenant: &str,
        rec: &MemRec,
        gap_max: u64,
    ) -> Result<(), PushFault> {
        if let Some(&t) = self.tenants.get(tenant) {
            let run = &mut self.runs[t as usize];
            let Some(next) = run.first_seq.0.checked_add(run.recs.len() as u64) else {
                return Err(PushFault::SeqGap);
            };
            if rec.seq.0 < next || rec.seq.0 - next > gap_max {
                return Err(PushFault::SeqGap);
            }
            run.recs
                .extend(std::iter::repeat_n(DAMAGED, (rec.seq.0 - next) as usize));
        }
        let created = self.recs.last().map_or(rec.created_at_us, |r| r.2);
        let rec = MemRec {
            created_at_us: rec.created_at_us.max(created),
            ..*rec
        };
        self.push(tenant, &rec)
    }

    /// Whether any entry is a damage placeholder (such an index is never written to a
    /// file: the next open rebuilds it from the segment again).
    pub fn has_damage(&self) -> bool {
        self.unchained
            || self.recs.iter().any(|r| r.1 == 0)
            || self.runs.iter().any(|r| r.recs.contains(&DAMAGED))
    }

    /// Ids with their record numbers, sorted by id (for the index file).
    pub(crate) fn sorted_ids(&self) -> Vec<([u8; 16], u32)> {
        let mut ids: Vec<([u8; 16], u32)> = self.ids.iter().map(|(k, v)| (*k, *v)).collect();
        ids.sort_unstable();
        ids
    }

    /// Runs with their record lists, sorted by tenant name (for the index file).
    pub(crate) fn sorted_runs(&self) -> Vec<(TenantRun, &[u32])> {
        let mut runs: Vec<(TenantRun, &[u32])> = self
            .runs
            .iter()
            .map(|r| (run_of(r), r.recs.as_slice()))
            .collect();
        runs.sort_by(|a, b| a.0.tenant.cmp(&b.0.tenant));
        runs
    }
}

fn run_of(r: &Run) -> TenantRun {
    TenantRun {
        tenant: r.name.clone(),
        first_seq: r.first_seq,
        count: r.recs.len() as u64,
        last_hash: r.last_hash,
        last_created_us: r.last_created_us,
    }
}
