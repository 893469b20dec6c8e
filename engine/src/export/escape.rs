//! Copying text with some bytes replaced, a run at a time: the encoders' inner loop.
//! Every byte the tables below name is ASCII, so replacing it never splits a UTF-8
//! character, and the output is valid UTF-8 whenever the input is. The C1 control
//! characters (U+0080..U+009F, two bytes `C2 80`..`C2 9F`) become one space each, as the
//! C0 ones and DEL do, whatever the table.

use crate::event::scan::{eq_mask, lt_mask};

/// What happens to one byte.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Copied as is.
    Keep,
    /// Written as `\` and itself.
    Backslash,
    /// Written as a space.
    Space,
    /// Written as `\n` (LF) or `\r` (CR).
    Named,
    /// Written as `/`.
    Slash,
}

/// A byte → action table, and the bytes other than control characters it acts on (so
/// that runs of plain text are skipped eight bytes at a time).
pub(crate) struct Table {
    actions: [Action; 256],
    /// Printable bytes with an action, padded with NUL (a control byte: found anyway).
    specials: [u8; SPECIALS_MAX],
}

/// Most printable bytes a table may act on.
const SPECIALS_MAX: usize = 2;

/// A table that keeps everything but `specials` (and makes every other control
/// character, C0 and DEL, a space; C1 is handled beside the table).
pub(crate) const fn table(specials: &[(u8, Action)]) -> Table {
    let mut actions = [Action::Keep; 256];
    let mut c = 0;
    while c < 0x20 {
        actions[c] = Action::Space;
        c += 1;
    }
    actions[0x7f] = Action::Space;
    let mut printable = [0u8; SPECIALS_MAX];
    let (mut i, mut n) = (0, 0);
    while i < specials.len() {
        let b = specials[i].0;
        actions[b as usize] = specials[i].1;
        if b >= 0x20 && b != 0x7f {
            // More than SPECIALS_MAX fails to compile (the table is a const).
            printable[n] = b;
            n += 1;
        }
        i += 1;
    }
    Table {
        actions,
        specials: printable,
    }
}

/// Whether a byte of `w` may need an action: a control character or a special.
#[inline(always)]
fn may_act(w: u64, table: &Table) -> bool {
    // The masks' lowest flag is exact, so "any flag" is exact too.
    let mut m = lt_mask(w, 0x20) | eq_mask(w, 0x7f) | eq_mask(w, C1_LEAD);
    for &s in &table.specials {
        m |= eq_mask(w, s);
    }
    m != 0
}

/// The first byte of every C1 control character in UTF-8.
const C1_LEAD: u8 = 0xC2;

/// Whether `text[i..]` starts with a C1 control character.
#[inline(always)]
pub(crate) fn is_c1(text: &[u8], i: usize) -> bool {
    text[i] == C1_LEAD && text.get(i + 1).is_some_and(|c| (0x80..=0x9F).contains(c))
}

/// Appends `text` to `out`, each byte as `table` says, each C1 control as a space.
pub(crate) fn write_escaped(text: &[u8], table: &Table, out: &mut Vec<u8>) {
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        // Skip whole words that hold nothing to act on.
        if let Some(chunk) = text.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            if !may_act(u64::from_le_bytes(word), table) {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(text.len());
        while i < end {
            if is_c1(text, i) {
                out.extend_from_slice(&text[start..i]);
                out.push(b' ');
                i += 2;
                start = i;
                continue;
            }
            let b = text[i];
            let action = table.actions[b as usize];
            if action != Action::Keep {
                out.extend_from_slice(&text[start..i]);
                start = i + 1;
                match action {
                    Action::Keep => {}
                    Action::Backslash => out.extend_from_slice(&[b'\\', b]),
                    Action::Space => out.push(b' '),
                    Action::Slash => out.push(b'/'),
                    Action::Named => {
                        out.extend_from_slice(if b == b'\n' { b"\\n" } else { b"\\r" })
                    }
                }
            }
            i += 1;
        }
    }
    out.extend_from_slice(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time rule, for comparison.
    fn reference(text: &[u8], table: &Table) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            let b = text[i];
            i += 1;
            if b == 0xC2 && text.get(i).is_some_and(|c| (0x80..=0x9F).contains(c)) {
                out.push(b' ');
                i += 1;
                continue;
            }
            match table.actions[b as usize] {
                Action::Keep => out.push(b),
                Action::Backslash => out.extend_from_slice(&[b'\\', b]),
                Action::Space => out.push(b' '),
                Action::Slash => out.push(b'/'),
                Action::Named => out.extend_from_slice(if b == b'\n' { b"\\n" } else { b"\\r" }),
            }
        }
        out
    }

    #[test]
    fn word_skipping_changes_nothing() {
        const T: Table = table(&[
            (b'\\', Action::Backslash),
            (b'=', Action::Backslash),
            (b'\n', Action::Named),
        ]);
        const U: Table = table(&[(b'|', Action::Slash)]);
        let alphabet: &[u8] = b"ab=\\\n\r\t|^\x7f\x1f \xc3\xa9~\xc2\xc2\x85\x9f\xa0";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..200 {
            for _ in 0..20 {
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        // Mostly plain letters, so that whole words are skipped.
                        if state.is_multiple_of(5) {
                            alphabet[(state >> 8) as usize % alphabet.len()]
                        } else {
                            b'a' + (state >> 16) as u8 % 26
                        }
                    })
                    .collect();
                for t in [&T, &U] {
                    let mut out = b"x".to_vec();
                    write_escaped(&text, t, &mut out);
                    assert_eq!(out[1..], reference(&text, t)[..], "{text:?}");
                }
            }
        }
    }
}
