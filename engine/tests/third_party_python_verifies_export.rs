//! A third party holding only an NDJSON export recomputes every hash and checks every
//! link with Python's hashlib and the `rfc8785` package from PyPI (docs/verify_chain.py,
//! the script docs/INTEGRITY.md shows): an independent implementation of RFC 8785
//! agrees with ours byte for byte, on realistic events and on hostile ones (non-BMP
//! keys, escapes, U+2028, extreme floats). An altered export is named event by event.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{open, tenant, tiny_config};
use sealog_engine::event::{prepare_event, write_returned};
use sealog_engine::gen::{GenConfig, Generator};
use sealog_engine::{Lsn, ScanDirection};

/// A Python that can `import rfc8785`: the system one if it can, else a venv created
/// once under the cargo target dir with the package from PyPI.
fn python() -> PathBuf {
    let ok = |py: &Path| {
        Command::new(py)
            .args(["-c", "import rfc8785"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let system = PathBuf::from("python3");
    if ok(&system) {
        return system;
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("py-rfc8785");
    let py = venv.join("bin/python3");
    if !ok(&py) {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "this test needs python3 with the venv module"
        );
        let pip = Command::new(&py)
            .args(["-m", "pip", "install", "--quiet", "rfc8785"])
            .status();
        assert!(
            pip.is_ok_and(|s| s.success()),
            "pip install rfc8785 failed (PyPI unreachable?)"
        );
    }
    py
}

const HOSTILE: &[&str] = &[
    r#"{"event_type":"x.unicode","event_description":"caf\u00e9 \ud83d\ude00 \u2028 line\u2029 end \u0001\u001f tab\t quote\" back\\ slash/","new_values":{"\ud83d\ude00":1,"\uffff":2,"a":3,"\u00e9":4,"Z":[true,false,null,{"":""}]}}"#,
    r#"{"event_type":"x.numbers","new_values":{"big":1e300,"tiny":5e-324,"neg":-0.0,"third":0.3333333333333333,"int":9007199254740991,"e21":1e21,"e22":1.5e22,"safe":9007199254740991.0,"frac":123.456e-5}}"#,
    r#"{"event_type":"x.decimals","amount":"-12345678901234567890.123456789","risk_score":0.000,"old_values":{"a":{"b":{"c":[1,[2,[3]]]}}},"new_values":{"a":{"b":{"c":[1,[2,[4]]]}}}}"#,
    r#"{"event_type":"x.empty","old_values":{},"new_values":{},"tags":[],"audit_metadata":{"k":""}}"#,
];

#[test]
fn python_rfc8785_verifies_every_hash_and_link_of_an_export() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _) = open(tiny_config(dir.path()));
    let mut gen = Generator::new(GenConfig {
        count: 1500,
        with_text: true,
        ..GenConfig::default()
    });
    let mut line = Vec::new();
    while let Some((t, _)) = gen.write_json_into(&mut line) {
        engine
            .append(&tenant(t), vec![prepare_event(&line).unwrap()])
            .unwrap();
        line.clear();
    }
    for (i, json) in HOSTILE.iter().enumerate() {
        let ev =
            prepare_event(json.as_bytes()).unwrap_or_else(|e| panic!("hostile event {i}: {e:?}"));
        engine.append(&tenant("hostile"), vec![ev]).unwrap();
    }
    let export = dir.path().join("export.ndjson");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&export).unwrap());
    let mut lines = Vec::new();
    for ev in engine.scan(Lsn(1)..Lsn(u64::MAX), ScanDirection::Forward, true) {
        let ev = ev.unwrap();
        let mut json = Vec::new();
        write_returned(ev.body(), &ev.hash, None, &mut json).unwrap();
        out.write_all(&json).unwrap();
        out.write_all(b"\n").unwrap();
        lines.push(json);
    }
    drop(out);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/verify_chain.py");
    let py = python();
    let run = |path: &Path| Command::new(&py).arg(&script).arg(path).output().unwrap();
    let good = run(&export);
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert!(
        good.status.success(),
        "python says: {stdout}{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert!(
        stdout.contains(&format!("{} events checked, 0 faults", lines.len())),
        "{stdout}"
    );

    // Alter one event (its amount) and drop another: both named.
    let altered_at = 100;
    let mut tampered = lines.clone();
    let text = String::from_utf8(tampered[altered_at].clone()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let altered_id = v["id"].as_str().unwrap().to_owned();
    let mut v = v;
    v["event_type"] = serde_json::Value::String("order.created.forged".into());
    tampered[altered_at] = serde_json::to_vec(&v).unwrap();
    let dropped: serde_json::Value = serde_json::from_slice(&tampered.remove(700)).unwrap();
    let bad = dir.path().join("tampered.ndjson");
    std::fs::write(&bad, tampered.join(&b"\n"[..])).unwrap();
    let out = run(&bad);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("event {altered_id}")) && stdout.contains("hash_mismatch"),
        "{stdout}"
    );
    assert!(
        stdout.contains("chain_link_mismatch"),
        "the gap after {} is named: {stdout}",
        dropped["id"]
    );
}
