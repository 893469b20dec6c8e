//! The indexer is killed (SIGKILL of the whole process) while it indexes and commits,
//! many times; after each restart the index catches up with the log and holds exactly
//! one document per event: none missing, none twice. Dropping the index directory, or
//! pointing it at another log, rebuilds it from the log.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use sealog_engine::search::{Filter, Order, Paging, Query, SearchConfig, SearchIndex};
use sealog_engine::{Engine, Lsn};

const CHILD_DIR: &str = "SEALOG_INDEX_CHILD_DIR";

/// Held by the two tests that open data directories in this process, so they never
/// run at once. A data directory's lock is an flock, held by an open file
/// description, and a child being spawned holds a copy of every descriptor of this
/// process until it execs. So while one test spawns its child, the other can close an
/// engine and, reopening it at once, find the lock still held: `Locked`. (sealogd
/// spawns no processes; this is a property of tests sharing one process.)
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn search_config(dir: &std::path::Path) -> SearchConfig {
    let mut c = SearchConfig::new(dir);
    c.commit_events = 300;
    c.commit_interval = Duration::from_millis(20);
    c
}

/// The child: appends and indexes until killed.
#[test]
fn index_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let (engine, _) = common::open(common::tiny_config(&dir));
    let engine = Arc::new(engine);
    let search = SearchIndex::open(engine.clone(), search_config(&dir)).unwrap();
    println!("ready");
    for i in 0u64.. {
        let t = common::tenant(["k1", "k2"][(i % 2) as usize]);
        engine
            .append(&t, (0..5).map(|k| common::event(i * 5 + k)).collect())
            .unwrap();
        let _ = search.progress();
    }
}

/// Asserts the index holds each event of the log exactly once.
fn check(dir: &std::path::Path, context: &str) {
    let (engine, _) = common::open(common::tiny_config(dir));
    let engine = Arc::new(engine);
    let search = SearchIndex::open(engine.clone(), search_config(dir)).unwrap();
    let visible = engine.stats().visible_lsn;
    assert!(
        search.wait_committed(visible, Duration::from_secs(30)),
        "{context}: the index did not catch up"
    );
    assert_eq!(
        search.committed_docs(),
        visible.0,
        "{context}: documents != events (missing or duplicated)"
    );
    let mut total = 0;
    for t in ["k1", "k2"] {
        let filter = Filter::tenant(common::tenant(t));
        let page = search
            .query(&Query {
                filter,
                order: Order::Asc,
                paging: Paging::Offset(0),
                limit: 1000,
            })
            .unwrap();
        assert_eq!(page.stats.uncommitted_matches, 0, "{context}");
        let in_log = engine
            .scan(
                Lsn(1)..Lsn(u64::MAX),
                sealog_engine::ScanDirection::Forward,
                false,
            )
            .filter(|e| e.as_ref().unwrap().tenant() == t)
            .count() as u64;
        assert_eq!(page.total, in_log, "{context}: tenant {t}");
        total += page.total;
    }
    assert_eq!(total, visible.0, "{context}");
}

#[test]
fn killing_the_indexer_mid_commit_never_loses_or_doubles_a_document() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let seed: u64 = std::env::var("SEALOG_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("seed={seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    for round in 0..25 {
        let mut child = Command::new(&exe)
            .args(["--exact", "index_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // libtest may print "test index_child ... " before the child's own line.
        let _ = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.ends_with("ready"));
        std::thread::sleep(Duration::from_millis(rng.random_range(5..120)));
        child.kill().unwrap();
        child.wait().unwrap();
        check(dir.path(), &format!("seed {seed} round {round}"));
    }
}

#[test]
fn a_dropped_or_foreign_index_is_rebuilt_from_the_log() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    {
        let (engine, _) = common::open(common::tiny_config(dir.path()));
        let engine = Arc::new(engine);
        let search = SearchIndex::open(engine.clone(), search_config(dir.path())).unwrap();
        for i in 0..200 {
            engine
                .append(&common::tenant("k1"), vec![common::event(i)])
                .unwrap();
        }
        assert!(search.wait_committed(Lsn(200), Duration::from_secs(30)));
    }
    std::fs::remove_dir_all(dir.path().join("search")).unwrap();
    check(dir.path(), "after dropping the index");
    // Another log under the same index: the index's last event is not in it.
    let other = tempfile::tempdir().unwrap();
    {
        let (engine, _) = common::open(common::tiny_config(other.path()));
        for i in 0..250 {
            engine
                .append(&common::tenant("k2"), vec![common::event(i)])
                .unwrap();
        }
    }
    std::fs::remove_dir_all(other.path().join("search")).ok();
    copy_dir(&dir.path().join("search"), &other.path().join("search"));
    check(other.path(), "index of another log");
    let (engine, _) = common::open(common::tiny_config(other.path()));
    let search = SearchIndex::open(Arc::new(engine), search_config(other.path())).unwrap();
    let k1 = search
        .query(&Query {
            filter: Filter::tenant(common::tenant("k1")),
            order: Order::Asc,
            paging: Paging::Offset(0),
            limit: 10,
        })
        .unwrap();
    assert_eq!(
        k1.total, 0,
        "nothing of the first log survives in the rebuilt index"
    );
    let _: Option<Engine> = None;
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}
