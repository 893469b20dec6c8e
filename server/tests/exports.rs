//! Exports on the real sealogd, checked by independent parsers: Python's csv and json,
//! `cefp` for CEF, `syslog-rfc5424-parser` for RFC 5424 (server/tests/py/parse_export.py
//! says which and how; LEEF has no parser on PyPI or in Debian, so that one follows the
//! IBM spec by hand), and docs/verify_chain.py recomputing the chain from an NDJSON
//! export. Hostile values (pipes, equals signs, backslashes, quotes, `]`, line breaks,
//! tabs, 4-byte UTF-8, 64 KiB strings, formulas) go through every format.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{events, Server, ADMIN};
use serde_json::{json, Value};

const T: &str = "acme";

fn auth(token: &str) -> String {
    format!("Bearer {token}")
}

fn get(s: &Server, token: &str, path: &str) -> common::Resp {
    s.req(
        "GET",
        path,
        &[("Authorization", &auth(token)), ("X-Tenant-Id", T)],
        b"",
    )
}

fn post_batch(s: &Server, tenant: &str, body: &str) -> Value {
    let r = s.req(
        "POST",
        "/api/audit-logs/batch",
        &[("Authorization", &auth(ADMIN)), ("X-Tenant-Id", tenant)],
        body.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

/// Events whose values are built to break naive encoders.
fn hostile() -> Vec<Value> {
    let nasty = [
        "pipe | and \\| escaped",
        "equals = sign a=b c=d",
        "back\\slash at end\\",
        "quote \" and ] bracket \\] [x]",
        "line\nbreak\r\nand\ttab",
        "emoji 😀 crab 🦀 4-byte 𝄞 and é",
        "=HYPERLINK(\"http://evil\",\"x\")",
        "+SUM(1,2)",
        "-cmd|' /C calc'!A0",
        "@import",
        "\tleading tab",
        "caret ^ delimiter ^",
        "del\u{7f} and c1\u{85} controls",
        "x".repeat(4096).as_str(),
    ]
    .map(str::to_owned);
    let mut out: Vec<Value> = nasty
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let severity = ["debug", "info", "low", "medium", "high", "critical"][i % 6];
            json!({
                "event_type": format!("hostile.case_{i}"),
                "severity": severity,
                "event_description": text,
                "action": text.chars().take(64).collect::<String>(),
                "user_name": text.chars().take(256).collect::<String>(),
                "user_id": format!("user-{i}"),
                "error_message": text,
                "endpoint": "/api/v1/orders?a=1&b=|x|",
                "ip_address": if i % 2 == 0 { "2001:db8::1" } else { "198.51.100.7" },
                "old_values": {"note": text, "n": i},
                "new_values": {"note": "changed", "n": i + 1},
                "tags": [text.chars().take(128).collect::<String>()],
                "amount": "-12.50",
                "risk_score": "97.5",
                "symbol": "BTC-USD",
            })
        })
        .collect();
    // A 64 KiB string (the stack_trace limit is 65,536 characters).
    out.push(json!({
        "event_type": "hostile.big",
        "severity": "critical",
        "stack_trace": "é|=]\"\\\n".repeat(9362),
        "event_description": "big stack trace",
    }));
    out
}

fn python() -> PathBuf {
    common::python_with(
        "py-exports",
        &[
            ("cefp", "0.0.2"),
            ("syslog-rfc5424-parser", "0.3.2"),
            ("lark-parser", "0.6.7"),
            ("rfc8785", "0.1.4"),
        ],
    )
}

/// Runs the independent parser over an export; its records.
fn parse(py: &Path, dir: &Path, format: &str, body: &[u8]) -> Vec<Value> {
    let file = dir.join(format!("export.{format}"));
    std::fs::write(&file, body).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/parse_export.py");
    let out = Command::new(py)
        .arg(&script)
        .arg(format)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{format}: the independent parser rejects the export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// CEF's rule for a value: at most `max` characters, the last replaced by `…` when cut;
/// control characters other than line breaks (C0, DEL and C1) become spaces.
fn cef_value(s: &str, max: usize) -> String {
    let s: String = s
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\r' {
                ' '
            } else {
                c
            }
        })
        .collect();
    if s.chars().count() <= max {
        return s;
    }
    let mut cut: String = s.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// LEEF's rule: the delimiter and every control character become a space.
fn leef_value(s: &str, delimiter: char) -> String {
    s.chars()
        .map(|c| {
            if c == delimiter || c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn every_format_passes_an_independent_parser_with_hostile_values() {
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(dir.path(), &[]);
    let mut sent = hostile();
    for e in events(5, 30) {
        sent.push(serde_json::from_str(&e).unwrap());
    }
    let batch = Value::Array(sent.clone()).to_string();
    post_batch(&s, T, &batch);
    // Another tenant's events must never appear.
    post_batch(&s, "other", &format!("[{}]", events(6, 20).join(",")));
    // A resolved event carries its overlay in every format.
    let first =
        get(&s, ADMIN, "/api/audit-logs?sort_order=asc&limit=1").json()["audit_logs"][0].clone();
    let resolved_id = first["id"].as_str().unwrap().to_owned();
    let r = s.req(
        "POST",
        &format!("/api/audit-logs/{resolved_id}/resolve"),
        &[("Authorization", &auth(ADMIN)), ("X-Tenant-Id", T)],
        br#"{"resolved_by":"ops | team = \"sec\"","resolution_notes":"false\npositive"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let n = sent.len() + 1;
    // What GET returns, by seq: the reference every format is compared with.
    let stored: Vec<Value> = get(&s, ADMIN, "/api/audit-logs?sort_order=asc&limit=1000").json()
        ["audit_logs"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(stored.len(), n);
    let by_seq = |seq: u64| &stored[seq as usize - 1];
    // One key per few exports: the rate limit is 10 per minute per key.
    let keys: Vec<String> = (0..2).map(|_| s.key("auditor", T)).collect();

    // NDJSON (both endpoints): byte for byte the GET objects, and the chain verifies.
    for (i, path) in [
        "/api/audit-logs/export?format=ndjson&limit=50000",
        "/api/audit-logs/export/ndjson",
    ]
    .iter()
    .enumerate()
    {
        let r = get(&s, &keys[0], path);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
        let disposition = r.header("content-disposition").unwrap();
        assert!(
            disposition.starts_with("attachment; filename=\"audit-logs-")
                && disposition.ends_with(".ndjson\""),
            "{disposition}"
        );
        let parsed = parse(&py, dir.path(), "ndjson", &r.body);
        assert_eq!(parsed, stored, "ndjson export {i}");
        for (line, ev) in r.body.split(|b| *b == b'\n').zip(&stored) {
            let id = ev["id"].as_str().unwrap();
            assert_eq!(
                line,
                get(&s, ADMIN, &format!("/api/audit-logs/{id}"))
                    .body
                    .as_slice()
            );
        }
        let file = dir.path().join("chain.ndjson");
        std::fs::write(&file, &r.body).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/verify_chain.py");
        let out = Command::new(&py).arg(script).arg(&file).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // JSON: one array, the same objects; descending when asked.
    let r = get(
        &s,
        &keys[0],
        "/api/audit-logs/export?format=json&sort_order=desc",
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let mut desc = parse(&py, dir.path(), "json", &r.body);
    desc.reverse();
    assert_eq!(desc, stored);

    // CSV: every cell is the value (formulas defused with a leading ').
    let r = get(&s, &keys[0], "/api/audit-logs/export?format=csv");
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let rows = parse(&py, dir.path(), "csv", &r.body);
    assert_eq!(rows.len(), n);
    for row in &rows {
        let row = row["row"].as_object().unwrap();
        let ev = by_seq(row["seq"].as_str().unwrap().parse().unwrap());
        for (col, cell) in row {
            let cell = cell.as_str().unwrap();
            let Some(v) = ev.get(col) else {
                assert_eq!(cell, "", "{col} is absent: an empty cell");
                continue;
            };
            let text = text_of(v);
            if matches!(v, Value::Object(_) | Value::Array(_)) {
                assert_eq!(&serde_json::from_str::<Value>(cell).unwrap(), v, "{col}");
            } else if text.starts_with(['=', '+', '-', '@', '\t', '\r'])
                && text.parse::<f64>().is_err()
            {
                assert_eq!(cell, format!("'{text}"), "{col} is defused");
            } else {
                assert_eq!(cell, text, "{col}");
            }
        }
    }

    // CEF: header fields and every labelled extension.
    let r = get(&s, &keys[0], "/api/audit-logs/export/cef?chunk_size=100");
    let cef_body = r.body.clone();
    let recs = parse(&py, dir.path(), "cef", &r.body);
    assert_eq!(recs.len(), n);
    for rec in &recs {
        let x = rec["extensions"].as_object().unwrap();
        let ev = by_seq(x["cn1"].as_str().unwrap().parse().unwrap());
        assert_eq!(x["cn1Label"], "seq");
        assert_eq!(x["cs1"], T);
        assert_eq!(x["cs2"], ev["hash"]);
        assert_eq!(x["cs3"], ev["prev_hash"]);
        assert_eq!(x["externalId"], ev["id"]);
        assert_eq!(rec["signature_id"], ev["event_type"]);
        for (key, field, max) in [
            ("msg", "event_description", 1023),
            ("act", "action", 63),
            ("suser", "user_name", 1023),
            ("reason", "error_message", 1023),
            ("request", "endpoint", 1023),
        ] {
            match ev.get(field) {
                Some(v) => assert_eq!(x[key], cef_value(v.as_str().unwrap(), max), "{key}"),
                None => assert!(!x.contains_key(key), "{key}"),
            }
        }
        let ip = ev.get("ip_address").and_then(Value::as_str);
        match ip {
            Some(ip) if ip.contains(':') => assert_eq!(x["c6a1"], ip),
            Some(ip) => assert_eq!(x["src"], ip),
            None => {}
        }
        for (k, _) in x {
            if let Some(base) = k.strip_suffix("Label") {
                assert!(x.contains_key(base), "label {k} without its key");
            } else if k.starts_with("cs")
                || k.starts_with("cn")
                || k.starts_with("flexString")
                || k.starts_with("c6a")
            {
                assert!(x.contains_key(&format!("{k}Label")), "{k} without a label");
            }
        }
    }

    // LEEF 1.0 and 2.0: the neutralised values, devTime and sev.
    for (version, format, delimiter) in [("1.0", "leef1", '\t'), ("2.0", "leef2", '^')] {
        let r = get(
            &s,
            &keys[0],
            &format!("/api/audit-logs/export/leef?version={version}"),
        );
        let recs = parse(&py, dir.path(), format, &r.body);
        assert_eq!(recs.len(), n);
        for rec in &recs {
            let a = rec["attributes"].as_object().unwrap();
            let ev = by_seq(a["seq"].as_str().unwrap().parse().unwrap());
            assert_eq!(a["hash"], ev["hash"]);
            assert_eq!(a["tenant"], T);
            assert_eq!(rec["event_id"], ev["event_type"]);
            assert!(a["devTime"].as_str().unwrap().ends_with('Z'));
            for (key, field) in [
                ("msg", "event_description"),
                ("usrName", "user_name"),
                ("errorMessage", "error_message"),
                ("url", "endpoint"),
            ] {
                if let Some(v) = ev.get(field) {
                    assert_eq!(
                        a[key],
                        leef_value(v.as_str().unwrap(), delimiter),
                        "{format} {key}"
                    );
                }
            }
        }
    }

    // Syslog, both framings: SD params, and MSG is the event (or its cut start).
    let py_keys = &keys[1];
    for (framing, format) in [("lf", "syslog-lf"), ("octet", "syslog-octet")] {
        let r = get(
            &s,
            py_keys,
            &format!("/api/audit-logs/export/syslog?framing={framing}"),
        );
        let recs = parse(&py, dir.path(), format, &r.body);
        assert_eq!(recs.len(), n);
        for rec in &recs {
            let sd = &rec["sd"]["sealog@32473"];
            let ev = by_seq(sd["seq"].as_str().unwrap().parse().unwrap());
            assert_eq!(sd["id"], ev["id"]);
            assert_eq!(sd["tenant"], T);
            assert_eq!(sd["hash"], ev["hash"]);
            assert_eq!(rec["appname"], "sealog");
            assert_eq!(rec["facility"], 13);
            assert_eq!(rec["bom"], true);
            assert_eq!(rec["timestamp"], ev["created_at"]);
            let msg = rec["msg"].as_str().unwrap();
            if let Some(full) = sd.get("truncated") {
                // Cut to the 8,192-octet limit at a character: the start of the event.
                let id = ev["id"].as_str().unwrap();
                let whole = get(&s, ADMIN, &format!("/api/audit-logs/{id}")).body;
                assert_eq!(full.as_str().unwrap(), whole.len().to_string());
                assert!(
                    whole.starts_with(msg.as_bytes()) && msg.len() > 7000,
                    "{id}"
                );
            } else {
                assert_eq!(&serde_json::from_str::<Value>(msg).unwrap(), ev);
            }
        }
    }
    for payload in ["cef", "leef"] {
        let r = get(
            &s,
            py_keys,
            &format!("/api/audit-logs/export/syslog?payload={payload}"),
        );
        let recs = parse(&py, dir.path(), "syslog-lf", &r.body);
        assert_eq!(recs.len(), n);
        let prefix = if payload == "cef" {
            "CEF:0|"
        } else {
            "LEEF:2.0|"
        };
        assert!(recs
            .iter()
            .all(|r| r["msg"].as_str().unwrap().starts_with(prefix)));
    }

    // SOC 2: the report, the chain verification and checkpoint, then the events.
    let r = get(
        &s,
        py_keys,
        "/api/audit-logs/export?format=soc2&severity=critical",
    );
    assert!(r
        .header("content-disposition")
        .unwrap()
        .ends_with(".soc2.json\""));
    let doc = r.json();
    let events = doc["events"].as_array().unwrap();
    let critical: Vec<&Value> = stored
        .iter()
        .filter(|e| e["severity"] == "critical")
        .collect();
    assert_eq!(events.iter().collect::<Vec<_>>(), critical);
    let report = &doc["report"];
    assert_eq!(report["count"], critical.len());
    assert_eq!(report["tenant"], T);
    assert_eq!(report["filters"]["severity"], "critical");
    assert_eq!(report["first_seq"], critical[0]["seq"]);
    assert_eq!(report["chain_verification"]["intact"], true, "{report}");
    assert_eq!(
        report["chain_verification"]["last_seq"],
        critical.last().unwrap()["seq"]
    );
    let resolved: Vec<_> = stored.iter().filter(|e| e["is_resolved"] == true).collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["id"], resolved_id.as_str());

    // Offline (`sealog export --data-dir` runs this function): the same bytes.
    let mut s = s;
    s.stop_cleanly();
    let config = sealog_server::Config::load(<sealog_server::Args as clap::Parser>::parse_from([
        std::ffi::OsStr::new("sealogd"),
        std::ffi::OsStr::new("--data-dir"),
        dir.path().join("data").as_os_str(),
    ]))
    .unwrap();
    let mut offline = Vec::new();
    let n = sealog_server::export_offline(
        &config,
        sealog_server::ExportEndpoint::Cef,
        "chunk_size=100",
        T,
        &mut offline,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(n as usize, stored.len());
    assert_eq!(offline, cef_body);
}

#[test]
fn a_20000_event_export_is_complete_in_order_and_ends_where_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(dir.path(), &[]);
    let all = events(9, 20_000);
    for part in all.chunks(5_000) {
        post_batch(&s, T, &format!("[{}]", part.join(",")));
    }
    let key = s.key("auditor", T);
    // Ingest keeps running while the export streams.
    let addr = s.addr;
    let more = std::thread::spawn(move || {
        for part in events(10, 2_000).chunks(200) {
            let body = format!("[{}]", part.join(","));
            let r = common::try_request(
                addr,
                "POST",
                "/api/audit-logs/batch",
                &[("Authorization", &auth(ADMIN)), ("X-Tenant-Id", T)],
                body.as_bytes(),
            )
            .unwrap();
            assert_eq!(r.status, 201);
        }
    });
    let r = get(&s, &key, "/api/audit-logs/export/ndjson?chunk_size=1000");
    more.join().unwrap();
    assert_eq!(r.status, 200);
    let lines: Vec<Value> = r
        .body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert!(
        lines.len() >= 20_000 && lines.len() <= 22_000,
        "{}",
        lines.len()
    );
    for (i, ev) in lines.iter().enumerate() {
        assert_eq!(ev["seq"], i as u64 + 1, "complete and in order");
    }
    // from_seq resumes exactly after the last line received.
    let next = lines.len() as u64 + 1;
    let r = get(
        &s,
        &key,
        &format!("/api/audit-logs/export/ndjson?from_seq={next}"),
    );
    let rest: Vec<Value> = r
        .body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len() + rest.len(), 22_000);
    assert!(rest
        .iter()
        .enumerate()
        .all(|(i, e)| e["seq"] == next + i as u64));
    // The limited export keeps the first `limit` in the chosen order.
    let r = get(
        &s,
        &key,
        "/api/audit-logs/export?format=json&limit=50000&sort_order=desc",
    );
    let desc: Vec<Value> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(desc.len(), 22_000);
    assert_eq!(desc[0]["seq"], 22_000);
    let r = get(&s, &key, "/api/audit-logs/export?format=csv&limit=3");
    let text = r.text();
    assert_eq!(text.matches("\r\n").count(), 4, "a header and three rows");
}

#[test]
fn bad_parameters_roles_tenants_and_the_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(dir.path(), &[]);
    post_batch(&s, T, &format!("[{}]", events(3, 40).join(",")));
    post_batch(&s, "other", &format!("[{}]", events(4, 10).join(",")));
    let bad: HashMap<&str, &str> = HashMap::from([
        ("/api/audit-logs/export?limit=0", "limit"),
        ("/api/audit-logs/export?limit=50001", "limit"),
        ("/api/audit-logs/export?format=xml", "format"),
        ("/api/audit-logs/export?sort_order=up", "sort_order"),
        ("/api/audit-logs/export?from_seq=0", "from_seq"),
        ("/api/audit-logs/export?chunk_size=1000", "chunk_size"),
        ("/api/audit-logs/export/cef?chunk_size=99", "chunk_size"),
        ("/api/audit-logs/export/cef?chunk_size=5001", "chunk_size"),
        ("/api/audit-logs/export/cef?limit=10", "limit"),
        ("/api/audit-logs/export/leef?version=3.0", "version"),
        ("/api/audit-logs/export/syslog?framing=crlf", "framing"),
        ("/api/audit-logs/export/syslog?payload=xml", "payload"),
        (
            "/api/audit-logs/export/ndjson?start_date=yesterday",
            "start_date",
        ),
    ]);
    // Each key makes at most 10 requests a minute.
    let keys: Vec<String> = (0..2).map(|_| s.key("auditor", T)).collect();
    for (i, (path, field)) in bad.iter().enumerate() {
        let r = get(&s, &keys[i / 10], path);
        let locs = r.locs();
        assert!(locs.contains(&json!(["query", field])), "{path}: {locs:?}");
    }
    // Roles: a writer may not export; a one-tenant key sees only its tenant.
    let writer = s.key("writer", T);
    assert_eq!(get(&s, &writer, "/api/audit-logs/export/cef").status, 403);
    let other = s.key("auditor", "other");
    let r = s.req(
        "GET",
        "/api/audit-logs/export/ndjson",
        &[("Authorization", &auth(&other))],
        b"",
    );
    let tenants: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["tenant_id"].clone())
        .collect();
    assert_eq!(tenants.len(), 10);
    assert!(tenants.iter().all(|t| t == "other"));
    let r = s.req(
        "GET",
        "/api/audit-logs/export/ndjson",
        &[("Authorization", &auth(&other)), ("X-Tenant-Id", T)],
        b"",
    );
    assert_eq!(r.status, 403);
    // The 11th export request of a key within a minute: 429 with Retry-After.
    let key = s.key("auditor", T);
    for _ in 0..10 {
        assert_eq!(get(&s, &key, "/api/audit-logs/export?limit=1").status, 200);
    }
    let r = get(&s, &key, "/api/audit-logs/export/cef");
    assert_eq!(r.status, 429, "{}", r.text());
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Other keys are not affected, and the server is fine.
    assert_eq!(get(&s, ADMIN, "/api/audit-logs/export?limit=1").status, 200);
}
