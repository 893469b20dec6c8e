//! Every checkpoint sealog issued, per tenant: `<tenant>.ckpt`, fixed-size records.
//!
//! | offset | bytes | field                                             |
//! |-------:|------:|---------------------------------------------------|
//! |      0 |     8 | tree size (strictly increasing along the file)    |
//! |      8 |     8 | issued at, µs since the epoch (i64)               |
//! |     16 |    32 | root hash                                         |
//! |     48 |     4 | key id of the signing key                         |
//! |     52 |    64 | Ed25519 signature of the checkpoint body          |
//! |    116 |     8 | zero                                              |
//! |    124 |     4 | CRC-32 of bytes 0..124                            |
//!
//! The signed note is rebuilt from a record, the tenant's origin and the key's name:
//! the signature covers exactly the body those give. A record is synced before its
//! checkpoint is served, so on open the records after the last valid one (an append a
//! crash interrupted) were never served and are cut.

use std::path::{Path, PathBuf};

use super::note::{Checkpoint, NoteError};
use super::Hash;
use crate::error::{EngineError, IoContext, Result};
use crate::storage::{FileHandle, Storage};
use crate::types::TenantId;

/// Bytes of one checkpoint record.
pub const CHECKPOINT_RECORD_BYTES: u64 = 128;
const CKPT_SUFFIX: &str = ".ckpt";

/// Path of a tenant's checkpoint file.
pub fn checkpoints_path(dir: &Path, tenant: &TenantId) -> PathBuf {
    dir.join(format!("{tenant}{CKPT_SUFFIX}"))
}

/// One issued checkpoint, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size it commits to.
    pub size: u64,
    /// When it was issued, µs since the epoch (informational, not signed).
    pub issued_at_us: i64,
    /// Root hash of the tenant's tree at `size`.
    pub root: Hash,
    /// Key id of the signing key.
    pub key_id: [u8; 4],
    /// Ed25519 signature of the checkpoint body.
    pub signature: [u8; 64],
}

impl StoredCheckpoint {
    /// The checkpoint body it signs, for `origin`.
    pub fn checkpoint(&self, origin: &str) -> Result<Checkpoint, NoteError> {
        Checkpoint::new(origin, self.size, self.root)
    }

    fn encode(&self) -> [u8; CHECKPOINT_RECORD_BYTES as usize] {
        let mut b = [0u8; CHECKPOINT_RECORD_BYTES as usize];
        b[0..8].copy_from_slice(&self.size.to_le_bytes());
        b[8..16].copy_from_slice(&self.issued_at_us.to_le_bytes());
        b[16..48].copy_from_slice(&self.root);
        b[48..52].copy_from_slice(&self.key_id);
        b[52..116].copy_from_slice(&self.signature);
        let crc = crc32fast::hash(&b[..124]);
        b[124..128].copy_from_slice(&crc.to_le_bytes());
        b
    }

    fn decode(b: &[u8; CHECKPOINT_RECORD_BYTES as usize]) -> Option<StoredCheckpoint> {
        if crc32fast::hash(&b[..124]).to_le_bytes() != b[124..128]
            || b[116..124].iter().any(|&x| x != 0)
        {
            return None;
        }
        let u64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(a)
        };
        let mut root = [0u8; 32];
        root.copy_from_slice(&b[16..48]);
        let mut key_id = [0u8; 4];
        key_id.copy_from_slice(&b[48..52]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&b[52..116]);
        Some(StoredCheckpoint {
            size: u64_at(0),
            issued_at_us: u64_at(8) as i64,
            root,
            key_id,
            signature,
        })
    }
}

/// A tenant's checkpoint file.
#[derive(Debug)]
pub struct CheckpointFile {
    path: PathBuf,
    file: FileHandle,
    /// Valid records.
    count: u64,
    latest: Option<StoredCheckpoint>,
}

impl CheckpointFile {
    /// Opens (or creates, when `create`) a tenant's checkpoint file; records after the
    /// last valid one are ignored, and cut from the file when `create` (the writer).
    /// `None` when it does not exist and `create` is false.
    pub fn open(
        storage: &dyn Storage,
        dir: &Path,
        tenant: &TenantId,
        create: bool,
    ) -> Result<Option<CheckpointFile>> {
        let path = checkpoints_path(dir, tenant);
        let file = if storage.exists(&path).ctx(&path, "stat")? {
            // A reader (audit, offline verifier) opens read-only: it works on a
            // read-only copy of a data directory and cannot change it.
            if create {
                storage.open_rw(&path).ctx(&path, "open")?
            } else {
                storage.open_ro(&path).ctx(&path, "open")?
            }
        } else if create {
            let f = storage.create_new(&path).ctx(&path, "create")?;
            storage.sync_dir(dir).ctx(dir, "fsync dir")?;
            f
        } else {
            return Ok(None);
        };
        let len = file.size().ctx(&path, "stat")?;
        let mut count = len / CHECKPOINT_RECORD_BYTES;
        let mut latest = None;
        while count > 0 {
            match read_record(&file, &path, count - 1)? {
                Some(r) => {
                    latest = Some(r);
                    break;
                }
                None => count -= 1,
            }
        }
        let keep = count * CHECKPOINT_RECORD_BYTES;
        // Opened to read only (an audit, the offline verifier): change nothing.
        if keep != len && create {
            tracing::warn!(path = %path.display(), cut_bytes = len - keep, "cut an unfinished checkpoint append (never served)");
            file.set_len(keep).ctx(&path, "truncate")?;
            file.sync_data().ctx(&path, "fdatasync")?;
        }
        Ok(Some(CheckpointFile {
            path,
            file,
            count,
            latest,
        }))
    }

    /// The newest checkpoint.
    pub fn latest(&self) -> Option<StoredCheckpoint> {
        self.latest
    }

    /// Number of checkpoints.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The `k`-th checkpoint (0 = oldest); an error names a damaged record.
    pub fn get(&self, k: u64) -> Result<StoredCheckpoint> {
        read_record(&self.file, &self.path, k)?.ok_or_else(|| EngineError::Format {
            path: self.path.clone(),
            why: format!(
                "checkpoint record {k} (byte {}) is damaged (CRC mismatch)",
                k * CHECKPOINT_RECORD_BYTES
            ),
        })
    }

    /// The checkpoint of exactly `size` leaves, if one was issued (binary search).
    pub fn at_size(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        let (mut lo, mut hi) = (0u64, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let r = self.get(mid)?;
            match r.size.cmp(&size) {
                std::cmp::Ordering::Equal => return Ok(Some(r)),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Ok(None)
    }

    /// The oldest checkpoint whose size is at least `size`.
    pub fn covering(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        let (mut lo, mut hi) = (0u64, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.get(mid)?.size < size {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo == self.count {
            return Ok(None);
        }
        self.get(lo).map(Some)
    }

    /// Appends a checkpoint (not synced: call [`CheckpointFile::sync`] before serving).
    pub(crate) fn append(&mut self, c: &StoredCheckpoint) -> Result<()> {
        if self.latest.is_some_and(|l| l.size >= c.size) {
            return Err(EngineError::Format {
                path: self.path.clone(),
                why: format!(
                    "refusing a checkpoint of size {} after one of size {}",
                    c.size,
                    self.latest.map_or(0, |l| l.size)
                ),
            });
        }
        self.file
            .write_all_at(&c.encode(), self.count * CHECKPOINT_RECORD_BYTES)
            .ctx(&self.path, "write")?;
        self.count += 1;
        self.latest = Some(*c);
        Ok(())
    }

    /// Makes appended checkpoints durable.
    pub(crate) fn sync(&self) -> Result<()> {
        self.file.sync_data().ctx(&self.path, "fdatasync")
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn read_record(file: &FileHandle, path: &Path, k: u64) -> Result<Option<StoredCheckpoint>> {
    let mut b = [0u8; CHECKPOINT_RECORD_BYTES as usize];
    file.read_exact_at(&mut b, k * CHECKPOINT_RECORD_BYTES)
        .ctx(path, "read")?;
    Ok(StoredCheckpoint::decode(&b))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::storage::FileStorage;

    fn record(size: u64) -> StoredCheckpoint {
        StoredCheckpoint {
            size,
            issued_at_us: 1_700_000_000_000_000 + size as i64,
            root: [size as u8; 32],
            key_id: [1, 2, 3, 4],
            signature: [7; 64],
        }
    }

    #[test]
    fn records_round_trip_are_found_by_size_and_torn_appends_are_cut() {
        let dir = tempfile::tempdir().unwrap();
        let t = TenantId::new("acme").unwrap();
        let storage = FileStorage;
        let mut f = CheckpointFile::open(&storage, dir.path(), &t, true)
            .unwrap()
            .unwrap();
        assert!(f.latest().is_none());
        assert!(f.at_size(1).unwrap().is_none());
        let sizes = [1u64, 2, 5, 9, 100, 1 << 33];
        for &s in &sizes {
            f.append(&record(s)).unwrap();
        }
        assert!(f.append(&record(100)).is_err(), "sizes only grow");
        f.sync().unwrap();
        for &s in &sizes {
            assert_eq!(f.at_size(s).unwrap(), Some(record(s)));
        }
        for s in [0u64, 3, 4, 99, 101] {
            assert_eq!(f.at_size(s).unwrap(), None);
        }
        assert_eq!(f.covering(6).unwrap().unwrap().size, 9);
        assert_eq!(f.covering(101).unwrap().unwrap().size, 1 << 33);
        assert_eq!(f.covering((1 << 33) + 1).unwrap(), None);
        // A torn append: half a record of garbage at the end.
        let path = f.path().to_path_buf();
        drop(f);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[0xab; 70]);
        std::fs::write(&path, &bytes).unwrap();
        let f = CheckpointFile::open(&storage, dir.path(), &t, true)
            .unwrap()
            .unwrap();
        assert_eq!(f.count(), sizes.len() as u64);
        assert_eq!(f.latest(), Some(record(1 << 33)));
        // A damaged record in the middle is named, not skipped.
        drop(f);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[2 * CHECKPOINT_RECORD_BYTES as usize + 20] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let f = CheckpointFile::open(&storage, dir.path(), &t, false)
            .unwrap()
            .unwrap();
        let err = f.get(2).unwrap_err().to_string();
        assert!(err.contains("record 2") && err.contains("damaged"), "{err}");
    }
}
