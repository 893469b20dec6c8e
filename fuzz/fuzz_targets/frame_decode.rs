//! `frame::decode` and `frame::peek_lsn` on arbitrary bytes, at several offsets.
//!
//! Checks: neither panics (the bounds live in `decode`); a decoded frame lies inside the
//! input and encoding it again (`encode_event` / `encode_seal`) gives back exactly its
//! bytes; `End` is only ever returned over zeros; walking frame after frame, as
//! recovery does, always moves forward.
//!
//! The custom mutator repairs the CRCs (and hashes) of half of the mutated inputs, as
//! frames from byte 0 or after a segment header, so that mutations reach the record
//! checks and the round trip (`sealog_fuzz::repair_frames`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_engine::frame::{
    self, Decoded, EventHeader, EventRecord, Record, FRAME_HEADER_BYTES, SEAL_FRAME_BYTES,
};

/// Where the SHA-256 of the body sits in an event frame (docs/FORMAT.md: payload
/// offset 56, 32 bytes), and where the frame CRC sits.
const HASH_IN_FRAME: std::ops::Range<usize> = FRAME_HEADER_BYTES + 56..FRAME_HEADER_BYTES + 88;
const CRC_IN_FRAME: std::ops::Range<usize> = 4..8;

fuzz_target!(|data: &[u8]| {
    let n = data.len();
    // The start, just past a frame header and a segment header, the middle, the last
    // bytes, the end and past it: every case of the length checks.
    for at in [
        0,
        1,
        7,
        8,
        64,
        n / 2,
        n.saturating_sub(9),
        n.saturating_sub(1),
        n,
        n + 1,
    ] {
        check_at(data, at);
    }
    // Documented never to panic, whatever the offset.
    assert!(matches!(frame::decode(data, usize::MAX), Decoded::Bad(_)));
    // Walk frame after frame like recovery does: from the start of the bytes and from
    // just after a segment header.
    for start in [0, 64] {
        let mut at = start;
        while let Decoded::Frame(_, end) = frame::decode(data, at) {
            assert!(end > at, "a frame must move the walk forward");
            check_at(data, end);
            at = end;
        }
    }
});

libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    let size = libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    match seed % 4 {
        0 => sealog_fuzz::repair_frames(&mut data[..size], 0),
        1 => sealog_fuzz::repair_segment(&mut data[..size]),
        _ => {}
    }
    size
});

fn check_at(data: &[u8], at: usize) {
    // `peek_lsn` is only ever called with offsets inside the buffer being walked (it
    // computes `at + 96` unchecked); stay within `len + 1`.
    let peeked = frame::peek_lsn(data, at);
    match frame::decode(data, at) {
        Decoded::Frame(record, end) => {
            assert!(
                at < end && end <= data.len(),
                "frame {at}..{end} outside {}",
                data.len()
            );
            let input = &data[at..end];
            match record {
                Record::Event(ev) => {
                    assert_eq!(peeked, Some((frame::KIND_EVENT, ev.lsn)));
                    check_event_round_trip(&ev, input);
                }
                Record::Seal(seal) => {
                    assert_eq!(peeked, Some((frame::KIND_SEAL, seal.first_lsn)));
                    assert_eq!(input.len(), SEAL_FRAME_BYTES);
                    let mut out = Vec::new();
                    frame::encode_seal(&mut out, &seal);
                    assert_eq!(out, input, "seal frame does not round-trip");
                }
            }
        }
        Decoded::End => {
            // Only a zero length (or a short run of zeros at the very end) ends the data.
            let rest = data.get(at..).unwrap_or(&[]);
            let len_bytes = &rest[..rest.len().min(4)];
            assert!(
                len_bytes.iter().all(|&b| b == 0),
                "End over non-zero bytes at {at}"
            );
            if rest.len() < FRAME_HEADER_BYTES {
                assert!(
                    rest.iter().all(|&b| b == 0),
                    "End over a non-zero short tail"
                );
            }
        }
        Decoded::Bad(_) => {}
    }
}

/// Encodes the decoded event again and compares it with the bytes it came from.
///
/// `decode` does not check that the stored hash is the body's SHA-256 (reads and
/// `verify` do): `encode_event` always writes the real hash. So when the stored hash
/// differs, only the hash field and the CRC over it may differ; everything else must
/// be the same bytes, and decoding the new frame must give the same record with the
/// real hash.
fn check_event_round_trip(ev: &EventRecord<'_>, input: &[u8]) {
    let header = EventHeader {
        flags: ev.flags,
        lsn: ev.lsn,
        durable_lsn: ev.durable_lsn,
        seq: ev.seq,
        created_at_us: ev.created_at_us,
        id: ev.id,
    };
    let mut out = Vec::new();
    let hash = frame::encode_event(&mut out, &header, ev.tenant, |o| {
        o.extend_from_slice(ev.body)
    });
    assert_eq!(
        out.len(),
        input.len(),
        "event frame length does not round-trip"
    );
    if hash == ev.hash {
        assert_eq!(out, input, "event frame does not round-trip");
    } else {
        for (i, (a, b)) in out.iter().zip(input).enumerate() {
            if !HASH_IN_FRAME.contains(&i) && !CRC_IN_FRAME.contains(&i) {
                assert_eq!(
                    a, b,
                    "event frame differs at byte {i} (not the hash or CRC)"
                );
            }
        }
    }
    let expected = EventRecord { hash, ..*ev };
    assert_eq!(
        frame::decode(&out, 0),
        Decoded::Frame(Record::Event(expected), out.len()),
        "a re-encoded event frame does not decode to the same record"
    );
}
