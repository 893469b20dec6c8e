//! Reads: by LSN, by id, by (tenant, seq). Scans are in `scan.rs`.
//!
//! Every read decodes the frame (length, CRC, record header) and checks that it is the
//! record the index promised; single-event reads also recompute the SHA-256 of the body.
//! A damaged event is an error naming segment, offset and LSN, never bytes served as if
//! valid. Bodies are zero-copy: slices of the mmap (sealed) or of the written buffers
//! (active).

use std::ops::Range;

use bytes::Bytes;

use super::engine::Engine;
use super::view::{Fetched, LogView};
use crate::error::{EngineError, Result};
use crate::frame::{self, Decoded, Record};
use crate::index::RecLoc;
use crate::types::{Lsn, SegmentId, Seq, TenantId};

/// One stored event, borrowed from the bytes it was read from (scans hand these out
/// without touching any shared counter).
#[derive(Debug, Clone, Copy)]
pub struct EventRef<'a> {
    /// The segment that holds it.
    pub segment: SegmentId,
    /// Byte offset of its frame in the segment file.
    pub offset: u64,
    /// Position in the log.
    pub lsn: Lsn,
    /// The tenant's seq.
    pub seq: Seq,
    /// Server receive time.
    pub created_at_us: i64,
    /// Event id.
    pub id: uuid::Uuid,
    /// The stored hash.
    pub hash: [u8; 32],
    /// Tenant name.
    pub tenant: &'a str,
    /// The canonical body (the hash input).
    pub body: &'a [u8],
    frame: &'a [u8],
}

impl<'a> EventRef<'a> {
    /// An event with `body` and these header fields, framed by nothing (tests of what
    /// reads do with bodies).
    #[cfg(test)]
    pub(crate) fn for_test(
        seq: Seq,
        created_at_us: i64,
        id: uuid::Uuid,
        tenant: &'a str,
        body: &'a [u8],
    ) -> Self {
        EventRef {
            segment: SegmentId(1),
            offset: 0,
            lsn: Lsn(1),
            seq,
            created_at_us,
            id,
            hash: crate::chain::body_hash(body),
            tenant,
            body,
            frame: &[],
        }
    }
}

impl EventRef<'_> {
    /// Whether this is the last event of its append request (one request's events have
    /// consecutive LSNs and one `created_at`).
    pub fn ends_request(&self) -> bool {
        self.frame
            .get(frame::FRAME_HEADER_BYTES + 1)
            .is_some_and(|flags| flags & frame::FLAG_REQUEST_END != 0)
    }

    /// Recomputes the body's SHA-256 and compares it with the stored hash.
    pub fn check_hash(&self) -> Result<()> {
        if crate::chain::body_hash(self.body) == self.hash {
            Ok(())
        } else {
            Err(EngineError::HashMismatch {
                id: self.id,
                lsn: self.lsn,
                segment: self.segment,
                offset: self.offset,
            })
        }
    }

    /// Byte offset of the body inside the segment file.
    pub fn body_offset(&self) -> u64 {
        self.offset + (self.body.as_ptr() as usize - self.frame.as_ptr() as usize) as u64
    }
}

/// One stored event, owning (a zero-copy share of) its bytes.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// The segment that holds it.
    pub segment: SegmentId,
    /// Byte offset of its frame in the segment file.
    pub offset: u64,
    /// Position in the log.
    pub lsn: Lsn,
    /// The tenant's seq.
    pub seq: Seq,
    /// Server receive time.
    pub created_at_us: i64,
    /// Event id.
    pub id: uuid::Uuid,
    /// The stored hash.
    pub hash: [u8; 32],
    frame: Bytes,
    tenant: Range<usize>,
    body: Range<usize>,
}

impl StoredEvent {
    /// An owned copy of a borrowed event; `shared` holds the bytes `ev` borrows from
    /// (a zero-copy share, no byte is copied).
    pub(crate) fn from_ref(ev: &EventRef<'_>, shared: &Bytes) -> StoredEvent {
        let base = shared.as_ptr() as usize;
        let at = |p: *const u8| p as usize - base;
        let frame_at = at(ev.frame.as_ptr());
        let frame = shared.slice(frame_at..frame_at + ev.frame.len());
        let tenant =
            at(ev.tenant.as_ptr()) - frame_at..at(ev.tenant.as_ptr()) - frame_at + ev.tenant.len();
        let body = at(ev.body.as_ptr()) - frame_at..at(ev.body.as_ptr()) - frame_at + ev.body.len();
        StoredEvent {
            segment: ev.segment,
            offset: ev.offset,
            lsn: ev.lsn,
            seq: ev.seq,
            created_at_us: ev.created_at_us,
            id: ev.id,
            hash: ev.hash,
            frame,
            tenant,
            body,
        }
    }

    /// A borrowed view of this event.
    pub fn as_ref(&self) -> EventRef<'_> {
        EventRef {
            segment: self.segment,
            offset: self.offset,
            lsn: self.lsn,
            seq: self.seq,
            created_at_us: self.created_at_us,
            id: self.id,
            hash: self.hash,
            tenant: self.tenant(),
            body: self.body(),
            frame: &self.frame,
        }
    }

    /// Tenant name.
    pub fn tenant(&self) -> &str {
        // Checked to be a valid (ASCII) tenant name when decoded.
        std::str::from_utf8(&self.frame[self.tenant.clone()]).unwrap_or("")
    }

    /// The canonical body (the hash input).
    pub fn body(&self) -> &[u8] {
        &self.frame[self.body.clone()]
    }

    /// Byte offset of the body inside the segment file.
    pub fn body_offset(&self) -> u64 {
        self.offset + self.body.start as u64
    }

    /// The body as shared bytes (zero-copy).
    pub fn body_bytes(&self) -> Bytes {
        self.frame.slice(self.body.clone())
    }

    /// Whether this is the last event of its append request.
    pub fn ends_request(&self) -> bool {
        self.as_ref().ends_request()
    }

    /// Recomputes the body's SHA-256 and compares it with the stored hash.
    pub fn check_hash(&self) -> Result<()> {
        if crate::chain::body_hash(self.body()) == self.hash {
            Ok(())
        } else {
            Err(EngineError::HashMismatch {
                id: self.id,
                lsn: self.lsn,
                segment: self.segment,
                offset: self.offset,
            })
        }
    }
}

/// Decodes a frame and checks it is the event with `lsn` at `loc`.
pub(crate) fn decode_frame<'a>(
    segment: SegmentId,
    loc: &RecLoc,
    lsn: Lsn,
    frame: Option<&'a [u8]>,
) -> Result<EventRef<'a>> {
    let corrupt = |why| EngineError::Corrupt {
        segment,
        offset: loc.offset,
        lsn: Some(lsn),
        why,
    };
    if loc.len == 0 {
        return Err(corrupt("the event was lost to damage found at open"));
    }
    let frame = frame.ok_or_else(|| corrupt("index points outside the segment"))?;
    let ev = match frame::decode(frame, 0) {
        Decoded::Frame(Record::Event(ev), end) if end == frame.len() => ev,
        Decoded::Bad(fault) => return Err(corrupt(fault.why())),
        _ => {
            return Err(corrupt(
                "index points at something that is not one event frame",
            ))
        }
    };
    if ev.lsn != lsn {
        return Err(corrupt("frame holds another LSN than its index entry"));
    }
    Ok(EventRef {
        segment,
        offset: loc.offset,
        lsn,
        seq: ev.seq,
        created_at_us: ev.created_at_us,
        id: uuid::Uuid::from_bytes(ev.id),
        hash: ev.hash,
        tenant: ev.tenant,
        body: ev.body,
        frame,
    })
}

/// Reads record `rec` of segment `i`, hash-checked.
fn read_record(view: &LogView, i: usize, rec: u64) -> Result<StoredEvent> {
    let seg = &view.segments[i];
    let fetched = seg.fetch(rec..rec + 1);
    let lsn = Lsn(fetched.first_lsn.0 + rec);
    let Some(loc) = fetched.locs.first() else {
        let why = "index entry missing";
        return Err(EngineError::Corrupt {
            segment: seg.id(),
            offset: 0,
            lsn: Some(lsn),
            why,
        });
    };
    let owned = fetched.owned(loc, lsn)?;
    owned.check_hash()?;
    Ok(owned)
}

impl Fetched {
    /// The event at `loc` as an owned [`StoredEvent`].
    pub(crate) fn owned(&self, loc: &RecLoc, lsn: Lsn) -> Result<StoredEvent> {
        let (frame, shared) = match self.frame(loc) {
            Some((f, s)) => (Some(f), Some(s)),
            None => (None, None),
        };
        let ev = decode_frame(self.segment, loc, lsn, frame)?;
        // `shared` is Some whenever `frame` was.
        Ok(StoredEvent::from_ref(&ev, shared.unwrap_or(&Bytes::new())))
    }
}

impl Engine {
    /// The event at `lsn`, hash-checked. `Ok(None)` if there is no such LSN (yet).
    pub fn get_by_lsn(&self, lsn: Lsn) -> Result<Option<StoredEvent>> {
        let view = self.shared().snapshot();
        let Some(i) = view.segment_of_lsn(lsn) else {
            return Ok(None);
        };
        read_record(&view, i, lsn.0 - view.segments[i].first_lsn().0).map(Some)
    }

    /// The event with this id, hash-checked. The id's UUIDv7 timestamp picks the
    /// segments to search (sealog makes it equal created_at's millisecond).
    pub fn get_by_id(&self, id: &uuid::Uuid) -> Result<Option<StoredEvent>> {
        let Some((secs, nanos)) = id.get_timestamp().map(|t| t.to_unix()) else {
            return Ok(None);
        };
        let ms = (secs as i64).saturating_mul(1000) + nanos as i64 / 1_000_000;
        let view = self.shared().snapshot();
        let (from, to) = (
            ms.saturating_mul(1000),
            ms.saturating_mul(1000).saturating_add(999),
        );
        for i in view.segments_in_time(from, to) {
            if let Some(rec) = view.segments[i].with_index(|ix| ix.find_id(id.as_bytes())) {
                let ev = read_record(&view, i, rec)?;
                if ev.id != *id {
                    let why = "id index points at another event";
                    return Err(EngineError::Corrupt {
                        segment: ev.segment,
                        offset: ev.offset,
                        lsn: Some(ev.lsn),
                        why,
                    });
                }
                return Ok(Some(ev));
            }
        }
        Ok(None)
    }

    /// The tenant's event with this seq, hash-checked.
    pub fn get_by_seq(&self, tenant: &TenantId, seq: Seq) -> Result<Option<StoredEvent>> {
        let view = self.shared().snapshot();
        for i in (0..view.segments.len()).rev() {
            let found = view.segments[i].with_index(|ix| {
                let run = ix.tenant_run(tenant.as_str())?;
                (seq >= run.first_seq).then(|| ix.find_seq(tenant.as_str(), seq))
            });
            match found {
                Some(Some(rec)) => return read_record(&view, i, rec).map(Some),
                Some(None) => return Ok(None),
                None => continue,
            }
        }
        Ok(None)
    }

    /// The id the index records for `lsn`, without reading the event (to name a damaged
    /// event whose frame cannot be trusted).
    pub fn indexed_id(&self, lsn: Lsn) -> Option<uuid::Uuid> {
        let view = self.shared().snapshot();
        let i = view.segment_of_lsn(lsn)?;
        let id = view.segments[i].with_index(|ix| ix.id_of(lsn.0 - ix.first_lsn().0))?;
        (id != [0; 16]).then(|| uuid::Uuid::from_bytes(id))
    }
}
