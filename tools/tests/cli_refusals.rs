//! The real `sealog` binary on the inputs a user gets wrong: a benchmark pointed at a
//! directory it did not make, an offline command pointed at a mistyped path, an export
//! that fails over an existing file or meets a server that never answers, a bad port,
//! and a report written into a closed pipe. Each is refused with a clear message and
//! the documented exit status, and nothing of the user's is touched.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use sealog_engine::storage::{FileStorage, Storage};

fn sealog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The run ended with exit status `code` and its stderr says `says`; `what` names the
/// case in a failure.
fn assert_refused(out: &Output, code: i32, says: &str, what: &str) {
    assert_eq!(out.status.code(), Some(code), "{what}: {}", stderr(out));
    assert!(stderr(out).contains(says), "{what}: {}", stderr(out));
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A loopback URL whose port nothing listens on any more.
fn closed_port_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

#[test]
fn a_benchmark_wipes_only_a_directory_a_benchmark_made() {
    let tmp = tempfile::tempdir().unwrap();
    let refused = |cmd: &str, dir: &Path, why: &str| {
        let before = names(dir);
        let out = sealog(&[cmd, "--events", "10", "--dir", dir.to_str().unwrap()]);
        assert_refused(&out, 1, why, cmd);
        assert_eq!(names(dir), before, "{cmd} touched {}", dir.display());
    };
    // Someone's data: refused, untouched.
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir_all(theirs.join("wal")).unwrap();
    std::fs::write(theirs.join("notes.txt"), "mine").unwrap();
    for cmd in ["bench-engine", "bench-query", "bench-integrity"] {
        refused(cmd, &theirs, "no `sealog bench-*` run made it");
    }
    // A benchmark's directory that sealogd has since run on is not a benchmark's any
    // more; a symbolic link is not the directory.
    let served = tmp.path().join("served");
    std::fs::create_dir_all(served.join("wal")).unwrap();
    std::fs::write(served.join("SEALOG_BENCH"), "").unwrap();
    std::fs::write(served.join("keys.json"), "{}").unwrap();
    refused("bench-engine", &served, "sealogd has run on");
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&theirs, &link).unwrap();
    refused("bench-engine", &link, "is a symbolic link");
    // A benchmark's directory that a process still holds.
    let busy = tmp.path().join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("SEALOG_BENCH"), "").unwrap();
    let held = FileStorage.lock(&busy.join("LOCK")).unwrap();
    refused("bench-engine", &busy, "is in use by another process");
    drop(held);

    // A benchmark's own directory is wiped and used again.
    let ours = tmp.path().join("ours");
    for _ in 0..2 {
        let out = sealog(&[
            "bench-engine",
            "--events",
            "200",
            "--pool",
            "100",
            "--dir",
            ours.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(ours.join("SEALOG_BENCH").is_file());
    }

    // Zero events is a usage error, not a panic.
    for cmd in ["bench-engine", "bench-query"] {
        let out = sealog(&[cmd, "--events", "0"]);
        let code = out.status.code();
        assert!(
            code == Some(1) || code == Some(2),
            "{cmd}: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("panicked"),
            "{cmd}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn offline_commands_refuse_a_path_that_holds_no_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("typo");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for dir in [&missing, &empty] {
        let d = dir.to_str().unwrap();
        for args in [
            vec!["export", "--data-dir", d],
            vec!["reindex", "--data-dir", d],
            vec!["bench-query", "--queries-only", "--dir", d],
        ] {
            let out = sealog(&args);
            // clap refuses the first two (usage: 2); the benchmark says why and fails.
            let code = if args[0] == "bench-query" {
                Some(1)
            } else {
                Some(2)
            };
            assert_eq!(out.status.code(), code, "{args:?}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("no such directory")
                    || stderr(&out).contains("not a sealog data directory"),
                "{args:?}: {}",
                stderr(&out)
            );
        }
    }
    assert!(!missing.exists());
    assert!(names(&empty).is_empty(), "{:?}", names(&empty));
}

#[test]
fn a_failed_export_leaves_an_existing_file_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let previous = tmp.path().join("previous.ndjson");
    std::fs::write(&previous, "an earlier export\n").unwrap();
    let url = closed_port_url();
    let out = sealog(&[
        "export",
        "--url",
        &url,
        "--token",
        "any-token-0123456789",
        "-o",
        previous.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&previous).unwrap(),
        "an earlier export\n"
    );
    assert_eq!(
        names(tmp.path()),
        ["previous.ndjson"],
        "no partial file left"
    );
}

#[test]
fn an_export_from_a_server_that_never_answers_ends_at_its_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Accepts, reads the request, and never answers.
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf);
        std::thread::sleep(Duration::from_secs(10));
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = sealog(&[
        "export",
        "--url",
        &url,
        "--token",
        "any-token-0123456789",
        "--timeout",
        "1s",
        "-o",
        tmp.path().join("out.ndjson").to_str().unwrap(),
    ]);
    assert_refused(&out, 1, "--timeout", "a silent server");
    assert!(names(tmp.path()).is_empty(), "{:?}", names(tmp.path()));
    drop(server);
}

#[test]
fn a_port_that_is_not_a_port_is_refused() {
    for url in [
        "http://127.0.0.1:99999",
        "http://127.0.0.1:abc",
        "http://127.0.0.1:",
    ] {
        let out = sealog(&["export", "--url", url, "--token", "any-token-0123456789"]);
        assert_refused(&out, 1, "the port must be a number from 1 to 65535", url);
    }
}

#[test]
fn a_report_into_a_closed_pipe_is_an_io_error_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    // Lines that are not events: a long report (one fault per line).
    let file = tmp.path().join("not-events.ndjson");
    std::fs::write(&file, "{\"a\":1}\n".repeat(20_000)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(["verify", "--export", file.to_str().unwrap()])
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader leaves at once
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("writing to standard output"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_file_with_no_event_in_it_is_not_an_export() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("export.csv");
    std::fs::write(&file, "id,created_at,event_type\n1,2,3\n").unwrap();
    let out = sealog(&["verify", "--export", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("NOT AN EXPORT"), "{stdout}");
    // An export whose only event was mangled is damage, not a usage error.
    let file = tmp.path().join("mangled.ndjson");
    std::fs::write(&file, "{\"id\":\"x\",\"hash\":\n").unwrap();
    let out = sealog(&["verify", "--export", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("DAMAGED"), "{stdout}");
}

#[test]
fn a_load_run_in_which_every_request_failed_exits_non_zero() {
    let url = closed_port_url();
    let out = sealog(&[
        "load",
        "--url",
        &url,
        "--token",
        "any-token-0123456789",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--pool",
        "10",
        "--concurrency",
        "2",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout} {}", stderr(&out));
    // The figures line is still printed, last on stdout.
    assert!(
        stdout
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .contains(" events=0 "),
        "{stdout}"
    );
    assert_refused(&out, 1, "every one of the", "a load that reached nothing");
}

#[test]
fn ingest_options_out_of_range_are_usage_errors() {
    for (flag, value) in [
        ("--batch", "0"),
        ("--batch", "10001"),
        ("--concurrency", "0"),
    ] {
        let out = sealog(&[
            "ingest",
            "-",
            "--url",
            "http://127.0.0.1:1",
            "--token",
            "any-token-0123456789",
            flag,
            value,
        ]);
        assert_refused(&out, 2, flag, &format!("{flag} {value}"));
    }
}
