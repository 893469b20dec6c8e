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
use crate::types::{Lsn, SegmentId, Seq, TenantId};

/// Events verified per parallel work unit.
const VERIFY_CHUNK_EVENTS: u64 = 8_192;

/// Work units verified at once per thread before their outcomes are stitched (and
/// their Merkle leaves handed on, while the next batch is verified): bounds what is
/// held to about this × threads × [`VERIFY_CHUNK_EVENTS`] × 40 bytes of leaves.
const VERIFY_BATCH_CHUNKS_PER_THREAD: usize = 16;

/// Receives a tenant's Merkle leaf hashes (RFC 9162: SHA-256(0x00 ‖ event hash)) in log
/// order, one per readable event of the tenant, with the event's seq.
pub type LeafSink<'a> = &'a mut (dyn FnMut(Seq, &[u8; 32]) + Send);

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
    /// Per tenant, the first event's link when the range starts mid-chain (checked by
    /// [`Engine::verify_tenant`]; empty in what it returns).
    first_links: HashMap<String, FirstLink>,
}

#[derive(Debug, Clone)]
struct FirstLink {
    seq: Seq,
    prev: [u8; 32],
    fault: VerifyFault,
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
    /// With [`Scope::leaves`]: each readable event's seq and Merkle leaf hash.
    leaves: Vec<(Seq, [u8; 32])>,
}

/// What one verification covers.
#[derive(Debug, Clone)]
struct Scope<'a> {
    range: Range<Lsn>,
    /// Only this tenant's events (others are skipped before hashing).
    tenant: Option<&'a str>,
    /// Check chain links, not only hashes.
    links: bool,
    /// Compute each event's Merkle leaf hash (for a [`LeafSink`]).
    leaves: bool,
}

impl Engine {
    /// Verifies every event with LSN in `range` (clamped to the log).
    pub fn verify(&self, range: Range<Lsn>) -> VerifyReport {
        self.verify_scope(
            Scope {
                range,
                tenant: None,
                links: true,
                leaves: false,
            },
            None,
        )
    }

    /// Verifies one tenant's events with seq in `first..=last`: every hash, and with
    /// `links` every link, including the first event's link to the one before it (so
    /// a deletion at the range's edge is caught). The index only says where to start
    /// reading; what is checked comes from the stored frames and bodies.
    pub fn verify_tenant(
        &self,
        tenant: &TenantId,
        first: Seq,
        last: Seq,
        links: bool,
    ) -> VerifyReport {
        self.verify_tenant_leaves(tenant, first, last, links, None)
    }

    /// [`Engine::verify_tenant`], also handing each readable event's Merkle leaf hash
    /// to `leaves`, in log order, from the same read of the stored frames (the leaves
    /// are hashed on all cores; `leaves` runs on one, alongside the next batch's
    /// verification).
    pub fn verify_tenant_leaves(
        &self,
        tenant: &TenantId,
        first: Seq,
        last: Seq,
        links: bool,
        leaves: Option<LeafSink<'_>>,
    ) -> VerifyReport {
        if first > last || first.0 == 0 {
            return VerifyReport::default();
        }
        let visible = self.stats().visible_lsn;
        let start = self
            .locate_seq(tenant, first)
            .map_or(Lsn(1), |(lsn, _)| lsn);
        let end = self
            .locate_seq(tenant, last)
            .map_or(Lsn(visible.0 + 1), |(lsn, _)| Lsn(lsn.0 + 1));
        let mut report = self.verify_scope(
            Scope {
                range: start..end,
                tenant: Some(tenant.as_str()),
                links,
                leaves: leaves.is_some(),
            },
            leaves,
        );
        if links && first.0 > 1 {
            // The link into the range: the first event must follow seq first-1's hash.
            if let Some(f) = report.first_links.remove(tenant.as_str()) {
                let prev = self
                    .locate_seq(tenant, Seq(f.seq.0 - 1))
                    .and_then(|(lsn, _)| {
                        let mut hash = None;
                        self.visit(lsn..Lsn(lsn.0 + 1), ScanDirection::Forward, |item| {
                            if let Ok(ev) = item {
                                if ev.tenant == tenant.as_str() && ev.seq.0 + 1 == f.seq.0 {
                                    hash = Some(ev.hash);
                                }
                            }
                            ControlFlow::<()>::Break(())
                        });
                        hash
                    });
                if prev != Some(f.prev) {
                    report.faults.push(f.fault);
                }
            }
        }
        report.first_links.clear();
        report
            .faults
            .retain(|f| f.seq.is_none_or(|s| s >= first && s <= last));
        report.faults.sort_by_key(|f| (f.seq, f.lsn));
        report.faults.dedup_by_key(|f| f.lsn);
        report
    }

    /// Where the tenant's event of `seq` is and its `created_at_us`, from the index
    /// alone (to plan a read; never to judge integrity).
    pub fn locate_seq(&self, tenant: &TenantId, seq: Seq) -> Option<(Lsn, i64)> {
        let view = self.shared().snapshot();
        for i in (0..view.segments.len()).rev() {
            let found = view.segments[i].with_index(|ix| {
                let run = ix.tenant_run(tenant.as_str())?;
                if seq < run.first_seq {
                    return None;
                }
                Some(ix.find_seq(tenant.as_str(), seq).and_then(|rec| {
                    let loc = ix.rec(rec)?;
                    Some((Lsn(ix.first_lsn().0 + rec), loc.created_at_us))
                }))
            });
            if let Some(found) = found {
                return found;
            }
        }
        None
    }

    /// The tenant's seqs whose `created_at_us` is in `[from_us, to_us)` (either bound
    /// open when `None`), as `first..=last`; `None` when there are none. A binary search
    /// over the index (created_at never decreases along a tenant's seq).
    pub fn seqs_in_time(
        &self,
        tenant: &TenantId,
        from_us: Option<i64>,
        to_us: Option<i64>,
    ) -> Option<(Seq, Seq)> {
        let head = self.chain_head(tenant).seq.0;
        if head == 0 {
            return None;
        }
        let time = |seq: u64| self.locate_seq(tenant, Seq(seq)).map(|(_, t)| t);
        // First seq in 1..=head+1 whose time is >= t (a damaged slot counts as later).
        let lower_bound = |t: i64| {
            let (mut lo, mut hi) = (1u64, head + 1);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if time(mid).is_some_and(|x| x < t) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        let first = from_us.map_or(1, lower_bound);
        let end = to_us.map_or(head + 1, lower_bound);
        (first < end).then(|| (Seq(first), Seq(end - 1)))
    }

    fn verify_scope(&self, scope: Scope<'_>, leaves: Option<LeafSink<'_>>) -> VerifyReport {
        let started = Instant::now();
        let range = scope.range.clone();
        let end = range.end.min(Lsn(self.stats().visible_lsn.0 + 1));
        let start = range.start.max(Lsn(1));
        let chunks: Vec<Range<Lsn>> = (start.0..end.0)
            .step_by(VERIFY_CHUNK_EVENTS as usize)
            .map(|a| Lsn(a)..Lsn((a + VERIFY_CHUNK_EVENTS).min(end.0)))
            .collect();
        let batch = VERIFY_BATCH_CHUNKS_PER_THREAD * rayon::current_num_threads().max(1);
        let mut stitch = Stitch {
            report: VerifyReport::default(),
            heads: HashMap::new(),
            start,
            links: scope.links,
            leaves,
        };
        // Batch k is verified on all cores while batch k-1 is stitched and its leaves
        // handed on (in log order, on one core).
        let mut previous: Vec<ChunkOutcome> = Vec::new();
        for group in chunks.chunks(batch) {
            let done = std::mem::take(&mut previous);
            let (_, outcomes) = rayon::join(
                || stitch.add(done),
                || {
                    group
                        .par_iter()
                        .map(|r| self.verify_chunk(r.clone(), &scope))
                        .collect::<Vec<_>>()
                },
            );
            previous = outcomes;
        }
        stitch.add(previous);
        let mut report = stitch.report;
        report.faults.sort_by_key(|f| f.lsn);
        report.elapsed = started.elapsed();
        report
    }

    fn verify_chunk(&self, range: Range<Lsn>, scope: &Scope<'_>) -> ChunkOutcome {
        let mut out = ChunkOutcome::default();
        let mut expected = range.start;
        self.visit(range, ScanDirection::Forward, |item| {
            match item {
                Ok(ev) => {
                    expected = Lsn(ev.lsn.0 + 1);
                    if scope.tenant.is_none_or(|t| t == ev.tenant) {
                        out.events += 1;
                        check_event(&ev, &mut out, scope.links);
                        if scope.leaves {
                            out.leaves
                                .push((ev.seq, crate::merkle::tree::leaf_hash(&ev.hash)));
                        }
                    }
                }
                // Whose event a damaged frame held is unknown: a tenant's verification
                // skips it, and the break it leaves in that tenant's chain is reported
                // on the tenant's next event.
                Err(_) if scope.tenant.is_some() => {
                    expected = Lsn(expected.0 + 1);
                }
                Err(e) => {
                    out.events += 1;
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

/// Joins chunk outcomes in log order: checks each tenant's link across chunks.
struct Stitch<'a> {
    report: VerifyReport,
    /// Per tenant, the last seq and hash seen so far.
    heads: HashMap<String, (Seq, [u8; 32])>,
    start: Lsn,
    links: bool,
    leaves: Option<LeafSink<'a>>,
}

impl Stitch<'_> {
    fn add(&mut self, outcomes: Vec<ChunkOutcome>) {
        let report = &mut self.report;
        for outcome in outcomes {
            report.events += outcome.events;
            report.faults.extend(outcome.faults);
            if let Some(sink) = self.leaves.as_deref_mut() {
                for (seq, leaf) in &outcome.leaves {
                    sink(*seq, leaf);
                }
            }
            for (tenant, span) in outcome.tenants {
                let seq = span.first.seq.unwrap_or_default();
                match self.heads.get(&tenant) {
                    Some((s, h)) => {
                        if self.links && !(seq.0 == s.0 + 1 && span.first_prev == *h) {
                            report.faults.push(span.first);
                        }
                    }
                    // The range may start mid-chain: the first event seen links to what
                    // came before the range; the caller checks that link if it cares.
                    None if self.start.0 > 1 && seq.0 > 1 => {
                        report.first_links.insert(
                            tenant.clone(),
                            FirstLink {
                                seq,
                                prev: span.first_prev,
                                fault: span.first,
                            },
                        );
                    }
                    None => {
                        if self.links && !(seq == Seq(1) && span.first_prev == GENESIS_HASH) {
                            report.faults.push(span.first);
                        }
                    }
                }
                self.heads.insert(tenant, (span.last_seq, span.last_hash));
            }
        }
    }
}

fn check_event(ev: &EventRef<'_>, out: &mut ChunkOutcome, links: bool) {
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
            if links && (ev.seq.0 != span.last_seq.0 + 1 || prev != span.last_hash) {
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
pub(crate) fn body_link(ev: &EventRef<'_>) -> Result<[u8; 32], String> {
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
