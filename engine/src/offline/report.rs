//! What the offline checks report: each fault, named as precisely as the bytes allow,
//! with a `Display` that is the report's line for it.

use std::time::Duration;

use crate::merkle::audit::MerkleFault;
use crate::types::{Lsn, SegmentId, Seq};
use crate::verify::FaultKind;

/// One damaged or tampered event (or the LSNs lost at one unreadable spot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFault {
    /// The segment.
    pub segment: SegmentId,
    /// Byte offset of the frame in the segment file.
    pub offset: u64,
    /// The event's LSN, or the LSNs lost at an unreadable spot, when known.
    pub lsns: Option<(Lsn, Lsn)>,
    /// The event id, when readable (from the frame, or an intact index file).
    pub id: Option<uuid::Uuid>,
    /// The tenant, when readable.
    pub tenant: Option<String>,
    /// The seq, when readable.
    pub seq: Option<Seq>,
    /// What is wrong.
    pub kind: FaultKind,
}

impl EventFault {
    /// `unreadable_frame`, `hash_mismatch`, `chain_link_mismatch` or `field_mismatch`.
    pub fn label(&self) -> &'static str {
        match self.kind {
            FaultKind::Unreadable(_) => "unreadable_frame",
            FaultKind::HashMismatch => "hash_mismatch",
            FaultKind::ChainLinkMismatch => "chain_link_mismatch",
            FaultKind::FieldMismatch(_) => "field_mismatch",
        }
    }
}

impl std::fmt::Display for EventFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "segment {} byte {}: ", self.segment, self.offset)?;
        match self.id {
            Some(id) => write!(f, "event {id}")?,
            None => write!(f, "event (id unreadable)")?,
        }
        let mut parts = Vec::new();
        if let Some(t) = &self.tenant {
            parts.push(format!("tenant {t}"));
        }
        if let Some(s) = self.seq {
            parts.push(format!("seq {s}"));
        }
        match self.lsns {
            Some((a, b)) if a == b => parts.push(format!("lsn {a}")),
            Some((a, b)) => parts.push(format!("lsns {a}..={b}")),
            None => {}
        }
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        write!(f, ": {}", self.label())?;
        match &self.kind {
            FaultKind::Unreadable(why) | FaultKind::FieldMismatch(why) => write!(f, ": {why}"),
            FaultKind::HashMismatch => {
                write!(f, ": the stored body does not hash to the stored hash")
            }
            FaultKind::ChainLinkMismatch => write!(
                f,
                ": its seq or prev_hash does not continue the tenant's previous event"
            ),
        }
    }
}

/// What is wrong with a segment file as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentFaultKind {
    /// The header is unreadable or names another segment, or the file is oversized.
    Header,
    /// A segment that must be sealed is not, or its seal does not describe it.
    Seal,
    /// Its bytes do not match the BLAKE3 digest in its seal.
    Digest,
    /// LSNs do not continue from the previous segment (a segment missing or replaced).
    LsnGap,
}

impl SegmentFaultKind {
    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentFaultKind::Header => "segment_header",
            SegmentFaultKind::Seal => "segment_seal",
            SegmentFaultKind::Digest => "segment_digest_mismatch",
            SegmentFaultKind::LsnGap => "lsn_gap",
        }
    }
}

/// A fault of a segment file as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentFault {
    /// The segment.
    pub segment: SegmentId,
    /// Where in the file, when it is one place.
    pub offset: Option<u64>,
    /// What kind.
    pub kind: SegmentFaultKind,
    /// What is wrong.
    pub why: String,
}

impl std::fmt::Display for SegmentFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "segment {}", self.segment)?;
        if let Some(o) = self.offset {
            write!(f, " byte {o}")?;
        }
        write!(f, ": {}: {}", self.kind.as_str(), self.why)
    }
}

/// A disagreement between a tenant's stored Merkle state and its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleTenantFault {
    /// The tenant.
    pub tenant: String,
    /// The fault.
    pub fault: MerkleFault,
}

impl std::fmt::Display for MerkleTenantFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tenant {}: ", self.tenant)?;
        if let Some(size) = self.fault.checkpoint_size {
            write!(f, "checkpoint of tree size {size}: ")?;
        }
        write!(f, "{}: {}", self.fault.kind.as_str(), self.fault.why)
    }
}

/// Bytes at the end of the last segment that an append never completed: not damage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTailFound {
    /// The segment.
    pub segment: SegmentId,
    /// Where the incomplete append request starts.
    pub offset: u64,
    /// Bytes from there to the last non-zero byte.
    pub bytes: u64,
    /// Whole frames among them.
    pub records: u64,
}

impl std::fmt::Display for TornTailFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "segment {} byte {}: incomplete (torn) tail: {} bytes, {} whole frames of an append request that never completed (never acknowledged; sealogd cuts it at its next start and keeps it in {}.seg.torn); not damage",
            self.segment, self.offset, self.bytes, self.records, self.segment
        )
    }
}

/// The outcome of verifying a data directory.
#[derive(Debug, Clone, Default)]
pub struct DataDirReport {
    /// Readable events checked.
    pub events: u64,
    /// Segment files.
    pub segments: u64,
    /// Bytes of segment files.
    pub bytes: u64,
    /// Tenants (with events or checkpoints).
    pub tenants: u64,
    /// Stored checkpoints compared with the recomputed trees.
    pub checkpoints: u64,
    /// Stored node hashes compared.
    pub nodes: u64,
    /// Damaged or tampered events, by segment and offset.
    pub event_faults: Vec<EventFault>,
    /// Faults of whole segment files.
    pub segment_faults: Vec<SegmentFault>,
    /// Merkle state that disagrees with the events.
    pub merkle_faults: Vec<MerkleTenantFault>,
    /// Incomplete tails of the last segment (not faults).
    pub torn_tails: Vec<TornTailFound>,
    /// Facts worth knowing that are not faults (what was not checked, and why).
    pub notes: Vec<String>,
    /// Time taken.
    pub elapsed: Duration,
}

impl DataDirReport {
    /// Faults of every kind.
    pub fn faults(&self) -> usize {
        self.event_faults.len() + self.segment_faults.len() + self.merkle_faults.len()
    }

    /// No fault found (a torn tail is not one).
    pub fn intact(&self) -> bool {
        self.faults() == 0
    }

    /// `events=… segments=… tenants=… checkpoints=… nodes=… faults=… elapsed_s=… events_per_s=…`.
    pub fn summary_line(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        format!(
            "events={} segments={} tenants={} checkpoints={} nodes={} faults={} elapsed_s={secs:.3} events_per_s={:.0}",
            self.events,
            self.segments,
            self.tenants,
            self.checkpoints,
            self.nodes,
            self.faults(),
            self.events as f64 / secs.max(1e-9)
        )
    }
}

/// What is wrong with one exported event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFaultKind {
    /// The event does not hash to its `hash`.
    HashMismatch,
    /// Its `seq` or `prev_hash` does not continue the tenant's previous event.
    ChainLinkMismatch,
    /// The record is not an event: not JSON, too long, or a field missing or malformed.
    Malformed,
}

impl ExportFaultKind {
    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFaultKind::HashMismatch => "hash_mismatch",
            ExportFaultKind::ChainLinkMismatch => "chain_link_mismatch",
            ExportFaultKind::Malformed => "malformed_event",
        }
    }
}

/// One damaged or tampered exported event, named by its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFault {
    /// 1-based line the record starts on.
    pub line: u64,
    /// Its `id`, when readable.
    pub id: Option<String>,
    /// Its `tenant_id`, when readable.
    pub tenant: Option<String>,
    /// Its `seq`, when readable.
    pub seq: Option<u64>,
    /// What is wrong.
    pub kind: ExportFaultKind,
    /// How (the field, the hashes that differ).
    pub detail: String,
}

impl std::fmt::Display for ExportFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.id {
            Some(id) => write!(f, "event {id}")?,
            None => write!(f, "event")?,
        }
        let tenant = self.tenant.as_deref().unwrap_or("?");
        match self.seq {
            Some(seq) => write!(f, " (tenant {tenant}, seq {seq})")?,
            None => write!(f, " (tenant {tenant})")?,
        }
        write!(f, ": {}", self.kind.as_str())?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}
