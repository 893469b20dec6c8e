//! `sealog export --data-dir`, the real binary on a data directory the engine wrote:
//! the NDJSON it writes is the stored events as reads return them, and `sealog verify
//! --export` finds the chain intact; CEF selects by the filters; a bad parameter is
//! refused with the server's message and a non-zero exit.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;

use sealog_engine::event::{prepare_event, write_returned};
use sealog_engine::gen::{GenConfig, Generator};
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Engine, EngineConfig, Lsn, ScanDirection, TenantId};

fn sealog(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn an_offline_export_is_the_stored_log_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    let (engine, _) = Engine::open(EngineConfig::new(&data), storage).unwrap();
    let tenant = TenantId::new("acme").unwrap();
    let mut gen = Generator::new(GenConfig {
        count: 500,
        seed: 3,
        ..GenConfig::default()
    });
    let mut line = Vec::new();
    let mut events = Vec::new();
    while gen.write_json_into(&mut line).is_some() {
        events.push(prepare_event(&line).unwrap());
        line.clear();
    }
    engine.append(&tenant, events).unwrap();
    let mut expected = Vec::new();
    for ev in engine.scan(Lsn(1)..Lsn(u64::MAX), ScanDirection::Forward, true) {
        let ev = ev.unwrap();
        write_returned(ev.body(), &ev.hash, None, &mut expected).unwrap();
        expected.push(b'\n');
    }
    let high = expected
        .split(|b| *b == b'\n')
        .filter(|l| l.windows(17).any(|w| w == br#""severity":"high""#))
        .count();
    engine.close();
    drop(engine);

    let dir_arg = data.to_str().unwrap();
    let ndjson = dir.path().join("acme.ndjson");
    // Exports tenant acme offline with `more` arguments; what it wrote to stdout.
    let export_acme = |more: &[&str]| {
        let mut args = vec!["export", "--data-dir", dir_arg, "--tenant", "acme"];
        args.extend_from_slice(more);
        let out = sealog(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let export_acme_to = |path: &str| export_acme(&["-o", path]);
    export_acme_to(ndjson.to_str().unwrap());
    assert_eq!(std::fs::read(&ndjson).unwrap(), expected);
    // Replacing it goes through a temporary file: the same bytes, nothing left beside.
    export_acme_to(ndjson.to_str().unwrap());
    assert_eq!(std::fs::read(&ndjson).unwrap(), expected);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".sealog-export-")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A device is written, never replaced; a directory is refused.
    export_acme_to("/dev/null");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    let out = sealog(&[
        "export",
        "--data-dir",
        dir_arg,
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a directory"));
    let out = sealog(&["verify", "--export", ndjson.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let text = export_acme(&["--format", "cef", "--param", "severity=high"]);
    assert_eq!(text.lines().count(), high);
    assert!(
        high > 0
            && text
                .lines()
                .all(|l| l.starts_with("CEF:0|sealog|") && l.contains("|8|"))
    );

    // sealogd's configuration file gives the syslog settings: the offline file is what
    // that sealogd would send.
    let cfg = dir.path().join("sealogd.toml");
    std::fs::write(
        &cfg,
        "syslog-facility = 16\nsyslog-hostname = \"auditbox\"\nsyslog-enterprise-number = 99999\n",
    )
    .unwrap();
    let text = export_acme(&["--format", "syslog", "--config", cfg.to_str().unwrap()]);
    assert_eq!(text.lines().count(), 500);
    for l in text.lines() {
        // PRI = facility 16 × 8 + severity (0..=7): 128..=135.
        let pri: u32 = l[1..l.find('>').unwrap()].parse().unwrap();
        assert!((128..=135).contains(&pri), "{l}");
        assert!(
            l.contains(" auditbox sealog ") && l.contains("[sealog@99999 "),
            "{l}"
        );
    }

    let out = sealog(&[
        "export",
        "--data-dir",
        dir_arg,
        "--format",
        "leef",
        "--param",
        "version=3.0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("version") && err.contains("'1.0', '2.0'"),
        "{err}"
    );
}
