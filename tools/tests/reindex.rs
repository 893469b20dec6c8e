//! `sealog reindex --data-dir`, the real binary on a data directory the engine wrote
//! and indexed: the rebuilt index holds every event of the log once (no duplicate, none
//! missing) and answers a filter as a scan of the log does; a directory in use, or an
//! index path it cannot remove, is refused with its cause and a non-zero exit.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use sealog_engine::event::prepare_event;
use sealog_engine::gen::{GenConfig, Generator};
use sealog_engine::search::{Filter, Order, Paging, Query, SearchConfig, SearchIndex};
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Engine, EngineConfig, TenantId};

const EVENTS: u64 = 3_000;

fn sealog(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sealog"))
        .args(args)
        .output()
        .unwrap()
}

fn open(data: &Path) -> Arc<Engine> {
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    Arc::new(Engine::open(EngineConfig::new(data), storage).unwrap().0)
}

/// Appends `EVENTS` generated events to tenant `acme`, indexes them, closes
/// everything; returns each event's user_id in order.
fn build(data: &Path) -> Vec<String> {
    let engine = open(data);
    let search = SearchIndex::open(engine.clone(), SearchConfig::new(data)).unwrap();
    let mut gen = Generator::new(GenConfig {
        count: EVENTS,
        seed: 11,
        ..GenConfig::default()
    });
    let (mut line, mut events, mut users) = (Vec::new(), Vec::new(), Vec::new());
    while gen.write_json_into(&mut line).is_some() {
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        users.push(v["user_id"].as_str().unwrap_or_default().to_owned());
        events.push(prepare_event(&line).unwrap());
        line.clear();
    }
    let tenant = TenantId::new("acme").unwrap();
    for chunk in events.chunks(500) {
        engine.append(&tenant, chunk.to_vec()).unwrap();
    }
    let last = engine.stats().visible_lsn;
    assert!(search.wait_committed(last, Duration::from_secs(60)));
    search.close();
    engine.close();
    users
}

#[test]
fn a_rebuilt_index_holds_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let users = build(&data);
    // A stray file in the old index: a rebuild starts from an empty directory.
    let stray = SearchConfig::new(&data).dir.join("stray");
    std::fs::write(&stray, b"left over").unwrap();

    let out = sealog(&["reindex", "--data-dir", data.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("events={EVENTS} reindex_s=")),
        "{last}"
    );
    assert!(last.contains(" index_events_per_s="), "{last}");
    assert!(!stray.exists(), "the old index was dropped");

    // Reopened with the indexer held: what it answers is what the rebuild committed.
    let engine = open(&data);
    let search = SearchIndex::open(engine.clone(), SearchConfig::new(&data)).unwrap();
    search.hold_indexer(true);
    assert_eq!(search.progress().0, engine.stats().visible_lsn);
    assert_eq!(search.committed_docs(), EVENTS);
    let user = users[users.len() / 2].clone();
    let mut filter = Filter::tenant(TenantId::new("acme").unwrap());
    filter.user_id = Some(user.clone());
    let page = search
        .query(&Query {
            filter,
            order: Order::Asc,
            paging: Paging::Offset(0),
            limit: 1_000,
        })
        .unwrap();
    let want = users.iter().filter(|u| **u == user).count() as u64;
    assert_eq!(page.total, want);
    assert_eq!(page.hits.len() as u64, want);
    assert_eq!(
        page.stats.uncommitted_matches, 0,
        "all from the rebuilt index"
    );
    search.close();
    engine.close();
}

#[test]
fn a_directory_in_use_or_an_index_it_cannot_remove_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let engine = open(&data);
    let out = sealog(&["reindex", "--data-dir", data.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("in use by another process"), "{stderr}");
    engine.close();
    drop(engine);

    // Where the index directory should be, a file: removing it fails, and says why.
    std::fs::write(SearchConfig::new(&data).dir, b"not an index").unwrap();
    let out = sealog(&["reindex", "--data-dir", data.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("removing") && stderr.contains("search"),
        "{stderr}"
    );
}
