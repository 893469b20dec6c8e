//! Parsers of option values shared by the commands, so that a bad value is refused by
//! clap with a clear message (exit status 2) before anything is sent or opened.

use std::time::Duration;

/// `30s`, `10m`, `500ms`, `1h 30m` (humantime), or a bare number of seconds.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"));
    }
    humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e} (try 30s, 10m or 500ms)"))
}

/// A tenant name as sealogd accepts it: `[A-Za-z0-9_-]{1,64}`.
pub fn tenant(s: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?}: a tenant is 1 to 64 of A-Z a-z 0-9 _ -"))
    }
}

/// An idempotency key prefix: 1 to 128 of `A-Z a-z 0-9 _ - . :`, so that every key is a
/// plain header value and the same everywhere it is logged.
pub fn key_prefix(s: &str) -> Result<String, String> {
    let ok = (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?}: a key prefix is 1 to 128 of A-Z a-z 0-9 _ - . :"
        ))
    }
}

/// An existing sealog data directory (one with a `wal/` directory), for the commands
/// that read one: a mistyped path is refused instead of becoming a new, empty log.
pub fn data_dir(s: &str) -> Result<std::path::PathBuf, String> {
    let dir = std::path::PathBuf::from(s);
    if dir.join("wal").is_dir() {
        return Ok(dir);
    }
    let why = if !dir.exists() {
        "no such directory"
    } else if !dir.is_dir() {
        "not a directory"
    } else {
        "not a sealog data directory (it has no wal/)"
    };
    Err(format!("{s:?}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ms = |s| duration(s).map(|d| d.as_millis());
        assert_eq!(ms("30s"), Ok(30_000));
        assert_eq!(ms("10m"), Ok(600_000));
        assert_eq!(ms("500ms"), Ok(500));
        assert_eq!(ms("1h 30m"), Ok(5_400_000));
        assert_eq!(ms(" 2 "), Ok(2_000));
        assert_eq!(ms("0.25"), Ok(250));
        assert_eq!(ms("0s"), Ok(0));
        for bad in ["", "fast", "10 parsecs", "-1", "1e400"] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tenants_and_prefixes() {
        assert!(tenant("load-0").is_ok() && tenant("A_b-9").is_ok());
        assert!(tenant(&"t".repeat(64)).is_ok());
        for bad in ["", "a b", "é", "x/y", &"t".repeat(65)] {
            assert!(tenant(bad).is_err(), "{bad:?}");
        }
        assert!(key_prefix("events.ndjson-1234-0badf00d").is_ok());
        assert!(key_prefix("a b").is_err() && key_prefix("").is_err());
    }
}
