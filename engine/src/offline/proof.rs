//! Verifying a proof file: a receipt (`GET /api/audit-logs/{id}/receipt`: event, signed
//! checkpoint, inclusion proof) or a consistency proof (`GET /api/audit-logs/consistency`),
//! told apart by their fields. Each check is reported on its own, so a reader sees what
//! holds and what does not.

use std::path::Path;

use super::event::EventFields;
use super::input::{origin_tenant, CheckpointInput, Obj};
use crate::error::{EngineError, Result};
use crate::event::json;
use crate::merkle::note::{Checkpoint, VerifierKey};
use crate::merkle::tree::{self, leaf_hash};
use crate::merkle::Hash;

/// Largest proof file read: a receipt holds one event (at most
/// [`crate::limits::RECORD_BYTES_MAX`] as stored, more with JSON escapes), a note and
/// at most 64 path hashes.
pub const PROOF_FILE_BYTES_MAX: u64 = 4 * crate::limits::RECORD_BYTES_MAX as u64;

/// Which kind of proof a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    /// Event + signed checkpoint + inclusion proof.
    Receipt,
    /// RFC 9162 consistency proof between two tree sizes.
    Consistency,
}

impl ProofKind {
    /// `receipt` or `consistency`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProofKind::Receipt => "receipt",
            ProofKind::Consistency => "consistency",
        }
    }
}

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofCheck {
    /// What was checked.
    pub what: String,
    /// `Ok(what holds)` or `Err(what does not)`.
    pub outcome: std::result::Result<String, String>,
}

/// The outcome of verifying a proof file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofReport {
    /// What the file holds.
    pub kind: ProofKind,
    /// Every check made, in order.
    pub checks: Vec<ProofCheck>,
    /// What was not checked, and why.
    pub notes: Vec<String>,
}

impl ProofReport {
    /// Whether every check held.
    pub fn intact(&self) -> bool {
        self.checks.iter().all(|c| c.outcome.is_ok())
    }

    /// `kind=… checks=… failed=…`.
    pub fn summary_line(&self) -> String {
        let failed = self.checks.iter().filter(|c| c.outcome.is_err()).count();
        format!(
            "kind={} checks={} failed={failed}",
            self.kind.as_str(),
            self.checks.len()
        )
    }

    fn check(&mut self, what: &str, outcome: std::result::Result<String, String>) {
        self.checks.push(ProofCheck {
            what: what.to_owned(),
            outcome,
        });
    }
}

/// Verifies a proof file's bytes (`path` names it in errors). A receipt needs `key`;
/// `held` (a checkpoint the client kept) applies to consistency proofs.
pub fn verify_proof(
    bytes: &[u8],
    path: &Path,
    key: Option<&VerifierKey>,
    held: Option<&CheckpointInput>,
) -> Result<ProofReport> {
    let usage = |why: String| EngineError::Format {
        path: path.to_path_buf(),
        why,
    };
    let doc = json::parse(bytes).map_err(|e| usage(format!("not JSON: {e}")))?;
    let obj = Obj::root(&doc, "").map_err(usage)?;
    if obj.has("consistency_path") {
        return consistency(&obj, key, held).map_err(usage);
    }
    if obj.has("event") && obj.has("proof") && obj.has("checkpoint") {
        if held.is_some() {
            return Err(usage(
                "--checkpoint applies to a consistency proof; this file is a receipt, which carries its checkpoint".into(),
            ));
        }
        let key = key.ok_or_else(|| {
            usage("a receipt's checkpoint signature is checked with the server's key: give --public-key".into())
        })?;
        return receipt(&obj, key).map_err(usage);
    }
    if obj.has("inclusion_path") {
        return Err(usage(
            "this is a bare inclusion proof, without the event it proves: verify the receipt (GET /api/audit-logs/{id}/receipt) instead".into(),
        ));
    }
    Err(usage(
        "neither a receipt (fields event, checkpoint, proof) nor a consistency proof (fields first, second, first_root, second_root, consistency_path)".into(),
    ))
}

/// The proof's fields, read before any check (a missing field is a usage error).
struct InclusionFields {
    leaf_index: u64,
    tree_size: u64,
    root: Hash,
    path: Vec<Hash>,
}

fn receipt(obj: &Obj<'_, '_>, key: &VerifierKey) -> std::result::Result<ProofReport, String> {
    let event = obj.get("event").ok_or("field event: missing")?;
    let ev = EventFields::read(event, "event");
    if let Some(why) = &ev.problem {
        return Err(why.clone());
    }
    let cp_obj = obj.obj("checkpoint")?;
    let cp_input = CheckpointInput::from_json(&cp_obj)?;
    let p = obj.obj("proof")?;
    let proof = InclusionFields {
        leaf_index: p.u64("leaf_index")?,
        tree_size: p.u64("tree_size")?,
        root: p.hash("root_hash")?,
        path: p.hashes("inclusion_path")?,
    };
    let (Some(hash), Some(seq), Some(tenant)) = (ev.hash, ev.seq, ev.tenant.clone()) else {
        return Err("field event: hash, seq and tenant_id are required".into());
    };
    let mut report = ProofReport {
        kind: ProofKind::Receipt,
        checks: Vec::new(),
        notes: Vec::new(),
    };
    let id = ev.id.as_deref().unwrap_or("?");
    let named = format!("event {id} (tenant {tenant}, seq {seq})");
    let outcome = match ev.hash_fault() {
        None => Ok(format!("{named} hashes to its hash {}", hex::encode(hash))),
        Some(why) => Err(format!("hash_mismatch: {named}: {why}")),
    };
    report.check("event hash", outcome);
    let signed = signature_check(&mut report, &cp_input, key);
    // Without a valid signature, the rest is still checked against the proof's own
    // root, so the report says everything that holds.
    let (size, root) = match &signed {
        Ok(cp) => (cp.size(), cp.root()),
        Err(_) => (proof.tree_size, proof.root),
    };
    let outcome = if (proof.tree_size, proof.root) == (size, root) {
        Ok(format!("tree size {size}, root {}", hex::encode(root)))
    } else {
        Err(format!(
            "the proof is for tree size {} root {}, the checkpoint signs tree size {size} root {}",
            proof.tree_size,
            hex::encode(proof.root),
            hex::encode(root)
        ))
    };
    report.check("proof matches the checkpoint", outcome);
    report.check("leaf", leaf_check(&signed, &tenant, seq, proof.leaf_index));
    let outcome = tree::verify_inclusion(
        &leaf_hash(&hash),
        proof.leaf_index,
        size,
        &proof.path,
        &root,
    )
    .map(|()| format!("{named} is leaf {} of the tree of {size}", proof.leaf_index))
    .map_err(|e| format!("inclusion proof: {e}"));
    report.check("inclusion", outcome);
    Ok(report)
}

/// Opens the receipt's checkpoint with `key` and reports the outcome.
fn signature_check(
    report: &mut ProofReport,
    input: &CheckpointInput,
    key: &VerifierKey,
) -> std::result::Result<Checkpoint, String> {
    let signed = input.open(key);
    let outcome = match &signed {
        Ok(cp) => Ok(format!(
            "signed by {}+{}: {} tree size {} root {}",
            key.name(),
            hex::encode(key.key_id()),
            cp.origin(),
            cp.size(),
            hex::encode(cp.root())
        )),
        Err(why) => Err(format!("checkpoint signature: {why}")),
    };
    report.check("checkpoint signature", outcome);
    signed
}

/// The leaf index must be seq − 1 and the event's tenant the checkpoint's.
fn leaf_check(
    signed: &std::result::Result<Checkpoint, String>,
    tenant: &str,
    seq: u64,
    leaf_index: u64,
) -> std::result::Result<String, String> {
    if seq.checked_sub(1) != Some(leaf_index) {
        return Err(format!(
            "leaf_index {leaf_index} is not seq {seq} - 1: the proof is for another event"
        ));
    }
    if let Ok(cp) = signed {
        if origin_tenant(cp.origin()) != Some(tenant) {
            return Err(format!(
                "the event is tenant {tenant}'s, the checkpoint {}'s",
                cp.origin()
            ));
        }
    }
    Ok(format!("leaf index {leaf_index} = seq {seq} - 1"))
}

fn consistency(
    obj: &Obj<'_, '_>,
    key: Option<&VerifierKey>,
    held: Option<&CheckpointInput>,
) -> std::result::Result<ProofReport, String> {
    let first = obj.u64("first")?;
    let second = obj.u64("second")?;
    let first_root = obj.hash("first_root")?;
    let second_root = obj.hash("second_root")?;
    let path = obj.hashes("consistency_path")?;
    let mut report = ProofReport {
        kind: ProofKind::Consistency,
        checks: Vec::new(),
        notes: Vec::new(),
    };
    let outcome = tree::verify_consistency(first, second, &first_root, &second_root, &path)
        .map(|()| {
            format!(
                "the tree of {first} (root {}) is a prefix of the tree of {second} (root {})",
                hex::encode(first_root),
                hex::encode(second_root)
            )
        })
        .map_err(|e| format!("consistency proof: {e}"));
    report.check("consistency", outcome);
    let Some(held) = held else {
        report.notes.push(
            "no --checkpoint: first_root is not compared with a checkpoint you hold, so this shows only that the two roots in the file are consistent"
                .to_owned(),
        );
        return Ok(report);
    };
    held_check(&mut report, held, key, (first, &first_root), second);
    report.notes.push(format!(
        "second_root is not signed in this file: fetch GET /api/audit-logs/checkpoint?tree_size={second} and compare its root"
    ));
    Ok(report)
}

/// Checks that the checkpoint the client held is the proof's first tree (and, with the
/// key, that it is signed).
fn held_check(
    report: &mut ProofReport,
    held: &CheckpointInput,
    key: Option<&VerifierKey>,
    (first, first_root): (u64, &Hash),
    second: u64,
) {
    let first_root = *first_root;
    let opened = match key {
        Some(key) => {
            let opened = held.open(key);
            let outcome = match &opened {
                Ok(_) => Ok(format!(
                    "signed by {}+{}",
                    key.name(),
                    hex::encode(key.key_id())
                )),
                Err(why) => Err(format!("held checkpoint signature: {why}")),
            };
            report.check("held checkpoint signature", outcome);
            opened
        }
        None => {
            report
                .notes
                .push("no --public-key: the held checkpoint's signature is not checked".to_owned());
            held.unverified()
        }
    };
    let outcome = match opened {
        Ok(cp) if (cp.size(), cp.root()) == (first, first_root) => Ok(format!(
            "{} tree size {first} root {} = first, first_root",
            cp.origin(),
            hex::encode(first_root)
        )),
        Ok(cp) if cp.size() == first => Err(format!(
            "the held checkpoint of tree size {first} has root {}, the proof starts from root {}: the log's tree of that size is not the one you hold (history was rewritten)",
            hex::encode(cp.root()),
            hex::encode(first_root)
        )),
        Ok(cp) => Err(format!(
            "the held checkpoint is tree size {}, the proof starts from tree size {first}: it says nothing about what you hold (ask for consistency?first={}&second={second})",
            cp.size(),
            cp.size()
        )),
        Err(why) => Err(format!("held checkpoint unreadable: {why}")),
    };
    report.check("held checkpoint is the first tree", outcome);
}
