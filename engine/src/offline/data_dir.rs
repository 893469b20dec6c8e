//! Verifying a whole data directory without opening it: segments one by one (each
//! hashed on all cores), links and Merkle trees per tenant (tenants in parallel),
//! then every stored checkpoint. Reads only; creates, changes and locks nothing.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::report::{DataDirReport, EventFault, SegmentFault, SegmentFaultKind};
use super::segment::{self, Loaded};
use super::tenants::{checkpoint_tenants, finish_tenants, merkle_input, MerkleInput, Tenant};
use crate::error::{EngineError, IoContext, Result};
use crate::merkle::note::{VerifierKey, VKEY_FILE_NAME};
use crate::segment::SegmentFiles;
use crate::storage::Storage;
use crate::types::{Lsn, SegmentId, TenantId};

/// What the data-directory check takes besides the directory.
#[derive(Clone, Copy, Default)]
pub struct DataDirOptions<'a> {
    /// Checks every stored checkpoint's signature with this key (see [`data_dir_key`]).
    pub key: Option<&'a VerifierKey>,
    /// Called with (bytes of segments done, bytes of all segments).
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
}

impl std::fmt::Debug for DataDirOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataDirOptions")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The verifier key a data directory keeps for its operators (`keys/checkpoint.vkey`),
/// if it has one.
pub fn data_dir_key(storage: &dyn Storage, data_dir: &Path) -> Result<Option<VerifierKey>> {
    let path = data_dir.join("keys").join(VKEY_FILE_NAME);
    if !storage.exists(&path).ctx(&path, "stat")? {
        return Ok(None);
    }
    let bytes = read_small(storage, &path, super::INPUT_FILE_BYTES_MAX)?;
    super::parse_verifier_key(&bytes, &path).map(Some)
}

pub(crate) fn read_small(storage: &dyn Storage, path: &Path, max: u64) -> Result<Vec<u8>> {
    let file = storage.open_ro(path).ctx(path, "open")?;
    let size = file.size().ctx(path, "stat")?;
    if size > max {
        return Err(EngineError::Format {
            path: path.to_path_buf(),
            why: format!("{size} bytes; at most {max} are read"),
        });
    }
    let mut bytes = vec![0u8; size as usize];
    file.read_exact_at(&mut bytes, 0).ctx(path, "read")?;
    Ok(bytes)
}

/// Verifies the data directory `data_dir` (see the module docs of `offline`).
pub fn verify_data_dir(
    storage: &dyn Storage,
    data_dir: &Path,
    options: &DataDirOptions<'_>,
) -> Result<DataDirReport> {
    let started = Instant::now();
    let wal = data_dir.join("wal");
    let names = list_wal(storage, data_dir, &wal)?;
    let files = SegmentFiles::from_names(names.clone());
    let mut report = DataDirReport {
        segments: files.segments.len() as u64,
        ..DataDirReport::default()
    };
    for name in names.iter().filter(|n| n.contains(".seg.torn")) {
        report.notes.push(format!(
            "wal/{name}: bytes cut from a torn tail at an earlier start, kept for inspection"
        ));
    }
    let merkle = merkle_input(storage, data_dir, options.key, &mut report)?;
    let mut pass = Pass {
        storage,
        wal: &wal,
        options,
        merkle,
        report,
        tenants: Vec::new(),
        by_name: FxHashMap::default(),
        expected: Some(Lsn(1)),
        done: 0,
        total: 0,
    };
    // Tenants with checkpoints are opened first: each auditor snapshots its checkpoint
    // file before the events are read, so a live server's new checkpoints cannot be
    // taken for checkpoints of removed events.
    for name in checkpoint_tenants(storage, &pass.merkle.dir) {
        pass.tenant(name.as_str())?;
    }
    let mut sizes = Vec::with_capacity(files.segments.len());
    for &id in &files.segments {
        let path = crate::segment::segment_path(&wal, id);
        let size = storage.open_ro(&path).and_then(|f| f.size());
        sizes.push(size.ctx(&path, "stat")?);
    }
    pass.total = sizes.iter().sum();
    pass.report.bytes = pass.total;
    let last = files.segments.last().copied();
    // One thread reads and walks the next segment while this one's events are checked
    // on all cores: at most two segments' bytes are held (the one checked, the one
    // read ahead).
    std::thread::scope(|s| -> Result<()> {
        let (ahead, segments) = std::sync::mpsc::sync_channel(0);
        let wal = &wal;
        let ids = &files.segments;
        s.spawn(move || {
            for &id in ids {
                let read = segment::load(storage, wal, id, Some(id) == last);
                if ahead.send(read).is_err() {
                    return; // the check stopped on an error
                }
            }
        });
        for (read, &size) in segments.into_iter().zip(&sizes) {
            pass.segment(read?, size)?;
        }
        Ok(())
    })?;
    let mut report = pass.finish();
    report.elapsed = started.elapsed();
    Ok(report)
}

fn list_wal(storage: &dyn Storage, data_dir: &Path, wal: &Path) -> Result<Vec<String>> {
    match storage.list(wal) {
        Ok(names) => Ok(names),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(EngineError::Format {
            path: data_dir.to_path_buf(),
            why: "not a sealog data directory (it has no wal/)".into(),
        }),
        Err(source) => Err(EngineError::Io {
            path: wal.to_path_buf(),
            op: "list",
            source,
        }),
    }
}

/// One pass over the segments, in log order.
struct Pass<'a> {
    storage: &'a dyn Storage,
    wal: &'a Path,
    options: &'a DataDirOptions<'a>,
    merkle: MerkleInput<'a>,
    report: DataDirReport,
    tenants: Vec<Tenant>,
    by_name: FxHashMap<String, usize>,
    /// The LSN the next segment must start with (unknown after an unusable one).
    expected: Option<Lsn>,
    /// Bytes of segments done, and of all.
    done: u64,
    total: u64,
}

impl Pass<'_> {
    /// The index of tenant `name`, opening its auditor the first time.
    fn tenant(&mut self, name: &str) -> Result<usize> {
        if let Some(&t) = self.by_name.get(name) {
            return Ok(t);
        }
        let tenant = self.merkle.open(TenantId::new(name)?)?;
        self.by_name.insert(name.to_owned(), self.tenants.len());
        self.tenants.push(tenant);
        Ok(self.tenants.len() - 1)
    }

    /// Checks one segment, then its events' links and leaves, tenants in parallel.
    fn segment(&mut self, loaded: Loaded, size: u64) -> Result<()> {
        let (seg, walk) = match loaded {
            Loaded::Segment(seg, walk) => (seg, walk),
            Loaded::Unusable(fault) => {
                self.report.segment_faults.push(fault);
                self.expected = None;
                return Ok(());
            }
            Loaded::Unfinished(id) => {
                self.report.notes.push(format!(
                    "segment {id}: its creation never finished (no header, no events); sealogd removes it at its next start"
                ));
                return Ok(());
            }
        };
        let (id, first) = (seg.id, seg.header.first_lsn);
        if let Some(exp) = self.expected.filter(|e| *e != first) {
            self.report.segment_faults.push(lsn_gap(id, exp, first));
        }
        let (before, total, progress) = (self.done, self.total, self.options.progress);
        let in_segment = AtomicU64::new(0);
        let tick = |bytes: u64| {
            let now = in_segment.fetch_add(bytes, Ordering::Relaxed) + bytes;
            if let Some(progress) = progress {
                progress(before + now.min(size), total);
            }
        };
        let checked = segment::check(self.storage, self.wal, &seg, &walk, &tick);
        self.expected = Some(checked.next_lsn);
        self.report.events += checked.events.len() as u64;
        self.report.event_faults.extend(checked.event_faults);
        self.report.segment_faults.extend(checked.segment_faults);
        self.report.torn_tails.extend(checked.torn);
        for (k, ev) in checked.events.iter().enumerate() {
            let t = self.tenant(ev.tenant)?;
            self.tenants[t].pending.push(k as u32);
        }
        let followed: Vec<Result<Vec<EventFault>>> = self
            .tenants
            .par_iter_mut()
            .filter(|t| !t.pending.is_empty())
            .map(|t| t.follow(&checked.events, id))
            .collect();
        for faults in followed {
            self.report.event_faults.extend(faults?);
        }
        self.done += size;
        if let Some(progress) = progress {
            progress(self.done, total);
        }
        Ok(())
    }

    fn finish(mut self) -> DataDirReport {
        finish_tenants(self.tenants, &mut self.report);
        self.report
            .event_faults
            .sort_by_key(|f| (f.segment, f.offset));
        self.report
    }
}

fn lsn_gap(segment: SegmentId, expected: Lsn, found: Lsn) -> SegmentFault {
    let why = if found > expected {
        format!(
            "it starts at lsn {found} but lsn {expected} was expected: events lsn {expected}..={} are missing (a segment file removed or replaced)",
            found.0 - 1
        )
    } else {
        format!("it starts at lsn {found} but lsn {expected} was expected: it overlaps the segment before (a segment file replaced)")
    };
    SegmentFault {
        segment,
        offset: Some(0),
        kind: SegmentFaultKind::LsnGap,
        why,
    }
}
