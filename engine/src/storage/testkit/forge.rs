//! Test support: rewrite a closed data directory the way an attacker with write access
//! to its files would, so tamper tests exercise real bytes in real segment files.
//!
//! [`Forger::load`] decodes every segment of `<data_dir>/wal` into events; the tests
//! edit, delete, swap or truncate them, optionally recompute hashes and re-chain a
//! tenant's later events; [`Forger::save`] re-encodes every segment with valid frame
//! CRCs, segment headers and seals (counts and BLAKE3 digests), and removes the index
//! files (open rebuilds them), i.e. a forgery that every framing check accepts. Only
//! the hashes, links, Merkle state and signed checkpoints can tell.

use std::io;
use std::path::{Path, PathBuf};

use crate::frame::{self, Decoded, EventHeader, Record, SealRecord};
use crate::segment::{SegmentHeader, SEGMENT_HEADER_BYTES};
use crate::types::{Lsn, SegmentId, Seq};

/// One stored event, decoded, editable.
#[derive(Debug, Clone)]
pub struct ForgedEvent {
    /// Frame flags.
    pub flags: u8,
    /// LSN.
    pub lsn: Lsn,
    /// The frame's durable-LSN claim.
    pub durable_lsn: Lsn,
    /// Tenant seq (frame header).
    pub seq: Seq,
    /// Frame header time.
    pub created_at_us: i64,
    /// Event id.
    pub id: [u8; 16],
    /// The hash stored in the frame (kept as is unless [`ForgedEvent::rehash`]).
    pub hash: [u8; 32],
    /// Tenant.
    pub tenant: String,
    /// The canonical body.
    pub body: Vec<u8>,
}

impl ForgedEvent {
    /// Replaces the first occurrence of `from` in the body by `to` (same length, so
    /// nothing else moves); panics if absent (a test bug).
    pub fn replace(&mut self, from: &[u8], to: &[u8]) {
        assert_eq!(from.len(), to.len(), "same-length edits only");
        let at = self
            .body
            .windows(from.len())
            .position(|w| w == from)
            .unwrap_or_else(|| panic!("{:?} not in the body", String::from_utf8_lossy(from)));
        self.body[at..at + to.len()].copy_from_slice(to);
    }

    /// Changes the string value of top-level `key` by one byte (the case of its first
    /// letter): a same-length edit of what the event says.
    pub fn alter_value(&mut self, key: &str) {
        let pattern = format!("\"{key}\":\"");
        let at = self
            .body
            .windows(pattern.len())
            .rposition(|w| w == pattern.as_bytes())
            .unwrap_or_else(|| panic!("no string {key} in the body"))
            + pattern.len();
        let k = self.body[at..]
            .iter()
            .position(u8::is_ascii_alphabetic)
            .unwrap_or_else(|| panic!("{key} has no letter"));
        self.body[at + k] ^= 0x20;
    }

    /// Stores the hash of the (edited) body, as a careful forger would.
    pub fn rehash(&mut self) {
        self.hash = crate::chain::body_hash(&self.body);
    }

    /// Sets the body's `prev_hash` (the top-level one: the last occurrence, since keys
    /// are sorted and no nested object follows it).
    pub fn set_prev_hash(&mut self, prev: &[u8; 32]) {
        const KEY: &[u8] = b"\"prev_hash\":\"";
        let at = self
            .body
            .windows(KEY.len())
            .rposition(|w| w == KEY)
            .unwrap_or_else(|| panic!("no prev_hash in the body"))
            + KEY.len();
        self.body[at..at + 64].copy_from_slice(hex::encode(prev).as_bytes());
    }
}

#[derive(Debug)]
struct ForgedSegment {
    path: PathBuf,
    header: SegmentHeader,
    events: Vec<ForgedEvent>,
    sealed: bool,
    file_len: usize,
}

/// A data directory's log, decoded for forging.
#[derive(Debug)]
pub struct Forger {
    wal: PathBuf,
    segments: Vec<ForgedSegment>,
}

fn bad(path: &Path, why: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {why}", path.display()),
    )
}

impl Forger {
    /// Decodes every segment under `<data_dir>/wal` (the engine must be closed).
    pub fn load(data_dir: &Path) -> io::Result<Forger> {
        let wal = data_dir.join("wal");
        let mut names: Vec<(SegmentId, PathBuf)> = std::fs::read_dir(&wal)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let id = crate::segment::parse_segment_name(&name)?;
                Some((id, e.path()))
            })
            .collect();
        names.sort();
        let mut segments = Vec::new();
        for (_, path) in names {
            let bytes = std::fs::read(&path)?;
            let header =
                SegmentHeader::decode(&bytes, &path).map_err(|e| bad(&path, e.to_string()))?;
            let mut events = Vec::new();
            let mut sealed = false;
            let mut at = SEGMENT_HEADER_BYTES;
            loop {
                match frame::decode(&bytes, at) {
                    Decoded::Frame(Record::Event(ev), next) => {
                        events.push(ForgedEvent {
                            flags: ev.flags,
                            lsn: ev.lsn,
                            durable_lsn: ev.durable_lsn,
                            seq: ev.seq,
                            created_at_us: ev.created_at_us,
                            id: ev.id,
                            hash: ev.hash,
                            tenant: ev.tenant.to_owned(),
                            body: ev.body.to_vec(),
                        });
                        at = next;
                    }
                    Decoded::Frame(Record::Seal(_), _) => {
                        sealed = true;
                        break;
                    }
                    Decoded::End => break,
                    Decoded::Bad(f) => return Err(bad(&path, format!("byte {at}: {}", f.why()))),
                }
            }
            segments.push(ForgedSegment {
                path,
                header,
                events,
                sealed,
                file_len: bytes.len(),
            });
        }
        Ok(Forger { wal, segments })
    }

    /// Every event, in log order.
    pub fn events(&self) -> impl Iterator<Item = &ForgedEvent> {
        self.segments.iter().flat_map(|s| s.events.iter())
    }

    /// The event at `lsn`.
    pub fn event_mut(&mut self, lsn: Lsn) -> &mut ForgedEvent {
        self.segments
            .iter_mut()
            .flat_map(|s| s.events.iter_mut())
            .find(|e| e.lsn == lsn)
            .unwrap_or_else(|| panic!("no event at lsn {lsn}"))
    }

    /// Removes the event at `lsn`; later LSNs move down by one so the log has no gap
    /// (a forger hiding the deletion from the framing checks).
    pub fn delete(&mut self, lsn: Lsn) -> ForgedEvent {
        let mut removed = None;
        for s in &mut self.segments {
            if let Some(k) = s.events.iter().position(|e| e.lsn == lsn) {
                removed = Some(s.events.remove(k));
            }
        }
        let removed = removed.unwrap_or_else(|| panic!("no event at lsn {lsn}"));
        if removed.flags & frame::FLAG_REQUEST_END != 0 {
            self.end_request_before(lsn);
        }
        self.renumber();
        removed
    }

    /// Swaps the positions of the events at `a` and `b` (their LSNs stay in place).
    pub fn swap(&mut self, a: Lsn, b: Lsn) {
        let ea = self.event_mut(a).clone();
        let eb = self.event_mut(b).clone();
        *self.event_mut(a) = ForgedEvent { lsn: a, ..eb };
        *self.event_mut(b) = ForgedEvent { lsn: b, ..ea };
    }

    /// Drops every event after `lsn` (and the segments left empty at the end).
    pub fn truncate_after(&mut self, lsn: Lsn) {
        for s in &mut self.segments {
            s.events.retain(|e| e.lsn <= lsn);
        }
        self.end_request_before(Lsn(lsn.0 + 1));
        while self.segments.len() > 1 && self.segments.last().is_some_and(|s| s.events.is_empty()) {
            if let Some(s) = self.segments.pop() {
                let _ = std::fs::remove_file(&s.path);
            }
        }
        if let Some(last) = self.segments.last_mut() {
            last.sealed = false;
        }
    }

    /// Re-chains `tenant` after the event at `from`: every later event of the tenant
    /// gets `prev_hash` = the previous event's stored hash and a recomputed hash (a
    /// consistent rewrite of the chain's suffix by whoever controls the server).
    pub fn rechain_after(&mut self, tenant: &str, from: Lsn) {
        let mut prev = self.event_mut(from).hash;
        for s in &mut self.segments {
            for e in s
                .events
                .iter_mut()
                .filter(|e| e.tenant == tenant && e.lsn > from)
            {
                e.set_prev_hash(&prev);
                e.rehash();
                prev = e.hash;
            }
        }
    }

    /// Marks the last event before `lsn` as the end of its request, so recovery keeps
    /// the shortened request whole instead of cutting it as unfinished.
    fn end_request_before(&mut self, lsn: Lsn) {
        if let Some(e) = self
            .segments
            .iter_mut()
            .flat_map(|s| s.events.iter_mut())
            .rev()
            .find(|e| e.lsn < lsn)
        {
            e.flags |= frame::FLAG_REQUEST_END;
        }
    }

    fn renumber(&mut self) {
        let mut lsn = self.segments.first().map_or(1, |s| s.header.first_lsn.0);
        for s in &mut self.segments {
            s.header.first_lsn = Lsn(lsn);
            for e in &mut s.events {
                e.lsn = Lsn(lsn);
                e.durable_lsn = Lsn(e.durable_lsn.0.min(lsn.saturating_sub(1)));
                lsn += 1;
            }
        }
    }

    /// Writes every segment back, framed and sealed validly, and removes the index
    /// files so open rebuilds them from the forged frames.
    pub fn save(self) -> io::Result<()> {
        for s in &self.segments {
            let mut out = Vec::with_capacity(s.file_len);
            out.extend_from_slice(&s.header.encode());
            let (mut min, mut max) = (i64::MAX, i64::MIN);
            for e in &s.events {
                let start = out.len();
                let header = EventHeader {
                    flags: e.flags,
                    lsn: e.lsn,
                    durable_lsn: e.durable_lsn,
                    seq: e.seq,
                    created_at_us: e.created_at_us,
                    id: e.id,
                };
                frame::encode_event(&mut out, &header, &e.tenant, |b| {
                    b.extend_from_slice(&e.body)
                });
                frame::set_stored_hash(&mut out[start..], &e.hash);
                min = min.min(e.created_at_us);
                max = max.max(e.created_at_us);
            }
            if s.sealed {
                let first = s.header.first_lsn;
                let count = s.events.len() as u64;
                let seal = SealRecord {
                    first_lsn: first,
                    last_lsn: Lsn(first.0 + count.saturating_sub(1)),
                    record_count: count,
                    created_min_us: min,
                    created_max_us: max,
                    digest: *blake3::hash(&out).as_bytes(),
                };
                frame::encode_seal(&mut out, &seal);
            } else if out.len() < s.file_len {
                out.resize(s.file_len, 0);
            }
            std::fs::write(&s.path, &out)?;
        }
        for entry in std::fs::read_dir(&self.wal)? {
            let path = entry?.path();
            if path.extension().is_some_and(|x| x == "idx") {
                std::fs::remove_file(path)?;
            }
        }
        Ok(())
    }
}
