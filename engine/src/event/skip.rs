//! Finding the end of a nested array or object in a stored body, eight bytes at a time.
//!
//! Most of a nested value is short strings, and a byte loop that stops at every quote
//! pays a mispredicted branch per string. Here each 8-byte word yields exact masks of
//! its quotes and brackets; a prefix XOR over the quote bits tells which bytes are
//! inside a string, so a word with no bracket outside a string costs a few dozen
//! branch-free operations. Words holding a backslash (escapes are rare in events) and
//! the last few bytes go through a plain byte-by-byte state machine.

const ONES: u64 = 0x0101_0101_0101_0101;
const LOWS: u64 = 0x7F7F_7F7F_7F7F_7F7F;
const HIGHS: u64 = 0x8080_8080_8080_8080;
const CASE: u64 = 0x2020_2020_2020_2020;

/// Deepest nesting followed (one bit of `kinds` per level).
const DEPTH_MAX: u32 = 64;

/// High bit set in exactly the bytes of `w` equal to `byte` (no borrow artefacts).
#[inline(always)]
fn eq_exact(w: u64, byte: u8) -> u64 {
    let x = w ^ (ONES * u64::from(byte));
    !(((x & LOWS) + LOWS) | x) & HIGHS
}

/// Why a container could not be skipped: byte offset and reason.
pub(crate) type SkipError = (usize, &'static str);

/// Open containers: a bit stack of kinds (1 = object) and its depth.
struct Stack {
    kinds: u64,
    depth: u32,
}

impl Stack {
    /// Applies bracket `c` at `at`; `Ok(true)` when the outermost container closed.
    #[inline]
    fn bracket(&mut self, c: u8, at: usize) -> Result<bool, SkipError> {
        if c == b'{' || c == b'[' {
            if self.depth == DEPTH_MAX {
                return Err((at, "nested too deeply"));
            }
            self.kinds = self.kinds << 1 | u64::from(c == b'{');
            self.depth += 1;
            return Ok(false);
        }
        if self.depth == 0 || (self.kinds & 1 == 1) != (c == b'}') {
            return Err((at, "mismatched bracket"));
        }
        self.kinds >>= 1;
        self.depth -= 1;
        Ok(self.depth == 0)
    }
}

/// Position just after the array or object whose opening bracket is at `start`.
pub(crate) fn container_end(b: &[u8], start: usize) -> Result<usize, SkipError> {
    let mut stack = Stack { kinds: 0, depth: 0 };
    let mut in_string = false;
    let mut i = start;
    loop {
        // Fast path: whole words without backslashes.
        while let Some(chunk) = b.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word);
            if eq_exact(w, b'\\') != 0 {
                break;
            }
            let mut inside = eq_exact(w, b'"');
            inside ^= inside << 8;
            inside ^= inside << 16;
            inside ^= inside << 32;
            if in_string {
                inside ^= HIGHS;
            }
            in_string = inside >> 63 == 1;
            let brackets = eq_exact(w | CASE, b'{') | eq_exact(w | CASE, b'}');
            let mut outside = brackets & !inside;
            while outside != 0 {
                let at = i + (outside.trailing_zeros() / 8) as usize;
                if stack.bracket(b[at], at)? {
                    return Ok(at + 1);
                }
                outside &= outside - 1;
            }
            i += 8;
        }
        // Slow path: bytes up to the next word boundary that is not inside an escape.
        let stop = (i + 8).min(b.len());
        let mut escaped = false;
        while i < stop || escaped {
            let Some(&c) = b.get(i) else {
                return Err((b.len(), "unterminated array or object"));
            };
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == b'\\' {
                    escaped = true;
                } else if c == b'"' {
                    in_string = false;
                }
            } else if c == b'"' {
                in_string = true;
            } else if matches!(c, b'{' | b'[' | b'}' | b']') && stack.bracket(c, i)? {
                return Ok(i + 1);
            }
            i += 1;
        }
        if i >= b.len() {
            return Err((b.len(), "unterminated array or object"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::container_end;

    /// A plain byte-at-a-time reference.
    fn reference(b: &[u8], start: usize) -> Option<usize> {
        let (mut stack, mut in_string, mut escaped) = (Vec::new(), false, false);
        for (i, &c) in b.iter().enumerate().skip(start) {
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                b'"' => in_string = true,
                b'{' | b'[' => stack.push(c),
                b'}' | b']' => {
                    let open = stack.pop()?;
                    if (open == b'{') != (c == b'}') {
                        return None;
                    }
                    if stack.is_empty() {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }

    #[test]
    fn agrees_with_a_byte_loop() {
        let samples: [&[u8]; 9] = [
            br#"{"a":1,"b":[1,2,{"c":"}]"}],"d":"\"}"}tail"#,
            br#"["\\",{"x":"\\\"]"}]"#,
            br#"{"k":"}}}}}}}}}}}}}}}}}}}}}}","l":{"m":{"n":[[[[]]]]}}}"#,
            br#"{"a":[}"#,
            br#"{"a":{]}}"#,
            br#"{"a":"unterminated}"#,
            br#"{"esc":"ab\"cdefgh\\","z":1}"#,
            br#"{}"#,
            br#"[]"#,
        ];
        for sample in samples {
            for pad in 0..9 {
                let mut b = vec![b' '; pad];
                b.extend_from_slice(sample);
                let got = container_end(&b, pad).ok();
                assert_eq!(got, reference(&b, pad), "{}", String::from_utf8_lossy(&b));
            }
        }
    }

    #[test]
    fn agrees_on_random_bytes() {
        let alphabet = b"{}[]\"\\ax";
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            let mut b = vec![b'{'];
            let mut s = seed;
            for _ in 0..len {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                b.push(alphabet[(s >> 60) as usize % alphabet.len()]);
            }
            let want = reference(&b, 0);
            let got = container_end(&b, 0).ok();
            // Depth limits aside, both must agree on where (and whether) it closes.
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&b));
        }
    }
}
