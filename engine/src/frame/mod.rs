//! Record frames: how one record is laid out in a segment file, and how it is checked.
//!
//! docs/FORMAT.md is the authority; this table repeats it. All integers little-endian.
//!
//! | offset | bytes | field     | meaning                                           |
//! |-------:|------:|-----------|---------------------------------------------------|
//! |      0 |     4 | `len`     | payload length, `RECORD_HEADER_BYTES..=RECORD_BYTES_MAX` |
//! |      4 |     4 | `crc`     | CRC-32 (IEEE) over the 4 `len` bytes + the payload |
//! |      8 | `len` | `payload` | one record (below)                                |
//!
//! A zero `len` ends the data: segments are preallocated with zeros. Every payload starts
//! with a record header of [`RECORD_HEADER_BYTES`]; the `kind` byte says what follows:
//!
//! | offset | bytes | event record (kind 1)            | seal record (kind 2)            |
//! |-------:|------:|----------------------------------|---------------------------------|
//! |      0 |     1 | `kind` = 1                       | `kind` = 2                      |
//! |      1 |     1 | `flags` (bit 0: last of request) | 0                               |
//! |      2 |     1 | `tenant_len` (1..=64)            | 0                               |
//! |      3 |     1 | 0                                | 0                               |
//! |      4 |     4 | `body_len`                       | 0                               |
//! |      8 |     8 | `lsn`                            | `first_lsn`                     |
//! |     16 |     8 | `durable_lsn` (see below)        | `last_lsn`                      |
//! |     24 |     8 | `seq` (per tenant)               | `record_count`                  |
//! |     32 |     8 | `created_at_us` (i64)            | `created_min_us`                |
//! |     40 |    16 | `id` (UUIDv7)                    | `created_max_us` (i64), 8 zero bytes |
//! |     56 |    32 | `hash` (SHA-256 of the body)     | `digest`: BLAKE3 of every byte of the file before this frame |
//! |     88 |     … | tenant, then body (canonical JSON) | nothing                       |
//!
//! `durable_lsn` is the highest LSN known durable (fdatasync returned) when the frame was
//! built. Recovery uses it as proof: a valid frame claiming `durable_lsn >= L` shows that
//! the frame of LSN `L` was synced, so damage there is corruption, never a torn tail.

#[cfg(test)]
mod tests;

use crate::limits::{RECORD_BYTES_MAX, TENANT_CHARS_MAX};
use crate::types::{Lsn, Seq};

const LEN_AT: usize = 0;
const CRC_AT: usize = LEN_AT + 4;
/// Bytes before the payload: `len` + `crc`.
pub const FRAME_HEADER_BYTES: usize = CRC_AT + 4;

const KIND_AT: usize = 0;
const FLAGS_AT: usize = KIND_AT + 1;
const TENANT_LEN_AT: usize = FLAGS_AT + 1;
const PAD_AT: usize = TENANT_LEN_AT + 1;
const BODY_LEN_AT: usize = PAD_AT + 1;
const LSN_AT: usize = BODY_LEN_AT + 4;
const DURABLE_AT: usize = LSN_AT + 8;
const SEQ_AT: usize = DURABLE_AT + 8;
const CREATED_AT: usize = SEQ_AT + 8;
const ID_AT: usize = CREATED_AT + 8;
const HASH_AT: usize = ID_AT + 16;
/// Bytes of the record header at the start of every payload.
pub const RECORD_HEADER_BYTES: usize = HASH_AT + 32;

const _: () = assert!(RECORD_HEADER_BYTES == 88);

/// The smallest frame (a seal): no segment can hold more records than its size divided
/// by this, which bounds every count recovery believes.
pub const FRAME_BYTES_MIN: usize = FRAME_HEADER_BYTES + RECORD_HEADER_BYTES;

/// Record kind of an event.
pub const KIND_EVENT: u8 = 1;
/// Record kind of the seal that closes a segment.
pub const KIND_SEAL: u8 = 2;
/// Event flag: the last event of its append request. Recovery keeps requests whole.
pub const FLAG_REQUEST_END: u8 = 1;

/// One event record, borrowed from the bytes it was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRecord<'a> {
    /// Flags (`FLAG_REQUEST_END`).
    pub flags: u8,
    /// Position in the log.
    pub lsn: Lsn,
    /// Highest LSN known durable when this frame was built.
    pub durable_lsn: Lsn,
    /// The tenant's event number.
    pub seq: Seq,
    /// Server receive time, µs since the Unix epoch.
    pub created_at_us: i64,
    /// Event id (UUIDv7 bytes).
    pub id: [u8; 16],
    /// SHA-256 of `body`, as stored.
    pub hash: [u8; 32],
    /// Tenant name.
    pub tenant: &'a str,
    /// The canonical JSON body (the hash input).
    pub body: &'a [u8],
}

/// The record that seals a segment: what it holds and a digest of all its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealRecord {
    /// LSN of the first event in the segment.
    pub first_lsn: Lsn,
    /// LSN of the last event in the segment.
    pub last_lsn: Lsn,
    /// Number of event records.
    pub record_count: u64,
    /// Smallest `created_at_us`.
    pub created_min_us: i64,
    /// Largest `created_at_us`.
    pub created_max_us: i64,
    /// BLAKE3 of every byte of the segment file before the seal frame.
    pub digest: [u8; 32],
}

/// A decoded record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// An audit event.
    Event(EventRecord<'a>),
    /// The seal at the end of a segment.
    Seal(SealRecord),
}

/// Why the bytes at an offset are not a valid frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFault {
    /// Fewer bytes remain than the header or the declared length needs.
    Truncated,
    /// `len` is outside `RECORD_HEADER_BYTES..=RECORD_BYTES_MAX`.
    BadLength,
    /// The CRC does not match.
    BadCrc,
    /// The CRC matches but the record header is inconsistent (unknown kind, lengths
    /// that do not add up, a tenant name that is not legal UTF-8 `[A-Za-z0-9_-]`).
    BadRecord,
}

impl FrameFault {
    /// A short description for error messages.
    pub fn why(self) -> &'static str {
        match self {
            FrameFault::Truncated => "frame runs past the end of the data",
            FrameFault::BadLength => "frame length out of bounds",
            FrameFault::BadCrc => "frame CRC mismatch",
            FrameFault::BadRecord => "record header inconsistent",
        }
    }
}

/// What lies at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A valid frame, and the offset just past it.
    Frame(Record<'a>, usize),
    /// `len` is zero: the end of the written data (or the start of a hole).
    End,
    /// Not a valid frame.
    Bad(FrameFault),
}

/// Decodes the frame at `at`. Never reads out of bounds, never panics.
pub fn decode(buf: &[u8], at: usize) -> Decoded<'_> {
    let Some(header) = buf.get(at..).and_then(|b| b.get(..FRAME_HEADER_BYTES)) else {
        return if buf.get(at..).is_some_and(|b| b.iter().all(|&x| x == 0)) {
            Decoded::End
        } else {
            Decoded::Bad(FrameFault::Truncated)
        };
    };
    let len = read_u32(header, LEN_AT) as usize;
    if len == 0 {
        return Decoded::End;
    }
    if !(RECORD_HEADER_BYTES..=RECORD_BYTES_MAX).contains(&len) {
        return Decoded::Bad(FrameFault::BadLength);
    }
    let start = at + FRAME_HEADER_BYTES;
    let Some(payload) = buf.get(start..start + len) else {
        return Decoded::Bad(FrameFault::Truncated);
    };
    if read_u32(header, CRC_AT) != frame_crc(&header[LEN_AT..CRC_AT], payload) {
        return Decoded::Bad(FrameFault::BadCrc);
    }
    match decode_record(payload) {
        Some(record) => Decoded::Frame(record, start + len),
        None => Decoded::Bad(FrameFault::BadRecord),
    }
}

/// Reads the record header without checking the CRC: used only to pick candidate frame
/// starts when resynchronising after damage (the candidate is then fully decoded).
pub fn peek_lsn(buf: &[u8], at: usize) -> Option<(u8, Lsn)> {
    let start = at.checked_add(FRAME_HEADER_BYTES)?;
    let payload = buf.get(start..start.checked_add(RECORD_HEADER_BYTES)?)?;
    Some((payload[KIND_AT], Lsn(read_u64(payload, LSN_AT))))
}

fn decode_record(p: &[u8]) -> Option<Record<'_>> {
    match p[KIND_AT] {
        KIND_EVENT => decode_event(p).map(Record::Event),
        KIND_SEAL => decode_seal(p).map(Record::Seal),
        _ => None,
    }
}

fn decode_event(p: &[u8]) -> Option<EventRecord<'_>> {
    let tenant_len = p[TENANT_LEN_AT] as usize;
    let body_len = read_u32(p, BODY_LEN_AT) as usize;
    if p[PAD_AT] != 0
        || p[FLAGS_AT] & !FLAG_REQUEST_END != 0
        || tenant_len == 0
        || tenant_len > TENANT_CHARS_MAX
        || RECORD_HEADER_BYTES + tenant_len + body_len != p.len()
    {
        return None;
    }
    let tenant = &p[RECORD_HEADER_BYTES..RECORD_HEADER_BYTES + tenant_len];
    if !crate::types::is_valid_tenant(tenant) {
        return None;
    }
    let tenant = std::str::from_utf8(tenant).ok()?;
    Some(EventRecord {
        flags: p[FLAGS_AT],
        lsn: Lsn(read_u64(p, LSN_AT)),
        durable_lsn: Lsn(read_u64(p, DURABLE_AT)),
        seq: Seq(read_u64(p, SEQ_AT)),
        created_at_us: read_u64(p, CREATED_AT) as i64,
        id: p[ID_AT..ID_AT + 16].try_into().ok()?,
        hash: p[HASH_AT..HASH_AT + 32].try_into().ok()?,
        tenant,
        body: &p[RECORD_HEADER_BYTES + tenant_len..],
    })
}

fn decode_seal(p: &[u8]) -> Option<SealRecord> {
    if p.len() != RECORD_HEADER_BYTES
        || p[1..8].iter().any(|&b| b != 0)
        || p[48..56].iter().any(|&b| b != 0)
    {
        return None;
    }
    Some(SealRecord {
        first_lsn: Lsn(read_u64(p, LSN_AT)),
        last_lsn: Lsn(read_u64(p, DURABLE_AT)),
        record_count: read_u64(p, SEQ_AT),
        created_min_us: read_u64(p, CREATED_AT) as i64,
        created_max_us: read_u64(p, ID_AT) as i64,
        digest: p[HASH_AT..HASH_AT + 32].try_into().ok()?,
    })
}

/// Header fields of an event frame being encoded (everything but tenant and body).
#[derive(Debug, Clone, Copy)]
pub struct EventHeader {
    /// Flags.
    pub flags: u8,
    /// LSN.
    pub lsn: Lsn,
    /// Highest LSN known durable now.
    pub durable_lsn: Lsn,
    /// Tenant seq.
    pub seq: Seq,
    /// Server time.
    pub created_at_us: i64,
    /// UUIDv7 bytes.
    pub id: [u8; 16],
}

/// Encodes one event frame into `out` in place, with no copy of the body: reserves the
/// headers, appends the tenant, lets `write_body` append the body, hashes the body with
/// SHA-256, then fills in the headers and the CRC. Returns the body's hash.
///
/// Panics (a bug, never input) if the tenant is not a valid name.
pub fn encode_event(
    out: &mut Vec<u8>,
    header: &EventHeader,
    tenant: &str,
    write_body: impl FnOnce(&mut Vec<u8>),
) -> [u8; 32] {
    assert!(
        crate::types::is_valid_tenant(tenant.as_bytes()),
        "tenant validated by the caller"
    );
    let start = out.len();
    out.resize(start + FRAME_HEADER_BYTES + RECORD_HEADER_BYTES, 0);
    out.extend_from_slice(tenant.as_bytes());
    let body_start = out.len();
    write_body(out);
    let hash = crate::chain::body_hash(&out[body_start..]);
    let body_len = out.len() - body_start;
    let len = out.len() - start - FRAME_HEADER_BYTES;
    assert!(
        len <= RECORD_BYTES_MAX,
        "event bodies are bounded before they reach the writer"
    );
    let p = &mut out[start + FRAME_HEADER_BYTES..];
    p[KIND_AT] = KIND_EVENT;
    p[FLAGS_AT] = header.flags;
    p[TENANT_LEN_AT] = tenant.len() as u8;
    p[BODY_LEN_AT..BODY_LEN_AT + 4].copy_from_slice(&(body_len as u32).to_le_bytes());
    p[LSN_AT..LSN_AT + 8].copy_from_slice(&header.lsn.0.to_le_bytes());
    p[DURABLE_AT..DURABLE_AT + 8].copy_from_slice(&header.durable_lsn.0.to_le_bytes());
    p[SEQ_AT..SEQ_AT + 8].copy_from_slice(&header.seq.0.to_le_bytes());
    p[CREATED_AT..CREATED_AT + 8].copy_from_slice(&header.created_at_us.to_le_bytes());
    p[ID_AT..ID_AT + 16].copy_from_slice(&header.id);
    p[HASH_AT..HASH_AT + 32].copy_from_slice(&hash);
    finish_frame(&mut out[start..], len);
    hash
}

/// Encodes a seal frame.
pub fn encode_seal(out: &mut Vec<u8>, seal: &SealRecord) {
    let start = out.len();
    out.resize(start + FRAME_HEADER_BYTES + RECORD_HEADER_BYTES, 0);
    let p = &mut out[start + FRAME_HEADER_BYTES..];
    p[KIND_AT] = KIND_SEAL;
    p[LSN_AT..LSN_AT + 8].copy_from_slice(&seal.first_lsn.0.to_le_bytes());
    p[DURABLE_AT..DURABLE_AT + 8].copy_from_slice(&seal.last_lsn.0.to_le_bytes());
    p[SEQ_AT..SEQ_AT + 8].copy_from_slice(&seal.record_count.to_le_bytes());
    p[CREATED_AT..CREATED_AT + 8].copy_from_slice(&seal.created_min_us.to_le_bytes());
    p[ID_AT..ID_AT + 8].copy_from_slice(&seal.created_max_us.to_le_bytes());
    p[HASH_AT..HASH_AT + 32].copy_from_slice(&seal.digest);
    finish_frame(&mut out[start..], RECORD_HEADER_BYTES);
}

/// Overwrites the stored hash of the event frame at the start of `frame` and
/// recomputes its CRC: what a forger does (test support, see `storage::testkit::forge`).
pub(crate) fn set_stored_hash(frame: &mut [u8], hash: &[u8; 32]) {
    let len = read_u32(frame, LEN_AT) as usize;
    let at = FRAME_HEADER_BYTES + HASH_AT;
    frame[at..at + 32].copy_from_slice(hash);
    finish_frame(frame, len);
}

/// Bytes of a seal frame.
pub const SEAL_FRAME_BYTES: usize = FRAME_HEADER_BYTES + RECORD_HEADER_BYTES;

fn finish_frame(frame: &mut [u8], len: usize) {
    frame[LEN_AT..CRC_AT].copy_from_slice(&(len as u32).to_le_bytes());
    let crc = frame_crc(
        &frame[LEN_AT..CRC_AT],
        &frame[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + len],
    );
    frame[CRC_AT..FRAME_HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
}

fn frame_crc(len_bytes: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len_bytes);
    h.update(payload);
    h.finalize()
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}
