//! The per-tenant hash chain.
//!
//! Every event's `hash` is the SHA-256 of its canonical body (RFC 8785 JSON of the event
//! as returned, minus `hash` and the resolution overlay); the body holds `prev_hash`, the
//! hash of the tenant's previous event (64 zeros for seq 1), and `seq`. So editing,
//! deleting or reordering any event breaks a link that anyone holding an export can
//! check. docs/INTEGRITY.md works an example by hand.

use sha2::{Digest, Sha256};

use crate::types::Seq;

/// `prev_hash` of a tenant's first event.
pub const GENESIS_HASH: [u8; 32] = [0u8; 32];

/// SHA-256 of a canonical body.
pub fn body_hash(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// Parses 64 lowercase hex digits into a hash (a table look-up per digit: this runs
/// once per event in verification).
pub fn decode_hash_hex(hex: &[u8]) -> Option<[u8; 32]> {
    const fn table() -> [u8; 256] {
        let mut t = [0xff; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    }
    const DIGIT: [u8; 256] = table();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (DIGIT[pair[0] as usize], DIGIT[pair[1] as usize]);
        bad |= (hi | lo) & 0xf0;
        *o = (hi << 4) | lo;
    }
    (bad == 0).then_some(out)
}

/// The newest event of a tenant: what the next event links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// The newest seq (0 when the tenant has no events).
    pub seq: Seq,
    /// Its hash ([`GENESIS_HASH`] when the tenant has no events).
    pub hash: [u8; 32],
    /// Its `created_at_us`.
    pub created_at_us: i64,
}

impl ChainHead {
    /// The head of a tenant without events.
    pub const EMPTY: ChainHead = ChainHead {
        seq: Seq(0),
        hash: GENESIS_HASH,
        created_at_us: i64::MIN,
    };
}

/// What is wrong with one link, for verifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkFault {
    /// The body does not hash to the stored hash.
    HashMismatch,
    /// The body's `prev_hash` (or `seq`) does not continue the previous event.
    ChainLinkMismatch,
}

impl LinkFault {
    /// The API's name for it (`broken_reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkFault::HashMismatch => "hash_mismatch",
            LinkFault::ChainLinkMismatch => "chain_link_mismatch",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_hex_round_trips_and_rejects_what_is_not_lowercase_hex() {
        let h: [u8; 32] = core::array::from_fn(|i| (i * 37) as u8);
        assert_eq!(decode_hash_hex(hex::encode(h).as_bytes()), Some(h));
        assert_eq!(decode_hash_hex(hex::encode_upper(h).as_bytes()), None);
        assert_eq!(decode_hash_hex(&[b'0'; 63]), None);
        let mut bad = hex::encode(h).into_bytes();
        bad[17] = b'g';
        assert_eq!(decode_hash_hex(&bad), None);
    }
}
