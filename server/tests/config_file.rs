//! Settings come from a TOML file, the environment and flags (flags win); a bad setting
//! stops sealogd at start with a message naming it.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::Server;

#[test]
fn a_config_file_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sealog.toml");
    std::fs::write(
        &cfg,
        "listen = \"127.0.0.1:1\"\ndurability = \"interval:5\"\nindex-commit-events = 1000\nidempotency-retention-hours = 48\n",
    )
    .unwrap();
    // --listen (given by the harness) overrides the file's unusable port 1.
    let s = Server::start_in(dir.path(), &["--config", cfg.to_str().unwrap()]);
    assert!(
        s.log_text().contains("durability is not `sync`"),
        "{}",
        s.log_text()
    );
    let r = s.admin("POST", "/api/audit-logs", br#"{"event_type":"configured"}"#);
    assert_eq!(r.status, 201);
}

#[test]
fn bad_settings_stop_sealogd_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("colour = \"red\"\n", "unknown field `colour`"),
        ("durability = \"sometimes\"\n", "durability"),
        (
            "idempotency-retention-hours = 1\n",
            "below the minimum of 24",
        ),
        ("index-commit-interval-ms = 0\n", "index-commit-interval-ms"),
        (
            "webhook-feed-events = 8\n",
            "webhook-feed-events = 8 is outside 16..=16777216",
        ),
        ("tls-cert = \"/nonexistent.pem\"\n", "TLS needs both"),
        ("segment-bytes = 100\n", "segment-bytes = 100 is outside"),
        ("durability = \"interval:0\"\n", "durability interval 0 ms"),
        (
            "listen = \"bogus\"\n",
            "listen = \"bogus\" is not a host and port",
        ),
    ];
    // Exit 2 naming the setting, before anything was opened or created.
    let refused = |args: &[&str], token: &str, expect: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_sealogd"))
            .args(args)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env("SEALOG_ADMIN_TOKEN", token)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {expect}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!dir.path().join("data").exists(), "{args:?} {expect}");
    };
    let cfg = dir.path().join("bad.toml");
    for (text, expect) in cases {
        std::fs::write(&cfg, text).unwrap();
        refused(&["--config", cfg.to_str().unwrap()], common::ADMIN, expect);
    }
    // The same for flags, and for an admin token too short to be a secret.
    refused(
        &["--segment-bytes", "0"],
        common::ADMIN,
        "segment-bytes = 0",
    );
    refused(
        &["--durability", "interval:0"],
        common::ADMIN,
        "durability interval",
    );
    refused(&[], "short", "SEALOG_ADMIN_TOKEN must be at least 16");
    refused(
        &["--listen", "127.0.0.1:99999"],
        common::ADMIN,
        "listen = \"127.0.0.1:99999\" is not a host and port",
    );
    refused(&["--listen", ":8080"], common::ADMIN, "listen = \":8080\"");
    // A missing TLS certificate is named at start, not at the first connection.
    let out = Command::new(env!("CARGO_BIN_EXE_sealogd"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            "/nonexistent/key.pem",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("SEALOG_ADMIN_TOKEN", common::ADMIN)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/cert.pem"));
}

#[test]
fn a_data_directory_left_without_any_admin_key_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    // First started with SEALOG_ADMIN_TOKEN: keys.json holds no admin key of its own.
    let mut s = Server::start_in(dir.path(), &[]);
    s.stop_cleanly();
    assert!(!s.log_text().contains("no admin key"), "{}", s.log_text());
    // Started again without it: nobody could manage keys, and sealogd says so.
    let log = dir.path().join("no-token.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sealogd"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("SEALOG_ADMIN_TOKEN")
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("no admin key") || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("SEALOG_ADMIN_TOKEN is not set"), "{text}");
    assert!(!dir.path().join("data/admin.token").exists());
}

/// `log-cache-bytes` reaches the engine: with 0, from the config file, the pages of
/// indexed events leave the page cache (counted by `sealog_log_uncached_bytes_total`);
/// with 1 GiB, from a flag over the same file, a 3 MB log keeps all of them.
#[test]
fn log_cache_bytes_decides_what_leaves_the_page_cache() {
    let uncached_after_indexing = |extra: &[&str], dir: &std::path::Path, expect_some: bool| {
        let s = Server::start_in(dir, extra);
        for chunk in common::events(11, 3000).chunks(500) {
            let batch = format!("[{}]", chunk.join(","));
            let r = s.admin("POST", "/api/audit-logs/batch", batch.as_bytes());
            assert_eq!(r.status, 201, "{}", r.text());
        }
        let metric = |name: &str| -> u64 {
            let text = s.admin("GET", "/metrics", b"").text();
            let line = text.lines().find(|l| l.starts_with(&format!("{name} ")));
            let value = line.unwrap_or_else(|| panic!("no {name} in {text}"));
            value[name.len() + 1..].parse::<f64>().unwrap() as u64
        };
        // The indexer drops right after it publishes a commit: poll for both.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let indexed = metric("sealog_indexed_lsn") >= 3000;
            let dropped = metric("sealog_log_uncached_bytes_total");
            if indexed && expect_some && dropped > 1_000_000 {
                return dropped;
            }
            if indexed && !expect_some {
                // One more commit interval, for a drop that should not come.
                std::thread::sleep(std::time::Duration::from_millis(1500));
                return metric("sealog_log_uncached_bytes_total");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "indexed: {indexed}, dropped {dropped} bytes"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sealog.toml");
    std::fs::write(&cfg, "log-cache-bytes = 0\n").unwrap();
    let config = ["--config", cfg.to_str().unwrap()];
    let dropped = uncached_after_indexing(&config, dir.path(), true);
    assert!(dropped > 1_000_000, "only {dropped} bytes dropped");

    let dir2 = tempfile::tempdir().unwrap();
    let flag = [&config[..], &["--log-cache-bytes", "1073741824"]].concat();
    let dropped = uncached_after_indexing(&flag, dir2.path(), false);
    assert_eq!(dropped, 0);
}
