//! Property: random appends across tenants, interleaved with reopens and power losses,
//! agree with a plain model: every acknowledged event is there with its hash, seqs are
//! dense per tenant, and every chain verifies.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use common::{faulty_config, open_faulty, tenant};
use proptest::prelude::*;
use sealog_engine::storage::testkit::FaultyStorage;
use sealog_engine::{Engine, Lsn, Seq};

#[derive(Debug, Clone)]
enum Op {
    Append { tenant: usize, n: u64 },
    Reopen,
    PowerLoss,
    ProcessKill,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0usize..4, 1u64..6).prop_map(|(tenant, n)| Op::Append { tenant, n }),
        1 => Just(Op::Reopen),
        1 => Just(Op::PowerLoss),
        1 => Just(Op::ProcessKill),
    ]
}

fn check(engine: &Engine, model: &HashMap<String, Vec<[u8; 32]>>) {
    for (t, hashes) in model {
        let tid = tenant(t);
        assert_eq!(
            engine.chain_head(&tid).seq,
            Seq(hashes.len() as u64),
            "tenant {t}"
        );
        for (i, h) in hashes.iter().enumerate() {
            let ev = engine.get_by_seq(&tid, Seq(i as u64 + 1)).unwrap().unwrap();
            assert_eq!(&ev.hash, h);
        }
    }
    let report = engine.verify(Lsn(1)..Lsn(u64::MAX));
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    assert_eq!(
        report.events,
        model.values().map(|v| v.len() as u64).sum::<u64>()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_log_agrees_with_the_model(ops in proptest::collection::vec(op(), 1..40), seed in any::<u64>()) {
        let disk = FaultyStorage::with_seed(seed);
        let mut model: HashMap<String, Vec<[u8; 32]>> = HashMap::new();
        let mut engine = open_faulty(&disk, faulty_config()).unwrap().0;
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Append { tenant: t, n } => {
                    let name = format!("tenant-{t}");
                    let events = (0..n).map(|k| common::tagged_event(&format!("o{i}"), k, n)).collect();
                    let acks = engine.append(&tenant(&name), events).unwrap();
                    let hashes = model.entry(name).or_default();
                    for a in acks {
                        prop_assert_eq!(a.seq, Seq(hashes.len() as u64 + 1));
                        hashes.push(a.hash);
                    }
                }
                Op::Reopen => {
                    drop(engine);
                    engine = open_faulty(&disk, faulty_config()).unwrap().0;
                }
                Op::PowerLoss => {
                    disk.crash();
                    drop(engine);
                    engine = open_faulty(&disk, faulty_config()).unwrap().0;
                }
                Op::ProcessKill => {
                    disk.crash_keep_all();
                    drop(engine);
                    engine = open_faulty(&disk, faulty_config()).unwrap().0;
                }
            }
            check(&engine, &model);
        }
    }
}
