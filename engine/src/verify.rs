//! Whole-log verification: every frame, every hash, every chain link, on all cores.
//!
//! Reads the stored bytes only (frames, then bodies); never trusts an index for what an
//! event says. The log is cut into LSN chunks verified in parallel; each chunk reports
//! its faults and, per tenant, its first link and last hash, which are then stitched in
//! log order, so a link that crosses chunks is checked like any other.

use std::collections::HashMap;
use std::ops::{ControlFlow, Range};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::chain::{LinkFault, GENESIS_HASH};
use crate::error::EngineError;
use crate::log::{Engine, EventRef, ScanDirection};
use crate::types::{Lsn, SegmentId, Seq};

/// Events verified per parallel work unit.
const VERIFY_CHUNK_EVENTS: u64 = 32_768;

/// What is wrong with one stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// The frame cannot be read (CRC, length, layout): the event is lost to damage.
    Unreadable(String),
    /// The body does not hash to the stored hash.
    HashMismatch,
    /// The body's `prev_hash` or `seq` does not continue the tenant's previous event.
    ChainLinkMismatch,
    /// The body's server fields disagree with the frame header, or are malformed.
    FieldMismatch(String),
}

impl FaultKind {
    /// The API's `broken_reason` for it.
    pub fn reason(&self) -> &'static str {
        match self {
            FaultKind::Unreadable(_) | FaultKind::HashMismatch | FaultKind::FieldMismatch(_) => {
                LinkFault::HashMismatch.as_str()
            }
            FaultKind::ChainLinkMismatch => LinkFault::ChainLinkMismatch.as_str(),
        }
    }
}

/// One damaged or tampered event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyFault {
    /// Its LSN.
    pub lsn: Lsn,
    /// Its segment and frame offset.
    pub segment: SegmentId,
    /// Byte offset of the frame.
    pub offset: u64,
    /// Event id, when the frame is readable.
    pub id: Option<uuid::Uuid>,
    /// Tenant, when readable.
    pub tenant: Option<String>,
    /// Seq, when readable.
    pub seq: Option<Seq>,
    /// What is wrong.
    pub kind: FaultKind,
}

/// The outcome of verifying the log.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// Faults, in LSN order.
    pub faults: Vec<VerifyFault>,
    /// Time taken.
    pub elapsed: Duration,
}

/// A tenant's events inside one chunk: the first one's link (checked when stitching)
/// and the last one's hash (what the next chunk links to).
struct TenantSpan {
    /// The first event, as a fault to report if its link is broken.
    first: VerifyFault,
    first_prev: [u8; 32],
    last_seq: Seq,
    last_hash: [u8; 32],
}

#[derive(Default)]
struct ChunkOutcome {
    events: u64,
    faults: Vec<VerifyFault>,
    tenants: HashMap<String, TenantSpan>,
}

impl Engine {
    /// Verifies every event with LSN in `range` (clamped to the log).
    pub fn verify(&self, range: Range<Lsn>) -> VerifyReport {
        let started = Instant::now();
        let end = range.end.min(Lsn(self.stats().visible_lsn.0 + 1));
        let start = range.start.max(Lsn(1));
        let chunks: Vec<Range<Lsn>> = (start.0..end.0)
            .step_by(VERIFY_CHUNK_EVENTS as usize)
            .map(|a| Lsn(a)..Lsn((a + VERIFY_CHUNK_EVENTS).min(end.0)))
            .collect();
        let outcomes: Vec<ChunkOutcome> = chunks
            .into_par_iter()
            .map(|r| self.verify_chunk(r))
            .collect();
        let mut report = VerifyReport::default();
        let mut heads: HashMap<String, (Seq, [u8; 32])> = HashMap::new();
        for outcome in outcomes {
            report.events += outcome.events;
            report.faults.extend(outcome.faults);
            for (tenant, span) in outcome.tenants {
                let seq = span.first.seq.unwrap_or_default();
                let linked = match heads.get(&tenant) {
                    Some((s, h)) => seq.0 == s.0 + 1 && span.first_prev == *h,
                    // The range may start mid-chain: the first event seen links to what
                    // came before the range, which the caller checks if it cares.
                    None => start.0 > 1 || (seq == Seq(1) && span.first_prev == GENESIS_HASH),
                };
                if !linked {
                    report.faults.push(span.first);
                }
                heads.insert(tenant, (span.last_seq, span.last_hash));
            }
        }
        report.faults.sort_by_key(|f| f.lsn);
        report.elapsed = started.elapsed();
        report
    }

    fn verify_chunk(&self, range: Range<Lsn>) -> ChunkOutcome {
        let mut out = ChunkOutcome::default();
        let mut expected = range.start;
        self.visit(range, ScanDirection::Forward, |item| {
            out.events += 1;
            match item {
                Ok(ev) => {
                    expected = Lsn(ev.lsn.0 + 1);
                    check_event(&ev, &mut out);
                }
                Err(e) => {
                    let (segment, offset, lsn) = match &e {
                        EngineError::Corrupt {
                            segment,
                            offset,
                            lsn,
                            ..
                        } => (*segment, *offset, lsn.unwrap_or(expected)),
                        _ => (SegmentId(0), 0, expected),
                    };
                    expected = Lsn(lsn.0 + 1);
                    let kind = FaultKind::Unreadable(e.to_string());
                    let id = self.indexed_id(lsn);
                    out.faults.push(VerifyFault {
                        lsn,
                        segment,
                        offset,
                        id,
                        tenant: None,
                        seq: None,
                        kind,
                    });
                }
            }
            ControlFlow::<()>::Continue(())
        });
        out
    }
}

fn check_event(ev: &EventRef<'_>, out: &mut ChunkOutcome) {
    let fault = |kind| VerifyFault {
        lsn: ev.lsn,
        segment: ev.segment,
        offset: ev.offset,
        id: Some(ev.id),
        tenant: Some(ev.tenant.to_owned()),
        seq: Some(ev.seq),
        kind,
    };
    if ev.check_hash().is_err() {
        out.faults.push(fault(FaultKind::HashMismatch));
    }
    let prev = match body_link(ev) {
        Ok(prev) => prev,
        Err(why) => {
            out.faults.push(fault(FaultKind::FieldMismatch(why)));
            return;
        }
    };
    match out.tenants.get_mut(ev.tenant) {
        Some(span) => {
            if ev.seq.0 != span.last_seq.0 + 1 || prev != span.last_hash {
                out.faults.push(fault(FaultKind::ChainLinkMismatch));
            }
            span.last_seq = ev.seq;
            span.last_hash = ev.hash;
        }
        None => {
            let span = TenantSpan {
                first: fault(FaultKind::ChainLinkMismatch),
                first_prev: prev,
                last_seq: ev.seq,
                last_hash: ev.hash,
            };
            out.tenants.insert(ev.tenant.to_owned(), span);
        }
    }
}

/// Reads the body's server fields, checks them against the frame header and returns
/// the claimed `prev_hash`.
fn body_link(ev: &EventRef<'_>) -> Result<[u8; 32], String> {
    let f = crate::event::server_fields(ev.body).map_err(|e| format!("body unreadable: {e}"))?;
    if f.seq != ev.seq.0 {
        return Err(format!("body seq {} but frame seq {}", f.seq, ev.seq));
    }
    if f.tenant_id != ev.tenant {
        return Err(format!(
            "body tenant {:?} but frame tenant {:?}",
            f.tenant_id, ev.tenant
        ));
    }
    let mut id = uuid::Uuid::encode_buffer();
    if f.id.as_bytes() != ev.id.hyphenated().encode_lower(&mut id).as_bytes() {
        return Err(format!("body id {} but frame id {}", f.id, ev.id));
    }
    let mut created = [0u8; crate::time::RFC3339_US_BYTES];
    crate::time::write_rfc3339_us(ev.created_at_us, &mut created);
    if f.created_at.as_bytes() != created {
        return Err(format!(
            "body created_at {} but frame time {}",
            f.created_at, ev.created_at_us
        ));
    }
    crate::chain::decode_hash_hex(f.prev_hash.as_bytes())
        .ok_or_else(|| format!("prev_hash {:?} is not 64 lowercase hex digits", f.prev_hash))
}
