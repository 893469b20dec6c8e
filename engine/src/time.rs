//! Timestamps: microseconds since the Unix epoch (UTC), RFC 3339 in and out.
//!
//! sealog writes every time as `YYYY-MM-DDTHH:MM:SS.ffffffZ`: UTC, exactly 6 fractional
//! digits, 27 bytes. Years 0000..=9999 are representable ([`TIMESTAMP_US_MIN`] ..=
//! [`TIMESTAMP_US_MAX`]). The parser is strict RFC 3339 §5.6 `date-time` (no leap
//! seconds); fractions of 7..=9 digits are truncated to microseconds, not rounded, so a
//! parsed time never moves into the next microsecond (or day).
//! Calendar arithmetic is Howard Hinnant's `days_from_civil` / `civil_from_days`
//! (proleptic Gregorian), with no calendar crate and no allocation.

const US_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;
const US_PER_DAY: i64 = US_PER_SEC * SECS_PER_DAY;

/// `0000-01-01T00:00:00.000000Z`, the earliest time sealog formats or parses.
pub const TIMESTAMP_US_MIN: i64 = -62_167_219_200 * US_PER_SEC;
/// `9999-12-31T23:59:59.999999Z`, the latest time sealog formats or parses.
pub const TIMESTAMP_US_MAX: i64 = 253_402_300_800 * US_PER_SEC - 1;
/// Bytes of a formatted timestamp (`2026-11-21T22:39:42.123456Z`).
pub const RFC3339_US_BYTES: usize = 27;

/// Why a date or time string was refused. Positions are 1-based characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeError {
    /// A character other than the one the grammar needs (or the end of the string).
    #[error("expected {expected} at character {at}")]
    Expected {
        /// 1-based position.
        at: usize,
        /// What the grammar needs there.
        expected: &'static str,
    },
    /// Characters left after a complete date or date-time.
    #[error("unexpected characters after the time at character {at}")]
    Trailing {
        /// 1-based position of the first extra character.
        at: usize,
    },
    /// Month outside 01..=12.
    #[error("month {month:02} is not in 01..=12")]
    Month {
        /// The month as written.
        month: u32,
    },
    /// Day outside the month (leap years included).
    #[error("day {day:02} does not exist in {year:04}-{month:02}")]
    Day {
        /// Year as written.
        year: i64,
        /// Month as written.
        month: u32,
        /// Day as written.
        day: u32,
    },
    /// Hour outside 00..=23.
    #[error("hour {hour:02} is not in 00..=23")]
    Hour {
        /// The hour as written.
        hour: u32,
    },
    /// Minute outside 00..=59.
    #[error("minute {minute:02} is not in 00..=59")]
    Minute {
        /// The minute as written.
        minute: u32,
    },
    /// Second 60: RFC 3339 allows a leap second, sealog's timeline has none.
    #[error("second 60 (a leap second) is not accepted: sealog's times have no leap seconds")]
    LeapSecond,
    /// Second outside 00..=59 (and not 60).
    #[error("second {second:02} is not in 00..=59")]
    Second {
        /// The second as written.
        second: u32,
    },
    /// A fraction of 0 or more than 9 digits.
    #[error("the fraction of a second needs 1 to 9 digits, not {digits}")]
    Fraction {
        /// Digits found after the `.`.
        digits: usize,
    },
    /// Offset hour over 23 or minute over 59.
    #[error("time-zone offset {hour:02}:{minute:02} is out of range")]
    Offset {
        /// Offset hours as written.
        hour: u32,
        /// Offset minutes as written.
        minute: u32,
    },
    /// The instant, in UTC, falls outside years 0000..=9999.
    #[error("the time in UTC falls outside 0000-01-01T00:00:00Z..=9999-12-31T23:59:59.999999Z")]
    OutOfRange,
}

/// A query bound: a whole UTC day or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrTime {
    /// `YYYY-MM-DD`: microseconds at the start (00:00:00Z) of that UTC day.
    Date(i64),
    /// A full RFC 3339 date-time, in microseconds since the epoch.
    DateTime(i64),
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both fit: 1 <= day <= 31 and 1 <= month <= 12 by construction.
    (year, month as u32, day as u32)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Writes `value` as `N` decimal digits (zero-padded, most significant first) at `at`.
fn put_digits<const N: usize>(out: &mut [u8; RFC3339_US_BYTES], at: usize, value: u64) {
    let mut v = value;
    for i in (0..N).rev() {
        out[at + i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Formats `us` (microseconds since the epoch) as `YYYY-MM-DDTHH:MM:SS.ffffffZ` into
/// `out`, without allocating. A value outside [`TIMESTAMP_US_MIN`]..=[`TIMESTAMP_US_MAX`]
/// is clamped to that range (callers keep times in range; clamping keeps this total).
pub fn write_rfc3339_us(us: i64, out: &mut [u8; RFC3339_US_BYTES]) {
    let us = us.clamp(TIMESTAMP_US_MIN, TIMESTAMP_US_MAX);
    let days = us.div_euclid(US_PER_DAY);
    let in_day = us.rem_euclid(US_PER_DAY) as u64;
    let (year, month, day) = civil_from_days(days);
    let secs = in_day / US_PER_SEC as u64;
    *out = *b"0000-00-00T00:00:00.000000Z";
    put_digits::<4>(out, 0, year as u64);
    put_digits::<2>(out, 5, u64::from(month));
    put_digits::<2>(out, 8, u64::from(day));
    put_digits::<2>(out, 11, secs / 3_600);
    put_digits::<2>(out, 14, secs / 60 % 60);
    put_digits::<2>(out, 17, secs % 60);
    put_digits::<6>(out, 20, in_day % US_PER_SEC as u64);
}

/// [`write_rfc3339_us`] into a new `String`.
pub fn format_rfc3339_us(us: i64) -> String {
    let mut buf = [0u8; RFC3339_US_BYTES];
    write_rfc3339_us(us, &mut buf);
    buf.iter().map(|&b| char::from(b)).collect()
}

/// A cursor over the ASCII grammar; positions in errors are 1-based.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn expected(&self, expected: &'static str) -> TimeError {
        TimeError::Expected {
            at: self.pos + 1,
            expected,
        }
    }

    fn digits(&mut self, n: usize, expected: &'static str) -> Result<u32, TimeError> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.bytes.get(self.pos) {
                Some(&b) if b.is_ascii_digit() => v = v * 10 + u32::from(b - b'0'),
                _ => return Err(self.expected(expected)),
            }
            self.pos += 1;
        }
        Ok(v)
    }

    fn byte(&mut self, accept: &[u8], expected: &'static str) -> Result<u8, TimeError> {
        match self.bytes.get(self.pos) {
            Some(&b) if accept.contains(&b) => {
                self.pos += 1;
                Ok(b)
            }
            _ => Err(self.expected(expected)),
        }
    }

    fn end(&self) -> Result<(), TimeError> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err(TimeError::Trailing { at: self.pos + 1 })
        }
    }

    /// `YYYY-MM-DD` → days since the epoch.
    fn date(&mut self) -> Result<i64, TimeError> {
        let year = i64::from(self.digits(4, "a 4-digit year")?);
        self.byte(b"-", "'-' after the year")?;
        let month = self.digits(2, "a 2-digit month")?;
        self.byte(b"-", "'-' after the month")?;
        let day = self.digits(2, "a 2-digit day")?;
        if !(1..=12).contains(&month) {
            return Err(TimeError::Month { month });
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(TimeError::Day { year, month, day });
        }
        Ok(days_from_civil(year, month, day))
    }

    /// `HH:MM:SS[.f{1,9}]` → microseconds into the day.
    fn time(&mut self) -> Result<i64, TimeError> {
        let hour = self.digits(2, "a 2-digit hour")?;
        self.byte(b":", "':' after the hour")?;
        let minute = self.digits(2, "a 2-digit minute")?;
        self.byte(b":", "':' after the minute")?;
        let second = self.digits(2, "2-digit seconds")?;
        if hour > 23 {
            return Err(TimeError::Hour { hour });
        }
        if minute > 59 {
            return Err(TimeError::Minute { minute });
        }
        match second {
            60 => return Err(TimeError::LeapSecond),
            61.. => return Err(TimeError::Second { second }),
            _ => {}
        }
        let mut us = 0i64;
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            let digits = self.bytes[self.pos..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            if digits == 0 || digits > 9 {
                return Err(TimeError::Fraction { digits });
            }
            // Digits past the sixth are truncated (documented in the module doc).
            for (i, &b) in self.bytes[self.pos..self.pos + digits].iter().enumerate() {
                if i < 6 {
                    us = us * 10 + i64::from(b - b'0');
                }
            }
            for _ in digits..6 {
                us *= 10;
            }
            self.pos += digits;
        }
        let secs = i64::from(hour) * 3_600 + i64::from(minute) * 60 + i64::from(second);
        Ok(secs * US_PER_SEC + us)
    }

    /// `Z` / `z` / `±HH:MM` → offset east of UTC in microseconds.
    fn offset(&mut self) -> Result<i64, TimeError> {
        let sign = self.byte(b"Zz+-", "'Z' or a '+HH:MM' / '-HH:MM' offset")?;
        if sign == b'Z' || sign == b'z' {
            return Ok(0);
        }
        let hour = self.digits(2, "a 2-digit offset hour")?;
        self.byte(b":", "':' in the offset")?;
        let minute = self.digits(2, "2-digit offset minutes")?;
        if hour > 23 || minute > 59 {
            return Err(TimeError::Offset { hour, minute });
        }
        let us = (i64::from(hour) * 3_600 + i64::from(minute) * 60) * US_PER_SEC;
        Ok(if sign == b'-' { -us } else { us })
    }

    /// After the date: `T HH:MM:SS[.f] offset` to the end → µs since the epoch (UTC).
    fn rest_of_date_time(&mut self, days: i64) -> Result<i64, TimeError> {
        self.byte(b"Tt", "'T' between date and time")?;
        let in_day = self.time()?;
        let offset = self.offset()?;
        self.end()?;
        let us = days * US_PER_DAY + in_day - offset;
        if (TIMESTAMP_US_MIN..=TIMESTAMP_US_MAX).contains(&us) {
            Ok(us)
        } else {
            Err(TimeError::OutOfRange)
        }
    }
}

/// Parses a strict RFC 3339 `date-time` (`2026-11-21T22:39:42.123456Z`,
/// `2026-11-21t23:39:42+01:00`) into microseconds since the epoch (UTC).
///
/// `T`/`t` and `Z`/`z` are accepted; the fraction has 1..=9 digits and digits past the
/// sixth are truncated; `:60` (leap second) is refused; the result must fall in years
/// 0000..=9999 once converted to UTC.
pub fn parse_rfc3339_us(s: &str) -> Result<i64, TimeError> {
    let mut c = Cursor {
        bytes: s.as_bytes(),
        pos: 0,
    };
    let days = c.date()?;
    c.rest_of_date_time(days)
}

/// Parses a query bound: `YYYY-MM-DD` (a UTC day) or an RFC 3339 date-time as
/// [`parse_rfc3339_us`] takes it.
pub fn parse_date_or_datetime(s: &str) -> Result<DateOrTime, TimeError> {
    let mut c = Cursor {
        bytes: s.as_bytes(),
        pos: 0,
    };
    let days = c.date()?;
    if c.pos == c.bytes.len() {
        return Ok(DateOrTime::Date(days * US_PER_DAY));
    }
    c.rest_of_date_time(days).map(DateOrTime::DateTime)
}

#[cfg(test)]
mod tests;

/// Now, in µs since the Unix epoch (0 if the clock is before 1970).
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
