//! Verifying an export (NDJSON, or a JSON array): every event's hash, every link per
//! tenant, and optionally a signed checkpoint's root against the export's hashes.
//!
//! Records are read in batches; each batch is parsed and hashed on all cores, then its
//! links are checked in file order. A tenant whose first exported event has seq 1 must
//! start from 64 zeros; a later start is taken as given (its link to what came before
//! the export cannot be checked from the export alone), as docs/verify_chain.py does.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::event::EventFields;
use super::input::origin_tenant;
use super::records::{Record, Records};
use super::report::{ExportFault, ExportFaultKind};
use crate::chain::GENESIS_HASH;
use crate::error::{EngineError, Result};
use crate::event::json;
use crate::merkle::note::Checkpoint;
use crate::merkle::tree::{leaf_hash, Frontier};
use crate::merkle::Hash;

/// Records parsed and hashed per parallel batch.
const EXPORT_BATCH_RECORDS: usize = 8_192;

/// What the export check takes besides the file.
#[derive(Clone, Copy, Default)]
pub struct ExportOptions<'a> {
    /// A checkpoint whose signature the caller checked: the root of its tenant's first
    /// `size` event hashes in the export must equal its root.
    pub checkpoint: Option<&'a Checkpoint>,
    /// Called with the bytes read so far.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

impl std::fmt::Debug for ExportOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportOptions")
            .field("checkpoint", &self.checkpoint)
            .finish_non_exhaustive()
    }
}

/// One tenant's events in the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTenant {
    /// The tenant.
    pub tenant: String,
    /// Events read.
    pub events: u64,
    /// Seq of its first event in the export.
    pub first_seq: u64,
    /// Seq of its last.
    pub last_seq: u64,
}

/// What came of comparing a signed checkpoint with the export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointMatch {
    /// The root of the tenant's first `size` hashes is the signed root.
    Matches {
        /// The tenant.
        tenant: String,
        /// The checkpoint's tree size.
        size: u64,
    },
    /// The export's root differs from the signed one.
    Differs {
        /// The tenant.
        tenant: String,
        /// The checkpoint's tree size.
        size: u64,
        /// The signed root.
        signed: Hash,
        /// The root the export gives.
        computed: Hash,
    },
    /// The export cannot support the check; why.
    NotChecked {
        /// The checkpoint's origin.
        origin: String,
        /// The checkpoint's tree size.
        size: u64,
        /// Why not.
        why: String,
    },
}

/// The outcome of verifying an export.
#[derive(Debug, Clone, Default)]
pub struct ExportReport {
    /// Records read (events, and records that are not events).
    pub records: u64,
    /// Tenants, in the order they first appear.
    pub tenants: Vec<ExportTenant>,
    /// Faults, in file order.
    pub faults: Vec<ExportFault>,
    /// Facts worth knowing that are not faults (a tenant starting after seq 1).
    pub notes: Vec<String>,
    /// The checkpoint comparison, when a checkpoint was given.
    pub checkpoint: Option<CheckpointMatch>,
    /// Time taken.
    pub elapsed: Duration,
}

impl ExportReport {
    /// Events read.
    pub fn events(&self) -> u64 {
        self.tenants.iter().map(|t| t.events).sum()
    }

    /// No fault, and the checkpoint (if any) matches or was not checked.
    pub fn intact(&self) -> bool {
        self.faults.is_empty() && !matches!(self.checkpoint, Some(CheckpointMatch::Differs { .. }))
    }

    /// The figures line: `events=… tenants=… faults=… checkpoint=… elapsed_s=… events_per_s=…`.
    /// `signature_invalid`: the checkpoint given failed its signature check (before any
    /// comparison), which is one more fault and `checkpoint=signature_invalid`.
    pub fn summary_line(&self, signature_invalid: bool) -> String {
        let checkpoint = match &self.checkpoint {
            _ if signature_invalid => "signature_invalid",
            None => "none",
            Some(CheckpointMatch::Matches { .. }) => "matches",
            Some(CheckpointMatch::Differs { .. }) => "differs",
            Some(CheckpointMatch::NotChecked { .. }) => "not_checked",
        };
        let secs = self.elapsed.as_secs_f64();
        format!(
            "events={} tenants={} faults={} checkpoint={checkpoint} elapsed_s={secs:.3} events_per_s={:.0}",
            self.events(),
            self.tenants.len(),
            self.faults.len() + usize::from(signature_invalid),
            self.events() as f64 / secs.max(1e-9)
        )
    }
}

/// A parsed record, or why it is not one.
struct Parsed {
    line: u64,
    fields: EventFields,
}

fn parse_record(record: Record) -> Parsed {
    match record {
        Record::Bad { line, why } => Parsed {
            line,
            fields: EventFields {
                problem: Some(why),
                ..EventFields::default()
            },
        },
        Record::Event { line, bytes } => match json::parse(&bytes) {
            Ok(value) => Parsed {
                line,
                fields: EventFields::read(&value, ""),
            },
            Err(e) => Parsed {
                line,
                fields: EventFields {
                    problem: Some(format!("not JSON: {e}")),
                    ..EventFields::default()
                },
            },
        },
    }
}

/// Per tenant: the last event seen, and the tree of the checkpoint's tenant.
#[derive(Default)]
struct Chains {
    heads: HashMap<String, (usize, u64, Hash)>,
    tree: Option<(String, u64, Frontier)>,
}

/// Verifies the export read from `reader` (`path` names it in errors).
pub fn verify_export(
    reader: impl BufRead,
    path: &Path,
    options: &ExportOptions<'_>,
) -> Result<ExportReport> {
    let started = Instant::now();
    let mut report = ExportReport::default();
    let mut chains = Chains::default();
    if let Some(cp) = options.checkpoint {
        if let Some(tenant) = origin_tenant(cp.origin()) {
            chains.tree = Some((tenant.to_owned(), cp.size(), Frontier::new()));
        }
    }
    let mut records = Records::new(reader);
    loop {
        let mut batch = Vec::with_capacity(EXPORT_BATCH_RECORDS);
        while batch.len() < EXPORT_BATCH_RECORDS {
            let next = records.next_record().map_err(|source| EngineError::Io {
                path: path.to_path_buf(),
                op: "read",
                source,
            })?;
            match next {
                Some(r) => batch.push(r),
                None => break,
            }
        }
        if batch.is_empty() {
            break;
        }
        let parsed: Vec<Parsed> = batch.into_par_iter().map(parse_record).collect();
        for p in parsed {
            report.records += 1;
            follow(&mut report, &mut chains, p);
        }
        if let Some(progress) = options.progress {
            progress(records.bytes_read());
        }
    }
    if report.records == 0 {
        report.notes.push("the export holds no events".to_owned());
    }
    if let Some(cp) = options.checkpoint {
        report.checkpoint = Some(compare_checkpoint(cp, &chains, &report));
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Checks one record's hash and its link to the tenant's previous event.
fn follow(report: &mut ExportReport, chains: &mut Chains, p: Parsed) {
    let f = &p.fields;
    let fault = |kind, detail: String| ExportFault {
        line: p.line,
        id: f.id.clone(),
        tenant: f.tenant.clone(),
        seq: f.seq,
        kind,
        detail,
    };
    if let Some(why) = &f.problem {
        report
            .faults
            .push(fault(ExportFaultKind::Malformed, why.clone()));
    }
    if let Some(why) = f.hash_fault() {
        report
            .faults
            .push(fault(ExportFaultKind::HashMismatch, why));
    }
    let Some((tenant, seq, hash, prev)) = f.link() else {
        return;
    };
    match chains.heads.get(tenant) {
        Some(&(k, last_seq, last_hash)) => {
            if seq != last_seq + 1 {
                let why = format!("seq {seq} follows seq {last_seq} of the tenant");
                report
                    .faults
                    .push(fault(ExportFaultKind::ChainLinkMismatch, why));
            } else if prev != last_hash {
                let why = format!("prev_hash is not the hash of seq {last_seq}");
                report
                    .faults
                    .push(fault(ExportFaultKind::ChainLinkMismatch, why));
            }
            let t = &mut report.tenants[k];
            t.events += 1;
            t.last_seq = seq;
            chains.heads.insert(tenant.to_owned(), (k, seq, hash));
        }
        None => {
            if seq == 1 && prev != GENESIS_HASH {
                let why = "the tenant's first event (seq 1) must have prev_hash 64 zeros".into();
                report
                    .faults
                    .push(fault(ExportFaultKind::ChainLinkMismatch, why));
            } else if seq != 1 {
                report.notes.push(format!(
                    "tenant {tenant} starts at seq {seq} (line {}): its link to earlier events cannot be checked from the export",
                    p.line
                ));
            }
            let k = report.tenants.len();
            report.tenants.push(ExportTenant {
                tenant: tenant.to_owned(),
                events: 1,
                first_seq: seq,
                last_seq: seq,
            });
            chains.heads.insert(tenant.to_owned(), (k, seq, hash));
        }
    }
    if let Some((t, size, tree)) = &mut chains.tree {
        if t == tenant && tree.size() < *size && tree.size() + 1 == seq {
            // `size` is a u64 below u64::MAX leaves: the push cannot overflow.
            let _ = tree.push(leaf_hash(&hash), |_, _, _| {});
        }
    }
}

fn compare_checkpoint(cp: &Checkpoint, chains: &Chains, report: &ExportReport) -> CheckpointMatch {
    let not_checked = |why: String| CheckpointMatch::NotChecked {
        origin: cp.origin().to_owned(),
        size: cp.size(),
        why,
    };
    let Some((tenant, size, tree)) = &chains.tree else {
        return not_checked(format!(
            "its origin {:?} does not name a tenant (<log name>/<tenant>)",
            cp.origin()
        ));
    };
    if tree.size() == *size {
        let computed = tree.root();
        return if computed == cp.root() {
            CheckpointMatch::Matches {
                tenant: tenant.clone(),
                size: *size,
            }
        } else {
            CheckpointMatch::Differs {
                tenant: tenant.clone(),
                size: *size,
                signed: cp.root(),
                computed,
            }
        };
    }
    let why = match report.tenants.iter().find(|t| &t.tenant == tenant) {
        None => format!("the export holds no event of tenant {tenant}"),
        Some(t) if t.first_seq != 1 => format!(
            "the export's events of tenant {tenant} start at seq {}, not 1",
            t.first_seq
        ),
        Some(_) if tree.size() < t_last(report, tenant) => format!(
            "the export's events of tenant {tenant} run from seq 1 without a gap only up to seq {}, fewer than the checkpoint's {size}",
            tree.size()
        ),
        Some(t) => format!(
            "the export holds tenant {tenant}'s seq 1..={}, fewer than the checkpoint's {size} events",
            t.last_seq
        ),
    };
    not_checked(why)
}

fn t_last(report: &ExportReport, tenant: &str) -> u64 {
    report
        .tenants
        .iter()
        .find(|t| t.tenant == tenant)
        .map_or(0, |t| t.last_seq)
}
