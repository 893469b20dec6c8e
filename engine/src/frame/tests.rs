use proptest::prelude::*;

use super::*;

fn sample(out: &mut Vec<u8>, lsn: u64, body: &[u8]) -> [u8; 32] {
    let header = EventHeader {
        flags: FLAG_REQUEST_END,
        lsn: Lsn(lsn),
        durable_lsn: Lsn(lsn.saturating_sub(3)),
        seq: Seq(lsn * 2),
        created_at_us: 1_700_000_000_000_000 + lsn as i64,
        id: [lsn as u8; 16],
    };
    encode_event(out, &header, "tenant_01", |o| o.extend_from_slice(body))
}

#[test]
fn event_frame_round_trips() {
    let mut buf = Vec::new();
    let body = br#"{"event_type":"x"}"#;
    let hash = sample(&mut buf, 7, body);
    assert_eq!(hash, crate::chain::body_hash(body));
    let Decoded::Frame(Record::Event(ev), end) = decode(&buf, 0) else {
        panic!("not a frame")
    };
    assert_eq!(end, buf.len());
    assert_eq!(ev.lsn, Lsn(7));
    assert_eq!(ev.durable_lsn, Lsn(4));
    assert_eq!(ev.seq, Seq(14));
    assert_eq!(ev.tenant, "tenant_01");
    assert_eq!(ev.body, body);
    assert_eq!(ev.hash, hash);
    assert_eq!(ev.flags, FLAG_REQUEST_END);
    assert_eq!(
        buf.len(),
        FRAME_HEADER_BYTES + RECORD_HEADER_BYTES + 9 + body.len()
    );
}

#[test]
fn seal_frame_round_trips() {
    let seal = SealRecord {
        first_lsn: Lsn(10),
        last_lsn: Lsn(99),
        record_count: 90,
        created_min_us: -5,
        created_max_us: 1 << 50,
        digest: [0xab; 32],
    };
    let mut buf = Vec::new();
    encode_seal(&mut buf, &seal);
    assert_eq!(buf.len(), SEAL_FRAME_BYTES);
    assert_eq!(
        decode(&buf, 0),
        Decoded::Frame(Record::Seal(seal), SEAL_FRAME_BYTES)
    );
}

#[test]
fn every_single_bit_flip_is_detected() {
    let mut buf = Vec::new();
    sample(&mut buf, 3, br#"{"a":1}"#);
    for byte in 0..buf.len() {
        for bit in 0..8 {
            let mut bad = buf.clone();
            bad[byte] ^= 1 << bit;
            match decode(&bad, 0) {
                Decoded::Frame(..) => panic!("flip of byte {byte} bit {bit} went unnoticed"),
                Decoded::End | Decoded::Bad(_) => {}
            }
        }
    }
}

#[test]
fn truncated_frames_are_reported_not_read_past() {
    let mut buf = Vec::new();
    sample(&mut buf, 1, b"{}");
    for cut in 1..buf.len() {
        assert!(
            matches!(decode(&buf[..cut], 0), Decoded::Bad(_)),
            "cut at {cut}"
        );
    }
}

#[test]
fn zero_length_marks_the_end() {
    assert_eq!(decode(&[0u8; 64], 0), Decoded::End);
    assert_eq!(decode(&[0u8; 3], 0), Decoded::End);
    assert_eq!(decode(&[], 0), Decoded::End);
    assert_eq!(
        decode(&[1, 0, 0, 0], 0),
        Decoded::Bad(FrameFault::Truncated)
    );
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), at in 0usize..600) {
        let _ = decode(&bytes, at);
        let _ = peek_lsn(&bytes, at);
    }

    #[test]
    fn frames_follow_each_other(bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..20)) {
        let mut buf = Vec::new();
        for (i, b) in bodies.iter().enumerate() {
            sample(&mut buf, i as u64 + 1, b);
        }
        let mut at = 0;
        for (i, b) in bodies.iter().enumerate() {
            let Decoded::Frame(Record::Event(ev), next) = decode(&buf, at) else { panic!("frame {i}") };
            prop_assert_eq!(ev.body, &b[..]);
            prop_assert_eq!(ev.lsn, Lsn(i as u64 + 1));
            at = next;
        }
        prop_assert_eq!(decode(&buf, at), Decoded::End);
    }
}
