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
use rustc_hash::FxHashMap;

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
    tenants: FxHashMap<String, TenantSpan>,
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
        let _scan = self.begin_scan();
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
            heads: FxHashMap::default(),
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
    heads: FxHashMap<String, (Seq, [u8; 32])>,
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
/// the claimed `prev_hash`. Each is compared, as JSON text, with the frame header's
/// value written the way sealog writes it: equal bytes also prove the body's value
/// well-formed, so no field is parsed on its own. (The frame's tenant is a checked
/// `[A-Za-z0-9_-]` name, so its quoted form has no escapes.)
pub(crate) fn body_link(ev: &EventRef<'_>) -> Result<[u8; 32], String> {
    let f =
        crate::event::raw_server_fields(ev.body).map_err(|e| format!("body unreadable: {e}"))?;
    let text = |raw: &[u8]| String::from_utf8_lossy(raw).into_owned();
    let quoted = |raw: &[u8], inner: &[u8]| {
        raw.len() == inner.len() + 2
            && raw[0] == b'"'
            && raw[raw.len() - 1] == b'"'
            && &raw[1..raw.len() - 1] == inner
    };
    // The header's tenant was checked when the frame was decoded; its seq was not, and
    // the text comparison below accepts any seq the body states the same way.
    if ev.seq.0 == 0 || ev.seq.0 > crate::event::jcs::SAFE_INTEGER_MAX {
        return Err(format!(
            "seq {} is outside 1..=2^53 - 1, the seqs an event can have",
            ev.seq
        ));
    }
    if f.seq != itoa::Buffer::new().format(ev.seq.0).as_bytes() {
        return Err(format!("body seq {} but frame seq {}", text(f.seq), ev.seq));
    }
    if !quoted(f.tenant_id, ev.tenant.as_bytes()) {
        return Err(format!(
            "body tenant {} but frame tenant {:?}",
            text(f.tenant_id),
            ev.tenant
        ));
    }
    let mut id = uuid::Uuid::encode_buffer();
    if !quoted(f.id, ev.id.hyphenated().encode_lower(&mut id).as_bytes()) {
        return Err(format!("body id {} but frame id {}", text(f.id), ev.id));
    }
    let mut created = [0u8; crate::time::RFC3339_US_BYTES];
    crate::time::write_rfc3339_us(ev.created_at_us, &mut created);
    if !quoted(f.created_at, &created) {
        return Err(format!(
            "body created_at {} but frame time {}",
            text(f.created_at),
            ev.created_at_us
        ));
    }
    let hex = match f.prev_hash {
        [b'"', inner @ .., b'"'] => Some(inner),
        _ => None,
    };
    hex.and_then(crate::chain::decode_hash_hex).ok_or_else(|| {
        format!(
            "prev_hash {} is not 64 lowercase hex digits",
            text(f.prev_hash)
        )
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::body_link;
    use crate::event::{prepare_event, server_fields, ServerFields};
    use crate::log::EventRef;
    use crate::types::Seq;

    const PREV: [u8; 32] = [0x3c; 32];
    const AT_US: i64 = 1_795_300_782_123_456;
    const ID: u128 = 0x0193_0000_0000_7000_8000_0000_0000_00ab;

    fn stored_body(seq: u64, tenant: &str) -> Vec<u8> {
        let p = prepare_event(
            br#"{"event_type":"order.placed","user_id":"u1","new_values":{"seq":7,"prev_hash":"x","id":"y"},"tags":["a"]}"#,
        )
        .expect("valid event");
        let mut body = Vec::new();
        let server = ServerFields {
            created_at_us: AT_US,
            id: uuid::Uuid::from_u128(ID),
            prev_hash: &PREV,
            seq,
            tenant,
        };
        p.write_body(&server, &mut body);
        body
    }

    /// The rule body_link replaced: parse and check each field's form, then compare.
    fn parsed_link(ev: &EventRef<'_>) -> Option<[u8; 32]> {
        let f = server_fields(ev.body).ok()?;
        let mut id = uuid::Uuid::encode_buffer();
        let mut created = [0u8; crate::time::RFC3339_US_BYTES];
        crate::time::write_rfc3339_us(ev.created_at_us, &mut created);
        let same = f.seq == ev.seq.0
            && f.tenant_id == ev.tenant
            && f.id.as_bytes() == ev.id.hyphenated().encode_lower(&mut id).as_bytes()
            && f.created_at.as_bytes() == created;
        same.then(|| crate::chain::decode_hash_hex(f.prev_hash.as_bytes()))
            .flatten()
    }

    #[test]
    fn an_intact_body_links_to_its_prev_hash() {
        let body = stored_body(12, "acme-1");
        let id = uuid::Uuid::from_u128(ID);
        let ev = EventRef::for_test(Seq(12), AT_US, id, "acme-1", &body);
        assert_eq!(body_link(&ev), Ok(PREV));
        for (ev, names) in [
            (
                EventRef::for_test(Seq(13), AT_US, id, "acme-1", &body),
                "seq",
            ),
            (
                EventRef::for_test(Seq(12), AT_US + 1, id, "acme-1", &body),
                "created_at",
            ),
            (
                EventRef::for_test(
                    Seq(12),
                    AT_US,
                    uuid::Uuid::from_u128(ID + 1),
                    "acme-1",
                    &body,
                ),
                "id",
            ),
            (
                EventRef::for_test(Seq(12), AT_US, id, "acme-2", &body),
                "tenant",
            ),
        ] {
            let why = body_link(&ev).expect_err(names);
            assert!(why.contains(names), "{why}");
        }
    }

    /// The members body_link reads.
    const FIELDS: &[&str] = &["created_at", "id", "prev_hash", "seq", "tenant_id"];

    /// Bytes that change a field's form or value, or the body's structure.
    const EDITS: &[u8] = b"\"\\{}[],:0123456789abcdefABCDEF-.TZ x";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// Comparing the raw JSON text with the header's values accepts exactly what
        /// parsing each field and comparing accepted, with the same prev_hash.
        #[test]
        fn comparing_text_agrees_with_parsing_each_field(
            seq in prop::sample::select(vec![1u64, 9, 10, 99, 12_345, 9_007_199_254_740_991]),
            header_seq_delta in prop::sample::select(vec![0i64, 0, 0, 1, -1]),
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(EDITS)), 0..3),
            focus in prop::option::of((prop::sample::select(FIELDS), any::<bool>(), -2i64..=2)),
        ) {
            let mut body = stored_body(seq, "t_9-x");
            // Most cases edit at the start or end of one server field's value (most of
            // the body is other members, which neither rule reads); the rest anywhere.
            let text = String::from_utf8_lossy(&body).into_owned();
            let span = match focus {
                Some((field, at_end, delta)) => {
                    // The top-level member (the event also has these keys nested).
                    let f = server_fields(&body).expect("intact body");
                    let value = match field {
                        "created_at" => format!("\"{}\"", f.created_at),
                        "id" => format!("\"{}\"", f.id),
                        "prev_hash" => format!("\"{}\"", f.prev_hash),
                        "seq" => f.seq.to_string(),
                        _ => format!("\"{}\"", f.tenant_id),
                    };
                    let member = format!("\"{field}\":{value}");
                    let key = text.find(&member).expect("member present");
                    let value = key + field.len() + 3;
                    let end = key + member.len();
                    let at = if at_end { end } else { value };
                    let at = at.saturating_add_signed(delta as isize).min(body.len());
                    at..at + 1
                }
                None => 0..body.len(),
            };
            for (at, op, byte) in edits {
                let i = span.start + at.index(span.len().max(1));
                match op {
                    0 if i < body.len() => body[i] = byte,
                    1 if i <= body.len() => body.insert(i, byte),
                    _ if i < body.len() => { body.remove(i); }
                    _ => {}
                }
            }
            let header_seq = seq.checked_add_signed(header_seq_delta).unwrap_or(seq);
            let ev = EventRef::for_test(Seq(header_seq), AT_US, uuid::Uuid::from_u128(ID), "t_9-x", &body);
            prop_assert_eq!(body_link(&ev).ok(), parsed_link(&ev), "{}", String::from_utf8_lossy(&body));
        }
    }
}
