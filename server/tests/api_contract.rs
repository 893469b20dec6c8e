//! The HTTP contract (docs/API.md, ../shared/spec/api.md), checked against the real
//! sealogd on a loopback port.
#![allow(clippy::unwrap_used)]

mod common;

use common::{events, read_chain, Server, ADMIN};
use serde_json::{json, Value};

fn start() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_in(dir.path(), &[]);
    (dir, server)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn authentication_then_role_then_request() {
    let (_dir, s) = start();
    // 401 before anything else, even on unknown paths and wrong methods.
    for (m, p) in [
        ("GET", "/api/audit-logs"),
        ("GET", "/api/nope"),
        ("DELETE", "/api/audit-logs"),
        ("TRACE", "/api/keys"),
    ] {
        let r = s.req(m, p, &[], b"");
        assert_eq!(r.status, 401, "{m} {p}: {}", r.text());
        assert!(r.json()["detail"].as_str().unwrap().contains("credentials"));
        let r = s.req(m, p, &[("X-API-Key", "slk_wrong")], b"");
        assert_eq!(r.status, 401, "{m} {p}");
    }
    let writer = s.key("writer", "acme");
    let auditor = s.key("auditor", "acme");
    let w = bearer(&writer);
    let a = bearer(&auditor);
    // Role checks on every endpoint.
    let ev = br#"{"event_type":"user.login"}"#;
    let id = "01a20184-150d-7b83-b571-dfb571717b61";
    let cases: Vec<(&str, String, &[u8], bool, bool)> = vec![
        // (method, path, body, writer allowed, auditor allowed)
        ("POST", "/api/audit-logs".into(), ev, true, false),
        (
            "POST",
            "/api/audit-logs/batch".into(),
            b"[{\"event_type\":\"a\"}]",
            true,
            false,
        ),
        ("GET", "/api/audit-logs".into(), b"", false, true),
        ("GET", "/api/audit-logs/summary".into(), b"", false, true),
        ("GET", format!("/api/audit-logs/{id}"), b"", false, true),
        (
            "POST",
            format!("/api/audit-logs/{id}/resolve"),
            br#"{"resolved_by":"x"}"#,
            false,
            false,
        ),
        ("GET", "/api/keys".into(), b"", false, false),
        (
            "POST",
            "/api/keys".into(),
            br#"{"name":"n","role":"writer"}"#,
            false,
            false,
        ),
        ("DELETE", format!("/api/keys/{id}"), b"", false, false),
    ];
    for (m, p, body, w_ok, a_ok) in &cases {
        for (who, auth, ok) in [("writer", &w, *w_ok), ("auditor", &a, *a_ok)] {
            let r = s.req(m, p, &[("Authorization", auth.as_str())], body);
            if ok {
                assert!(
                    r.status != 401 && r.status != 403,
                    "{who} {m} {p}: {} {}",
                    r.status,
                    r.text()
                );
            } else {
                assert_eq!(r.status, 403, "{who} {m} {p}: {}", r.text());
                assert!(r.json()["detail"].is_string());
            }
        }
    }
    // Known key: 404 on unknown paths, 405 with Allow on other methods, JSON bodies.
    let r = s.admin("GET", "/api/nope", b"");
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("application/json"));
    for (m, p, allow) in [
        ("PUT", "/api/audit-logs", "GET, POST"),
        ("PATCH", "/api/audit-logs", "GET, POST"),
        ("DELETE", "/api/audit-logs", "GET, POST"),
        ("PUT", &format!("/api/audit-logs/{id}")[..], "GET"),
        ("DELETE", &format!("/api/audit-logs/{id}")[..], "GET"),
    ] {
        let r = s.admin(m, p, b"");
        assert_eq!(r.status, 405, "{m} {p}");
        assert_eq!(r.header("allow"), Some(allow));
        assert!(r.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("audit logs are immutable: "));
    }
    let r = s.admin("TRACE", "/api/audit-logs/summary", b"");
    assert_eq!(r.status, 405);
    assert!(r.header("allow").is_some());
    assert!(r.json()["detail"].is_string());
    // Request ids: echoed, or generated.
    let r = s.req("GET", "/healthz", &[("X-Request-Id", "abc-123")], b"");
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
    assert!(s
        .req("GET", "/healthz", &[], b"")
        .header("x-request-id")
        .is_some_and(|v| v.len() >= 16));
    // Ops endpoints need no key.
    assert_eq!(s.req("GET", "/healthz", &[], b"").json()["status"], "ok");
    let m = s.req("GET", "/metrics", &[], b"");
    assert_eq!(m.status, 200);
    let text = m.text();
    assert!(text.contains("sealog_http_requests_total{route=\"/api/audit-logs\",status=\"201\"}"));
    // The writer's events above waited for fdatasyncs, which the histogram counts.
    let value = |name: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let fsyncs = value("sealog_log_fsync_duration_seconds_count ");
    assert!(fsyncs >= 1.0, "{text}");
    assert_eq!(
        value("sealog_log_fsync_duration_seconds_bucket{le=\"+Inf\"} "),
        fsyncs
    );
    assert!(value("sealog_log_fsync_duration_seconds_sum ") > 0.0);
    assert!(value("sealog_log_fsync_duration_seconds_bucket{le=\"1\"} ") <= fsyncs);
    let o = s.req("GET", "/openapi.json", &[], b"");
    assert_eq!(o.status, 200);
    assert!(o.json()["openapi"].as_str().unwrap().starts_with("3."));
}

#[test]
fn tenants_are_isolated() {
    let (_dir, s) = start();
    let acme_w = bearer(&s.key("writer", "acme"));
    let acme_a = bearer(&s.key("auditor", "acme"));
    let beta_w = bearer(&s.key("writer", "beta"));
    let beta_a = bearer(&s.key("auditor", "beta"));
    let r = s.req(
        "POST",
        "/api/audit-logs",
        &[("Authorization", &acme_w)],
        br#"{"event_type":"secret.acme","user_id":"u-acme"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let acme_id = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["tenant_id"], "acme");
    assert_eq!(r.json()["seq"], 1);
    let r = s.req(
        "POST",
        "/api/audit-logs",
        &[("Authorization", &beta_w)],
        br#"{"event_type":"secret.beta"}"#,
    );
    assert_eq!(
        (r.json()["tenant_id"].as_str(), r.json()["seq"].as_u64()),
        (Some("beta"), Some(1))
    );
    // beta never sees, counts or reads acme's event.
    let r = s.req("GET", "/api/audit-logs", &[("Authorization", &beta_a)], b"");
    assert_eq!(r.json()["total"], 1);
    assert_eq!(r.json()["audit_logs"][0]["event_type"], "secret.beta");
    let r = s.req(
        "GET",
        "/api/audit-logs/summary?user_id=u-acme",
        &[("Authorization", &beta_a)],
        b"",
    );
    assert_eq!(r.json()["total_logs"], 0);
    let r = s.req(
        "GET",
        &format!("/api/audit-logs/{acme_id}"),
        &[("Authorization", &beta_a)],
        b"",
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        s.req(
            "GET",
            &format!("/api/audit-logs/{acme_id}"),
            &[("Authorization", &acme_a)],
            b""
        )
        .status,
        200
    );
    // A one-tenant key naming another tenant: 403; naming its own: fine.
    let r = s.req(
        "GET",
        "/api/audit-logs",
        &[("Authorization", &beta_a), ("X-Tenant-Id", "acme")],
        b"",
    );
    assert_eq!(r.status, 403);
    let r = s.req(
        "GET",
        "/api/audit-logs",
        &[("Authorization", &beta_a), ("X-Tenant-Id", "beta")],
        b"",
    );
    assert_eq!(r.status, 200);
    // An all-tenants key picks with X-Tenant-Id (default "default"); bad names are 422.
    let admin = bearer(ADMIN);
    let r = s.req(
        "GET",
        "/api/audit-logs",
        &[("Authorization", &admin), ("X-Tenant-Id", "acme")],
        b"",
    );
    assert_eq!(r.json()["total"], 1);
    assert_eq!(
        s.req("GET", "/api/audit-logs", &[("Authorization", &admin)], b"")
            .json()["total"],
        0
    );
    let r = s.req(
        "GET",
        "/api/audit-logs",
        &[("Authorization", &admin), ("X-Tenant-Id", "no/such")],
        b"",
    );
    assert_eq!(r.locs(), vec![json!(["header", "X-Tenant-Id"])]);
    // A one-tenant admin manages only its tenant's keys.
    let acme_admin = bearer(&s.key("admin", "acme"));
    let r = s.req(
        "POST",
        "/api/keys",
        &[("Authorization", &acme_admin)],
        br#"{"name":"x","role":"writer","tenant":"beta"}"#,
    );
    assert_eq!(r.status, 403);
    let keys = s
        .req("GET", "/api/keys", &[("Authorization", &acme_admin)], b"")
        .json();
    assert!(keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["tenant"] == "acme"));
    assert!(keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k.get("token").is_none() && k.get("token_sha256").is_none()));
}

#[test]
fn ingest_one_and_batches_all_or_nothing() {
    let (_dir, s) = start();
    let evs = events(7, 50);
    let r = s.admin("POST", "/api/audit-logs", evs[0].as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let one = r.json();
    for k in ["id", "seq", "tenant_id", "created_at", "hash"] {
        assert!(one.get(k).is_some(), "{k} missing in {one}");
    }
    assert_eq!(one.as_object().unwrap().len(), 5);
    // JSON array batch.
    let batch = format!("[{}]", evs[1..21].join(","));
    let r = s.admin("POST", "/api/audit-logs/batch", batch.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    let b = r.json();
    assert_eq!(
        (
            b["count"].as_u64(),
            b["first_seq"].as_u64(),
            b["last_seq"].as_u64()
        ),
        (Some(20), Some(2), Some(21))
    );
    assert_eq!(b["ids"].as_array().unwrap().len(), 20);
    // NDJSON batch.
    let nd = format!("{}\n", evs[21..41].join("\n"));
    let r = s.req(
        "POST",
        "/api/audit-logs/batch",
        &[
            ("Authorization", &bearer(ADMIN)),
            ("Content-Type", "application/x-ndjson"),
        ],
        nd.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["first_seq"], 22);
    // One bad event: 422 naming its index, and nothing stored.
    let mut bad: Vec<String> = evs[41..46].to_vec();
    bad[3] = r#"{"event_type":"x","ip_address":"999.1.1.1"}"#.into();
    let r = s.admin(
        "POST",
        "/api/audit-logs/batch",
        format!("[{}]", bad.join(",")).as_bytes(),
    );
    assert_eq!(r.locs(), vec![json!(["body", 3, "ip_address"])]);
    let d = &r.json()["detail"][0];
    assert!(d["msg"].is_string() && d["type"].is_string() && d.get("input").is_some());
    let nd_bad = format!("{}\n{{not json\n{}\n", evs[46], evs[47]);
    let r = s.req(
        "POST",
        "/api/audit-logs/batch",
        &[
            ("Authorization", &bearer(ADMIN)),
            ("Content-Type", "application/x-ndjson"),
        ],
        nd_bad.as_bytes(),
    );
    assert_eq!(r.locs(), vec![json!(["body", 1])]);
    assert_eq!(r.json()["detail"][0]["type"], "json_invalid");
    let chain = read_chain(&s, ADMIN, None);
    assert_eq!(chain.len(), 41, "the rejected batches stored nothing");
    // The stored events are the canonical form of what was sent, plus server fields.
    let first: Value = serde_json::from_str(&evs[0]).unwrap();
    for (k, v) in first.as_object().unwrap() {
        if k != "amount" && k != "risk_score" && k != "occurred_at" {
            assert_eq!(&chain[0][k], v, "field {k}");
        }
    }
    // Bounds: empty, too many, unknown fields, server fields.
    assert_eq!(
        s.admin("POST", "/api/audit-logs/batch", b"[]").json()["detail"][0]["type"],
        "too_short"
    );
    let many = format!("[{}]", vec![r#"{"event_type":"a"}"#; 10_001].join(","));
    assert_eq!(
        s.admin("POST", "/api/audit-logs/batch", many.as_bytes())
            .json()["detail"][0]["type"],
        "too_long"
    );
    assert_eq!(
        s.admin(
            "POST",
            "/api/audit-logs",
            br#"{"event_type":"a","colour":"red"}"#
        )
        .locs(),
        vec![json!(["body", "colour"])]
    );
    assert_eq!(
        s.admin("POST", "/api/audit-logs", br#"{"event_type":"a","seq":5}"#)
            .locs(),
        vec![json!(["body", "seq"])]
    );
    // 413 over the byte limits, declared in the headers (sending the body would race
    // the server's close; server/tests/hostile_input.rs sends real bodies too).
    for (path, len) in [
        ("/api/audit-logs", 1024 * 1024 + 1),
        ("/api/audit-logs/batch", 32 * 1024 * 1024 + 1),
        ("/api/keys", 70 * 1024),
    ] {
        assert_eq!(
            common::declared_only(s.addr, "POST", path, len).status,
            413,
            "{path}"
        );
    }
}

#[test]
fn idempotent_retries_store_once() {
    let (_dir, s) = start();
    let h = bearer(ADMIN);
    let post = |key: &str, path: &str, body: &str| {
        s.req(
            "POST",
            path,
            &[("Authorization", &h), ("Idempotency-Key", key)],
            body.as_bytes(),
        )
    };
    let a = post(
        "k-1",
        "/api/audit-logs",
        r#"{"event_type":"order.placed","amount":"10.5"}"#,
    );
    assert_eq!(a.status, 201);
    assert!(a.header("idempotent-replayed").is_none());
    // Same body with other whitespace and key order: the same request.
    let b = post(
        "k-1",
        "/api/audit-logs",
        r#"{ "amount" : "10.5", "event_type":"order.placed" }"#,
    );
    assert_eq!(b.status, 201);
    assert_eq!(b.header("idempotent-replayed"), Some("true"));
    assert_eq!(a.json(), b.json());
    // Same key, other body: 422.
    let c = post(
        "k-1",
        "/api/audit-logs",
        r#"{"event_type":"order.cancelled"}"#,
    );
    assert_eq!(c.locs(), vec![json!(["header", "Idempotency-Key"])]);
    // Batches too.
    let body = format!("[{}]", events(3, 30).join(","));
    let b1 = post("batch-1", "/api/audit-logs/batch", &body);
    let b2 = post("batch-1", "/api/audit-logs/batch", &body);
    assert_eq!((b1.status, b2.status), (201, 201));
    assert_eq!(b1.json(), b2.json());
    // Concurrent requests with one key: stored once, both get the same answer.
    let body = r#"{"event_type":"concurrent.once"}"#;
    let answers: Vec<Value> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..8)
            .map(|_| sc.spawn(|| post("same-time", "/api/audit-logs", body)))
            .collect();
        hs.into_iter()
            .map(|t| {
                let r = t.join().unwrap();
                assert_eq!(r.status, 201, "{}", r.text());
                r.json()
            })
            .collect()
    });
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
    let chain = read_chain(&s, ADMIN, None);
    assert_eq!(chain.len(), 1 + 30 + 1);
    // Keys are per tenant: the same key in another tenant is a new request.
    let r = s.req(
        "POST",
        "/api/audit-logs",
        &[
            ("Authorization", &h),
            ("Idempotency-Key", "k-1"),
            ("X-Tenant-Id", "other"),
        ],
        br#"{"event_type":"order.placed","amount":"10.5"}"#,
    );
    assert_eq!(r.status, 201);
    assert!(r.header("idempotent-replayed").is_none());
    // Keys survive a restart.
    let mut s = s;
    s.stop_cleanly();
    let s = Server::start_in(&s.dir.clone(), &[]);
    let h = bearer(ADMIN);
    let again = s.req(
        "POST",
        "/api/audit-logs",
        &[("Authorization", &h), ("Idempotency-Key", "k-1")],
        br#"{"event_type":"order.placed","amount":"10.5"}"#,
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), a.json());
}

#[test]
fn queries_filter_page_and_summarise() {
    let (_dir, s) = start();
    let body = format!("[{}]", events(11, 400).join(","));
    assert_eq!(
        s.admin("POST", "/api/audit-logs/batch", body.as_bytes())
            .status,
        201
    );
    let all = read_chain(&s, ADMIN, None);
    assert_eq!(all.len(), 400);
    // Read-your-writes: visible to the very next query.
    let r = s.admin(
        "POST",
        "/api/audit-logs",
        br#"{"event_type":"ryw.check","user_id":"ryw-user","tags":["a","b"],"risk_score":"99.5"}"#,
    );
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let q = s
        .admin(
            "GET",
            "/api/audit-logs?user_id=ryw-user&tag=a&tag=b&min_risk_score=99",
            b"",
        )
        .json();
    assert_eq!(q["total"], 1);
    assert_eq!(q["audit_logs"][0]["id"], id.as_str());
    assert_eq!(q["audit_logs"][0]["is_resolved"], false);
    // A filter against a brute-force count over the events read back.
    let user = all[17]["user_id"].as_str().unwrap().to_owned();
    let expect = all.iter().filter(|e| e["user_id"] == user.as_str()).count();
    let got = s
        .admin(
            "GET",
            &format!("/api/audit-logs?user_id={user}&limit=1000"),
            b"",
        )
        .json();
    assert_eq!(got["total"].as_u64().unwrap() as usize, expect);
    let sev = all.iter().filter(|e| e["severity"] == "high").count();
    assert_eq!(
        s.admin("GET", "/api/audit-logs?severity=high&limit=1", b"")
            .json()["total"]
            .as_u64()
            .unwrap() as usize,
        sev
    );
    // Offset paging and cursor paging agree with the full list (desc by default).
    let mut by_offset = Vec::new();
    for off in (0..401).step_by(100) {
        let page = s
            .admin(
                "GET",
                &format!("/api/audit-logs?limit=100&offset={off}"),
                b"",
            )
            .json();
        assert_eq!(page["total"], 401);
        by_offset.extend(
            page["audit_logs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
    }
    let mut by_cursor = Vec::new();
    let mut path = "/api/audit-logs?limit=64".to_owned();
    loop {
        let page = s.admin("GET", &path, b"").json();
        by_cursor.extend(
            page["audit_logs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/audit-logs?limit=64&cursor={c}"),
            None => {
                assert_eq!(page["has_more"], false);
                break;
            }
        }
    }
    assert_eq!(by_offset.len(), 401);
    assert_eq!(by_offset, by_cursor);
    let seqs: Vec<u64> = s.admin("GET", "/api/audit-logs?limit=5", b"").json()["audit_logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [401, 400, 399, 398, 397]);
    // Summary.
    let sum = s.admin("GET", "/api/audit-logs/summary", b"").json();
    assert_eq!(sum["total_logs"], 401);
    let n: u64 = sum["by_severity"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(n, 401);
    for k in ["by_table", "by_user", "by_action", "by_event_type"] {
        assert!(sum[k].is_object(), "{k}");
    }
    // Parameter errors: every problem named, FastAPI shape.
    let r = s.admin("GET", "/api/audit-logs?limit=0&offset=-1&sort_order=up&severity=loud&is_resolved=maybe&bogus=1&start_date=yesterday", b"");
    let mut locs: Vec<String> = r
        .locs()
        .iter()
        .map(|l| l[1].as_str().unwrap().to_owned())
        .collect();
    locs.sort();
    assert_eq!(
        locs,
        [
            "bogus",
            "is_resolved",
            "limit",
            "offset",
            "severity",
            "sort_order",
            "start_date"
        ]
    );
    let limit_item = r.json()["detail"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["loc"][1] == "limit")
        .unwrap()
        .clone();
    assert_eq!(limit_item["ctx"]["ge"], 1);
    let r = s.admin("GET", "/api/audit-logs?limit=1001", b"");
    assert_eq!(r.json()["detail"][0]["ctx"]["le"], 1000);
    let r = s.admin(
        "GET",
        &format!("/api/audit-logs?offset=5&cursor={}", "00"),
        b"",
    );
    assert_eq!(r.locs(), vec![json!(["query", "cursor"])]);
    // Dates: a date-only end includes the whole day.
    let day = all[0]["created_at"].as_str().unwrap()[..10].to_owned();
    let r = s
        .admin(
            "GET",
            &format!("/api/audit-logs?start_date={day}&end_date={day}&limit=1"),
            b"",
        )
        .json();
    assert_eq!(r["total"], 401);
    // Get one, 404, 422.
    assert_eq!(
        s.admin("GET", &format!("/api/audit-logs/{id}"), b"").json()["user_id"],
        "ryw-user"
    );
    assert_eq!(
        s.admin(
            "GET",
            "/api/audit-logs/01a20184-150d-7b83-b571-dfb571717b61",
            b""
        )
        .status,
        404
    );
    assert_eq!(
        s.admin("GET", "/api/audit-logs/12", b"").locs(),
        vec![json!(["path", "id"])]
    );
}

#[test]
fn resolve_overlays_and_keys_take_effect_at_once() {
    let (_dir, s) = start();
    let r = s.admin(
        "POST",
        "/api/audit-logs",
        br#"{"event_type":"alert.raised","severity":"high"}"#,
    );
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let hash = r.json()["hash"].as_str().unwrap().to_owned();
    let r = s.admin(
        "POST",
        &format!("/api/audit-logs/{id}/resolve"),
        br#"{"resolved_by":"alice","resolution_notes":"false positive"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let ev = r.json();
    assert_eq!(
        (
            ev["is_resolved"].as_bool(),
            ev["resolved_by"].as_str(),
            ev["hash"].as_str()
        ),
        (Some(true), Some("alice"), Some(hash.as_str()))
    );
    assert!(ev["resolved_at"].is_string());
    // A later resolution replaces the overlay; the event itself never changes.
    s.admin(
        "POST",
        &format!("/api/audit-logs/{id}/resolve"),
        br#"{"resolved_by":"bob"}"#,
    );
    let got = s.admin("GET", &format!("/api/audit-logs/{id}"), b"").json();
    assert_eq!(got["resolved_by"], "bob");
    assert!(got.get("resolution_notes").is_none());
    assert_eq!(got["hash"], hash.as_str());
    assert_eq!(
        s.admin("GET", "/api/audit-logs?is_resolved=true", b"")
            .json()["total"],
        1
    );
    let res = s
        .admin("GET", "/api/audit-logs?event_type=audit.resolution", b"")
        .json();
    assert_eq!(res["total"], 2);
    assert_eq!(res["audit_logs"][0]["record_id"], id.as_str());
    // Resolve errors.
    assert_eq!(
        s.admin(
            "POST",
            "/api/audit-logs/01a20184-150d-7b83-b571-dfb571717b61/resolve",
            br#"{"resolved_by":"x"}"#
        )
        .status,
        404
    );
    assert_eq!(
        s.admin("POST", &format!("/api/audit-logs/{id}/resolve"), br#"{}"#)
            .locs(),
        vec![json!(["body", "resolved_by"])]
    );
    // Keys: the token is shown once; delete takes effect at once.
    let r = s.admin(
        "POST",
        "/api/keys",
        br#"{"name":"ci","role":"auditor","tenant":"*"}"#,
    );
    assert_eq!(r.status, 201);
    let k = r.json();
    for f in ["id", "name", "role", "tenant", "token", "created_at"] {
        assert!(k.get(f).is_some(), "{f}");
    }
    let token = bearer(k["token"].as_str().unwrap());
    assert_eq!(
        s.req("GET", "/api/audit-logs", &[("Authorization", &token)], b"")
            .status,
        200
    );
    let listed = s.admin("GET", "/api/keys", b"").json();
    let mine = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == k["id"])
        .unwrap()
        .clone();
    assert!(mine["last_used_at"].is_string());
    assert_eq!(
        s.admin(
            "DELETE",
            &format!("/api/keys/{}", k["id"].as_str().unwrap()),
            b""
        )
        .status,
        204
    );
    assert_eq!(
        s.req("GET", "/api/audit-logs", &[("Authorization", &token)], b"")
            .status,
        401
    );
    assert_eq!(
        s.admin(
            "DELETE",
            &format!("/api/keys/{}", k["id"].as_str().unwrap()),
            b""
        )
        .status,
        404
    );
    let r = s.admin("POST", "/api/keys", br#"{"name":"x","role":"root"}"#);
    assert_eq!(r.locs(), vec![json!(["body", "role"])]);
}

#[test]
fn restart_keeps_events_and_chains_continue() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(dir.path(), &[]);
    let writer = s.key("writer", "acme");
    let auditor = s.key("auditor", "acme");
    let body = format!("[{}]", events(5, 100).join(","));
    let r = s.req(
        "POST",
        "/api/audit-logs/batch",
        &[("Authorization", &bearer(&writer))],
        body.as_bytes(),
    );
    assert_eq!(r.status, 201);
    s.stop_cleanly();
    let s = Server::start_in(dir.path(), &[]);
    // Keys survived (stored hashed), and the chain continues at seq 101.
    let r = s.req(
        "POST",
        "/api/audit-logs",
        &[("Authorization", &bearer(&writer))],
        br#"{"event_type":"after.restart"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["seq"], 101);
    let chain = read_chain(&s, &auditor, None);
    assert_eq!(chain.len(), 101);
    let stored = std::fs::read_to_string(dir.path().join("data/keys.json")).unwrap();
    assert!(
        !stored.contains(&writer),
        "tokens are never stored in clear"
    );
}
