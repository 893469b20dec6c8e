//! server/openapi.json is what sealogd serves and routes, and what its generator writes
//! now: GET /openapi.json returns the file's bytes; every documented operation reaches a
//! handler (never the "no such endpoint" fallback nor the router's own 405) and answers a
//! status the document declares for it; undocumented methods and paths do not reach one.
//! server/openapi/gen.py and render.py reproduce openapi.json and docs/API.md byte for
//! byte, and check_api_md.py finds every curl example and response of API.md conforming.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const OPENAPI: &str = include_str!("../openapi.json");
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The Python packages the scripts need (server/openapi/README.md lists the same pins):
/// (distribution, version). rfc3339-validator makes jsonschema check `date-time`.
const PY_PACKAGES: &[(&str, &str)] = &[
    ("rfc8785", "0.1.4"),
    ("jsonschema", "4.26.0"),
    ("referencing", "0.37.0"),
    ("rfc3339-validator", "0.1.4"),
];

/// A Python with exactly `PY_PACKAGES` (see `common::python_with`).
fn python() -> PathBuf {
    common::python_with("py-openapi", PY_PACKAGES)
}

/// Runs one script of server/openapi/ (no .pyc files left in the tree).
fn run_script(py: &Path, script: &str, args: &[&Path]) -> Output {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("openapi")
        .join(script);
    let out = Command::new(py)
        .arg("-B")
        .arg(&path)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Panics naming the first differing line unless `fresh` is `committed`.
fn assert_same(fresh: &str, committed: &str, what: &str) {
    if fresh == committed {
        return;
    }
    let line = fresh
        .lines()
        .zip(committed.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| fresh.lines().count().min(committed.lines().count()));
    panic!(
        "{what} is not what server/openapi/ generates (first difference at line {}: \
         generated {:?}, committed {:?}); regenerate with \
         `python3 server/openapi/gen.py && python3 server/openapi/render.py`",
        line + 1,
        fresh.lines().nth(line),
        committed.lines().nth(line)
    );
}

#[test]
fn generators_reproduce_the_files_and_api_md_examples_conform() {
    let py = python();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("openapi.json");
    run_script(&py, "gen.py", &[&json]);
    assert_same(
        &std::fs::read_to_string(&json).unwrap(),
        OPENAPI,
        "server/openapi.json",
    );
    let md = dir.path().join("API.md");
    run_script(&py, "render.py", &[&md]);
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/API.md");
    assert_same(
        &std::fs::read_to_string(&md).unwrap(),
        &std::fs::read_to_string(committed).unwrap(),
        "docs/API.md",
    );
    let out = run_script(&py, "check_api_md.py", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("; 0 problems"), "{stdout}");
}

/// A random UUID, printed so a failing run can be replayed by hand.
fn random_uuid() -> String {
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    eprintln!("path ids: {id}");
    id.to_string()
}

/// The template with every `{param}` segment replaced by `id`.
fn fill(template: &str, id: &str) -> String {
    template
        .split('/')
        .map(|seg| if seg.starts_with('{') { id } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

fn detail(r: &common::Resp) -> String {
    serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| v["detail"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// True if the router answered for want of a handler: its fallback 404 or its own 405.
fn router_refused(r: &common::Resp) -> bool {
    let d = detail(r);
    (r.status == 404 && d.starts_with("no such endpoint"))
        || (r.status == 405 && d.starts_with("method "))
}

#[test]
fn sealogd_serves_and_routes_exactly_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let s = common::Server::start_in(dir.path(), &[]);

    let r = s.req("GET", "/openapi.json", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.body == OPENAPI.as_bytes(),
        "GET /openapi.json is not server/openapi.json"
    );

    let doc: Value = serde_json::from_str(OPENAPI).unwrap();
    let id = random_uuid();
    let mut operations = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        let path = fill(template, &id);
        let mut documented = Vec::new();
        for method in METHODS {
            let Some(op) = item.get(method.to_lowercase()) else {
                continue;
            };
            documented.push(method);
            operations += 1;
            let body: &[u8] = if op.get("requestBody").is_some() {
                b"{}"
            } else {
                b""
            };
            let r = s.admin(method, &path, body);
            assert!(
                !router_refused(&r),
                "{method} {template} is documented but not routed: {} {}",
                r.status,
                r.text()
            );
            assert!(
                op["responses"].get(r.status.to_string()).is_some(),
                "{method} {template} answered {}, which the document does not declare: {}",
                r.status,
                r.text()
            );
        }
        for method in METHODS.iter().filter(|m| !documented.contains(m)) {
            let r = s.admin(method, &path, b"");
            assert!(
                r.status == 405 && router_refused(&r),
                "{method} {template} is not documented but answered {} {}",
                r.status,
                r.text()
            );
            let mut allow: Vec<&str> = r
                .header("allow")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|m| *m != "HEAD")
                .collect();
            allow.sort_unstable();
            let mut want = documented.clone();
            want.sort_unstable();
            assert_eq!(allow, want, "Allow of {method} {template}");
        }
    }
    assert!(operations >= 18, "only {operations} operations documented");

    // Paths nobody documented reach no handler.
    for (method, path) in [
        ("GET", "/api/webhooks".to_owned()),
        ("POST", "/api/webhooks".to_owned()),
        ("GET", "/api/audit-logs/export/xml".to_owned()),
        ("GET", format!("/api/audit-logs/{id}/export")),
        ("POST", "/api/audit-logs/export".to_owned()),
    ] {
        let r = s.admin(method, &path, b"");
        assert!(
            router_refused(&r),
            "{method} {path} is not documented but answered {} {}",
            r.status,
            r.text()
        );
    }
    // The literal `/api/audit-logs/export` wins over `/api/audit-logs/{id}`.
    let r = s.admin("GET", "/api/audit-logs/export", b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
}
