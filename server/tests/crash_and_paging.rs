//! kill -9 of the real sealogd under concurrent load: every event that got a 201 is
//! there after restart and every chain is intact. Cursor paging while ingest runs: no
//! duplicates, no gaps.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use common::{read_chain, try_request, Server, ADMIN};

#[test]
fn every_acknowledged_event_survives_kill_9_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let tenants = ["acme", "beta", "gamma"];
    let acked: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
    for round in 0..3u64 {
        let mut s = Server::start_in(dir.path(), &[]);
        let addr = s.addr;
        let stop = AtomicBool::new(false);
        std::thread::scope(|sc| {
            for w in 0..8u64 {
                let (acked, stop) = (&acked, &stop);
                sc.spawn(move || {
                    let auth = format!("Bearer {ADMIN}");
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let tenant = tenants[((w + i) % 3) as usize];
                        let n = 1 + (i % 20) as usize;
                        let body: Vec<String> = (0..n)
                            .map(|k| format!(r#"{{"event_type":"load.event","user_id":"r{round}-w{w}-{i}-{k}"}}"#))
                            .collect();
                        let (path, body) = if n == 1 {
                            ("/api/audit-logs", body[0].clone())
                        } else {
                            ("/api/audit-logs/batch", format!("[{}]", body.join(",")))
                        };
                        match try_request(addr, "POST", path, &[("Authorization", &auth), ("X-Tenant-Id", tenant)], body.as_bytes()) {
                            Ok(r) if r.status == 201 => {
                                let v = r.json();
                                let ids: Vec<String> = match v.get("ids") {
                                    Some(ids) => ids.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
                                    None => vec![v["id"].as_str().unwrap().to_owned()],
                                };
                                let mut a = acked.lock().unwrap();
                                a.extend(ids.into_iter().map(|id| (tenant.to_owned(), id)));
                            }
                            // Refused or cut off by the kill: not acknowledged, no promise.
                            Ok(r) => assert!(r.status == 503, "unexpected {}: {}", r.status, r.text()),
                            Err(_) => return,
                        }
                        i += 1;
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(700 + 400 * round));
            s.kill9();
            stop.store(true, Ordering::Relaxed);
        });
    }
    let s = Server::start_in(dir.path(), &[]);
    let acked = acked.into_inner().unwrap();
    assert!(
        acked.len() > 100,
        "the load produced only {} acknowledged events",
        acked.len()
    );
    let mut stored: HashSet<(String, String)> = HashSet::new();
    for t in tenants {
        for e in read_chain(&s, ADMIN, Some(t)) {
            stored.insert((t.to_owned(), e["id"].as_str().unwrap().to_owned()));
        }
    }
    let missing: Vec<_> = acked.iter().filter(|a| !stored.contains(*a)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    // The log also passes the engine's own check after the kills.
    assert_eq!(s.admin("GET", "/healthz", b"").json()["status"], "ok");
}

#[test]
fn cursor_pages_have_no_duplicates_or_gaps_while_ingest_runs() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(dir.path(), &[]);
    let body = format!("[{}]", common::events(21, 600).join(","));
    assert_eq!(
        s.admin("POST", "/api/audit-logs/batch", body.as_bytes())
            .status,
        201
    );
    let stop = AtomicBool::new(false);
    // Stops the writer however the walk ends (a panic in the walk must not leave the
    // scope waiting for the writer forever).
    struct StopOnDrop<'a>(&'a AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let (desc, asc) = std::thread::scope(|sc| {
        let _stop = StopOnDrop(&stop);
        sc.spawn(|| {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let r = s.admin(
                    "POST",
                    "/api/audit-logs",
                    format!(r#"{{"event_type":"during.paging","user_id":"p{i}"}}"#).as_bytes(),
                );
                assert_eq!(r.status, 201);
                i += 1;
            }
        });
        // Newest first: new events land before the cursor, so the walk sees exactly the
        // 600 that existed when it started.
        let page = |path: &str| s.admin("GET", path, b"").json();
        let mut desc: Vec<u64> = Vec::new();
        let mut path = "/api/audit-logs?limit=37".to_owned();
        let mut start_seq = None;
        loop {
            let p = page(&path);
            let seqs: Vec<u64> = p["audit_logs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_u64().unwrap())
                .collect();
            if let Some(first) = seqs.first() {
                start_seq.get_or_insert(*first);
            }
            desc.extend(seqs);
            match p["next_cursor"].as_str() {
                Some(c) => path = format!("/api/audit-logs?limit=37&cursor={c}"),
                None => break,
            }
        }
        // Oldest first: pages follow the writer; stop it after a while and finish.
        let mut asc: Vec<u64> = Vec::new();
        let mut path = "/api/audit-logs?limit=41&sort_order=asc".to_owned();
        let mut pages = 0;
        loop {
            let p = page(&path);
            let got = p["audit_logs"].as_array().unwrap();
            asc.extend(got.iter().map(|e| e["seq"].as_u64().unwrap()));
            pages += 1;
            if pages == 20 {
                stop.store(true, Ordering::Relaxed);
            }
            // At the end of the data a non-empty page still gives a cursor, so a reader
            // follows new events; an empty page gives none.
            match p["next_cursor"].as_str() {
                Some(c) => path = format!("/api/audit-logs?limit=41&sort_order=asc&cursor={c}"),
                None if pages > 20 => break,
                None => {
                    assert!(got.is_empty());
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        (desc, (asc, start_seq.unwrap()))
    });
    let (asc, start) = asc;
    let expect: Vec<u64> = (1..=start).rev().collect();
    assert_eq!(
        desc, expect,
        "desc walk: every event from the first page's newest down to seq 1, once"
    );
    let expect: Vec<u64> = (1..=asc.len() as u64).collect();
    assert_eq!(asc, expect, "asc walk: seq 1.. with no gap and no repeat");
    assert!(asc.len() as u64 > start);
}

#[test]
fn idempotency_keys_survive_kill_9_through_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(dir.path(), &[]);
    let auth = format!("Bearer {ADMIN}");
    let post = |s: &Server, key: &str, body: &str| {
        s.req(
            "POST",
            "/api/audit-logs/batch",
            &[("Authorization", &auth), ("Idempotency-Key", key)],
            body.as_bytes(),
        )
    };
    let body = format!("[{}]", common::events(9, 25).join(","));
    let first = post(&s, "batch-after-kill", &body);
    assert_eq!(first.status, 201, "{}", first.text());
    // Killed before any idempotency snapshot was written (they are every 10 s): the
    // restarted server finds the key in the log itself (the tagged first id).
    s.kill9();
    let s = Server::start_in(dir.path(), &[]);
    let again = post(&s, "batch-after-kill", &body);
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json(), first.json());
    assert_eq!(read_chain(&s, ADMIN, None).len(), 25, "stored once");
    let other = post(
        &s,
        "batch-after-kill",
        r#"[{"event_type":"something.else"}]"#,
    );
    assert_eq!(other.status, 422, "{}", other.text());
}
