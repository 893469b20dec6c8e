//! The file-system seam: every byte the engine reads or writes goes through [`Storage`].
//!
//! [`FileStorage`] is the real file system. [`testkit::FaultyStorage`] is an in-memory
//! file system that models what a crash keeps (only synced bytes and synced directory
//! entries are sure to survive; unsynced writes may be kept whole, torn or lost) and
//! injects faults (failed writes and fsyncs, short writes, ENOSPC, bit flips), each run
//! seeded and replayable. Crash, fault and corruption tests go through this trait; no
//! global failpoints exist.
//!
//! Contract for implementors (what the engine relies on):
//! - `write_all_at` followed by a successful `sync_data` (or `sync_all`) on the same file
//!   makes those bytes survive a crash; nothing else does.
//! - A file created with `create_new`, or a `rename`/`remove`, survives a crash only once
//!   `sync_dir` of its parent directory succeeded afterwards.
//! - `map` is called only on files that are never written again (sealed segments and
//!   their indexes); it returns the file's whole contents.

mod file;
pub mod testkit;

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

/// Buffers per `pwritev`: Linux's `IOV_MAX` (`UIO_MAXIOV`); more are written in further
/// calls.
pub const IOVECS_PER_WRITE_MAX: usize = 1024;

pub use file::FileStorage;

/// Locks `dir` for this process (`dir/LOCK`) for as long as the guard lives; another
/// holder is [`EngineError::Locked`](crate::EngineError::Locked).
pub(crate) fn lock_dir(
    storage: &dyn Storage,
    dir: &Path,
) -> crate::Result<Box<dyn fmt::Debug + Send + Sync>> {
    let path = dir.join("LOCK");
    storage.lock(&path).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock => crate::EngineError::Locked {
            dir: dir.to_path_buf(),
        },
        _ => crate::EngineError::Io {
            path,
            op: "lock",
            source: e,
        },
    })
}

/// A shared handle to an open file.
pub type FileHandle = Arc<dyn StorageFile>;

/// Directory-level operations of a file system.
pub trait Storage: Send + Sync + fmt::Debug + 'static {
    /// Creates `dir` and its parents if missing.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Names (not paths) of the regular files directly inside `dir`, sorted.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Whether a regular file exists at `path`.
    fn exists(&self, path: &Path) -> io::Result<bool>;
    /// Creates a new, empty file opened for reading and writing; fails if it exists.
    fn create_new(&self, path: &Path) -> io::Result<FileHandle>;
    /// Opens an existing file for reading and writing.
    fn open_rw(&self, path: &Path) -> io::Result<FileHandle>;
    /// Opens an existing file for reading only.
    fn open_ro(&self, path: &Path) -> io::Result<FileHandle>;
    /// Atomically renames `from` to `to`, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes creations, renames and removals inside `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes an exclusive, advisory lock on `path` (created if missing) for as long as
    /// the returned guard lives; fails at once if another process holds it.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn fmt::Debug + Send + Sync>>;
}

/// An open file. All methods take `&self`: the writer thread writes while the syncer
/// thread syncs the same file.
pub trait StorageFile: Send + Sync + fmt::Debug {
    /// Current length in bytes.
    fn size(&self) -> io::Result<u64>;
    /// Fills `buf` from `offset`; an error if the file ends first.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    /// Writes all of `buf` at `offset`, extending the file if needed.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Writes `bufs` back to back from `offset`, as [`write_all_at`] of their
    /// concatenation would. This default writes them one by one; a real file does it
    /// in one system call (`pwritev`) per [`IOVECS_PER_WRITE_MAX`] buffers.
    ///
    /// [`write_all_at`]: StorageFile::write_all_at
    fn write_all_vectored_at(&self, bufs: &[&[u8]], offset: u64) -> io::Result<()> {
        let mut at = offset;
        for buf in bufs {
            self.write_all_at(buf, at)?;
            at += buf.len() as u64;
        }
        Ok(())
    }
    /// fdatasync: makes written bytes (and the length) durable.
    fn sync_data(&self) -> io::Result<()>;
    /// fsync: makes written bytes and all metadata durable.
    fn sync_all(&self) -> io::Result<()>;
    /// Truncates or extends (with zeros) to `len`.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Reserves space up to `len` bytes so that later writes below `len` cannot fail
    /// with ENOSPC; the length becomes at least `len` and new bytes read as zeros.
    fn allocate(&self, len: u64) -> io::Result<()>;
    /// The whole file as immutable bytes (a read-only memory map for real files). Only
    /// for files that are never written again.
    fn map(&self) -> io::Result<Bytes>;
    /// Advises that the bytes in `offset..offset + len`, already durable, will not be
    /// read soon: a real file drops their clean pages from the page cache
    /// (`posix_fadvise(DONTNEED)`). Only advice: the bytes stay as they are, and a later
    /// read reads them again. By default, nothing.
    fn drop_cached(&self, offset: u64, len: u64) -> io::Result<()> {
        let _ = (offset, len);
        Ok(())
    }
}
