//! The transparency log over a real engine: checkpoints are signed notes whose roots are
//! the RFC 9162 roots of the tenants' event hashes; every inclusion and consistency
//! proof verifies; restarts and a lost state file keep every signed root; a size is
//! never signed with two roots.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{event, tenant, tiny_config};
use sealog_engine::merkle::audit::{AuditInput, MerkleAuditor, TenantAudit};
use sealog_engine::merkle::note::{open_checkpoint, SigningKey};
use sealog_engine::merkle::tree::{self, leaf_hash, node_hash};
use sealog_engine::merkle::{Hash, Transparency, TransparencyConfig};
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Engine, Seq, TenantId};

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

fn start(dir: &std::path::Path) -> (Arc<Engine>, Transparency) {
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    let (engine, _) = Engine::open(tiny_config(dir), storage.clone()).unwrap();
    let engine = Arc::new(engine);
    let key = SigningKey::load_or_create(&dir.join("keys"), "sealog").unwrap();
    let mut config = TransparencyConfig::new(dir);
    config.checkpoint_interval = Duration::from_millis(50);
    let t = Transparency::open(engine.clone(), storage, config, key).unwrap();
    (engine, t)
}

/// Waits until the tenant's latest checkpoint covers `size` leaves.
fn wait_covered(t: &Transparency, tenant: &TenantId, size: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let latest = t.latest_checkpoint(tenant).unwrap().map_or(0, |c| c.size);
        if latest >= size {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint covers {tenant} size {size} (latest {latest}): {:?}",
            t.status()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The Merkle audit the plain way: the tenant's stored hashes looked up one by one by
/// seq and folded into an auditor, with every stored node compared.
fn audit_by_seq(dir: &std::path::Path, engine: &Engine, tenant: &TenantId) -> TenantAudit {
    let head = engine.chain_head(tenant).seq.0;
    let key = SigningKey::load_or_create(&dir.join("keys"), "sealog")
        .unwrap()
        .verifier();
    let input = AuditInput {
        dir: &dir.join("merkle"),
        tenant,
        node_leaves: head,
        key: Some(&key),
    };
    let mut auditor = MerkleAuditor::open(&FileStorage, &input).unwrap();
    for s in 1..=head {
        let ev = engine.get_by_seq(tenant, Seq(s)).unwrap().unwrap();
        auditor.push(Seq(s), &ev.hash).unwrap();
    }
    auditor.finish()
}

fn leaves_of(engine: &Engine, tenant: &TenantId) -> Vec<Hash> {
    let head = engine.chain_head(tenant).seq.0;
    (1..=head)
        .map(|s| leaf_hash(&engine.get_by_seq(tenant, Seq(s)).unwrap().unwrap().hash))
        .collect()
}

#[test]
fn checkpoints_sign_the_trees_roots_and_every_proof_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, t) = start(dir.path());
    let (a, b) = (tenant("acme"), tenant("beta"));
    assert!(
        t.latest_checkpoint(&a).unwrap().is_none(),
        "no events, no checkpoint"
    );
    let mut sizes_seen = Vec::new();
    for round in 0..6u64 {
        for i in 0..(round * 7 + 3) {
            engine.append(&a, vec![event(i)]).unwrap();
            if i % 3 == 0 {
                engine.append(&b, vec![event(i), event(i + 1)]).unwrap();
            }
        }
        let size = engine.chain_head(&a).seq.0;
        wait_covered(&t, &a, size);
        sizes_seen.push(t.latest_checkpoint(&a).unwrap().unwrap().size);
    }
    let vkey = t.key().verifier();
    for tenant in [&a, &b] {
        let leaves = leaves_of(&engine, tenant);
        wait_covered(&t, tenant, leaves.len() as u64);
        let latest = t.latest_checkpoint(tenant).unwrap().unwrap();
        assert_eq!(latest.origin, format!("sealog/{tenant}"));
        // The note is a valid signed checkpoint of the RFC 9162 root.
        let opened = open_checkpoint(&latest.note, &vkey).unwrap();
        assert_eq!(
            (opened.origin(), opened.size(), opened.root()),
            (latest.origin.as_str(), latest.size, latest.root)
        );
        assert_eq!(latest.root, naive_root(&leaves[..latest.size as usize]));
        // Every event's inclusion proof, at the latest size.
        for (k, leaf) in leaves.iter().enumerate().take(latest.size as usize) {
            let p = t.inclusion(tenant, Seq(k as u64 + 1), None).unwrap();
            assert_eq!((p.leaf_index, p.tree_size), (k as u64, latest.size));
            tree::verify_inclusion(leaf, p.leaf_index, p.tree_size, &p.path, &latest.root).unwrap();
        }
    }
    // Consistency between every pair of checkpoints seen, and each is still served.
    for (i, &m) in sizes_seen.iter().enumerate() {
        let cm = t.checkpoint_at(&a, m).unwrap().unwrap();
        for &n in &sizes_seen[i..] {
            let p = t.consistency(&a, m, n).unwrap();
            let cn = t.checkpoint_at(&a, n).unwrap().unwrap();
            assert_eq!((p.first_root, p.second_root), (cm.root, cn.root));
            tree::verify_consistency(m, n, &cm.root, &cn.root, &p.path).unwrap();
        }
    }
    // Precise refusals.
    let latest = t.latest_checkpoint(&a).unwrap().unwrap().size;
    assert!(matches!(
        t.inclusion(&a, Seq(latest + 1), None),
        Err(sealog_engine::merkle::IntegrityError::NotCovered(_))
    ));
    assert!(matches!(
        t.consistency(&a, 2, 1),
        Err(sealog_engine::merkle::IntegrityError::Invalid(_))
    ));
    assert!(t.checkpoint_at(&a, latest + 1000).unwrap().is_none());
    assert!(matches!(
        t.inclusion(&tenant("nobody"), Seq(1), None),
        Err(sealog_engine::merkle::IntegrityError::NotFound(_))
    ));
}

#[test]
fn restarts_and_a_lost_state_keep_every_signed_root() {
    let dir = tempfile::tempdir().unwrap();
    let a = tenant("acme");
    let first;
    {
        let (engine, t) = start(dir.path());
        for i in 0..500u64 {
            engine.append(&a, vec![event(i)]).unwrap();
        }
        wait_covered(&t, &a, 500);
        first = t.latest_checkpoint(&a).unwrap().unwrap();
    }
    {
        // Restart: the trees resume where they were.
        let (engine, t) = start(dir.path());
        assert_eq!(t.latest_checkpoint(&a).unwrap().unwrap(), first);
        for i in 0..300u64 {
            engine.append(&a, vec![event(i)]).unwrap();
        }
        wait_covered(&t, &a, 800);
        let now = t.latest_checkpoint(&a).unwrap().unwrap();
        let p = t.consistency(&a, first.size, now.size).unwrap();
        tree::verify_consistency(first.size, now.size, &first.root, &now.root, &p.path).unwrap();
    }
    // The state file lost (or damaged): the trees are rebuilt from the log and give the
    // same roots for every stored checkpoint.
    std::fs::write(dir.path().join("merkle/state"), b"garbage").unwrap();
    let (engine, t) = start(dir.path());
    let leaves = leaves_of(&engine, &a);
    wait_covered(&t, &a, 800);
    let deadline = Instant::now() + Duration::from_secs(30);
    while t.status().followed_lsn.0 < engine.stats().durable_lsn.0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    for size in [first.size, 800] {
        let c = t.checkpoint_at(&a, size).unwrap().unwrap();
        assert_eq!(c.root, naive_root(&leaves[..size as usize]));
        let p = t.inclusion(&a, Seq(1), Some(size)).unwrap();
        tree::verify_inclusion(&leaves[0], 0, size, &p.path, &c.root).unwrap();
    }
    let p = t.consistency(&a, first.size, 800).unwrap();
    tree::verify_consistency(first.size, 800, &first.root, &p.second_root, &p.path).unwrap();
}

/// Regression: with concurrent appenders the syncer publishes durability a moment before
/// readers can see the events; the follower once read that gap as nothing and stalled
/// the tenant's tree. Many small concurrent requests, then every event is covered.
#[test]
fn concurrent_appends_are_all_covered() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, t) = start(dir.path());
    let a = tenant("acme");
    std::thread::scope(|s| {
        for w in 0..4u64 {
            let (engine, a) = (&engine, &a);
            s.spawn(move || {
                for i in 0..300u64 {
                    let n = 1 + ((w + i) % 3) as usize;
                    engine
                        .append(a, (0..n as u64).map(|k| event(i * 10 + k)).collect())
                        .unwrap();
                }
            });
        }
    });
    let head = engine.chain_head(&a).seq.0;
    wait_covered(&t, &a, head);
    assert!(t.status().stalled.is_empty(), "{:?}", t.status());
    let leaves = leaves_of(&engine, &a);
    let latest = t.latest_checkpoint(&a).unwrap().unwrap();
    assert_eq!(latest.root, naive_root(&leaves[..latest.size as usize]));
    let (report, audit) = t.verify_chain(&a).unwrap();
    assert!(report.faults.is_empty() && audit.faults.is_empty());
}

#[test]
fn a_second_transparency_log_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _t) = start(dir.path());
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    let key = SigningKey::load_or_create(&dir.path().join("keys"), "sealog").unwrap();
    let second = Transparency::open(engine, storage, TransparencyConfig::new(dir.path()), key);
    let err = second.unwrap_err().to_string();
    assert!(err.contains("in use"), "{err}");
}

/// verify-chain's one-pass audit (leaves hashed in the parallel verification, folded in
/// log order batch by batch) finds what an audit of the hashes looked up by seq finds:
/// on an intact log and after a stored node is altered. One verification thread, so that the tenant's range
/// spans several batches of chunks whatever the machine.
#[test]
fn verify_chain_audits_like_an_audit_by_seq_across_batches() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, t) = start(dir.path());
    let (a, b) = (tenant("acme"), tenant("beta"));
    // 160,000 events of `a` interleaved with 40,000 of `b`: past two batches of the
    // one-thread verification (16 chunks of 8,192 LSNs).
    for i in 0..200u64 {
        let batch = |k: u64| (0..k).map(|j| event(i * 1000 + j)).collect();
        engine.append(&a, batch(400)).unwrap();
        engine.append(&b, batch(200)).unwrap();
        engine.append(&a, batch(400)).unwrap();
    }
    wait_covered(&t, &a, 160_000);
    wait_covered(&t, &b, 40_000);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();

    let separate = audit_by_seq(dir.path(), &engine, &a);
    let (report, folded) = one.install(|| t.verify_chain(&a)).unwrap();
    assert!(report.faults.is_empty(), "{:?}", report.faults.first());
    assert_eq!(report.events, 160_000);
    assert!(folded.faults.is_empty(), "{:?}", folded.faults);
    assert_eq!(
        (folded.leaves, folded.nodes, folded.checkpoints),
        (separate.leaves, separate.nodes, separate.checkpoints)
    );
    assert_eq!(folded.leaves, 160_000);
    assert!(folded.checkpoints >= 1 && folded.nodes >= 300_000);

    // Alter one stored node deep in the tree: both name it, at the same seq.
    let nodes = dir.path().join("merkle").join("acme.nodes");
    let mut bytes = std::fs::read(&nodes).unwrap();
    let at = 32 * 250_000 + 5;
    bytes[at] ^= 0x40;
    std::fs::write(&nodes, &bytes).unwrap();
    let separate = audit_by_seq(dir.path(), &engine, &a);
    let (report, folded) = one.install(|| t.verify_chain(&a)).unwrap();
    assert!(report.faults.is_empty(), "the events themselves are intact");
    assert_eq!(separate.faults.len(), 1, "{:?}", separate.faults);
    assert_eq!(folded.faults, separate.faults);
    assert!(
        folded.faults[0].from_seq.0 > 100_000,
        "{:?}",
        folded.faults[0]
    );
    let (report, folded) = one.install(|| t.verify_chain(&b)).unwrap();
    assert!(report.faults.is_empty() && folded.faults.is_empty());
    assert_eq!((report.events, folded.leaves), (40_000, 40_000));
}
