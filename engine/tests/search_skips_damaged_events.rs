//! A damaged event (a real byte flipped in a real sealed segment) is never indexed and
//! never served, and the index still commits past it, also when it is the last event of
//! the log and the indexer reads it alone, every event before it already committed: a
//! commit counts the events read, not the documents added, so `sealog reindex` and
//! `wait_committed` do not wait forever for a document that will never come.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sealog_engine::search::{Filter, Order, Paging, Query, SearchConfig, SearchIndex};
use sealog_engine::{Engine, Lsn};

const TENANT: &str = "desk";

fn search_config(dir: &Path) -> SearchConfig {
    let mut c = SearchConfig::new(dir);
    c.commit_interval = Duration::from_millis(20);
    c
}

fn segment_file(dir: &Path, id: u64) -> std::path::PathBuf {
    dir.join("wal").join(format!("{id:020}.seg"))
}

/// How many one-event appends of `common::event(1..)` fit in the first segment: the
/// frames of the same sequence of events have the same sizes in every run.
fn events_in_first_segment() -> u64 {
    let scratch = tempfile::tempdir().unwrap();
    let (engine, _) = common::open(common::tiny_config(scratch.path()));
    let tenant = common::tenant(TENANT);
    for n in 1u64.. {
        let lsn = engine.append(&tenant, vec![common::event(n)]).unwrap()[0].lsn;
        if engine.get_by_lsn(lsn).unwrap().unwrap().segment.0 == 2 {
            return n - 1;
        }
    }
    unreachable!()
}

fn all_of_tenant(search: &SearchIndex) -> sealog_engine::search::QueryPage {
    search
        .query(&Query {
            filter: Filter::tenant(common::tenant(TENANT)),
            order: Order::Asc,
            paging: Paging::Offset(0),
            limit: 1000,
        })
        .unwrap()
}

#[test]
fn the_index_commits_past_a_damaged_last_event() {
    let last = events_in_first_segment();
    assert!(last > 3, "the first segment holds {last} events");
    let dir = tempfile::tempdir().unwrap();
    let tenant = common::tenant(TENANT);

    // Index every event of the first segment but its last, then append that one with the
    // indexer held, and one more, which starts the second segment (sealing the first).
    {
        let (engine, _) = common::open(common::tiny_config(dir.path()));
        let engine = Arc::new(engine);
        let search = SearchIndex::open(engine.clone(), search_config(dir.path())).unwrap();
        for n in 1..last {
            engine.append(&tenant, vec![common::event(n)]).unwrap();
        }
        assert!(search.wait_committed(Lsn(last - 1), Duration::from_secs(30)));
        search.hold_indexer(true);
        for n in [last, last + 1] {
            engine.append(&tenant, vec![common::event(n)]).unwrap();
        }
        let segment_of = |lsn| engine.get_by_lsn(Lsn(lsn)).unwrap().unwrap().segment.0;
        assert_eq!((segment_of(last), segment_of(last + 1)), (1, 2));
        search.close();
        assert_eq!(
            search.progress().0,
            Lsn(last - 1),
            "nothing committed while held"
        );
    }

    // The second segment is lost, so the first one's last event ends the log; then a
    // byte of that event's body is flipped.
    let offset = {
        let (engine, _) = common::open(common::tiny_config(dir.path()));
        engine.get_by_lsn(Lsn(last)).unwrap().unwrap().body_offset() + 20
    };
    for entry in std::fs::read_dir(dir.path().join("wal")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(&format!("{:020}.", 2)) {
            std::fs::remove_file(&path).unwrap();
        }
    }
    let path = segment_file(dir.path(), 1);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[offset as usize] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();

    let (engine, report) = common::open(common::tiny_config(dir.path()));
    assert!(
        report
            .damage
            .iter()
            .any(|d| d.lsns == Some((Lsn(last), Lsn(last)))),
        "open names the damaged event: {:?}",
        report.damage
    );
    assert_eq!(
        engine.stats().visible_lsn,
        Lsn(last),
        "the log ends with it"
    );
    let engine: Arc<Engine> = Arc::new(engine);
    let search = SearchIndex::open(engine.clone(), search_config(dir.path())).unwrap();
    assert!(
        search.wait_committed(Lsn(last), Duration::from_secs(30)),
        "the index never committed past the damaged event: {:?}, failure {:?}",
        search.progress(),
        search.failure()
    );
    assert_eq!(
        search.committed_docs(),
        last - 1,
        "one document per intact event"
    );
    let page = all_of_tenant(&search);
    assert_eq!(page.total, last - 1);
    assert_eq!(page.stats.uncommitted_matches, 0);
    let lsns: Vec<u64> = page.hits.iter().map(|h| h.event.lsn.0).collect();
    assert_eq!(
        lsns,
        (1..last).collect::<Vec<_>>(),
        "every intact event, in order"
    );
    assert!(engine.get_by_lsn(Lsn(last)).is_err(), "never served");

    // Appends continue after it, and are indexed.
    engine
        .append(&tenant, vec![common::event(last + 2)])
        .unwrap();
    assert!(search.wait_committed(Lsn(last + 1), Duration::from_secs(30)));
    assert_eq!(search.committed_docs(), last);
    assert_eq!(all_of_tenant(&search).total, last);
}
