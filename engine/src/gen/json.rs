//! A small compact-JSON writer for generated events: objects with keys in a fixed order,
//! plain-form decimals (never exponent notation) and RFC 3339 timestamps.

/// A decimal `scaled / 10^places`, kept exact so that it prints in plain form and
/// compares like the Python's rounded floats.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Num {
    scaled: i64,
    places: u8,
    /// Prints with at least one fraction digit (`21.0`), as a Python float does.
    float: bool,
}

/// The largest integer every JSON reader holds exactly (2^53 − 1).
const EXACT_MAX: f64 = 9_007_199_254_740_991.0;

impl Num {
    /// `x` rounded to `places` decimals (0..=6), printed as a float.
    pub(super) fn round(x: f64, places: u8) -> Num {
        let scaled = (x * 10f64.powi(i32::from(places))).round();
        // Clamping is a no-op for every value the generator draws; it keeps a NaN or
        // an overflow from ever printing as something unreadable.
        let scaled = if scaled.is_nan() {
            0.0
        } else {
            scaled.clamp(-EXACT_MAX, EXACT_MAX)
        };
        Num {
            scaled: scaled as i64,
            places,
            float: true,
        }
    }

    /// `x` rounded to an integer, printed without a fraction.
    pub(super) fn int(x: f64) -> Num {
        Num {
            float: false,
            ..Num::round(x, 0)
        }
    }

    /// The value as a float.
    pub(super) fn get(self) -> f64 {
        self.scaled as f64 / 10f64.powi(i32::from(self.places))
    }

    /// Numeric equality (`150` equals `150.0`).
    fn same(self, other: Num) -> bool {
        let places = self.places.max(other.places);
        let widen = |n: Num| i128::from(n.scaled) * 10i128.pow(u32::from(places - n.places));
        widen(self) == widen(other)
    }

    /// Appends `-?[0-9]+(\.[0-9]+)?`.
    pub(super) fn write(self, out: &mut Vec<u8>) {
        if self.scaled < 0 {
            out.push(b'-');
        }
        let magnitude = self.scaled.unsigned_abs();
        let unit = 10u64.pow(u32::from(self.places));
        push_u64(out, magnitude / unit);
        let mut frac = magnitude % unit;
        let mut digits = usize::from(self.places);
        while digits > 0 && frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        if digits > 0 {
            out.push(b'.');
            push_padded(out, frac, digits);
        } else if self.float {
            out.extend_from_slice(b".0");
        }
    }
}

/// A value inside `old_values` / `new_values`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Val {
    Str(&'static str),
    Num(Num),
    Bool(bool),
    /// `prefix` then `bytes` random bytes in hex (the low bytes of `bits`).
    Hex {
        prefix: &'static str,
        bits: u64,
        bytes: u8,
    },
    /// A UUID, hyphenated.
    Uuid([u8; 16]),
    List(&'static [&'static str]),
}

impl Val {
    /// The Python's `!=` on the values the generator produces.
    pub(super) fn same(&self, other: &Val) -> bool {
        match (self, other) {
            (Val::Str(a), Val::Str(b)) => a == b,
            (Val::Num(a), Val::Num(b)) => a.same(*b),
            (Val::Bool(a), Val::Bool(b)) => a == b,
            _ => false, // hex ids, UUIDs and lists never appear in old values
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match *self {
            Val::Str(s) => push_str(out, s),
            Val::Num(n) => n.write(out),
            Val::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            Val::Hex {
                prefix,
                bits,
                bytes,
            } => {
                out.push(b'"');
                out.extend_from_slice(prefix.as_bytes());
                push_hex(out, bits, bytes);
                out.push(b'"');
            }
            Val::Uuid(bytes) => push_uuid(out, bytes),
            Val::List(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    push_str(out, item);
                }
                out.push(b']');
            }
        }
    }
}

/// Writes an object field by field; keys are static and need no escaping.
#[derive(Debug)]
pub(super) struct Obj<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Obj<'a> {
    pub(super) fn begin(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, empty: true }
    }

    /// Writes `"key":` and hands out the buffer for the value.
    pub(super) fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub(super) fn str(&mut self, key: &str, value: &str) {
        push_str(self.key(key), value);
    }

    pub(super) fn num(&mut self, key: &str, value: Num) {
        value.write(self.key(key));
    }

    /// A string of `prefix` and the low `bytes` bytes of `bits` in hex.
    pub(super) fn hex(&mut self, key: &str, prefix: &'static str, bits: u64, bytes: u8) {
        Val::Hex {
            prefix,
            bits,
            bytes,
        }
        .write(self.key(key));
    }

    /// An array of strings.
    pub(super) fn strs<'s>(&mut self, key: &str, items: impl Iterator<Item = &'s str>) {
        let out = self.key(key);
        out.push(b'[');
        for (i, item) in items.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_str(out, item);
        }
        out.push(b']');
    }

    /// A nested object of `fields`, in order.
    pub(super) fn fields(&mut self, key: &str, fields: &[(&'static str, Val)]) {
        let mut inner = Obj::begin(self.key(key));
        for (k, v) in fields {
            v.write(inner.key(k));
        }
        inner.end();
    }

    pub(super) fn end(self) {
        self.out.push(b'}');
    }
}

/// Appends a JSON string, escaping what JSON requires.
pub(super) fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    // A branch-free scan (it vectorises); generated strings never need escapes.
    let plain = s
        .bytes()
        .fold(true, |ok, b| ok & (b >= 0x20) & (b != b'"') & (b != b'\\'));
    if plain {
        out.extend_from_slice(s.as_bytes());
    } else {
        for b in s.bytes() {
            match b {
                b'"' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                0..0x20 => {
                    out.extend_from_slice(b"\\u00");
                    push_hex(out, u64::from(b), 1);
                }
                _ => out.push(b),
            }
        }
    }
    out.push(b'"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the low `bytes` bytes of `bits` as lower-case hex, most significant first.
pub(super) fn push_hex(out: &mut Vec<u8>, bits: u64, bytes: u8) {
    for i in (0..u32::from(bytes) * 2).rev() {
        out.push(HEX[((bits >> (i * 4)) & 0xf) as usize]);
    }
}

/// Appends a quoted, hyphenated, lower-case UUID.
pub(super) fn push_uuid(out: &mut Vec<u8>, bytes: [u8; 16]) {
    let mut buf = [0; uuid::fmt::Hyphenated::LENGTH];
    let text = uuid::Uuid::from_bytes(bytes)
        .hyphenated()
        .encode_lower(&mut buf);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// Appends `n` in decimal.
pub(super) fn push_u64(out: &mut Vec<u8>, n: u64) {
    push_padded(out, n, 1);
}

/// Appends `n` in decimal, zero-padded to `width` (at most 20) digits.
fn push_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut at = buf.len();
    let mut n = n;
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let start = at.min(buf.len().saturating_sub(width));
    out.extend_from_slice(&buf[start..]);
}

/// Appends a quoted RFC 3339 UTC time with 6 fraction digits:
/// `"2025-01-01T00:00:00.000000Z"`.
pub(super) fn push_timestamp(out: &mut Vec<u8>, unix_us: i64) {
    let secs = unix_us.div_euclid(1_000_000);
    let micros = unix_us.rem_euclid(1_000_000) as u64;
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400) as u64;
    out.push(b'"');
    push_padded(out, year.max(0) as u64, 4);
    for (sep, n) in [(b'-', month), (b'-', day), (b'T', of_day / 3600)] {
        out.push(sep);
        push_padded(out, n, 2);
    }
    for (sep, n) in [(b':', of_day / 60 % 60), (b':', of_day % 60)] {
        out.push(sep);
        push_padded(out, n, 2);
    }
    out.push(b'.');
    push_padded(out, micros, 6);
    out.extend_from_slice(b"Z\"");
}

/// (year, month, day) of a day number counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
