//! Checks a tenant's stored Merkle state against its events: the node file's hashes
//! and every stored checkpoint's root (and, given the verifier key, its signature).
//! This is what names a *consistent* rewrite of stored events and hashes: the chain
//! re-links, but the roots sealog signed earlier no longer match.

use std::ops::ControlFlow;
use std::path::Path;

use super::checkpoints::CheckpointFile;
use super::note::{open_checkpoint, VerifierKey};
use super::store::{nodes_path, NODE_BYTES};
use super::tree::{self, Frontier};
use super::Hash;
use crate::error::{IoContext, Result};
use crate::log::{Engine, ScanDirection};
use crate::storage::Storage;
use crate::types::{Lsn, Seq, TenantId};

/// Node bytes read per call while comparing.
const AUDIT_READ_BYTES: u64 = 1 << 20;

/// One disagreement between the stored Merkle state and the events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleFault {
    /// The checkpoint that no longer matches, if the fault is about one.
    pub checkpoint_size: Option<u64>,
    /// The first seq the fault can be pinned to: the events after the last checkpoint
    /// that still matches (or the first node that differs).
    pub from_seq: Seq,
    /// What is wrong.
    pub why: String,
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

/// Recomputes the tenant's tree from the stored event hashes (in seq order, read from
/// the frames) and compares it with the stored nodes and checkpoints.
pub fn audit_tenant(
    engine: &Engine,
    storage: &dyn Storage,
    input: &AuditInput<'_>,
) -> Result<TenantAudit> {
    let tenant = input.tenant;
    let mut audit = TenantAudit::default();
    let checkpoints = CheckpointFile::open(storage, input.dir, tenant, false)?;
    let count = checkpoints.as_ref().map_or(0, |c| c.count());
    let nodes_file = {
        let path = nodes_path(input.dir, tenant);
        if storage.exists(&path).ctx(&path, "stat")? {
            Some((storage.open_ro(&path).ctx(&path, "open")?, path))
        } else {
            None
        }
    };
    let node_limit = tree::postorder_len(input.node_leaves).unwrap_or(0);
    let node_limit = match &nodes_file {
        Some((f, path)) => node_limit.min(f.size().ctx(path, "stat")? / NODE_BYTES),
        None => 0,
    };
    let mut frontier = Frontier::new();
    let mut next_ckpt = 0u64;
    let mut last_good_size = 0u64;
    let mut node_pos = 0u64;
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_start = 0u64;
    let mut node_fault: Option<MerkleFault> = None;
    let mut failed = None;

    let head = engine.chain_head(tenant).seq;
    let start = engine.locate_seq(tenant, Seq(1)).map_or(Lsn(1), |(l, _)| l);
    let end = engine
        .locate_seq(tenant, head)
        .map_or(Lsn(engine.stats().visible_lsn.0 + 1), |(l, _)| Lsn(l.0 + 1));
    let origin = input.key.map(|k| format!("{}/{tenant}", k.name()));
    engine.visit(start..end, ScanDirection::Forward, |item| {
        let Ok(ev) = item else {
            return ControlFlow::Continue(());
        };
        if ev.tenant != tenant.as_str() || ev.seq.0 != frontier.size() + 1 {
            // Other tenants; and a break in this chain is verify-chain's to report.
            return ControlFlow::Continue(());
        }
        let mut emitted: Vec<Hash> = Vec::with_capacity(2);
        if frontier
            .push(tree::leaf_hash(&ev.hash), |_, _, h| emitted.push(*h))
            .is_err()
        {
            return ControlFlow::Break(());
        }
        audit.leaves += 1;
        if let Some((file, path)) = &nodes_file {
            for h in emitted {
                if node_pos < node_limit && node_fault.is_none() {
                    if node_pos < buf_start || node_pos >= buf_start + buf.len() as u64 / NODE_BYTES
                    {
                        buf_start = node_pos;
                        let n = (node_limit - node_pos).min(AUDIT_READ_BYTES / NODE_BYTES);
                        buf.resize((n * NODE_BYTES) as usize, 0);
                        if let Err(e) = file.read_exact_at(&mut buf, node_pos * NODE_BYTES) {
                            failed = Some(crate::error::EngineError::Io {
                                path: path.clone(),
                                op: "read",
                                source: e,
                            });
                            return ControlFlow::Break(());
                        }
                    }
                    let at = ((node_pos - buf_start) * NODE_BYTES) as usize;
                    audit.nodes += 1;
                    if buf[at..at + 32] != h {
                        node_fault = Some(MerkleFault {
                            checkpoint_size: None,
                            from_seq: ev.seq,
                            why: format!(
                                "node {node_pos} of {} differs from the hash the events give (by seq {}): the Merkle state was altered",
                                path.display(),
                                ev.seq
                            ),
                        });
                    }
                }
                node_pos += 1;
            }
        }
        while let Some(c) = checkpoints.as_ref().filter(|_| next_ckpt < count) {
            let cp = match c.get(next_ckpt) {
                Ok(cp) => cp,
                Err(e) => {
                    audit.faults.push(MerkleFault {
                        checkpoint_size: None,
                        from_seq: Seq(last_good_size + 1),
                        why: e.to_string(),
                    });
                    next_ckpt += 1;
                    continue;
                }
            };
            match cp.size.cmp(&frontier.size()) {
                std::cmp::Ordering::Greater => break,
                std::cmp::Ordering::Less => {
                    audit.faults.push(MerkleFault {
                        checkpoint_size: Some(cp.size),
                        from_seq: Seq(cp.size),
                        why: format!(
                            "checkpoint {next_ckpt} in {} has tree size {} after a larger one: the checkpoint file was altered",
                            c.path().display(),
                            cp.size
                        ),
                    });
                    next_ckpt += 1;
                    continue;
                }
                std::cmp::Ordering::Equal => next_ckpt += 1,
            }
            audit.checkpoints += 1;
            let root = frontier.root();
            if cp.root != root {
                audit.faults.push(MerkleFault {
                    checkpoint_size: Some(cp.size),
                    from_seq: Seq(last_good_size + 1),
                    why: format!(
                        "the checkpoint of tree size {} commits to root {} but the stored events give {}: events with seq {}..={} were changed after it was signed",
                        cp.size,
                        hex::encode(cp.root),
                        hex::encode(root),
                        last_good_size + 1,
                        cp.size
                    ),
                });
            } else {
                last_good_size = cp.size;
            }
            if let (Some(key), Some(origin)) = (input.key, &origin) {
                let signed = cp
                    .checkpoint(origin)
                    .map(|body| key_note(key, &body, &cp.signature, cp.key_id));
                let ok = matches!(&signed, Ok(note) if open_checkpoint(note, key).is_ok());
                if !ok {
                    audit.faults.push(MerkleFault {
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
        ControlFlow::Continue(())
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if let Some(c) = &checkpoints {
        for k in next_ckpt..count {
            match c.get(k) {
                Ok(cp) => {
                    audit.faults.push(MerkleFault {
                        checkpoint_size: Some(cp.size),
                        from_seq: Seq(frontier.size() + 1),
                        why: format!(
                            "a checkpoint of tree size {} was signed but the log holds {} events of tenant {tenant}: events were removed",
                            cp.size,
                            frontier.size()
                        ),
                    });
                    break;
                }
                Err(e) => audit.faults.push(MerkleFault {
                    checkpoint_size: None,
                    from_seq: Seq(frontier.size() + 1),
                    why: e.to_string(),
                }),
            }
        }
    }
    audit.faults.extend(node_fault);
    audit.faults.sort_by_key(|f| f.from_seq);
    Ok(audit)
}

/// The note a stored signature makes, for checking it with `key`.
fn key_note(
    key: &VerifierKey,
    body: &super::note::Checkpoint,
    signature: &[u8; 64],
    key_id: [u8; 4],
) -> String {
    super::note::note_text(&body.body(), key.name(), &key_id, signature)
}
