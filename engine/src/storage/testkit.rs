//! Test support: an in-memory, fault-injecting [`Storage`].
//!
//! [`FaultyStorage`] keeps every file twice: its *durable* bytes (what survives power
//! loss for certain) and its *current* bytes (what reads see, the page cache), plus the
//! changes made since the file's last completed `sync_data`/`sync_all`. Names work the
//! same way: `create_new`, `rename` and `remove` change the current namespace at once and
//! the durable one only when `sync_dir` of the parent directory completes. Directories
//! themselves (`create_dir_all`) are durable at once: the engine creates its directory
//! tree before it writes anything, and modelling lost directories adds nothing it could
//! recover from.
//!
//! [`FaultyStorage::crash`] is power loss; what it keeps is spelled out on that method.
//! [`FaultyStorage::crash_keep_all`] is a killed process. Faults ([`Fault`]) are planned
//! by operation index ([`FaultyStorage::fail_op`]) or by kind and path
//! ([`FaultyStorage::fail_matching`]). Every random choice comes from one ChaCha8 stream
//! seeded by [`seeded`] or [`FaultyStorage::with_seed`], so the same seed and the same
//! operations give the same bytes.
//!
//! Hidden from the docs: test support, public only for the engine's integration tests.
#![doc(hidden)]

mod disk;
mod file;
pub mod forge;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};

pub use self::disk::CacheDrops;
use self::disk::{is_root, not_found, Disk, InodeId, Matcher};
use self::file::{FaultyFile, LockGuard};
use super::{FileHandle, Storage};

/// A fault to inject into one mutating operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The operation fails with EIO and changes nothing.
    Eio,
    /// The operation fails with ENOSPC and changes nothing.
    Enospc,
    /// A write (or allocate) stores a random strict prefix, then fails with EIO. On other
    /// operations, the same as [`Fault::Eio`].
    ShortWrite,
    /// An fsync fails with EIO, and each change it should have made durable is, by a
    /// seeded coin flip, dropped for good (Linux marks the pages clean: reads still see
    /// them, a later successful sync does not persist them, a crash loses them) or left
    /// pending. On other operations (including `sync_dir`), the same as [`Fault::Eio`].
    SyncFail,
}

impl Fault {
    fn error(self) -> io::Error {
        match self {
            Fault::Enospc => io::Error::from_raw_os_error(libc::ENOSPC),
            Fault::Eio | Fault::ShortWrite | Fault::SyncFail => {
                io::Error::from_raw_os_error(libc::EIO)
            }
        }
    }
}

/// The mutating operations, each of which counts in [`FaultyStorage::ops`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// `StorageFile::write_all_at`.
    Write,
    /// `StorageFile::sync_data` and `StorageFile::sync_all`.
    Sync,
    /// `StorageFile::set_len`.
    SetLen,
    /// `StorageFile::allocate`.
    Allocate,
    /// `Storage::create_new`.
    Create,
    /// `Storage::rename` (matched against both paths).
    Rename,
    /// `Storage::remove`.
    Remove,
    /// `Storage::sync_dir` (matched against the directory).
    SyncDir,
    /// Any of the above (only for [`FaultyStorage::fail_matching`]).
    Any,
}

/// A new disk seeded from the environment variable `SEALOG_SEED` if set (decimal), else
/// at random. Prints the seed to stderr so that a failing run can be replayed.
pub fn seeded() -> (u64, FaultyStorage) {
    let from_env = std::env::var("SEALOG_SEED")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let seed = from_env.unwrap_or_else(rand::random);
    eprintln!("FaultyStorage seed={seed}; set SEALOG_SEED={seed} to replay");
    (seed, FaultyStorage::with_seed(seed))
}

/// An in-memory file system that models what a crash keeps and injects faults (see the
/// module doc). Clones share one disk; it is safe to use from several threads.
#[derive(Clone)]
pub struct FaultyStorage {
    shared: Arc<Shared>,
}

struct Shared {
    seed: u64,
    disk: Mutex<Disk>,
}

impl fmt::Debug for FaultyStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("FaultyStorage");
        s.field("seed", &self.shared.seed);
        if let Some(disk) = self.shared.disk.try_lock() {
            s.field("files", &disk.names.len()).field("ops", &disk.ops);
        }
        s.finish()
    }
}

impl FaultyStorage {
    /// An empty disk whose random choices all derive from `seed`.
    pub fn with_seed(seed: u64) -> Self {
        let shared = Shared {
            seed,
            disk: Mutex::new(Disk::new(seed)),
        };
        FaultyStorage {
            shared: Arc::new(shared),
        }
    }

    /// The seed this disk was made with.
    pub fn seed(&self) -> u64 {
        self.shared.seed
    }

    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.shared.disk.lock()
    }

    /// Power loss, then reboot. Every handle opened before fails every operation from now
    /// on and every lock is released; `Storage` methods keep working. What is kept:
    /// - names: exactly the durable namespace, i.e. for each directory the entries it had
    ///   at its last completed `sync_dir` (an unsynced create, rename or remove is undone;
    ///   a file whose name was never dir-synced vanishes even if its bytes were synced);
    /// - bytes: each file's durable bytes (as of its last completed sync) with each later
    ///   change replayed in order, each by a seeded choice: a write is lost, kept whole,
    ///   torn (a random prefix kept) or scattered (each 512-byte sector kept or lost
    ///   independently, and the length grows to the write's end, so lost sectors past the
    ///   old end read as zeros); a `set_len` is kept or lost; `allocate` counts as a write
    ///   of zeros. Changes dropped by a [`Fault::SyncFail`] are lost.
    pub fn crash(&self) {
        self.disk().crash();
    }

    /// A killed process (SIGKILL): the page cache survives, so names and bytes stay as they
    /// are (and are no more durable than before); only handles die and locks are released.
    pub fn crash_keep_all(&self) {
        let mut disk = self.disk();
        disk.kill();
        disk.collect_garbage();
    }

    /// What the engine has asked to drop from the page cache so far (`drop_cached`).
    pub fn cache_drops(&self) -> CacheDrops {
        self.disk().drops
    }

    /// Mutating operations attempted so far, failed ones included. A test can count the
    /// operations of a dry run, then fail each index in turn on a fresh disk.
    pub fn ops(&self) -> u64 {
        self.disk().ops
    }

    /// Fails the mutating operation `n` places ahead: `fail_op(0, _)` fails the next one,
    /// i.e. the one whose index is [`ops`](Self::ops) now.
    pub fn fail_op(&self, n: u64, fault: Fault) {
        let mut disk = self.disk();
        let index = disk.ops + n;
        disk.faults_at.insert(index, fault);
    }

    /// Fails the next operation of `kind` whose path contains `path_contains` (once). A
    /// handle's path is the one it was opened or created with.
    pub fn fail_matching(&self, kind: OpKind, path_contains: &str, fault: Fault) {
        let matcher = Matcher {
            kind,
            path_contains: path_contains.to_owned(),
            fault,
        };
        self.disk().matchers.push(matcher);
    }

    /// Forgets every planned fault.
    pub fn clear_faults(&self) {
        let mut disk = self.disk();
        disk.faults_at.clear();
        disk.matchers.clear();
    }

    /// Media corruption: flips one bit of the file now at `path`, in its current bytes and
    /// (where they reach that far) its durable bytes.
    pub fn flip_bit(&self, path: impl AsRef<Path>, byte_offset: u64, bit: u8) -> io::Result<()> {
        let mask = 1u8
            .checked_shl(u32::from(bit))
            .ok_or_else(|| invalid("bit must be 0..=7"))?;
        self.mutate(path.as_ref(), byte_offset, 1, |byte, _| *byte ^= mask)
    }

    /// Media corruption: overwrites bytes of the file now at `path` (the range must lie
    /// inside its current length), in its current bytes and, where they reach that far,
    /// its durable bytes.
    pub fn corrupt(&self, path: impl AsRef<Path>, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.mutate(path.as_ref(), offset, bytes.len() as u64, |byte, i| {
            *byte = bytes[i]
        })
    }

    fn mutate(
        &self,
        path: &Path,
        offset: u64,
        len: u64,
        f: impl Fn(&mut u8, usize),
    ) -> io::Result<()> {
        let mut disk = self.disk();
        let id = disk.inode_at(path)?;
        let inode = disk.inode(id);
        if offset
            .checked_add(len)
            .is_none_or(|end| end > inode.current.len() as u64)
        {
            return Err(invalid("corruption outside the file"));
        }
        for i in 0..len as usize {
            let at = offset as usize + i;
            f(&mut inode.current[at], i);
            if let Some(byte) = inode.durable.get_mut(at) {
                f(byte, i);
            }
        }
        inode.exact = false;
        Ok(())
    }

    /// The current bytes of the file at `path` (what a read would see).
    pub fn contents(&self, path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
        let mut disk = self.disk();
        let id = disk.inode_at(path.as_ref())?;
        Ok(disk.inode(id).current.clone())
    }

    fn open(&self, path: &Path, writable: bool) -> io::Result<FileHandle> {
        let disk = self.disk();
        let id = disk.inode_at(path)?;
        Ok(self.handle(&disk, id, path, writable))
    }

    fn handle(&self, disk: &Disk, id: InodeId, path: &Path, writable: bool) -> FileHandle {
        let shared = Arc::clone(&self.shared);
        Arc::new(FaultyFile {
            shared,
            id,
            epoch: disk.epoch,
            path: path.to_path_buf(),
            writable,
        })
    }
}

impl Storage for FaultyStorage {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        for d in dir.ancestors().filter(|d| !is_root(d)) {
            if disk.names.contains_key(d) {
                return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
            }
        }
        for d in dir.ancestors().filter(|d| !is_root(d)) {
            disk.dirs.insert(d.to_path_buf());
        }
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let disk = self.disk();
        if !disk.dir_exists(dir) {
            return Err(not_found(dir));
        }
        let in_dir = disk.names.keys().filter(|p| disk::parent(p) == dir);
        let mut names: Vec<String> = in_dir
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        Ok(self.disk().names.contains_key(path))
    }

    fn create_new(&self, path: &Path) -> io::Result<FileHandle> {
        let mut disk = self.disk();
        disk.check_parent(path)?;
        if disk.names.contains_key(path) || disk.dirs.contains(path) || is_root(path) {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        if let Some(fault) = disk.begin(OpKind::Create, &[path]) {
            return Err(fault.error());
        }
        let id = disk.create(path);
        Ok(self.handle(&disk, id, path, true))
    }

    fn open_rw(&self, path: &Path) -> io::Result<FileHandle> {
        self.open(path, true)
    }

    fn open_ro(&self, path: &Path) -> io::Result<FileHandle> {
        self.open(path, false)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        let id = disk.inode_at(from)?;
        disk.check_parent(to)?;
        if disk.dirs.contains(to) || is_root(to) {
            return Err(io::Error::from_raw_os_error(libc::EISDIR));
        }
        if let Some(fault) = disk.begin(OpKind::Rename, &[from, to]) {
            return Err(fault.error());
        }
        disk.names.remove(from);
        disk.names.insert(to.to_path_buf(), id);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        disk.inode_at(path)?;
        if let Some(fault) = disk.begin(OpKind::Remove, &[path]) {
            return Err(fault.error());
        }
        disk.names.remove(path);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut disk = self.disk();
        if !disk.dir_exists(dir) {
            return Err(not_found(dir));
        }
        if let Some(fault) = disk.begin(OpKind::SyncDir, &[dir]) {
            return Err(fault.error());
        }
        disk.sync_dir(dir);
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn fmt::Debug + Send + Sync>> {
        let mut disk = self.disk();
        disk.check_parent(path)?;
        if !disk.names.contains_key(path) {
            // Like FileStorage, the lock file is created if missing (not a counted op).
            disk.create(path);
        }
        if disk.locks.contains_key(path) {
            let why = format!("{} is locked by another process", path.display());
            return Err(io::Error::new(io::ErrorKind::WouldBlock, why));
        }
        let token = disk.next_lock;
        disk.next_lock += 1;
        disk.locks.insert(path.to_path_buf(), token);
        let shared = Arc::clone(&self.shared);
        Ok(Box::new(LockGuard {
            shared,
            path: path.to_path_buf(),
            token,
        }))
    }
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, why.to_owned())
}
