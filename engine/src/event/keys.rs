//! Duplicate object keys (RFC 8785 and I-JSON require unique keys), found when each
//! object closes: pairwise for small objects, a stack hash table up to 64 members,
//! sorting beyond.

use std::borrow::Cow;

use super::json::Value;

/// Index (within `members`) of a key seen before, if any.
pub(crate) fn find_duplicate(members: &[(Cow<'_, str>, Value<'_>)]) -> Option<usize> {
    let n = members.len();
    if n <= 8 {
        return (1..n).find(|&j| members[..j].iter().any(|m| m.0 == members[j].0));
    }
    if n <= 64 {
        // Open addressing over a stack table: slot holds index + 1.
        let mut table = [0u8; 128];
        for (j, (key, _)) in members.iter().enumerate() {
            let mut h = key_hash(key.as_bytes()) & 127;
            loop {
                match table[h] {
                    0 => {
                        table[h] = j as u8 + 1;
                        break;
                    }
                    t if members[usize::from(t) - 1].0 == *key => return Some(j),
                    _ => h = (h + 1) & 127,
                }
            }
        }
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| members[a].0.cmp(&members[b].0).then(a.cmp(&b)));
    order
        .windows(2)
        .find(|w| members[w[0]].0 == members[w[1]].0)
        .map(|w| w[1])
}

fn key_hash(key: &[u8]) -> usize {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = key.len() as u64;
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    let tail = chunks
        .remainder()
        .iter()
        .rev()
        .fold(0u64, |w, &b| w << 8 | u64::from(b));
    h = (h.rotate_left(5) ^ tail).wrapping_mul(K);
    (h >> 40) as usize
}
