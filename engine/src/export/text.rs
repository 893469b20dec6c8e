//! Small text rules the encoders share: shortening to a character limit, the severity
//! scales, and times.

use std::borrow::Cow;

use crate::time::write_rfc3339_us;

/// What replaces the end of a value cut to a format's length limit, so the cut shows.
pub const CUT_MARK: char = '…';

/// `text` shortened to at most `chars_max` characters (Unicode scalar values): when it
/// is longer, its first `chars_max - 1` characters and [`CUT_MARK`]. Never splits a
/// character.
pub fn cut_chars(text: &str, chars_max: usize) -> Cow<'_, str> {
    // Byte length bounds the character count: most values need no count at all.
    if text.len() <= chars_max {
        return Cow::Borrowed(text);
    }
    match text.char_indices().nth(chars_max) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let keep = text
                .char_indices()
                .nth(chars_max.saturating_sub(1))
                .map_or(text.len(), |(at, _)| at);
            let mut s = String::with_capacity(keep + CUT_MARK.len_utf8());
            s.push_str(&text[..keep]);
            s.push(CUT_MARK);
            Cow::Owned(s)
        }
    }
}

/// The longest prefix of `bytes` that is at most `bytes_max` long and ends on a
/// character boundary (`bytes` is UTF-8).
pub fn cut_bytes_at_char(bytes: &[u8], bytes_max: usize) -> &[u8] {
    if bytes.len() <= bytes_max {
        return bytes;
    }
    let mut end = bytes_max;
    // A UTF-8 continuation byte is 0b10xx_xxxx: step back to a character's start.
    while end > 0 && bytes[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    &bytes[..end]
}

/// The event's severity on the 0–10 scale of CEF.
pub fn severity_cef(severity: &str) -> u8 {
    match severity {
        "debug" => 0,
        "info" => 1,
        "low" => 3,
        "medium" => 5,
        "high" => 8,
        "critical" => 10,
        _ => 1,
    }
}

/// The event's severity on the 1–10 scale of LEEF's `sev`.
pub fn severity_leef(severity: &str) -> u8 {
    severity_cef(severity).max(1)
}

/// The event's severity as an RFC 5424 severity (0 emergency … 7 debug).
pub fn severity_syslog(severity: &str) -> u8 {
    match severity {
        "critical" => 2,
        "high" => 3,
        "medium" => 4,
        "low" => 5,
        "debug" => 7,
        _ => 6,
    }
}

/// `created_at`'s text for microseconds since the epoch.
pub fn rfc3339_us(us: i64, out: &mut Vec<u8>) {
    let mut buf = [0u8; crate::time::RFC3339_US_BYTES];
    write_rfc3339_us(us, &mut buf);
    out.extend_from_slice(&buf);
}

/// Whether `text` is a plain decimal number (`-?[0-9]+(\.[0-9]+)?`).
pub fn is_plain_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(int) && frac.is_none_or(all_digits)
}
