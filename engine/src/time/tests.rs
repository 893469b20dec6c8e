//! Calendar, formatting and parsing checks for `time`.
use super::*;

#[test]
fn formats_known_instants() {
    assert_eq!(format_rfc3339_us(0), "1970-01-01T00:00:00.000000Z");
    assert_eq!(format_rfc3339_us(-1), "1969-12-31T23:59:59.999999Z");
    assert_eq!(
        format_rfc3339_us(1_795_300_782_123_456),
        "2026-11-21T22:39:42.123456Z"
    );
    assert_eq!(
        format_rfc3339_us(951_782_400_000_000),
        "2000-02-29T00:00:00.000000Z"
    );
    assert_eq!(
        format_rfc3339_us(TIMESTAMP_US_MIN),
        "0000-01-01T00:00:00.000000Z"
    );
    assert_eq!(
        format_rfc3339_us(TIMESTAMP_US_MAX),
        "9999-12-31T23:59:59.999999Z"
    );
    assert_eq!(format_rfc3339_us(i64::MIN), "0000-01-01T00:00:00.000000Z");
    assert_eq!(format_rfc3339_us(i64::MAX), "9999-12-31T23:59:59.999999Z");
}

#[test]
fn parses_and_normalizes() {
    let us = 1_795_300_782_123_456;
    assert_eq!(parse_rfc3339_us("2026-11-21T22:39:42.123456Z"), Ok(us));
    assert_eq!(parse_rfc3339_us("2026-11-21t23:39:42.123456+01:00"), Ok(us));
    assert_eq!(
        parse_rfc3339_us("2026-11-21T20:09:42.123456789-02:30"),
        Ok(us)
    );
    assert_eq!(parse_rfc3339_us("2026-11-21T22:39:42.1234569z"), Ok(us));
    assert_eq!(parse_rfc3339_us("2026-11-21T22:39:42Z"), Ok(us - 123_456));
    assert_eq!(parse_rfc3339_us("2026-11-21T22:39:42.1Z"), Ok(us - 23_456));
    assert_eq!(
        parse_rfc3339_us("2026-11-21T22:39:42-00:00"),
        Ok(us - 123_456)
    );
    assert_eq!(
        parse_rfc3339_us("2000-02-29T00:00:00Z"),
        Ok(951_782_400_000_000)
    );
    assert_eq!(
        parse_rfc3339_us("0000-01-01T00:00:00Z"),
        Ok(TIMESTAMP_US_MIN)
    );
    assert_eq!(
        parse_rfc3339_us("9999-12-31T23:59:59.999999999Z"),
        Ok(TIMESTAMP_US_MAX)
    );
}

#[test]
fn refuses_bad_times_with_reasons() {
    let err = |s: &str| parse_rfc3339_us(s).err();
    assert_eq!(err("2026-11-21T23:59:60Z"), Some(TimeError::LeapSecond));
    assert_eq!(
        err("2023-02-29T00:00:00Z"),
        Some(TimeError::Day {
            year: 2023,
            month: 2,
            day: 29
        })
    );
    assert_eq!(
        err("1900-02-29T00:00:00Z"),
        Some(TimeError::Day {
            year: 1900,
            month: 2,
            day: 29
        })
    );
    assert_eq!(
        err("2026-04-31T00:00:00Z"),
        Some(TimeError::Day {
            year: 2026,
            month: 4,
            day: 31
        })
    );
    assert_eq!(
        err("2026-13-01T00:00:00Z"),
        Some(TimeError::Month { month: 13 })
    );
    assert_eq!(
        err("2026-00-01T00:00:00Z"),
        Some(TimeError::Month { month: 0 })
    );
    assert_eq!(
        err("2026-01-00T00:00:00Z"),
        Some(TimeError::Day {
            year: 2026,
            month: 1,
            day: 0
        })
    );
    assert_eq!(
        err("2026-01-01T24:00:00Z"),
        Some(TimeError::Hour { hour: 24 })
    );
    assert_eq!(
        err("2026-01-01T00:60:00Z"),
        Some(TimeError::Minute { minute: 60 })
    );
    assert_eq!(
        err("2026-01-01T00:00:61Z"),
        Some(TimeError::Second { second: 61 })
    );
    assert_eq!(
        err("2026-01-01T00:00:00.Z"),
        Some(TimeError::Fraction { digits: 0 })
    );
    assert_eq!(
        err("2026-01-01T00:00:00.1234567890Z"),
        Some(TimeError::Fraction { digits: 10 })
    );
    assert_eq!(
        err("2026-01-01T00:00:00+24:00"),
        Some(TimeError::Offset {
            hour: 24,
            minute: 0
        })
    );
    assert_eq!(
        err("2026-01-01T00:00:00Z "),
        Some(TimeError::Trailing { at: 21 })
    );
    assert_eq!(
        err("0000-01-01T00:00:00+00:01"),
        Some(TimeError::OutOfRange)
    );
    assert_eq!(
        err("9999-12-31T23:59:59-00:01"),
        Some(TimeError::OutOfRange)
    );
    for bad in [
        "",
        "2026-01-01",
        "2026-01-01 00:00:00Z",
        "2026-01-01T00:00:00",
        "2026-1-01T00:00:00Z",
        "+2026-01-01T00:00:00Z",
        "2026-01-01T00:00Z",
        "2026-01-01T00:00:00+0100",
        "2026-01-01T00:00:00+01",
        "２026-01-01T00:00:00Z",
    ] {
        assert!(
            matches!(err(bad), Some(TimeError::Expected { .. })),
            "{bad}"
        );
    }
    let msg = err("2026-11-21T23:59:60Z")
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(msg.contains("leap second"), "{msg}");
    let msg = err("2026-01-01T00:00:00")
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        msg,
        "expected 'Z' or a '+HH:MM' / '-HH:MM' offset at character 20"
    );
}

#[test]
fn parses_dates_and_date_times() {
    assert_eq!(
        parse_date_or_datetime("1970-01-02"),
        Ok(DateOrTime::Date(US_PER_DAY))
    );
    assert_eq!(
        parse_date_or_datetime("1970-01-02T00:00:00.000001Z"),
        Ok(DateOrTime::DateTime(US_PER_DAY + 1))
    );
    assert_eq!(
        parse_date_or_datetime("1970-02-30"),
        Err(TimeError::Day {
            year: 1970,
            month: 2,
            day: 30
        })
    );
    assert!(parse_date_or_datetime("1970-01-02T").is_err());
    assert!(parse_date_or_datetime("1970-01-02x").is_err());
}

#[test]
fn every_day_round_trips() {
    // Every day of years 0000..=9999, plus a few times of day: format then parse.
    let mut days = TIMESTAMP_US_MIN / US_PER_DAY;
    let last = TIMESTAMP_US_MAX / US_PER_DAY;
    while days <= last {
        let us = days * US_PER_DAY + (days.rem_euclid(86_400)) * 999_983;
        let us = us.min(TIMESTAMP_US_MAX);
        let text = format_rfc3339_us(us);
        assert_eq!(parse_rfc3339_us(&text), Ok(us), "{text}");
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
        days += 1;
    }
}
