//! Checks a tenant's stored Merkle state against its events: the node file's hashes
//! and every stored checkpoint's root (and, given the verifier key, its signature).
//! This is what names a *consistent* rewrite of stored events and hashes: the chain
//! re-links, but the roots sealog signed earlier no longer match.

use std::path::{Path, PathBuf};

use super::checkpoints::{CheckpointFile, StoredCheckpoint};
use super::note::{open_checkpoint, VerifierKey};
use super::store::{nodes_path, NODE_BYTES};
use super::tree::{self, Frontier};
use super::Hash;
use crate::error::{IoContext, Result};
use crate::log::Engine;
use crate::storage::{FileHandle, Storage};
use crate::types::{Seq, TenantId};
use crate::verify::VerifyReport;

/// Node bytes read per call while comparing.
const AUDIT_READ_BYTES: u64 = 1 << 20;

/// One disagreement between the stored Merkle state and the events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleFault {
    /// What kind of disagreement it is.
    pub kind: MerkleFaultKind,
    /// The checkpoint that no longer matches, if the fault is about one.
    pub checkpoint_size: Option<u64>,
    /// The first seq the fault can be pinned to: the events after the last checkpoint
    /// that still matches (or the first node that differs).
    pub from_seq: Seq,
    /// What is wrong.
    pub why: String,
}

/// The kinds of [`MerkleFault`], each with a stable name for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MerkleFaultKind {
    /// A stored node hash differs from the one the events give.
    NodeMismatch,
    /// A stored checkpoint's root differs from the root the events give.
    CheckpointMismatch,
    /// A stored checkpoint does not carry a valid signature by the verifier key.
    CheckpointSignature,
    /// A checkpoint record is out of order (tree sizes must grow).
    CheckpointOrder,
    /// A checkpoint record cannot be read (CRC mismatch).
    CheckpointUnreadable,
    /// A checkpoint was signed for more events than the log holds.
    EventsRemoved,
}

impl MerkleFaultKind {
    /// The stable name reports use (`merkle_node_mismatch`, `checkpoint_mismatch`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            MerkleFaultKind::NodeMismatch => "merkle_node_mismatch",
            MerkleFaultKind::CheckpointMismatch => "checkpoint_mismatch",
            MerkleFaultKind::CheckpointSignature => "checkpoint_signature_invalid",
            MerkleFaultKind::CheckpointOrder => "checkpoint_out_of_order",
            MerkleFaultKind::CheckpointUnreadable => "checkpoint_unreadable",
            MerkleFaultKind::EventsRemoved => "events_removed",
        }
    }
}

/// The outcome of auditing one tenant.
#[derive(Debug, Clone, Default)]
pub struct TenantAudit {
    /// Leaves (events) folded into the recomputed tree.
    pub leaves: u64,
    /// Checkpoints compared.
    pub checkpoints: u64,
    /// Node hashes compared.
    pub nodes: u64,
    /// Faults, in seq order.
    pub faults: Vec<MerkleFault>,
}

/// What to audit against.
#[derive(Debug)]
pub struct AuditInput<'a> {
    /// `<data_dir>/merkle`.
    pub dir: &'a Path,
    /// The tenant.
    pub tenant: &'a TenantId,
    /// Compare node hashes only for this many leaves (what is synced; the follower may
    /// be appending beyond it).
    pub node_leaves: u64,
    /// When given, each checkpoint's signature is checked too, as `<origin>` =
    /// `<key name>/<tenant>`.
    pub key: Option<&'a VerifierKey>,
}

/// Recomputes a tenant's tree from its event hashes, fed in seq order, and compares it
/// with the stored nodes and checkpoints as it goes. Used by [`verify_and_audit_tenant`]
/// (through the engine) and by the offline verifier (straight from segment files).
pub struct MerkleAuditor {
    tenant: TenantId,
    checkpoints: Option<CheckpointFile>,
    count: u64,
    nodes: Option<(FileHandle, PathBuf)>,
    node_limit: u64,
    key: Option<VerifierKey>,
    frontier: Frontier,
    next_ckpt: u64,
    /// Checkpoint `next_ckpt`, once read (it is compared when the tree reaches its size;
    /// reading it again for every event would cost a read per event).
    next_read: Option<StoredCheckpoint>,
    last_good_size: u64,
    node_pos: u64,
    buf: Vec<u8>,
    buf_start: u64,
    node_fault: Option<MerkleFault>,
    audit: TenantAudit,
    /// Nodes a push completed (reused).
    emitted: Vec<Hash>,
}

impl std::fmt::Debug for MerkleAuditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerkleAuditor")
            .field("tenant", &self.tenant)
            .field("leaves", &self.frontier.size())
            .finish_non_exhaustive()
    }
}

impl MerkleAuditor {
    /// Opens the tenant's stored state to read. The checkpoint file is snapshotted
    /// now: open the auditor *before* reading the events, so that every checkpoint it
    /// sees is covered by events read after.
    pub fn open(storage: &dyn Storage, input: &AuditInput<'_>) -> Result<MerkleAuditor> {
        let tenant = input.tenant;
        let checkpoints = CheckpointFile::open(storage, input.dir, tenant, false)?;
        let count = checkpoints.as_ref().map_or(0, |c| c.count());
        let path = nodes_path(input.dir, tenant);
        let nodes = if storage.exists(&path).ctx(&path, "stat")? {
            Some((storage.open_ro(&path).ctx(&path, "open")?, path))
        } else {
            None
        };
        let node_limit = tree::postorder_len(input.node_leaves).unwrap_or(0);
        let node_limit = match &nodes {
            Some((f, path)) => node_limit.min(f.size().ctx(path, "stat")? / NODE_BYTES),
            None => 0,
        };
        Ok(MerkleAuditor {
            tenant: tenant.clone(),
            checkpoints,
            count,
            nodes,
            node_limit,
            key: input.key.cloned(),
            frontier: Frontier::new(),
            next_ckpt: 0,
            next_read: None,
            last_good_size: 0,
            node_pos: 0,
            buf: Vec::new(),
            buf_start: 0,
            node_fault: None,
            audit: TenantAudit::default(),
            emitted: Vec::with_capacity(64),
        })
    }

    /// Leaves folded so far (the next expected seq is this + 1).
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Folds in the event of seq `size() + 1` by its stored hash.
    pub fn push(&mut self, seq: Seq, event_hash: &Hash) -> Result<()> {
        self.push_leaf(seq, &tree::leaf_hash(event_hash))
    }

    /// Folds in the event of seq `size() + 1` by its leaf hash (SHA-256(0x00 ‖ its
    /// stored hash), e.g. computed by [`Engine::verify_tenant_leaves`]).
    pub fn push_leaf(&mut self, seq: Seq, leaf: &Hash) -> Result<()> {
        // One buffer for the whole audit: this runs once per event.
        let mut emitted = std::mem::take(&mut self.emitted);
        emitted.clear();
        if self
            .frontier
            .push(*leaf, |_, _, h| emitted.push(*h))
            .is_err()
        {
            self.emitted = emitted;
            return Ok(());
        }
        self.audit.leaves += 1;
        let compared = emitted.iter().try_for_each(|h| self.compare_node(seq, h));
        self.emitted = emitted;
        compared?;
        self.compare_checkpoints();
        Ok(())
    }

    fn compare_node(&mut self, seq: Seq, h: &Hash) -> Result<()> {
        let pos = self.node_pos;
        self.node_pos += 1;
        let Some((file, path)) = &self.nodes else {
            return Ok(());
        };
        if pos >= self.node_limit || self.node_fault.is_some() {
            return Ok(());
        }
        if pos < self.buf_start || pos >= self.buf_start + self.buf.len() as u64 / NODE_BYTES {
            self.buf_start = pos;
            let n = (self.node_limit - pos).min(AUDIT_READ_BYTES / NODE_BYTES);
            self.buf.resize((n * NODE_BYTES) as usize, 0);
            file.read_exact_at(&mut self.buf, pos * NODE_BYTES)
                .ctx(path, "read")?;
        }
        let at = ((pos - self.buf_start) * NODE_BYTES) as usize;
        self.audit.nodes += 1;
        if self.buf[at..at + 32] != *h {
            self.node_fault = Some(MerkleFault {
                kind: MerkleFaultKind::NodeMismatch,
                checkpoint_size: None,
                from_seq: seq,
                why: format!(
                    "node {pos} of {} differs from the hash the events give (by seq {seq}): the Merkle state was altered",
                    path.display(),
                ),
            });
        }
        Ok(())
    }

    fn compare_checkpoints(&mut self) {
        let Some(c) = &self.checkpoints else {
            return;
        };
        let size = self.frontier.size();
        if self.next_read.is_some_and(|cp| cp.size > size) {
            return;
        }
        while self.next_ckpt < self.count {
            let k = self.next_ckpt;
            let cp = match self.next_read.take().map_or_else(|| c.get(k), Ok) {
                Ok(cp) => cp,
                Err(e) => {
                    self.audit.faults.push(MerkleFault {
                        kind: MerkleFaultKind::CheckpointUnreadable,
                        checkpoint_size: None,
                        from_seq: Seq(self.last_good_size + 1),
                        why: e.to_string(),
                    });
                    self.next_ckpt += 1;
                    continue;
                }
            };
            match cp.size.cmp(&size) {
                std::cmp::Ordering::Greater => {
                    self.next_read = Some(cp);
                    return;
                }
                std::cmp::Ordering::Less => {
                    self.audit.faults.push(MerkleFault {
                        kind: MerkleFaultKind::CheckpointOrder,
                        checkpoint_size: Some(cp.size),
                        from_seq: Seq(cp.size),
                        why: format!(
                            "checkpoint {k} in {} has tree size {} after a larger one: the checkpoint file was altered",
                            c.path().display(),
                            cp.size
                        ),
                    });
                    self.next_ckpt += 1;
                    continue;
                }
                std::cmp::Ordering::Equal => self.next_ckpt += 1,
            }
            self.audit.checkpoints += 1;
            let root = self.frontier.root();
            if cp.root != root {
                self.audit.faults.push(MerkleFault {
                    kind: MerkleFaultKind::CheckpointMismatch,
                    checkpoint_size: Some(cp.size),
                    from_seq: Seq(self.last_good_size + 1),
                    why: format!(
                        "the checkpoint of tree size {} commits to root {} but the stored events give {}: events with seq {}..={} were changed after it was signed",
                        cp.size,
                        hex::encode(cp.root),
                        hex::encode(root),
                        self.last_good_size + 1,
                        cp.size
                    ),
                });
            } else {
                self.last_good_size = cp.size;
            }
            if let Some(key) = &self.key {
                let origin = format!("{}/{}", key.name(), self.tenant);
                let ok = cp.checkpoint(&origin).is_ok_and(|body| {
                    let note =
                        super::note::note_text(&body.body(), key.name(), &cp.key_id, &cp.signature);
                    open_checkpoint(&note, key).is_ok()
                });
                if !ok {
                    self.audit.faults.push(MerkleFault {
                        kind: MerkleFaultKind::CheckpointSignature,
                        checkpoint_size: Some(cp.size),
                        from_seq: Seq(cp.size),
                        why: format!(
                            "the stored checkpoint of tree size {} does not carry a valid signature by {key}",
                            cp.size
                        ),
                    });
                }
            }
        }
    }

    /// Ends the audit: checkpoints beyond the events fed mean events were removed.
    pub fn finish(mut self) -> TenantAudit {
        let size = self.frontier.size();
        if let Some(c) = &self.checkpoints {
            for k in self.next_ckpt..self.count {
                match c.get(k) {
                    Ok(cp) => {
                        self.audit.faults.push(MerkleFault {
                            kind: MerkleFaultKind::EventsRemoved,
                            checkpoint_size: Some(cp.size),
                            from_seq: Seq(size + 1),
                            why: format!(
                                "a checkpoint of tree size {} was signed but the log holds {size} events of tenant {}: events were removed",
                                cp.size, self.tenant
                            ),
                        });
                        break;
                    }
                    Err(e) => self.audit.faults.push(MerkleFault {
                        kind: MerkleFaultKind::CheckpointUnreadable,
                        checkpoint_size: None,
                        from_seq: Seq(size + 1),
                        why: e.to_string(),
                    }),
                }
            }
        }
        self.audit.faults.extend(self.node_fault.take());
        self.audit.faults.sort_by_key(|f| f.from_seq);
        self.audit
    }
}

/// Verifies the tenant's whole chain (every hash and link, [`Engine::verify_tenant`]) and,
/// from the same read of the frames, recomputes its tree and compares it with the stored
/// nodes and checkpoints.
pub fn verify_and_audit_tenant(
    engine: &Engine,
    storage: &dyn Storage,
    input: &AuditInput<'_>,
) -> Result<(VerifyReport, TenantAudit)> {
    let tenant = input.tenant;
    // Opened first: every checkpoint it sees is covered by events read after.
    let mut auditor = MerkleAuditor::open(storage, input)?;
    let head = engine.chain_head(tenant).seq;
    let mut failed = None;
    let mut sink = |seq: Seq, leaf: &Hash| {
        // A break in this chain is the verification's to report.
        if failed.is_none() && seq.0 == auditor.size() + 1 {
            if let Err(e) = auditor.push_leaf(seq, leaf) {
                failed = Some(e);
            }
        }
    };
    let report = engine.verify_tenant_leaves(tenant, Seq(1), head, true, Some(&mut sink));
    match failed {
        Some(e) => Err(e),
        None => Ok((report, auditor.finish())),
    }
}
