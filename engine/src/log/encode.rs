//! Encoding append requests into frames, in parallel across tenants.
//!
//! A tenant's chain is sequential (each body holds its predecessor's hash), but chains
//! of different tenants are independent. The sequencer assigns every request its LSN
//! range, `created_at` and seed in queue order (cheap), then encodes each tenant's
//! requests, in order, as one task; the tasks run on all cores; their buffers are
//! written in request order, so frames stay in LSN order.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::append::{Appended, Request};
use crate::chain::ChainHead;
use crate::event::ServerFields;
use crate::frame::{self, EventHeader, FLAG_REQUEST_END, FRAME_HEADER_BYTES, RECORD_HEADER_BYTES};
use crate::index::MemRec;
use crate::types::{Lsn, Seq, TenantId};

/// Events below which a group is encoded on the sequencer's own thread (spreading a
/// small group over threads costs more than it saves).
const PARALLEL_EVENTS_MIN: usize = 2_048;

/// One request with everything assigned in queue order.
pub(crate) struct Job {
    /// Position in the group (requests are written in this order).
    pub index: usize,
    pub req: Request,
    pub first_lsn: Lsn,
    pub created_at_us: i64,
    pub seed: u64,
}

/// One encoded request: its frames (offsets relative to `buf`), its acknowledgements.
pub(crate) struct Encoded {
    pub job: Job,
    pub buf: Vec<u8>,
    pub entries: Vec<MemRec>,
    pub acks: Vec<Appended>,
}

/// Encodes the jobs of a group, returning them in group order and each tenant's head
/// after its last request.
pub(crate) fn encode_group(
    jobs: Vec<Job>,
    heads: &dyn Fn(&TenantId) -> ChainHead,
    durable_lsn: Lsn,
) -> (Vec<Encoded>, Vec<(TenantId, ChainHead)>) {
    let events: usize = jobs.iter().map(|j| j.req.events.len()).sum();
    let mut chains: Vec<(TenantId, ChainHead, Vec<Job>)> = Vec::new();
    for job in jobs {
        match chains.iter_mut().find(|(t, _, _)| *t == job.req.tenant) {
            Some((_, _, list)) => list.push(job),
            None => chains.push((job.req.tenant.clone(), heads(&job.req.tenant), vec![job])),
        }
    }
    let encode = |(tenant, head, list): (TenantId, ChainHead, Vec<Job>)| {
        let mut head = head;
        let done: Vec<Encoded> = list
            .into_iter()
            .map(|job| encode_request(job, &mut head, durable_lsn))
            .collect();
        (tenant, head, done)
    };
    let results: Vec<(TenantId, ChainHead, Vec<Encoded>)> =
        if chains.len() > 1 && events >= PARALLEL_EVENTS_MIN {
            chains.into_par_iter().map(encode).collect()
        } else {
            chains.into_iter().map(encode).collect()
        };
    let mut heads_after = Vec::with_capacity(results.len());
    let mut encoded = Vec::new();
    for (tenant, head, done) in results {
        heads_after.push((tenant, head));
        encoded.extend(done);
    }
    encoded.sort_unstable_by_key(|e| e.job.index);
    (encoded, heads_after)
}

/// Encodes one request after `head`; the last frame carries `FLAG_REQUEST_END`.
fn encode_request(job: Job, head: &mut ChainHead, durable_lsn: Lsn) -> Encoded {
    let mut rng = ChaCha8Rng::seed_from_u64(job.seed);
    let events = &job.req.events;
    let mut buf = Vec::with_capacity(
        job.req.bytes + events.len() * (FRAME_HEADER_BYTES + RECORD_HEADER_BYTES + 192),
    );
    let mut entries = Vec::with_capacity(events.len());
    let mut acks = Vec::with_capacity(events.len());
    let created = job.created_at_us;
    let tenant = job.req.tenant.as_str();
    let last = events.len().saturating_sub(1);
    for (i, event) in events.iter().enumerate() {
        let lsn = Lsn(job.first_lsn.0 + i as u64);
        let seq = Seq(head.seq.0 + 1);
        let id = match (i, &event.id_tag) {
            (0, Some(tag)) => tagged_id(tag, created),
            _ => new_id(&mut rng, created),
        };
        let offset = buf.len();
        let header = EventHeader {
            flags: if i == last { FLAG_REQUEST_END } else { 0 },
            lsn,
            durable_lsn,
            seq,
            created_at_us: created,
            id: *id.as_bytes(),
        };
        let server = ServerFields {
            created_at_us: created,
            id,
            prev_hash: &head.hash,
            seq: seq.0,
            tenant,
        };
        let hash = frame::encode_event(&mut buf, &header, tenant, |out| {
            event.write_body(&server, out)
        });
        let len = (buf.len() - offset) as u32;
        entries.push(MemRec {
            offset: offset as u32,
            len,
            created_at_us: created,
            seq,
            id: header.id,
            hash,
        });
        acks.push(Appended {
            lsn,
            seq,
            id,
            created_at_us: created,
            hash,
        });
        *head = ChainHead {
            seq,
            hash,
            created_at_us: created,
        };
    }
    Encoded {
        job,
        buf,
        entries,
        acks,
    }
}

/// A UUIDv7 whose millisecond timestamp is `created_at_us`'s: look-up by id finds the
/// segment through the time range.
fn new_id(rng: &mut ChaCha8Rng, created_us: i64) -> uuid::Uuid {
    let mut random = [0u8; 10];
    rng.fill_bytes(&mut random);
    crate::idtag::untag(&mut random);
    uuid::Builder::from_unix_timestamp_millis(id_ms(created_us), &random).into_uuid()
}

/// The id of a request's first event when the request carries a tag
/// ([`crate::idtag`]).
fn tagged_id(tag: &crate::idtag::IdTag, created_us: i64) -> uuid::Uuid {
    uuid::Builder::from_unix_timestamp_millis(id_ms(created_us), &tag.random_bytes()).into_uuid()
}

fn id_ms(created_us: i64) -> u64 {
    u64::try_from(created_us.div_euclid(1000)).unwrap_or(0)
}
