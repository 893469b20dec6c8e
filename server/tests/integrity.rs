//! The integrity endpoints on the real sealogd: signed checkpoints a client checks with
//! the public key alone, inclusion and consistency proofs, receipts, verify and
//! verify-chain; then forgeries written into the real segment files between restarts
//! (an edit, an edit with its hash recomputed, a consistent rewrite of the chain, a
//! deletion, a truncation), each named.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{events, read_chain, Server, ADMIN};
use sealog_engine::merkle::note::{open_checkpoint, VerifierKey};
use sealog_engine::merkle::tree::{self, leaf_hash, node_hash};
use sealog_engine::merkle::Hash;
use sealog_engine::storage::testkit::forge::Forger;
use sealog_engine::Lsn;
use serde_json::Value;

const T: &str = "acme";

fn get(s: &Server, path: &str) -> common::Resp {
    s.req(
        "GET",
        path,
        &[
            ("Authorization", &format!("Bearer {ADMIN}")),
            ("X-Tenant-Id", T),
        ],
        b"",
    )
}

fn ingest(s: &Server, seed: u64, n: usize) {
    let body = format!("[{}]", events(seed, n).join(","));
    let r = s.req(
        "POST",
        "/api/audit-logs/batch",
        &[
            ("Authorization", &format!("Bearer {ADMIN}")),
            ("X-Tenant-Id", T),
        ],
        body.as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Polls until the latest checkpoint has `size` leaves; returns it.
fn checkpoint_of(s: &Server, size: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = get(s, "/api/audit-logs/checkpoint");
        if r.status == 200 && r.json()["tree_size"].as_u64() == Some(size) {
            return r.json();
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint of size {size}: {} {}",
            r.status,
            r.text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn hash(v: &Value) -> Hash {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn path(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hash).collect()
}

fn naive_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => tree::EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
        }
    }
}

fn public_key(s: &Server) -> VerifierKey {
    // No credentials needed.
    let r = s.req("GET", "/api/audit-logs/public-key", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["algorithm"], "ed25519");
    let key = VerifierKey::parse(v["vkey"].as_str().unwrap()).unwrap();
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v["public_key"].as_str().unwrap())
        .unwrap();
    assert_eq!(raw, key.public_key());
    assert_eq!(key.name(), "sealog");
    key
}

/// The checkpoint's note verifies with the public key and says what the JSON says.
fn check_note(cp: &Value, key: &VerifierKey) -> Hash {
    let opened = open_checkpoint(cp["note"].as_str().unwrap(), key).unwrap();
    assert_eq!(opened.origin(), format!("sealog/{T}"));
    assert_eq!(cp["origin"], format!("sealog/{T}"));
    assert_eq!(Some(opened.size()), cp["tree_size"].as_u64());
    assert_eq!(opened.root(), hash(&cp["root_hash"]));
    opened.root()
}

#[test]
fn checkpoints_proofs_receipts_and_verification_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(dir.path(), &[]);
    let key = public_key(&s);
    let r = get(&s, "/api/audit-logs/checkpoint");
    assert_eq!(r.status, 404, "no events, no checkpoint: {}", r.text());

    ingest(&s, 1, 50);
    let cp50 = checkpoint_of(&s, 50);
    let root50 = check_note(&cp50, &key);
    let chain = read_chain(&s, ADMIN, Some(T));
    let leaves: Vec<Hash> = chain.iter().map(|e| leaf_hash(&hash(&e["hash"]))).collect();
    assert_eq!(root50, naive_root(&leaves));
    for e in chain.iter().step_by(7) {
        let id = e["id"].as_str().unwrap();
        let r = get(&s, &format!("/api/audit-logs/{id}/proof"));
        assert_eq!(r.status, 200, "{}", r.text());
        let p = r.json();
        let seq = e["seq"].as_u64().unwrap();
        assert_eq!(p["leaf_index"].as_u64(), Some(seq - 1));
        assert_eq!(p["tree_size"].as_u64(), Some(50));
        tree::verify_inclusion(
            &leaf_hash(&hash(&e["hash"])),
            seq - 1,
            50,
            &path(&p["inclusion_path"]),
            &root50,
        )
        .unwrap();
    }

    ingest(&s, 2, 30);
    let cp80 = checkpoint_of(&s, 80);
    let root80 = check_note(&cp80, &key);
    let again = get(&s, "/api/audit-logs/checkpoint?tree_size=50").json();
    assert_eq!(again, cp50, "an old checkpoint is served unchanged");
    let c = get(&s, "/api/audit-logs/consistency?first=50&second=80").json();
    assert_eq!(
        (hash(&c["first_root"]), hash(&c["second_root"])),
        (root50, root80)
    );
    tree::verify_consistency(50, 80, &root50, &root80, &path(&c["consistency_path"])).unwrap();
    let same = get(&s, "/api/audit-logs/consistency?first=80&second=80").json();
    assert_eq!(same["consistency_path"], Value::Array(vec![]));

    // A receipt: the event as GET returns it, a signed checkpoint, the proof.
    let chain = read_chain(&s, ADMIN, Some(T));
    let e = &chain[64];
    let id = e["id"].as_str().unwrap();
    let r = get(&s, &format!("/api/audit-logs/{id}/receipt"));
    assert_eq!(r.status, 200, "{}", r.text());
    let receipt = r.json();
    assert_eq!(
        receipt["event"],
        get(&s, &format!("/api/audit-logs/{id}")).json()
    );
    let root = check_note(&receipt["checkpoint"], &key);
    let p = &receipt["proof"];
    tree::verify_inclusion(
        &leaf_hash(&hash(&receipt["event"]["hash"])),
        p["leaf_index"].as_u64().unwrap(),
        p["tree_size"].as_u64().unwrap(),
        &path(&p["inclusion_path"]),
        &root,
    )
    .unwrap();

    // Precise refusals.
    for (path, status) in [
        ("/api/audit-logs/checkpoint?tree_size=49", 404),
        ("/api/audit-logs/checkpoint?tree_size=0", 422),
        ("/api/audit-logs/checkpoint?tree_size=abc", 422),
        ("/api/audit-logs/checkpoint?size=50", 422),
        (&format!("/api/audit-logs/{id}/proof?tree_size=49"), 404),
        (&format!("/api/audit-logs/{id}/proof?tree_size=50"), 409),
        ("/api/audit-logs/not-a-uuid/proof", 422),
        (
            "/api/audit-logs/00000000-0000-7000-8000-000000000000/proof",
            404,
        ),
        ("/api/audit-logs/consistency?first=80&second=50", 422),
        ("/api/audit-logs/consistency?first=0&second=50", 422),
        ("/api/audit-logs/consistency?first=50", 422),
        ("/api/audit-logs/consistency?first=50&second=81", 404),
        ("/api/audit-logs/verify?limit=0", 422),
        ("/api/audit-logs/verify?limit=10001", 422),
        ("/api/audit-logs/verify-chain?start_date=yesterday", 422),
        ("/api/audit-logs/verify-chain?bogus=1", 422),
    ] {
        let r = get(&s, path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(r.json()["detail"].is_string() || r.json()["detail"].is_array());
    }
    let other = s.req(
        "GET",
        "/api/audit-logs/checkpoint",
        &[
            ("Authorization", &format!("Bearer {ADMIN}")),
            ("X-Tenant-Id", "empty"),
        ],
        b"",
    );
    assert_eq!(other.status, 404, "{}", other.text());
    let writer = s.key("writer", T);
    let r = s.req(
        "GET",
        "/api/audit-logs/checkpoint",
        &[("Authorization", &format!("Bearer {writer}"))],
        b"",
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let r = s.req("GET", "/api/audit-logs/checkpoint", &[], b"");
    assert_eq!(r.status, 401, "{}", r.text());
    let auditor = s.key("auditor", T);
    let r = s.req(
        "GET",
        "/api/audit-logs/verify-chain",
        &[("Authorization", &format!("Bearer {auditor}"))],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // Verification of an intact log.
    let v = r.json();
    assert_eq!(
        (&v["verified"], &v["intact"], &v["total_checked"]),
        (&Value::Bool(true), &Value::Bool(true), &Value::from(80))
    );
    assert_eq!(v["broken_at_id"], Value::Null);
    assert_eq!(v["tampered_logs"], Value::Array(vec![]));
    let v = get(&s, "/api/audit-logs/verify?limit=10").json();
    assert_eq!(
        (&v["verified"], &v["total_checked"]),
        (&Value::Bool(true), &Value::from(10))
    );
    let v = get(&s, "/api/audit-logs/verify-chain?limit=25").json();
    assert_eq!(v["total_checked"], 25);
    let post = s.req(
        "POST",
        "/api/audit-logs/verify",
        &[
            ("Authorization", &format!("Bearer {ADMIN}")),
            ("X-Tenant-Id", T),
        ],
        br#"{"start_date":"2000-01-01","end_date":"2999-12-31"}"#,
    );
    assert_eq!(post.status, 200, "{}", post.text());
    assert_eq!(post.json()["total_checked"], 80);
    let bad = s.req(
        "POST",
        "/api/audit-logs/verify",
        &[
            ("Authorization", &format!("Bearer {ADMIN}")),
            ("X-Tenant-Id", T),
        ],
        br#"{"start_date":12}"#,
    );
    assert_eq!(bad.status, 422, "{}", bad.text());
    let v = get(&s, "/api/audit-logs/verify-chain?start_date=2999-01-01").json();
    assert_eq!(
        (&v["verified"], &v["total_checked"]),
        (&Value::Bool(true), &Value::from(0))
    );
}

/// Stops the server, lets `forge` rewrite the data directory, restarts it.
fn forge(s: &mut Server, f: impl FnOnce(&mut Forger)) {
    s.stop_cleanly();
    let mut forger = Forger::load(&s.dir.join("data")).unwrap();
    f(&mut forger);
    forger.save().unwrap();
    *s = Server::start_in(&s.dir.clone(), &[]);
}

fn lsn_of(forger: &Forger, seq: u64) -> Lsn {
    forger
        .events()
        .find(|e| e.tenant == T && e.seq.0 == seq)
        .unwrap()
        .lsn
}

fn verify_chain(s: &Server) -> Value {
    let r = get(s, "/api/audit-logs/verify-chain");
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

fn snapshot(dir: &std::path::Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(dir.join("data"))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    copy
}

fn restore(from: &tempfile::TempDir, s: &mut Server) {
    s.stop_cleanly();
    std::fs::remove_dir_all(s.dir.join("data")).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from.path().join("data"))
        .arg(&s.dir)
        .status()
        .unwrap();
    assert!(status.success());
    *s = Server::start_in(&s.dir.clone(), &[]);
}

#[test]
fn forgeries_in_the_segment_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(dir.path(), &[]);
    let key = public_key(&s);
    ingest(&s, 3, 60);
    // The client keeps a signed checkpoint.
    let held = checkpoint_of(&s, 60);
    let held_root = check_note(&held, &key);
    let ids: Vec<String> = read_chain(&s, ADMIN, Some(T))
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    s.stop_cleanly();
    let clean = snapshot(dir.path());
    s = Server::start_in(dir.path(), &[]);

    // 1. One byte of event 20 changed, frame CRC fixed up: hash_mismatch there.
    forge(&mut s, |f| {
        let lsn = lsn_of(f, 20);
        f.event_mut(lsn).alter_value("event_type");
    });
    let v = verify_chain(&s);
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["broken_at_id"], ids[19].as_str(), "{v}");
    assert_eq!(v["broken_reason"], "hash_mismatch");
    let v = get(&s, "/api/audit-logs/verify").json();
    assert_eq!(v["verified"], false);
    assert!(v["tampered_logs"]
        .as_array()
        .unwrap()
        .contains(&Value::from(ids[19].as_str())));
    restore(&clean, &mut s);
    assert_eq!(verify_chain(&s)["intact"], true);

    // 2. The same edit with its hash recomputed: the next event's link breaks.
    forge(&mut s, |f| {
        let lsn = lsn_of(f, 20);
        let e = f.event_mut(lsn);
        e.alter_value("event_type");
        e.rehash();
    });
    let v = verify_chain(&s);
    assert_eq!(
        (&v["broken_at_id"], &v["broken_reason"]),
        (
            &Value::from(ids[20].as_str()),
            &Value::from("chain_link_mismatch")
        ),
        "{v}"
    );
    restore(&clean, &mut s);

    // 3. A deleted event: the one after it is named.
    forge(&mut s, |f| {
        let lsn = lsn_of(f, 30);
        f.delete(lsn);
    });
    let v = verify_chain(&s);
    assert_eq!(
        (&v["broken_at_id"], &v["broken_reason"]),
        (
            &Value::from(ids[30].as_str()),
            &Value::from("chain_link_mismatch")
        ),
        "{v}"
    );
    restore(&clean, &mut s);

    // 4. The log truncated after event 50: the chain that is left links, but sealog
    // signed 60 events.
    forge(&mut s, |f| {
        let lsn = lsn_of(f, 50);
        f.truncate_after(lsn);
    });
    let v = verify_chain(&s);
    assert_eq!(
        (&v["intact"], &v["total_checked"]),
        (&Value::Bool(false), &Value::from(50)),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("events were removed"),
        "{v}"
    );
    restore(&clean, &mut s);

    // 5. Whoever controls the server rewrites the chain from event 10 on, consistently
    // (every later hash and link recomputed), and regenerates the Merkle state.
    forge(&mut s, |f| {
        let lsn = lsn_of(f, 10);
        let e = f.event_mut(lsn);
        e.alter_value("event_type");
        e.rehash();
        f.rechain_after(T, lsn);
    });
    for name in std::fs::read_dir(dir.path().join("data/merkle")).unwrap() {
        let path = name.unwrap().path();
        let n = path.file_name().unwrap().to_str().unwrap().to_owned();
        if n == "state" || n.ends_with(".nodes") {
            std::fs::remove_file(path).unwrap();
        }
    }
    s.stop_cleanly();
    s = Server::start_in(dir.path(), &[]);
    let chain = read_chain(&s, ADMIN, Some(T)); // links: the rewrite is consistent
    assert_eq!(chain.len(), 60);
    let v = verify_chain(&s);
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["broken_reason"], "hash_mismatch");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("checkpoint of tree size 60"),
        "{v}"
    );
    // The client's held checkpoint: the server's consistency proof to a new checkpoint
    // does not verify against it.
    ingest(&s, 4, 5);
    let now = checkpoint_of(&s, 65);
    let now_root = check_note(&now, &key);
    let c = get(&s, "/api/audit-logs/consistency?first=60&second=65").json();
    assert!(
        tree::verify_consistency(60, 65, &held_root, &now_root, &path(&c["consistency_path"]))
            .is_err(),
        "a rewritten history cannot prove consistency with what the client holds"
    );
}

/// docs/verify_receipt.py: hashlib + rfc8785 + cryptography, nothing of sealog's.
fn third_party(args: &[&std::path::Path]) -> (bool, String) {
    let py = common::python_with(
        "py-receipt",
        &[("rfc8785", "0.1.4"), ("cryptography", "50.0.2")],
    );
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/verify_receipt.py");
    let out = std::process::Command::new(py)
        .arg("-B")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_third_party_python_checks_receipts_and_consistency_proofs() {
    // The worked example committed in docs/examples.
    let ex = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples");
    let f = |n: &str| ex.join(n);
    let (ok, out) = third_party(&["receipt".as_ref(), &f("receipt.json"), &f("key.json")]);
    assert!(
        ok && out.contains("is in sealog/acme at tree size 5"),
        "{out}"
    );
    let (ok, out) = third_party(&[
        "consistency".as_ref(),
        &f("cons.json"),
        &f("cp3.json"),
        &f("cp5.json"),
        &f("key.json"),
    ]);
    assert!(ok, "{out}");

    // A live server's.
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_in(dir.path(), &[]);
    ingest(&s, 5, 7);
    let old = checkpoint_of(&s, 7);
    ingest(&s, 6, 6);
    let new = checkpoint_of(&s, 13);
    let chain = read_chain(&s, ADMIN, Some(T));
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, v: &Value| {
        let p = files.path().join(name);
        std::fs::write(&p, v.to_string()).unwrap();
        p
    };
    let key = write(
        "key.json",
        &s.req("GET", "/api/audit-logs/public-key", &[], b"").json(),
    );
    let (old_p, new_p) = (write("old.json", &old), write("new.json", &new));
    for e in chain.iter().step_by(4) {
        let id = e["id"].as_str().unwrap();
        let receipt = get(&s, &format!("/api/audit-logs/{id}/receipt")).json();
        let r = write("receipt.json", &receipt);
        let (ok, out) = third_party(&["receipt".as_ref(), &r, &key]);
        assert!(ok, "{id}: {out}");
        // One byte of the event changed: refused.
        let mut bad = receipt.clone();
        bad["event"]["event_type"] = Value::from("tampered.type");
        let r = write("bad.json", &bad);
        let (ok, out) = third_party(&["receipt".as_ref(), &r, &key]);
        assert!(!ok && out.contains("does not match its hash"), "{out}");
    }
    let c = write(
        "c.json",
        &get(&s, "/api/audit-logs/consistency?first=7&second=13").json(),
    );
    let (ok, out) = third_party(&["consistency".as_ref(), &c, &old_p, &new_p, &key]);
    assert!(
        ok && out.contains("extends the checkpoint of size 7"),
        "{out}"
    );
    // A checkpoint the client held that the log does not extend: refused.
    let mut forged = old.clone();
    forged["root_hash"] = Value::from("00".repeat(32));
    let f = write("forged.json", &forged);
    let (ok, out) = third_party(&["consistency".as_ref(), &c, &f, &new_p, &key]);
    assert!(!ok, "{out}");
}

/// kill -9 while events pour in and checkpoints are signed: after restarts every
/// checkpoint a client saw is still served with the same root, the latest one proves
/// consistency with each, and the whole chain with its Merkle state verifies.
#[test]
fn checkpoints_survive_kill_9_under_load() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let mut seen: Vec<(u64, Hash)> = Vec::new();
    for round in 0..3u64 {
        let mut s = Server::start_in(dir.path(), &[]);
        let stop = AtomicBool::new(false);
        std::thread::scope(|sc| {
            let (addr, stop) = (s.addr, &stop);
            sc.spawn(move || {
                let auth = format!("Bearer {ADMIN}");
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let body = format!("[{}]", events(round * 1000 + i, 20).join(","));
                    let r = common::try_request(
                        addr,
                        "POST",
                        "/api/audit-logs/batch",
                        &[("Authorization", &auth), ("X-Tenant-Id", T)],
                        body.as_bytes(),
                    );
                    if r.is_err() {
                        return; // killed
                    }
                    i += 1;
                }
            });
            let until = Instant::now() + Duration::from_millis(2500);
            while Instant::now() < until {
                let r = get(&s, "/api/audit-logs/checkpoint");
                if r.status == 200 {
                    let v = r.json();
                    let entry = (v["tree_size"].as_u64().unwrap(), hash(&v["root_hash"]));
                    if !seen.contains(&entry) {
                        seen.push(entry);
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            s.kill9();
            stop.store(true, Ordering::Relaxed);
        });
    }
    let s = Server::start_in(dir.path(), &[]);
    let head = read_chain(&s, ADMIN, Some(T)).len() as u64;
    let latest = checkpoint_of(&s, head);
    let latest_root = hash(&latest["root_hash"]);
    assert!(seen.len() >= 3, "checkpoints seen: {seen:?}");
    for (size, root) in &seen {
        let again = get(&s, &format!("/api/audit-logs/checkpoint?tree_size={size}"));
        assert_eq!(again.status, 200, "{}", again.text());
        assert_eq!(
            hash(&again.json()["root_hash"]),
            *root,
            "size {size} re-signed"
        );
        let c = get(
            &s,
            &format!("/api/audit-logs/consistency?first={size}&second={head}"),
        )
        .json();
        tree::verify_consistency(
            *size,
            head,
            root,
            &latest_root,
            &path(&c["consistency_path"]),
        )
        .unwrap();
    }
    let v = verify_chain(&s);
    assert_eq!(
        (&v["intact"], &v["total_checked"]),
        (&Value::Bool(true), &Value::from(head)),
        "{v}"
    );
}

/// Before a tenant's first checkpoint, its events are "not covered yet" (409) for a proof
/// at the default size as for a receipt, not a missing size (404).
#[test]
fn a_proof_before_the_first_checkpoint_is_not_covered_yet() {
    let dir = tempfile::tempdir().unwrap();
    // One checkpoint cycle a minute: none comes during the test.
    let config = dir.path().join("sealog.toml");
    std::fs::write(&config, "checkpoint-interval-ms = 60000\n").unwrap();
    let s = Server::start_in(dir.path(), &["--config", config.to_str().unwrap()]);
    ingest(&s, 7, 3);
    let chain = read_chain(&s, ADMIN, Some(T));
    let id = chain[0]["id"].as_str().unwrap();
    for path in [
        format!("/api/audit-logs/{id}/proof"),
        format!("/api/audit-logs/{id}/receipt"),
    ] {
        let r = get(&s, &path);
        assert_eq!(r.status, 409, "{path}: {}", r.text());
        assert!(r.text().contains("not covered"), "{path}: {}", r.text());
    }
    // A size that has no checkpoint is still 404, and so is the tenant's checkpoint.
    let r = get(&s, &format!("/api/audit-logs/{id}/proof?tree_size=3"));
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(get(&s, "/api/audit-logs/checkpoint").status, 404);
}
