//! Tagged event ids: a caller-chosen mark carried in the random bits of a UUIDv7.
//!
//! An append request may carry an [`IdTag`] (the server derives one from a client's
//! `Idempotency-Key`). The first event of that request then gets an id whose random
//! bits *are* the tag, so the log itself records, atomically with the events, that the
//! request happened: after a crash, a scan of the log's tail finds every tagged request
//! that became durable, and nothing else is needed to answer a retry.
//!
//! UUIDv7 (RFC 9562 §5.7) leaves 74 bits to the generator: 12 of `rand_a` and 62 of
//! `rand_b`. sealog spends the low 4 bits of byte 6 (`rand_a`'s high nibble) on a
//! marker: [`TAG_MARKER`] for a tagged id and never that value for any other id (the
//! engine changes it when its random draw hits it), so "is this id tagged" is exact. The
//! other 70 bits hold the tag. A tag is derived with SHA-256, so two different keys share
//! a tag with probability ~n²/2^71 among n keys (about 4·10⁻⁶ at 10⁸ keys); a caller
//! that must tell them apart compares the stored events with the request.

use sha2::{Digest, Sha256};

/// The value of byte 6's low nibble that marks a tagged id.
pub const TAG_MARKER: u8 = 0xA;

/// Mask of the tag's 70 bits over the id's bytes 6..16: byte 6 is the version and the
/// marker (excluded), byte 7 whole, byte 8 low 6 bits (its top 2 are the variant),
/// bytes 9..16 whole.
const TAG_MASK: [u8; 10] = [0x00, 0xFF, 0x3F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

fn masked(bytes: &[u8]) -> [u8; 10] {
    let mut out = [0u8; 10];
    for ((o, b), m) in out.iter_mut().zip(bytes).zip(TAG_MASK) {
        *o = b & m;
    }
    out
}

/// 70 bits naming one append request (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdTag([u8; 10]);

impl IdTag {
    /// The tag of `parts` (SHA-256 over each part's length and bytes, so no two
    /// different lists of parts are confused).
    pub fn derive(parts: &[&[u8]]) -> IdTag {
        let mut h = Sha256::new();
        h.update(b"sealog-idtag-v1");
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        IdTag(masked(&h.finalize()[..10]))
    }

    /// The tag a tagged id carries, or `None` if the id is not tagged.
    pub fn of_id(id: &uuid::Uuid) -> Option<IdTag> {
        let b = id.as_bytes();
        (id.get_version_num() == 7 && b[6] & 0x0F == TAG_MARKER).then(|| IdTag(masked(&b[6..16])))
    }

    /// The 10 "random" bytes of a UUIDv7 that carry this tag, for
    /// `uuid::Builder::from_unix_timestamp_millis` (which overwrites the version and
    /// variant bits, none of which the tag uses).
    pub(crate) fn random_bytes(&self) -> [u8; 10] {
        let mut r = self.0;
        r[0] = TAG_MARKER;
        r
    }

    /// The tag as 10 bytes (the id's bytes 6..16 with version, marker and variant bits
    /// cleared), e.g. for a snapshot file.
    pub fn to_bytes(self) -> [u8; 10] {
        self.0
    }

    /// A tag from [`to_bytes`](Self::to_bytes)'s value (bits outside the tag dropped).
    pub fn from_bytes(bytes: [u8; 10]) -> IdTag {
        IdTag(masked(&bytes))
    }
}

/// Makes sure random id bytes do not carry the tag marker (untagged ids must never look
/// tagged).
pub(crate) fn untag(random: &mut [u8; 10]) {
    if random[0] & 0x0F == TAG_MARKER {
        random[0] ^= 0x01;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tagged_id_gives_its_tag_back_and_untagged_ids_never_do() {
        for i in 0u32..2000 {
            let tag = IdTag::derive(&[b"tenant", &i.to_le_bytes()]);
            let id = uuid::Builder::from_unix_timestamp_millis(
                1_700_000_000_000 + u64::from(i),
                &tag.random_bytes(),
            )
            .into_uuid();
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(IdTag::of_id(&id), Some(tag));
            let mut random = [0u8; 10];
            random.copy_from_slice(&tag.random_bytes());
            untag(&mut random);
            let plain = uuid::Builder::from_unix_timestamp_millis(1, &random).into_uuid();
            assert_eq!(IdTag::of_id(&plain), None);
        }
        assert_ne!(IdTag::derive(&[b"a", b"bc"]), IdTag::derive(&[b"ab", b"c"]));
    }
}
