//! Word-at-a-time (SWAR) search for the bytes that end a run of plain string text.
//!
//! JSON strings in events are short (keys, ids, codes) and memchr's per-call setup
//! costs more than the search itself there; eight bytes per step in plain `u64`
//! arithmetic is fast for short and long strings alike, without `unsafe`.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `w` equal to `byte`. Borrows may also flag bytes above
/// a true match, never below one, so the lowest flag is always exact.
#[inline(always)]
pub(crate) fn eq_mask(w: u64, byte: u8) -> u64 {
    let x = w ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// High bit set in each byte of `w` below `n` (`n` ≤ 128), with `eq_mask`'s guarantee.
#[inline(always)]
pub(crate) fn lt_mask(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS
}

/// Position of the first `"`, `\` or control character (< 0x20) in `b` at or after
/// `from`, or `b.len()` (or `from`, if larger) if there is none.
#[inline]
pub(crate) fn find_special(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let m = eq_mask(w, b'"') | eq_mask(w, b'\\') | lt_mask(w, 0x20);
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    b.len().max(from)
}

/// Position of the first `"` or `\` in `b` at or after `from`, or `b.len()` (or
/// `from`, if larger) if there is none.
#[inline]
pub(crate) fn find_quote(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let m = eq_mask(w, b'"') | eq_mask(w, b'\\');
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' {
            return i;
        }
        i += 1;
    }
    b.len().max(from)
}

/// Whether `b` holds a `"`, `\` or control character anywhere: one pass with no early
/// exit, so the usual answer (no) costs no mispredicted branch.
#[inline]
pub(crate) fn has_special(b: &[u8]) -> bool {
    let special = |w: u64| eq_mask(w, b'"') | eq_mask(w, b'\\') | lt_mask(w, 0x20);
    let mut chunks = b.chunks_exact(8);
    let mut any = 0u64;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        any |= special(u64::from_le_bytes(word));
    }
    let tail = chunks.remainder();
    let mut word = [b' '; 8];
    word[..tail.len()].copy_from_slice(tail);
    any |= special(u64::from_le_bytes(word));
    any != 0
}

#[cfg(test)]
mod tests {
    use super::{find_quote, find_special, has_special};

    #[test]
    fn finds_the_first_special_byte_at_every_position() {
        for len in 0..40 {
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    let mut b: Vec<u8> = (0..len)
                        .map(|i| b"az09 ~\x7f\xc3\xa9\xff"[i % 10])
                        .collect();
                    b[at] = special;
                    if at + 1 < len {
                        b[at + 1] = b'"';
                    }
                    assert_eq!(find_special(&b, 0), at, "{b:?}");
                    assert!(has_special(&b));
                    if special >= 0x20 {
                        assert_eq!(find_quote(&b, 0), at, "{b:?}");
                    }
                    assert_eq!(
                        find_special(&b, at + 1),
                        if at + 1 < len { at + 1 } else { len }
                    );
                }
            }
            let plain = vec![b'x'; len];
            assert_eq!(find_special(&plain, 0), len);
            assert!(!has_special(&plain));
        }
        assert_eq!(find_special(b"ab", 5), 5);
    }
}
