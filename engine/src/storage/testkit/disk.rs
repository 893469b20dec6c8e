//! The state behind [`FaultyStorage`](super::FaultyStorage): inodes with durable and
//! current bytes, the current and durable namespaces, and what a crash keeps.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::mem;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Fault, OpKind};

/// Identifies one file independently of its names (a rename keeps it, open handles hold it).
pub(super) type InodeId = u64;

/// The disk's sector: a write that reaches the disk lands sector by sector, in any order.
pub(super) const SECTOR_BYTES: u64 = 512;

/// Largest file the model holds (all bytes live in memory, up to three times over). A
/// test that passes it has a bug; failing beats exhausting memory.
pub(super) const FILE_BYTES_MAX: u64 = 1 << 30;

/// One change to a file's bytes that no completed sync has made durable yet.
#[derive(Debug, Clone)]
pub(super) enum Change {
    /// `write_all_at`.
    Write { offset: u64, data: Vec<u8> },
    /// `allocate`: zeros written from the old end.
    Zeros { offset: u64, len: u64 },
    /// `set_len`: truncation or extension with zeros, atomic (metadata).
    SetLen(u64),
}

impl Change {
    /// The byte range a write covers; `None` for a length change.
    fn span(&self) -> Option<(u64, u64)> {
        match *self {
            Change::Write { offset, ref data } => Some((offset, offset + data.len() as u64)),
            Change::Zeros { offset, len } => Some((offset, offset + len)),
            Change::SetLen(_) => None,
        }
    }

    /// Applies the whole change to `content`.
    pub(super) fn apply(&self, content: &mut Vec<u8>) {
        match self.span() {
            Some((lo, hi)) => self.apply_range(content, lo, hi),
            None => {
                if let Change::SetLen(len) = *self {
                    content.resize(to_usize(len), 0);
                }
            }
        }
    }

    /// Applies the part of a write inside the absolute range `lo..hi` (within its span),
    /// extending `content` with zeros if it ends before `hi`.
    fn apply_range(&self, content: &mut Vec<u8>, lo: u64, hi: u64) {
        if lo >= hi {
            return;
        }
        if content.len() < to_usize(hi) {
            content.resize(to_usize(hi), 0);
        }
        let dst = &mut content[to_usize(lo)..to_usize(hi)];
        match self {
            Change::Write { offset, data } => {
                dst.copy_from_slice(&data[to_usize(lo - offset)..to_usize(hi - offset)]);
            }
            Change::Zeros { .. } => dst.fill(0),
            Change::SetLen(_) => {}
        }
    }
}

/// Lengths and offsets were checked against [`FILE_BYTES_MAX`] before they got here.
fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// One file's bytes.
#[derive(Debug)]
pub(super) struct Inode {
    /// What survives a crash for certain.
    pub durable: Vec<u8>,
    /// What reads see now (the page cache).
    pub current: Vec<u8>,
    /// Changes since the last completed sync, oldest first.
    pub pending: Vec<Change>,
    /// False once `durable` + `pending` no longer reproduce `current` (a failed sync
    /// dropped writes, or the test corrupted bytes); disables a self-check.
    pub exact: bool,
}

impl Default for Inode {
    fn default() -> Self {
        let (durable, current, pending) = (Vec::new(), Vec::new(), Vec::new());
        Inode {
            durable,
            current,
            pending,
            exact: true,
        }
    }
}

impl Inode {
    /// Records and applies a change to the current bytes.
    pub(super) fn change(&mut self, change: Change) {
        change.apply(&mut self.current);
        self.pending.push(change);
    }

    /// Whether every byte of `lo..hi` is durable and no pending change touches it.
    pub(super) fn is_durable(&self, lo: u64, hi: u64) -> bool {
        hi <= self.durable.len() as u64
            && self.pending.iter().all(|change| match change {
                Change::SetLen(len) => *len >= hi,
                write => write.span().is_none_or(|(a, b)| b <= lo || a >= hi),
            })
    }

    /// A completed sync: every pending change becomes durable.
    fn sync(&mut self) {
        for change in mem::take(&mut self.pending) {
            change.apply(&mut self.durable);
        }
        debug_assert!(
            !self.exact || self.durable == self.current,
            "model out of step"
        );
    }
}

/// A one-shot fault for the next operation of a kind on a matching path.
#[derive(Debug, Clone)]
pub(super) struct Matcher {
    pub kind: OpKind,
    pub path_contains: String,
    pub fault: Fault,
}

/// The whole in-memory file system.
#[derive(Debug)]
pub(super) struct Disk {
    pub rng: ChaCha8Rng,
    /// Bumped by every crash; a handle from an older epoch is dead.
    pub epoch: u64,
    /// Existing directories. Creating one is durable at once (see the module doc).
    pub dirs: BTreeSet<PathBuf>,
    pub inodes: BTreeMap<InodeId, Inode>,
    /// The namespace that `open`, `list` and `exists` see.
    pub names: BTreeMap<PathBuf, InodeId>,
    /// The namespace a crash reverts to: updated per directory by `sync_dir`.
    pub durable_names: BTreeMap<PathBuf, InodeId>,
    next_inode: InodeId,
    /// Mutating operations attempted so far (the index the next one gets).
    pub ops: u64,
    pub faults_at: BTreeMap<u64, Fault>,
    pub matchers: Vec<Matcher>,
    /// Held locks: path to the token of the guard holding it.
    pub locks: BTreeMap<PathBuf, u64>,
    pub next_lock: u64,
    /// Page-cache drops (`drop_cached`) so far.
    pub drops: CacheDrops,
}

/// What `drop_cached` was asked to drop (see [`super::FaultyStorage::cache_drops`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheDrops {
    /// Bytes asked to be dropped that were durable and not being changed.
    pub durable_bytes: u64,
    /// Calls whose range held bytes not yet durable (written or resized since the last
    /// sync, or past the durable end). A real page cache would keep such pages dirty;
    /// an engine that asks is confused about what is durable.
    pub undurable_calls: u64,
}

impl Disk {
    pub(super) fn new(seed: u64) -> Self {
        Disk {
            rng: ChaCha8Rng::seed_from_u64(seed),
            epoch: 0,
            dirs: BTreeSet::new(),
            inodes: BTreeMap::new(),
            names: BTreeMap::new(),
            durable_names: BTreeMap::new(),
            next_inode: 1,
            ops: 0,
            faults_at: BTreeMap::new(),
            matchers: Vec::new(),
            locks: BTreeMap::new(),
            next_lock: 1,
            drops: CacheDrops::default(),
        }
    }

    /// Counts one mutating operation and returns the fault planned for it, if any.
    pub(super) fn begin(&mut self, kind: OpKind, paths: &[&Path]) -> Option<Fault> {
        let index = self.ops;
        self.ops += 1;
        if let Some(fault) = self.faults_at.remove(&index) {
            return Some(fault);
        }
        let hit = self.matchers.iter().position(|m| {
            (m.kind == OpKind::Any || m.kind == kind)
                && paths
                    .iter()
                    .any(|p| p.to_string_lossy().contains(m.path_contains.as_str()))
        })?;
        Some(self.matchers.remove(hit).fault)
    }

    pub(super) fn dir_exists(&self, dir: &Path) -> bool {
        is_root(dir) || self.dirs.contains(dir)
    }

    /// Fails unless the directory that would hold `path` exists.
    pub(super) fn check_parent(&self, path: &Path) -> io::Result<()> {
        if self.dir_exists(parent(path)) {
            Ok(())
        } else {
            Err(not_found(parent(path)))
        }
    }

    pub(super) fn inode_at(&self, path: &Path) -> io::Result<InodeId> {
        match self.names.get(path) {
            Some(&id) => Ok(id),
            None if self.dirs.contains(path) => Err(io::Error::from_raw_os_error(libc::EISDIR)),
            None => Err(not_found(path)),
        }
    }

    pub(super) fn inode(&mut self, id: InodeId) -> &mut Inode {
        // Inodes are dropped only by a crash, which also kills every handle naming them.
        self.inodes.entry(id).or_default()
    }

    /// Makes a new empty file named `path` (the caller checked that it may).
    pub(super) fn create(&mut self, path: &Path) -> InodeId {
        let id = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(id, Inode::default());
        self.names.insert(path.to_path_buf(), id);
        id
    }

    pub(super) fn sync_file(&mut self, id: InodeId) {
        self.inode(id).sync();
    }

    /// A failed fsync, as on Linux: the kernel may mark the dirty pages clean, so each
    /// unsynced change is, by a coin flip, either dropped for good (reads still see it
    /// until a crash; no later sync makes it durable) or left pending.
    pub(super) fn drop_unsynced(&mut self, id: InodeId) {
        let pending = mem::take(&mut self.inode(id).pending);
        let kept: Vec<Change> = pending
            .into_iter()
            .filter(|_| self.rng.random_bool(0.5))
            .collect();
        let inode = self.inode(id);
        inode.exact = false;
        inode.pending = kept;
    }

    /// Makes the entries of `dir` durable: the durable namespace of `dir` becomes its
    /// current namespace.
    pub(super) fn sync_dir(&mut self, dir: &Path) {
        self.durable_names.retain(|p, _| parent(p) != dir);
        for (path, &id) in &self.names {
            if parent(path) == dir {
                self.durable_names.insert(path.clone(), id);
            }
        }
    }

    /// Power loss: see [`FaultyStorage::crash`](super::FaultyStorage::crash).
    pub(super) fn crash(&mut self) {
        self.kill();
        let live: BTreeSet<InodeId> = self.durable_names.values().copied().collect();
        self.inodes.retain(|id, _| live.contains(id));
        for inode in self.inodes.values_mut() {
            for change in mem::take(&mut inode.pending) {
                settle(&change, &mut inode.durable, &mut self.rng);
            }
            inode.current = inode.durable.clone();
            inode.exact = true;
        }
        self.names = self.durable_names.clone();
    }

    /// The process dies: handles go stale and its locks are released.
    pub(super) fn kill(&mut self) {
        self.epoch += 1;
        self.locks.clear();
    }

    /// Forgets files no name (current or durable) refers to any more: after a kill no
    /// handle can reach them. A file named only in the durable namespace stays, since
    /// a crash brings it back.
    pub(super) fn collect_garbage(&mut self) {
        let named: BTreeSet<InodeId> = self
            .names
            .values()
            .chain(self.durable_names.values())
            .copied()
            .collect();
        self.inodes.retain(|id, _| named.contains(id));
    }
}

/// Decides what a crash keeps of one unsynced change and applies that to `durable`.
/// A write is lost, kept, torn (a prefix kept) or scattered (each sector kept or not;
/// the length still grows to the write's end, so lost sectors past the old end read as
/// zeros, as when the size update reached the journal before the data). A length change
/// is kept or lost.
fn settle(change: &Change, durable: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    let Some((lo, hi)) = change.span() else {
        if rng.random_bool(0.5) {
            change.apply(durable);
        }
        return;
    };
    match rng.random_range(0..4u8) {
        0 => {}
        1 => change.apply(durable),
        2 => {
            let cut = rng.random_range(lo..=hi);
            change.apply_range(durable, lo, cut);
        }
        _ => {
            let mut at = lo;
            while at < hi {
                let end = ((at / SECTOR_BYTES + 1) * SECTOR_BYTES).min(hi);
                if rng.random_bool(0.5) {
                    change.apply_range(durable, at, end);
                }
                at = end;
            }
            if durable.len() < to_usize(hi) {
                durable.resize(to_usize(hi), 0);
            }
        }
    }
}

/// The directory holding `path` ("" for a bare name).
pub(super) fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

/// Directories that always exist: the root and the working directory.
pub(super) fn is_root(dir: &Path) -> bool {
    dir.as_os_str().is_empty() || dir == Path::new("/") || dir == Path::new(".")
}

pub(super) fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file or directory", path.display()),
    )
}
