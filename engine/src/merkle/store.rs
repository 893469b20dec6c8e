//! The persistent half of the per-tenant trees: node files and the state file.
//!
//! `<tenant>.nodes` holds every perfect subtree's hash (leaves included), 32 bytes each,
//! in post-order ([`tree::postorder_position`]): appending a leaf appends it and the
//! subtrees it completes, so the file only grows. `state` records the log position up
//! to which the node files are complete and synced, with each tenant's tree size there:
//!
//! | offset | bytes | field                                             |
//! |-------:|------:|---------------------------------------------------|
//! |      0 |     8 | magic `SEALOGMS`                                  |
//! |      8 |     4 | version (1)                                       |
//! |     12 |     8 | `lsn`: every durable event up to it is in a tree  |
//! |     20 |     4 | `tenants`: number of entries                      |
//! |     24 |     … | per tenant: name length (1 byte), name, size (u64) |
//! |    end |     4 | CRC-32 of every byte before                       |
//!
//! Everything here is derived from the log: a missing or unreadable state rebuilds the
//! trees from it.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::tree::{self, Frontier, Subtrees};
use super::Hash;
use crate::error::{EngineError, IoContext, Result};
use crate::storage::{FileHandle, Storage};
use crate::types::{Lsn, TenantId};

/// Bytes of one stored node.
pub const NODE_BYTES: u64 = 32;
const STATE_MAGIC: [u8; 8] = *b"SEALOGMS";
const STATE_VERSION: u32 = 1;
pub(crate) const STATE_FILE: &str = "state";
const NODES_SUFFIX: &str = ".nodes";

/// Path of a tenant's node file.
pub fn nodes_path(dir: &Path, tenant: &TenantId) -> PathBuf {
    dir.join(format!("{tenant}{NODES_SUFFIX}"))
}

/// A tenant's node file, readable while the follower appends to it.
#[derive(Debug)]
pub struct NodeFile {
    path: PathBuf,
    file: FileHandle,
}

impl NodeFile {
    /// The file's path (for error messages).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Subtrees for NodeFile {
    type Error = io::Error;

    fn subtree(&self, level: u32, index: u64) -> io::Result<Hash> {
        let at = tree::postorder_position(level, index)
            .and_then(|p| p.checked_mul(NODE_BYTES))
            .ok_or_else(|| io::Error::other("node position overflows"))?;
        let mut hash = [0u8; 32];
        self.file.read_exact_at(&mut hash, at)?;
        Ok(hash)
    }
}

/// The state file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Every durable event with LSN up to this is in its tenant's tree.
    pub lsn: Lsn,
    /// Each tenant's tree size at `lsn`.
    pub sizes: Vec<(TenantId, u64)>,
}

impl State {
    fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(32 + self.sizes.len() * 80);
        b.extend_from_slice(&STATE_MAGIC);
        b.extend_from_slice(&STATE_VERSION.to_le_bytes());
        b.extend_from_slice(&self.lsn.0.to_le_bytes());
        b.extend_from_slice(&(self.sizes.len() as u32).to_le_bytes());
        for (tenant, size) in &self.sizes {
            let name = tenant.as_str().as_bytes();
            b.push(name.len() as u8);
            b.extend_from_slice(name);
            b.extend_from_slice(&size.to_le_bytes());
        }
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    pub(crate) fn decode(b: &[u8]) -> std::result::Result<State, String> {
        let body_len = b.len().checked_sub(4).ok_or("shorter than its checksum")?;
        let (body, crc) = b.split_at(body_len);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Err("checksum mismatch".into());
        }
        let mut r = Reader { b: body, at: 0 };
        if r.take(8)? != STATE_MAGIC {
            return Err("bad magic".into());
        }
        let version = r.u32()?;
        if version != STATE_VERSION {
            return Err(format!(
                "version {version}; this sealog reads {STATE_VERSION}"
            ));
        }
        let lsn = Lsn(r.u64()?);
        let count = r.u32()?;
        let mut sizes = Vec::new();
        for _ in 0..count {
            let len = r.take(1)?[0] as usize;
            let name = std::str::from_utf8(r.take(len)?).map_err(|_| "tenant name not UTF-8")?;
            let tenant = TenantId::new(name).map_err(|e| e.to_string())?;
            sizes.push((tenant, r.u64()?));
        }
        if r.at != body.len() {
            return Err("trailing bytes".into());
        }
        Ok(State { lsn, sizes })
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let s = self
            .b
            .get(self.at..self.at + n)
            .ok_or("truncated".to_string())?;
        self.at += n;
        Ok(s)
    }
    fn u32(&mut self) -> std::result::Result<u32, String> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn u64(&mut self) -> std::result::Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
}

/// A tenant's tree as the follower grows it.
#[derive(Debug)]
pub(crate) struct GrowingTree {
    pub(crate) nodes: Arc<NodeFile>,
    pub(crate) frontier: Frontier,
    /// Nodes on disk (written, not necessarily synced).
    written: u64,
    /// Nodes computed but not yet written.
    buffer: Vec<u8>,
    /// Written since the last sync.
    pub(crate) dirty: bool,
}

impl GrowingTree {
    /// Appends the leaf of the tenant's next event.
    pub(crate) fn push(&mut self, event_hash: &Hash) -> Result<()> {
        let buffer = &mut self.buffer;
        self.frontier
            .push(tree::leaf_hash(event_hash), |_, _, h| {
                buffer.extend_from_slice(h)
            })
            .map_err(|e| EngineError::Format {
                path: self.nodes.path.clone(),
                why: e.to_string(),
            })
    }

    /// Writes buffered nodes.
    pub(crate) fn flush(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let at = self.written * NODE_BYTES;
        self.nodes
            .file
            .write_all_at(&self.buffer, at)
            .ctx(&self.nodes.path, "write")?;
        self.written += self.buffer.len() as u64 / NODE_BYTES;
        self.buffer.clear();
        self.dirty = true;
        Ok(())
    }

    /// Makes written nodes durable.
    pub(crate) fn sync(&mut self) -> Result<()> {
        self.flush()?;
        if self.dirty {
            self.nodes
                .file
                .sync_data()
                .ctx(&self.nodes.path, "fdatasync")?;
            self.dirty = false;
        }
        Ok(())
    }
}

/// The node files and state file of one data directory.
#[derive(Debug)]
pub(crate) struct TreeStore {
    pub(crate) dir: PathBuf,
    storage: Arc<dyn Storage>,
}

impl TreeStore {
    pub(crate) fn new(dir: PathBuf, storage: Arc<dyn Storage>) -> Result<TreeStore> {
        storage.create_dir_all(&dir).ctx(&dir, "create dir")?;
        Ok(TreeStore { dir, storage })
    }

    /// Reads the state; `None` when there is none (or it is unreadable: then the trees
    /// are rebuilt, and the reason logged).
    pub(crate) fn read_state(&self) -> Result<Option<State>> {
        let path = self.dir.join(STATE_FILE);
        if !self.storage.exists(&path).ctx(&path, "stat")? {
            return Ok(None);
        }
        let file = self.storage.open_ro(&path).ctx(&path, "open")?;
        let mut bytes = vec![0u8; file.size().ctx(&path, "stat")? as usize];
        file.read_exact_at(&mut bytes, 0).ctx(&path, "read")?;
        match State::decode(&bytes) {
            Ok(state) => Ok(Some(state)),
            Err(why) => {
                tracing::warn!(path = %path.display(), why, "Merkle state unreadable; rebuilding every tree from the log");
                Ok(None)
            }
        }
    }

    /// Replaces the state atomically (written aside, synced, renamed, dir synced).
    pub(crate) fn write_state(&self, state: &State) -> Result<()> {
        let path = self.dir.join(STATE_FILE);
        let tmp = self.dir.join(format!("{STATE_FILE}.tmp"));
        if self.storage.exists(&tmp).ctx(&tmp, "stat")? {
            self.storage.remove(&tmp).ctx(&tmp, "remove")?;
        }
        let file = self.storage.create_new(&tmp).ctx(&tmp, "create")?;
        file.write_all_at(&state.encode(), 0).ctx(&tmp, "write")?;
        file.sync_data().ctx(&tmp, "fdatasync")?;
        self.storage.rename(&tmp, &path).ctx(&path, "rename")?;
        self.storage.sync_dir(&self.dir).ctx(&self.dir, "fsync dir")
    }

    /// Names of the tenants that have a node file.
    pub(crate) fn tenants_on_disk(&self) -> Result<Vec<TenantId>> {
        let names = self.storage.list(&self.dir).ctx(&self.dir, "list")?;
        Ok(names
            .iter()
            .filter_map(|n| n.strip_suffix(NODES_SUFFIX))
            .filter_map(|n| TenantId::new(n).ok())
            .collect())
    }

    /// Opens (creating if needed) a tenant's node file, cut to exactly the nodes of
    /// `size` leaves, and its frontier.
    pub(crate) fn open_tree(&self, tenant: &TenantId, size: u64) -> Result<GrowingTree> {
        let path = nodes_path(&self.dir, tenant);
        let file = if self.storage.exists(&path).ctx(&path, "stat")? {
            self.storage.open_rw(&path).ctx(&path, "open")?
        } else {
            let f = self.storage.create_new(&path).ctx(&path, "create")?;
            self.storage
                .sync_dir(&self.dir)
                .ctx(&self.dir, "fsync dir")?;
            f
        };
        let nodes = tree::postorder_len(size)
            .filter(|n| n.checked_mul(NODE_BYTES).is_some())
            .ok_or_else(|| EngineError::Format {
                path: path.clone(),
                why: format!("tree size {size} is beyond what a node file can hold"),
            })?;
        let len = nodes * NODE_BYTES;
        let on_disk = file.size().ctx(&path, "stat")?;
        if on_disk < len {
            return Err(EngineError::Format {
                path,
                why: format!(
                    "holds {on_disk} bytes but the state says {size} leaves ({len} bytes): a synced node file lost bytes"
                ),
            });
        }
        if on_disk > len {
            file.set_len(len).ctx(&path, "truncate")?;
            file.sync_data().ctx(&path, "fdatasync")?;
        }
        let nodes_file = Arc::new(NodeFile { path, file });
        let frontier = Frontier::load(nodes_file.as_ref(), size).ctx(&nodes_file.path, "read")?;
        Ok(GrowingTree {
            nodes: nodes_file,
            frontier,
            written: nodes,
            buffer: Vec::new(),
            dirty: false,
        })
    }

    /// Opens the trees the state names, cut back to its sizes; node files of tenants it
    /// does not name are emptied. Returns the state's LSN and the trees; with no usable
    /// state, every tree starts empty at LSN 0.
    pub(crate) fn open_all(&self) -> Result<(Lsn, HashMap<TenantId, GrowingTree>)> {
        let state = self.read_state()?.unwrap_or_default();
        let mut trees = HashMap::new();
        let mut sizes: HashMap<TenantId, u64> = state.sizes.into_iter().collect();
        for tenant in self.tenants_on_disk()? {
            sizes.entry(tenant).or_insert(0);
        }
        for (tenant, size) in sizes {
            let tree = self.open_tree(&tenant, size)?;
            trees.insert(tenant, tree);
        }
        Ok((state.lsn, trees))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn state_round_trips_and_rejects_damage() {
        let state = State {
            lsn: Lsn(12345),
            sizes: vec![
                (TenantId::new("acme").unwrap(), 7),
                (TenantId::new("b-2_x").unwrap(), 1 << 40),
            ],
        };
        let bytes = state.encode();
        assert_eq!(State::decode(&bytes).unwrap(), state);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(State::decode(&bad).is_err(), "flip at {i} accepted");
        }
        for n in 0..bytes.len() {
            assert!(State::decode(&bytes[..n]).is_err());
        }
    }
}
