//! Handles of a [`FaultyStorage`](super::FaultyStorage): open files and lock guards.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::MutexGuard;
use rand::Rng;

use super::disk::{Change, Disk, InodeId, FILE_BYTES_MAX};
use super::{Fault, OpKind, Shared};
use crate::storage::StorageFile;

/// Releases its lock when dropped, unless a crash already released it.
pub(super) struct LockGuard {
    pub(super) shared: Arc<Shared>,
    pub(super) path: PathBuf,
    pub(super) token: u64,
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LockGuard({})", self.path.display())
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let mut disk = self.shared.disk.lock();
        if disk.locks.get(&self.path) == Some(&self.token) {
            disk.locks.remove(&self.path);
        }
    }
}

/// An open file of a [`FaultyStorage`](super::FaultyStorage).
pub(super) struct FaultyFile {
    pub(super) shared: Arc<Shared>,
    pub(super) id: InodeId,
    /// The disk's epoch at open; a crash makes the handle dead.
    pub(super) epoch: u64,
    pub(super) path: PathBuf,
    pub(super) writable: bool,
}

impl fmt::Debug for FaultyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultyFile({})", self.path.display())
    }
}

impl FaultyFile {
    /// The disk, if this handle's process is still alive.
    fn disk(&self) -> io::Result<MutexGuard<'_, Disk>> {
        let disk = self.shared.disk.lock();
        if disk.epoch != self.epoch {
            let why = format!(
                "{}: handle opened before FaultyStorage::crash",
                self.path.display()
            );
            return Err(io::Error::other(why));
        }
        Ok(disk)
    }

    /// The disk, for a mutating operation (counted; `Some` fault if one is planned).
    fn begin(&self, kind: OpKind) -> io::Result<(MutexGuard<'_, Disk>, Option<Fault>)> {
        let mut disk = self.disk()?;
        if !self.writable && kind != OpKind::Sync {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let fault = disk.begin(kind, &[&self.path]);
        Ok((disk, fault))
    }
}

/// Fails if a file would grow past what the model holds.
fn check_end(offset: u64, len: u64) -> io::Result<u64> {
    match offset.checked_add(len) {
        Some(end) if end <= FILE_BYTES_MAX => Ok(end),
        _ => Err(io::Error::from_raw_os_error(libc::EFBIG)),
    }
}

impl StorageFile for FaultyFile {
    fn size(&self) -> io::Result<u64> {
        let mut disk = self.disk()?;
        Ok(disk.inode(self.id).current.len() as u64)
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let mut disk = self.disk()?;
        let current = &disk.inode(self.id).current;
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&end| end <= current.len() as u64);
        let Some(end) = end else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the file",
            ));
        };
        buf.copy_from_slice(&current[offset as usize..end as usize]);
        Ok(())
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        check_end(offset, buf.len() as u64)?;
        let (mut disk, fault) = self.begin(OpKind::Write)?;
        let stored = match fault {
            None => buf.len(),
            Some(Fault::ShortWrite) => disk.rng.random_range(0..buf.len().max(1)),
            Some(fault) => return Err(fault.error()),
        };
        if stored > 0 {
            let data = buf[..stored].to_vec();
            disk.inode(self.id).change(Change::Write { offset, data });
        }
        fault.map_or(Ok(()), |fault| Err(fault.error()))
    }

    fn sync_data(&self) -> io::Result<()> {
        let (mut disk, fault) = self.begin(OpKind::Sync)?;
        match fault {
            None => disk.sync_file(self.id),
            Some(Fault::SyncFail) => disk.drop_unsynced(self.id),
            Some(_) => {}
        }
        fault.map_or(Ok(()), |fault| Err(fault.error()))
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync_data()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        check_end(len, 0)?;
        let (mut disk, fault) = self.begin(OpKind::SetLen)?;
        if let Some(fault) = fault {
            return Err(fault.error());
        }
        disk.inode(self.id).change(Change::SetLen(len));
        Ok(())
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        check_end(len, 0)?;
        let (mut disk, fault) = self.begin(OpKind::Allocate)?;
        let old = disk.inode(self.id).current.len() as u64;
        let new = match fault {
            None => len,
            Some(Fault::ShortWrite) if len > old => disk.rng.random_range(old..len),
            Some(fault) => return Err(fault.error()),
        };
        if new > old {
            disk.inode(self.id).change(Change::Zeros {
                offset: old,
                len: new - old,
            });
        }
        fault.map_or(Ok(()), |fault| Err(fault.error()))
    }

    fn drop_cached(&self, offset: u64, len: u64) -> io::Result<()> {
        let mut disk = self.disk()?;
        let durable = disk
            .inode(self.id)
            .is_durable(offset, offset.saturating_add(len));
        if durable {
            disk.drops.durable_bytes += len;
        } else {
            disk.drops.undurable_calls += 1;
        }
        Ok(())
    }

    fn map(&self) -> io::Result<Bytes> {
        let mut disk = self.disk()?;
        Ok(Bytes::copy_from_slice(&disk.inode(self.id).current))
    }
}
