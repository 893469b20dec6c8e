//! [`FileStorage`]: the real file system, through positional I/O.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, IoSlice};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::{FileHandle, Storage, StorageFile};

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileStorage;

impl FileStorage {
    /// A handle on the real file system.
    pub fn new() -> Self {
        FileStorage
    }
}

impl Storage for FileStorage {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                if let Ok(name) = entry.file_name().into_string() {
                    names.push(name);
                }
            }
        }
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        match fs::metadata(path) {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn create_new(&self, path: &Path) -> io::Result<FileHandle> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        Ok(Arc::new(RealFile::new(file, path)))
    }

    fn open_rw(&self, path: &Path) -> io::Result<FileHandle> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Arc::new(RealFile::new(file, path)))
    }

    fn open_ro(&self, path: &Path) -> io::Result<FileHandle> {
        let file = File::open(path)?;
        Ok(Arc::new(RealFile::new(file, path)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn fmt::Debug + Send + Sync>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        // An flock: released when the file closes, i.e. when the guard drops.
        match file.try_lock() {
            Ok(()) => Ok(Box::new(LockGuard {
                _file: file,
                path: path.to_path_buf(),
            })),
            Err(fs::TryLockError::WouldBlock) => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{} is locked by another process", path.display()),
            )),
            Err(fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

#[derive(Debug)]
struct LockGuard {
    _file: File,
    #[allow(dead_code)]
    path: PathBuf,
}

/// An open real file.
struct RealFile {
    file: File,
    path: PathBuf,
}

impl RealFile {
    fn new(file: File, path: &Path) -> Self {
        RealFile {
            file,
            path: path.to_path_buf(),
        }
    }
}

impl fmt::Debug for RealFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RealFile({})", self.path.display())
    }
}

impl RealFile {
    /// Writes zeros over `[from, to)`: preallocation where fallocate is unsupported.
    fn zero_fill(&self, from: u64, to: u64) -> io::Result<()> {
        const CHUNK: usize = 1024 * 1024;
        let zeros = vec![0u8; CHUNK];
        let mut at = from;
        while at < to {
            let n = ((to - at) as usize).min(CHUNK);
            self.file.write_all_at(&zeros[..n], at)?;
            at += n as u64;
        }
        Ok(())
    }
}

impl StorageFile for RealFile {
    fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(buf, offset)
    }

    fn write_all_vectored_at(&self, bufs: &[&[u8]], offset: u64) -> io::Result<()> {
        let mut at = offset;
        for group in bufs.chunks(super::IOVECS_PER_WRITE_MAX) {
            // Empty buffers are left out: a call of only empty ones would write 0 bytes.
            let mut slices: Vec<IoSlice<'_>> = group
                .iter()
                .filter(|b| !b.is_empty())
                .map(|b| IoSlice::new(b))
                .collect();
            let mut rest = &mut slices[..];
            while !rest.is_empty() {
                match rustix::io::pwritev(&self.file, rest, at) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        at += n as u64;
                        IoSlice::advance_slices(&mut rest, n);
                    }
                    Err(e) if e == rustix::io::Errno::INTR => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn drop_cached(&self, offset: u64, len: u64) -> io::Result<()> {
        let Some(len) = std::num::NonZeroU64::new(len) else {
            return Ok(());
        };
        rustix::fs::fadvise(&self.file, offset, Some(len), rustix::fs::Advice::DontNeed)?;
        Ok(())
    }

    fn allocate(&self, len: u64) -> io::Result<()> {
        let current = self.size()?;
        if len <= current {
            return Ok(());
        }
        // fallocate reserves the blocks without writing them: a full disk shows up here,
        // never in the middle of a frame, and the background preallocation of the next
        // segment costs no write bandwidth. (Zero-filling measured a slightly faster
        // fdatasync per group commit, but doubled the bytes written at high ingest
        // rates and put a 256 MiB flush in front of the WAL's fdatasyncs: see
        // docs/FORMAT.md, "Preallocation".)
        match rustix::fs::fallocate(
            &self.file,
            rustix::fs::FallocateFlags::empty(),
            current,
            len - current,
        ) {
            Ok(()) => Ok(()),
            Err(e) if e == rustix::io::Errno::OPNOTSUPP => self.zero_fill(current, len),
            Err(e) => Err(e.into()),
        }
    }

    fn map(&self) -> io::Result<Bytes> {
        crate::mmap::map_readonly(&self.file)
    }
}

#[cfg(test)]
mod tests {
    use super::FileStorage;
    use crate::storage::{Storage, IOVECS_PER_WRITE_MAX};

    /// A vectored write of more buffers than one `pwritev` takes, some empty, lands
    /// exactly as their concatenation would, after what the file already held.
    #[test]
    fn a_vectored_write_is_the_concatenation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = FileStorage::new().create_new(&path).unwrap();
        file.write_all_at(b"head", 0).unwrap();
        // A run of empty buffers longer than one call's worth, then varied lengths.
        let bufs: Vec<Vec<u8>> = (0..IOVECS_PER_WRITE_MAX * 3 + 7)
            .map(|i| {
                if i < IOVECS_PER_WRITE_MAX + 5 {
                    Vec::new()
                } else {
                    vec![(i % 251) as u8; i % 13]
                }
            })
            .collect();
        let slices: Vec<&[u8]> = bufs.iter().map(Vec::as_slice).collect();
        file.write_all_vectored_at(&slices, 4).unwrap();
        let want: Vec<u8> = b"head".iter().copied().chain(bufs.concat()).collect();
        assert_eq!(file.size().unwrap(), want.len() as u64);
        let mut got = vec![0; want.len()];
        file.read_exact_at(&mut got, 0).unwrap();
        assert_eq!(got, want);
    }
}
