//! Copying text with some bytes replaced, a run at a time: the encoders' inner loop.
//! Every byte the tables below name is ASCII, so replacing it never splits a UTF-8
//! character, and the output is valid UTF-8 whenever the input is.

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

/// A byte → action table.
pub(crate) type Table = [Action; 256];

/// A table that keeps everything but `specials` (and makes every other control
/// character, C0 and DEL, a space).
pub(crate) const fn table(specials: &[(u8, Action)]) -> Table {
    let mut t = [Action::Keep; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = Action::Space;
        c += 1;
    }
    t[0x7f] = Action::Space;
    let mut i = 0;
    while i < specials.len() {
        t[specials[i].0 as usize] = specials[i].1;
        i += 1;
    }
    t
}

/// Appends `text` to `out`, each byte as `table` says.
pub(crate) fn write_escaped(text: &[u8], table: &Table, out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        let action = table[b as usize];
        if action == Action::Keep {
            continue;
        }
        out.extend_from_slice(&text[start..i]);
        start = i + 1;
        match action {
            Action::Keep => {}
            Action::Backslash => out.extend_from_slice(&[b'\\', b]),
            Action::Space => out.push(b' '),
            Action::Slash => out.push(b'/'),
            Action::Named => out.extend_from_slice(if b == b'\n' { b"\\n" } else { b"\\r" }),
        }
    }
    out.extend_from_slice(&text[start..]);
}
