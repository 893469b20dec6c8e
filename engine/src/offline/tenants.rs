//! Per tenant, as the segments are read in log order: the chain's links, and the Merkle
//! tree recomputed from the stored hashes and compared with the stored state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::data_dir::read_small;
use super::report::{DataDirReport, EventFault, MerkleTenantFault};
use super::segment::CheckedEvent;
use crate::chain::GENESIS_HASH;
use crate::error::{EngineError, IoContext, Result};
use crate::merkle::audit::{AuditInput, MerkleAuditor, MerkleFaultKind, TenantAudit};
use crate::merkle::note::VerifierKey;
use crate::merkle::store::{State, STATE_FILE};
use crate::storage::Storage;
use crate::types::{SegmentId, Seq, TenantId};
use crate::verify::FaultKind;

/// Largest `merkle/state` read: one entry per tenant (at most 73 bytes each).
const STATE_FILE_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// A tenant's chain and tree as the segments are read.
pub(crate) struct Tenant {
    name: TenantId,
    head: Option<(Seq, [u8; 32])>,
    auditor: MerkleAuditor,
    /// This segment's events of the tenant (indexes into its events).
    pub(crate) pending: Vec<u32>,
}

impl Tenant {
    /// Checks the links of this segment's events of the tenant and feeds its tree.
    pub(crate) fn follow(
        &mut self,
        events: &[CheckedEvent<'_>],
        segment: SegmentId,
    ) -> Result<Vec<EventFault>> {
        let mut faults = Vec::new();
        for &k in &self.pending {
            let ev = &events[k as usize];
            let linked = match (self.head, ev.prev) {
                (_, None) => true, // fields unreadable: reported as field_mismatch
                (None, Some(prev)) => ev.seq == Seq(1) && prev == GENESIS_HASH,
                (Some((seq, hash)), Some(prev)) => ev.seq.0 == seq.0 + 1 && prev == hash,
            };
            if !linked {
                faults.push(EventFault {
                    segment,
                    offset: ev.offset,
                    lsns: Some((ev.lsn, ev.lsn)),
                    id: Some(ev.id),
                    tenant: Some(ev.tenant.to_owned()),
                    seq: Some(ev.seq),
                    kind: FaultKind::ChainLinkMismatch,
                });
            }
            self.head = Some((ev.seq, ev.hash));
            // A break in the chain is reported above; the tree can only follow seq order.
            if ev.seq.0 == self.auditor.size() + 1 {
                self.auditor.push_leaf(ev.seq, &ev.leaf)?;
            }
        }
        self.pending.clear();
        Ok(faults)
    }
}

/// What every tenant's auditor needs to open.
pub(crate) struct MerkleInput<'a> {
    storage: &'a dyn Storage,
    pub(crate) dir: PathBuf,
    synced: HashMap<String, u64>,
    key: Option<&'a VerifierKey>,
}

impl MerkleInput<'_> {
    pub(crate) fn open(&self, name: TenantId) -> Result<Tenant> {
        let auditor = MerkleAuditor::open(
            self.storage,
            &AuditInput {
                dir: &self.dir,
                tenant: &name,
                node_leaves: self.synced.get(name.as_str()).copied().unwrap_or(0),
                key: self.key,
            },
        )?;
        Ok(Tenant {
            name,
            head: None,
            auditor,
            pending: Vec::new(),
        })
    }
}

/// Ends every tenant's audit: stored checkpoints beyond the events, node faults.
pub(crate) fn finish_tenants(tenants: Vec<Tenant>, report: &mut DataDirReport) {
    report.tenants = tenants.len() as u64;
    for t in tenants {
        let followed = t.auditor.size();
        let head = t.head.map_or(0, |(s, _)| s.0);
        if followed < head {
            report.notes.push(format!(
                "tenant {}: its Merkle tree could be recomputed only up to seq {followed} (its chain breaks after it), so later checkpoints cannot match",
                t.name
            ));
        }
        let mut audit: TenantAudit = t.auditor.finish();
        if followed < head {
            for f in audit
                .faults
                .iter_mut()
                .filter(|f| f.kind == MerkleFaultKind::EventsRemoved)
            {
                f.why = format!(
                    "a checkpoint of tree size {} was signed, but the tree can be recomputed only up to seq {followed}: the event after it is missing or damaged (see the tenant's faults above)",
                    f.checkpoint_size.unwrap_or_default()
                );
            }
        }
        report.checkpoints += audit.checkpoints;
        report.nodes += audit.nodes;
        report
            .merkle_faults
            .extend(audit.faults.into_iter().map(|fault| MerkleTenantFault {
                tenant: t.name.as_str().to_owned(),
                fault,
            }));
    }
}

/// Reads `merkle/state` (how far each node file is synced) and notes what cannot be
/// checked.
pub(crate) fn merkle_input<'a>(
    storage: &'a dyn Storage,
    data_dir: &Path,
    key: Option<&'a VerifierKey>,
    report: &mut DataDirReport,
) -> Result<MerkleInput<'a>> {
    let dir = data_dir.join("merkle");
    let state_path = dir.join(STATE_FILE);
    let mut synced = HashMap::new();
    if storage.exists(&state_path).ctx(&state_path, "stat")? {
        let decoded = match read_small(storage, &state_path, STATE_FILE_BYTES_MAX) {
            Ok(bytes) => State::decode(&bytes),
            Err(EngineError::Format { why, .. }) => Err(why),
            Err(e) => return Err(e),
        };
        match decoded {
            Ok(state) => {
                synced = state
                    .sizes
                    .into_iter()
                    .map(|(t, n)| (t.as_str().to_owned(), n))
                    .collect();
            }
            Err(why) => report.notes.push(format!(
                "{}: unreadable ({why}): node files not compared (sealogd rebuilds them from the log)",
                state_path.display()
            )),
        }
    } else if storage.list(&dir).is_ok() {
        report.notes.push(format!(
            "{}: missing: node files not compared (sealogd rebuilds them from the log)",
            state_path.display()
        ));
    } else {
        report
            .notes
            .push("no merkle/ directory: no Merkle state or checkpoints to compare".to_owned());
    }
    if key.is_none() && storage.list(&dir).is_ok() {
        report.notes.push(
            "no verifier key (--public-key, or keys/checkpoint.vkey): checkpoint roots are compared, their signatures are not checked".to_owned(),
        );
    }
    Ok(MerkleInput {
        storage,
        dir,
        synced,
        key,
    })
}

/// Tenants that have a checkpoint file, sorted.
pub(crate) fn checkpoint_tenants(storage: &dyn Storage, dir: &Path) -> Vec<TenantId> {
    let mut names: Vec<TenantId> = storage
        .list(dir)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.strip_suffix(".ckpt"))
        .filter_map(|n| TenantId::new(n).ok())
        .collect();
    names.sort();
    names
}
