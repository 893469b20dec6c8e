//! The secondary index answers simple queries, before and after its commit.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use sealog_engine::event::prepare_event;
use sealog_engine::search::{Filter, Order, Paging, Query, SearchConfig, SearchIndex};

#[test]
fn queries_see_events_before_and_after_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, _) = common::open(common::tiny_config(dir.path()));
    let engine = Arc::new(engine);
    let mut config = SearchConfig::new(dir.path());
    config.commit_interval = Duration::from_millis(200);
    let search = SearchIndex::open(engine.clone(), config).unwrap();
    let t = common::tenant("acme");
    for i in 0..50 {
        let json = format!(
            r#"{{"event_type":"e{}","user_id":"u{}","event_description":"Order number {i} FILLED","risk_score":"{i}.5"}}"#,
            i % 3,
            i % 5
        );
        engine
            .append(&t, vec![prepare_event(json.as_bytes()).unwrap()])
            .unwrap();
    }
    let q = |filter: Filter| Query {
        filter,
        order: Order::Desc,
        paging: Paging::Offset(0),
        limit: 10,
    };
    let mut f = Filter::tenant(t.clone());
    f.user_id = Some("u1".into());
    let before = search.query(&q(f.clone())).unwrap();
    assert_eq!(before.total, 10);
    assert_eq!(before.hits.len(), 10);
    assert!(before
        .hits
        .windows(2)
        .all(|w| w[0].event.lsn > w[1].event.lsn));
    assert!(search.wait_committed(engine.stats().visible_lsn, Duration::from_secs(10)));
    let after = search.query(&q(f)).unwrap();
    assert_eq!(after.total, 10);
    assert_eq!(
        after.stats.uncommitted_matches, 0,
        "now answered by the index"
    );
    let lsns = |p: &sealog_engine::search::QueryPage| {
        p.hits.iter().map(|h| h.event.lsn).collect::<Vec<_>>()
    };
    assert_eq!(lsns(&before), lsns(&after));
    let mut words = Filter::tenant(t.clone());
    words.q = vec!["filled".into(), "7".into()];
    assert_eq!(search.query(&q(words)).unwrap().total, 1);
    let mut risky = Filter::tenant(t.clone());
    risky.min_risk_score = Some("40.5".into());
    assert_eq!(search.query(&q(risky)).unwrap().total, 10);
    let summary = search.summary(&Filter::tenant(t)).unwrap();
    assert_eq!(summary.total, 50);
    assert_eq!(summary.groups[1].len(), 5);
    assert_eq!(summary.groups[3][0], ("e0".to_string(), 17));
}
