//! `sealog verify`, the real binary on real files: data directories written by the
//! engine (with node files and signed checkpoints), then forged byte by byte with the
//! engine's test forger; exports and proofs built from the engine's own stored events
//! and transparency log, then edited. Each damage is named; exit codes are 0, 1, 2.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealog_engine::event::{prepare_event, write_returned, PreparedEvent};
use sealog_engine::gen::{GenConfig, Generator};
use sealog_engine::merkle::note::SigningKey;
use sealog_engine::merkle::{SignedCheckpoint, Transparency, TransparencyConfig};
use sealog_engine::storage::testkit::forge::Forger;
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Engine, EngineConfig, Lsn, ScanDirection, Seq, StoredEvent, TenantId};

const TENANTS: [&str; 2] = ["a", "b"];

/// What a test needs to know about the log it built.
struct Built {
    /// Every stored event, in LSN order.
    events: Vec<StoredEvent>,
    /// Checkpoints seen after each round, per tenant: (tenant, checkpoint).
    checkpoints: Vec<(String, SignedCheckpoint)>,
    /// Receipts and consistency proofs, as the server would serve them (JSON text).
    receipt: String,
    consistency: String,
    /// The JSON of the older checkpoint of that consistency proof.
    consistency_first: String,
    /// `GET /api/audit-logs/public-key`'s JSON.
    public_key_json: String,
}

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

/// Realistic events from the engine's generator.
fn generated(count: u64, seed: u64) -> Vec<PreparedEvent> {
    let mut gen = Generator::new(GenConfig {
        count,
        seed,
        ..GenConfig::default()
    });
    let mut out = Vec::new();
    let mut line = Vec::new();
    while gen.write_json_into(&mut line).is_some() {
        out.push(prepare_event(&line).unwrap());
        line.clear();
    }
    out
}

fn wait_covered(t: &Transparency, tenant: &TenantId, size: u64) -> SignedCheckpoint {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(c) = t
            .latest_checkpoint(tenant)
            .unwrap()
            .filter(|c| c.size >= size)
        {
            return c;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint covers {tenant} {size}: latest {:?}, {:?}",
            t.latest_checkpoint(tenant).unwrap().map(|c| c.size),
            t.status()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn hex32(h: &[u8; 32]) -> String {
    hex::encode(h)
}

fn checkpoint_json(c: &SignedCheckpoint) -> serde_json::Value {
    serde_json::json!({
        "origin": c.origin,
        "tree_size": c.size,
        "root_hash": hex32(&c.root),
        "issued_at": "2026-01-01T00:00:00.000000Z",
        "note": c.note,
    })
}

/// The event as the API returns it.
fn returned(ev: &StoredEvent) -> Vec<u8> {
    let mut out = Vec::new();
    write_returned(ev.body(), &ev.hash, None, &mut out).unwrap();
    out
}

/// Builds a data directory: two tenants, three rounds of appends over tiny segments,
/// each round covered by a signed checkpoint; then closes everything.
fn build(dir: &Path) -> Built {
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    let mut config = EngineConfig::new(dir);
    config.segment_bytes = sealog_engine::limits::SEGMENT_BYTES_MIN;
    let (engine, _) = Engine::open(config, storage.clone()).unwrap();
    let engine = Arc::new(engine);
    let vkey = SigningKey::load_or_create(&dir.join("keys"), "sealog")
        .unwrap()
        .verifier();
    let public_key_json = serde_json::json!({
        "algorithm": "ed25519",
        "public_key": "unused",
        "vkey": vkey.to_string(),
    })
    .to_string();
    let mut tconfig = TransparencyConfig::new(dir);
    tconfig.checkpoint_interval = Duration::from_millis(20);
    let mut checkpoints = Vec::new();
    let mut pool = generated(240, 7).into_iter();
    let key = SigningKey::load_or_create(&dir.join("keys"), "sealog").unwrap();
    let t = Transparency::open(engine.clone(), storage.clone(), tconfig, key).unwrap();
    for round in 0..3 {
        // The transparency log follows while events are appended: each round ends with
        // a checkpoint per tenant.
        for i in 0..(40 + round * 20) {
            let name = TENANTS[i % 2];
            let batch: Vec<_> = pool.by_ref().take(1 + i % 2).collect();
            if batch.is_empty() {
                break;
            }
            engine.append(&tenant(name), batch).unwrap();
        }
        for name in TENANTS {
            let head = engine.chain_head(&tenant(name)).seq.0;
            checkpoints.push((name.to_owned(), wait_covered(&t, &tenant(name), head)));
        }
    }
    assert!(engine.stats().segments > 2, "tiny segments roll");
    let end = Lsn(engine.stats().visible_lsn.0 + 1);
    let events: Vec<StoredEvent> = engine
        .scan(Lsn(1)..end, ScanDirection::Forward, true)
        .map(Result::unwrap)
        .collect();
    // A receipt for tenant a's seq 5 at the latest checkpoint, and a consistency proof
    // between a's first and last checkpoints.
    let a = tenant("a");
    let latest = t.latest_checkpoint(&a).unwrap().unwrap();
    let ev = events
        .iter()
        .find(|e| e.tenant() == "a" && e.seq == Seq(5))
        .unwrap();
    let p = t.inclusion(&a, Seq(5), Some(latest.size)).unwrap();
    let receipt = format!(
        r#"{{"event":{},"checkpoint":{},"proof":{}}}"#,
        String::from_utf8(returned(ev)).unwrap(),
        checkpoint_json(&latest),
        serde_json::json!({
            "leaf_index": p.leaf_index,
            "tree_size": p.tree_size,
            "root_hash": hex32(&p.root),
            "inclusion_path": p.path.iter().map(hex32).collect::<Vec<_>>(),
        })
    );
    let first = &checkpoints.iter().find(|(n, _)| n == "a").unwrap().1;
    let c = t.consistency(&a, first.size, latest.size).unwrap();
    let consistency = serde_json::json!({
        "first": c.first,
        "second": c.second,
        "first_root": hex32(&c.first_root),
        "second_root": hex32(&c.second_root),
        "consistency_path": c.path.iter().map(hex32).collect::<Vec<_>>(),
    })
    .to_string();
    let consistency_first = checkpoint_json(first).to_string();
    drop(t);
    engine.close();
    Built {
        events,
        checkpoints,
        receipt,
        consistency,
        consistency_first,
        public_key_json,
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn sealog(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_sealog"))
        .arg("verify")
        .args(args)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn verify_dir(dir: &Path) -> Run {
    sealog(&["--data-dir", dir.to_str().unwrap()])
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or("")
}

/// Every file under `dir`: its bytes and modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path, (bytes, meta.modified().unwrap()));
            }
        }
    }
    out
}

fn find<'a>(b: &'a Built, tenant: &str, seq: u64) -> &'a StoredEvent {
    b.events
        .iter()
        .find(|e| e.tenant() == tenant && e.seq == Seq(seq))
        .unwrap()
}

fn figure(line: &str, key: &str) -> u64 {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        .parse()
        .unwrap()
}

#[test]
fn an_intact_data_dir_verifies_and_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let before = snapshot(dir.path());
    let r = verify_dir(dir.path());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let last = last_line(&r.stdout);
    assert!(last.starts_with("events="), "{last}");
    assert_eq!(figure(last, "events"), b.events.len() as u64, "{last}");
    assert_eq!(figure(last, "faults"), 0);
    assert_eq!(figure(last, "tenants"), 2);
    assert!(figure(last, "segments") > 2, "{last}");
    assert!(figure(last, "checkpoints") >= 6, "{last}");
    assert!(figure(last, "nodes") > 0, "{last}");
    assert!(
        r.stdout
            .contains("checkpoint signatures checked with sealog+"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("result: intact"));
    assert_eq!(
        snapshot(dir.path()),
        before,
        "verify changed the data directory"
    );

    // Another key: every stored checkpoint's signature is named as invalid.
    let other = dir.path().join("other.vkey");
    let wrong = SigningKey::generate("sealog").unwrap().verifier();
    std::fs::write(&other, format!("{wrong}\n")).unwrap();
    let r = sealog(&[
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--public-key",
        other.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("tenant a: checkpoint of tree size"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("checkpoint_signature_invalid"),
        "{}",
        r.stdout
    );
}

#[test]
fn an_edit_with_the_crc_fixed_up_is_a_hash_mismatch_named_by_segment_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let ev = find(&b, "a", 17);
    let mut f = Forger::load(dir.path()).unwrap();
    f.event_mut(ev.lsn).alter_value("event_type");
    f.save().unwrap();
    let r = verify_dir(dir.path());
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let expected = format!(
        "segment {} byte {}: event {} (tenant a, seq 17, lsn {}): hash_mismatch",
        ev.segment, ev.offset, ev.id, ev.lsn
    );
    assert!(r.stdout.contains(&expected), "{expected}\n{}", r.stdout);
    // The stored hash was kept: links and signed roots still hold.
    assert!(!r.stdout.contains("chain_link_mismatch"), "{}", r.stdout);
    assert!(!r.stdout.contains("checkpoint_mismatch"), "{}", r.stdout);
    assert_eq!(figure(last_line(&r.stdout), "faults"), 1, "{}", r.stdout);
}

#[test]
fn an_edit_with_its_hash_recomputed_breaks_the_next_link_and_the_signed_roots() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let ev = find(&b, "b", 9);
    let next = find(&b, "b", 10);
    let mut f = Forger::load(dir.path()).unwrap();
    let e = f.event_mut(ev.lsn);
    e.alter_value("event_type");
    e.rehash();
    f.save().unwrap();
    let r = verify_dir(dir.path());
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let expected = format!(
        "segment {} byte {}: event {} (tenant b, seq 10, lsn {}): chain_link_mismatch",
        next.segment, next.offset, next.id, next.lsn
    );
    assert!(r.stdout.contains(&expected), "{expected}\n{}", r.stdout);
    assert!(!r.stdout.contains("hash_mismatch"), "{}", r.stdout);
    assert!(
        r.stdout.contains("tenant b: checkpoint of tree size"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("checkpoint_mismatch"), "{}", r.stdout);
    assert!(r.stdout.contains("merkle_node_mismatch"), "{}", r.stdout);
}

#[test]
fn a_consistent_rewrite_is_named_by_the_stored_checkpoint_it_no_longer_matches() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let ev = find(&b, "a", 30);
    let mut f = Forger::load(dir.path()).unwrap();
    let e = f.event_mut(ev.lsn);
    e.alter_value("event_type");
    e.rehash();
    f.rechain_after("a", ev.lsn);
    f.save().unwrap();
    for entry in std::fs::read_dir(dir.path().join("merkle")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name == "state" || name.ends_with(".nodes") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let r = verify_dir(dir.path());
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        !r.stdout.contains("chain_link_mismatch"),
        "the rewrite re-links: {}",
        r.stdout
    );
    assert!(!r.stdout.contains("hash_mismatch"), "{}", r.stdout);
    let latest_a = b.checkpoints.iter().rfind(|(n, _)| n == "a").unwrap();
    let expected = format!(
        "tenant a: checkpoint of tree size {}: checkpoint_mismatch",
        latest_a.1.size
    );
    assert!(r.stdout.contains(&expected), "{expected}\n{}", r.stdout);
    assert!(r.stdout.contains("events with seq"), "{}", r.stdout);
    assert!(r.stdout.contains("merkle/state: missing"), "{}", r.stdout);
    assert!(!r.stdout.contains("tenant b:"), "{}", r.stdout);
}

#[test]
fn a_truncated_log_is_events_removed_after_a_signed_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let keep = find(&b, "b", 20);
    let mut f = Forger::load(dir.path()).unwrap();
    f.truncate_after(keep.lsn);
    f.save().unwrap();
    let r = verify_dir(dir.path());
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("tenant b: checkpoint of tree size"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("events_removed"), "{}", r.stdout);
    assert!(
        r.stdout.contains("tenant a: checkpoint of tree size"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_flipped_byte_is_an_unreadable_frame_named_by_segment_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    // An event in the first (sealed) segment.
    let ev = b
        .events
        .iter()
        .find(|e| e.seq.0 > 3 && e.segment == b.events[0].segment)
        .unwrap();
    flip_and_check_named(dir.path(), ev);
}

#[test]
fn a_flipped_byte_in_the_last_event_of_a_sealed_segment_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    // No valid event follows it in its segment, only the seal.
    let ev = b
        .events
        .iter()
        .filter(|e| e.segment == b.events[0].segment)
        .max_by_key(|e| e.lsn)
        .unwrap();
    assert!(
        b.events.iter().any(|e| e.segment != ev.segment),
        "the segment is sealed"
    );
    flip_and_check_named(dir.path(), ev);
}

/// Flips a byte of `ev`'s frame; `sealog verify` must name it by segment, offset and id.
fn flip_and_check_named(dir: &Path, ev: &StoredEvent) {
    let seg = dir.join("wal").join(format!("{}.seg", ev.segment));
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[ev.offset as usize + 200] ^= 0x01;
    std::fs::write(&seg, &bytes).unwrap();
    let r = verify_dir(dir);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let expected = format!("segment {} byte {}: event {}", ev.segment, ev.offset, ev.id);
    assert!(r.stdout.contains(&expected), "{expected}\n{}", r.stdout);
    assert!(
        r.stdout.contains("unreadable_frame: frame CRC mismatch"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("segment_digest_mismatch"), "{}", r.stdout);
}

/// End of the data in the last segment (where the next frame would go).
fn data_end(seg: &[u8]) -> usize {
    let mut at = sealog_engine::segment::SEGMENT_HEADER_BYTES;
    while let sealog_engine::frame::Decoded::Frame(_, next) = sealog_engine::frame::decode(seg, at)
    {
        at = next;
    }
    at
}

#[test]
fn a_torn_tail_is_listed_and_is_not_damage() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let last = b.events.last().unwrap();
    let seg = dir.path().join("wal").join(format!("{}.seg", last.segment));
    let mut bytes = std::fs::read(&seg).unwrap();
    let end = data_end(&bytes);
    // Half a frame, as a crash during a write leaves it: a length, then junk.
    bytes[end..end + 4].copy_from_slice(&300u32.to_le_bytes());
    bytes[end + 4..end + 60].fill(0xab);
    std::fs::write(&seg, &bytes).unwrap();
    let r = verify_dir(dir.path());
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let expected = format!(
        "note: segment {} byte {end}: incomplete (torn) tail",
        last.segment
    );
    assert!(r.stdout.contains(&expected), "{expected}\n{}", r.stdout);
}

#[test]
fn usage_and_io_errors_exit_2_naming_what_was_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let r = verify_dir(dir.path());
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("no wal/"), "{}", r.stderr);
    let missing = dir.path().join("missing.ndjson");
    let r = sealog(&["--export", missing.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("missing.ndjson"), "{}", r.stderr);
    let r = sealog(&[]);
    assert_eq!(r.code, 2, "clap refuses a missing mode");
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, b"{\"first\": 1}").unwrap();
    let r = sealog(&["--proof", junk.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("neither a receipt"), "{}", r.stderr);
    let key = dir.path().join("bad.vkey");
    std::fs::write(&key, b"not a key").unwrap();
    let r = sealog(&[
        "--proof",
        junk.to_str().unwrap(),
        "--public-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("bad.vkey") && r.stderr.contains("not a verifier key"),
        "{}",
        r.stderr
    );
}

/// Tenant `name`'s events as an NDJSON export, one line each.
fn export_lines(b: &Built, name: &str) -> Vec<String> {
    b.events
        .iter()
        .filter(|e| e.tenant() == name)
        .map(|e| String::from_utf8(returned(e)).unwrap())
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

#[test]
fn an_export_verifies_and_each_edit_is_named_by_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let lines = export_lines(&b, "a");
    let path = dir.path().join("a.ndjson");
    write_lines(&path, &lines);
    let p = path.to_str().unwrap();
    let r = sealog(&["--export", p]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(figure(last_line(&r.stdout), "events"), lines.len() as u64);

    // The same events as a JSON array export.
    let array = dir.path().join("a.json");
    std::fs::write(&array, format!("[\n{}\n]\n", lines.join(",\n"))).unwrap();
    let r = sealog(&["--export", array.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // An edited value: that line's hash_mismatch.
    let mut edited = lines.clone();
    let ev = find(&b, "a", 12);
    edited[11] = edited[11].replacen("\"seq\":12", "\"seq\":12,\"x\":1", 1);
    write_lines(&path, &edited);
    let r = sealog(&["--export", p]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let expected = format!("line 12: event {} (tenant a, seq 12): hash_mismatch", ev.id);
    assert!(r.stdout.contains(&expected), "{expected}\n{}", r.stdout);

    // A deleted line: the next one's chain_link_mismatch.
    let mut deleted = lines.clone();
    deleted.remove(20);
    write_lines(&path, &deleted);
    let r = sealog(&["--export", p]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("line 21: event"), "{}", r.stdout);
    assert!(
        r.stdout.contains("(tenant a, seq 22): chain_link_mismatch"),
        "{}",
        r.stdout
    );

    // A line that is not JSON, and one far too long, are named; the run goes on.
    let mut hostile = lines.clone();
    hostile[3] = "{\"id\": ".into();
    hostile.insert(
        5,
        "x".repeat(sealog_engine::offline::EXPORT_RECORD_BYTES_MAX + 10),
    );
    write_lines(&path, &hostile);
    let r = sealog(&["--export", p]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("line 4: event (tenant ?): malformed_event: not JSON"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("line 6: event (tenant ?): malformed_event: the line is longer than"),
        "{}",
        r.stdout
    );
}

#[test]
fn an_export_is_checked_against_a_signed_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let lines = export_lines(&b, "a");
    let path = dir.path().join("a.ndjson");
    write_lines(&path, &lines);
    let vkey = dir.path().join("public-key.json");
    std::fs::write(&vkey, &b.public_key_json).unwrap();
    let (_, cp) = b
        .checkpoints
        .iter()
        .filter(|(n, _)| n == "a")
        .nth(1)
        .unwrap();
    let ckpt_json = dir.path().join("checkpoint.json");
    std::fs::write(&ckpt_json, checkpoint_json(cp).to_string()).unwrap();
    let ckpt_note = dir.path().join("checkpoint.note");
    std::fs::write(&ckpt_note, format!("{}\n", cp.note)).unwrap(); // as `jq -r .note` saves it
    let (p, k) = (path.to_str().unwrap(), vkey.to_str().unwrap());
    for c in [&ckpt_json, &ckpt_note] {
        let r = sealog(&[
            "--export",
            p,
            "--checkpoint",
            c.to_str().unwrap(),
            "--public-key",
            k,
        ]);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains(&format!(
                "checkpoint: ok: the root of tenant a's first {} events is the signed root",
                cp.size
            )),
            "{}",
            r.stdout
        );
    }
    let c = ckpt_json.to_str().unwrap();

    // Another server's key: the signature is named, exit 1.
    let wrong = dir.path().join("wrong.vkey");
    std::fs::write(
        &wrong,
        SigningKey::generate("sealog")
            .unwrap()
            .verifier()
            .to_string(),
    )
    .unwrap();
    let r = sealog(&[
        "--export",
        p,
        "--checkpoint",
        c,
        "--public-key",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("checkpoint: FAILED: signature"),
        "{}",
        r.stdout
    );

    // A consistent rewrite of the export (an edit, every later hash recomputed and
    // re-linked) keeps the chain, but not the signed root.
    let mut forged = lines.clone();
    forged[2] = forged[2].replacen('{', "{\"zz\":1,", 1);
    for i in 2..forged.len() {
        let prev = hash_of(&forged[i - 1]);
        let old_prev = field_of(&forged[i], "prev_hash");
        forged[i] = forged[i].replacen(&old_prev, &prev, 1);
        let value = sealog_engine::event::json::parse(forged[i].as_bytes()).unwrap();
        let h = hex::encode(sealog_engine::offline::returned_event_hash(&value).unwrap());
        let old = field_of(&forged[i], "hash");
        forged[i] = forged[i].replacen(
            &format!("\"hash\":\"{old}\""),
            &format!("\"hash\":\"{h}\""),
            1,
        );
    }
    let forged_path = dir.path().join("forged.ndjson");
    write_lines(&forged_path, &forged);
    let fp = forged_path.to_str().unwrap();
    let r = sealog(&["--export", fp]);
    assert_eq!(
        r.code, 0,
        "the forged chain links: {}{}",
        r.stdout, r.stderr
    );
    let r = sealog(&["--export", fp, "--checkpoint", c, "--public-key", k]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("checkpoint: FAILED: checkpoint_mismatch"),
        "{}",
        r.stdout
    );

    // Too short an export cannot support the check: said, exit 2.
    write_lines(&path, &lines[..cp.size as usize - 1]);
    let r = sealog(&["--export", p, "--checkpoint", c, "--public-key", k]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("checkpoint: NOT CHECKED"), "{}", r.stdout);
    // Nor can one that starts after seq 1.
    write_lines(&path, &lines[1..]);
    let r = sealog(&["--export", p, "--checkpoint", c, "--public-key", k]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("start at seq 2, not 1"), "{}", r.stdout);
    // And a checkpoint without a key is refused.
    let r = sealog(&["--export", p, "--checkpoint", c]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--checkpoint needs --public-key"),
        "{}",
        r.stderr
    );
}

/// The string value of top-level `key` in a returned event's JSON.
fn field_of(line: &str, key: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v[key].as_str().unwrap().to_owned()
}

fn hash_of(line: &str) -> String {
    field_of(line, "hash")
}

#[test]
fn receipts_and_consistency_proofs_verify_and_a_flipped_hash_fails() {
    let dir = tempfile::tempdir().unwrap();
    let b = build(dir.path());
    let vkey = dir.path().join("vkey");
    std::fs::write(&vkey, &b.public_key_json).unwrap();
    let k = vkey.to_str().unwrap();
    let receipt = dir.path().join("receipt.json");
    std::fs::write(&receipt, &b.receipt).unwrap();
    let rp = receipt.to_str().unwrap();
    let r = sealog(&["--proof", rp, "--public-key", k]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("verifying receipt"), "{}", r.stdout);
    assert!(r.stdout.contains("inclusion: ok"), "{}", r.stdout);
    // A receipt's signature needs the key.
    let r = sealog(&["--proof", rp]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--public-key"), "{}", r.stderr);
    // One hash of the path flipped.
    let mut doc: serde_json::Value = serde_json::from_str(&b.receipt).unwrap();
    let h = doc["proof"]["inclusion_path"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let flipped = format!("{}{}", if h.starts_with('0') { "1" } else { "0" }, &h[1..]);
    doc["proof"]["inclusion_path"][0] = flipped.into();
    std::fs::write(&receipt, doc.to_string()).unwrap();
    let r = sealog(&["--proof", rp, "--public-key", k]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("inclusion: FAILED"), "{}", r.stdout);

    let proof = dir.path().join("consistency.json");
    std::fs::write(&proof, &b.consistency).unwrap();
    let held = dir.path().join("held.json");
    std::fs::write(&held, &b.consistency_first).unwrap();
    let (pp, hp) = (proof.to_str().unwrap(), held.to_str().unwrap());
    let r = sealog(&["--proof", pp]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("note: no --checkpoint"), "{}", r.stdout);
    let r = sealog(&["--proof", pp, "--checkpoint", hp, "--public-key", k]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("held checkpoint is the first tree: ok"),
        "{}",
        r.stdout
    );
    // A checkpoint of another size is not the proof's first tree.
    let (_, other) = b
        .checkpoints
        .iter()
        .filter(|(n, _)| n == "a")
        .nth(1)
        .unwrap();
    std::fs::write(&held, checkpoint_json(other).to_string()).unwrap();
    let r = sealog(&["--proof", pp, "--checkpoint", hp, "--public-key", k]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("held checkpoint is the first tree: FAILED"),
        "{}",
        r.stdout
    );
    let mut doc: serde_json::Value = serde_json::from_str(&b.consistency).unwrap();
    let h = doc["consistency_path"][0].as_str().unwrap().to_owned();
    let flipped = format!("{}{}", if h.starts_with('0') { "1" } else { "0" }, &h[1..]);
    doc["consistency_path"][0] = flipped.into();
    std::fs::write(&proof, doc.to_string()).unwrap();
    let r = sealog(&["--proof", pp]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("consistency: FAILED"), "{}", r.stdout);
}
